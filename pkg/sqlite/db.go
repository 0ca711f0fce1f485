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

	attachedParts int  // staging files attached as schemas staging_0, staging_1, …
	authorityKeys bool // staging_authority_keys is filled
}

// ErrBusy means another process holds the database's write lock.
var ErrBusy = errors.New("the database is busy: another process holds its write lock")

// Open opens the existing keysync database at path and applies pending
// migrations. It never creates one: a missing file is a *NoDatabaseError
// (see Create). The file is in WAL mode so the sqlite3 shell can read it
// while keysync writes. Like every Open function but OpenAny, it refuses a
// file that is not a keysync database (*NotKeysyncError) and a schema newer
// than this keysync (*NewerSchemaError).
func Open(ctx context.Context, path string) (*DB, error) {
	return open(ctx, path, openOptions{migrate: true})
}

// Create opens the database at path like Open, first creating it when there
// is no file yet; created reports whether it did. The directory must exist:
// a database is created on purpose, never with the directories of a typo.
func Create(ctx context.Context, path string) (db *DB, created bool, err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, false, fmt.Errorf("create database %s: %w", path, err)
	}
	if _, err := os.Stat(abs); err == nil {
		db, err := open(ctx, abs, openOptions{migrate: true})
		return db, false, err
	}
	if err := RequireDir(abs); err != nil {
		return nil, false, err
	}
	db, err = open(ctx, abs, openOptions{migrate: true, create: true})
	return db, err == nil, err
}

// RequireDir checks that the directory the database at path would be created
// in exists; it never creates it.
func RequireDir(path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("create database %s: %w", path, err)
	}
	dir := filepath.Dir(abs)
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &NoDirError{Path: abs, Dir: dir}
	case err != nil:
		return fmt.Errorf("create database %s: %w", abs, err)
	case !st.IsDir():
		return fmt.Errorf("create database %s: %s is not a directory", abs, dir)
	}
	return nil
}

// OpenWithoutMigrating opens an existing database read-write but leaves its
// schema alone: for a reader while another process, which may be migrating,
// holds the run lock.
func OpenWithoutMigrating(ctx context.Context, path string) (*DB, error) {
	return open(ctx, path, openOptions{})
}

// OpenReadOnly opens an existing database for queries only: any write
// statement fails. Migrations are not applied.
func OpenReadOnly(ctx context.Context, path string) (*DB, error) {
	return open(ctx, path, openOptions{readOnly: true})
}

// OpenAny opens an existing file read-only whatever it holds — a newer
// schema, no keysync schema at all — for the commands that report on it
// (db status, db check) instead of refusing it. Use Schema to learn what it is.
func OpenAny(ctx context.Context, path string) (*DB, error) {
	return open(ctx, path, openOptions{readOnly: true, anySchema: true})
}

// NoDatabaseError means there is no database file at Path.
type NoDatabaseError struct{ Path string }

func (e *NoDatabaseError) Error() string { return "no database at " + e.Path }

// Unwrap makes errors.Is(err, fs.ErrNotExist) hold.
func (e *NoDatabaseError) Unwrap() error { return fs.ErrNotExist }

// NoDirError means a database cannot be created because its directory does
// not exist.
type NoDirError struct{ Path, Dir string }

func (e *NoDirError) Error() string {
	return fmt.Sprintf("create database %s: directory %s does not exist (keysync never creates it)", e.Path, e.Dir)
}

// Unwrap makes errors.Is(err, fs.ErrNotExist) hold.
func (e *NoDirError) Unwrap() error { return fs.ErrNotExist }

// NotKeysyncError means the file at Path exists but is not a keysync
// database: not SQLite at all, or SQLite with tables but no goose version
// table. Keysync refuses to add its schema to someone else's file.
type NotKeysyncError struct {
	Path   string
	Reason string
}

func (e *NotKeysyncError) Error() string {
	return fmt.Sprintf("%s is not a keysync database (%s)", e.Path, e.Reason)
}

// DirectoryRefused is the error for a database path naming a directory.
func DirectoryRefused(path string) *NotKeysyncError {
	return &NotKeysyncError{Path: path, Reason: "a directory, not a file: give the database file's path"}
}

// NewerSchemaError means the database has a migration this keysync does not
// carry: a newer keysync migrated it, and this one could misread it.
type NewerSchemaError struct {
	Path    string
	Version int64 // the database's newest applied migration
	Known   int64 // the newest migration this keysync carries
}

func (e *NewerSchemaError) Error() string {
	return fmt.Sprintf("database %s has schema version %d, newer than this keysync (%d): upgrade keysync",
		e.Path, e.Version, e.Known)
}

// openOptions say how open treats the file.
type openOptions struct {
	readOnly  bool // query_only connection; the file must exist
	create    bool // create the file when missing (its directory must exist)
	migrate   bool // apply pending migrations
	anySchema bool // skip the keysync-database and schema-version checks
}

func open(ctx context.Context, path string, o openOptions) (*DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if fi, err := os.Stat(abs); errors.Is(err, fs.ErrNotExist) && !o.create {
		return nil, &NoDatabaseError{Path: abs}
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open database %s: %w", abs, err)
	} else if err == nil && fi.IsDir() {
		// SQLite would say "disk I/O error": name what is wrong instead.
		return nil, DirectoryRefused(abs)
	}
	if fi, err := os.Stat(abs); err == nil && fi.Size() > 0 && !o.readOnly && !o.anySchema {
		// Look before opening read-write: journal_mode(WAL) below would
		// change a file that turns out not to be keysync's, which is to be
		// refused and left untouched.
		probe, err := open(ctx, abs, openOptions{readOnly: true})
		if err != nil {
			return nil, err
		}
		probe.Close()
	}
	q := url.Values{}
	// mode=rw: SQLite must not create a missing file behind the Stat above.
	q.Set("mode", "rw")
	if o.create {
		q.Set("mode", "rwc")
	}
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
	if o.readOnly {
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
		if isNotADatabase(err) {
			return nil, &NotKeysyncError{Path: abs, Reason: "not a SQLite file"}
		}
		return nil, fmt.Errorf("open database %s: %w", abs, wrapBusy(err))
	}
	d := &DB{db: db, path: abs, Now: time.Now, Log: slog.New(slog.DiscardHandler)}
	if !o.anySchema {
		if err := d.checkSchema(ctx); err != nil {
			db.Close()
			return nil, err
		}
	}
	if o.migrate {
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

// Migrate applies every pending migration. The staging files are detached
// first: their TEMP views would shadow the database's own.
func (d *DB) Migrate(ctx context.Context) error {
	if err := d.detachStaging(ctx); err != nil {
		return fmt.Errorf("migrate %s: %w", d.path, err)
	}
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
