package gen_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/keysync/keysync/pkg/config"
	"github.com/keysync/keysync/pkg/gen"
	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/normalize"
	"github.com/keysync/keysync/pkg/source"
)

// opts returns valid options writing into a fresh directory, changed by fn.
func opts(t *testing.T, fn func(*gen.Options)) gen.Options {
	t.Helper()
	o := gen.Options{
		Rows:  2000,
		Seed:  42,
		Peers: []string{"B", "C", "D", "E"},
		Drift: 0.02,
		Dup:   0.005,
		Dir:   t.TempDir(),
	}
	if fn != nil {
		fn(&o)
	}
	return o
}

func mustWrite(t *testing.T, o gen.Options) gen.Stats {
	t.Helper()
	st, err := gen.Write(context.Background(), o)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	return st
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		fn     func(*gen.Options)
		option string // "" means valid
	}{
		{"defaults", nil, ""},
		{"one row", func(o *gen.Options) { o.Rows = 1 }, ""},
		{"zero rows", func(o *gen.Options) { o.Rows = 0 }, "rows"},
		{"negative rows", func(o *gen.Options) { o.Rows = -5 }, "rows"},
		{"drift zero", func(o *gen.Options) { o.Drift = 0 }, ""},
		{"drift max", func(o *gen.Options) { o.Drift = 0.5 }, ""},
		{"drift above max", func(o *gen.Options) { o.Drift = 0.51 }, "drift"},
		{"drift negative", func(o *gen.Options) { o.Drift = -0.01 }, "drift"},
		{"drift NaN", func(o *gen.Options) { o.Drift = nan() }, "drift"},
		{"dup max", func(o *gen.Options) { o.Dup = 0.5 }, ""},
		{"dup above max", func(o *gen.Options) { o.Dup = 1 }, "dup"},
		{"dup negative", func(o *gen.Options) { o.Dup = -1 }, "dup"},
		{"one peer", func(o *gen.Options) { o.Peers = []string{"B"} }, ""},
		{"odd but valid names", func(o *gen.Options) { o.Peers = []string{"null", "1", "yes", "erp_2"} }, ""},
		{"no peers", func(o *gen.Options) { o.Peers = nil }, "peers"},
		{"empty peer", func(o *gen.Options) { o.Peers = []string{"B", ""} }, "peers"},
		{"peer is A", func(o *gen.Options) { o.Peers = []string{"B", "A"} }, "peers"},
		{"peer is a", func(o *gen.Options) { o.Peers = []string{"a"} }, "peers"},
		{"peer with dash", func(o *gen.Options) { o.Peers = []string{"B-1"} }, "peers"},
		{"peer with space", func(o *gen.Options) { o.Peers = []string{"B C"} }, "peers"},
		{"peer with slash", func(o *gen.Options) { o.Peers = []string{"../x"} }, "peers"},
		{"peer non-ASCII", func(o *gen.Options) { o.Peers = []string{"Ü"} }, "peers"},
		{"peer twice", func(o *gen.Options) { o.Peers = []string{"B", "C", "B"} }, "peers"},
		{"peers differ in case", func(o *gen.Options) { o.Peers = []string{"B", "b"} }, "peers"},
		{"no dir", func(o *gen.Options) { o.Dir = "" }, "out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := opts(t, tt.fn).Validate()
			var oe *gen.OptionError
			switch {
			case tt.option == "" && err != nil:
				t.Fatalf("Validate: %v, want nil", err)
			case tt.option == "":
			case !errors.As(err, &oe):
				t.Fatalf("Validate: %v, want an *OptionError for %s", err, tt.option)
			case oe.Option != tt.option:
				t.Fatalf("Validate: option %q (%v), want %q", oe.Option, err, tt.option)
			}
		})
	}
}

func nan() float64 { var z float64; return z / z }

// TestWriteRefusesInvalidOptions checks that Write validates before it
// touches the file system.
func TestWriteRefusesInvalidOptions(t *testing.T) {
	o := opts(t, func(o *gen.Options) { o.Rows = 0 })
	o.Dir = filepath.Join(o.Dir, "out")
	_, err := gen.Write(context.Background(), o)
	var oe *gen.OptionError
	if !errors.As(err, &oe) {
		t.Fatalf("Write: %v, want an *OptionError", err)
	}
	if _, err := os.Stat(o.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Write created %s for invalid options (stat: %v)", o.Dir, err)
	}
}

// readTree returns every regular file under dir by relative path.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		files[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestWriteIsDeterministic(t *testing.T) {
	base := func(o *gen.Options) { o.Rows = 5000 }
	tree := func(o gen.Options) map[string][]byte {
		mustWrite(t, o)
		return readTree(t, o.Dir)
	}
	first := tree(opts(t, base))
	second := tree(opts(t, base))

	want := []string{"input/A.csv", "input/B.csv", "input/C.csv", "input/D.csv", "input/E.csv", "keysync-config.yaml"}
	if got := slices.Sorted(maps.Keys(first)); !slices.Equal(got, want) {
		t.Fatalf("files written: %q, want %q", got, want)
	}
	for name, b := range first {
		if !bytes.Equal(b, second[name]) {
			t.Errorf("%s differs between two runs with the same options", name)
		}
	}

	// A different seed, or different ratios, must give different data, else
	// the comparison above proves nothing.
	for _, tt := range []struct {
		name string
		fn   func(*gen.Options)
	}{
		{"seed", func(o *gen.Options) { base(o); o.Seed++ }},
		{"drift", func(o *gen.Options) { base(o); o.Drift = 0.1 }},
	} {
		other := tree(opts(t, tt.fn))
		if bytes.Equal(first["input/B.csv"], other["input/B.csv"]) {
			t.Errorf("another %s wrote the same B.csv", tt.name)
		}
	}
}

// collector is a source.Sink that keeps everything.
type collector struct {
	rows []keysync.Row
	rejs []keysync.Rejection
}

func (c *collector) Accept(r keysync.Row) error       { c.rows = append(c.rows, r); return nil }
func (c *collector) Reject(r keysync.Rejection) error { c.rejs = append(c.rejs, r); return nil }

// extract reads a generated file with keysync's own CSV reader and row rules.
func extract(t *testing.T, f gen.FileStats, norm *normalize.Normalizer) *collector {
	t.Helper()
	var c collector
	rules := source.Rules{System: f.System, Normalize: norm.Key}
	st, err := source.CSV{System: f.System, Path: f.Path}.Extract(context.Background(), rules, &c)
	if err != nil {
		t.Fatalf("extract %s: %v", f.Path, err)
	}
	if st.RowsRead != f.Rows {
		t.Errorf("%s: keysync read %d rows, Stats say %d", f.System, st.RowsRead, f.Rows)
	}
	if st.Bytes != f.Bytes {
		t.Errorf("%s: file has %d bytes, Stats say %d", f.System, st.Bytes, f.Bytes)
	}
	for _, r := range c.rejs {
		t.Errorf("%s: record %d %q rejected: %s", f.System, r.Record, r.RawKey, r.Reason)
	}
	return &c
}

// TestPeersNormalizeToPlan is the generator's contract: read through
// keysync's CSV reader and SPEC §4 normalization (defaults, pad_numbers 8),
// every row is accepted, A has Rows distinct keys, and each peer's set of
// normalized keys is exactly A's keys it has (by the Plan) plus its extra
// keys, with exactly the planned keys on two rows — although the raw
// spellings differ from A's in every way the brief lists.
func TestPeersNormalizeToPlan(t *testing.T) {
	const rows = 20_000
	o := opts(t, func(o *gen.Options) { o.Rows = rows; o.Seed = 7 })
	st := mustWrite(t, o)
	plan := gen.NewPlan(o)
	nopts := normalize.Defaults()
	nopts.PadNumbers = 8
	norm := normalize.New(nopts)

	if got := plan.Rows(); got != rows {
		t.Fatalf("plan.Rows() = %d, want %d", got, rows)
	}
	// A: row i is the plan's key i, and the keys are distinct.
	aRows := extract(t, st.Files[0], norm).rows
	if len(aRows) != rows {
		t.Fatalf("A has %d rows, want %d", len(aRows), rows)
	}
	aKeys := make(map[string]int, rows) // normalized key -> i
	for i, r := range aRows {
		if want := norm.Key(plan.Key(i)); r.Key != want {
			t.Fatalf("A row %d: key %q, want the plan's %q", i+1, r.Key, want)
		}
		if j, ok := aKeys[r.Key]; ok {
			t.Fatalf("A rows %d and %d share key %q", j+1, i+1, r.Key)
		}
		aKeys[r.Key] = i
	}

	features := map[string]int{}
	extrasByKey := map[string]int{}   // extra key -> peers that have it
	extrasOf := map[string][]string{} // peer -> its extra keys
	for _, f := range st.Files[1:] {
		peer := f.System
		want := map[string]bool{}
		wantDups := map[string]bool{}
		for i := range rows {
			if plan.Has(peer, i) {
				want[norm.Key(plan.Key(i))] = true
			}
			if plan.Dup(peer, i) {
				if !plan.Has(peer, i) {
					t.Fatalf("%s: Dup(%d) without Has(%d)", peer, i, i)
				}
				wantDups[norm.Key(plan.Key(i))] = true
			}
			if raw, ok := plan.Extra(peer, i); ok {
				k := norm.Key(raw)
				if j, inA := aKeys[k]; inA {
					t.Fatalf("%s: extra key %q at %d is A's key %d", peer, k, i, j)
				}
				if want[k] {
					t.Fatalf("%s: extra key %q at %d planned twice", peer, k, i)
				}
				want[k] = true
				extrasByKey[k]++
				extrasOf[peer] = append(extrasOf[peer], k)
			}
		}

		count := map[string]int{}
		for _, r := range extract(t, f, norm).rows {
			count[r.Key]++
			aRaw := "" // A's spelling, for A's keys
			if i, inA := aKeys[r.Key]; inA {
				aRaw = plan.Key(i)
			}
			classify(features, r.RawKey, aRaw)
		}
		for k := range want {
			if count[k] == 0 {
				t.Errorf("%s: planned key %q is not in the file", peer, k)
			}
		}
		dups := 0
		for k, n := range count {
			switch {
			case !want[k]:
				t.Errorf("%s: key %q is in the file but not planned", peer, k)
			case n > 2:
				t.Errorf("%s: key %q on %d rows", peer, k, n)
			case n == 2 && !wantDups[k]:
				t.Errorf("%s: key %q on two rows, not planned as a duplicate", peer, k)
			case n == 1 && wantDups[k]:
				t.Errorf("%s: key %q planned as a duplicate is on one row", peer, k)
			case n == 2:
				dups++
			}
		}
		if got, want := f.Rows, int64(len(want)+len(wantDups)); got != want {
			t.Errorf("%s: %d rows, want %d (keys + duplicates)", peer, got, want)
		}

		// The ratios are the brief's, loosely: the plan is a hash, not a count.
		has, extra := 0, len(want)
		for i := range rows {
			if plan.Has(peer, i) {
				has++
			}
		}
		extra -= has
		inRange(t, peer+" coverage", float64(has)/rows, 0.96, 0.98)
		inRange(t, peer+" drift", float64(extra)/rows, 0.015, 0.025)
		inRange(t, peer+" dup", float64(dups)/float64(has), 0.003, 0.007)
	}

	// About half of each peer's extras are shared by every peer, as a key
	// spreading before it reaches A; the rest mostly belong to that peer.
	for peer, keys := range extrasOf {
		shared := 0
		for _, k := range keys {
			if extrasByKey[k] == len(o.Peers) {
				shared++
			}
		}
		inRange(t, peer+" extras shared by all peers", float64(shared)/float64(len(keys)), 0.4, 0.6)
	}

	// Every kind of mess the brief lists occurs, often enough to matter.
	for _, name := range []string{
		"lower case", "title case", "underscore", "dot", "slash", "colon", "pipe",
		"backslash", "tab", "inner space", "doubled delimiter", "surrounding blanks", "hash",
		"zeros dropped", "zeros added",
	} {
		if features[name] < 20 {
			t.Errorf("only %d peer rows show %q", features[name], name)
		}
	}
	if features["same as A"] > features["total"]/4 {
		t.Errorf("%d of %d peer rows spell the key as A does: not messy enough", features["same as A"], features["total"])
	}
}

func inRange(t *testing.T, what string, got, lo, hi float64) {
	t.Helper()
	if got < lo || got > hi {
		t.Errorf("%s = %.4f, want in [%g, %g]", what, got, lo, hi)
	}
}

var (
	doubled    = regexp.MustCompile(`[-_./:|\\ \t]{2}`)
	titleCase  = regexp.MustCompile(`^[^A-Za-z]*[A-Z][a-z]`)
	lastNumber = regexp.MustCompile(`[0-9]+`)
)

// classify counts the kinds of mess in a peer's raw key; aRaw is A's spelling
// of the same key, "" for an extra key.
func classify(features map[string]int, raw, aRaw string) {
	inA := aRaw != ""
	features["total"]++
	inner := strings.TrimSpace(raw)
	has := func(name string, ok bool) {
		if ok {
			features[name]++
		}
	}
	has("same as A", inA && raw == aRaw)
	has("lower case", strings.ContainsAny(raw, "abcdefghijklmnopqrstuvwxyz"))
	has("title case", titleCase.MatchString(raw))
	has("underscore", strings.Contains(raw, "_"))
	has("dot", strings.Contains(raw, "."))
	has("slash", strings.Contains(raw, "/"))
	has("colon", strings.Contains(raw, ":"))
	has("pipe", strings.Contains(raw, "|"))
	has("backslash", strings.Contains(raw, `\`))
	has("tab", strings.Contains(inner, "\t"))
	has("inner space", strings.Contains(inner, " "))
	has("doubled delimiter", doubled.MatchString(inner))
	has("surrounding blanks", inner != raw)
	has("hash", strings.Contains(raw, "#"))
	if inA {
		nums, aNums := lastNumber.FindAllString(raw, -1), lastNumber.FindAllString(aRaw, -1)
		if len(nums) > 0 && len(nums) == len(aNums) {
			got, want := len(nums[len(nums)-1]), len(aNums[len(aNums)-1])
			has("zeros dropped", got < want)
			has("zeros added", got > want)
		}
	}
}

// TestFilesLookLikeExports checks the columns beyond the key, read as plain
// RFC 4180: the header, the system name, quoted locations with commas, all
// three timestamp formats, and one Windows export (BOM, CRLF).
func TestFilesLookLikeExports(t *testing.T) {
	st := mustWrite(t, opts(t, nil))
	formats := map[string]*regexp.Regexp{
		"rfc3339 Z":      regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`),
		"rfc3339 offset": regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$`),
		"date time":      regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`),
		"date":           regexp.MustCompile(`^\d{4}-\d\d-\d\d$`),
	}
	seen := map[string]int{}
	for _, f := range st.Files {
		raw, err := os.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		windows := bytes.HasPrefix(raw, []byte("\uFEFF"))
		if got := bytes.Contains(raw, []byte("\r\n")); got != windows {
			t.Errorf("%s: BOM %v but CRLF %v", f.System, windows, got)
		}
		if windows {
			seen["windows"]++
		}
		r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(raw, []byte("\uFEFF"))))
		hdr, err := r.Read()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := strings.Join(hdr, ","), "source_system,source_key,entity_type,location_ref,last_seen_at"; got != want {
			t.Fatalf("%s: header %q, want %q", f.System, got, want)
		}
		var n int64
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f.System, err)
			}
			n++
			if rec[0] != f.System {
				t.Fatalf("%s: record %d: source_system %q", f.System, n, rec[0])
			}
			if strings.Contains(rec[3], ",") {
				seen["location with comma"]++
			}
			if strings.Contains(rec[3], `"`) {
				seen["location with quote"]++
			}
			if rec[4] == "" {
				seen["no timestamp"]++
				continue
			}
			matched := false
			for name, re := range formats {
				if re.MatchString(rec[4]) {
					seen[name]++
					matched = true
				}
			}
			if !matched {
				t.Errorf("%s: record %d: last_seen_at %q in no accepted format", f.System, n, rec[4])
			}
		}
		if n != f.Rows {
			t.Errorf("%s: %d records, Stats say %d", f.System, n, f.Rows)
		}
		if bytes.Contains(raw, []byte(`,"Berlin, DE",`)) {
			seen["quoted Berlin"]++
		}
	}
	for _, name := range []string{"windows", "location with comma", "location with quote", "no timestamp",
		"rfc3339 Z", "rfc3339 offset", "date time", "date", "quoted Berlin"} {
		if seen[name] == 0 {
			t.Errorf("no file has %s", name)
		}
	}
}

// TestConfigLoads reads the generated config with keysync's own loader: the
// sources, paths, normalization and defaults the brief asks for, including
// peer names that YAML would not read as strings unquoted.
func TestConfigLoads(t *testing.T) {
	o := opts(t, func(o *gen.Options) { o.Peers = []string{"null", "1", "yes", "erp_2"} })
	st := mustWrite(t, o)
	if want := filepath.Join(o.Dir, "keysync-config.yaml"); st.Config != want {
		t.Fatalf("Stats.Config = %q, want %q", st.Config, want)
	}
	cfg, err := config.Load(st.Config)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		t.Fatal(err)
	}
	wantNorm := normalize.Defaults()
	wantNorm.PadNumbers = 8
	if cfg.Normalize != wantNorm {
		t.Errorf("normalize = %+v, want %+v", cfg.Normalize, wantNorm)
	}
	// The safety: block shows the defaults, so it changes nothing.
	if want := config.DefaultSafety(cfg.SourceNames()); !reflect.DeepEqual(cfg.Safety, want) {
		t.Errorf("safety = %+v, want the defaults %+v", cfg.Safety, want)
	}
	if b, err := os.ReadFile(st.Config); err != nil || !strings.Contains(string(b), "\nsafety:\n") {
		t.Errorf("the generated config shows no safety: block (err %v)", err)
	}
	for _, c := range []struct{ name, got, want string }{
		{"authority", cfg.Authority, "A"},
		{"database", cfg.Database, filepath.Join(dir, "keysync.db")},
		{"output_dir", cfg.OutputDir, filepath.Join(dir, "output")},
		{"strategy", string(cfg.Provisioning.Strategy), "mirror"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if got, want := cfg.SourceNames(), []string{"A", "1", "erp_2", "null", "yes"}; !slices.Equal(got, want) {
		t.Fatalf("sources %q, want %q", got, want)
	}
	for _, f := range st.Files {
		src := cfg.Sources[f.System]
		if want := filepath.Join(dir, "input", f.System+".csv"); src.Path != want {
			t.Errorf("sources.%s.path = %q, want %q", f.System, src.Path, want)
		}
		if src.Type != "csv" || src.Delimiter != ',' || len(src.Columns) != 0 {
			t.Errorf("sources.%s = %+v, want a plain CSV source", f.System, src)
		}
		if _, err := os.Stat(src.Path); err != nil {
			t.Errorf("sources.%s: %v", f.System, err)
		}
	}
}

// TestWriteCreatesAndReplaces checks that a missing --out is created, that
// existing inputs and config are replaced, and that no temporary is left.
func TestWriteCreatesAndReplaces(t *testing.T) {
	o := opts(t, func(o *gen.Options) { o.Rows = 100; o.Peers = []string{"B"} })
	o.Dir = filepath.Join(o.Dir, "new", "deeper")
	mustWrite(t, o) // creates the directories
	cfg := filepath.Join(o.Dir, "keysync-config.yaml")
	for _, p := range []string{cfg, filepath.Join(o.Dir, "input", "A.csv")} {
		if err := os.WriteFile(p, []byte("stale: [\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	st := mustWrite(t, o)
	if _, err := config.Load(cfg); err != nil {
		t.Errorf("the stale config was not replaced: %v", err)
	}
	a, err := os.ReadFile(st.Files[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(a, []byte("source_system,")) || int64(bytes.Count(a, []byte("\n"))) != st.Files[0].Rows+1 {
		t.Errorf("A.csv was not rewritten: %q…", a[:min(len(a), 40)])
	}
	got := slices.Sorted(maps.Keys(readTree(t, o.Dir)))
	if want := []string{"input/A.csv", "input/B.csv", "keysync-config.yaml"}; !slices.Equal(got, want) {
		t.Errorf("files %q, want %q (a temporary left behind?)", got, want)
	}
}

// TestWriteCancelled checks that a cancelled Write stops with the context's
// error and leaves neither inputs, temporaries nor a config.
func TestWriteCancelled(t *testing.T) {
	o := opts(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := gen.Write(ctx, o); !errors.Is(err, context.Canceled) {
		t.Fatalf("Write: %v, want context.Canceled", err)
	}
	if files := readTree(t, o.Dir); len(files) != 0 {
		t.Errorf("a cancelled Write left %q", slices.Sorted(maps.Keys(files)))
	}
}

// TestOneRow checks the smallest input: the duplicate shift and the number
// scramble must not divide by zero or misplace the key.
func TestOneRow(t *testing.T) {
	o := opts(t, func(o *gen.Options) { o.Rows = 1; o.Dup = 0.5; o.Drift = 0.5 })
	st := mustWrite(t, o)
	if st.Files[0].Rows != 1 {
		t.Errorf("A has %d rows, want 1", st.Files[0].Rows)
	}
	nopts := normalize.Defaults()
	nopts.PadNumbers = 8
	norm := normalize.New(nopts)
	plan := gen.NewPlan(o)
	for _, f := range st.Files[1:] {
		want := 0
		if plan.Has(f.System, 0) {
			want++
		}
		if plan.Dup(f.System, 0) {
			want++
		}
		if _, ok := plan.Extra(f.System, 0); ok {
			want++
		}
		if got := len(extract(t, f, norm).rows); got != want {
			t.Errorf("%s: %d rows, want %d", f.System, got, want)
		}
	}
}
