package app

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/sqlite"
)

// The kinds of change, in the order they are printed.
const (
	changeNew      = "new"
	changeResolved = "resolved"
	// changeSuppressed is a finding of the baseline that the run did not
	// report because a suppression silenced it: not resolved, its key still
	// does not match.
	changeSuppressed = "suppressed"
	// changePending is a missing_from_system finding of the baseline that the
	// run held back because grace_period made the key too young to report
	// (see pending_findings): the peer still lacks it.
	changePending = "pending"
	changeOpen    = "open"
)

// changeRow is one row of `keysync changes`. For a new or open finding the
// age is its current streak up to the run; for a resolved one, the streak it
// had up to the baseline, when it was last seen.
type changeRow struct {
	RunID         int64               `csv:"run_id" json:"run_id"`
	BaselineRunID keysync.OptionalID  `csv:"baseline_run_id" json:"baseline_run_id"`
	Change        string              `csv:"change" json:"change"`
	Kind          keysync.FindingKind `csv:"kind" json:"kind"`
	System        string              `csv:"system" json:"system"`
	Key           string              `csv:"key" json:"key"`
	MasterKey     string              `csv:"master_key" json:"master_key"`
	Status        string              `csv:"status" json:"status"`
	FirstSeenRun  int64               `csv:"first_seen_run" json:"first_seen_run"`
	FirstSeenAt   string              `csv:"first_seen_at" json:"first_seen_at"`
	AgeRuns       int64               `csv:"age_runs" json:"age_runs"`
	AgeDays       int64               `csv:"age_days" json:"age_days"`
}

func changesCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:  "changes",
		Usage: "what changed since the previous successful run: new, resolved and still-open findings with their age",
		Description: `The operator's morning view. Compares a run (default: the latest normal run
that succeeded; a dry run only through --run) with its baseline, the newest
succeeded NORMAL run before it, and lists the findings that are new, the
findings that were resolved, and every finding still open with its age.

A finding is identified by (kind, system, key). Its age counts the run series:
the succeeded normal runs, plus the run being looked at. Failed and blocked
runs found nothing, so they neither extend nor break a streak; a dry run is
compared with the normal run before it but is never a baseline itself, since
it changed nothing. age_runs is the length of the finding's current unbroken
streak (1 = new in this run), first_seen_run its first run, age_days the whole
days from that run's start to this run's start. For a resolved finding the
age is the streak it had when last seen, in the baseline. Ages only reach as
far back as findings are kept: when prune has deleted the findings of the
baseline, there is nothing to compare with and changes exits 2.

A finding of the baseline that the run did not report because a suppression
(keysync suppress add) silenced it is listed as suppressed, and one that
grace_period held back (the peer still lacks the key, but the authority's row
is now younger than the grace period, e.g. by a fresh last_seen_at) as
pending: only a finding whose key now matches is resolved.
Table output groups the rows (new, resolved, suppressed, pending, still open
oldest first); csv and json give one row per finding with a change column
(new, resolved, suppressed, pending, open).

Examples:
  keysync changes
  keysync changes --run 41
  keysync changes --format csv | awk -F, '$3 == "new"'`,
		Flags: append(dbFlags(),
			historyRunFlag("the run `ID` to compare with its baseline (default: the latest succeeded normal run)"),
			formatFlag(),
		),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("changes takes no arguments, got %q", c.Args().Slice())
			}
			h, err := openHistory(c, env)
			if err != nil {
				return err
			}
			defer h.Close()
			run, ok, err := h.runWithFindings(c, "findings to compare")
			if err != nil {
				return err
			}
			if !ok {
				h.log.Info("no run has succeeded yet: run `keysync sync` first", "database", h.Path())
				if h.format == "table" {
					return nil
				}
				return writeRows(env.Stdout, h.format, []changeRow{})
			}
			current, err := h.r.FindingAges(c.Context, run.RunID)
			if err != nil {
				return err
			}
			baseID, hasBase, err := h.r.Baseline(c.Context, run.RunID)
			if err != nil {
				return err
			}
			var previous []sqlite.AgedFinding
			var base sqlite.RunRecord
			if hasBase {
				// Without the baseline's findings every finding would look
				// new and none resolved.
				if err := h.checkNotPruned(c.Context, baseID); err != nil {
					return fmt.Errorf("run %d is compared with run %d, but %w", run.RunID, baseID, err)
				}
				if previous, err = h.r.FindingAges(c.Context, baseID); err != nil {
					return err
				}
				if base, err = h.r.Run(c.Context, baseID); err != nil {
					return err
				}
			}
			rows := compareFindings(run.RunID, baseID, current, previous)
			if rows, err = markPending(c, h.r, run.RunID, rows); err != nil {
				return err
			}
			if rows, err = markSuppressed(c, h.r, run, rows); err != nil {
				return err
			}
			if h.format != "table" {
				return writeRows(env.Stdout, h.format, rows)
			}
			var basePtr *sqlite.RunRecord
			if hasBase {
				basePtr = &base
			}
			return printChanges(env.Stdout, run, basePtr, rows)
		},
	}
}

// compareFindings sorts the findings of a run into new and still open, and
// adds those of its baseline (baseID, 0 for none) that it no longer has as
// resolved. Rows come new, resolved, open; new and resolved by kind, system
// and key; open oldest first.
func compareFindings(runID, baseID int64, current, previous []sqlite.AgedFinding) []changeRow {
	type identity struct {
		kind        keysync.FindingKind
		system, key string
	}
	row := func(change string, f sqlite.AgedFinding) changeRow {
		return changeRow{RunID: runID, BaselineRunID: keysync.OptionalID(baseID), Change: change,
			Kind: f.Kind, System: f.System, Key: f.Key, MasterKey: f.MasterKey, Status: f.Status,
			FirstSeenRun: f.FirstSeenRun, FirstSeenAt: f.FirstSeenAt, AgeRuns: f.AgeRuns, AgeDays: f.AgeDays}
	}
	now := map[identity]bool{}
	var added, resolved, open []changeRow
	for _, f := range current {
		now[identity{f.Kind, f.System, f.Key}] = true
		// The streak counts the run itself: 1 means the baseline did not
		// have the finding (or there is no baseline).
		if f.AgeRuns == 1 {
			added = append(added, row(changeNew, f))
		} else {
			open = append(open, row(changeOpen, f))
		}
	}
	for _, f := range previous {
		if !now[identity{f.Kind, f.System, f.Key}] {
			r := row(changeResolved, f)
			r.Status = ""
			resolved = append(resolved, r)
		}
	}
	byIdentity := func(a, b changeRow) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.System, b.System), cmp.Compare(a.Key, b.Key))
	}
	slices.SortStableFunc(added, byIdentity)
	slices.SortStableFunc(resolved, byIdentity)
	slices.SortStableFunc(open, func(a, b changeRow) int {
		return cmp.Or(cmp.Compare(b.AgeRuns, a.AgeRuns), cmp.Compare(b.AgeDays, a.AgeDays), byIdentity(a, b))
	})
	return slices.Concat([]changeRow{}, added, resolved, open)
}

// markPending turns the resolved missing_from_system rows whose (system, key)
// the run held back under grace_period into pending rows.
func markPending(c *cli.Context, r *sqlite.Reader, runID int64, rows []changeRow) ([]changeRow, error) {
	list, err := r.PendingFindings(c.Context, runID)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return rows, nil
	}
	pending := make(map[sqlite.PendingFinding]bool, len(list))
	for _, p := range list {
		pending[p] = true
	}
	for i, row := range rows {
		if row.Change == changeResolved && row.Kind == keysync.KindMissingFromSystem &&
			pending[sqlite.PendingFinding{System: row.System, Key: row.Key}] {
			rows[i].Change = changePending
		}
	}
	return rows, nil
}

// markSuppressed turns the resolved rows that a suppression in force at the
// run's start silenced into suppressed rows.
func markSuppressed(c *cli.Context, r *sqlite.Reader, run sqlite.RunRecord, rows []changeRow) ([]changeRow, error) {
	list, err := r.Suppressions(c.Context)
	if err != nil {
		return nil, err
	}
	for i, row := range rows {
		if row.Change != changeResolved {
			continue
		}
		for _, x := range list {
			if x.System == row.System && x.Key == row.Key && x.CreatedAt <= run.StartedAt &&
				(x.Until == "" || x.Until > run.StartedAt) {
				rows[i].Change = changeSuppressed
			}
		}
	}
	return rows, nil
}

// printChanges is the table form of `keysync changes`: a heading that says
// what is compared with what, then one section per kind of change.
func printChanges(out io.Writer, run sqlite.RunRecord, base *sqlite.RunRecord, rows []changeRow) error {
	var added, resolved, suppressed, pending, open []changeRow
	for _, r := range rows {
		switch r.Change {
		case changeNew:
			added = append(added, r)
		case changeResolved:
			resolved = append(resolved, r)
		case changeSuppressed:
			suppressed = append(suppressed, r)
		case changePending:
			pending = append(pending, r)
		default:
			open = append(open, r)
		}
	}
	fmt.Fprintf(out, "run %d (%s, %s)", run.RunID, run.Mode, run.StartedAt)
	if base != nil {
		fmt.Fprintf(out, " compared with run %d (%s, %s)\n", base.RunID, base.Mode, base.StartedAt)
	} else {
		fmt.Fprint(out, ": no earlier successful normal run, so every finding is new\n")
	}
	fmt.Fprintf(out, "%d new, %d resolved, %d still open", len(added), len(resolved), len(open))
	if len(suppressed) > 0 {
		fmt.Fprintf(out, ", %d suppressed", len(suppressed))
	}
	if len(pending) > 0 {
		fmt.Fprintf(out, ", %d pending", len(pending))
	}
	fmt.Fprintln(out)

	section := func(title string, rs []changeRow, cols []string, values func(changeRow) []any) error {
		if len(rs) == 0 {
			return nil
		}
		fmt.Fprintf(out, "\n%s (%d)\n", title, len(rs))
		w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprint(w, "  ")
		for _, c := range cols {
			fmt.Fprint(w, c, "\t")
		}
		fmt.Fprintln(w)
		for _, r := range rs {
			fmt.Fprint(w, "  ")
			for _, v := range values(r) {
				if v == "" {
					v = "-"
				}
				fmt.Fprint(w, v, "\t")
			}
			fmt.Fprintln(w)
		}
		return w.Flush()
	}
	if err := section("New", added,
		[]string{"kind", "system", "key", "master_key", "status"},
		func(r changeRow) []any { return []any{r.Kind, r.System, r.Key, r.MasterKey, r.Status} }); err != nil {
		return err
	}
	// Findings this run no longer reports, whatever the reason, show alike.
	gone := []string{"kind", "system", "key", "master_key", "open since", "was open"}
	goneRow := func(r changeRow) []any {
		return []any{r.Kind, r.System, r.Key, r.MasterKey,
			fmt.Sprintf("run %d, %s", r.FirstSeenRun, r.FirstSeenAt), changeAge(r)}
	}
	for _, sec := range []struct {
		title string
		rows  []changeRow
	}{
		{"Resolved", resolved},
		{"Suppressed (not reported by this run; the key still does not match)", suppressed},
		{"Pending (not reported by this run: within grace_period; the peer still lacks the key)", pending},
	} {
		if err := section(sec.title, sec.rows, gone, goneRow); err != nil {
			return err
		}
	}
	return section("Still open, oldest first", open,
		[]string{"kind", "system", "key", "master_key", "status", "open since", "age"},
		func(r changeRow) []any {
			return []any{r.Kind, r.System, r.Key, r.MasterKey, r.Status,
				fmt.Sprintf("run %d, %s", r.FirstSeenRun, r.FirstSeenAt), changeAge(r)}
		})
}

// changeAge reads "3 runs, 5 days".
func changeAge(r changeRow) string {
	plural := func(n int64, unit string) string {
		if n == 1 {
			return fmt.Sprintf("%d %s", n, unit)
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	return plural(r.AgeRuns, "run") + ", " + plural(r.AgeDays, "day")
}
