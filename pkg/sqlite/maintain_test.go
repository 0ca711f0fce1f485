package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/sqlite"
)

func TestOpenNeverCreates(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	missing := filepath.Join(dir, "typo", "keysnyc.db")
	for name, open := range map[string]func() (*sqlite.DB, error){
		"Open":                 func() (*sqlite.DB, error) { return sqlite.Open(ctx, missing) },
		"OpenWithoutMigrating": func() (*sqlite.DB, error) { return sqlite.OpenWithoutMigrating(ctx, missing) },
		"OpenReadOnly":         func() (*sqlite.DB, error) { return sqlite.OpenReadOnly(ctx, missing) },
		"OpenAny":              func() (*sqlite.DB, error) { return sqlite.OpenAny(ctx, missing) },
		"Create":               func() (*sqlite.DB, error) { db, _, err := sqlite.Create(ctx, missing); return db, err },
	} {
		db, err := open()
		if err == nil {
			db.Close()
			t.Errorf("%s of a missing file in a missing directory succeeded", name)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: err = %v, want one wrapping fs.ErrNotExist", name, err)
		}
	}
	if _, err := os.Stat(filepath.Dir(missing)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the directory %s was created (stat: %v)", filepath.Dir(missing), err)
	}
	// Beside an existing directory, Open still refuses a missing file.
	if db, err := sqlite.Open(ctx, filepath.Join(dir, "x.db")); err == nil {
		db.Close()
		t.Error("Open created x.db")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("refused opens left %d files in %s", len(entries), dir)
	}
	db, created, err := sqlite.Create(ctx, filepath.Join(dir, "x.db"))
	if err != nil || !created {
		t.Fatalf("Create in an existing directory = %v, %v", created, err)
	}
	db.Close()
	db, created, err = sqlite.Create(ctx, filepath.Join(dir, "x.db"))
	if err != nil || created {
		t.Fatalf("Create of an existing database = %v, %v; want opened, not created", created, err)
	}
	db.Close()
}

func TestOpenRefusesOtherFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	notSQLite := filepath.Join(dir, "notes.db")
	if err := os.WriteFile(notSQLite, []byte("not a database, but more than a header's worth of text: "+string(make([]byte, 200))), 0o644); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.db")
	db, _, err := sqlite.Create(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	// Make it someone else's database: tables, no goose version table.
	if _, err := db.SQL().Exec(`DROP TABLE goose_db_version`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	// And a plain one, in rollback-journal mode: opening it for writing
	// would switch it to WAL.
	plain := filepath.Join(dir, "plain.db")
	pdb, err := sql.Open("sqlite", plain)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pdb.Exec(`CREATE TABLE t (x)`); err != nil {
		t.Fatal(err)
	}
	pdb.Close()
	for _, path := range []string{notSQLite, other, plain} {
		before, _ := os.ReadFile(path)
		for name, open := range map[string]func() (*sqlite.DB, error){
			"Open":         func() (*sqlite.DB, error) { return sqlite.Open(ctx, path) },
			"OpenReadOnly": func() (*sqlite.DB, error) { return sqlite.OpenReadOnly(ctx, path) },
			"Create":       func() (*sqlite.DB, error) { db, _, err := sqlite.Create(ctx, path); return db, err },
		} {
			db, err := open()
			var notOurs *sqlite.NotKeysyncError
			if !errors.As(err, &notOurs) {
				if db != nil {
					db.Close()
				}
				t.Errorf("%s(%s): err = %v, want a *NotKeysyncError", name, filepath.Base(path), err)
			}
		}
		if after, _ := os.ReadFile(path); string(after) != string(before) {
			t.Errorf("%s changed by the refused opens", filepath.Base(path))
		}
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	known, err := sqlite.KnownVersion()
	if err != nil || known < 1 {
		t.Fatalf("KnownVersion() = %d, %v", known, err)
	}
	if _, err := db.SQL().Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (99, 1)`); err != nil {
		t.Fatal(err)
	}
	path := db.Path()
	for name, open := range map[string]func() (*sqlite.DB, error){
		"Open":                 func() (*sqlite.DB, error) { return sqlite.Open(ctx, path) },
		"OpenWithoutMigrating": func() (*sqlite.DB, error) { return sqlite.OpenWithoutMigrating(ctx, path) },
		"OpenReadOnly":         func() (*sqlite.DB, error) { return sqlite.OpenReadOnly(ctx, path) },
		"Create":               func() (*sqlite.DB, error) { db, _, err := sqlite.Create(ctx, path); return db, err },
	} {
		got, err := open()
		var newer *sqlite.NewerSchemaError
		if !errors.As(err, &newer) {
			if got != nil {
				got.Close()
			}
			t.Errorf("%s: err = %v, want a *NewerSchemaError", name, err)
			continue
		}
		if newer.Version != 99 || newer.Known != known || newer.Path != path {
			t.Errorf("%s: %+v, want version 99, known %d, path %s", name, newer, known, path)
		}
	}

	// OpenAny looks without refusing; MigrationStates lists the unknown one.
	look, err := sqlite.OpenAny(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer look.Close()
	states, err := look.MigrationStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	last := states[len(states)-1]
	if last.Version != 99 || last.State != sqlite.MigrationNewer || last.Name != "" {
		t.Errorf("last migration state = %+v, want version 99 %q", last, sqlite.MigrationNewer)
	}
	embedded, err := sqlite.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(states); n != len(embedded)+1 {
		t.Errorf("%d migration states, want %d known + 1 newer", n, len(embedded))
	}

	// A down migration recorded by an older goose (is_applied = 0 after the
	// up row) is not applied.
	if _, err := db.SQL().Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (99, 0)`); err != nil {
		t.Fatal(err)
	}
	again, err := sqlite.OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatalf("after version 99 was rolled back: %v", err)
	}
	again.Close()
}

func TestCheck(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	mustRun(t, db, run{systems: []system{authority("A", "k1"), peer("B", "k2")}})
	check := func(what string) []sqlite.Problem {
		t.Helper()
		look, err := sqlite.OpenAny(ctx, db.Path())
		if err != nil {
			t.Fatal(err)
		}
		defer look.Close()
		_, problems, err := look.Check(ctx)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return problems
	}
	if p := check("healthy"); len(p) != 0 {
		t.Fatalf("a healthy database has problems: %v", p)
	}
	// A finding of a run that does not exist, written with the foreign keys off.
	conn, err := db.SQL().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `UPDATE findings SET run_id = 999 WHERE rowid = (SELECT MIN(rowid) FROM findings)`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES (99, 1)`); err != nil {
		t.Fatal(err)
	}
	conn.ExecContext(ctx, `PRAGMA foreign_keys = ON`)
	conn.Close()
	got := map[string]int{}
	for _, p := range check("broken") {
		got[p.Check]++
	}
	if got[sqlite.CheckForeignKeys] != 1 || got[sqlite.CheckSchema] != 1 || got[sqlite.CheckIntegrity] != 0 {
		t.Errorf("problems by check = %v, want one foreign key and one schema problem", got)
	}
}

func TestBackup(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	mustRun(t, db, run{systems: []system{authority("A", "k1", "k2"), peer("B", "k2", "k3")}})
	dest := filepath.Join(t.TempDir(), "backup.db")
	if err := db.Backup(ctx, dest); err != nil {
		t.Fatal(err)
	}
	copyDB, err := sqlite.Open(ctx, dest)
	if err != nil {
		t.Fatalf("the backup does not open as a keysync database: %v", err)
	}
	defer copyDB.Close()
	sameRows(t, "registry of the backup", registry(t, copyDB), registry(t, db))
	if len(registry(t, db)) == 0 {
		t.Fatal("fixture: empty registry proves nothing")
	}
	// A second backup to the same file is refused and leaves it alone.
	before, _ := os.ReadFile(dest)
	var exists *sqlite.BackupExistsError
	if err := db.Backup(ctx, dest); !errors.As(err, &exists) {
		t.Errorf("backup over an existing file: err = %v, want *BackupExistsError", err)
	}
	if after, _ := os.ReadFile(dest); string(after) != string(before) {
		t.Error("the refused backup changed the existing file")
	}
	if entries, _ := os.ReadDir(filepath.Dir(dest)); len(entries) > 3 { // backup.db, -wal, -shm
		t.Errorf("backups left temporary files: %v", entries)
	}
}

func TestRetentionInFinishRun(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	r := run{systems: []system{authority("A", "k1"), peer("B", "k2")}}
	for i := 0; i < 3; i++ {
		mustRun(t, db, r)
	}
	findingsOf := func(runID int64) int64 {
		return count(t, db, `SELECT COUNT(*) FROM findings WHERE run_id = ?`, runID)
	}
	if findingsOf(1) == 0 {
		t.Fatal("fixture: run 1 has no findings")
	}
	// A dry run with KeepRuns prunes nothing.
	dry := r
	dry.dryRun = true
	id := startAndStage(t, db, dry)
	f := dry.finish(id)
	f.KeepRuns = 1
	if _, err := db.FinishRun(ctx, f); err != nil {
		t.Fatal(err)
	}
	if findingsOf(1) == 0 {
		t.Error("a dry run's retention pruned run 1")
	}
	// A normal run keeping 2 succeeded normal runs (itself and run 3) prunes
	// 1 and 2; the dry run 4 between them stays.
	id = startAndStage(t, db, r)
	f = r.finish(id)
	f.KeepRuns = 2
	if _, err := db.FinishRun(ctx, f); err != nil {
		t.Fatal(err)
	}
	for runID := int64(1); runID <= 5; runID++ {
		n := findingsOf(runID)
		if pruned := runID < 3; pruned != (n == 0) {
			t.Errorf("run %d has %d findings after retention keep_runs 2", runID, n)
		}
	}
	if got := count(t, db, `SELECT COUNT(*) FROM runs WHERE status = ?`, string(keysync.RunSucceeded)); got != 5 {
		t.Errorf("%d succeeded runs rows, want 5: retention never deletes runs", got)
	}
}
