package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// ErrLocked means another keysync process holds the database's run lock.
var ErrLocked = errors.New("another keysync run holds the database")

// Lock is an exclusive advisory lock on a database, held by one process at a
// time. The kernel releases it when the process dies, even by SIGKILL, so a
// killed run never leaves a stale lock behind.
type Lock struct {
	f *os.File
}

// LockPath is the lock file that guards the database at dbPath.
func LockPath(dbPath string) string { return dbPath + ".lock" }

// Acquire takes the run lock of the database at dbPath without waiting. It
// returns an error wrapping ErrLocked when another process holds it. It
// creates dbPath's lock file but never a directory: refuse a database you
// will not open before taking its lock, or its .lock stays behind.
func Acquire(dbPath string) (*Lock, error) {
	if real, err := filepath.EvalSymlinks(dbPath); err == nil {
		dbPath = real // one lock per database file, however it is reached
	}
	path := LockPath(dbPath)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (%s)", ErrLocked, dbPath)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &Lock{f: f}, nil
}

// Held reports whether a process holds the run lock of the database at
// dbPath. It never creates the lock file: without one nobody holds the lock.
// The probe takes a shared lock without waiting and drops it at once, so two
// readers probing together do not see each other; only in the instant of the
// probe would a writer's Acquire find the lock taken.
func Held(dbPath string) (bool, error) {
	if real, err := filepath.EvalSymlinks(dbPath); err == nil {
		dbPath = real
	}
	path := LockPath(dbPath)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("probe lock %s: %w", path, err)
	}
	defer f.Close()
	switch err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); {
	case errors.Is(err, syscall.EWOULDBLOCK):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("probe lock %s: %w", path, err)
	}
	return false, nil // closing f drops the shared lock
}

// Release gives the lock up.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the descriptor drops the flock
	l.f = nil
	return err
}
