package app

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/keysync/keysync/pkg/sqlite"
)

func dbCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:  "db",
		Usage: "create, migrate, check, back up and compact the database",
		Subcommands: []*cli.Command{
			dbStatusCommand(env),
			dbInitCommand(env),
			dbMigrateCommand(env),
			dbCheckCommand(env),
			dbBackupCommand(env),
			dbVacuumCommand(env),
		},
	}
}

func dbStatusCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "list the schema migrations and whether the database has each",
		Description: `Lists every migration keysync carries (version, file, applied or pending,
and when it was applied, RFC 3339 UTC), then any migration the database has
that this keysync does not carry, as "unknown (newer)": a newer keysync
migrated the file, and every other command refuses it until you upgrade.
The database is opened read-only: looking never migrates it, so a pending
migration shows as pending (sync and the other commands apply pending
migrations when they open the database; db migrate does it on its own). A
database that does not exist yet has every migration pending.

Examples:
  keysync db status
  keysync db status --format json --db /var/lib/keysync/keysync.db`,
		Flags: append(dbFlags(), formatFlag()),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("db status takes no arguments, got %q", c.Args().Slice())
			}
			format, err := outputFormat(c, env)
			if err != nil {
				return err
			}
			path, err := databasePath(c)
			if err != nil {
				return err
			}
			var ms []sqlite.Migration
			if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
				if c.String("db") != "" {
					return requireDB(c, path) // a --db typo, as for every command
				}
				fmt.Fprintf(env.Stderr, "no database at %s yet: `keysync db init` or the first `keysync sync` creates it\n", path)
				if ms, err = sqlite.Migrations(); err != nil {
					return err
				}
			} else if ms, err = migrationStates(c, path); err != nil {
				return err
			}
			return writeRows(env.Stdout, format, ms)
		},
	}
}

func dbInitCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:  "init",
		Usage: "create the database and apply every migration",
		Description: `Creates the database named by --db or the config's database and applies
every migration, printing each one. The directory must exist: keysync never
creates directories. It takes the run lock (exit 3 when a run holds it).

A file that is already a keysync database is only migrated (exit 0); an
empty file is initialised; any other file (not SQLite, or SQLite with tables
of its own) is refused with exit 2 and left untouched, as is a database a
newer keysync migrated.

sync creates a missing database by itself only at the config's own database
path; for any other place (--db), create it with db init first.

Examples:
  keysync db init
  keysync db init --db /var/lib/keysync/keysync.db`,
		Flags: dbFlags(),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("db init takes no arguments, got %q", c.Args().Slice())
			}
			path, err := databasePath(c)
			if err != nil {
				return err
			}
			return migrateDB(c, env, path, true)
		},
	}
}

func dbMigrateCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:  "migrate",
		Usage: "apply the pending schema migrations",
		Description: `Applies every pending migration of an existing database and prints each one
it applied. It never creates a database (exit 2 when there is none: create
it with keysync db init). It takes the run lock, so it never runs beside a
sync or another writer: exit 3 when one holds it. Each migration is applied
in its own transaction; sync applies pending migrations too, so this is for
upgrading on your own schedule.

Examples:
  keysync db migrate
  keysync db migrate --config /etc/keysync/keysync-config.yaml`,
		Flags: dbFlags(),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("db migrate takes no arguments, got %q", c.Args().Slice())
			}
			path, err := databasePath(c)
			if err != nil {
				return err
			}
			if err := requireDB(c, path); err != nil {
				return err
			}
			return migrateDB(c, env, path, false)
		},
	}
}

// migrateDB applies the pending migrations of the database at path under the
// run lock, creating the file first when create is set and there is none,
// and prints what it applied. A file it refuses (not a keysync database, a
// newer schema) is refused before the lock is taken.
func migrateDB(c *cli.Context, env Env, path string, create bool) error {
	exists := true
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		exists = false
		if !create {
			return requireDB(c, path)
		}
		if err := sqlite.RequireDir(path); err != nil {
			return err
		}
	}
	before, err := sqlite.Migrations()
	if err != nil {
		return err
	}
	if exists {
		// Refuse before the lock: no .lock beside a file keysync will not use.
		db, err := sqlite.OpenWithoutMigrating(c.Context, path)
		if err != nil {
			return err
		}
		before, err = db.MigrationStates(c.Context)
		if cerr := db.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	lock, err := sqlite.Acquire(path)
	if err != nil {
		return err
	}
	defer lock.Release()
	// Create applies what is pending; the lock keeps every other keysync out.
	db, created, err := sqlite.Create(c.Context, path)
	if err != nil {
		return err
	}
	after, err := db.MigrationStates(c.Context)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(env.Stdout, "created %s\n", db.Path())
	}
	was := map[int64]string{}
	for _, m := range before {
		was[m.Version] = m.State
	}
	applied := 0
	for _, m := range after {
		if m.State == sqlite.MigrationApplied && was[m.Version] != sqlite.MigrationApplied {
			fmt.Fprintf(env.Stdout, "applied %s (version %d)\n", m.Name, m.Version)
			applied++
		}
	}
	if applied == 0 && len(after) > 0 {
		fmt.Fprintf(env.Stdout, "up to date: version %d\n", after[len(after)-1].Version)
	}
	return nil
}

// migrationStates is the status of the existing database at path, without
// migrating it, including migrations only a newer keysync knows. A file that
// is not a keysync database is refused.
func migrationStates(c *cli.Context, path string) ([]sqlite.Migration, error) {
	db, err := sqlite.OpenAny(c.Context, path)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	schema, err := db.Schema(c.Context)
	if err != nil {
		return nil, err
	}
	if !schema.Keysync {
		return nil, &sqlite.NotKeysyncError{Path: db.Path(), Reason: "it has tables but no goose_db_version"}
	}
	return db.MigrationStates(c.Context)
}

// requireDB refuses to go on when there is no database at path (or it is a
// directory), so that no command creates an empty one from a typo. The
// error says how to create one on purpose; it is exit 2.
func requireDB(c *cli.Context, path string) error {
	fi, err := os.Stat(path)
	if err == nil && fi.IsDir() {
		// Refused here as well as when opening, so that commands that
		// report a foreign file as a finding (db check) refuse it too.
		abs, _ := filepath.Abs(path)
		return sqlite.DirectoryRefused(abs)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if typed := c.String("db"); typed != "" {
		// The database by its absolute path, as every message names it; the
		// hint repeats --db as typed, ready to paste.
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
		return usageErrorf("no database at %s: check the path, or create one with `keysync db init --db %s`", path, typed)
	}
	return usageErrorf("no database at %s: `keysync sync` creates it on its first run, or run `keysync db init`", path)
}
