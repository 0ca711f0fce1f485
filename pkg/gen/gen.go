package gen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

// Names of what Write produces, relative to Options.Dir.
const (
	Authority  = "A"                   // the authority's source name
	ConfigFile = "keysync-config.yaml" // the config
	InputDir   = "input"               // the directory of the CSV files
	PadNumbers = 8                     // the config's normalize.pad_numbers
)

// MaxRatio bounds Drift and Dup: beyond it the data stop looking like
// exports of the same business.
const MaxRatio = 0.5

// DefaultPeers are the peers of `keysync gen` when none are named.
var DefaultPeers = []string{"B", "C", "D", "E"}

// Options say what to generate.
type Options struct {
	Rows  int      // rows (and distinct keys) of A, at least 1
	Seed  uint64   // the same seed and options give byte-identical files
	Peers []string // the peer systems, in the order they are written
	Drift float64  // share of Rows each peer adds as keys A lacks, in [0, MaxRatio]
	Dup   float64  // share of a peer's keys it spells on two rows, in [0, MaxRatio]
	Dir   string   // where input/ and the config go; created if missing
}

// OptionError is an invalid option; Option is its name as a flag ("rows").
type OptionError struct {
	Option string
	Value  string
	Msg    string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("%s: %s %s", e.Option, e.Value, e.Msg)
}

// Validate checks o; the error is an *OptionError.
func (o Options) Validate() error {
	if o.Rows < 1 {
		return &OptionError{"rows", strconv.Itoa(o.Rows), "is less than 1"}
	}
	for _, r := range []struct {
		name string
		v    float64
	}{{"drift", o.Drift}, {"dup", o.Dup}} {
		if !(r.v >= 0 && r.v <= MaxRatio) { // also refuses NaN
			return &OptionError{r.name, strconv.FormatFloat(r.v, 'g', -1, 64), "is not in [0, 0.5]"}
		}
	}
	if len(o.Peers) == 0 {
		return &OptionError{"peers", `""`, "names no peer"}
	}
	seen := make(map[string]string, len(o.Peers))
	for _, p := range o.Peers {
		q := strconv.Quote(p)
		if !validName(p) {
			return &OptionError{"peers", q, "is not a source name (use ASCII letters, digits and _)"}
		}
		// keysync refuses two sources differing only in case, and the files
		// would collide on case-insensitive file systems.
		lower := strings.ToLower(p)
		if strings.EqualFold(p, Authority) {
			return &OptionError{"peers", q, "is the authority " + Authority}
		}
		if prev, ok := seen[lower]; ok {
			if prev == p {
				return &OptionError{"peers", q, "is named twice"}
			}
			return &OptionError{"peers", q, fmt.Sprintf("differs from %q only in case", prev)}
		}
		seen[lower] = p
	}
	if o.Dir == "" {
		return &OptionError{"out", `""`, "is not a directory name"}
	}
	return nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '_':
		default:
			return false
		}
	}
	return true
}

// Stats are what Write wrote.
type Stats struct {
	Files  []FileStats // A first, then the peers in the order of Options.Peers
	Config string      // the config's path: Options.Dir joined with ConfigFile
}

// FileStats are one written CSV file.
type FileStats struct {
	System string
	Path   string // Options.Dir joined with input/<System>.csv
	Rows   int64  // data rows, the header not counted
	Bytes  int64
}

// Rows is the total of data rows written.
func (s Stats) Rows() int64 {
	var n int64
	for _, f := range s.Files {
		n += f.Rows
	}
	return n
}

// ConfigPath is where Write puts the config for dir.
func ConfigPath(dir string) string { return filepath.Join(dir, ConfigFile) }

// Write generates the files of o: Dir/input/A.csv, one Dir/input/<peer>.csv
// per peer, then Dir/keysync-config.yaml, replacing any that exist. Files are
// written in parallel (up to GOMAXPROCS at a time), each to a temporary name
// renamed into place when complete, so a cancelled or failed Write leaves no
// half-written file; the config comes last, once every input is in place.
func Write(ctx context.Context, o Options) (Stats, error) {
	if err := o.Validate(); err != nil {
		return Stats{}, err
	}
	in := filepath.Join(o.Dir, InputDir)
	if err := os.MkdirAll(in, 0o755); err != nil {
		return Stats{}, fmt.Errorf("gen: %w", err)
	}

	plan := NewPlan(o)
	names := append([]string{Authority}, o.Peers...)
	st := Stats{Files: make([]FileStats, len(names)), Config: ConfigPath(o.Dir)}
	errs := make([]error, len(names))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for k, name := range names {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			path := filepath.Join(in, name+".csv")
			st.Files[k] = FileStats{System: name, Path: path}
			w := newFileWriter(plan, o.Seed, name, k)
			err := writeFile(path, func(f io.Writer) error {
				var err error
				st.Files[k].Rows, err = w.write(ctx, f)
				return err
			}, &st.Files[k].Bytes)
			if err != nil {
				errs[k] = fmt.Errorf("gen: write %s: %w", path, err)
				cancel() // no point finishing the others
			}
		})
	}
	wg.Wait()
	if err := firstError(errs); err != nil {
		return st, err
	}

	var cfgBytes int64
	if err := writeFile(st.Config, func(f io.Writer) error {
		_, err := io.WriteString(f, configText(o))
		return err
	}, &cfgBytes); err != nil {
		return st, fmt.Errorf("gen: write %s: %w", st.Config, err)
	}
	return st, nil
}

// firstError returns the first error that is not merely the cancellation a
// failing sibling caused, else the first error.
func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// writeFile writes path through fill into a temporary file in the same
// directory and renames it into place; on failure it removes the temporary.
func writeFile(path string, fill func(io.Writer) error, size *int64) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	cw := &countingWriter{w: f}
	if err := fill(cw); err != nil {
		return err
	}
	*size = cw.n
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// configText is the keysync-config.yaml of o. Source names are quoted, since
// a name such as 1, no or null is a valid source name but not a YAML string.
func configText(o Options) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# Generated by keysync gen --rows %d --seed %d --peers %s --drift %s --dup %s
# Rerunning that command rewrites this file and input/ byte for byte.
# Relative paths resolve against this file's directory.

database: ./keysync.db
output_dir: ./output
authority: %s

# The defaults of SPEC §4, plus padding: the peers' spellings of A's keys
# (inv_2024..42, " #Sku.hd/00042") all normalize to A's (INV-00002024-…).
normalize:
  pad_numbers: %d

provisioning:
  strategy: mirror
  auto_approve: false

# Safety guards: one that trips blocks the run (exit 4) before anything
# reaches the registry; --force runs anyway. 0 turns a guard off.
safety:
  min_rows: 1                    # a source with fewer accepted rows blocks (an empty export)
  max_drop_ratio: 0.5            # accepted rows fell by more than half since the last normal run
  max_rejected_ratio: 0.5        # more than half of a source's rows rejected (a wrong delimiter or column map)
  max_missing_ratio: 0           # off; 0.5 would block a peer lacking over half of the authority's keys
  max_new_proposals: 0           # off; 5000 would block a run proposing over 5000 new master keys
  max_unchanged_runs: 0          # off; 3 would block an input byte-identical for over 3 runs in a row

sources:
`, o.Rows, o.Seed, strings.Join(o.Peers, ","), strconv.FormatFloat(o.Drift, 'g', -1, 64),
		strconv.FormatFloat(o.Dup, 'g', -1, 64), Authority, PadNumbers)
	for _, name := range append([]string{Authority}, o.Peers...) {
		fmt.Fprintf(&b, "  %q: { type: csv, path: ./%s/%s.csv }\n", name, InputDir, name)
	}
	return b.String()
}
