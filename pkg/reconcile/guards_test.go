package reconcile

import (
	"testing"

	"github.com/keysync/keysync/pkg/config"
	"github.com/keysync/keysync/pkg/sqlite"
)

func TestCheckGuards(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	n := func(v int) *int { return &v }
	i64 := func(v int64) *int64 { return &v }
	stats := sqlite.GuardStats{
		Systems: []sqlite.SystemGuardStats{
			{System: "A", Accepted: 100, PrevAccepted: i64(100), PrevRunID: 3, AuthorityKeys: 100},
			{System: "B", Accepted: 70, PrevAccepted: i64(100), PrevRunID: 3, MissingFromSystem: 40, AuthorityKeys: 100},
		},
		NewProposals: 12,
	}
	tests := []struct {
		name       string
		safety     config.Safety
		wantGuard  string
		wantSystem string
	}{
		{"all off", config.Safety{}, "", ""},
		{"min_rows passes at the limit", config.Safety{MinRows: map[string]int{"A": 100, "B": 70}}, "", ""},
		{"min_rows trips", config.Safety{MinRows: map[string]int{"A": 100, "B": 71}}, "min_rows", "B"},
		{"max_drop_ratio passes at the limit", config.Safety{MaxDropRatio: f(0.3)}, "", ""},
		{"max_drop_ratio trips", config.Safety{MaxDropRatio: f(0.2)}, "max_drop_ratio", "B"},
		{"max_missing_ratio passes at the limit", config.Safety{MaxMissingRatio: f(0.4)}, "", ""},
		{"max_missing_ratio trips", config.Safety{MaxMissingRatio: f(0.39)}, "max_missing_ratio", "B"},
		{"max_new_proposals passes at the limit", config.Safety{MaxNewProposals: n(12)}, "", ""},
		{"max_new_proposals trips", config.Safety{MaxNewProposals: n(11)}, "max_new_proposals", ""},
		{"min_rows is checked first", config.Safety{MinRows: map[string]int{"B": 1000}, MaxNewProposals: n(0)}, "min_rows", "B"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := checkGuards(tt.safety, stats)
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
	// A first run has nothing to compare with: max_drop_ratio cannot trip.
	ratio := 0.0
	stats := sqlite.GuardStats{Systems: []sqlite.SystemGuardStats{{System: "A", Accepted: 1, AuthorityKeys: 1}}}
	if got := checkGuards(config.Safety{MaxDropRatio: &ratio}, stats); got != nil {
		t.Fatalf("checkGuards = %v, want nil without a previous run", got)
	}
}
