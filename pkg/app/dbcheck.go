package app

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/keysync/keysync/pkg/sqlite"
)

// checkFailedError is db check's finding: the database has problems (exit 1).
type checkFailedError struct {
	path   string
	checks []string // the checks that found something, in order
}

func (e *checkFailedError) Error() string {
	return fmt.Sprintf("db check %s: problems found by %s", e.path, strings.Join(e.checks, ", "))
}

func dbCheckCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:  "check",
		Usage: "check the database's integrity, foreign keys and schema version",
		Description: `Runs SQLite's integrity_check (pages, indexes, constraints) and
foreign_key_check (rows that refer to a missing row), and checks that the file
is a keysync database with no migration this keysync does not carry. It prints
one line per check (or per problem) and exits 1 when anything is wrong,
naming the checks that failed. A pending migration is not a problem (the next
sync applies it). It opens the file read-only and takes no lock, so it can run
beside a sync; integrity_check reads the whole file.

Examples:
  keysync db check
  keysync db check --db /srv/backup/keysync-2025-01-31.db`,
		Flags: dbFlags(),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("db check takes no arguments, got %q", c.Args().Slice())
			}
			path, err := databasePath(c)
			if err != nil {
				return err
			}
			if err := requireDB(c, path); err != nil {
				return err
			}
			abs, err := filepath.Abs(path)
			if err != nil {
				return fmt.Errorf("db check %s: %w", path, err)
			}
			db, err := sqlite.OpenAny(c.Context, path)
			if err != nil {
				// A file SQLite cannot open is a finding, not a failure to look.
				check := sqlite.CheckIntegrity
				var notOurs *sqlite.NotKeysyncError
				if errors.As(err, &notOurs) {
					check = sqlite.CheckSchema
				}
				fmt.Fprintf(env.Stdout, "%s: %v\n", check, err)
				return &checkFailedError{path: abs, checks: []string{check}}
			}
			defer db.Close()
			schema, problems, err := db.Check(c.Context)
			if err != nil {
				return err
			}
			return reportCheck(env, abs, schema, problems)
		},
	}
}

// reportCheck prints one line per check, or per problem of a check, and
// returns a *checkFailedError naming the checks that found something.
func reportCheck(env Env, path string, schema sqlite.Schema, problems []sqlite.Problem) error {
	byCheck := map[string][]string{}
	for _, p := range problems {
		byCheck[p.Check] = append(byCheck[p.Check], p.Detail)
	}
	var failed []string
	for _, check := range []string{sqlite.CheckSchema, sqlite.CheckIntegrity, sqlite.CheckForeignKeys} {
		details := byCheck[check]
		if len(details) == 0 {
			if check == sqlite.CheckSchema {
				fmt.Fprintf(env.Stdout, "%s: ok (version %d; this keysync carries %d)\n", check, schema.Version, schema.Known)
			} else {
				fmt.Fprintf(env.Stdout, "%s: ok\n", check)
			}
			continue
		}
		failed = append(failed, check)
		for _, d := range details {
			fmt.Fprintf(env.Stdout, "%s: %s\n", check, d)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return &checkFailedError{path: path, checks: failed}
}
