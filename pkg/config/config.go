package config

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/normalize"
)

// Defaults of SPEC §2 for the keys that are not normalization options
// (those are normalize.Defaults).
const (
	DefaultDatabase   = "./keysync.db"
	DefaultOutputDir  = "./output"
	DefaultAuthority  = "A"
	DefaultStrategy   = keysync.StrategyMirror
	DefaultSourceType = TypeCSV
	DefaultDelimiter  = ','
)

// Output formats (SPEC §7, output.formats).
const (
	FormatCSV  = "csv"
	FormatJSON = "json"
)

// Config is a validated keysync configuration. Every path in it is absolute.
type Config struct {
	Path string // the config file, absolute; empty when parsed from a reader
	Dir  string // the directory relative paths in the file resolve against

	// Schedule is the cron expression `keysync schedule` runs on, as accepted
	// by cron.ParseStandard (5 fields, or a descriptor such as @hourly or
	// @every 10m). Empty means not scheduled.
	Schedule  string
	Database  string
	OutputDir string
	Authority string // the name of the authority source

	Normalize    normalize.Options
	Provisioning Provisioning
	Output       Output
	Sources      map[string]Source // by name; Source.Name repeats the key
	Safety       Safety
	// GracePeriod is how young a key of the authority may be and not yet be
	// reported missing from a peer (it counts as pending); 0 turns it off.
	GracePeriod time.Duration
	Notify      Notify // the webhook told of run outcomes; see notify.go
	Retention   Retention

	// DryRun is set only by the --dry-run flag (Overrides); the file has no
	// such key, because a dry run is a decision per invocation.
	DryRun bool
}

// MaxSources is how many sources one config may have: the store gives each
// system a bit of a 64-bit signed presence mask (bits 1 to 62).
const MaxSources = 62

// Retention is the upkeep a successful normal run does in its final
// transaction; the zero value does none.
type Retention struct {
	// KeepRuns, when at least 1, prunes the findings and rejected rows of the
	// runs older than the newest KeepRuns succeeded runs, as
	// `keysync prune --keep-runs N` does. 0 turns it off.
	KeepRuns int
}

// Provisioning says how master keys are derived and registered (SPEC §6).
type Provisioning struct {
	Strategy    keysync.Strategy
	AutoApprove bool
}

// Output lists the formats each artifact is written in (SPEC §7): at least
// one of csv and json, each once, in the order configured.
type Output struct {
	Formats []string
}

// Has reports whether artifacts are written in format.
func (o Output) Has(format string) bool {
	for _, f := range o.Formats {
		if f == format {
			return true
		}
	}
	return false
}

// Source is one configured system. Which fields apply depends on Type (see
// the README's Sources section); the others are zero.
type Source struct {
	Name      string
	Type      string // TypeCSV, TypeJSON, TypeHTTP, TypeSQLite, TypePostgres or TypeMySQL; csv unless configured
	Path      string // csv, json, sqlite: the file, absolute
	Delimiter rune   // csv: the field delimiter, ',' unless configured
	// Columns (csv, sqlite, postgres, mysql) maps a contract field (source_key, source_system,
	// entity_type, location_ref, last_seen_at) to the header or result
	// column that holds it. Fields not in the map are found under their own name.
	Columns map[string]string
	// Fields (json, http) maps a contract field to a dotted path in an item.
	Fields map[string]string
	// Key lists the columns or paths of a composite source_key, written as a
	// list (`source_key: [region, id]`) in columns or fields, which then have
	// no source_key entry. Their values are joined with
	// normalize.collapse_delims ("-" when that is "") before normalization.
	Key   []string
	Query string // sqlite, postgres, mysql: the SELECT whose rows are the records
	// DSN (postgres, mysql) is the connection string. Like URL and Headers
	// it keeps its ${NAME} references; show it through source.RedactDSN.
	DSN   string
	Items string // json, http: dotted path to the items array; "" is the document itself

	// csv, json: how the file is found and read. Path may be a glob; Pick
	// chooses among its matches ("" is PickLast). Encoding is a WHATWG
	// label, lower-cased ("" is utf-8). Member names the file to read in a
	// zip archive holding several.
	Encoding string
	Member   string
	Pick     string
	// Filter (every type) is an SQLite expression over the accepted row's
	// fields (source.FilterFields); rows for which it is not true take no
	// part in the comparison and are counted as filtered. "" is no filter.
	Filter string
	// NoHeader (csv, `header: false`): the file has no header row, and
	// Columns and Key give 1-based column positions ("2") instead of names.
	NoHeader bool

	// http only, but for Timeout (the whole query of postgres and mysql),
	// Retries and Backoff (their connection), which those use too. URL and
	// Headers keep their ${NAME} references: the environment is read when
	// the source is, never stored here.
	URL        string
	Headers    Headers
	Pagination string // "", PaginateNext, PaginateLink, PaginatePage or PaginateOffset
	Next       string // dotted path to the next page's URL (pagination: next)
	PageParam  string // the query parameter (pagination: page or offset); defaults to the style's name
	PageStart  int    // its first value: 1 for page, 0 for offset unless configured
	Timeout    time.Duration
	MaxPages   int
	Retries    int
	Backoff    time.Duration
}

// Defaults of the safety guards (SPEC §11 as amended by issue [safe-defaults]):
// they apply without a safety: section, and to every key a safety: section
// leaves out. The guards not listed here are off unless configured.
const (
	DefaultMinRows          = 1   // an empty source blocks
	DefaultMaxDropRatio     = 0.5 // accepted rows halved since the last normal run
	DefaultMaxRejectedRatio = 0.5 // more than half of a source's rows rejected
)

// Safety holds the guards of SPEC §11. In every field 0 means the guard is
// off; the zero value turns them all off (Parse fills in the defaults).
type Safety struct {
	// MinRows is the fewest accepted rows each source must have, by source
	// name; a source without an entry (or with 0) is not guarded. Parse gives
	// every source an entry: DefaultMinRows unless configured.
	MinRows          map[string]int
	MaxDropRatio     float64 // in [0, 1]: accepted rows fell by more than this since the last normal run
	MaxRejectedRatio float64 // in [0, 1]: more than this share of a source's rows rejected
	MaxMissingRatio  float64 // in [0, 1]: a peer lacks more than this share of the authority's keys
	MaxNewProposals  int     // >= 0: more new master keys than this in one run
	// MaxUnchangedRuns blocks a source whose input is byte-identical to the
	// one of more than this many consecutive succeeded normal runs before.
	MaxUnchangedRuns int
}

// DefaultSafety is the safety a config without a safety: section gets.
func DefaultSafety(sources []string) Safety {
	s := Safety{
		MinRows:          make(map[string]int, len(sources)),
		MaxDropRatio:     DefaultMaxDropRatio,
		MaxRejectedRatio: DefaultMaxRejectedRatio,
	}
	for _, name := range sources {
		s.MinRows[name] = DefaultMinRows
	}
	return s
}

// Any reports whether at least one guard is on.
func (s Safety) Any() bool {
	for _, n := range s.MinRows {
		if n > 0 {
			return true
		}
	}
	return s.MaxDropRatio > 0 || s.MaxRejectedRatio > 0 || s.MaxMissingRatio > 0 ||
		s.MaxNewProposals > 0 || s.MaxUnchangedRuns > 0
}

// MinRowsFor returns the minimum number of accepted rows for source name;
// 0 means the source is not guarded.
func (s Safety) MinRowsFor(name string) int {
	return s.MinRows[name]
}

// SourceNames returns the authority first, then the peers by name (bytewise),
// the order of reconciliation_summary.csv.
func (c *Config) SourceNames() []string {
	names := make([]string, 0, len(c.Sources))
	if _, ok := c.Sources[c.Authority]; ok {
		names = append(names, c.Authority)
	}
	return append(names, c.Peers()...)
}

// Peers returns the names of every source but the authority, by name (bytewise).
func (c *Config) Peers() []string {
	peers := make([]string, 0, len(c.Sources))
	for name := range c.Sources {
		if name != c.Authority {
			peers = append(peers, name)
		}
	}
	sort.Strings(peers)
	return peers
}

// Load reads the config file at path, resolving relative paths in it against
// the file's directory (the directory of path itself, not of a symlink's
// target). Errors are *Error with File set to path as given.
func Load(path string) (*Config, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, &Error{File: path, Msg: "cannot resolve path", Err: err}
	}
	f, err := os.Open(abs)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &Error{File: path, Msg: "cannot open", Err: err}
	}
	defer f.Close()

	c, err := Parse(f, filepath.Dir(abs))
	if err != nil {
		var ce *Error
		if errors.As(err, &ce) {
			ce.File = path
		}
		return nil, err
	}
	c.Path = abs
	return c, nil
}

// Parse reads a configuration from r, applies the defaults, resolves relative
// paths against dir and validates the result. A relative dir is first made
// absolute against the working directory. Errors are *Error.
func Parse(r io.Reader, dir string) (*Config, error) {
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return nil, &Error{Msg: "cannot resolve config directory", Err: err}
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, &Error{Msg: "cannot read", Err: err}
	}
	raw, err := decode(data)
	if err != nil {
		return nil, err
	}
	c, err := raw.config(absDir)
	if err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// decode parses data into a rawConfig. The document is first read as a node
// tree and checked against the schema, so an unknown key or a mistyped value
// is reported with its dotted path and line; the typed decode that follows
// (with KnownFields as a second line of defence) then cannot fail on shape.
func decode(data []byte) (*rawConfig, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	switch err := dec.Decode(&doc); {
	case errors.Is(err, io.EOF):
		return &rawConfig{}, nil // an empty file: Validate reports the missing sources
	case err != nil:
		return nil, yamlError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, yamlError(err)
		}
		return nil, &Error{Line: extra.Line, Msg: "holds more than one YAML document"}
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return &rawConfig{}, nil
	}
	if err := checkNode(doc.Content[0], rawConfigType, ""); err != nil {
		return nil, err
	}

	var raw rawConfig
	dec = yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil {
		return nil, yamlError(err)
	}
	return &raw, nil
}

// yamlError turns an error of the YAML library into an *Error, keeping its
// line in the message (yaml.v3 has no structured position).
func yamlError(err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n")
	msg = strings.TrimSpace(strings.ReplaceAll(msg, "\n ", ""))
	return &Error{Msg: "invalid YAML: " + msg}
}
