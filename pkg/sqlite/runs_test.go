package sqlite_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/sqlite"
)

// runPayload decodes the payload of a run_* event.
func runPayload(t *testing.T, e keysync.AuditEvent) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(e.Payload), &m); err != nil {
		t.Fatalf("event %d %s: payload %s: %v", e.EventID, e.EventType, e.Payload, err)
	}
	return m
}

// perRunRows counts what a run keeps besides its runs row and events.
func perRunRows(t *testing.T, db *sqlite.DB, runID int64) map[string]int64 {
	t.Helper()
	return map[string]int64{
		"findings":      count(t, db, `SELECT COUNT(*) FROM findings WHERE run_id = ?`, runID),
		"run_systems":   count(t, db, `SELECT COUNT(*) FROM run_systems WHERE run_id = ?`, runID),
		"rejected_rows": count(t, db, `SELECT COUNT(*) FROM rejected_rows WHERE run_id = ?`, runID),
		"registry":      count(t, db, `SELECT COUNT(*) FROM master_key_registry WHERE run_id = ?`, runID),
	}
}

func expectNothingKept(t *testing.T, db *sqlite.DB, runID int64) {
	t.Helper()
	for table, n := range perRunRows(t, db, runID) {
		if n != 0 {
			t.Errorf("%s has %d rows of run %d, want none", table, n, runID)
		}
	}
}

var sampleInput = []system{
	authority("A", "k1", "k2"),
	withRejects(peer("B", "x1", "x2", "x2"), keysync.Rejection{Record: 4, RawKey: "--", Reason: keysync.RejectEmptyKey}),
}

// TestStartRunRecoversStaleRun: a run left `running` by a killed process is
// marked failed with errors `interrupted` and a run_failed event by the next
// run (SPEC §8).
func TestStartRunRecoversStaleRun(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()

	done, _ := mustRun(t, db, run{systems: sampleInput})
	// Killed after staging, before the final commit.
	killed := startAndStage(t, db, run{systems: sampleInput})
	before := registry(t, db)

	db.Now = at(t1)
	next, err := db.StartRun(ctx, keysync.ModeNormal, "")
	if err != nil {
		t.Fatal(err)
	}

	got := readRun(t, db, killed)
	// Its duration is unknown: not the time until the next run found it.
	if got.Status != "failed" || got.Errors != "interrupted" || got.FinishedAt.String != ts(t1) || got.DurationMs.Valid {
		t.Errorf("stale run = %+v, want failed, errors interrupted, finished_at %s, no duration", got, ts(t1))
	}
	if got := readRun(t, db, done).Status; got != "succeeded" {
		t.Errorf("earlier run status = %s, want it left succeeded", got)
	}
	if got := readRun(t, db, next).Status; got != "running" {
		t.Errorf("new run status = %s, want running", got)
	}

	events := eventsOfRun(t, db, killed)
	sameRows(t, "events of the stale run", eventTypes(events),
		[]keysync.EventType{keysync.EventRunStarted, keysync.EventRunFailed})
	if p := runPayload(t, events[1]); p["errors"] != "interrupted" {
		t.Errorf("run_failed payload = %v, want errors interrupted", p)
	}
	if events[1].CreatedAt != ts(t1) {
		t.Errorf("run_failed created_at = %s, want %s", events[1].CreatedAt, ts(t1))
	}
	// The run_failed of the stale run comes before the new run_started.
	log := auditLog(t, db)
	if last := log[len(log)-1]; last.EventType != keysync.EventRunStarted || int64(last.RunID) != next {
		t.Errorf("last event = %s of run %d, want run_started of run %d", last.EventType, last.RunID, next)
	}
	expectNothingKept(t, db, killed)
	sameRows(t, "registry", registry(t, db), before)

	// The stale run is recovered once: a later StartRun leaves it as it is.
	db.Now = at(t2)
	if _, err := db.StartRun(ctx, keysync.ModeNormal, ""); err != nil {
		t.Fatal(err)
	}
	if n := len(eventsOfRun(t, db, killed)); n != 2 {
		t.Errorf("stale run has %d events after a further run, want 2", n)
	}
	if got := readRun(t, db, killed).FinishedAt.String; got != ts(t1) {
		t.Errorf("stale run finished_at = %s after a further run, want %s", got, ts(t1))
	}
}

// TestFailRun: a failed run keeps its runs row, run_started and run_failed,
// and nothing else (SPEC §8).
func TestFailRun(t *testing.T) {
	db := MustOpenDB(t)
	mustRun(t, db, run{systems: sampleInput})
	before := registry(t, db)

	runID := startAndStage(t, db, run{systems: []system{authority("A", "k1"), peer("B", "new1", "new2")}})
	db.Now = at(t1)
	// The run was cancelled (SIGINT): its outcome is recorded all the same.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := db.FailRun(ctx, runID, errors.New(`source "B": read input/B.csv line 3: bare quote`), 2*time.Second); err != nil {
		t.Fatalf("FailRun: %v", err)
	}

	got := readRun(t, db, runID)
	if got.Status != "failed" || got.Errors != `source "B": read input/B.csv line 3: bare quote` ||
		got.FinishedAt.String != ts(t1) || got.DurationMs.Int64 != 2000 {
		t.Errorf("runs row = %+v", got)
	}
	if got.MissingInA.Valid || got.AutoApprovalRate.Valid {
		t.Errorf("failed run has KPIs: %+v", got)
	}
	events := eventsOfRun(t, db, runID)
	sameRows(t, "events", eventTypes(events), []keysync.EventType{keysync.EventRunStarted, keysync.EventRunFailed})
	if p := runPayload(t, events[1]); p["errors"] != got.Errors {
		t.Errorf("run_failed payload = %v, want the error", p)
	}
	expectNothingKept(t, db, runID)
	sameRows(t, "registry", registry(t, db), before)
}

// TestFinishRunBeforeCommitError: an error from BeforeCommit rolls back the
// whole final transaction (SPEC §8: findings, run_systems, registry changes
// and events, the run's status are one commit).
func TestFinishRunBeforeCommitError(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	mustRun(t, db, run{systems: sampleInput})
	registryBefore := registry(t, db)

	r := run{autoApprove: true, systems: []system{authority("A", "k1"), peer("B", "x1", "x3", "x3")}}
	runID := startAndStage(t, db, r)
	auditBefore := auditLog(t, db)

	db.Now = at(t1)
	boom := errors.New("disk full")
	var seen results
	f := r.finish(runID)
	f.BeforeCommit = func(ctx context.Context, rd *sqlite.Reader) error {
		seen = readResults(t, rd, runID)
		return boom
	}
	_, err := db.FinishRun(ctx, f)
	if !errors.Is(err, boom) {
		t.Fatalf("FinishRun: err = %v, want the BeforeCommit error", err)
	}

	// BeforeCommit saw the run as it was about to commit …
	if len(seen.MissingInA) != 2 || len(seen.Summary) != 2 || len(seen.Exceptions) != 1 {
		t.Errorf("BeforeCommit saw %d missing_in_A, %d summary rows, %d exceptions; want 2, 2, 1",
			len(seen.MissingInA), len(seen.Summary), len(seen.Exceptions))
	}
	sameRows(t, "registry BeforeCommit saw", seen.Registry, []keysync.RegistryEntry{
		reg("X1", "B", "x1", keysync.StatusActive, t0, t1),
		reg("X2", "B", "x2", keysync.StatusProposed, t0, t0),
		reg("X3", "B", "x3", keysync.StatusActive, t1, t1),
	})
	// … and none of it was kept.
	sameRows(t, "registry", registry(t, db), registryBefore)
	sameRows(t, "audit log", auditLog(t, db), auditBefore)
	expectNothingKept(t, db, runID)
	if got := readRun(t, db, runID); got.Status != "running" || got.FinishedAt.Valid {
		t.Errorf("run = %+v, want still running", got)
	}

	// The caller then records the failure.
	if err := db.FailRun(ctx, runID, err, time.Second); err != nil {
		t.Fatal(err)
	}
	sameRows(t, "events", eventTypes(eventsOfRun(t, db, runID)),
		[]keysync.EventType{keysync.EventRunStarted, keysync.EventRunFailed})
}
