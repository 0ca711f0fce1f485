package app

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/keysync/keysync/pkg/sqlite"
)

// dbCommands are the commands that open the database, with the arguments
// each needs besides --config and --db (flags before arguments).
var dbCommands = [][]string{
	{"sync"},
	{"registry", "list"},
	{"registry", "show", "K-1"},
	{"registry", "export"},
	{"registry", "approve", "--reason", "r", "X-1"},
	{"registry", "deprecate", "--reason", "r", "X-1"},
	{"runs", "list"},
	{"runs", "show", "1"},
	{"findings"},
	{"changes"},
	{"audit"},
	{"kpi"},
	{"report", "--run", "1", "--output", "out"},
	{"sql", "SELECT 1"},
	{"db", "migrate"},
	{"db", "check"},
	{"db", "vacuum"},
	{"db", "backup", "copy.db"},
	{"prune", "--keep-runs", "1"},
	{"suppress", "list"},
	{"suppress", "add", "--reason", "r", "B", "X-1"},
}

// withDB is args with --config and --db inserted after the command's words.
func withDB(o *opsCase, args []string, db string) []string {
	n := 1
	if args[0] == "registry" || args[0] == "runs" || args[0] == "db" || args[0] == "suppress" {
		n = 2
	}
	out := append([]string(nil), args[:n]...)
	out = append(out, "--config", o.config(), "--db", db)
	return append(out, args[n:]...)
}

// dirFiles lists the names in dir.
func dirFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestNoCommandCreatesADatabase(t *testing.T) {
	o := newSyncedCase(t)
	before := dirFiles(t, o.dir)
	for _, db := range []string{
		o.path("keysnyc.db"),                  // a typo beside the real one
		o.path(filepath.Join("typo", "k.db")), // in a directory that does not exist
	} {
		for _, args := range dbCommands {
			r := o.raw(withDB(o, args, db)...)
			opsFails(t, fmt.Sprintf("%q on %s", args, filepath.Base(db)), r, ExitUsage,
				"no database at "+db, "keysync db init --db "+db)
		}
	}
	// db status too: it lists pending migrations for the config's own
	// database before its first run, but a --db that names nothing is a typo.
	opsFails(t, "db status --db typo", o.raw("db", "status", "--config", o.path("keysync-config.yaml"), "--db", o.path("keysnyc.db")),
		ExitUsage, "keysync db init --db "+o.path("keysnyc.db"))
	// schedule refuses at start rather than failing at every tick.
	o.write("scheduled.yaml", "schedule: \"@every 1h\"\n"+opsConfig)
	r := o.raw("schedule", "--config", o.path("scheduled.yaml"), "--db", o.path("keysnyc.db"))
	opsFails(t, "schedule --db typo", r, ExitUsage, "keysync db init --db "+o.path("keysnyc.db"))
	// So does a config database in a directory that does not exist.
	o.write("scheduled.yaml", "schedule: \"@every 1h\"\n"+strings.Replace(opsConfig, "database: ./keysync.db", "database: ./typo/k.db", 1))
	opsFails(t, "schedule, database in a missing directory", o.raw("schedule", "--config", o.path("scheduled.yaml")),
		ExitUsage, "directory "+o.path("typo")+" does not exist")
	os.Remove(o.path("scheduled.yaml"))
	if got := dirFiles(t, o.dir); !reflect.DeepEqual(got, before) {
		t.Errorf("refused commands changed the directory:\n got %q\nwant %q", got, before)
	}
}

func TestNewerSchemaRefusedByEveryCommand(t *testing.T) {
	o := newSyncedCase(t)
	known, err := sqlite.KnownVersion()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", o.db())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (99, 1)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	registry := o.query(`SELECT * FROM master_key_registry ORDER BY master_key`)
	want := fmt.Sprintf("database %s has schema version 99, newer than this keysync (%d): upgrade keysync", o.db(), known)
	for _, args := range dbCommands {
		if args[0] == "db" && args[1] == "check" {
			continue // reports it as a problem: exit 1 (TestDBCheck)
		}
		opsFails(t, fmt.Sprintf("%q", args), o.raw(withDB(o, args, o.db())...), ExitUsage, want)
	}
	opsFails(t, "db init", o.run("db init"), ExitUsage, want)
	// schedule refuses at start, before its first tick.
	o.write("scheduled.yaml", "schedule: \"@every 1h\"\n"+opsConfig)
	opsFails(t, "schedule", o.raw("schedule", "--config", o.path("scheduled.yaml"), "--db", o.db()), ExitUsage, want)
	if got := o.query(`SELECT * FROM master_key_registry ORDER BY master_key`); !reflect.DeepEqual(got, registry) {
		t.Errorf("a refused command changed the registry")
	}
	if n := o.query(`SELECT COUNT(*) FROM runs`); n[0] != "1" {
		t.Errorf("runs after refused syncs: %v, want 1", n)
	}
	// db status shows it and exits 0.
	got, _ := opsStatus(t, o)
	if last := got[len(got)-1]; last != "99  unknown (newer)" {
		t.Errorf("db status, last line %q, want the newer version 99", last)
	}
	if r := o.run("db check"); r.code != ExitFailed || !strings.Contains(r.stdout, want) {
		t.Errorf("db check: exit %d, stdout %q; want 1 naming %q", r.code, r.stdout, want)
	}
}

func TestDBInitRefusesOtherFiles(t *testing.T) {
	o := newOpsCase(t)
	o.write("notes.db", "these are my notes, not a database\n")
	r := o.run("db init", "--db", o.path("notes.db"))
	opsFails(t, "db init of a text file", r, ExitUsage, "notes.db is not a keysync database")
	if got := o.read("notes.db"); got != "these are my notes, not a database\n" {
		t.Errorf("db init changed the refused file: %q", got)
	}
	opsFails(t, "sync --db a text file", o.run("sync", "--db", o.path("notes.db")), ExitUsage, "not a keysync database")
	for _, name := range dirFiles(t, o.dir) {
		if strings.HasSuffix(name, ".lock") || strings.HasSuffix(name, "-wal") {
			t.Errorf("a refused file got %s beside it", name)
		}
	}
	// Nor is a directory that does not exist created.
	opsFails(t, "db init in a missing directory", o.run("db init", "--db", o.path("new/k.db")), ExitUsage, "does not exist")
	if _, err := os.Stat(o.path("new")); !os.IsNotExist(err) {
		t.Errorf("db init created the directory: %v", err)
	}
}

func TestSyncCreatesOnlyAtTheConfigPath(t *testing.T) {
	o := newOpsCase(t)
	r := o.run("sync")
	if r.code != 0 {
		t.Fatalf("first sync: exit %d: %v", r.code, r.err)
	}
	if !strings.Contains(r.stderr, `level=WARN msg="created database" path=`+o.db()) {
		t.Errorf("first sync did not warn that it created the database:\n%s", r.stderr)
	}
	if r := o.run("sync"); strings.Contains(r.stderr, "created database") {
		t.Errorf("second sync says it created the database:\n%s", r.stderr)
	}
	// A config whose database directory does not exist: refused, not made.
	o.write("other.yaml", strings.Replace(opsConfig, "./keysync.db", "./state/keysync.db", 1))
	r = o.raw("sync", "--config", o.path("other.yaml"))
	opsFails(t, "sync into a missing directory", r, ExitUsage, o.path("state"), "does not exist")
	if _, err := os.Stat(o.path("state")); !os.IsNotExist(err) {
		t.Errorf("sync created the directory: %v", err)
	}
}

func TestDBBackupCheckVacuum(t *testing.T) {
	o := newSyncedCase(t)
	o.ok("sync")
	backup := o.path("backup.db")
	if out := o.ok("db backup", backup); !strings.Contains(out, "backed up "+o.db()+" to "+backup) {
		t.Errorf("db backup: %q", out)
	}
	b := &opsCase{t: t, dir: o.dir}
	registry := func(c *opsCase, db string) []string {
		r := c.raw("sql", "--config", c.config(), "--db", db, "--format", "csv", "SELECT * FROM master_key_registry ORDER BY master_key")
		if r.code != 0 {
			t.Fatalf("registry of %s: exit %d: %v", db, r.code, r.err)
		}
		return strings.Split(r.stdout, "\n")
	}
	if got, want := registry(b, backup), registry(o, o.db()); !reflect.DeepEqual(got, want) || len(want) < 3 {
		t.Errorf("registry of the backup:\n got %q\nwant %q", got, want)
	}
	copyBefore := o.read("backup.db")
	opsFails(t, "backup over a file", o.run("db backup", backup), ExitUsage, "backup.db exists")
	if o.read("backup.db") != copyBefore {
		t.Error("a refused backup changed the existing file")
	}
	opsFails(t, "backup without a file", o.run("db backup"), ExitUsage, "FILE")
	opsFails(t, "backup into a missing directory", o.run("db backup", o.path("nowhere/b.db")), ExitUsage, "does not exist")
	if _, err := os.Stat(o.path("nowhere")); !os.IsNotExist(err) {
		t.Errorf("db backup created a directory: %v", err)
	}

	if out := o.ok("db check"); out != fmt.Sprintf("schema: ok (version %[1]d; this keysync carries %[1]d)\nintegrity_check: ok\nforeign_key_check: ok\n", opsMigrations(t)[len(opsMigrations(t))-1].Version) {
		t.Errorf("db check of a healthy database:\n%s", out)
	}
	// A foreign key violation, made behind keysync's back.
	raw, err := sql.Open("sqlite", backup)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`UPDATE findings SET run_id = 999 WHERE rowid = (SELECT MIN(rowid) FROM findings)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	r := o.run("db check", "--db", backup)
	opsFails(t, "db check of a broken backup", r, ExitFailed, "foreign_key_check")
	if !strings.Contains(r.stdout, "foreign_key_check: findings row") || !strings.Contains(r.stdout, "integrity_check: ok") {
		t.Errorf("db check of a broken backup:\n%s", r.stdout)
	}

	o.holdLock()
	opsFails(t, "vacuum with the lock held", o.run("db vacuum"), ExitLocked, "another keysync run holds the database")
}

func TestDBVacuum(t *testing.T) {
	o := newSyncedCase(t)
	o.ok("sync")
	o.ok("prune", "--keep-runs", "1")
	registry := o.query(`SELECT * FROM master_key_registry ORDER BY master_key`)
	if out := o.ok("db vacuum"); !strings.HasPrefix(out, "vacuumed "+o.db()) {
		t.Errorf("db vacuum: %q", out)
	}
	if got := o.query(`SELECT * FROM master_key_registry ORDER BY master_key`); !reflect.DeepEqual(got, registry) {
		t.Errorf("vacuum changed the registry")
	}
	if out := o.ok("db check"); strings.Count(out, ": ok") != 3 {
		t.Errorf("db check after vacuum:\n%s", out)
	}
}

func TestRetention(t *testing.T) {
	o := newOpsCase(t)
	o.write("keysync-config.yaml", opsConfig+"retention: { keep_runs: 2 }\n")
	findings := func() []string {
		return o.query(`SELECT run_id, COUNT(*) FROM findings GROUP BY run_id ORDER BY run_id`)
	}
	o.ok("sync")
	o.ok("sync")
	o.ok("sync", "--dry-run") // run 3 prunes nothing and takes no place among the kept
	if got := findings(); len(got) != 3 {
		t.Fatalf("findings by run after a dry run: %q, want runs 1 to 3", got)
	}
	o.ok("sync") // run 4 keeps the normal runs 2 and 4, and the dry run 3 between them
	if got := findings(); len(got) != 3 || !strings.HasPrefix(got[0], "2|") || !strings.HasPrefix(got[2], "4|") {
		t.Errorf("findings by run after retention keep_runs 2: %q, want runs 2, 3 and 4", got)
	}
	if n := o.query(`SELECT COUNT(*) FROM runs`); n[0] != "4" {
		t.Errorf("runs after retention: %v, want all 4 kept", n)
	}

	o.write("keysync-config.yaml", opsConfig+"retention: { keep_runs: -1 }\n")
	opsFails(t, "negative keep_runs", o.run("sync"), ExitUsage, "retention.keep_runs", `"-1"`)
}
