package reconcile

import (
	"fmt"

	"github.com/keysync/keysync/pkg/config"
	"github.com/keysync/keysync/pkg/sqlite"
)

// BlockedError means a safety guard stopped the run before it wrote anything
// but its runs row and events. The command maps it to exit code 4.
type BlockedError struct {
	// Guard is min_rows, max_rejected_ratio, max_drop_ratio,
	// max_missing_ratio, max_unchanged_runs or max_new_proposals.
	Guard  string
	System string // empty for max_new_proposals
	Msg    string
}

func (e *BlockedError) Error() string {
	return fmt.Sprintf("blocked by safety guard %s: %s (rerun with --force to override)", e.Guard, e.Msg)
}

// checkGuards returns the first tripped guard of s, in the order min_rows,
// max_rejected_ratio, max_drop_ratio, max_missing_ratio, max_unchanged_runs
// (per system, authority first), then max_new_proposals; nil when every guard
// passes. A guard set to 0 is off. streaks holds each system's unchanged-input
// streak (a system without one has none).
func checkGuards(s config.Safety, g sqlite.GuardStats, streaks map[string]sqlite.InputStreak) *BlockedError {
	for _, sys := range g.Systems {
		if min := s.MinRowsFor(sys.System); min > 0 && sys.Accepted < int64(min) {
			return &BlockedError{Guard: "min_rows", System: sys.System, Msg: fmt.Sprintf(
				"source %q has %d accepted rows, fewer than min_rows %d", sys.System, sys.Accepted, min)}
		}
		if s.MaxRejectedRatio > 0 && sys.RowsRead > 0 {
			ratio := float64(sys.Rejected) / float64(sys.RowsRead)
			if ratio > s.MaxRejectedRatio {
				return &BlockedError{Guard: "max_rejected_ratio", System: sys.System, Msg: fmt.Sprintf(
					"source %q had %d of its %d rows rejected (%.1f%%, max_rejected_ratio %g); `keysync sync --dry-run --force` shows them in rejected_rows.csv",
					sys.System, sys.Rejected, sys.RowsRead, 100*ratio, s.MaxRejectedRatio)}
			}
		}
		if s.MaxDropRatio > 0 && sys.PrevAccepted != nil && *sys.PrevAccepted > 0 {
			prev := *sys.PrevAccepted
			drop := float64(prev-sys.Accepted) / float64(prev)
			if drop > s.MaxDropRatio {
				return &BlockedError{Guard: "max_drop_ratio", System: sys.System, Msg: fmt.Sprintf(
					"source %q has %d accepted rows, %.1f%% fewer than %d in run %d (max_drop_ratio %g)",
					sys.System, sys.Accepted, 100*drop, prev, sys.PrevRunID, s.MaxDropRatio)}
			}
		}
		if s.MaxMissingRatio > 0 && sys.AuthorityKeys > 0 {
			ratio := float64(sys.MissingFromSystem) / float64(sys.AuthorityKeys)
			if ratio > s.MaxMissingRatio {
				return &BlockedError{Guard: "max_missing_ratio", System: sys.System, Msg: fmt.Sprintf(
					"source %q lacks %d of the authority's %d keys (%.1f%%, max_missing_ratio %g)",
					sys.System, sys.MissingFromSystem, sys.AuthorityKeys, 100*ratio, s.MaxMissingRatio)}
			}
		}
		if st := streaks[sys.System]; s.MaxUnchangedRuns > 0 && st.Runs > int64(s.MaxUnchangedRuns) {
			return &BlockedError{Guard: "max_unchanged_runs", System: sys.System, Msg: fmt.Sprintf(
				"source %q read the same bytes as the %d succeeded runs since run %d (max_unchanged_runs %d): is its export stuck?",
				sys.System, st.Runs, st.Since, s.MaxUnchangedRuns)}
		}
	}
	if s.MaxNewProposals > 0 && g.NewProposals > int64(s.MaxNewProposals) {
		return &BlockedError{Guard: "max_new_proposals", Msg: fmt.Sprintf(
			"the run would propose %d new master keys, more than max_new_proposals %d",
			g.NewProposals, s.MaxNewProposals)}
	}
	return nil
}
