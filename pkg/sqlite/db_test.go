package sqlite_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/sqlite"
)

func TestOpenAppliesMigrations(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()

	status, err := db.MigrationStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(status) == 0 {
		t.Fatal("MigrationStatus lists no migration")
	}
	first := status[0]
	if got, want := first.Source.Version, int64(1); got != want {
		t.Errorf("first migration version = %d, want %d", got, want)
	}
	if got, want := filepath.Base(first.Source.Path), "00001_init.sql"; got != want {
		t.Errorf("first migration = %s, want %s", got, want)
	}
	for _, s := range status {
		if s.State != goose.StateApplied {
			t.Errorf("migration %s is %s after Open, want applied", s.Source.Path, s.State)
		}
	}

	// Every table SPEC §8 names exists (staging tables are unnamed there).
	for _, table := range []string{"runs", "run_systems", "findings", "master_key_registry", "audit_log"} {
		if n := count(t, db, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, table); n != 1 {
			t.Errorf("table %s: %d in sqlite_master, want 1", table, n)
		}
	}
}

func TestOpenTwice(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keysync.db")

	first, _, err := sqlite.Create(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	first.Now = at(t0)
	runID, err := first.StartRun(ctx, keysync.ModeNormal, "")
	if err != nil {
		t.Fatal(err)
	}

	// A second handle on the same file while the first is open: migrating
	// again is a no-op.
	second := mustOpenDBAt(t, path)
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	// And once more after the first is closed.
	third := mustOpenDBAt(t, path)

	for name, db := range map[string]*sqlite.DB{"second": second, "third": third} {
		status, err := db.MigrationStatus(ctx)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, s := range status {
			if s.State != goose.StateApplied {
				t.Errorf("%s: migration %s is %s", name, s.Source.Path, s.State)
			}
		}
		if got := readRun(t, db, runID).Status; got != string(keysync.RunRunning) {
			t.Errorf("%s: run %d status = %q, want the row written through the first handle", name, runID, got)
		}
		if got, want := db.Path(), path; got != want {
			t.Errorf("%s: Path() = %s, want %s", name, got, want)
		}
	}
}

func TestOpenUsesWAL(t *testing.T) {
	db := MustOpenDB(t)
	var mode string
	if err := db.SQL().QueryRowContext(context.Background(), `PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
	// WAL mode is a property of the file: a read-only handle sees it too.
	ro, err := sqlite.OpenReadOnly(context.Background(), db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := ro.SQL().QueryRowContext(context.Background(), `PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("read-only handle: journal_mode = %q, want wal", mode)
	}
}

func TestOpenReadOnly(t *testing.T) {
	ctx := context.Background()

	t.Run("refuses writes", func(t *testing.T) {
		db := MustOpenDB(t)
		mustRun(t, db, run{systems: []system{authority("A", "k1"), peer("B", "x1")}})
		before := registry(t, db)

		ro, err := sqlite.OpenReadOnly(ctx, db.Path())
		if err != nil {
			t.Fatal(err)
		}
		defer ro.Close()
		// Reads work.
		if got := registry(t, ro); len(got) != len(before) {
			t.Errorf("read-only registry has %d rows, want %d", len(got), len(before))
		}
		// Writes of every kind fail.
		if _, err := ro.SQL().ExecContext(ctx, `DELETE FROM master_key_registry`); err == nil {
			t.Error("DELETE through a read-only handle succeeded")
		}
		if _, err := ro.StartRun(ctx, keysync.ModeNormal, ""); err == nil {
			t.Error("StartRun through a read-only handle succeeded")
		}
		if _, err := ro.SetStatus(ctx, sqlite.Transition{Keys: []string{"X1"}, To: keysync.StatusActive, By: "alice"}); err == nil {
			t.Error("SetStatus through a read-only handle succeeded")
		}
		sameRows(t, "registry after refused writes", registry(t, db), before)
		if n := count(t, db, `SELECT COUNT(*) FROM runs`); n != 1 {
			t.Errorf("runs has %d rows after refused writes, want 1", n)
		}
	})

	t.Run("refuses a missing file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "missing.db")
		db, err := sqlite.OpenReadOnly(ctx, path)
		if err == nil {
			db.Close()
			t.Fatal("OpenReadOnly of a missing file succeeded")
		}
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("err = %v, want one wrapping fs.ErrNotExist", err)
		}
		if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("OpenReadOnly created %s (stat: %v)", path, err)
		}
	})
}
