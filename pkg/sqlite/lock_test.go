package sqlite_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/keysync/keysync/pkg/sqlite"
)

// flock locks belong to an open file description, so two Acquire calls in one
// process conflict just as two processes do.
func TestLock(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "keysync.db")

	first, err := sqlite.Acquire(dbPath)
	if err != nil {
		t.Fatalf("first Acquire: %v", err)
	}
	if _, err := os.Stat(sqlite.LockPath(dbPath)); err != nil {
		t.Errorf("lock file: %v", err)
	}

	second, err := sqlite.Acquire(dbPath)
	if err == nil {
		second.Release()
		t.Fatal("second Acquire while the first is held succeeded")
	}
	if !errors.Is(err, sqlite.ErrLocked) {
		t.Errorf("second Acquire: err = %v, want one wrapping ErrLocked", err)
	}

	// Another database's lock is independent.
	other, err := sqlite.Acquire(filepath.Join(t.TempDir(), "other.db"))
	if err != nil {
		t.Errorf("Acquire of another database: %v", err)
	}
	other.Release()

	if err := first.Release(); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if err := first.Release(); err != nil {
		t.Errorf("second Release: %v", err)
	}

	third, err := sqlite.Acquire(dbPath)
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	if err := third.Release(); err != nil {
		t.Fatal(err)
	}
}

func TestLockPath(t *testing.T) {
	if got, want := sqlite.LockPath("/var/lib/keysync.db"), "/var/lib/keysync.db.lock"; got != want {
		t.Errorf("LockPath = %s, want %s", got, want)
	}
}

// TestHeld: the probe sees a held lock, never creates a lock file, and
// leaves the lock free for the next Acquire.
func TestHeld(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "keysync.db")
	held, err := sqlite.Held(dbPath)
	if err != nil || held {
		t.Fatalf("Held without a lock file = %v, %v; want false", held, err)
	}
	if _, err := os.Stat(sqlite.LockPath(dbPath)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Held created %s (stat: %v)", sqlite.LockPath(dbPath), err)
	}

	l, err := sqlite.Acquire(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if held, err := sqlite.Held(dbPath); err != nil || !held {
		t.Errorf("Held while Acquired = %v, %v; want true", held, err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if held, err := sqlite.Held(dbPath); err != nil || held {
		t.Errorf("Held after Release = %v, %v; want false", held, err)
	}
	// The probe let go of its own lock.
	again, err := sqlite.Acquire(dbPath)
	if err != nil {
		t.Fatalf("Acquire after a probe: %v", err)
	}
	again.Release()
}
