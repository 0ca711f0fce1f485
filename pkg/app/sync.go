package app

import (
	"fmt"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/keysync/keysync/pkg/config"
	"github.com/keysync/keysync/pkg/reconcile"
)

func syncCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:  "sync",
		Usage: "run one reconciliation: read every source, record findings, write the reports",
		Description: `Reads every configured source, stages the normalized keys in the database,
finds keys missing in the authority (proposing master keys), keys of the
authority missing from each peer, and duplicates, then rewrites the reports
in the output directory. A failed run changes nothing but the run log.

Examples:
  keysync sync --config keysync-config.yaml
  keysync sync --dry-run                  # compute and report, change no registry row
  keysync sync --auto-approve --format json
  keysync sync --force                    # run although a safety guard would block it
  keysync sync --fail-on-findings         # exit 5 when anything is missing or duplicated
  keysync sync --db /var/lib/keysync/keysync.db --output /srv/reports`,
		Flags: append(syncFlags(),
			&cli.BoolFlag{Name: "fail-on-findings", Usage: "exit 5 when the run found anything (for CI pipelines)"},
		),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("sync takes no arguments, got %q", c.Args().Slice())
			}
			res, err := syncOnce(c, env)
			if err != nil {
				return err
			}
			if err := printRunSummary(env, res); err != nil {
				return err
			}
			if c.Bool("fail-on-findings") && res.KPIs.MissingInA+res.KPIs.MissingFromSystem+res.KPIs.DuplicateKeys > 0 {
				return errFindings
			}
			return nil
		},
	}
}

// syncOnce loads the config, applies the sync flags of c and runs one
// reconciliation under the run lock. `sync` and `schedule` share it.
func syncOnce(c *cli.Context, env Env) (reconcile.Result, error) {
	cfg, err := loadConfig(c)
	if err != nil {
		return reconcile.Result{}, err
	}
	o := config.Overrides{Database: c.String("db"), OutputDir: c.String("output"), Formats: c.StringSlice("format")}
	if c.IsSet("dry-run") {
		v := c.Bool("dry-run")
		o.DryRun = &v
	}
	if c.IsSet("auto-approve") {
		v := c.Bool("auto-approve")
		o.AutoApprove = &v
	}
	if err := cfg.ApplyOverrides(o); err != nil {
		return reconcile.Result{}, err
	}
	log := logger(c, env.Stderr)
	s, err := openStore(c.Context, env, log, cfg.Database, true)
	if err != nil {
		return reconcile.Result{}, err
	}
	defer s.Close()
	return reconcile.Run(c.Context, cfg, s.DB, c.Bool("force"), log)
}

// syncFlags are the flags of one reconciliation, shared by sync and schedule.
func syncFlags() []cli.Flag {
	return append(dbFlags(),
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "the output `DIR` (overrides output_dir)"},
		&cli.BoolFlag{Name: "dry-run", Usage: "compute and write reports, but change nothing in the registry"},
		&cli.BoolFlag{Name: "auto-approve", Usage: "make this run's proposed master keys Active"},
		&cli.StringSliceFlag{Name: "format", Usage: "also write reports in `FORMAT` (json)"},
		&cli.BoolFlag{Name: "force", Usage: "run even if a safety guard would block it"},
	)
}

// printRunSummary shows a finished run on stdout, for the person at the terminal.
func printRunSummary(env Env, res reconcile.Result) error {
	w := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "run\t%d\t(%s)\t\n", res.RunID, res.Mode)
	fmt.Fprintln(w, "system\trole\trows\trejected\tkeys\tduplicates\tmatched\tmissing_in_A\tmissing_from_system\t")
	for _, r := range res.Summary {
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", r.System, r.Role, r.RowsRead, r.RowsRejected,
			r.DistinctKeys, r.DuplicateKeys, r.Matched, r.MissingInA, r.MissingFromSystem)
	}
	return w.Flush()
}
