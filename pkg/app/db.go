package app

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/keysync/keysync/pkg/sqlite"
)

func dbCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:  "db",
		Usage: "show and apply the database's schema migrations",
		Subcommands: []*cli.Command{
			dbStatusCommand(env),
			dbMigrateCommand(env),
		},
	}
}

func dbStatusCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "list the schema migrations and whether the database has each",
		Description: `Lists every migration keysync carries (version, file, applied or pending,
and when it was applied, RFC 3339 UTC). The database is opened read-only:
looking never migrates it, so a pending migration shows as pending (sync and
the other commands apply pending migrations when they open the database; db
migrate does it on its own). A database that does not exist yet has every
migration pending.

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
				fmt.Fprintf(env.Stderr, "no database at %s yet: `keysync db migrate` or `keysync sync` creates it\n", path)
				if ms, err = sqlite.Migrations(); err != nil {
					return err
				}
			} else {
				db, err := sqlite.OpenReadOnly(c.Context, path)
				if err != nil {
					return err
				}
				defer db.Close()
				if ms, err = db.MigrationStates(c.Context); err != nil {
					return err
				}
			}
			return writeRows(env.Stdout, format, ms)
		},
	}
}

func dbMigrateCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:  "migrate",
		Usage: "apply the pending schema migrations",
		Description: `Applies every pending migration (creating the database if there is none) and
prints each one it applied. It takes the run lock, so it never runs beside a
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
			lock, err := sqlite.Acquire(path)
			if err != nil {
				return err
			}
			defer lock.Release()
			before, err := migrationStates(c, path)
			if err != nil {
				return err
			}
			// Open applies what is pending; the lock keeps every other keysync out.
			db, err := sqlite.Open(c.Context, path)
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
		},
	}
}

// migrationStates is the status of the database at path, without migrating
// it; every migration is pending when there is no file yet.
func migrationStates(c *cli.Context, path string) ([]sqlite.Migration, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return sqlite.Migrations()
	}
	db, err := sqlite.OpenReadOnly(c.Context, path)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return db.MigrationStates(c.Context)
}

// requireDB refuses to go on when there is no database at path, so a command
// that opens it for writing does not create an empty one as a side effect.
func requireDB(path string) error {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no database at %s: run `keysync sync` first", path)
	}
	return nil
}
