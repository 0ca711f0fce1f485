package app

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
)

func dbVacuumCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:  "vacuum",
		Usage: "compact the database file under the run lock",
		Description: `Rewrites the database with SQLite's VACUUM, giving the pages freed by prune
and retention back to the file system, and prints the file's size before and
after. It takes the run lock (exit 3 when a sync or another writer holds it)
and needs free disk space about the size of the database while it works;
readers may go on. Run it off-hours: it rewrites the whole file.

Examples:
  keysync db vacuum
  keysync db vacuum --db /var/lib/keysync/keysync.db`,
		Flags: dbFlags(),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("db vacuum takes no arguments, got %q", c.Args().Slice())
			}
			s, err := openFromFlags(c, env, true)
			if err != nil {
				return err
			}
			defer s.Close()
			before := fileSize(s.Path())
			if err := s.Vacuum(c.Context); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "vacuumed %s: %d bytes before, %d after\n", s.Path(), before, fileSize(s.Path()))
			return nil
		},
	}
}

// fileSize is the size of the database at path with its WAL file, the space
// it takes on disk; a file that cannot be read counts 0.
func fileSize(path string) int64 {
	var n int64
	for _, p := range []string{path, path + "-wal"} {
		if st, err := os.Stat(p); err == nil {
			n += st.Size()
		}
	}
	return n
}
