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

func dbBackupCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:      "backup",
		Usage:     "write a consistent copy of the database to FILE",
		ArgsUsage: "FILE",
		Description: `Writes a copy of the database to FILE with SQLite's VACUUM INTO: one read
transaction, so it needs no lock and readers and even a running sync go on;
the copy holds the last committed state (a running sync's work is not in it
until that sync commits). The copy is compact (no free pages) and opens as
an ordinary keysync database: to restore, stop keysync and put it in place
of the database (delete a -wal and -shm file left beside the old one).

FILE must not exist (exit 2: a backup never overwrites anything) and its
directory must. The copy is written beside FILE, synced, then moved into
place, so FILE is complete or absent. A database a newer keysync migrated is
refused (exit 2).

Examples:
  keysync db backup /srv/backup/keysync-$(date +%F).db
  keysync db backup --db /var/lib/keysync/keysync.db /srv/backup/keysync.db`,
		Flags: dbFlags(),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("db backup: give the backup FILE as one argument, got %q", c.Args().Slice())
			}
			dest := c.Args().First()
			if _, err := os.Lstat(dest); err == nil {
				return usageErrorf("db backup: %s exists; a backup never overwrites a file (choose a new name)", dest)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("db backup: %w", err)
			}
			if st, err := os.Stat(filepath.Dir(dest)); err != nil || !st.IsDir() {
				return usageErrorf("db backup: %s: the directory %s does not exist (keysync never creates it)", dest, filepath.Dir(dest))
			}
			path, err := databasePath(c)
			if err != nil {
				return err
			}
			if err := requireDB(c, path); err != nil {
				return err
			}
			// Not OpenReadOnly: its query_only connection refuses VACUUM INTO.
			// This handle only reads the database; it never migrates it.
			db, err := sqlite.OpenWithoutMigrating(c.Context, path)
			if err != nil {
				return err
			}
			defer db.Close()
			var exists *sqlite.BackupExistsError
			switch err := db.Backup(c.Context, dest); {
			case errors.As(err, &exists):
				return usageErrorf("db backup: %v", err)
			case err != nil:
				return err
			}
			size := int64(0)
			if st, err := os.Stat(dest); err == nil {
				size = st.Size()
			}
			fmt.Fprintf(env.Stdout, "backed up %s to %s (%d bytes)\n", db.Path(), dest, size)
			return nil
		},
	}
}
