package app

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// histFindingLines renders findings CSV rows as "run kind system key".
func histFindingLines(rows []map[string]string) []string {
	out := []string{}
	for _, r := range rows {
		out = append(out, r["run_id"]+" "+r["kind"]+" "+r["system"]+" "+r["key"])
	}
	return out
}

func TestFindings(t *testing.T) {
	f := newHistory(t)
	for _, tt := range []struct {
		name string
		args []string
		want []string
	}{
		// The default is the latest succeeded normal run, 2, whose reports
		// the output directory holds; the dry run 4 only through --run.
		{"latest", nil, []string{"2 duplicate B X", "2 missing_from_system B K3", "2 missing_in_A B X"}},
		{"dry run 4", []string{"--run", "4"}, []string{"4 duplicate B Z", "4 missing_from_system B K3", "4 missing_in_A B X", "4 missing_in_A B Z"}},
		{"run 2", []string{"--run", "2"}, []string{"2 duplicate B X", "2 missing_from_system B K3", "2 missing_in_A B X"}},
		{"kind", []string{"--run", "1", "--kind", "missing_in_A"}, []string{"1 missing_in_A B X", "1 missing_in_A B Y"}},
		{"system in any case", []string{"--run", "1", "--system", "b", "--kind", "missing_from_system"}, []string{"1 missing_from_system B K2", "1 missing_from_system B K3"}},
		{"the authority has none", []string{"--system", "A"}, []string{}},
		{"no conflicts", []string{"--kind", "master_key_conflict"}, []string{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := f.cmd("findings", append([]string{"--format", "csv"}, tt.args...)...)
			histExit(t, r, 0)
			header, rows := histCSV(t, r.stdout)
			histWant(t, "header", header, []string{"run_id", "kind", "system", "key", "source_key", "master_key",
				"status", "entity_type", "location_ref", "last_seen_at", "count", "detail", "cause"})
			histWant(t, "findings", histFindingLines(rows), tt.want)
		})
	}

	r := f.cmd("findings", "--run", "2", "--kind", "duplicate", "--format", "json")
	histExit(t, r, 0)
	var js []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil {
		t.Fatal(err)
	}
	if len(js) != 1 || js[0]["count"] != float64(2) || js[0]["detail"] != "X | x" {
		t.Errorf("duplicate of run 2 = %v, want count 2 and detail %q", js, "X | x")
	}

	r = f.cmd("findings", "--run", "1", "--format", "table")
	histExit(t, r, 0)
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != 5 || !strings.HasPrefix(lines[0], "run_id") {
		t.Errorf("table: want a header and 4 findings:\n%s", r.stdout)
	}
	r = f.cmd("findings", "--system", "A", "--format", "table")
	histExit(t, r, 0)
	if r.stdout != "" || !strings.Contains(r.stderr, "no findings") {
		t.Errorf("no findings (table): stdout %q stderr %q, want a note on stderr only", r.stdout, r.stderr)
	}
}

// TestFindingsMatchReports: the findings of the latest run are the rows of
// its reports, with the same field names and values.
func TestFindingsMatchReports(t *testing.T) {
	f := newHistory(t)
	report := func(name string) []map[string]string {
		b, err := os.ReadFile(f.path("output/" + name))
		if err != nil {
			t.Fatal(err)
		}
		_, rows := histCSV(t, string(b))
		return rows
	}
	for _, tt := range []struct {
		report string
		kinds  []string
	}{
		{"diff_missing_in_A.csv", []string{"missing_in_A"}},
		{"diff_missing_from_system.csv", []string{"missing_from_system"}},
		{"exceptions.csv", []string{"duplicate", "master_key_conflict"}},
	} {
		want := report(tt.report)
		var got []map[string]string
		for _, k := range tt.kinds {
			_, rows := histCSV(t, f.cmd("findings", "--kind", k, "--format", "csv").stdout)
			got = append(got, rows...)
		}
		if len(want) == 0 {
			t.Fatalf("%s is empty: the comparison proves nothing", tt.report)
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d rows, findings gave %d", tt.report, len(want), len(got))
			continue
		}
		for i := range want {
			for col, v := range want[i] {
				if g, ok := got[i][col]; !ok || g != v {
					t.Errorf("%s row %d column %s: report %q, findings %q", tt.report, i+1, col, v, g)
				}
			}
		}
	}
}

func TestFindingsErrors(t *testing.T) {
	f := newHistory(t)
	for _, tt := range []struct {
		name string
		args []string
		want []string
	}{
		{"bad kind", []string{"--kind", "missing"}, []string{`"missing"`, "missing_in_A", "master_key_conflict"}},
		{"unknown run", []string{"--run", "99"}, []string{"run 99", "not in the database"}},
		{"failed run", []string{"--run", "3"}, []string{"run 3 is failed", "B.csv", "no findings"}},
		{"unknown system", []string{"--system", "Q"}, []string{`"Q"`, "A, B"}},
		{"argument", []string{"B"}, []string{`"B"`}},
		{"run not a number", []string{"--run", "x"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			histExit(t, f.cmd("findings", tt.args...), ExitUsage, tt.want...)
		})
	}
}
