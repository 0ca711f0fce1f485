package sqlite_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/sqlite"
)

func TestAuditNotification(t *testing.T) {
	db := MustOpenDB(t)
	runID, _ := mustRun(t, db, run{systems: []system{authority("A", "k1"), peer("B", "k1")}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a run stopped by SIGTERM is still audited

	if err := db.AuditNotification(ctx, runID, sqlite.EventNotificationFailed,
		map[string]any{"webhook": "https://h.example", "attempts": 3}); err != nil {
		t.Fatal(err)
	}
	if err := db.AuditNotification(context.Background(), 0, sqlite.EventNotificationSent,
		map[string]any{"webhook": "https://h.example"}); err != nil {
		t.Fatal(err)
	}
	events := eventsOfRun(t, db, runID)
	last := events[len(events)-1]
	if last.EventType != sqlite.EventNotificationFailed {
		t.Fatalf("last event of run %d = %s, want %s", runID, last.EventType, sqlite.EventNotificationFailed)
	}
	var payload map[string]any
	if err := json.Unmarshal([]byte(last.Payload), &payload); err != nil {
		t.Fatalf("payload %q: %v", last.Payload, err)
	}
	if want := (map[string]any{"webhook": "https://h.example", "attempts": 3.0}); !reflect.DeepEqual(payload, want) {
		t.Errorf("payload = %v, want %v", payload, want)
	}
	if none := eventsOfRun(t, db, 0); len(none) != 1 || none[0].EventType != sqlite.EventNotificationSent {
		t.Errorf("events of no run = %+v, want one %s", none, sqlite.EventNotificationSent)
	}

	if err := db.AuditNotification(context.Background(), runID, keysync.EventRunFailed, map[string]any{}); err == nil {
		t.Error("AuditNotification wrote a run_failed event")
	}
}

// The First* reads are the heads of the full reads, whatever the limit.
func TestFirstFindings(t *testing.T) {
	db := MustOpenDB(t)
	runID, _ := mustRun(t, db, run{systems: []system{
		authority("A", "a1", "a2", "a3", "shared", "dup", "DUP"),
		peer("B", "b1", "b2", "shared"),
		peer("C", "c1", "c1", "shared"),
	}})
	ctx := context.Background()
	r := db.Reader()
	mia, err := r.MissingInA(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	mfs, err := r.MissingFromSystem(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	exc, err := r.Exceptions(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	if len(mia) != 3 || len(mfs) != 8 || len(exc) != 2 {
		t.Fatalf("fixture: %d missing_in_A, %d missing_from_system, %d exceptions; want 3, 8, 2", len(mia), len(mfs), len(exc))
	}
	for _, limit := range []int{0, 1, 2, 5, 100} {
		gotMIA, err := r.FirstMissingInA(ctx, runID, limit)
		if err != nil {
			t.Fatal(err)
		}
		gotMFS, err := r.FirstMissingFromSystem(ctx, runID, limit)
		if err != nil {
			t.Fatal(err)
		}
		gotExc, err := r.FirstExceptions(ctx, runID, limit)
		if err != nil {
			t.Fatal(err)
		}
		if want := mia[:min(limit, len(mia))]; !reflect.DeepEqual(gotMIA, want) {
			t.Errorf("FirstMissingInA(%d) = %+v, want %+v", limit, gotMIA, want)
		}
		if want := mfs[:min(limit, len(mfs))]; !reflect.DeepEqual(gotMFS, want) {
			t.Errorf("FirstMissingFromSystem(%d) = %+v, want %+v", limit, gotMFS, want)
		}
		if want := exc[:min(limit, len(exc))]; !reflect.DeepEqual(gotExc, want) {
			t.Errorf("FirstExceptions(%d) = %+v, want %+v", limit, gotExc, want)
		}
	}
}
