package app

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keysync/keysync/pkg/sqlite"
)

// opsMigrations are the migrations keysync carries.
func opsMigrations(t *testing.T) []sqlite.Migration {
	t.Helper()
	ms, err := sqlite.Migrations()
	if err != nil || len(ms) == 0 {
		t.Fatalf("sqlite.Migrations() = %v, %v", ms, err)
	}
	return ms
}

// opsStatus runs db status --format json and returns "version state" per migration.
func opsStatus(t *testing.T, o *opsCase, args ...string) ([]string, opsResult) {
	t.Helper()
	r := o.run("db status", append([]string{"--format", "json"}, args...)...)
	if r.code != 0 {
		t.Fatalf("db status: exit %d (%v)\n%s", r.code, r.err, r.stderr)
	}
	var ms []sqlite.Migration
	if err := json.Unmarshal([]byte(r.stdout), &ms); err != nil {
		t.Fatalf("db status --format json: %v\n%s", err, r.stdout)
	}
	var out []string
	for _, m := range ms {
		if (m.State != sqlite.MigrationPending) != (m.AppliedAt != "") {
			t.Errorf("migration %s: state %s with applied_at %q", m.Name, m.State, m.AppliedAt)
		}
		out = append(out, fmt.Sprintf("%d %s %s", m.Version, m.Name, m.State))
	}
	return out, r
}

// opsStates is "version name state" for every migration in state.
func opsStates(ms []sqlite.Migration, state func(sqlite.Migration) string) []string {
	var out []string
	for _, m := range ms {
		out = append(out, fmt.Sprintf("%d %s %s", m.Version, m.Name, state(m)))
	}
	return out
}

func TestDBStatusAndMigrate(t *testing.T) {
	all := opsMigrations(t)
	pending := opsStates(all, func(sqlite.Migration) string { return sqlite.MigrationPending })
	applied := opsStates(all, func(sqlite.Migration) string { return sqlite.MigrationApplied })
	last := all[len(all)-1]

	o := newOpsCase(t)
	// No database yet: everything is pending, and looking creates nothing.
	got, r := opsStatus(t, o)
	opsWant(t, "status without a database", got, pending)
	if !strings.Contains(r.stderr, "no database at "+o.db()) {
		t.Errorf("db status without a database: stderr %q", r.stderr)
	}
	if _, err := os.Stat(o.db()); !os.IsNotExist(err) {
		t.Errorf("db status created the database: %v", err)
	}

	// migrate never creates it, and says how to.
	opsFails(t, "migrate without a database", o.run("db migrate"), ExitUsage, "no database at "+o.db(), "keysync db init")
	if entries, _ := filepath.Glob(o.db() + "*"); len(entries) != 0 {
		t.Errorf("db migrate without a database left files: %v", entries)
	}

	// init creates it and applies everything, saying so.
	var want strings.Builder
	fmt.Fprintf(&want, "created %s\n", o.db())
	for _, m := range all {
		fmt.Fprintf(&want, "applied %s (version %d)\n", m.Name, m.Version)
	}
	opsWant(t, "db init", o.ok("db init"), want.String())
	opsWant(t, "db init again", o.ok("db init"), fmt.Sprintf("up to date: version %d\n", last.Version))
	got, _ = opsStatus(t, o)
	opsWant(t, "status after migrate", got, applied)
	opsWant(t, "db migrate again", o.ok("db migrate"), fmt.Sprintf("up to date: version %d\n", last.Version))

	// A pending migration shows as pending: db status does not apply it.
	o.sqlExec(`DELETE FROM goose_db_version WHERE version_id = ?`, last.Version)
	for i := 0; i < 2; i++ {
		got, _ = opsStatus(t, o)
		want := append(append([]string(nil), applied[:len(applied)-1]...), fmt.Sprintf("%d %s pending", last.Version, last.Name))
		opsWant(t, "status with the last migration pending", got, want)
	}

	// The table lists version, name, state and applied_at (RFC 3339 UTC).
	table := o.ok("db status", "--format", "table")
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if f := strings.Fields(lines[0]); strings.Join(f, " ") != "version name state applied_at" || len(lines) != len(all)+1 {
		t.Errorf("db status --format table:\n%s", table)
	}
	if f := strings.Fields(lines[1]); len(f) != 4 || f[2] != "applied" {
		t.Errorf("db status --format table, first migration: %q", lines[1])
	} else if _, err := time.Parse(time.RFC3339, f[3]); err != nil {
		t.Errorf("applied_at %q: %v", f[3], err)
	}
	if csv := o.ok("db status", "--format", "csv"); !strings.HasPrefix(csv, "version,name,state,applied_at\n1,00001_init.sql,applied,") {
		t.Errorf("db status --format csv:\n%s", csv)
	}
}

// sqlExec changes the case's database behind keysync's back, for a test to
// set up a state no command makes.
func (o *opsCase) sqlExec(q string, args ...any) {
	o.t.Helper()
	db, err := sqlite.Open(o.t.Context(), o.db())
	if err != nil {
		o.t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.SQL().ExecContext(o.t.Context(), q, args...); err != nil {
		o.t.Fatal(err)
	}
}

func TestDBStatusOfABlankFile(t *testing.T) {
	all := opsMigrations(t)
	o := newOpsCase(t)
	o.write("keysync.db", "")
	got, _ := opsStatus(t, o)
	opsWant(t, "status of a blank file", got, opsStates(all, func(sqlite.Migration) string { return sqlite.MigrationPending }))
	if b, err := os.ReadFile(o.db()); err != nil || len(b) != 0 {
		t.Errorf("db status wrote to a blank file: %d bytes, %v", len(b), err)
	}
	if out := o.ok("db init"); strings.Count(out, "applied ") != len(all) || strings.Contains(out, "created") {
		t.Errorf("db init of a blank file:\n%s", out)
	}
}

func TestDBErrors(t *testing.T) {
	o := newSyncedCase(t)
	opsFails(t, "status argument", o.run("db status", "now"), ExitUsage, "no arguments")
	opsFails(t, "migrate argument", o.run("db migrate", "up"), ExitUsage, "no arguments")
	opsFails(t, "bad format", o.run("db status", "--format", "xml"), ExitUsage, `"xml"`)
	opsFails(t, "bad config", o.raw("db", "status", "--config", o.path("nope.yaml")), ExitUsage, "nope.yaml")
	if r := o.raw("db", "nope"); r.code == 0 {
		t.Errorf("db nope: exit 0")
	}

	o.holdLock()
	opsFails(t, "migrate with the lock held", o.run("db migrate"), ExitLocked, "another keysync run holds the database")
	// Looking needs no lock.
	if got, _ := opsStatus(t, o); len(got) == 0 {
		t.Error("db status with the lock held: no migrations")
	}
}
