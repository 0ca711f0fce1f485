package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/sqlite"
)

func runsCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:  "runs",
		Usage: "the run log: every sync with its status, KPIs, duration and inputs",
		Subcommands: []*cli.Command{
			runsListCommand(env),
			runsShowCommand(env),
		},
	}
}

func runsListCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list the latest runs, newest first",
		Description: `One row per run: run_id, started_at, finished_at, status (running,
succeeded, failed, blocked, interrupted), mode (normal, dry-run), duration_ms,
the KPI counts of the run and its errors. A failed or blocked run has no KPIs.
A run whose row says running while no process holds the run lock was killed
before its final commit: it shows as interrupted (the next sync records it
failed, errors "interrupted").

Examples:
  keysync runs list
  keysync runs list --last 7 --format csv > last-week.csv
  keysync runs list --last 1 --format json`,
		Flags: append(dbFlags(),
			&cli.IntFlag{Name: "last", Value: 20, Usage: "show the last `N` runs"},
			formatFlag(),
		),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("runs list takes no arguments, got %q", c.Args().Slice())
			}
			last := c.Int("last")
			if last < 1 {
				return usageErrorf("--last: %d is not a positive number of runs", last)
			}
			h, err := openHistory(c, env)
			if err != nil {
				return err
			}
			defer h.Close()
			runs, err := h.r.Runs(c.Context, last)
			if err != nil {
				return err
			}
			if err := h.settle(c.Context, runs); err != nil {
				return err
			}
			if len(runs) == 0 {
				h.log.Info("no runs recorded yet: run `keysync sync` first", "database", h.Path())
				if h.format == "table" {
					return nil
				}
			}
			return writeRows(env.Stdout, h.format, runs)
		},
	}
}

// runShowJSON is `runs show --format json`: the run row, the config it ran
// with, and its per-system summary with the input fingerprints.
type runShowJSON struct {
	sqlite.RunRecord
	ConfigPath string             `json:"config_path"`
	Systems    []sqlite.RunSystem `json:"systems"`
	Inputs     []sqlite.RunInput  `json:"inputs"`
}

func runsShowCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:      "show",
		Usage:     "show one run: its status, KPIs, errors and per-system summary with input fingerprints",
		ArgsUsage: "RUN_ID",
		Description: `Shows the run row (status, mode, times, duration, KPIs, errors, config file)
and, per system, the counts of reconciliation_summary.csv plus the input the
source read: input_path, input_bytes and input_sha256, so the run can be
reproduced from the same files. Then the files each csv or json source read
(several for a glob with pick: all), with their bytes and SHA-256 as stored
and the records that came from each. A failed or blocked run has no
per-system summary.

--format json prints one object (the run's fields, config_path, systems,
inputs); --format csv prints the per-system rows only (runs list has the run
row).

Examples:
  keysync runs show 42
  keysync runs show --format json 42
  keysync runs show --format csv 42 | cut -d, -f2,11-13`,
		Flags: append(dbFlags(), formatFlag()),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("runs show: name one run id, got %q", c.Args().Slice())
			}
			runID, err := parseRunArg(c.Args().First())
			if err != nil {
				return err
			}
			h, err := openHistory(c, env)
			if err != nil {
				return err
			}
			defer h.Close()
			run, err := h.run(c.Context, runID)
			if err != nil {
				return err
			}
			cfgPath, err := h.r.RunConfigPath(c.Context, runID)
			if err != nil {
				return err
			}
			systems, err := h.r.RunSystems(c.Context, runID)
			if err != nil {
				return err
			}
			inputs, err := h.r.RunInputs(c.Context, runID)
			if err != nil {
				return err
			}
			switch h.format {
			case "json":
				if inputs == nil {
					inputs = []sqlite.RunInput{}
				}
				return writeRows(env.Stdout, "json", runShowJSON{RunRecord: run, ConfigPath: cfgPath, Systems: systems, Inputs: inputs})
			case "csv":
				return writeRows(env.Stdout, "csv", systems)
			}
			return printRunDetail(env.Stdout, run, cfgPath, systems, inputs)
		},
	}
}

// printRunDetail is the table form of `runs show`: the run as name/value lines,
// then its systems, then the files their sources read.
func printRunDetail(out io.Writer, run sqlite.RunRecord, cfgPath string, systems []sqlite.RunSystem, inputs []sqlite.RunInput) error {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	field := func(name string, v any) {
		if m, ok := v.(interface{ MarshalCSV() (string, error) }); ok {
			v, _ = m.MarshalCSV()
		}
		if v == "" {
			v = "-"
		}
		fmt.Fprintf(w, "%s\t%v\n", name, v)
	}
	field("run_id", run.RunID)
	field("status", run.Status)
	field("mode", run.Mode)
	field("started_at", run.StartedAt)
	field("finished_at", run.FinishedAt)
	field("duration_ms", run.DurationMs)
	field("missing_in_A_count", run.MissingInACount)
	field("missing_from_system_count", run.MissingFromSystemCount)
	field("duplicate_keys_count", run.DuplicateKeysCount)
	field("auto_approval_rate", run.AutoApprovalRate)
	field("errors", run.Errors)
	field("config_path", cfgPath)
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out)
	if len(systems) == 0 {
		_, err := fmt.Fprintf(out, "no per-system summary: the run is %s\n", run.Status)
		return err
	}
	if err := writeTable(out, systems); err != nil {
		return err
	}
	if len(inputs) == 0 {
		return nil
	}
	fmt.Fprintln(out)
	return writeTable(out, inputs)
}

// historyDB is an open database for the read-only history commands, with the
// output format and the logger of the command.
type historyDB struct {
	*store
	r      *sqlite.Reader
	format string
	log    *slog.Logger
}

// openHistory checks the output format, then opens the database named by
// --db or the config. A missing database is a clear error, not an empty one.
func openHistory(c *cli.Context, env Env) (*historyDB, error) {
	format, err := outputFormat(c, env)
	if err != nil {
		return nil, err
	}
	s, err := openFromFlags(c, env, false)
	if err != nil {
		return nil, err
	}
	return &historyDB{store: s, r: s.Reader(), format: format, log: logger(c, env.Stderr)}, nil
}

// run reads one run; an unknown id is a usage error naming it.
func (h *historyDB) run(ctx context.Context, runID int64) (sqlite.RunRecord, error) {
	run, err := h.r.Run(ctx, runID)
	var nf *sqlite.RunNotFoundError
	if errors.As(err, &nf) {
		return run, usageErrorf("%v (see `keysync runs list`)", err)
	}
	if err != nil {
		return run, err
	}
	runs := []sqlite.RunRecord{run}
	err = h.settle(ctx, runs)
	return runs[0], err
}

// settle shows each run of runs whose row says running as interrupted when
// no process holds the run lock: its process died before the final commit.
// The stored row is left as it is (the next writer records it failed). The
// lock is probed only when a row says running, and such a row is read again
// after the probe, so a run that finished in between shows its real status.
func (h *historyDB) settle(ctx context.Context, runs []sqlite.RunRecord) error {
	if !slices.ContainsFunc(runs, func(r sqlite.RunRecord) bool { return r.Status == keysync.RunRunning }) {
		return nil
	}
	held, err := sqlite.Held(h.Path())
	if err != nil || held {
		return err
	}
	for i, r := range runs {
		if r.Status != keysync.RunRunning {
			continue
		}
		fresh, err := h.r.Run(ctx, r.RunID)
		if err != nil {
			return err
		}
		if fresh.Status == keysync.RunRunning {
			fresh.Status = keysync.RunInterrupted
		}
		runs[i] = fresh
	}
	return nil
}

// runWithFindings is --run when given (it must exist and have succeeded: a
// failed or blocked run has no findings), else the latest succeeded normal
// run (a dry run only through --run). ok is false when there is none yet;
// the caller says so and stops.
func (h *historyDB) runWithFindings(c *cli.Context, what string) (run sqlite.RunRecord, ok bool, err error) {
	if c.IsSet("run") {
		if run, err = h.run(c.Context, c.Int64("run")); err != nil {
			return run, false, err
		}
		if run.Status != keysync.RunSucceeded {
			msg := ""
			if run.Errors != "" {
				msg = " (" + run.Errors + ")"
			}
			return run, false, usageErrorf("run %d is %s%s: it has no %s", run.RunID, run.Status, msg, what)
		}
	} else {
		id, ok, err := h.r.LatestNormalRun(c.Context)
		if err != nil || !ok {
			return run, false, err
		}
		if run, err = h.r.Run(c.Context, id); err != nil {
			return run, false, err
		}
	}
	if err := h.checkNotPruned(c.Context, run.RunID); err != nil {
		return run, false, err
	}
	return run, true, nil
}

// checkNotPruned refuses a run whose findings `keysync prune` deleted, so
// that an empty answer is never mistaken for a clean run.
func (h *historyDB) checkNotPruned(ctx context.Context, runID int64) error {
	o, ok, err := h.r.RunOutcome(ctx, runID)
	if err != nil {
		return err
	}
	if ok && o.Pruned {
		return usageErrorf("the findings of run %d were pruned (keysync prune): see `keysync runs show %d` for its counts", runID, runID)
	}
	return nil
}

// historyRunFlag is --run of the history commands.
func historyRunFlag(usage string) cli.Flag {
	return &cli.Int64Flag{Name: "run", Usage: usage}
}

// parseRunArg reads a RUN_ID argument.
func parseRunArg(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 {
		return 0, usageErrorf("%q is not a run id (a positive number; see `keysync runs list`)", s)
	}
	return id, nil
}
