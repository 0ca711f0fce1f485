package app

import (
	"fmt"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/keysync/keysync/pkg/config"
	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/report"
)

func reportCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:      "report",
		Usage:     "rewrite the reports of a past run from the database",
		ArgsUsage: " ",
		Description: `Rewrites the seven report artifacts of the succeeded run --run from the
database, into --output (default: the config's output_dir; for a dry run, its
dry-run/ subdirectory, as the run itself), each written to a temporary name
and renamed into place. The run-scoped reports
(reconciliation_summary, diff_missing_in_A, diff_missing_from_system,
exceptions, rejected_rows) are exactly those of that run; master_key_registry
and audit_log are written as they are now, as after any run.

The formats are those a sync writes: the config's output.formats (CSV when
the config is not read, which is when both --db and --output are given), plus
each --format.
It takes the run lock, so it never mixes its files with those of a running
sync (exit 3 when a run holds it). An unknown run, a run that did not succeed,
or a run whose findings were pruned exits 2.

Examples:
  keysync report --run 42                      # into the config's output_dir
  keysync report --run 42 --output /tmp/run-42 --format json
  keysync report --db /var/lib/keysync/keysync.db --run 7 --output ./run-7`,
		Flags: append(dbFlags(),
			&cli.Int64Flag{Name: "run", Usage: "the run `ID` whose reports to rewrite (required)"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "the output `DIR` (default: the config's output_dir)"},
			&cli.StringSliceFlag{Name: "format", Usage: "also write reports in `FORMAT` (json)"},
		),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("report takes no arguments, got %q", c.Args().Slice())
			}
			if !c.IsSet("run") {
				return usageErrorf("report: --run ID is required")
			}
			runID := c.Int64("run")
			if runID < 1 {
				return usageErrorf("--run: %d is not a run id (they count from 1)", runID)
			}
			dbPath, outDir, formats, err := reportTarget(c)
			if err != nil {
				return err
			}
			if err := requireDB(c, dbPath); err != nil {
				return err
			}
			s, err := openStore(c.Context, env, logger(c, env.Stderr), dbPath, true)
			if err != nil {
				return err
			}
			defer s.Close()
			r := s.Reader()
			run, ok, err := r.RunOutcome(c.Context, runID)
			if err != nil {
				return err
			}
			switch {
			case !ok:
				return usageErrorf("report: there is no run %d in %s", runID, s.Path())
			case run.Status != keysync.RunSucceeded:
				return usageErrorf("report: run %d did not succeed (status %s): it has no reports to rewrite", runID, run.Status)
			case run.Pruned:
				return usageErrorf("report: the findings of run %d were pruned (keysync prune): its reports can no longer be rewritten", runID)
			}
			if run.Mode == keysync.ModeDryRun && c.String("output") == "" {
				outDir = config.DryRunOutputDir(outDir) // where the dry run wrote them
			}
			if err := report.WriteFrom(c.Context, outDir, formats, r, runID); err != nil {
				return err
			}
			for _, name := range []string{report.SummaryName, report.MissingInAName, report.MissingFromSystemName,
				report.RegistryName, report.AuditName, report.ExceptionsName, report.RejectedName} {
				for _, f := range formats {
					fmt.Fprintln(env.Stdout, filepath.Join(outDir, name+"."+f))
				}
			}
			return nil
		},
	}
}

// reportTarget is the database, the output directory and the formats of
// `keysync report`: the flags, with the config filling in what they leave out.
func reportTarget(c *cli.Context) (dbPath, outDir string, formats []string, err error) {
	extra := c.StringSlice("format")
	for _, f := range extra {
		if !report.ValidFormat(f) {
			return "", "", nil, usageErrorf("--format: %q is not csv or json", f)
		}
	}
	dbPath, outDir = c.String("db"), c.String("output")
	if dbPath == "" || outDir == "" {
		cfg, err := loadConfig(c)
		if err != nil {
			return "", "", nil, err
		}
		if err := cfg.ApplyOverrides(config.Overrides{Database: dbPath, OutputDir: outDir}); err != nil {
			return "", "", nil, err
		}
		dbPath, outDir = cfg.Database, cfg.OutputDir
		formats = append([]string(nil), cfg.Output.Formats...)
	}
	if outDir, err = filepath.Abs(outDir); err != nil {
		return "", "", nil, fmt.Errorf("report: --output %s: %w", c.String("output"), err)
	}
	return dbPath, outDir, report.Formats(append(formats, extra...)...), nil
}
