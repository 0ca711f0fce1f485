package main

// Subprocess tests of issue [safe-defaults] points 3, 5 and 7: a database is
// created only on purpose, a newer schema is refused, and the upkeep of a
// file kept for years (retention, backup, check).

import (
	"bytes"
	"database/sql"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// mustFail runs keysync, wants exit code and a last stderr line that starts
// with "keysync: " and mentions each of mention.
func mustFail(t *testing.T, dir string, code int, mention []string, args ...string) result {
	t.Helper()
	r := runKeysync(t, dir, args...)
	if r.code != code {
		t.Fatalf("keysync %q: exit %d, want %d; stderr:\n%s", args, r.code, code, r.stderr)
	}
	last := lastLine(r.stderr)
	if !strings.HasPrefix(last, "keysync: ") {
		t.Errorf("keysync %q: last stderr line %q does not start with keysync:", args, last)
	}
	for _, m := range mention {
		if !strings.Contains(last, m) {
			t.Errorf("keysync %q: last stderr line %q does not mention %q", args, last, m)
		}
	}
	return r
}

// listDir is every name under dir, recursively, relative to it.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		names = append(names, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestDBTypoRefused(t *testing.T) {
	dir := t.TempDir()
	writeSmall(t, dir)
	r := mustRun(t, dir, "sync")
	if !strings.Contains(r.stderr, `msg="created database" path=`+filepath.Join(dir, "keysync.db")) {
		t.Errorf("the first sync did not log that it created the database:\n%s", r.stderr)
	}
	before := listDir(t, dir)
	for _, db := range []string{
		filepath.Join("typo-dir", "keysnyc.db"), // the typo, in a directory that does not exist
		"keysnyc.db",                            // beside the real database
	} {
		// Every command names the database by its absolute path, and the
		// hint repeats --db as typed.
		abs := filepath.Join(dir, db)
		for _, args := range [][]string{
			{"sync", "--db", db},
			{"registry", "approve", "--db", db, "K3"},
			{"prune", "--db", db, "--keep-runs", "1"},
			{"db", "migrate", "--db", db},
			{"runs", "list", "--db", db},
		} {
			mustFail(t, dir, 2, []string{"no database at " + abs + ":", "keysync db init --db " + db + "`"}, args...)
		}
	}
	if got := listDir(t, dir); !reflect.DeepEqual(got, before) {
		t.Errorf("refused commands created files or directories:\n got %q\nwant %q", got, before)
	}
	// cron still prints its line (the database may be created after the
	// crontab), but warns that the nightly sync would exit 2 until then.
	r = mustRun(t, dir, "cron", "--db", "keysnyc.db")
	if !strings.Contains(r.stderr, "the crontab line's sync will exit 2 until the database exists") ||
		!strings.Contains(r.stderr, "no database at "+filepath.Join(dir, "keysnyc.db")) {
		t.Errorf("cron --db naming no database: no warning on stderr:\n%s", r.stderr)
	}

	// db init creates it on purpose; sync --db then uses it.
	r = mustRun(t, dir, "db", "init", "--db", "keysnyc.db")
	if !strings.HasPrefix(r.stdout, "created "+filepath.Join(dir, "keysnyc.db")+"\n") {
		t.Errorf("db init: stdout %q", r.stdout)
	}
	mustRun(t, dir, "db", "init", "--db", "keysnyc.db") // already one: exit 0
	mustRun(t, dir, "sync", "--db", "keysnyc.db")
}

// TestDirectoryAsDatabaseRefused: a --db (or database:) naming a directory
// is bad usage with a message that says so, not SQLite's "disk I/O error"
// and exit 1, and nothing is written into the directory.
func TestDirectoryAsDatabaseRefused(t *testing.T) {
	dir := t.TempDir()
	writeSmall(t, dir)
	if err := os.Mkdir(filepath.Join(dir, "dbdir"), 0o755); err != nil {
		t.Fatal(err)
	}
	abs := filepath.Join(dir, "dbdir")
	for _, args := range [][]string{
		{"sync", "--db", "dbdir"},
		{"db", "init", "--db", "dbdir"},
		{"db", "status", "--db", "dbdir"},
		{"runs", "list", "--db", "dbdir"},
		{"registry", "approve", "--db", "dbdir", "K3"},
		{"sql", "--db", "dbdir", "SELECT 1"},
		{"tune", "--db", "dbdir"},
		{"db", "check", "--db", "dbdir"},
		{"prune", "--db", "dbdir", "--keep-runs", "1"},
		{"cron", "--db", "dbdir"},
	} {
		mustFail(t, dir, 2, []string{abs + " is not a keysync database", "a directory"}, args...)
	}
	if got := listDir(t, abs); !reflect.DeepEqual(got, []string{"."}) {
		t.Errorf("refused commands wrote into the directory: %q", got)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "keysync.db")
	writeSmall(t, dir)
	mustRun(t, dir, "sync")
	snap := takeSnapshot(t, dir)
	db := openRW(t, dbPath)
	if _, err := db.Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (99, 1)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	known := mustRun(t, dir, "db", "status", "--format", "csv").stdout
	lines := strings.Split(strings.TrimSpace(known), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "99,,unknown (newer),") {
		t.Errorf("db status does not list version 99 as unknown (newer):\n%s", known)
	}
	want := "has schema version 99, newer than this keysync ("
	for _, args := range [][]string{
		{"sync"},
		{"registry", "list"},
		{"runs", "list"},
		{"db", "migrate"},
		{"sql", "SELECT 1"},
	} {
		mustFail(t, dir, 2, []string{"database " + dbPath, want, "upgrade keysync"}, args...)
	}
	ro := openRO(t, dbPath)
	if got := queryInt(t, ro, `SELECT max(run_id) FROM runs`); got != snap.lastRun {
		t.Errorf("runs go up to %d after the refused sync, want %d", got, snap.lastRun)
	}
	if got := dump(t, ro, `SELECT * FROM master_key_registry ORDER BY master_key`); !reflect.DeepEqual(got, snap.registry) {
		t.Errorf("registry changed by refused commands")
	}
	r := runKeysync(t, dir, "db", "check")
	if r.code != 1 || !strings.Contains(r.stdout, want) {
		t.Errorf("db check: exit %d, stdout %q; want 1 naming the newer schema", r.code, r.stdout)
	}
}

func TestRetentionPrunes(t *testing.T) {
	dir := t.TempDir()
	writeSmall(t, dir)
	writeFile(t, dir, "keysync-config.yaml", smallConfig+"retention: { keep_runs: 1 }\n")
	mustRun(t, dir, "sync")
	mustRun(t, dir, "sync")
	db := openRO(t, filepath.Join(dir, "keysync.db"))
	if got := dump(t, db, `SELECT DISTINCT run_id FROM findings`); !reflect.DeepEqual(got, []string{"2"}) {
		t.Errorf("runs with findings after retention keep_runs 1: %q, want only run 2", got)
	}
	if got := queryInt(t, db, `SELECT count(*) FROM runs WHERE status = 'succeeded'`); got != 2 {
		t.Errorf("%d succeeded runs rows, want 2: retention keeps the run log", got)
	}
}

// TestRetentionKeepsNormalRuns: a dry run takes no place among the kept
// runs, so keep_runs 2 still lets `changes` compare the last two nightly
// runs after an operator's dry run between them (it exited 2 before).
func TestRetentionKeepsNormalRuns(t *testing.T) {
	dir := t.TempDir()
	writeSmall(t, dir)
	writeFile(t, dir, "keysync-config.yaml", smallConfig+"retention: { keep_runs: 2 }\n")
	mustRun(t, dir, "sync")              // run 1: pruned by run 5
	mustRun(t, dir, "sync")              // run 2: pruned by run 5
	mustRun(t, dir, "sync")              // run 3: kept
	mustRun(t, dir, "sync", "--dry-run") // run 4: after the oldest kept run, kept
	mustRun(t, dir, "sync")              // run 5: kept
	db := openRO(t, filepath.Join(dir, "keysync.db"))
	if got := dump(t, db, `SELECT DISTINCT run_id FROM findings ORDER BY run_id`); !reflect.DeepEqual(got, []string{"3", "4", "5"}) {
		t.Errorf("runs with findings after retention keep_runs 2 and a dry run: %q, want 3, 4 and 5", got)
	}
	mustRun(t, dir, "changes")
}

func TestBackupRestores(t *testing.T) {
	dir := t.TempDir()
	writeSmall(t, dir)
	mustRun(t, dir, "sync")
	mustRun(t, dir, "registry", "approve", "--reason", "known", "K3")
	mustRun(t, dir, "db", "backup", "backup.db")
	mustFail(t, dir, 2, []string{"backup.db exists"}, "db", "backup", "backup.db")

	// Restore into a new setup: the backup in place of the database.
	restored := t.TempDir()
	writeSmall(t, restored)
	b, err := os.ReadFile(filepath.Join(dir, "backup.db"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, restored, "keysync.db", string(b))
	mustRun(t, restored, "db", "check")
	list := func(d string) string {
		return mustRun(t, d, "registry", "list", "--format", "csv").stdout
	}
	if got, want := list(restored), list(dir); got != want || strings.Count(want, "\n") < 2 {
		t.Errorf("registry of the restored backup:\n%s\nwant\n%s", got, want)
	}
	if got, want := mustRun(t, restored, "audit", "--format", "csv").stdout, mustRun(t, dir, "audit", "--format", "csv").stdout; got != want {
		t.Errorf("audit log of the restored backup differs:\n%s\nwant\n%s", got, want)
	}
	mustRun(t, restored, "sync") // a restored database takes the next run

	if testing.Short() {
		return
	}
	// A backup while a sync runs: no waiting, and the copy is the state
	// before the run.
	large := writeLarge(t, dir)
	before := list(dir)
	p := startLargeRun(t, dir, large, 2)
	mustRun(t, dir, "db", "backup", "during.db")
	if !p.running() {
		t.Fatal("the run ended before the backup; make the large input larger")
	}
	during := t.TempDir()
	writeSmall(t, during)
	b, err = os.ReadFile(filepath.Join(dir, "during.db"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, during, "keysync.db", string(b))
	if got := list(during); got != before {
		t.Errorf("registry of the backup taken during a run:\n%s\nwant\n%s", got, before)
	}
}

func TestDBCheckFindsProblems(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "keysync.db")
	writeSmall(t, dir)
	mustRun(t, dir, "sync")
	mustRun(t, dir, "db", "check")
	mustRun(t, dir, "db", "backup", "copy.db")

	// A finding of a run that does not exist.
	db := openRW(t, dbPath)
	if _, err := db.Exec(`UPDATE findings SET run_id = 999 WHERE rowid = (SELECT min(rowid) FROM findings)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	r := mustFail(t, dir, 1, []string{"db check", "foreign_key_check"}, "db", "check")
	if !strings.Contains(r.stdout, "foreign_key_check: findings row") {
		t.Errorf("db check stdout does not name the row:\n%s", r.stdout)
	}

	// A damaged page in the copy.
	copyPath := filepath.Join(dir, "copy.db")
	b, err := os.ReadFile(copyPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 6*4096 {
		t.Fatalf("copy.db has %d bytes; too small to damage a page in the middle", len(b))
	}
	copy(b[3*4096:5*4096], bytes.Repeat([]byte{0xA5}, 2*4096))
	if err := os.WriteFile(copyPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	mustFail(t, dir, 1, []string{"db check " + copyPath}, "db", "check", "--db", "copy.db")
}

// openRW opens the database at path read-write without foreign keys, to
// damage it behind keysync's back.
func openRW(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
