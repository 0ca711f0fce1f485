package app

import (
	"os"
	"strings"
	"testing"
)

// opsKept is what prune must never change: the run log, the summaries, the
// registry and the audit log, row by row.
func opsKept(o *opsCase) []string {
	o.t.Helper()
	var out []string
	for _, q := range []string{
		`SELECT 'runs', * FROM runs ORDER BY run_id`,
		`SELECT 'run_systems', * FROM run_systems ORDER BY run_id, system`,
		`SELECT 'registry', * FROM master_key_registry ORDER BY master_key`,
		`SELECT 'audit', * FROM audit_log ORDER BY event_id`,
	} {
		out = append(out, o.query(q)...)
	}
	return out
}

// opsPerRun counts the findings and rejected rows of each run: "run findings rejected".
func opsPerRun(o *opsCase) []string {
	o.t.Helper()
	return o.query(`SELECT run_id || ' ' ||
		(SELECT COUNT(*) FROM findings f WHERE f.run_id = r.run_id) || ' ' ||
		(SELECT COUNT(*) FROM rejected_rows j WHERE j.run_id = r.run_id)
		FROM runs r ORDER BY run_id`)
}

func TestPrune(t *testing.T) {
	o := newSyncedCase(t)      // run 1
	o.ok("sync")               // run 2
	os.Remove(o.path("C.csv")) // run 3 fails
	if r := o.run("sync"); r.code != ExitFailed {
		t.Fatalf("sync without C.csv: exit %d", r.code)
	}
	o.write("C.csv", opsC)
	o.ok("sync", "--dry-run") // run 4
	kept := opsKept(o)
	before := opsPerRun(o)
	// Every succeeded run has 7 findings (3 missing_in_A, 3 missing_from_system,
	// 1 duplicate) and 1 rejected row.
	opsWant(t, "fixture", before, []string{"1 7 1", "2 7 1", "3 0 0", "4 7 1"})

	opsWant(t, "keep 3", o.ok("prune", "--keep-runs", "3"), "nothing to prune: no findings or rejected rows before run 1\n")
	opsWant(t, "after keep 3", opsPerRun(o), before)

	// Neither the failed run 3 nor the dry run 4 takes a place: the newest two
	// succeeded normal runs are 1 and 2, and nothing goes.
	opsWant(t, "keep 2", o.ok("prune", "--keep-runs", "2"), "nothing to prune: no findings or rejected rows before run 1\n")
	opsWant(t, "after keep 2", opsPerRun(o), before)

	// Keep 1: run 1 goes; the dry run 4, after the kept run 2, stays.
	opsWant(t, "keep 1", o.ok("prune", "--keep-runs", "1"), "removed 7 findings and 1 rejected rows of 1 runs before run 2\n")
	opsWant(t, "after keep 1", opsPerRun(o), []string{"1 0 0", "2 7 1", "3 0 0", "4 7 1"})
	opsWant(t, "keep 1 again", o.ok("prune", "--keep-runs", "1"), "nothing to prune: no findings or rejected rows before run 2\n")
	opsWant(t, "kept tables after keep 1", opsKept(o), kept)

	// The kept run still reports, the history commands still work, and the
	// next sync is not disturbed.
	o.ok("report", "--run", "4", "--output", o.path("run4"))
	o.ok("findings", "--run", "4")
	o.ok("findings", "--run", "2")
	o.ok("sync")
	opsWant(t, "after the next sync", opsPerRun(o), []string{"1 0 0", "2 7 1", "3 0 0", "4 7 1", "5 7 1"})
}

func TestPruneErrors(t *testing.T) {
	o := newSyncedCase(t)
	o.ok("sync")
	before := opsPerRun(o)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing --keep-runs", nil, "--keep-runs N is required"},
		{"zero", []string{"--keep-runs", "0"}, "at least 1"},
		{"negative", []string{"--keep-runs", "-3"}, "at least 1"},
		{"not a number", []string{"--keep-runs", "all"}, "all"},
		{"an argument", []string{"--keep-runs", "1", "now"}, "no arguments"},
	} {
		opsFails(t, tc.name, o.run("prune", tc.args...), ExitUsage, tc.want)
	}
	opsFails(t, "bad config", o.raw("prune", "--config", o.path("nope.yaml"), "--keep-runs", "1"), ExitUsage, "nope.yaml")
	o.holdLock()
	opsFails(t, "lock held", o.run("prune", "--keep-runs", "1"), ExitLocked, "another keysync run holds the database")
	opsWant(t, "after refused prunes", opsPerRun(o), before)
}

func TestPruneEmptyAndMissingDatabase(t *testing.T) {
	o := newOpsCase(t)
	opsFails(t, "no database", o.run("prune", "--keep-runs", "1"), ExitUsage, "no database")
	if _, err := os.Stat(o.db()); !os.IsNotExist(err) {
		t.Errorf("prune created the database it did not find: %v", err)
	}
	o.ok("db init")
	opsWant(t, "empty database", o.ok("prune", "--keep-runs", "1"), "no succeeded normal run yet: nothing to prune\n")

	// Only failed runs: nothing to keep, nothing to remove.
	os.Remove(o.path("B.csv"))
	if r := o.run("sync"); r.code != ExitFailed {
		t.Fatalf("sync without B.csv: exit %d", r.code)
	}
	if out := o.ok("prune", "--keep-runs", "5"); !strings.HasPrefix(out, "no succeeded normal run yet") {
		t.Errorf("prune with only a failed run: %q", out)
	}
}
