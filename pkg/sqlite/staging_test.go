package sqlite_test

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
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

// TestPendingFindings: a run with a grace_period records the (system, key)
// pairs it held back — exactly those run_systems.pending counts, never a
// reported or a suppressed one, in a dry run too — and prune removes them
// with the run's findings.
func TestPendingFindings(t *testing.T) {
	db := MustOpenDB(t)
	ctx := t.Context()
	young, old := ts(t2.Add(-time.Hour)), ts(t0.Add(-30*24*time.Hour))
	// A's K2 was last seen a month ago, K3 and K4 an hour before t2; B and C
	// have only K1, and K4 is suppressed in B (C lacks it too: pending there).
	a := authority("A", "K1", "K2", "K3", "K4")
	for i, seen := range []string{old, old, young, young} {
		a.rows[i].LastSeenAt = seen
	}
	r := run{systems: []system{a, peer("B", "K1"), peer("C", "K1")}}
	finish := func(r run, grace time.Duration) int64 {
		t.Helper()
		runID := startAndStage(t, db, r)
		f := r.finish(runID)
		f.GracePeriod = grace
		if _, err := db.FinishRun(ctx, f); err != nil {
			t.Fatal(err)
		}
		return runID
	}
	pending := func(runID int64) []string {
		t.Helper()
		got, err := db.Reader().PendingFindings(ctx, runID)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, p := range got {
			out = append(out, p.System+" "+p.Key)
		}
		return out
	}
	want := func(what string, got, want []string) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %q, want %q", what, got, want)
		}
	}

	// Run 1 at t0 without a grace period reports all three missing.
	db.Now = at(t0)
	run1 := finish(r, 0)
	want("pending of run 1 (no grace period)", pending(run1), []string{})

	if _, err := db.AddSuppression(ctx, sqlite.Suppression{System: "B", Key: "K4", Reason: "known", CreatedBy: "test"}); err != nil {
		t.Fatal(err)
	}
	db.Now = at(t2)
	run2 := finish(r, 24*time.Hour)
	want("pending of run 2", pending(run2), []string{"B K3", "C K3", "C K4"})
	findings, err := db.Reader().Findings(ctx, sqlite.FindingFilter{RunID: run2, Kind: keysync.KindMissingFromSystem})
	if err != nil {
		t.Fatal(err)
	}
	var reported []string
	for _, f := range findings {
		reported = append(reported, f.System+" "+f.Key)
	}
	want("reported by run 2", reported, []string{"B K2", "C K2"})
	summary, err := db.Reader().Summary(ctx, run2)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int64{}
	for _, p := range pending(run2) {
		counts[p[:1]]++
	}
	for _, s := range summary {
		if s.Pending != counts[s.System] {
			t.Errorf("run 2: run_systems.pending of %s = %d, but %d pending_findings rows", s.System, s.Pending, counts[s.System])
		}
	}
	// runs show reads the same counts, the suppression of K4 in B too.
	systems, err := db.Reader().RunSystems(ctx, run2)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range systems {
		wantSuppressed := int64(0)
		if s.System == "B" {
			wantSuppressed = 1
		}
		if s.Pending != counts[s.System] || s.Suppressed != wantSuppressed {
			t.Errorf("run 2: RunSystems %s pending %d, suppressed %d; want %d and %d", s.System, s.Pending, s.Suppressed, counts[s.System], wantSuppressed)
		}
	}

	// A dry run records what it held back as well.
	db.Now = at(t2.Add(time.Hour))
	r.dryRun = true
	run3 := finish(r, 24*time.Hour)
	want("pending of dry run 3", pending(run3), []string{"B K3", "C K3", "C K4"})

	// Dry runs take no place among the kept: keeping the newest normal run
	// (run 4) prunes runs 1 to 3, the pending findings of run 2 and of the
	// dry run 3 with them.
	db.Now = at(t2.Add(2 * time.Hour))
	r.dryRun = false
	run4 := finish(r, 24*time.Hour)
	p, err := db.Prune(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if p.KeptFrom != run4 || p.Runs != 3 || p.Pending != 6 {
		t.Errorf("Prune(1) = %+v, want KeptFrom %d, Runs 3, Pending 6", p, run4)
	}
	want("pending of run 2 after prune", pending(run2), []string{})
	want("pending of run 3 after prune", pending(run3), []string{})
	want("pending of run 4 after prune", pending(run4), []string{"B K3", "C K3", "C K4"})
}

// TestStagingOrder: the peers' rows may interleave, each system's in file
// order; the authority's must all come first.
func TestStagingOrder(t *testing.T) {
	ctx := t.Context()
	db := MustOpenDB(t)
	st, err := db.BeginStaging(ctx, 1, []sqlite.StagingSystem{
		{Name: "A", Role: keysync.RoleAuthority}, {Name: "B", Role: keysync.RolePeer}, {Name: "C", Role: keysync.RolePeer}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Rollback()
	rows := func(from int64, keys ...string) []keysync.Row {
		out := make([]keysync.Row, len(keys))
		for i, k := range keys {
			out[i] = keysync.Row{Record: from + int64(i), Key: k, RawKey: k}
		}
		return out
	}
	for _, step := range []struct {
		system  string
		rows    []keysync.Row
		wantErr string
	}{
		{"A", rows(1, "K1", "K2"), ""},
		{"B", rows(1, "K1"), ""},
		{"C", rows(1, "K2"), ""},
		{"B", rows(2, "K3"), ""},
		{"B", rows(2, "K4"), "record 2 after record 2"},
		{"A", rows(3, "K5"), "the authority's rows must all come before any peer's"},
	} {
		err := st.AddRows(ctx, step.system, step.rows)
		switch {
		case step.wantErr == "" && err != nil:
			t.Errorf("AddRows(%s, record %d): %v", step.system, step.rows[0].Record, err)
		case step.wantErr != "" && (err == nil || !strings.Contains(err.Error(), step.wantErr)):
			t.Errorf("AddRows(%s, record %d) = %v, want %q", step.system, step.rows[0].Record, err, step.wantErr)
		}
	}
}

// TestDetailThroughSQLite: a field holding a NUL or any other byte reads back
// whole through the keysync_detail SQL function, as the findings read it.
func TestDetailThroughSQLite(t *testing.T) {
	db := MustOpenDB(t)
	row := keysync.Row{Record: 7, RawKey: "K\x002", EntityType: "a\x00b", LocationRef: "Lager Köln", LastSeenAt: "2024-01-01T00:00:00Z"}
	detail := string(sqlite.AppendDetail(nil, &row))
	var raw, entity, loc, seen string
	var record int64
	err := db.SQL().QueryRowContext(t.Context(), `SELECT keysync_detail(?1, 'raw_key'), keysync_detail(?1, 'entity_type'),
		keysync_detail(?1, 'location_ref'), keysync_detail(?1, 'last_seen_at'), keysync_detail(?1, 'record')`, detail).
		Scan(&raw, &entity, &loc, &seen, &record)
	if err != nil {
		t.Fatal(err)
	}
	if got := (keysync.Row{Record: record, RawKey: raw, EntityType: entity, LocationRef: loc, LastSeenAt: seen}); got != row {
		t.Errorf("read back %#v, want %#v", got, row)
	}
}

// TestStagingPermissions: the staging files, which hold every raw key, are
// as private as the database.
func TestStagingPermissions(t *testing.T) {
	db := MustOpenDB(t)
	if err := os.Chmod(db.Path(), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, db, run{systems: []system{authority("A", "K1"), peer("B", "K2")}})
	check := func(path string, want os.FileMode) {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", path, got, want)
		}
	}
	check(sqlite.StagingDir(db.Path()), 0o700)
	for _, p := range sqlite.StagingPaths(db.Path()) {
		check(p, 0o600)
	}
}

// TestStagingBesideTheRealFile: a database reached through a symbolic link
// stages beside the file itself, so every path to it shares one staging.
func TestStagingBesideTheRealFile(t *testing.T) {
	db := MustOpenDB(t)
	link := filepath.Join(t.TempDir(), "link.db")
	if err := os.Symlink(db.Path(), link); err != nil {
		t.Fatal(err)
	}
	if got, want := sqlite.StagingDir(link), sqlite.StagingDir(db.Path()); got != want {
		t.Errorf("StagingDir(%s) = %s, want %s", link, got, want)
	}
}

// TestGraceWithUnreadableLastSeen: a last_seen_at SQLite cannot date (year
// 10000, as a far-future export stamp normalizes to) gives no age, so the
// grace period cannot hold the key back: it is reported missing, not
// pending and not lost (it used to be neither reported nor pending).
func TestGraceWithUnreadableLastSeen(t *testing.T) {
	db := MustOpenDB(t)
	ctx := t.Context()
	a := authority("A", "K1", "K2")
	a.rows[1].LastSeenAt = "10000-01-01T00:30:00Z"
	r := run{systems: []system{a, peer("B", "K1")}}
	db.Now = at(t2)
	runID := startAndStage(t, db, r)
	f := r.finish(runID)
	f.GracePeriod = 24 * time.Hour
	if _, err := db.FinishRun(ctx, f); err != nil {
		t.Fatal(err)
	}
	missing, err := db.Reader().Findings(ctx, sqlite.FindingFilter{RunID: runID, Kind: keysync.KindMissingFromSystem})
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) != 1 || missing[0].System != "B" || missing[0].Key != "K2" {
		t.Errorf("missing_from_system = %+v, want B's K2", missing)
	}
	if pending, err := db.Reader().PendingFindings(ctx, runID); err != nil || len(pending) != 0 {
		t.Errorf("pending = %+v, %v; want none", pending, err)
	}
}
