package app

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// opsRunScoped are the reports that belong to one run; the registry and the
// audit log are written as they are when the report is made.
var opsRunScoped = []string{
	"reconciliation_summary.csv", "diff_missing_in_A.csv", "diff_missing_from_system.csv",
	"exceptions.csv", "rejected_rows.csv",
}

// opsSnapshot reads every file of dir (not of its subdirectories).
func opsSnapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}

func TestReportRewritesAPastRun(t *testing.T) {
	o := newSyncedCase(t)
	run1 := opsSnapshot(t, o.path("output"))
	// Run 2 differs in every run-scoped report.
	o.write("A.csv", "source_key\nK-1\nK-2\nK-3\nK-3\n")
	o.write("B.csv", "source_key\nk-1\nx-1\n#\n")
	o.write("C.csv", "source_key\nK-2\ny.1\n")
	o.ok("sync")
	o.ok("registry approve", "--by", "alice", "X-2")
	run2 := opsSnapshot(t, o.path("output"))
	for _, name := range opsRunScoped {
		if run1[name] == run2[name] {
			t.Fatalf("fixture: run 2's %s equals run 1's", name)
		}
	}

	dir := o.path("past")
	out := o.ok("report", "--run", "1", "--output", dir)
	var want []string
	for _, n := range []string{"reconciliation_summary", "diff_missing_in_A", "diff_missing_from_system",
		"master_key_registry", "audit_log", "exceptions", "rejected_rows"} {
		want = append(want, filepath.Join(dir, n+".csv"))
	}
	opsWant(t, "stdout", out, strings.Join(want, "\n")+"\n")
	got := opsSnapshot(t, dir)
	if len(got) != 7 {
		t.Errorf("report wrote %d files, want the 7 CSV reports: %v", len(got), slices.Sorted(maps.Keys(got)))
	}
	for _, name := range opsRunScoped {
		if got[name] != run1[name] {
			t.Errorf("%s of run 1:\n got %q\nwant %q", name, got[name], run1[name])
		}
	}
	// The registry as it is now (X-2 approved after run 2), and the whole
	// audit log, alice's approval included.
	if !strings.Contains(got["master_key_registry.csv"], "X-2,B,x 2,Active,") {
		t.Errorf("master_key_registry.csv is not the registry as it is now:\n%s", got["master_key_registry.csv"])
	}
	if !strings.Contains(got["audit_log.csv"], "alice") {
		t.Errorf("audit_log.csv is not the whole log as it is now:\n%s", got["audit_log.csv"])
	}

	// Without --output it writes into the config's output_dir: rewriting the
	// latest run there reproduces the sync's files byte for byte, once the
	// registry and audit log are the same (nothing changed since the approval).
	o.ok("sync")
	latest := opsSnapshot(t, o.path("output"))
	for _, f := range []string{"reconciliation_summary.csv", "diff_missing_in_A.csv"} {
		if err := os.Remove(o.path("output/" + f)); err != nil {
			t.Fatal(err)
		}
	}
	o.ok("report", "--run", "3")
	opsWant(t, "output/ after report --run 3", opsSnapshot(t, o.path("output")), latest)
}

func TestReportFormats(t *testing.T) {
	o := newSyncedCase(t)
	dir := o.path("json")
	out := o.ok("report", "--run", "1", "--output", dir, "--format", "json")
	files := opsSnapshot(t, dir)
	if len(files) != 14 || strings.Count(out, "\n") != 14 {
		t.Errorf("--format json: %d files, %d lines of stdout; want 14 of each\n%s", len(files), strings.Count(out, "\n"), out)
	}
	if !strings.HasPrefix(files["diff_missing_in_A.json"], "[\n  {\n    \"run_id\": 1,") {
		t.Errorf("diff_missing_in_A.json:\n%s", files["diff_missing_in_A.json"])
	}

	// The config's output.formats are honoured, as a sync honours them: JSON
	// as well as CSV, which is always written (SPEC §7: json "also").
	o.write("keysync-config.yaml", opsConfig+"output:\n  formats: [json]\n")
	dir = o.path("config-json")
	o.ok("report", "--run", "1", "--output", dir)
	files = opsSnapshot(t, dir)
	if len(files) != 14 || files["audit_log.json"] == "" || files["audit_log.csv"] == "" {
		t.Errorf("output.formats [json]: wrote %d files, want the 7 CSV and the 7 JSON reports", len(files))
	}

	// With --db and --output the config is not read at all: CSV.
	dir = o.path("no-config")
	r := o.raw("report", "--config", o.path("missing.yaml"), "--db", o.db(), "--run", "1", "--output", dir)
	if r.code != 0 || len(opsSnapshot(t, dir)) != 7 {
		t.Errorf("report --db --output without a config: exit %d (%v)", r.code, r.err)
	}
}

func TestReportErrors(t *testing.T) {
	o := newSyncedCase(t)
	o.write("A.csv", "source_key\nK-1\n")
	o.ok("sync", "--dry-run")  // run 2: a dry run is a run with reports
	os.Remove(o.path("C.csv")) // run 3 fails
	if r := o.run("sync"); r.code != ExitFailed {
		t.Fatalf("sync without C.csv: exit %d, want 1", r.code)
	}
	o.write("C.csv", opsC)
	o.ok("report", "--run", "2", "--output", o.path("dry"))
	if s := o.read("dry/diff_missing_from_system.csv"); strings.Contains(s, "K-2") {
		t.Errorf("report of dry run 2 shows run 1's K-2:\n%s", s)
	}

	out := o.path("out")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"no --run", []string{"--output", out}, ExitUsage, []string{"--run"}},
		{"run 0", []string{"--run", "0", "--output", out}, ExitUsage, []string{"0"}},
		{"not a number", []string{"--run", "last", "--output", out}, ExitUsage, []string{"last"}},
		{"unknown run", []string{"--run", "99", "--output", out}, ExitUsage, []string{"no run 99"}},
		{"failed run", []string{"--run", "3", "--output", out}, ExitUsage, []string{"run 3", "did not succeed", "failed"}},
		{"an argument", []string{"--run", "1", "--output", out, "extra"}, ExitUsage, []string{"no arguments"}},
		{"bad format", []string{"--run", "1", "--output", out, "--format", "xml"}, ExitUsage, []string{`"xml"`}},
	} {
		opsFails(t, tc.name, o.run("report", tc.args...), tc.code, tc.want...)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a refused report created %s", out)
	}

	o.ok("sync")                      // run 4: the newest normal run, kept
	o.ok("prune", "--keep-runs", "1") // prunes runs 1 and 2
	opsFails(t, "pruned run", o.run("report", "--run", "1", "--output", out), ExitUsage, "run 1", "pruned")
	opsFails(t, "pruned dry run", o.run("report", "--run", "2", "--output", out), ExitUsage, "run 2", "pruned")
	o.ok("report", "--run", "4", "--output", out)

	o.holdLock()
	opsFails(t, "lock held", o.run("report", "--run", "4", "--output", out), ExitLocked, "another keysync run")
}

func TestReportEmptyAndMissingDatabase(t *testing.T) {
	o := newOpsCase(t)
	opsFails(t, "no database", o.run("report", "--run", "1", "--output", o.path("out")), ExitUsage, "no database")
	if _, err := os.Stat(o.db()); !os.IsNotExist(err) {
		t.Errorf("report created the database it did not find: %v", err)
	}
	o.ok("db init")
	opsFails(t, "empty database", o.run("report", "--run", "1", "--output", o.path("out")), ExitUsage, "no run 1")
}

// TestReportOfADryRun: without --output, a dry run's reports are rewritten
// where the dry run wrote them, output_dir/dry-run/, never over the nightly
// reports of output_dir.
func TestReportOfADryRun(t *testing.T) {
	o := newSyncedCase(t)
	o.write("C.csv", "source_key\nK-2\ny.1\n")
	o.ok("sync", "--dry-run") // run 2
	nightly := opsSnapshot(t, o.path("output"))
	dry := opsSnapshot(t, o.path("output/dry-run"))
	if nightly["reconciliation_summary.csv"] == dry["reconciliation_summary.csv"] {
		t.Fatal("fixture: the dry run's summary equals the nightly one")
	}
	if err := os.RemoveAll(o.path("output/dry-run")); err != nil {
		t.Fatal(err)
	}
	o.ok("report", "--run", "2")
	if got := opsSnapshot(t, o.path("output/dry-run")); !maps.Equal(got, dry) {
		t.Errorf("report --run 2 wrote into output/dry-run:\n%v\nwant the dry run's own reports:\n%v", got, dry)
	}
	if got := opsSnapshot(t, o.path("output")); !maps.Equal(got, nightly) {
		t.Errorf("report of a dry run changed the nightly reports in output/")
	}
}
