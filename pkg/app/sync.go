package app

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/keysync/keysync/pkg/config"
	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/notify"
	"github.com/keysync/keysync/pkg/progress"
	"github.com/keysync/keysync/pkg/reconcile"
	"github.com/keysync/keysync/pkg/sqlite"
)

func syncCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:  "sync",
		Usage: "run one reconciliation: read every source, record findings, write the reports",
		Description: `Reads every configured source, stages the normalized keys in staging files
beside the database, finds keys missing in the authority (proposing master
keys), keys of the authority missing from each peer, and duplicates, then
rewrites the reports in the output directory. A failed run changes nothing
but the run log.
A dry run writes its reports to <output_dir>/dry-run/ unless --output is
given, so the nightly reports are never replaced by a dry run's.
The safety guards are on by default: an empty source, more than half of a
source's rows rejected, or accepted rows halved since the last normal run
block the run (exit 4) before anything reaches the registry; --force runs
anyway. A source whose input is byte-identical to the previous normal run's
is logged as a warning.
With notify: in the config, the outcome is POSTed to a webhook afterwards
(a failed notification is logged and audited, never fails the run). On a
terminal, stderr shows each source's progress and the phases' times.
The run's summary goes to stdout: a table on a terminal, CSV (the rows of
reconciliation_summary.csv) otherwise; --summary-format chooses.

Examples:
  keysync sync --config keysync-config.yaml
  keysync sync --dry-run                  # compute and report into output/dry-run, change no registry row
  keysync sync --auto-approve --format json
  keysync sync --force                    # run although a safety guard would block it
  keysync sync --fail-on-findings         # exit 5 when anything is missing or duplicated
  keysync sync --summary-format json | jq '.systems[] | select(.missing_in_A > 0)'
  keysync sync --db /var/lib/keysync/keysync.db --output /srv/reports`,
		Flags: append(syncFlags(),
			&cli.BoolFlag{Name: "fail-on-findings", Usage: "exit 5 when the run found anything (for CI pipelines)"},
			&cli.StringFlag{Name: "summary-format", Usage: "the run summary on stdout in `FORMAT`: table, csv or json (default: table on a terminal, csv otherwise)"},
		),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("sync takes no arguments, got %q", c.Args().Slice())
			}
			format, err := chooseFormat(env, "--summary-format", c.String("summary-format"))
			if err != nil {
				return err
			}
			res, err := syncOnce(c, env, stderrProgress(c, env))
			if err != nil {
				return err
			}
			if err := printRunSummary(env, format, res); err != nil {
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
// reconciliation under the run lock, then tells the config's notify webhook
// how it went (a notification never changes the outcome). `sync` and
// `schedule` share it. term, when not nil, shows the run's progress.
func syncOnce(c *cli.Context, env Env, term *progress.Terminal) (reconcile.Result, error) {
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
	log := logger(c, logWriter(env, term))
	var opts []reconcile.Option
	if term != nil {
		opts = append(opts, reconcile.WithObserver(term))
	}
	run := notify.Run{Mode: keysync.ModeNormal, Config: cfg.Path, Started: env.Now()}
	if cfg.DryRun {
		run.Mode = keysync.ModeDryRun
	}
	notifier := notify.New(cfg.Notify, log)
	s, err := openSyncStore(c, env, log, cfg.Database)
	if err != nil {
		run.Err, run.Finished = err, env.Now()
		notifier.AfterRun(c.Context, nil, run)
		return reconcile.Result{}, err
	}
	defer s.Close()
	res, err := reconcile.Run(c.Context, cfg, s.DB, c.Bool("force"), log, opts...)
	if term != nil {
		term.Finish()
	}
	run.Result, run.Err, run.Finished = res, err, env.Now()
	notifier.AfterRun(c.Context, s.DB, run)
	return res, err
}

// openSyncStore opens the database of a run, under the run lock. A missing
// database is created only at the config's own database path, the first run
// of a new setup, and only in a directory that exists; --db naming a missing
// file is refused (a typo must not start an empty history).
func openSyncStore(c *cli.Context, env Env, log *slog.Logger, path string) (*store, error) {
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return openStore(c.Context, env, log, path, true)
	}
	if c.String("db") != "" {
		return nil, requireDB(c, path)
	}
	if err := sqlite.RequireDir(path); err != nil {
		return nil, usageErrorf("%v: create the directory, or set database: in the config", err)
	}
	lock, err := sqlite.Acquire(path)
	if err != nil {
		return nil, err
	}
	db, created, err := sqlite.Create(c.Context, path)
	if err != nil {
		lock.Release()
		return nil, err
	}
	if created {
		log.Warn("created database", "path", db.Path())
	}
	db.Now, db.Log = env.Now, log
	return &store{DB: db, lock: lock}, nil
}

// stderrProgress is the progress display of a run on stderr: nil when
// stderr is not a terminal, or --quiet asks for warnings only.
func stderrProgress(c *cli.Context, env Env) *progress.Terminal {
	if flagSet(c, "quiet") {
		return nil
	}
	return progress.Detect(env.Stderr)
}

// logWriter is where a run's logs go: through term when there is one, so
// that they scroll above its live line.
func logWriter(env Env, term *progress.Terminal) io.Writer {
	if term == nil {
		return env.Stderr
	}
	return term.Writer()
}

// syncFlags are the flags of one reconciliation, shared by sync and schedule.
func syncFlags() []cli.Flag {
	return append(dbFlags(),
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "the output `DIR` (overrides output_dir)"},
		&cli.BoolFlag{Name: "dry-run", Usage: "compute and write reports (into <output_dir>/dry-run unless --output), but change nothing in the registry"},
		&cli.BoolFlag{Name: "auto-approve", Usage: "make this run's proposed master keys Active"},
		&cli.StringSliceFlag{Name: "format", Usage: "also write reports in `FORMAT` (json)"},
		&cli.BoolFlag{Name: "force", Usage: "run even if a safety guard would block it"},
	)
}

// runSummary is the JSON form of sync's summary on stdout.
type runSummary struct {
	RunID   int64                `json:"run_id"`
	Mode    keysync.RunMode      `json:"mode"`
	Systems []keysync.SummaryRow `json:"systems"`
}

// printRunSummary shows a finished run on stdout: a table for the person at
// the terminal, or the rows of reconciliation_summary.csv in CSV, or JSON
// with the run's id and mode, for a script.
func printRunSummary(env Env, format string, res reconcile.Result) error {
	switch format {
	case "csv":
		return writeRows(env.Stdout, "csv", res.Summary)
	case "json":
		rows := res.Summary
		if rows == nil {
			rows = []keysync.SummaryRow{}
		}
		return writeRows(env.Stdout, "json", runSummary{RunID: res.RunID, Mode: res.Mode, Systems: rows})
	}
	w := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "run\t%d\t(%s)\t\n", res.RunID, res.Mode)
	fmt.Fprintln(w, "system\trole\trows\trejected\tkeys\tduplicates\tmatched\tmissing_in_A\tmissing_from_system\tpending\tsuppressed\tfiltered\t")
	for _, r := range res.Summary {
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", r.System, r.Role, r.RowsRead, r.RowsRejected,
			r.DistinctKeys, r.DuplicateKeys, r.Matched, r.MissingInA, r.MissingFromSystem, r.Pending, r.Suppressed, r.Filtered)
	}
	return w.Flush()
}
