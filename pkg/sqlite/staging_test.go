package sqlite_test

import (
	"database/sql"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/sqlite"
)

// TestStagingHashCollisions: with a degenerate key hash, nearly every key_id
// collides with another key's, and the results are still exactly those of
// the real hash — two keys are never merged.
func TestStagingHashCollisions(t *testing.T) {
	keys := func(prefix string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%s%d", prefix, i%(n-3)) // the last three repeat: duplicates
		}
		return out
	}
	r := run{systems: []system{
		authority("A", keys("K", 40)...),
		peer("B", append(keys("K", 30), "X1", "X2", "X2", "X2")...),
		peer("C", append(keys("K", 35), "X2", "X3")...),
	}}
	results := func() results {
		t.Helper()
		db := MustOpenDB(t)
		runID, _ := mustRun(t, db, r)
		return readResults(t, db.Reader(), runID)
	}
	want := results()
	if len(want.MissingInA) == 0 || len(want.MissingFromSystem) == 0 || len(want.Exceptions) == 0 {
		t.Fatalf("the fixture should have findings of every kind: %+v", want)
	}
	defer sqlite.ForceKeyHashCollisions()()
	if got := results(); !reflect.DeepEqual(got, want) {
		t.Errorf("results with colliding hashes differ:\n got %+v\nwant %+v", got, want)
	}
}

// TestDetailRoundTrip: every field of a staged row's packed detail reads back
// as it was, whatever bytes it holds.
func TestDetailRoundTrip(t *testing.T) {
	for _, row := range []keysync.Row{
		{Record: 1},
		{Record: 42, RawKey: "inv_2024..0042", EntityType: "invoice", LocationRef: "Lager Köln", LastSeenAt: "2024-05-04T12:36:34Z"},
		{Record: 1 << 40, RawKey: "a:b:c", EntityType: "::", LocationRef: "1:2", LastSeenAt: ":"},
		{Record: 7, RawKey: "\x00\u00ff", LastSeenAt: "x"},
	} {
		detail := string(sqlite.AppendDetail(nil, &row))
		want := map[string]any{"record": row.Record, "raw_key": row.RawKey, "entity_type": row.EntityType,
			"location_ref": row.LocationRef, "last_seen_at": row.LastSeenAt}
		for name, w := range want {
			got, err := sqlite.DetailField(detail, name)
			if err != nil || got != w {
				t.Errorf("%q: field %s = %#v, %v; want %#v", detail, name, got, err, w)
			}
		}
	}
	for _, bad := range []string{"", "1:2:3", "x:0:0:0:", "1:5:0:0:abc", "1:-1:0:0:abc"} {
		if _, err := sqlite.DetailField(bad, "raw_key"); err == nil {
			t.Errorf("DetailField(%q) succeeded, want an error", bad)
		}
	}
}

// TestGracePeriodTurnedOn: turning grace_period on for a database with runs
// behind it does not make the authority's existing keys look new (they date
// from the first successful run: keysync kept no history of them before); a
// key that appears afterwards is pending for the grace period.
func TestGracePeriodTurnedOn(t *testing.T) {
	db := MustOpenDB(t)
	ctx := t.Context()
	finish := func(r run, grace time.Duration) (sqlite.KPIs, keysync.SummaryRow) {
		t.Helper()
		for _, sys := range r.systems {
			for i := range sys.rows {
				sys.rows[i].LastSeenAt = "" // the clock is the first appearance in A
			}
		}
		runID := startAndStage(t, db, r)
		f := r.finish(runID)
		f.GracePeriod = grace
		k, err := db.FinishRun(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		summary, err := db.Reader().Summary(ctx, runID)
		if err != nil {
			t.Fatal(err)
		}
		return k, summary[1]
	}
	// t0: no grace period; B lacks K2.
	db.Now = at(t0)
	if k, _ := finish(run{systems: []system{authority("A", "K1", "K2"), peer("B", "K1")}}, 0); k.MissingFromSystem != 1 {
		t.Fatalf("run 1: missing_from_system = %d, want 1", k.MissingFromSystem)
	}
	// t2, two days on, grace 24h switched on: K2 dates from run 1, so it is
	// still reported.
	db.Now = at(t2)
	if k, b := finish(run{systems: []system{authority("A", "K1", "K2"), peer("B", "K1")}}, 24*time.Hour); k.MissingFromSystem != 1 || b.Pending != 0 {
		t.Errorf("run 2: missing_from_system = %d, pending = %d; want 1 (K2), 0", k.MissingFromSystem, b.Pending)
	}
	// An hour later K3 appears in A: pending, while K2 stays reported.
	db.Now = at(t2.Add(time.Hour))
	if k, b := finish(run{systems: []system{authority("A", "K1", "K2", "K3"), peer("B", "K1")}}, 24*time.Hour); k.MissingFromSystem != 1 || b.Pending != 1 {
		t.Errorf("run 3: missing_from_system = %d, pending = %d; want 1 (K2), 1 (K3)", k.MissingFromSystem, b.Pending)
	}
}

// TestReadersWithStaging: a reader attaches the latest run's staging files
// read-only and sees v_key_presence; while a run holds a staging file
// (locked exclusively, as a loading run does) the attach fails, and the
// database itself still answers.
func TestReadersWithStaging(t *testing.T) {
	ctx := t.Context()
	db := MustOpenDB(t)
	mustRun(t, db, run{systems: []system{authority("A", "K1", "K2"), peer("B", "K1", "X")}})

	reader, err := sqlite.OpenReadOnly(ctx, db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	if ok, err := reader.AttachStagingReadOnly(ctx); !ok || err != nil {
		t.Fatalf("AttachStagingReadOnly = %v, %v; want attached", ok, err)
	}
	var keys int
	if err := reader.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM v_key_presence`).Scan(&keys); err != nil || keys != 3 {
		t.Fatalf("v_key_presence: %d keys, %v; want 3", keys, err)
	}
	if _, err := reader.SQL().ExecContext(ctx, `DELETE FROM staging_0.staging_rows`); err == nil {
		t.Error("a reader could write to a staging file")
	}

	// A second reader while part-0.db is held exclusively.
	lock, err := sql.Open("sqlite", "file:"+sqlite.StagingPaths(db.Path())[0]+"?_pragma=locking_mode(EXCLUSIVE)")
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	lock.SetMaxOpenConns(1)
	if _, err := lock.ExecContext(ctx, `BEGIN EXCLUSIVE`); err != nil {
		t.Fatal(err)
	}
	defer lock.ExecContext(ctx, `ROLLBACK`)
	busy, err := sqlite.OpenReadOnly(ctx, db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	if ok, err := busy.AttachStagingReadOnly(ctx); ok || err == nil {
		t.Errorf("AttachStagingReadOnly on a locked staging file = %v, %v; want an error", ok, err)
	}
	var runs int
	if err := busy.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM runs`).Scan(&runs); err != nil || runs != 1 {
		t.Errorf("the database after a failed attach: %d runs, %v", runs, err)
	}
}
