package sqlite_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/sqlite"
)

// mia is the diff_missing_in_A row of a peer row staged by row(rec, raw).
func mia(system, raw string, rec int64, master, status string) keysync.MissingInA {
	r := row(rec, raw)
	return keysync.MissingInA{System: system, SourceKey: raw, Key: r.Key, MasterKey: master, Status: status,
		EntityType: r.EntityType, LocationRef: r.LocationRef, LastSeenAt: r.LastSeenAt}
}

// mfs is the diff_missing_from_system row of an authority row staged by row(rec, raw).
func mfs(system, raw string, rec int64) keysync.MissingFromSystem {
	r := row(rec, raw)
	return keysync.MissingFromSystem{System: system, MasterKey: r.Key, SourceKey: raw,
		EntityType: r.EntityType, LocationRef: r.LocationRef, LastSeenAt: r.LastSeenAt}
}

// sum is a summary row: rows read, rejected, distinct keys, duplicate keys,
// matched, missing_in_A, missing_from_system.
func sum(system string, role keysync.Role, n ...int64) keysync.SummaryRow {
	return keysync.SummaryRow{System: system, Role: role, RowsRead: n[0], RowsRejected: n[1], DistinctKeys: n[2],
		DuplicateKeys: n[3], Matched: n[4], MissingInA: n[5], MissingFromSystem: n[6]}
}

func dup(system, key string, rows int64, cause keysync.DuplicateCause, spellings ...string) keysync.Exception {
	return keysync.Exception{Kind: keysync.KindDuplicate, System: system, Key: key, Count: rows,
		Detail: strings.Join(spellings, " | "), Cause: cause}
}

func conflict(system, key, master string) keysync.Exception {
	return keysync.Exception{Kind: keysync.KindMasterKeyConflict, System: system, Key: key, Count: 1, Detail: master}
}

// reg is a registry row created and last updated at the given times.
func reg(master, system, raw string, status keysync.Status, created, updated time.Time) keysync.RegistryEntry {
	return keysync.RegistryEntry{MasterKey: master, SourceSystem: system, SourceKey: raw, Status: status,
		CreatedAt: ts(created), UpdatedAt: ts(updated)}
}

func proposed(master string, to keysync.Status) keysync.KeyChange {
	return keysync.KeyChange{MasterKey: master, From: "", To: string(to), By: keysync.ByAuto}
}

func autoApproved(master string) keysync.KeyChange {
	return keysync.KeyChange{MasterKey: master, From: string(keysync.StatusProposed), To: string(keysync.StatusActive), By: keysync.ByAuto}
}

// stamp sets the run id of every per-run row of want.
func stamp(runID int64, want *results) {
	for i := range want.Summary {
		want.Summary[i].RunID = runID
	}
	for i := range want.MissingInA {
		want.MissingInA[i].RunID = runID
	}
	for i := range want.MissingFromSystem {
		want.MissingFromSystem[i].RunID = runID
	}
	for i := range want.Exceptions {
		want.Exceptions[i].RunID = runID
	}
	for i := range want.Rejected {
		want.Rejected[i].RunID = runID
	}
}

func sortChanges(c []keysync.KeyChange) []keysync.KeyChange {
	c = slices.Clone(c)
	slices.SortFunc(c, func(a, b keysync.KeyChange) int {
		return strings.Compare(a.MasterKey+"\x00"+a.To, b.MasterKey+"\x00"+b.To)
	})
	return c
}

func checkResults(t *testing.T, got, want results) {
	t.Helper()
	sameRows(t, "summary", got.Summary, want.Summary)
	sameRows(t, "missing_in_A", got.MissingInA, want.MissingInA)
	sameRows(t, "missing_from_system", got.MissingFromSystem, want.MissingFromSystem)
	sameRows(t, "exceptions", got.Exceptions, want.Exceptions)
	sameRows(t, "rejected rows", got.Rejected, want.Rejected)
	sameRows(t, "registry", got.Registry, want.Registry)
}

func checkKPIs(t *testing.T, db *sqlite.DB, runID int64, got, want sqlite.KPIs) {
	t.Helper()
	if got.MissingInA != want.MissingInA || got.MissingFromSystem != want.MissingFromSystem ||
		got.DuplicateKeys != want.DuplicateKeys || fmtRate(got.AutoApprovalRate) != fmtRate(want.AutoApprovalRate) {
		t.Errorf("KPIs = {%d %d %d %s}, want {%d %d %d %s}",
			got.MissingInA, got.MissingFromSystem, got.DuplicateKeys, fmtRate(got.AutoApprovalRate),
			want.MissingInA, want.MissingFromSystem, want.DuplicateKeys, fmtRate(want.AutoApprovalRate))
	}
	// The runs row stores the same numbers (SPEC §9).
	r := readRun(t, db, runID)
	var stored *float64
	if r.AutoApprovalRate.Valid {
		stored = &r.AutoApprovalRate.Float64
	}
	if r.MissingInA.Int64 != want.MissingInA || r.MissingFromSystem.Int64 != want.MissingFromSystem ||
		r.DuplicateKeys.Int64 != want.DuplicateKeys || fmtRate(stored) != fmtRate(want.AutoApprovalRate) ||
		!r.MissingInA.Valid || !r.MissingFromSystem.Valid || !r.DuplicateKeys.Valid {
		t.Errorf("runs row KPIs = {%v %v %v %s}, want {%d %d %d %s}",
			r.MissingInA, r.MissingFromSystem, r.DuplicateKeys, fmtRate(stored),
			want.MissingInA, want.MissingFromSystem, want.DuplicateKeys, fmtRate(want.AutoApprovalRate))
	}
}

// TestFinishRunRules checks the comparison of SPEC §5 and the master keys of
// SPEC §6, computed in SQL from staged rows, through everything Reader shows.
// Peers are staged out of alphabetical order so that an answer that follows
// staging order instead of system names shows.
func TestFinishRunRules(t *testing.T) {
	const (
		auth = keysync.RoleAuthority
		pr   = keysync.RolePeer
		P    = keysync.StatusProposed
	)
	tests := []struct {
		name    string
		run     run
		want    results
		kpis    sqlite.KPIs
		changes []keysync.KeyChange // master_key_* events of the run
	}{
		{
			name: "set differences",
			run: run{systems: []system{
				authority("A", "k1", "k2", "k3"),
				peer("C", "k1", "k2", "x1", "y1"),
				peer("B", "k1", "x1", "x2"),
			}},
			want: results{
				Summary: []keysync.SummaryRow{
					sum("A", auth, 3, 0, 3, 0, 3, 0, 0),
					sum("B", pr, 3, 0, 3, 0, 1, 2, 2),
					sum("C", pr, 4, 0, 4, 0, 2, 2, 1),
				},
				MissingInA: []keysync.MissingInA{
					mia("B", "x1", 2, "X1", "Proposed"),
					mia("B", "x2", 3, "X2", "Proposed"),
					mia("C", "x1", 3, "X1", "Proposed"),
					mia("C", "y1", 4, "Y1", "Proposed"),
				},
				MissingFromSystem: []keysync.MissingFromSystem{
					mfs("B", "k2", 2),
					mfs("B", "k3", 3),
					mfs("C", "k3", 3),
				},
				Registry: []keysync.RegistryEntry{
					reg("X1", "B", "x1", P, t0, t0),
					reg("X2", "B", "x2", P, t0, t0),
					reg("Y1", "C", "y1", P, t0, t0),
				},
			},
			kpis:    sqlite.KPIs{MissingInA: 4, MissingFromSystem: 3, AutoApprovalRate: rate(0)},
			changes: []keysync.KeyChange{proposed("X1", P), proposed("X2", P), proposed("Y1", P)},
		},
		{
			name: "matched counts distinct keys",
			run: run{systems: []system{
				authority("A", "k1", "K1", "k2", "k3"),
				withRejects(peer("B", "k1", "k1", "k2", "k2", "k9"),
					keysync.Rejection{Record: 6, RawKey: "--", Reason: keysync.RejectEmptyKey},
					keysync.Rejection{Record: 7, RawKey: "", Reason: keysync.RejectFieldCount}),
			}},
			want: results{
				Summary: []keysync.SummaryRow{
					sum("A", auth, 4, 0, 3, 1, 3, 0, 0), // matched = |K(A)|, not rows
					sum("B", pr, 7, 2, 3, 2, 2, 1, 1),
				},
				MissingInA:        []keysync.MissingInA{mia("B", "k9", 5, "K9", "Proposed")},
				MissingFromSystem: []keysync.MissingFromSystem{mfs("B", "k3", 4)},
				Exceptions: []keysync.Exception{
					dup("A", "K1", 2, keysync.CauseNormalized, "k1", "K1"),
					dup("B", "K1", 2, keysync.CauseRepeated, "k1"),
					dup("B", "K2", 2, keysync.CauseRepeated, "k2"),
				},
				Rejected: []keysync.RejectedRow{
					{System: "B", Record: 6, RawKey: "--", Reason: keysync.RejectEmptyKey},
					{System: "B", Record: 7, RawKey: "", Reason: keysync.RejectFieldCount},
				},
				Registry: []keysync.RegistryEntry{reg("K9", "B", "k9", P, t0, t0)},
			},
			kpis:    sqlite.KPIs{MissingInA: 1, MissingFromSystem: 1, DuplicateKeys: 3, AutoApprovalRate: rate(0)},
			changes: []keysync.KeyChange{proposed("K9", P)},
		},
		{
			name: "first-seen row is the lowest record",
			run: run{systems: []system{
				// File order is record order: the first-seen row is the first staged.
				{name: "A", role: auth, rows: []keysync.Row{row(1, "K5"), row(2, "k5"), row(3, "k6")}},
				{name: "B", role: pr, rows: []keysync.Row{row(1, "X1"), row(2, "x1"), row(3, " x1"), row(4, "k6")}},
			}},
			want: results{
				Summary: []keysync.SummaryRow{
					sum("A", auth, 3, 0, 2, 1, 2, 0, 0),
					sum("B", pr, 4, 0, 2, 1, 1, 1, 1),
				},
				MissingInA:        []keysync.MissingInA{mia("B", "X1", 1, "X1", "Proposed")},
				MissingFromSystem: []keysync.MissingFromSystem{mfs("B", "K5", 1)},
				Exceptions: []keysync.Exception{
					dup("A", "K5", 2, keysync.CauseNormalized, "K5", "k5"),
					dup("B", "X1", 3, keysync.CauseNormalized, "X1", "x1", " x1"),
				},
				Registry: []keysync.RegistryEntry{reg("X1", "B", "X1", P, t0, t0)},
			},
			kpis:    sqlite.KPIs{MissingInA: 1, MissingFromSystem: 1, DuplicateKeys: 2, AutoApprovalRate: rate(0)},
			changes: []keysync.KeyChange{proposed("X1", P)},
		},
		{
			name: "duplicates list distinct spellings by first appearance",
			run: run{systems: []system{
				// Byte order of the spellings of D1 is " d1" < "D1" < "d1";
				// first appearance is d1, D1, " d1".
				authority("A", "d1", "D1", "d1", " d1", "b2", "b2"),
				peer("B", "zz", "ZZ", "d1"),
			}},
			want: results{
				Summary: []keysync.SummaryRow{
					sum("A", auth, 6, 0, 2, 2, 2, 0, 0),
					sum("B", pr, 3, 0, 2, 1, 1, 1, 1),
				},
				MissingInA:        []keysync.MissingInA{mia("B", "zz", 1, "ZZ", "Proposed")},
				MissingFromSystem: []keysync.MissingFromSystem{mfs("B", "b2", 5)},
				Exceptions: []keysync.Exception{
					dup("A", "B2", 2, keysync.CauseRepeated, "b2"),
					dup("A", "D1", 4, keysync.CauseMixed, "d1", "D1", " d1"),
					dup("B", "ZZ", 2, keysync.CauseNormalized, "zz", "ZZ"),
				},
				Registry: []keysync.RegistryEntry{reg("ZZ", "B", "zz", P, t0, t0)},
			},
			kpis:    sqlite.KPIs{MissingInA: 1, MissingFromSystem: 1, DuplicateKeys: 3, AutoApprovalRate: rate(0)},
			changes: []keysync.KeyChange{proposed("ZZ", P)},
		},
		{
			name: "mirror registers a key two peers propose once",
			run: run{systems: []system{
				authority("A", "k1"),
				peer("C", " X1", "c1"),
				peer("B", "x1"),
			}},
			want: results{
				Summary: []keysync.SummaryRow{
					sum("A", auth, 1, 0, 1, 0, 1, 0, 0),
					sum("B", pr, 1, 0, 1, 0, 0, 1, 1),
					sum("C", pr, 2, 0, 2, 0, 0, 2, 1),
				},
				MissingInA: []keysync.MissingInA{
					mia("B", "x1", 1, "X1", "Proposed"),
					mia("C", "c1", 2, "C1", "Proposed"),
					mia("C", " X1", 1, "X1", "Proposed"),
				},
				MissingFromSystem: []keysync.MissingFromSystem{mfs("B", "k1", 1), mfs("C", "k1", 1)},
				// X1: the alphabetically first proposer (B, staged after C) and its raw key.
				Registry: []keysync.RegistryEntry{
					reg("C1", "C", "c1", P, t0, t0),
					reg("X1", "B", "x1", P, t0, t0),
				},
			},
			kpis:    sqlite.KPIs{MissingInA: 3, MissingFromSystem: 2, AutoApprovalRate: rate(0)},
			changes: []keysync.KeyChange{proposed("C1", P), proposed("X1", P)},
		},
		{
			name: "namespaced master keys carry the authority and system",
			run: run{strategy: keysync.StrategyNamespaced, systems: []system{
				authority("HQ", "k1"),
				peer("C", "x1"),
				peer("B", "x1", "k1"),
			}},
			want: results{
				Summary: []keysync.SummaryRow{
					sum("HQ", auth, 1, 0, 1, 0, 1, 0, 0),
					sum("B", pr, 2, 0, 2, 0, 1, 1, 0),
					sum("C", pr, 1, 0, 1, 0, 0, 1, 1),
				},
				MissingInA: []keysync.MissingInA{
					mia("B", "x1", 1, "HQ-B-X1", "Proposed"),
					mia("C", "x1", 1, "HQ-C-X1", "Proposed"),
				},
				MissingFromSystem: []keysync.MissingFromSystem{mfs("C", "k1", 1)},
				Registry: []keysync.RegistryEntry{
					reg("HQ-B-X1", "B", "x1", P, t0, t0),
					reg("HQ-C-X1", "C", "x1", P, t0, t0),
				},
			},
			kpis:    sqlite.KPIs{MissingInA: 2, MissingFromSystem: 1, AutoApprovalRate: rate(0)},
			changes: []keysync.KeyChange{proposed("HQ-B-X1", P), proposed("HQ-C-X1", P)},
		},
		{
			name: "master key equal to an authority key is a conflict",
			run: run{strategy: keysync.StrategyNamespaced, systems: []system{
				authority("A", "a-b-x1", "k1"),
				peer("B", "x1", "x2", "k1", "X2"),
			}},
			want: results{
				Summary: []keysync.SummaryRow{
					sum("A", auth, 2, 0, 2, 0, 2, 0, 0),
					sum("B", pr, 4, 0, 3, 1, 1, 2, 1),
				},
				MissingInA: []keysync.MissingInA{
					mia("B", "x1", 1, "A-B-X1", ""), // not registered: empty status
					mia("B", "x2", 2, "A-B-X2", "Proposed"),
				},
				MissingFromSystem: []keysync.MissingFromSystem{mfs("B", "a-b-x1", 1)},
				// By kind, then system and key: the duplicate X2 before the conflict X1.
				Exceptions: []keysync.Exception{
					dup("B", "X2", 2, keysync.CauseNormalized, "x2", "X2"),
					conflict("B", "X1", "A-B-X1"),
				},
				Registry: []keysync.RegistryEntry{reg("A-B-X2", "B", "x2", P, t0, t0)},
			},
			kpis:    sqlite.KPIs{MissingInA: 2, MissingFromSystem: 1, DuplicateKeys: 1, AutoApprovalRate: rate(0)},
			changes: []keysync.KeyChange{proposed("A-B-X2", P)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := MustOpenDB(t)
			runID, kpis := mustRun(t, db, tt.run)
			stamp(runID, &tt.want)
			checkResults(t, readResults(t, db.Reader(), runID), tt.want)
			checkKPIs(t, db, runID, kpis, tt.kpis)

			events := eventsOfRun(t, db, runID)
			sameRows(t, "registry events", sortChanges(keyChanges(t, events)), sortChanges(tt.changes))
			if got, want := events[0].EventType, keysync.EventRunStarted; got != want {
				t.Errorf("first event of the run = %s, want %s", got, want)
			}
			if got, want := events[len(events)-1].EventType, keysync.EventRunSucceeded; got != want {
				t.Errorf("last event of the run = %s, want %s", got, want)
			}
		})
	}
}

// withRejects gives s rejected rows; they count as rows read.
func withRejects(s system, rejects ...keysync.Rejection) system {
	s.rejects = rejects
	return s
}

// TestFinishRunRecordsSuccess checks the runs row and events of a finished run.
func TestFinishRunRecordsSuccess(t *testing.T) {
	db := MustOpenDB(t)
	r := run{systems: []system{authority("A", "k1"), peer("B", "x1")}, took: 1500 * time.Millisecond}
	runID := startAndStage(t, db, r)
	if got := readRun(t, db, runID); got.Status != "running" || got.FinishedAt.Valid {
		t.Errorf("after StartRun: status %q, finished_at %v; want running and NULL", got.Status, got.FinishedAt)
	}
	db.Now = at(t1)
	if _, err := db.FinishRun(context.Background(), r.finish(runID)); err != nil {
		t.Fatal(err)
	}
	got := readRun(t, db, runID)
	if got.Status != "succeeded" || got.Mode != "normal" || got.Errors != "" ||
		got.FinishedAt.String != ts(t1) || got.DurationMs.Int64 != 1500 {
		t.Errorf("runs row = %+v, want succeeded, normal, no errors, finished_at %s, duration_ms 1500", got, ts(t1))
	}
	sameRows(t, "events", eventTypes(eventsOfRun(t, db, runID)), []keysync.EventType{
		keysync.EventRunStarted, keysync.EventMasterKeyProposed, keysync.EventRunSucceeded})
	for _, e := range auditLog(t, db) {
		want := ts(t1)
		if e.EventType == keysync.EventRunStarted {
			want = ts(t0)
		}
		if e.CreatedAt != want {
			t.Errorf("event %s created_at = %s, want %s", e.EventType, e.CreatedAt, want)
		}
	}
}

// TestFinishRunLargeStaging stages more rows than one multi-row INSERT carries.
func TestFinishRunLargeStaging(t *testing.T) {
	db := MustOpenDB(t)
	const n = 1000
	var a, b []string
	for i := range n {
		a = append(a, fmt.Sprintf("k%04d", i))
		if i%10 != 0 { // B lacks every tenth key of A …
			b = append(b, fmt.Sprintf("k%04d", i))
		}
		if i%100 == 0 { // … and has ten of its own
			b = append(b, fmt.Sprintf("x%04d", i))
		}
	}
	runID, kpis := mustRun(t, db, run{systems: []system{authority("A", a...), peer("B", b...)}})
	res := readResults(t, db.Reader(), runID)
	sameRows(t, "summary", res.Summary, []keysync.SummaryRow{
		{RunID: runID, System: "A", Role: keysync.RoleAuthority, RowsRead: n, DistinctKeys: n, Matched: n},
		{RunID: runID, System: "B", Role: keysync.RolePeer, RowsRead: int64(len(b)), DistinctKeys: int64(len(b)),
			Matched: n - n/10, MissingInA: n / 100, MissingFromSystem: n / 10},
	})
	if kpis.MissingInA != n/100 || kpis.MissingFromSystem != n/10 {
		t.Errorf("KPIs = %+v", kpis)
	}
	if got := len(res.Registry); got != n/100 {
		t.Errorf("registry has %d keys, want %d", got, n/100)
	}
}

// TestFinishRunRerunIsIdempotent: re-running on the same input changes
// nothing in the registry and writes no registry events (SPEC §6).
func TestFinishRunRerunIsIdempotent(t *testing.T) {
	systems := []system{
		authority("A", "k1", "k2", "a-b-k9"),
		peer("C", "x1", "k1"),
		peer("B", "x1", "x2", "k9"),
	}
	tests := []struct {
		name string
		run  run
	}{
		{"mirror", run{systems: systems}},
		{"mirror with auto-approve", run{systems: systems, autoApprove: true}},
		{"namespaced with a conflict", run{systems: systems, strategy: keysync.StrategyNamespaced}},
		{"namespaced with auto-approve", run{systems: systems, strategy: keysync.StrategyNamespaced, autoApprove: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := MustOpenDB(t)
			first, _ := mustRun(t, db, tt.run)
			before := registry(t, db)
			if len(before) == 0 {
				t.Fatal("the first run registered nothing; the test proves nothing")
			}
			want := readResults(t, db.Reader(), first)

			db.Now = at(t1)
			second, kpis := mustRun(t, db, tt.run)
			sameRows(t, "registry after the re-run", registry(t, db), before)
			sameRows(t, "events of the re-run", eventTypes(eventsOfRun(t, db, second)),
				[]keysync.EventType{keysync.EventRunStarted, keysync.EventRunSucceeded})

			// The findings are those of the first run, statuses included.
			stamp(second, &want)
			checkResults(t, readResults(t, db.Reader(), second), want)
			// Nothing was flipped by this run: the rate is 0 (not NULL).
			if tt.run.autoApprove && fmtRate(kpis.AutoApprovalRate) != "0" {
				t.Errorf("auto_approval_rate of the re-run = %s, want 0", fmtRate(kpis.AutoApprovalRate))
			}
		})
	}
}

// TestFinishRunAutoApprove: auto-approve flips every Proposed key the run
// proposes again to Active (one master_key_approved event by auto), registers
// new keys as Active, and leaves Active and Deprecated keys alone (SPEC §6).
func TestFinishRunAutoApprove(t *testing.T) {
	db := MustOpenDB(t)
	const (
		P = keysync.StatusProposed
		A = keysync.StatusActive
		D = keysync.StatusDeprecated
	)
	// At t0: P1 … P4 proposed. At t1: P2 approved, P3 deprecated.
	mustRun(t, db, run{systems: []system{authority("A", "k1"), peer("B", "p1", "p2", "p3", "p4")}})
	db.Now = at(t1)
	setStatus(t, db, A, "P2")
	setStatus(t, db, D, "P3")

	// At t2 with auto-approve: P1, P2, P3 again and a new N1; P4 is not seen.
	db.Now = at(t2)
	runID, kpis := mustRun(t, db, run{autoApprove: true,
		systems: []system{authority("A", "k1"), peer("B", "p1", "p2", "p3", "n1")}})

	res := readResults(t, db.Reader(), runID)
	sameRows(t, "registry", res.Registry, []keysync.RegistryEntry{
		reg("N1", "B", "n1", A, t2, t2),
		reg("P1", "B", "p1", A, t0, t2),
		reg("P2", "B", "p2", A, t0, t1),
		reg("P3", "B", "p3", D, t0, t1),
		reg("P4", "B", "p4", P, t0, t0), // not proposed by this run
	})
	stamped := []keysync.MissingInA{
		mia("B", "n1", 4, "N1", "Active"),
		mia("B", "p1", 1, "P1", "Active"),
		mia("B", "p2", 2, "P2", "Active"),
		mia("B", "p3", 3, "P3", "Deprecated"),
	}
	for i := range stamped {
		stamped[i].RunID = runID
	}
	sameRows(t, "missing_in_A", res.MissingInA, stamped)

	events := eventsOfRun(t, db, runID)
	sameRows(t, "registry events", sortChanges(keyChanges(t, events)), []keysync.KeyChange{
		proposed("N1", A), autoApproved("P1"),
	})
	for _, e := range events {
		if e.CreatedAt != ts(t2) {
			t.Errorf("event %s created_at = %s, want %s", e.EventType, e.CreatedAt, ts(t2))
		}
	}
	// N1 and P1 made Active by this run, out of N1, P1, P2, P3.
	if got := fmtRate(kpis.AutoApprovalRate); got != "0.5" {
		t.Errorf("auto_approval_rate = %s, want 0.5", got)
	}
}

// TestFinishRunDryRun: a dry run writes no registry rows or events, and its
// findings carry the status each key would have (SPEC §6, §7).
func TestFinishRunDryRun(t *testing.T) {
	tests := []struct {
		name        string
		autoApprove bool
		want        []keysync.MissingInA
	}{
		{"without auto-approve", false, []keysync.MissingInA{
			mia("B", "n1", 2, "N1", "Proposed"),
			mia("B", "p1", 1, "P1", "Proposed"),
			mia("B", "q1", 3, "Q1", "Active"),
		}},
		{"with auto-approve", true, []keysync.MissingInA{
			mia("B", "n1", 2, "N1", "Active"),
			mia("B", "p1", 1, "P1", "Active"),
			mia("B", "q1", 3, "Q1", "Active"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := MustOpenDB(t)
			mustRun(t, db, run{systems: []system{authority("A", "k1"), peer("B", "p1", "q1")}})
			setStatus(t, db, keysync.StatusActive, "Q1")
			before := registry(t, db)
			eventsBefore := len(auditLog(t, db))

			db.Now = at(t1)
			runID, _ := mustRun(t, db, run{dryRun: true, autoApprove: tt.autoApprove,
				systems: []system{authority("A", "k1", "k1"), peer("B", "p1", "n1", "q1")}})

			sameRows(t, "registry after a dry run", registry(t, db), before)
			sameRows(t, "events of the dry run", eventTypes(eventsOfRun(t, db, runID)),
				[]keysync.EventType{keysync.EventRunStarted, keysync.EventRunSucceeded})
			if got, want := len(auditLog(t, db)), eventsBefore+2; got != want {
				t.Errorf("audit log has %d events, want %d", got, want)
			}
			res := readResults(t, db.Reader(), runID)
			for i := range tt.want {
				tt.want[i].RunID = runID
			}
			sameRows(t, "missing_in_A", res.MissingInA, tt.want)
			// Everything else is computed as usual.
			if len(res.Summary) != 2 || len(res.Exceptions) != 1 {
				t.Errorf("dry run: %d summary rows, %d exceptions; want 2 and 1", len(res.Summary), len(res.Exceptions))
			}
			if got := readRun(t, db, runID); got.Mode != "dry-run" || got.Status != "succeeded" {
				t.Errorf("runs row: mode %q status %q, want dry-run succeeded", got.Mode, got.Status)
			}
		})
	}
}

// TestFinishRunAutoApprovalRate checks SPEC §9: the distinct non-conflicting
// master keys of the run's missing_in_A that auto-approve made Active in this
// run, over all of them; 0 without auto-approve; NULL when there are none.
func TestFinishRunAutoApprovalRate(t *testing.T) {
	ns := keysync.StrategyNamespaced
	tests := []struct {
		name  string
		prior func(t *testing.T, db *sqlite.DB)
		run   run
		want  *float64
	}{
		{
			name: "no proposals",
			run:  run{autoApprove: true, systems: []system{authority("A", "k1", "k2"), peer("B", "k1")}},
			want: nil,
		},
		{
			name: "only conflicts",
			run: run{autoApprove: true, strategy: ns,
				systems: []system{authority("A", "a-b-x1"), peer("B", "x1")}},
			want: nil,
		},
		{
			name: "without auto-approve",
			run:  run{systems: []system{authority("A", "k1"), peer("B", "x1", "x2")}},
			want: rate(0),
		},
		{
			name: "every new key",
			run:  run{autoApprove: true, systems: []system{authority("A", "k1"), peer("B", "x1", "x2")}},
			want: rate(1),
		},
		{
			name: "half flip",
			prior: func(t *testing.T, db *sqlite.DB) {
				mustRun(t, db, run{systems: []system{authority("A", "k1"), peer("B", "x1", "x2")}})
				setStatus(t, db, keysync.StatusActive, "X1")
			},
			run:  run{autoApprove: true, systems: []system{authority("A", "k1"), peer("B", "x1", "x2")}},
			want: rate(0.5),
		},
		{
			name: "conflicts are not counted",
			run: run{autoApprove: true, strategy: ns,
				systems: []system{authority("A", "a-b-x1"), peer("B", "x1", "x2")}},
			want: rate(1),
		},
		{
			name: "a key two peers propose counts once",
			prior: func(t *testing.T, db *sqlite.DB) {
				mustRun(t, db, run{systems: []system{authority("A", "k1"), peer("B", "x2")}})
				setStatus(t, db, keysync.StatusActive, "X2")
			},
			// X1 (from B and C) made Active, X2 already Active: 1 of 2, not 2 of 3.
			run:  run{autoApprove: true, systems: []system{authority("A", "k1"), peer("B", "x1", "x2"), peer("C", "x1")}},
			want: rate(0.5),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := MustOpenDB(t)
			if tt.prior != nil {
				tt.prior(t, db)
			}
			runID, kpis := mustRun(t, db, tt.run)
			if got, want := fmtRate(kpis.AutoApprovalRate), fmtRate(tt.want); got != want {
				t.Errorf("FinishRun auto_approval_rate = %s, want %s", got, want)
			}
			r := readRun(t, db, runID)
			var stored *float64
			if r.AutoApprovalRate.Valid {
				stored = &r.AutoApprovalRate.Float64
			}
			if got, want := fmtRate(stored), fmtRate(tt.want); got != want {
				t.Errorf("runs.auto_approval_rate = %s, want %s", got, want)
			}
		})
	}
}
