package reconcile

import (
	"fmt"

	"github.com/keysync/keysync/pkg/config"
	"github.com/keysync/keysync/pkg/sqlite"
)

// BlockedError means a safety guard stopped the run before it wrote anything
// but its runs row and events. The command maps it to exit code 4.
type BlockedError struct {
	Guard  string // min_rows, max_drop_ratio, max_missing_ratio, max_new_proposals
	System string // empty for max_new_proposals
	Msg    string
}

func (e *BlockedError) Error() string {
	return fmt.Sprintf("blocked by safety guard %s: %s (rerun with --force to override)", e.Guard, e.Msg)
}

// checkGuards returns the first tripped guard of cfg.Safety, in the order
// min_rows, max_drop_ratio, max_missing_ratio (per system, authority first),
// then max_new_proposals; nil when every guard passes.
func checkGuards(s config.Safety, g sqlite.GuardStats) *BlockedError {
	for _, sys := range g.Systems {
		if min, ok := s.MinRowsFor(sys.System); ok && sys.Accepted < int64(min) {
			return &BlockedError{Guard: "min_rows", System: sys.System, Msg: fmt.Sprintf(
				"source %q has %d accepted rows, fewer than min_rows %d", sys.System, sys.Accepted, min)}
		}
		if s.MaxDropRatio != nil && sys.PrevAccepted != nil && *sys.PrevAccepted > 0 {
			prev := *sys.PrevAccepted
			drop := float64(prev-sys.Accepted) / float64(prev)
			if drop > *s.MaxDropRatio {
				return &BlockedError{Guard: "max_drop_ratio", System: sys.System, Msg: fmt.Sprintf(
					"source %q has %d accepted rows, %.1f%% fewer than %d in run %d (max_drop_ratio %g)",
					sys.System, sys.Accepted, 100*drop, prev, sys.PrevRunID, *s.MaxDropRatio)}
			}
		}
		if s.MaxMissingRatio != nil && sys.AuthorityKeys > 0 {
			ratio := float64(sys.MissingFromSystem) / float64(sys.AuthorityKeys)
			if ratio > *s.MaxMissingRatio {
				return &BlockedError{Guard: "max_missing_ratio", System: sys.System, Msg: fmt.Sprintf(
					"source %q lacks %d of the authority's %d keys (%.1f%%, max_missing_ratio %g)",
					sys.System, sys.MissingFromSystem, sys.AuthorityKeys, 100*ratio, *s.MaxMissingRatio)}
			}
		}
	}
	if s.MaxNewProposals != nil && g.NewProposals > int64(*s.MaxNewProposals) {
		return &BlockedError{Guard: "max_new_proposals", Msg: fmt.Sprintf(
			"the run would propose %d new master keys, more than max_new_proposals %d",
			g.NewProposals, *s.MaxNewProposals)}
	}
	return nil
}
