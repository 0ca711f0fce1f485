package app

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

func pruneCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:      "prune",
		Usage:     "delete the findings (pending ones too) and rejected rows of old runs",
		ArgsUsage: " ",
		Description: `Deletes the findings, pending findings (what grace_period held back) and
rejected rows of every run older than the newest --keep-runs succeeded normal
runs (failed and blocked runs have none; dry runs take no place among the kept:
one after the oldest kept run stays, an older one goes), in one transaction
under the run lock (exit 3 when a run holds it). The registry, the
audit log, the runs and run_systems rows (the run log, KPIs and input
fingerprints) are never touched, nor staging, which holds the latest run only.
A pruned run's reports can no longer be rewritten with keysync report, and
finding ages only count the runs that are kept.

SQLite reuses the freed pages; to give them back to the file system, run
keysync db vacuum off-hours (it rewrites the whole file). With retention:
{ keep_runs: N } in the config, every successful normal sync prunes the same
way in its final transaction.

Examples:
  keysync prune --keep-runs 90
  keysync prune --keep-runs 30 --config /etc/keysync/keysync-config.yaml`,
		Flags: append(dbFlags(),
			&cli.IntFlag{Name: "keep-runs", Usage: "keep the findings of the newest `N` succeeded normal runs (N ≥ 1; required)"},
		),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("prune takes no arguments, got %q", c.Args().Slice())
			}
			if !c.IsSet("keep-runs") {
				return usageErrorf("prune: --keep-runs N is required")
			}
			keep := c.Int("keep-runs")
			if keep < 1 {
				return usageErrorf("--keep-runs: %d must be at least 1", keep)
			}
			path, err := databasePath(c)
			if err != nil {
				return err
			}
			if err := requireDB(c, path); err != nil {
				return err
			}
			s, err := openStore(c.Context, env, logger(c, env.Stderr), path, true)
			if err != nil {
				return err
			}
			defer s.Close()
			p, err := s.Prune(c.Context, keep)
			if err != nil {
				return err
			}
			switch {
			case p.KeptFrom == 0:
				fmt.Fprintln(env.Stdout, "no succeeded normal run yet: nothing to prune")
			case p.Runs == 0:
				fmt.Fprintf(env.Stdout, "nothing to prune: no findings or rejected rows before run %d\n", p.KeptFrom)
			case p.Pending > 0:
				fmt.Fprintf(env.Stdout, "removed %d findings, %d pending findings and %d rejected rows of %d runs before run %d\n",
					p.Findings, p.Pending, p.Rejected, p.Runs, p.KeptFrom)
			default:
				fmt.Fprintf(env.Stdout, "removed %d findings and %d rejected rows of %d runs before run %d\n",
					p.Findings, p.Rejected, p.Runs, p.KeptFrom)
			}
			return nil
		},
	}
}
