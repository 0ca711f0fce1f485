package main

// Subprocess tests of issue [safe-defaults] points 1, 2 and 4 on the built
// binary: the default guards stop a broken export before it reaches the
// registry, an unchanged export is noticed, and a dry run never touches the
// nightly reports.

import (
	"encoding/csv"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// stderrLine is the first line of stderr holding every one of words, or "".
func stderrLine(stderr string, words ...string) string {
	for _, line := range strings.Split(stderr, "\n") {
		ok := true
		for _, w := range words {
			if !strings.Contains(line, w) {
				ok = false
				break
			}
		}
		if ok {
			return line
		}
	}
	return ""
}

// TestHeaderOnlyAuthorityBlocked: the authority's export job failed and left
// a header-only A.csv. Without any safety: section the run is blocked (exit
// 4) before anything reaches the registry or the reports; --force then runs.
func TestHeaderOnlyAuthorityBlocked(t *testing.T) {
	dir := t.TempDir()
	writeSmall(t, dir) // no safety: section
	mustRun(t, dir, "sync")
	snap := takeSnapshot(t, dir)
	if len(snap.registry) == 0 {
		t.Fatal("the first run registered nothing: the test would prove nothing")
	}
	writeFile(t, dir, "input/A.csv", "source_key\n")

	r := runKeysync(t, dir, "sync")
	if r.code != 4 {
		t.Fatalf("sync with a header-only A.csv: exit %d, want 4; stderr:\n%s", r.code, r.stderr)
	}
	last := lastLine(r.stderr)
	for _, w := range []string{"keysync: ", "min_rows", `"A"`, "--force"} {
		if !strings.Contains(last, w) {
			t.Errorf("last stderr line %q does not name %q", last, w)
		}
	}
	db := openRO(t, filepath.Join(dir, "keysync.db"))
	blocked := snap.lastRun + 1
	if got := runStatus(filepath.Join(dir, "keysync.db"), blocked); got != "blocked" {
		t.Errorf("run %d has status %q, want blocked", blocked, got)
	}
	snap.checkOnlyRunLog(t, db, dir, blocked, "run_blocked", "blocked")

	r = runKeysync(t, dir, "sync", "--force")
	if r.code != 0 {
		t.Fatalf("sync --force: exit %d, want 0; stderr:\n%s", r.code, r.stderr)
	}
	if stderrLine(r.stderr, "safety guard overridden by --force", "min_rows") == "" {
		t.Errorf("the forced run does not log the guard it overrode; stderr:\n%s", r.stderr)
	}
	if got := runStatus(filepath.Join(dir, "keysync.db"), blocked+1); got != "succeeded" {
		t.Errorf("the forced run %d has status %q, want succeeded", blocked+1, got)
	}
}

// TestDryRunLeavesNightlyReports: a dry run writes its reports to
// output/dry-run/; output/ stays byte for byte as the last normal run left
// it, and that normal run stays "the latest run".
func TestDryRunLeavesNightlyReports(t *testing.T) {
	dir := t.TempDir()
	writeSmall(t, dir)
	mustRun(t, dir, "sync", "--format", "json")
	nightly := readDir(t, filepath.Join(dir, "output"))
	if len(nightly) != 14 {
		t.Fatalf("the normal run wrote %d reports, want 14", len(nightly))
	}
	writeFile(t, dir, "input/B.csv", "source_key\nk1\nk2\nk4\n") // the dry run's reports differ
	mustRun(t, dir, "sync", "--dry-run", "--format", "json")

	sameFiles(t, readDir(t, filepath.Join(dir, "output")), nightly)
	dry := readDir(t, filepath.Join(dir, "output", "dry-run"))
	if len(dry) != 14 {
		t.Errorf("the dry run wrote %d reports into output/dry-run, want 14", len(dry))
	}
	if s := string(dry["diff_missing_in_A.csv"]); !strings.Contains(s, "\n2,B,k4,K4,") {
		t.Errorf("output/dry-run/diff_missing_in_A.csv is not run 2's:\n%s", s)
	}

	db := openRO(t, filepath.Join(dir, "keysync.db"))
	if got := dump(t, db, `SELECT DISTINCT run_id, mode FROM v_latest_run_summary`); !reflect.DeepEqual(got, []string{"1 | normal"}) {
		t.Errorf("v_latest_run_summary shows %q, want the normal run 1", got)
	}
	r := mustRun(t, dir, "findings", "--format", "csv")
	if !strings.Contains(r.stdout, "\n1,missing_in_A,B,K3,") || strings.Contains(r.stdout, "\n2,") {
		t.Errorf("findings without --run is not the normal run 1:\n%s", r.stdout)
	}
	r = mustRun(t, dir, "findings", "--run", "2", "--format", "csv")
	if !strings.Contains(r.stdout, "\n2,missing_in_A,B,K4,") {
		t.Errorf("findings --run 2 does not show the dry run:\n%s", r.stdout)
	}

	// --output names where a dry run writes.
	mustRun(t, dir, "sync", "--dry-run", "--output", "elsewhere")
	if got := readDir(t, filepath.Join(dir, "elsewhere")); len(got) != 7 {
		t.Errorf("sync --dry-run --output elsewhere wrote %d reports there, want 7", len(got))
	}
	sameFiles(t, readDir(t, filepath.Join(dir, "output")), nightly)
}

// TestUnchangedExport: an input byte-identical to the previous succeeded
// normal run's is logged as a warning naming that run, runs show says since
// when, and max_unchanged_runs blocks a stuck export job.
func TestUnchangedExport(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "keysync.db")
	writeSmall(t, dir)
	r := mustRun(t, dir, "sync") // run 1
	if line := stderrLine(r.stderr, "input unchanged"); line != "" {
		t.Errorf("the first run warns of an unchanged input: %s", line)
	}
	r = mustRun(t, dir, "sync") // run 2: both inputs as in run 1
	for _, sys := range []string{"A", "B"} {
		if stderrLine(r.stderr, "level=WARN", "input unchanged since the previous run", "system="+sys, "previous_run=1") == "" {
			t.Errorf("run 2 does not warn that %s is unchanged since run 1; stderr:\n%s", sys, r.stderr)
		}
	}
	r = mustRun(t, dir, "runs", "show", "--format", "csv", "2")
	recs, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil || len(recs) != 3 {
		t.Fatalf("runs show 2 --format csv: %v\n%s", err, r.stdout)
	}
	col := slices.Index(recs[0], "unchanged_since")
	if col < 0 || recs[1][col] != "1" || recs[2][col] != "1" {
		t.Errorf("runs show 2 does not say both inputs are unchanged since run 1:\n%s", r.stdout)
	}

	// A new B.csv: only A is unchanged.
	writeFile(t, dir, "input/B.csv", "source_key\nk2\nk3\nk5\n")
	r = mustRun(t, dir, "sync") // run 3
	if stderrLine(r.stderr, "input unchanged", "system=B") != "" || stderrLine(r.stderr, "input unchanged", "system=A", "previous_run=2") == "" {
		t.Errorf("run 3: want a warning for A (previous run 2) only; stderr:\n%s", r.stderr)
	}

	// A has been the same in runs 1, 2 and 3: more than 2.
	writeFile(t, dir, "keysync-config.yaml", smallConfig+"safety: { max_unchanged_runs: 2 }\n")
	writeFile(t, dir, "input/B.csv", "source_key\nk2\nk3\nk6\n")
	snap := takeSnapshot(t, dir)
	r = runKeysync(t, dir, "sync") // run 4
	if r.code != 4 {
		t.Fatalf("sync with A unchanged for 3 runs, max_unchanged_runs 2: exit %d, want 4; stderr:\n%s", r.code, r.stderr)
	}
	last := lastLine(r.stderr)
	for _, w := range []string{"max_unchanged_runs", `"A"`, "3", "run 1"} {
		if !strings.Contains(last, w) {
			t.Errorf("last stderr line %q does not name %q", last, w)
		}
	}
	snap.checkOnlyRunLog(t, openRO(t, dbPath), dir, 4, "run_blocked", "blocked")

	// A forced run counts as a succeeded run: the streak goes on, and the
	// next night blocks again until the export changes.
	mustRun(t, dir, "sync", "--force")                // run 5
	if r := runKeysync(t, dir, "sync"); r.code != 4 { // run 6
		t.Errorf("the run after a forced one: exit %d, want 4 (A unchanged since run 1)", r.code)
	}
	writeFile(t, dir, "input/A.csv", "source_key\nk1\nk2\nk7\n")
	r = mustRun(t, dir, "sync") // run 7
	if line := stderrLine(r.stderr, "input unchanged", "system=A"); line != "" {
		t.Errorf("run 7 read a new A.csv but warns: %s", line)
	}
	if got := runStatus(dbPath, 7); got != "succeeded" {
		t.Errorf("run 7 has status %q, want succeeded", got)
	}
}
