package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	sqlfiles "github.com/keysync/keysync/sql"
)

// DB is an open keysync database.
type DB struct {
	db   *sql.DB
	path string
	// Now is the clock of every timestamp the store writes; tests fix it.
	Now func() time.Time
	// Log receives debug timings of the long statements; discarded by default.
	Log *slog.Logger

	attached      bool // the run's staging file is attached as schema staging
	authorityKeys bool // staging_authority_keys is filled
}

// ErrBusy means another process holds the database's write lock.
var ErrBusy = errors.New("the database is busy: another process holds its write lock")

// Open opens (creating if needed) the database at path and applies pending
// migrations. The file is in WAL mode so the sqlite3 shell can read it while
// keysync writes.
func Open(ctx context.Context, path string) (*DB, error) {
	return open(ctx, path, false, true)
}

// OpenWithoutMigrating opens an existing database read-write but leaves its
// schema alone: for a reader while another process, which may be migrating,
// holds the run lock.
func OpenWithoutMigrating(ctx context.Context, path string) (*DB, error) {
	return open(ctx, path, false, false)
}

// OpenReadOnly opens an existing database for queries only: any write
// statement fails. Migrations are not applied.
func OpenReadOnly(ctx context.Context, path string) (*DB, error) {
	return open(ctx, path, true, false)
}

func open(ctx context.Context, path string, readOnly, migrate bool) (*DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if readOnly {
		if _, err := os.Stat(abs); err != nil {
			return nil, fmt.Errorf("open database %s: %w", abs, err)
		}
	} else if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return nil, fmt.Errorf("open database %s: %w", abs, err)
	}
	q := url.Values{}
	// busy_timeout: wait a little for a short writer (an operator command)
	// instead of failing at once. synchronous=FULL: a committed registry change
	// survives a power cut, and commits are few. threads=2: the sorter behind
	// the GROUP BY that derives each system's keys may use the second core
	// (about 20% faster at 5 x 1M rows, no more memory; a larger cache_size
	// bought nothing but memory). journal_size_limit: after a checkpoint the
	// WAL file shrinks back to 64 MiB instead of keeping the size of the
	// largest transaction on disk.
	for _, p := range []string{"busy_timeout(5000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)", "threads(2)", "journal_size_limit(67108864)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	dsn := "file:" + abs + "?" + q.Encode()
	if readOnly {
		dsn = "file:" + abs + "?mode=ro&_pragma=busy_timeout(5000)&_pragma=query_only(1)"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", abs, err)
	}
	// One connection: keysync's work is sequential, and staging tables and
	// pragmas then behave the same for every statement.
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", abs, err)
	}
	d := &DB{db: db, path: abs, Now: time.Now, Log: slog.New(slog.DiscardHandler)}
	if migrate {
		if err := d.Migrate(ctx); err != nil {
			db.Close()
			return nil, err
		}
	}
	return d, nil
}

// Path is the absolute path of the database file.
func (d *DB) Path() string { return d.path }

// SQL exposes the underlying handle for read-only queries (keysync sql).
func (d *DB) SQL() *sql.DB { return d.db }

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

func (d *DB) provider() (*goose.Provider, error) {
	migrations, err := fs.Sub(sqlfiles.Migrations, "migrations")
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectSQLite3, d.db, migrations)
}

// Migrate applies every pending migration.
func (d *DB) Migrate(ctx context.Context) error {
	p, err := d.provider()
	if err != nil {
		return fmt.Errorf("migrate %s: %w", d.path, err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate %s: %w", d.path, wrapBusy(err))
	}
	return nil
}

// MigrationStatus lists every migration with whether it is applied.
func (d *DB) MigrationStatus(ctx context.Context) ([]*goose.MigrationStatus, error) {
	p, err := d.provider()
	if err != nil {
		return nil, err
	}
	return p.Status(ctx)
}

// now is the store's clock as the RFC 3339 UTC text every table stores.
func (d *DB) now() string { return FormatTime(d.Now()) }

// FormatTime renders t as RFC 3339 in UTC, to the second: the form of every
// timestamp keysync writes.
func FormatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// wrapBusy turns SQLite's "database is locked" into ErrBusy, which callers map
// to exit code 3.
func wrapBusy(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked") {
		return fmt.Errorf("%w (%v)", ErrBusy, err)
	}
	return err
}
