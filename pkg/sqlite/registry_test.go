package sqlite_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/sqlite"
)

// seedRegistry registers P1 and P2 (Proposed), A1 (Active) and D1
// (Deprecated), all last changed at t0.
func seedRegistry(t *testing.T, db *sqlite.DB) {
	t.Helper()
	mustRun(t, db, run{systems: []system{authority("A", "k1"), peer("B", "p1", "p2", "a1", "d1")}})
	setStatus(t, db, keysync.StatusActive, "A1")
	setStatus(t, db, keysync.StatusDeprecated, "D1")
}

// TestSetStatus checks the operator's registry transitions (SPEC §6):
// Proposed → Active → Deprecated and Proposed → Deprecated, all keys of a
// batch or none, one audit event per change.
func TestSetStatus(t *testing.T) {
	const (
		P = keysync.StatusProposed
		A = keysync.StatusActive
		D = keysync.StatusDeprecated
	)
	tests := []struct {
		name string
		keys []string
		to   keysync.Status
		// wantErr is the refusal, nil when the change is allowed.
		wantErr *sqlite.TransitionError
		// changed are the keys that move, in event order, each from its seeded status.
		changed []string
	}{
		{name: "approve Proposed", keys: []string{"P1"}, to: A, changed: []string{"P1"}},
		{name: "deprecate Proposed", keys: []string{"P1"}, to: D, changed: []string{"P1"}},
		{name: "deprecate Active", keys: []string{"A1"}, to: D, changed: []string{"A1"}},
		{name: "approve a batch", keys: []string{"P2", "P1"}, to: A, changed: []string{"P2", "P1"}},
		{name: "deprecate a mixed batch", keys: []string{"A1", "P2"}, to: D, changed: []string{"A1", "P2"}},
		{name: "a key given twice changes once", keys: []string{"P1", "P1"}, to: A, changed: []string{"P1"}},
		{name: "unknown key", keys: []string{"NOPE"}, to: A,
			wantErr: &sqlite.TransitionError{MasterKey: "NOPE", To: A}},
		{name: "unknown key on deprecate", keys: []string{"NOPE"}, to: D,
			wantErr: &sqlite.TransitionError{MasterKey: "NOPE", To: D}},
		{name: "approve Active", keys: []string{"A1"}, to: A,
			wantErr: &sqlite.TransitionError{MasterKey: "A1", From: A, To: A}},
		{name: "approve Deprecated", keys: []string{"D1"}, to: A,
			wantErr: &sqlite.TransitionError{MasterKey: "D1", From: D, To: A}},
		{name: "deprecate Deprecated", keys: []string{"D1"}, to: D,
			wantErr: &sqlite.TransitionError{MasterKey: "D1", From: D, To: D}},
		{name: "back to Proposed", keys: []string{"A1"}, to: P,
			wantErr: &sqlite.TransitionError{MasterKey: "A1", From: A, To: P}},
		{name: "batch with an unknown key changes nothing", keys: []string{"P1", "NOPE", "P2"}, to: A,
			wantErr: &sqlite.TransitionError{MasterKey: "NOPE", To: A}},
		{name: "batch with a refused key last changes nothing", keys: []string{"P1", "P2", "D1"}, to: A,
			wantErr: &sqlite.TransitionError{MasterKey: "D1", From: D, To: A}},
	}
	for _, tt := range tests {
		for _, reason := range []string{"", "ticket OPS-12"} {
			name := tt.name
			if reason != "" {
				name += " with a reason"
			}
			t.Run(name, func(t *testing.T) {
				db := MustOpenDB(t)
				seedRegistry(t, db)
				before := registry(t, db)
				auditBefore := auditLog(t, db)

				db.Now = at(t1)
				got, err := db.SetStatus(context.Background(),
					sqlite.Transition{Keys: tt.keys, To: tt.to, By: "bob", Reason: reason})

				if tt.wantErr != nil {
					var te *sqlite.TransitionError
					if !errors.As(err, &te) {
						t.Fatalf("err = %v, want a *TransitionError", err)
					}
					if *te != *tt.wantErr {
						t.Errorf("err = %+v, want %+v", *te, *tt.wantErr)
					}
					if len(got) != 0 {
						t.Errorf("a refused batch returned %v", got)
					}
					sameRows(t, "registry after a refused batch", registry(t, db), before)
					sameRows(t, "audit log after a refused batch", auditLog(t, db), auditBefore)
					return
				}
				if err != nil {
					t.Fatalf("SetStatus: %v", err)
				}

				// The registry: each changed key in its new status at t1, the rest as before.
				want := slices.Clone(before)
				var wantReturned []keysync.RegistryEntry
				var wantEvents []keysync.KeyChange
				for _, key := range tt.changed {
					i := slices.IndexFunc(want, func(e keysync.RegistryEntry) bool { return e.MasterKey == key })
					wantEvents = append(wantEvents, keysync.KeyChange{MasterKey: key, From: string(want[i].Status),
						To: string(tt.to), By: "bob", Reason: reason})
					want[i].Status, want[i].UpdatedAt = tt.to, ts(t1)
					wantReturned = append(wantReturned, want[i])
				}
				sameRows(t, "registry", registry(t, db), want)
				sameRows(t, "returned entries", got, wantReturned)

				// One event per change, of no run, with by and reason in the payload.
				events := auditLog(t, db)[len(auditBefore):]
				sameRows(t, "events", keyChanges(t, events), wantEvents)
				wantType := keysync.EventMasterKeyApproved
				if tt.to == D {
					wantType = keysync.EventMasterKeyDeprecated
				}
				for _, e := range events {
					if e.EventType != wantType || e.RunID != 0 || e.CreatedAt != ts(t1) {
						t.Errorf("event %+v, want %s of no run at %s", e, wantType, ts(t1))
					}
					var payload map[string]any
					if err := json.Unmarshal([]byte(e.Payload), &payload); err != nil {
						t.Fatal(err)
					}
					if _, ok := payload["reason"]; ok != (reason != "") {
						t.Errorf("payload %s: reason present = %v, want %v", e.Payload, ok, reason != "")
					}
				}
				if n := count(t, db, `SELECT COUNT(*) FROM audit_log WHERE event_id > ? AND run_id IS NOT NULL`,
					auditBefore[len(auditBefore)-1].EventID); n != 0 {
					t.Errorf("%d operator events have a run_id, want NULL", n)
				}
			})
		}
	}
}

func TestTransitionErrorMessage(t *testing.T) {
	tests := []struct {
		err  sqlite.TransitionError
		want string
	}{
		{sqlite.TransitionError{MasterKey: "X1", To: keysync.StatusActive}, `master key "X1" is not in the registry`},
		{sqlite.TransitionError{MasterKey: "X1", From: keysync.StatusDeprecated, To: keysync.StatusActive},
			`master key "X1" is Deprecated and cannot become Active`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}
