package reconcile

import (
	"testing"

	"github.com/keysync/keysync/pkg/config"
	"github.com/keysync/keysync/pkg/sqlite"
)

func TestCheckGuards(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	stats := sqlite.GuardStats{
		Systems: []sqlite.SystemGuardStats{
			{System: "A", Accepted: 100, PrevAccepted: i64(100), PrevRunID: 3, AuthorityKeys: 100, RowsRead: 100},
			{System: "B", Accepted: 70, PrevAccepted: i64(100), PrevRunID: 3, MissingFromSystem: 40, AuthorityKeys: 100,
				RowsRead: 100, Rejected: 30},
		},
		NewProposals: 12,
	}
	streaks := map[string]sqlite.InputStreak{"B": {Runs: 3, Since: 1, Last: 3}}
	tests := []struct {
		name       string
		safety     config.Safety
		wantGuard  string
		wantSystem string
	}{
		{"all off", config.Safety{}, "", ""},
		{"min_rows passes at the limit", config.Safety{MinRows: map[string]int{"A": 100, "B": 70}}, "", ""},
		{"min_rows trips", config.Safety{MinRows: map[string]int{"A": 100, "B": 71}}, "min_rows", "B"},
		{"min_rows 0 is off", config.Safety{MinRows: map[string]int{"A": 0, "B": 0}}, "", ""},
		{"max_rejected_ratio passes at the limit", config.Safety{MaxRejectedRatio: 0.3}, "", ""},
		{"max_rejected_ratio trips", config.Safety{MaxRejectedRatio: 0.29}, "max_rejected_ratio", "B"},
		{"max_drop_ratio passes at the limit", config.Safety{MaxDropRatio: 0.3}, "", ""},
		{"max_drop_ratio trips", config.Safety{MaxDropRatio: 0.2}, "max_drop_ratio", "B"},
		{"max_missing_ratio passes at the limit", config.Safety{MaxMissingRatio: 0.4}, "", ""},
		{"max_missing_ratio trips", config.Safety{MaxMissingRatio: 0.39}, "max_missing_ratio", "B"},
		{"max_unchanged_runs passes at the limit", config.Safety{MaxUnchangedRuns: 3}, "", ""},
		{"max_unchanged_runs trips", config.Safety{MaxUnchangedRuns: 2}, "max_unchanged_runs", "B"},
		{"max_new_proposals passes at the limit", config.Safety{MaxNewProposals: 12}, "", ""},
		{"max_new_proposals trips", config.Safety{MaxNewProposals: 11}, "max_new_proposals", ""},
		{"min_rows is checked first", config.Safety{MinRows: map[string]int{"B": 1000}, MaxRejectedRatio: 0.1, MaxNewProposals: 1}, "min_rows", "B"},
		{"max_rejected_ratio before max_drop_ratio", config.Safety{MaxRejectedRatio: 0.1, MaxDropRatio: 0.1}, "max_rejected_ratio", "B"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := checkGuards(tt.safety, stats, streaks)
			if tt.wantGuard == "" {
				if got != nil {
					t.Fatalf("checkGuards = %v, want no guard tripped", got)
				}
				return
			}
			if got == nil || got.Guard != tt.wantGuard || got.System != tt.wantSystem {
				t.Fatalf("checkGuards = %+v, want guard %s on %q", got, tt.wantGuard, tt.wantSystem)
			}
		})
	}
}

func TestCheckGuardsWithoutHistory(t *testing.T) {
	// A first run has nothing to compare with: max_drop_ratio cannot trip,
	// however small.
	stats := sqlite.GuardStats{Systems: []sqlite.SystemGuardStats{{System: "A", Accepted: 1, AuthorityKeys: 1, RowsRead: 1}}}
	if got := checkGuards(config.Safety{MaxDropRatio: 0.001}, stats, nil); got != nil {
		t.Fatalf("checkGuards = %v, want nil without a previous run", got)
	}
}

// TestCheckGuardsDefaults: the defaults block an empty source and a source
// with most rows rejected; a source that read no rows at all is min_rows'
// business, never max_rejected_ratio's.
func TestCheckGuardsDefaults(t *testing.T) {
	def := config.DefaultSafety([]string{"A", "B"})
	for _, tt := range []struct {
		name      string
		b         sqlite.SystemGuardStats
		wantGuard string
	}{
		{"healthy", sqlite.SystemGuardStats{System: "B", Accepted: 10, RowsRead: 10}, ""},
		{"header only", sqlite.SystemGuardStats{System: "B", RowsRead: 0}, "min_rows"},
		{"half rejected passes", sqlite.SystemGuardStats{System: "B", Accepted: 5, RowsRead: 10, Rejected: 5}, ""},
		{"most rejected", sqlite.SystemGuardStats{System: "B", Accepted: 4, RowsRead: 10, Rejected: 6}, "max_rejected_ratio"},
		{"halved", sqlite.SystemGuardStats{System: "B", Accepted: 4, RowsRead: 4, PrevAccepted: new(int64(10)), PrevRunID: 1}, "max_drop_ratio"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			stats := sqlite.GuardStats{Systems: []sqlite.SystemGuardStats{
				{System: "A", Accepted: 10, RowsRead: 10, AuthorityKeys: 10}, tt.b}}
			got := checkGuards(def, stats, nil)
			switch {
			case tt.wantGuard == "" && got != nil:
				t.Fatalf("checkGuards = %v, want none", got)
			case tt.wantGuard != "" && (got == nil || got.Guard != tt.wantGuard):
				t.Fatalf("checkGuards = %+v, want %s", got, tt.wantGuard)
			}
		})
	}
}
