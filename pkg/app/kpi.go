package app

import (
	"context"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/sqlite"
)

// kpiRow is one run of `keysync kpi`: the KPIs SPEC §9 stores on runs.
type kpiRow struct {
	RunID                  int64              `csv:"run_id" json:"run_id"`
	StartedAt              string             `csv:"started_at" json:"started_at"`
	Status                 keysync.RunStatus  `csv:"status" json:"status"`
	Mode                   keysync.RunMode    `csv:"mode" json:"mode"`
	MissingInACount        sqlite.NullInt64   `csv:"missing_in_A_count" json:"missing_in_A_count"`
	MissingFromSystemCount sqlite.NullInt64   `csv:"missing_from_system_count" json:"missing_from_system_count"`
	DuplicateKeysCount     sqlite.NullInt64   `csv:"duplicate_keys_count" json:"duplicate_keys_count"`
	AutoApprovalRate       sqlite.NullFloat64 `csv:"auto_approval_rate" json:"auto_approval_rate"`
	DurationMs             sqlite.NullInt64   `csv:"duration_ms" json:"duration_ms"`
}

// kpiWindow sums up the runs of `keysync kpi`. run_success_rate is succeeded
// ÷ finished runs (succeeded + failed + blocked); the durations are those of
// the succeeded runs.
type kpiWindow struct {
	Runs             int64              `csv:"runs" json:"runs"`
	FirstRunID       keysync.OptionalID `csv:"first_run_id" json:"first_run_id"`
	LastRunID        keysync.OptionalID `csv:"last_run_id" json:"last_run_id"`
	Succeeded        int64              `csv:"succeeded" json:"succeeded"`
	Failed           int64              `csv:"failed" json:"failed"`
	Blocked          int64              `csv:"blocked" json:"blocked"`
	RunSuccessRate   sqlite.NullFloat64 `csv:"run_success_rate" json:"run_success_rate"`
	MedianDurationMs sqlite.NullFloat64 `csv:"median_duration_ms" json:"median_duration_ms"`
	MaxDurationMs    sqlite.NullInt64   `csv:"max_duration_ms" json:"max_duration_ms"`
}

func kpiCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:  "kpi",
		Usage: "KPIs per run and over a window of runs: findings, auto-approval, success rate, duration",
		Description: `For each of the last N finished runs (succeeded, failed or blocked, in either
mode; a run still running is left out, but one whose process died before its
final commit shows as interrupted and counts as failed), oldest first: missing_in_A_count,
missing_from_system_count, duplicate_keys_count, auto_approval_rate and
duration_ms. A failed or blocked run has no counts (empty in csv, null in json).

Over the window:
  run_success_rate     succeeded ÷ finished runs. A blocked run counts as not
                       successful: a safety guard stopped it, so that night
                       produced no reconciliation. A run forced past a guard
                       (--force) that succeeds counts as successful.
  median_duration_ms   median duration_ms of the succeeded runs (the mean of
                       the two middle ones for an even count)
  max_duration_ms      longest duration_ms of the succeeded runs

Table output shows both; --format json prints {"runs": [...], "window": {...}};
--format csv prints the per-run rows, or with --summary the window as one row.

Examples:
  keysync kpi
  keysync kpi --last 7
  keysync kpi --last 30 --summary --format csv
  keysync kpi --format json | jq .window.run_success_rate`,
		Flags: append(dbFlags(),
			&cli.IntFlag{Name: "last", Value: 30, Usage: "the window: the last `N` finished runs"},
			&cli.BoolFlag{Name: "summary", Usage: "print the window summary only"},
			formatFlag(),
		),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("kpi takes no arguments, got %q", c.Args().Slice())
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
			runs, err := h.finishedRuns(c.Context, last)
			if err != nil {
				return err
			}
			if len(runs) == 0 {
				h.log.Info("no finished runs yet: run `keysync sync` first", "database", h.Path())
			}
			rows, window := kpiRows(runs)
			switch {
			case h.format == "json" && c.Bool("summary"):
				return writeRows(env.Stdout, "json", window)
			case h.format == "json":
				return writeRows(env.Stdout, "json", struct {
					Runs   []kpiRow  `json:"runs"`
					Window kpiWindow `json:"window"`
				}{rows, window})
			case c.Bool("summary"):
				return writeRows(env.Stdout, h.format, []kpiWindow{window})
			case h.format == "csv":
				return writeRows(env.Stdout, "csv", rows)
			}
			if len(runs) == 0 {
				return nil
			}
			if err := writeTable(env.Stdout, rows); err != nil {
				return err
			}
			fmt.Fprintln(env.Stdout)
			return printWindow(env.Stdout, window)
		},
	}
}

// finishedRuns is the last finished runs of the window, oldest first, with
// a run killed before its final commit among them as interrupted.
func (h *historyDB) finishedRuns(ctx context.Context, last int) ([]sqlite.RunRecord, error) {
	// One row more: the run lock lets at most one run be really running.
	runs, err := h.r.FinishedRuns(ctx, last+1, true)
	if err != nil {
		return nil, err
	}
	if err := h.settle(ctx, runs); err != nil {
		return nil, err
	}
	runs = slices.DeleteFunc(runs, func(r sqlite.RunRecord) bool { return r.Status == keysync.RunRunning })
	if len(runs) > last {
		runs = runs[len(runs)-last:]
	}
	return runs, nil
}

// kpiRows turns finished runs (oldest first) into the per-run rows and the
// window summary.
func kpiRows(runs []sqlite.RunRecord) ([]kpiRow, kpiWindow) {
	rows := make([]kpiRow, len(runs))
	var w kpiWindow
	var durations []int64
	for i, r := range runs {
		rows[i] = kpiRow{RunID: r.RunID, StartedAt: r.StartedAt, Status: r.Status, Mode: r.Mode,
			MissingInACount: r.MissingInACount, MissingFromSystemCount: r.MissingFromSystemCount,
			DuplicateKeysCount: r.DuplicateKeysCount, AutoApprovalRate: r.AutoApprovalRate, DurationMs: r.DurationMs}
		switch r.Status {
		case keysync.RunSucceeded:
			w.Succeeded++
			if r.DurationMs.Valid {
				durations = append(durations, r.DurationMs.Int64)
			}
		case keysync.RunFailed, keysync.RunInterrupted:
			w.Failed++
		case keysync.RunBlocked:
			w.Blocked++
		}
	}
	w.Runs = int64(len(runs))
	if len(runs) > 0 {
		w.FirstRunID = keysync.OptionalID(runs[0].RunID)
		w.LastRunID = keysync.OptionalID(runs[len(runs)-1].RunID)
		w.RunSuccessRate = sqlite.NullFloat64{Float64: float64(w.Succeeded) / float64(w.Runs), Valid: true}
	}
	if n := len(durations); n > 0 {
		slices.Sort(durations)
		median := float64(durations[n/2])
		if n%2 == 0 {
			median = float64(durations[n/2-1]+durations[n/2]) / 2
		}
		w.MedianDurationMs = sqlite.NullFloat64{Float64: median, Valid: true}
		w.MaxDurationMs = sqlite.NullInt64{Int64: durations[n-1], Valid: true}
	}
	return rows, w
}

// printWindow is the table form of the window summary: one line per figure.
func printWindow(out io.Writer, w kpiWindow) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	str := func(v interface{ MarshalCSV() (string, error) }) string {
		s, _ := v.MarshalCSV()
		if s == "" {
			return "-"
		}
		return s
	}
	fmt.Fprintf(tw, "window\truns %s to %s (%d finished)\n", str(w.FirstRunID), str(w.LastRunID), w.Runs)
	fmt.Fprintf(tw, "run_success_rate\t%s\t(%d succeeded, %d failed, %d blocked)\n", str(w.RunSuccessRate), w.Succeeded, w.Failed, w.Blocked)
	fmt.Fprintf(tw, "median_duration_ms\t%s\n", str(w.MedianDurationMs))
	fmt.Fprintf(tw, "max_duration_ms\t%s\n", str(w.MaxDurationMs))
	return tw.Flush()
}
