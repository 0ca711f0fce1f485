package config_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/keysync/keysync/pkg/config"
	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/normalize"
)

// twoSources is the least a config needs to be valid.
const twoSources = `
sources:
  A: { path: a.csv }
  B: { path: b.csv }
`

// specExample is the example of SPEC §2, verbatim.
const specExample = `
schedule: "0 2 * * *"          # 5-field cron expression, used by ` + "`keysync schedule`" + `
database: ./keysync.db         # default ./keysync.db
output_dir: ./output           # default ./output
authority: A                   # default A; must name a source
normalize:
  uppercase: true              # default true
  strip_non_alnum: true        # default true
  collapse_delims: "-"         # default "-"; "" turns collapsing off
  delimiters: " \t-_./\\:|"    # default shown; the characters treated as delimiters
                               # (collapse_delims must be made of these characters)
  pad_numbers: 8               # default 0 = off
provisioning:
  strategy: mirror             # mirror | namespaced
  auto_approve: false
sources:
  A: { type: csv, path: ./input/A.csv }
  B: { type: csv, path: ./input/B.csv, delimiter: ";", columns: { source_key: ItemID } }
`

const dir = "/etc/keysync"

// MustParse parses src with dir as the config directory and fails tb on error.
func MustParse(tb testing.TB, src string) *config.Config {
	tb.Helper()
	c, err := config.Parse(strings.NewReader(src), dir)
	if err != nil {
		tb.Fatalf("Parse: %v", err)
	}
	return c
}

// mustConfigError asserts err is a *config.Error for field and returns it.
func mustConfigError(tb testing.TB, err error, field string) *config.Error {
	tb.Helper()
	if err == nil {
		tb.Fatalf("got no error, want a *config.Error for %q", field)
	}
	var ce *config.Error
	if !errors.As(err, &ce) {
		tb.Fatalf("got %T (%v), want *config.Error", err, err)
	}
	if got, want := ce.Field, field; got != want {
		tb.Fatalf("Field = %q, want %q (error: %v)", got, want, err)
	}
	if !strings.Contains(err.Error(), field) {
		tb.Fatalf("error %q does not name %q", err, field)
	}
	return ce
}

func TestParse_Defaults(t *testing.T) {
	c := MustParse(t, twoSources)
	for _, tt := range []struct {
		name      string
		got, want any
	}{
		{"path", c.Path, ""},
		{"dir", c.Dir, dir},
		{"schedule", c.Schedule, ""},
		{"database", c.Database, "/etc/keysync/keysync.db"},
		{"output_dir", c.OutputDir, "/etc/keysync/output"},
		{"authority", c.Authority, "A"},
		{"normalize", c.Normalize, normalize.Defaults()},
		{"normalize.uppercase", c.Normalize.Uppercase, true},
		{"normalize.strip_non_alnum", c.Normalize.StripNonAlnum, true},
		{"normalize.collapse_delims", c.Normalize.CollapseDelims, "-"},
		{"normalize.delimiters", c.Normalize.Delimiters, " \t-_./\\:|"},
		{"normalize.pad_numbers", c.Normalize.PadNumbers, 0},
		{"provisioning.strategy", c.Provisioning.Strategy, keysync.StrategyMirror},
		{"provisioning.auto_approve", c.Provisioning.AutoApprove, false},
		{"output.formats", c.Output.Formats, []string{"csv"}},
		{"source type", c.Sources["B"].Type, "csv"},
		{"source name", c.Sources["B"].Name, "B"},
		{"source delimiter", c.Sources["B"].Delimiter, ','},
		{"source columns", len(c.Sources["B"].Columns), 0},
		{"safety.min_rows", c.Safety.MinRows, map[string]int{"A": 1, "B": 1}},
		{"safety.max_drop_ratio", c.Safety.MaxDropRatio, 0.5},
		{"safety.max_rejected_ratio", c.Safety.MaxRejectedRatio, 0.5},
		{"safety.max_missing_ratio (off)", c.Safety.MaxMissingRatio, 0.0},
		{"safety.max_new_proposals (off)", c.Safety.MaxNewProposals, 0},
		{"safety.max_unchanged_runs (off)", c.Safety.MaxUnchangedRuns, 0},
		{"dry run", c.DryRun, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %#v, want %#v", tt.got, tt.want)
			}
		})
	}
}

func TestParse_SpecExample(t *testing.T) {
	c := MustParse(t, specExample)
	for _, tt := range []struct {
		name      string
		got, want any
	}{
		{"schedule", c.Schedule, "0 2 * * *"},
		{"database", c.Database, "/etc/keysync/keysync.db"},
		{"output_dir", c.OutputDir, "/etc/keysync/output"},
		{"authority", c.Authority, "A"},
		{"normalize", c.Normalize, normalize.Options{
			Uppercase: true, StripNonAlnum: true, CollapseDelims: "-",
			Delimiters: normalize.DefaultDelimiters, PadNumbers: 8,
		}},
		{"provisioning", c.Provisioning, config.Provisioning{Strategy: keysync.StrategyMirror}},
		{"source A", c.Sources["A"], config.Source{
			Name: "A", Type: "csv", Path: "/etc/keysync/input/A.csv", Delimiter: ',',
		}},
		{"source B", c.Sources["B"], config.Source{
			Name: "B", Type: "csv", Path: "/etc/keysync/input/B.csv", Delimiter: ';',
			Columns: map[string]string{"source_key": "ItemID"},
		}},
		{"source names", c.SourceNames(), []string{"A", "B"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %#v, want %#v", tt.got, tt.want)
			}
		})
	}
}

func TestParse_Values(t *testing.T) {
	c := MustParse(t, `
schedule: "@every 10m"
database: /var/lib/keysync/k.db
output_dir: ../reports
authority: HQ
normalize:
  uppercase: false
  strip_non_alnum: false
  collapse_delims: ""
  delimiters: "-"
  pad_numbers: 3
provisioning: { strategy: namespaced, auto_approve: true }
output: { formats: [csv, json] }
sources:
  HQ: { path: /data/hq.csv, delimiter: "\t" }
  shop_2: { path: in/shop.csv, columns: { source_key: Item, last_seen_at: Seen } }
safety:
  min_rows: { HQ: 1000, shop_2: 5 }
  max_drop_ratio: 0.2
  max_missing_ratio: 1
  max_new_proposals: 0
`)
	for _, tt := range []struct {
		name      string
		got, want any
	}{
		{"schedule", c.Schedule, "@every 10m"},
		{"database absolute", c.Database, "/var/lib/keysync/k.db"},
		{"output_dir relative", c.OutputDir, "/etc/reports"},
		{"authority", c.Authority, "HQ"},
		{"normalize", c.Normalize, normalize.Options{Delimiters: "-", PadNumbers: 3}},
		{"provisioning", c.Provisioning, config.Provisioning{Strategy: keysync.StrategyNamespaced, AutoApprove: true}},
		{"formats", c.Output.Formats, []string{"csv", "json"}},
		{"has json", c.Output.Has("json"), true},
		{"source path absolute", c.Sources["HQ"].Path, "/data/hq.csv"},
		{"source path relative", c.Sources["shop_2"].Path, "/etc/keysync/in/shop.csv"},
		{"tab delimiter", c.Sources["HQ"].Delimiter, '\t'},
		{"columns", c.Sources["shop_2"].Columns, map[string]string{"source_key": "Item", "last_seen_at": "Seen"}},
		{"min_rows", c.Safety.MinRows, map[string]int{"HQ": 1000, "shop_2": 5}},
		{"max_drop_ratio", c.Safety.MaxDropRatio, 0.2},
		{"max_rejected_ratio (default)", c.Safety.MaxRejectedRatio, 0.5},
		{"max_missing_ratio", c.Safety.MaxMissingRatio, 1.0},
		{"max_new_proposals", c.Safety.MaxNewProposals, 0},
		{"peers", c.Peers(), []string{"shop_2"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %#v, want %#v", tt.got, tt.want)
			}
		})
	}
}

// TestParse_FalseVersusAbsent checks that false, 0 and "" written in the file
// are kept, not mistaken for "not given" and replaced by the defaults.
func TestParse_FalseVersusAbsent(t *testing.T) {
	for _, tt := range []struct {
		name string
		yaml string
		get  func(*config.Config) any
		want any
	}{
		{"uppercase absent", "normalize: {}", func(c *config.Config) any { return c.Normalize.Uppercase }, true},
		{"uppercase false", "normalize: {uppercase: false}", func(c *config.Config) any { return c.Normalize.Uppercase }, false},
		{"uppercase null", "normalize: {uppercase: null}", func(c *config.Config) any { return c.Normalize.Uppercase }, true},
		{"strip_non_alnum absent", "normalize: {}", func(c *config.Config) any { return c.Normalize.StripNonAlnum }, true},
		{"strip_non_alnum false", "normalize: {strip_non_alnum: false}", func(c *config.Config) any { return c.Normalize.StripNonAlnum }, false},
		{"collapse_delims absent", "normalize: {}", func(c *config.Config) any { return c.Normalize.CollapseDelims }, "-"},
		{"collapse_delims empty", `normalize: {collapse_delims: ""}`, func(c *config.Config) any { return c.Normalize.CollapseDelims }, ""},
		{"delimiters empty", `normalize: {delimiters: "", collapse_delims: ""}`, func(c *config.Config) any { return c.Normalize.Delimiters }, ""},
		{"auto_approve true", "provisioning: {auto_approve: true}", func(c *config.Config) any { return c.Provisioning.AutoApprove }, true},
		{"auto_approve false", "provisioning: {auto_approve: false}", func(c *config.Config) any { return c.Provisioning.AutoApprove }, false},
		{"normalize null", "normalize:", func(c *config.Config) any { return c.Normalize }, normalize.Defaults()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := MustParse(t, tt.yaml+"\n"+twoSources)
			if got := tt.get(c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestParse_MinRows(t *testing.T) {
	for _, tt := range []struct {
		name string
		yaml string
		want map[string]int
	}{
		{"number applies to every source", "min_rows: 1000", map[string]int{"A": 1000, "B": 1000}},
		{"map sets named sources, the others keep the default", "min_rows: {B: 500}", map[string]int{"A": 1, "B": 500}},
		{"map zero turns one source off", "min_rows: {A: 0}", map[string]int{"A": 0, "B": 1}},
		{"zero", "min_rows: 0", map[string]int{"A": 0, "B": 0}},
		{"absent keeps the default", "max_new_proposals: 1", map[string]int{"A": 1, "B": 1}},
		{"null keeps the default", "min_rows:", map[string]int{"A": 1, "B": 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := MustParse(t, twoSources+"safety:\n  "+tt.yaml+"\n")
			if got := c.Safety.MinRows; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("MinRowsFor", func(t *testing.T) {
		c := MustParse(t, twoSources+"safety: {min_rows: {B: 500}}\n")
		if got, want := c.Safety.MinRowsFor("B"), 500; got != want {
			t.Errorf("B: got %v, want %v", got, want)
		}
		if got, want := c.Safety.MinRowsFor("A"), config.DefaultMinRows; got != want {
			t.Errorf("A: got %v, want the default %v", got, want)
		}
	})
}

// TestParse_SafetyDefaults: the guards are on without a safety: section, a
// section keeps the default of every key it leaves out, and 0 turns a guard off.
func TestParse_SafetyDefaults(t *testing.T) {
	for _, tt := range []struct {
		name string
		yaml string
		want config.Safety
	}{
		{"no section", "", config.Safety{MinRows: map[string]int{"A": 1, "B": 1}, MaxDropRatio: 0.5, MaxRejectedRatio: 0.5}},
		{"empty section", "safety: {}\n", config.Safety{MinRows: map[string]int{"A": 1, "B": 1}, MaxDropRatio: 0.5, MaxRejectedRatio: 0.5}},
		{"one key set, the others default", "safety: {max_missing_ratio: 0.3, max_unchanged_runs: 2}\n",
			config.Safety{MinRows: map[string]int{"A": 1, "B": 1}, MaxDropRatio: 0.5, MaxRejectedRatio: 0.5, MaxMissingRatio: 0.3, MaxUnchangedRuns: 2}},
		{"zero turns each default off", "safety: {min_rows: 0, max_drop_ratio: 0, max_rejected_ratio: 0}\n",
			config.Safety{MinRows: map[string]int{"A": 0, "B": 0}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := MustParse(t, twoSources+tt.yaml)
			if !reflect.DeepEqual(c.Safety, tt.want) {
				t.Errorf("got %+v, want %+v", c.Safety, tt.want)
			}
			if got, want := c.Safety.Any(), tt.name != "zero turns each default off"; got != want {
				t.Errorf("Any() = %v, want %v", got, want)
			}
		})
	}
}

func TestParse_Schedule(t *testing.T) {
	for _, spec := range []string{"", "0 2 * * *", "*/15 * * * *", "@hourly", "@daily", "@every 10m", "0 2 * * MON-FRI"} {
		t.Run(spec, func(t *testing.T) {
			c := MustParse(t, "schedule: \""+spec+"\"\n"+twoSources)
			if got, want := c.Schedule, spec; got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}

func TestParse_Errors(t *testing.T) {
	for _, tt := range []struct {
		name  string
		yaml  string
		field string
		value string // "" = not checked
	}{
		{"empty document", "", "sources", ""},
		{"comment only", "# nothing\n", "sources", ""},
		{"one source", "sources: {A: {path: a.csv}}", "sources", ""},
		{"authority not a source", "authority: Z\n" + twoSources, "authority", "Z"},
		{"authority empty", "authority: ''\n" + twoSources, "authority", ""},
		{"default authority missing", "sources: {B: {path: b.csv}, C: {path: c.csv}}", "authority", "A"},
		{"unknown strategy", "provisioning: {strategy: random}\n" + twoSources, "provisioning.strategy", "random"},
		{"bad cron", "schedule: '0 2 * *'\n" + twoSources, "schedule", "0 2 * *"},
		{"cron with seconds", "schedule: '0 0 2 * * *'\n" + twoSources, "schedule", "0 0 2 * * *"},
		{"bad descriptor", "schedule: '@sometimes'\n" + twoSources, "schedule", "@sometimes"},
		{"delimiter two chars", "sources: {A: {path: a.csv}, B: {path: b.csv, delimiter: ';;'}}", "sources.B.delimiter", ";;"},
		{"delimiter empty", "sources: {A: {path: a.csv}, B: {path: b.csv, delimiter: ''}}", "sources.B.delimiter", ""},
		{"delimiter quote", `sources: {A: {path: a.csv}, B: {path: b.csv, delimiter: '"'}}`, "sources.B.delimiter", `"`},
		{"delimiter newline", `sources: {A: {path: a.csv}, B: {path: b.csv, delimiter: "\n"}}`, "sources.B.delimiter", "\n"},
		{"collapse outside delimiters", "normalize: {collapse_delims: '+'}\n" + twoSources, "normalize.collapse_delims", "+"},
		{"collapse outside custom delimiters", "normalize: {delimiters: '_', collapse_delims: '-'}\n" + twoSources, "normalize.collapse_delims", "-"},
		{"pad_numbers negative", "normalize: {pad_numbers: -1}\n" + twoSources, "normalize.pad_numbers", "-1"},
		{"pad_numbers huge", "normalize: {pad_numbers: 1000}\n" + twoSources, "normalize.pad_numbers", "1000"},
		{"pad_numbers not a number", "normalize: {pad_numbers: eight}\n" + twoSources, "normalize.pad_numbers", "eight"},
		{"uppercase not a bool", "normalize: {uppercase: maybe}\n" + twoSources, "normalize.uppercase", "maybe"},
		{"normalize not a mapping", "normalize: [a]\n" + twoSources, "normalize", ""},
		{"source type", "sources: {A: {path: a.csv}, B: {path: b.xml, type: xml}}", "sources.B.type", "xml"},
		{"source path missing", "sources: {A: {path: a.csv}, B: {type: csv}}", "sources.B.path", ""},
		{"source path empty", "sources: {A: {path: a.csv}, B: {path: ''}}", "sources.B.path", ""},
		{"source null", "sources: {A: {path: a.csv}, B: }", "sources.B.path", ""},
		{"source name with dash", "authority: A\nsources: {A: {path: a.csv}, B-C: {path: b.csv}}", "sources", "B-C"},
		{"source name with space", "sources: {A: {path: a.csv}, 'B C': {path: b.csv}}", "sources", "B C"},
		{"source name with slash", "sources: {A: {path: a.csv}, 'B/C': {path: b.csv}}", "sources", "B/C"},
		{"source name empty", "sources: {A: {path: a.csv}, '': {path: b.csv}}", "sources", ""},
		{"source names differ in case", "sources: {A: {path: a.csv}, a: {path: b.csv}}", "sources.a", ""},
		{"column not a contract field", "sources: {A: {path: a.csv}, B: {path: b.csv, columns: {sku: ItemID}}}", "sources.B.columns.sku", ""},
		{"column header empty", "sources: {A: {path: a.csv}, B: {path: b.csv, columns: {source_key: ' '}}}", "sources.B.columns.source_key", ""},
		{"column header twice", "sources: {A: {path: a.csv}, B: {path: b.csv, columns: {entity_type: id, source_key: ID}}}", "sources.B.columns.source_key", "ID"},
		{"database empty", "database: ''\n" + twoSources, "database", ""},
		{"output_dir empty", "output_dir: ''\n" + twoSources, "output_dir", ""},
		{"format unknown", "output: {formats: [csv, xml]}\n" + twoSources, "output.formats", "xml"},
		{"format twice", "output: {formats: [csv, csv]}\n" + twoSources, "output.formats", "csv"},
		{"formats empty", "output: {formats: []}\n" + twoSources, "output.formats", ""},
		{"formats not a list", "output: {formats: csv}\n" + twoSources, "output.formats", "csv"},
		{"min_rows negative", twoSources + "safety: {min_rows: -1}", "safety.min_rows", "-1"},
		{"min_rows map negative", twoSources + "safety: {min_rows: {B: -5}}", "safety.min_rows.B", "-5"},
		{"min_rows unknown source", twoSources + "safety: {min_rows: {Z: 5}}", "safety.min_rows.Z", ""},
		{"min_rows not a number", twoSources + "safety: {min_rows: lots}", "safety.min_rows", "lots"},
		{"min_rows map not a number", twoSources + "safety: {min_rows: {B: x}}", "safety.min_rows.B", "x"},
		{"min_rows a list", twoSources + "safety: {min_rows: [1]}", "safety.min_rows", ""},
		{"max_drop_ratio above 1", twoSources + "safety: {max_drop_ratio: 1.5}", "safety.max_drop_ratio", "1.5"},
		{"max_drop_ratio negative", twoSources + "safety: {max_drop_ratio: -0.1}", "safety.max_drop_ratio", "-0.1"},
		{"max_drop_ratio NaN", twoSources + "safety: {max_drop_ratio: .nan}", "safety.max_drop_ratio", "NaN"},
		{"max_missing_ratio above 1", twoSources + "safety: {max_missing_ratio: 2}", "safety.max_missing_ratio", "2"},
		{"max_rejected_ratio above 1", twoSources + "safety: {max_rejected_ratio: 1.01}", "safety.max_rejected_ratio", "1.01"},
		{"max_rejected_ratio negative", twoSources + "safety: {max_rejected_ratio: -1}", "safety.max_rejected_ratio", "-1"},
		{"max_unchanged_runs negative", twoSources + "safety: {max_unchanged_runs: -2}", "safety.max_unchanged_runs", "-2"},
		{"max_unchanged_runs not a number", twoSources + "safety: {max_unchanged_runs: often}", "safety.max_unchanged_runs", "often"},
		{"max_new_proposals negative", twoSources + "safety: {max_new_proposals: -1}", "safety.max_new_proposals", "-1"},
		{"unknown top-level key", "databse: x.db\n" + twoSources, "databse", ""},
		{"unknown normalize key", "normalize:\n  uppercse: false\n" + twoSources, "normalize.uppercse", ""},
		{"unknown provisioning key", "provisioning: {stratgy: mirror}\n" + twoSources, "provisioning.stratgy", ""},
		{"unknown source key", "sources: {A: {path: a.csv}, B: {path: b.csv, delim: ';'}}", "sources.B.delim", ""},
		{"unknown safety key", twoSources + "safety: {min_row: 5}", "safety.min_row", ""},
		{"unknown output key", "output: {format: [csv]}\n" + twoSources, "output.format", ""},
		{"dry_run is flag-only", "dry_run: true\n" + twoSources, "dry_run", ""},
		{"top level a list", "- a\n- b\n", "", ""},
		{"invalid YAML", "sources: {A: [\n", "", ""},
		{"two documents", twoSources + "---\n" + twoSources, "", ""},
		{"duplicate key", "authority: A\nauthority: B\n" + twoSources, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse(strings.NewReader(tt.yaml), dir)
			ce := mustConfigError(t, err, tt.field)
			if tt.value != "" {
				if got, want := ce.Value, tt.value; got != want {
					t.Errorf("Value = %q, want %q (error: %v)", got, want, err)
				}
			}
		})
	}
}

func TestParse_UnknownKeyLine(t *testing.T) {
	src := "authority: A\nnormalize:\n  uppercase: true\n  uppercse: false\n" + twoSources
	_, err := config.Parse(strings.NewReader(src), dir)
	ce := mustConfigError(t, err, "normalize.uppercse")
	if got, want := ce.Line, 4; got != want {
		t.Errorf("Line = %d, want %d", got, want)
	}
	if got, want := err.Error(), "config: normalize.uppercse: unknown key (known: uppercase, strip_non_alnum, collapse_delims, delimiters, pad_numbers) (line 4)"; got != want {
		t.Errorf("Error() = %q\nwant      %q", got, want)
	}
}

func TestParse_AnchorsAndMergeKeys(t *testing.T) {
	c := MustParse(t, `
sources:
  A: &a { path: a.csv, delimiter: ";" }
  B:
    <<: *a
    path: b.csv
`)
	if got, want := c.Sources["B"].Delimiter, ';'; got != want {
		t.Errorf("merged delimiter = %q, want %q", got, want)
	}
	_, err := config.Parse(strings.NewReader(`
sources:
  A: &a { path: a.csv, delimitr: ";" }
  B: { <<: *a, path: b.csv }
`), dir)
	mustConfigError(t, err, "sources.A.delimitr")
}

func TestError_Message(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keysync-config.yaml")
	writeFile(t, path, "authority: Z\nsources: {A: {path: a}, B: {path: b}, C: {path: c}}\n")
	_, err := config.Load(path)
	ce := mustConfigError(t, err, "authority")
	if got, want := ce.File, path; got != want {
		t.Errorf("File = %q, want %q", got, want)
	}
	if got, want := err.Error(), "config "+path+`: authority: "Z" does not name a source (sources: A, B, C)`; got != want {
		t.Errorf("Error() = %q\nwant      %q", got, want)
	}
}

func TestSourceNames(t *testing.T) {
	c := MustParse(t, `
authority: M
sources:
  b: { path: b.csv }
  M: { path: m.csv }
  C: { path: c.csv }
  A: { path: a.csv }
  _x: { path: x.csv }
  "10": { path: 10.csv }
`)
	if got, want := c.SourceNames(), []string{"M", "10", "A", "C", "_x", "b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("SourceNames() = %q, want %q", got, want)
	}
	if got, want := c.Peers(), []string{"10", "A", "C", "_x", "b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Peers() = %q, want %q", got, want)
	}
}

func TestParse_Paths(t *testing.T) {
	for _, tt := range []struct {
		name string
		dir  string
		path string
		want string
	}{
		{"relative", "/etc/keysync", "./input/A.csv", "/etc/keysync/input/A.csv"},
		{"bare", "/etc/keysync", "A.csv", "/etc/keysync/A.csv"},
		{"parent", "/etc/keysync", "../data/A.csv", "/etc/data/A.csv"},
		{"absolute", "/etc/keysync", "/srv/exports/A.csv", "/srv/exports/A.csv"},
		{"absolute cleaned", "/etc/keysync", "/srv//exports/./A.csv", "/srv/exports/A.csv"},
		{"tilde not expanded", "/etc/keysync", "~/A.csv", "/etc/keysync/~/A.csv"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := "database: " + tt.path + "\noutput_dir: " + tt.path + "\nsources: {A: {path: '" + tt.path + "'}, B: {path: b.csv}}\n"
			c, err := config.Parse(strings.NewReader(src), tt.dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, got := range []string{c.Database, c.OutputDir, c.Sources["A"].Path} {
				if got != tt.want {
					t.Errorf("got %q, want %q", got, tt.want)
				}
			}
		})
	}
}

// TestLoad_RelativeToConfigDir runs from another directory, as cron does from
// $HOME, and checks that paths still resolve against the file's directory.
func TestLoad_RelativeToConfigDir(t *testing.T) {
	root := t.TempDir()
	cfgDir := filepath.Join(root, "etc")
	if err := os.Mkdir(cfgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(cfgDir, "keysync-config.yaml"), specExample)
	t.Chdir(root)

	c, err := config.Load("etc/keysync-config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name      string
		got, want string
	}{
		{"path", c.Path, filepath.Join(cfgDir, "keysync-config.yaml")},
		{"dir", c.Dir, cfgDir},
		{"database", c.Database, filepath.Join(cfgDir, "keysync.db")},
		{"output_dir", c.OutputDir, filepath.Join(cfgDir, "output")},
		{"source A", c.Sources["A"].Path, filepath.Join(cfgDir, "input", "A.csv")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestLoad_Missing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := config.Load(path)
	ce := mustConfigError(t, err, "")
	if got, want := ce.File, path; got != want {
		t.Errorf("File = %q, want %q", got, want)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the path", err)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(err, fs.ErrNotExist) = false, want true")
	}
}

func TestLoad_SetsFileOnErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.yaml")
	writeFile(t, path, "normalize: {uppercse: false}\n"+twoSources)
	_, err := config.Load(path)
	ce := mustConfigError(t, err, "normalize.uppercse")
	if got, want := ce.File, path; got != want {
		t.Errorf("File = %q, want %q", got, want)
	}
}

func TestApplyOverrides(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	yes, no := true, false
	for _, tt := range []struct {
		name string
		o    config.Overrides
		get  func(*config.Config) any
		want any
	}{
		{"db relative to working dir", config.Overrides{Database: "x.db"}, func(c *config.Config) any { return c.Database }, filepath.Join(wd, "x.db")},
		{"db absolute", config.Overrides{Database: "/tmp/x.db"}, func(c *config.Config) any { return c.Database }, "/tmp/x.db"},
		{"db not given", config.Overrides{}, func(c *config.Config) any { return c.Database }, "/etc/keysync/keysync.db"},
		{"output relative to working dir", config.Overrides{OutputDir: "out"}, func(c *config.Config) any { return c.OutputDir }, filepath.Join(wd, "out")},
		{"dry run", config.Overrides{DryRun: &yes}, func(c *config.Config) any { return c.DryRun }, true},
		{"dry run writes to output_dir/dry-run", config.Overrides{DryRun: &yes}, func(c *config.Config) any { return c.OutputDir }, "/etc/keysync/output/dry-run"},
		{"dry run with --output writes there", config.Overrides{DryRun: &yes, OutputDir: "out"}, func(c *config.Config) any { return c.OutputDir }, filepath.Join(wd, "out")},
		{"normal run writes to output_dir", config.Overrides{DryRun: &no}, func(c *config.Config) any { return c.OutputDir }, "/etc/keysync/output"},
		{"auto-approve off", config.Overrides{AutoApprove: &no}, func(c *config.Config) any { return c.Provisioning.AutoApprove }, false},
		{"format json added", config.Overrides{Formats: []string{"json"}}, func(c *config.Config) any { return c.Output.Formats }, []string{"csv", "json"}},
		{"format csv already there", config.Overrides{Formats: []string{"csv", "csv"}}, func(c *config.Config) any { return c.Output.Formats }, []string{"csv"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := MustParse(t, "provisioning: {auto_approve: true}\n"+twoSources)
			if err := c.ApplyOverrides(tt.o); err != nil {
				t.Fatal(err)
			}
			if got := tt.get(c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
	t.Run("auto-approve on", func(t *testing.T) {
		c := MustParse(t, "provisioning: {auto_approve: false}\n"+twoSources)
		if err := c.ApplyOverrides(config.Overrides{AutoApprove: &yes}); err != nil {
			t.Fatal(err)
		}
		if got, want := c.Provisioning.AutoApprove, true; got != want {
			t.Errorf("got %v, want %v", got, want)
		}
	})
	t.Run("bad format", func(t *testing.T) {
		c := MustParse(t, twoSources)
		err := c.ApplyOverrides(config.Overrides{Formats: []string{"xml"}})
		mustConfigError(t, err, "--format")
	})
}

func TestValidate_ByHand(t *testing.T) {
	c := MustParse(t, twoSources)
	c.Authority = "Q"
	mustConfigError(t, c.Validate(), "authority")
}

func writeFile(tb testing.TB, path, data string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		tb.Fatal(err)
	}
}

func TestParse_Retention(t *testing.T) {
	for _, tt := range []struct {
		yaml string
		want int
	}{
		{"", 0}, // off by default
		{"retention: {keep_runs: 0}\n", 0},
		{"retention: {keep_runs: 90}\n", 90},
		{"retention: {}\n", 0},
	} {
		if got := MustParse(t, tt.yaml+twoSources).Retention.KeepRuns; got != tt.want {
			t.Errorf("%q: keep_runs = %d, want %d", tt.yaml, got, tt.want)
		}
	}
	for _, tt := range []struct{ yaml, field, value string }{
		{"retention: {keep_runs: -1}\n", "retention.keep_runs", "-1"},
		{"retention: {keep_runs: many}\n", "retention.keep_runs", "many"},
		{"retention: {keep_days: 3}\n", "retention.keep_days", ""},
	} {
		_, err := config.Parse(strings.NewReader(tt.yaml+twoSources), dir)
		var ce *config.Error
		if !errors.As(err, &ce) || ce.Field != tt.field || (tt.value != "" && ce.Value != tt.value) {
			t.Errorf("%q: err = %v, want field %s value %q", tt.yaml, err, tt.field, tt.value)
		}
	}
	c := MustParse(t, twoSources)
	c.Retention.KeepRuns = -3
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "retention.keep_runs") {
		t.Errorf("Validate with keep_runs -3: %v", err)
	}
}

// TestParse_PathEnv: ${NAME} in database, output_dir and a source's path is
// expanded from the environment (issue [cli-conventions]); an unset
// variable is a config error naming the field and the variable.
func TestParse_PathEnv(t *testing.T) {
	t.Setenv("KS_DATA", "/srv/keysync")
	t.Setenv("KS_IN", "exports")
	c := MustParse(t, `
database: ${KS_DATA}/keysync.db
output_dir: ${KS_DATA}/reports
sources:
  A: { type: csv, path: "./${KS_IN}/A.csv" }
  B: { type: csv, path: ./input/B.csv }
`)
	if got, want := c.Database, "/srv/keysync/keysync.db"; got != want {
		t.Errorf("database = %q, want %q", got, want)
	}
	if got, want := c.OutputDir, "/srv/keysync/reports"; got != want {
		t.Errorf("output_dir = %q, want %q", got, want)
	}
	if got, want := c.Sources["A"].Path, filepath.Join(c.Dir, "exports", "A.csv"); got != want {
		t.Errorf("sources.A.path = %q, want %q", got, want)
	}
	for _, tt := range []struct{ field, yaml string }{
		{"database", "database: ${KS_UNSET_DB}/k.db\n" + twoSources},
		{"output_dir", "output_dir: ${KS_UNSET_OUT}\n" + twoSources},
		{"sources.A.path", "sources:\n  A: { type: csv, path: \"${KS_UNSET_IN}/A.csv\" }\n  B: { type: csv, path: b.csv }\n"},
	} {
		t.Run(tt.field, func(t *testing.T) {
			_, err := config.Parse(strings.NewReader(tt.yaml), t.TempDir())
			e := mustConfigError(t, err, tt.field)
			if !strings.Contains(e.Error(), "KS_UNSET_") || !strings.Contains(e.Error(), "is not set") {
				t.Errorf("error %q does not name the unset variable", e)
			}
		})
	}
}
