package app

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/sqlite"
)

// histChangeLines renders changes CSV rows as
// "change kind system key first=R runs=N days=D".
func histChangeLines(rows []map[string]string) []string {
	out := []string{}
	for _, r := range rows {
		out = append(out, fmt.Sprintf("%s %s %s %s first=%s runs=%s days=%s",
			r["change"], r["kind"], r["system"], r["key"], r["first_seen_run"], r["age_runs"], r["age_days"]))
	}
	return out
}

func TestChanges(t *testing.T) {
	f := newHistory(t)
	for _, tt := range []struct {
		name     string
		args     []string
		run      string
		baseline string
		want     []string
	}{
		// The default is the latest succeeded normal run, 2, against run 1.
		{"latest", nil, "2", "1", []string{
			"new duplicate B X first=2 runs=1 days=0",
			"resolved missing_from_system B K2 first=1 runs=1 days=0",
			"resolved missing_in_A B Y first=1 runs=1 days=0",
			"open missing_from_system B K3 first=1 runs=2 days=1",
			"open missing_in_A B X first=1 runs=2 days=1",
		}},
		// The dry run 4, only through --run, against run 2, the newest
		// succeeded normal run before it (run 3 failed). X has been missing
		// in A since run 1.
		{"dry run 4", []string{"--run", "4"}, "4", "2", []string{
			"new duplicate B Z first=4 runs=1 days=0",
			"new missing_in_A B Z first=4 runs=1 days=0",
			"resolved duplicate B X first=2 runs=1 days=0",
			"open missing_from_system B K3 first=1 runs=3 days=3",
			"open missing_in_A B X first=1 runs=3 days=3",
		}},
		{"run 2", []string{"--run", "2"}, "2", "1", []string{
			"new duplicate B X first=2 runs=1 days=0",
			"resolved missing_from_system B K2 first=1 runs=1 days=0",
			"resolved missing_in_A B Y first=1 runs=1 days=0",
			"open missing_from_system B K3 first=1 runs=2 days=1",
			"open missing_in_A B X first=1 runs=2 days=1",
		}},
		// The first run has nothing to compare with: everything is new.
		{"run 1", []string{"--run", "1"}, "1", "", []string{
			"new missing_from_system B K2 first=1 runs=1 days=0",
			"new missing_from_system B K3 first=1 runs=1 days=0",
			"new missing_in_A B X first=1 runs=1 days=0",
			"new missing_in_A B Y first=1 runs=1 days=0",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := f.cmd("changes", append([]string{"--format", "csv"}, tt.args...)...)
			histExit(t, r, 0)
			header, rows := histCSV(t, r.stdout)
			histWant(t, "header", header, []string{"run_id", "baseline_run_id", "change", "kind", "system", "key",
				"master_key", "status", "first_seen_run", "first_seen_at", "age_runs", "age_days"})
			histWant(t, "changes", histChangeLines(rows), tt.want)
			for _, row := range rows {
				if row["run_id"] != tt.run || row["baseline_run_id"] != tt.baseline {
					t.Errorf("row %v: run_id %s baseline_run_id %s, want %s and %q", row, row["run_id"], row["baseline_run_id"], tt.run, tt.baseline)
				}
			}
		})
	}

	// The registry status of an open missing_in_A finding shows what to do:
	// X was approved by alice.
	_, rows := histCSV(t, f.cmd("changes", "--format", "csv").stdout)
	for _, row := range rows {
		if row["kind"] == "missing_in_A" && row["key"] == "X" && (row["status"] != "Active" || row["master_key"] != "X") {
			t.Errorf("open X: master_key %q status %q, want X Active", row["master_key"], row["status"])
		}
		if row["first_seen_run"] == "1" && row["first_seen_at"] != "2024-06-01T02:00:00Z" {
			t.Errorf("first_seen_at of run 1 = %q", row["first_seen_at"])
		}
	}

	r := f.cmd("changes", "--run", "1", "--format", "json")
	histExit(t, r, 0)
	var js []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil {
		t.Fatal(err)
	}
	if len(js) != 4 || js[0]["baseline_run_id"] != nil || js[0]["age_runs"] != float64(1) {
		t.Errorf("json of run 1: want 4 rows with a null baseline_run_id, got %v", js)
	}
}

func TestChangesTable(t *testing.T) {
	f := newHistory(t)
	r := f.cmd("changes", "--format", "table")
	histExit(t, r, 0)
	if want := "run 2 (normal, 2024-06-02T02:00:00Z) compared with run 1 (normal, 2024-06-01T02:00:00Z)"; !strings.HasPrefix(r.stdout, want) {
		t.Errorf("changes (the latest normal run): table does not start with %q:\n%s", want, r.stdout)
	}
	r = f.cmd("changes", "--run", "4", "--format", "table")
	histExit(t, r, 0)
	want := []string{
		"run 4 (dry-run, 2024-06-04T02:00:00Z) compared with run 2 (normal, 2024-06-02T02:00:00Z)",
		"2 new, 1 resolved, 2 still open",
		"New (2)",
		"Resolved (1)",
		"run 2, 2024-06-02T02:00:00Z  1 run, 0 days",
		"Still open, oldest first (2)",
		"run 1, 2024-06-01T02:00:00Z  3 runs, 3 days",
	}
	last := -1
	for _, w := range want {
		i := strings.Index(r.stdout, w)
		if i < 0 {
			t.Errorf("table lacks %q:\n%s", w, r.stdout)
			continue
		}
		if i < last {
			t.Errorf("%q is out of order:\n%s", w, r.stdout)
		}
		last = i
	}
	r = f.cmd("changes", "--run", "1", "--format", "table")
	if !strings.Contains(r.stdout, "run 1 (normal, 2024-06-01T02:00:00Z): no earlier successful normal run, so every finding is new") ||
		strings.Contains(r.stdout, "Resolved") || strings.Contains(r.stdout, "Still open") {
		t.Errorf("run 1 table: want only new findings under the no-baseline heading:\n%s", r.stdout)
	}
}

// TestChangesDryRunIsNoBaseline: a normal run after a dry run is compared
// with the normal run before the dry run, and ages skip the dry run.
func TestChangesDryRunIsNoBaseline(t *testing.T) {
	f := newHistory(t)
	f.inputs([]string{"K1", "K2", "K3"}, []string{"K1", "K2", "X", "Z"})
	f.sync(5, 0) // run 5
	r := f.cmd("changes", "--format", "csv")
	histExit(t, r, 0)
	_, rows := histCSV(t, r.stdout)
	histWant(t, "changes of run 5", histChangeLines(rows), []string{
		"new missing_in_A B Z first=5 runs=1 days=0",
		"resolved duplicate B X first=2 runs=1 days=0",
		"open missing_from_system B K3 first=1 runs=3 days=4",
		"open missing_in_A B X first=1 runs=3 days=4",
	})
	if len(rows) > 0 && rows[0]["baseline_run_id"] != "2" {
		t.Errorf("baseline of run 5 = %s, want 2 (run 4 was a dry run)", rows[0]["baseline_run_id"])
	}
}

func TestChangesErrors(t *testing.T) {
	f := newHistory(t)
	for _, tt := range []struct {
		name string
		args []string
		want []string
	}{
		{"unknown run", []string{"--run", "42"}, []string{"run 42", "not in the database"}},
		{"failed run", []string{"--run", "3"}, []string{"run 3 is failed", "B.csv"}},
		{"argument", []string{"4"}, []string{`"4"`}},
		{"bad format", []string{"--format", "yaml"}, []string{"yaml"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			histExit(t, f.cmd("changes", tt.args...), ExitUsage, tt.want...)
		})
	}
}

func TestCompareFindingsOrder(t *testing.T) {
	aged := func(kind keysync.FindingKind, key string, first, runs int64) sqlite.AgedFinding {
		return sqlite.AgedFinding{Kind: kind, System: "B", Key: key, FirstSeenRun: first, AgeRuns: runs}
	}
	current := []sqlite.AgedFinding{
		aged(keysync.KindMissingInA, "A1", 3, 2),
		aged(keysync.KindMissingInA, "N", 5, 1),
		aged(keysync.KindDuplicate, "A2", 1, 4),
		aged(keysync.KindMissingFromSystem, "A3", 3, 2),
	}
	previous := []sqlite.AgedFinding{
		aged(keysync.KindMissingInA, "A1", 3, 1),
		aged(keysync.KindMissingInA, "R", 2, 2),
		aged(keysync.KindDuplicate, "A2", 1, 3),
		aged(keysync.KindMissingFromSystem, "A3", 3, 1),
		aged(keysync.KindDuplicate, "R", 4, 1),
	}
	got := []string{}
	for _, r := range compareFindings(5, 4, current, previous) {
		got = append(got, fmt.Sprintf("%s %s %s %d", r.Change, r.Kind, r.Key, r.AgeRuns))
	}
	histWant(t, "rows", got, []string{
		"new missing_in_A N 1",
		"resolved duplicate R 1",
		"resolved missing_in_A R 2",
		"open duplicate A2 4",
		"open missing_from_system A3 2",
		"open missing_in_A A1 2",
	})
}

// TestHistoryAfterPrune: a run whose findings prune deleted is refused by
// name, never shown as a clean run; changes needs its baseline's findings.
func TestHistoryAfterPrune(t *testing.T) {
	f := newHistory(t)
	// Keep run 2 (the newest succeeded normal run) and the dry run 4 after
	// it: run 1 is pruned.
	histExit(t, f.cmd("prune", "--keep-runs", "1"), 0)
	histExit(t, f.cmd("findings", "--run", "1"), ExitUsage, "run 1 were pruned")
	histExit(t, f.cmd("changes", "--run", "2"), ExitUsage, "run 2 is compared with run 1", "pruned")
	histExit(t, f.cmd("findings", "--run", "2", "--format", "csv"), 0)
	// Run 4 against run 2 still works; ages reach back to run 2 only.
	r := f.cmd("changes", "--run", "4", "--format", "csv")
	histExit(t, r, 0)
	_, rows := histCSV(t, r.stdout)
	histWant(t, "changes after prune", histChangeLines(rows), []string{
		"new duplicate B Z first=4 runs=1 days=0",
		"new missing_in_A B Z first=4 runs=1 days=0",
		"resolved duplicate B X first=2 runs=1 days=0",
		"open missing_from_system B K3 first=2 runs=2 days=2",
		"open missing_in_A B X first=2 runs=2 days=2",
	})

	// Dry runs take no place among the kept, so the latest normal run and
	// its baseline for the dry run 4 are never pruned away from each other.
	histExit(t, f.cmd("prune", "--keep-runs", "1"), 0)
	histExit(t, f.cmd("changes", "--run", "4", "--format", "csv"), 0)
	histExit(t, f.cmd("findings", "--format", "csv"), 0)
}

// TestChangesPending: a key of A that B lacked and run 1 reported is, in run
// 2, within grace_period again (A's row was seen an hour before the run):
// changes lists it as pending, not resolved, while a key B now has is
// resolved. prune takes the pending rows with the findings.
func TestChangesPending(t *testing.T) {
	f := newHistFixture(t)
	f.write("keysync-config.yaml", histConfig+"grace_period: 24h\n")
	inputs := func(k2Seen string, b ...string) {
		f.write("input/A.csv", "source_key,last_seen_at\nK1,2024-05-01\nK2,"+k2Seen+"\nK3,2024-05-01\n")
		f.write("input/B.csv", "source_key\n"+strings.Join(b, "\n")+"\n")
	}
	// Run 1 (day 1): K2 last seen a month ago, so B's lack of K2 and K3 is reported.
	inputs("2024-05-01", "K1")
	f.sync(1, 0)
	// Run 2 (day 3): K2 seen an hour ago, so pending; B now has K3.
	inputs("2024-06-03T01:00:00Z", "K1", "K3")
	f.sync(3, 0)

	r := f.cmd("changes", "--format", "csv")
	histExit(t, r, 0)
	_, rows := histCSV(t, r.stdout)
	histWant(t, "changes of run 2", histChangeLines(rows), []string{
		"pending missing_from_system B K2 first=1 runs=1 days=0",
		"resolved missing_from_system B K3 first=1 runs=1 days=0",
	})
	r = f.cmd("changes", "--format", "table")
	histExit(t, r, 0)
	for _, w := range []string{"0 new, 1 resolved, 0 still open, 1 pending", "Pending (not reported by this run",
		"missing_from_system  B       K2   K2          run 1, 2024-06-01T02:00:00Z  1 run, 0 days"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("changes table lacks %q:\n%s", w, r.stdout)
		}
	}

	// Run 3 (day 5): K2 is past the grace period again and reported. Keeping
	// one run prunes runs 1 and 2, run 2's pending row with them.
	f.sync(5, 0)
	r = f.cmd("prune", "--keep-runs", "1")
	histExit(t, r, 0)
	histWant(t, "prune", r.stdout, "removed 2 findings, 1 pending findings and 0 rejected rows of 2 runs before run 3\n")
}
