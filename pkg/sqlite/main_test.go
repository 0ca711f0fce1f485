package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/source"
	"github.com/keysync/keysync/pkg/sqlite"
)

// The fixed clocks of the tests: t0 is the first run, t1 a later one, so a
// test can tell a timestamp a run wrote from one it left alone.
var (
	t0 = time.Date(2024, 3, 1, 2, 0, 0, 0, time.UTC)
	t1 = time.Date(2024, 3, 2, 2, 0, 0, 0, time.UTC)
	t2 = time.Date(2024, 3, 3, 2, 0, 0, 0, time.UTC)
)

// at is a clock that always says t.
func at(t time.Time) func() time.Time { return func() time.Time { return t } }

// ts is t as the store writes it.
func ts(t time.Time) string { return sqlite.FormatTime(t) }

// MustOpenDB opens a fresh database file under tb.TempDir() with the clock
// fixed at t0, and closes it when the test ends.
func MustOpenDB(tb testing.TB) *sqlite.DB {
	tb.Helper()
	return mustOpenDBAt(tb, filepath.Join(tb.TempDir(), "keysync.db"))
}

func mustOpenDBAt(tb testing.TB, path string) *sqlite.DB {
	tb.Helper()
	db, _, err := sqlite.Create(context.Background(), path)
	if err != nil {
		tb.Fatalf("open %s: %v", path, err)
	}
	db.Now = at(t0)
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("close %s: %v", path, err)
		}
	})
	return db
}

// norm is the tests' stand-in for normalization: the store takes whatever
// key it is given, so trimming and upper-casing is enough to make several raw
// spellings share one key.
func norm(raw string) string { return strings.ToUpper(strings.TrimSpace(raw)) }

// row is the accepted row of record rec with raw key raw. Its descriptive
// fields name the record, so a test can tell which row was "first seen".
func row(rec int64, raw string) keysync.Row {
	return keysync.Row{
		Record:      rec,
		Key:         norm(raw),
		RawKey:      raw,
		EntityType:  fmt.Sprintf("E%d", rec),
		LocationRef: fmt.Sprintf("L%d", rec),
		LastSeenAt:  fmt.Sprintf("2024-01-01T00:00:%02dZ", rec%60),
	}
}

// system is one source of a staged run.
type system struct {
	name    string
	role    keysync.Role
	rows    []keysync.Row // staged in this order
	rejects []keysync.Rejection
}

// rowsOf numbers raws as records 1, 2, … in file order.
func rowsOf(raws ...string) []keysync.Row {
	rows := make([]keysync.Row, len(raws))
	for i, r := range raws {
		rows[i] = row(int64(i+1), r)
	}
	return rows
}

func authority(name string, raws ...string) system {
	return system{name: name, role: keysync.RoleAuthority, rows: rowsOf(raws...)}
}

func peer(name string, raws ...string) system {
	return system{name: name, role: keysync.RolePeer, rows: rowsOf(raws...)}
}

// run is one run to stage and finish.
type run struct {
	systems     []system // staged in this order; the authority must come first
	strategy    keysync.Strategy
	autoApprove bool
	dryRun      bool
	// took is recorded as duration_ms.
	took time.Duration
}

func (r run) authority() string {
	for _, s := range r.systems {
		if s.role == keysync.RoleAuthority {
			return s.name
		}
	}
	return ""
}

func (r run) finish(runID int64) sqlite.Finish {
	strategy := r.strategy
	if strategy == "" {
		strategy = keysync.StrategyMirror
	}
	return sqlite.Finish{
		RunID:       runID,
		Authority:   r.authority(),
		Strategy:    strategy,
		AutoApprove: r.autoApprove,
		DryRun:      r.dryRun,
		Took:        r.took,
	}
}

// startAndStage records a new run and stages r's rows, as reconcile does
// before the final commit.
func startAndStage(tb testing.TB, db *sqlite.DB, r run) int64 {
	tb.Helper()
	ctx := context.Background()
	mode := keysync.ModeNormal
	if r.dryRun {
		mode = keysync.ModeDryRun
	}
	runID, err := db.StartRun(ctx, mode, "keysync-config.yaml")
	if err != nil {
		tb.Fatalf("start run: %v", err)
	}
	stageRows(tb, db, runID, r.systems)
	return runID
}

// stageRows loads systems into the staging tables: BeginStaging, AddRows,
// AddReject, SetStats, Commit.
func stageRows(tb testing.TB, db *sqlite.DB, runID int64, systems []system) {
	tb.Helper()
	ctx := context.Background()
	names := make([]sqlite.StagingSystem, len(systems))
	for i, s := range systems {
		names[i] = sqlite.StagingSystem{Name: s.name, Role: s.role}
	}
	st, err := db.BeginStaging(ctx, runID, names)
	if err != nil {
		tb.Fatalf("begin staging: %v", err)
	}
	for _, s := range systems {
		if err := st.AddRows(ctx, s.name, s.rows); err != nil {
			st.Rollback()
			tb.Fatalf("add rows of %s: %v", s.name, err)
		}
		for _, rej := range s.rejects {
			if err := st.AddReject(ctx, s.name, rej); err != nil {
				st.Rollback()
				tb.Fatalf("add reject of %s: %v", s.name, err)
			}
		}
		stats := source.Stats{
			RowsRead:    int64(len(s.rows) + len(s.rejects)),
			Fingerprint: source.Fingerprint{Path: "input/" + s.name + ".csv"},
		}
		if err := st.SetStats(ctx, s.name, stats, int64(len(s.rejects))); err != nil {
			st.Rollback()
			tb.Fatalf("set stats of %s: %v", s.name, err)
		}
	}
	if _, err := st.Commit(ctx); err != nil {
		tb.Fatalf("commit staging: %v", err)
	}
}

// mustRun stages and finishes r, returning its run id and KPIs.
func mustRun(tb testing.TB, db *sqlite.DB, r run) (int64, sqlite.KPIs) {
	tb.Helper()
	runID := startAndStage(tb, db, r)
	kpis, err := db.FinishRun(context.Background(), r.finish(runID))
	if err != nil {
		tb.Fatalf("finish run %d: %v", runID, err)
	}
	return runID, kpis
}

// results is everything the reports of one run show, read back through Reader.
type results struct {
	Summary           []keysync.SummaryRow
	MissingInA        []keysync.MissingInA
	MissingFromSystem []keysync.MissingFromSystem
	Exceptions        []keysync.Exception
	Rejected          []keysync.RejectedRow
	Registry          []keysync.RegistryEntry
}

func readResults(tb testing.TB, r *sqlite.Reader, runID int64) results {
	tb.Helper()
	ctx := context.Background()
	var res results
	var err error
	if res.Summary, err = r.Summary(ctx, runID); err != nil {
		tb.Fatal(err)
	}
	if res.MissingInA, err = r.MissingInA(ctx, runID); err != nil {
		tb.Fatal(err)
	}
	if res.MissingFromSystem, err = r.MissingFromSystem(ctx, runID); err != nil {
		tb.Fatal(err)
	}
	if res.Exceptions, err = r.Exceptions(ctx, runID); err != nil {
		tb.Fatal(err)
	}
	if res.Rejected, err = r.Rejected(ctx, runID); err != nil {
		tb.Fatal(err)
	}
	if res.Registry, err = r.Registry(ctx, ""); err != nil {
		tb.Fatal(err)
	}
	return res
}

func registry(tb testing.TB, db *sqlite.DB) []keysync.RegistryEntry {
	tb.Helper()
	reg, err := db.Reader().Registry(context.Background(), "")
	if err != nil {
		tb.Fatal(err)
	}
	return reg
}

func auditLog(tb testing.TB, db *sqlite.DB) []keysync.AuditEvent {
	tb.Helper()
	events, err := db.Reader().Audit(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return events
}

// eventsOfRun are the audit events of runID (0: of no run), in order.
func eventsOfRun(tb testing.TB, db *sqlite.DB, runID int64) []keysync.AuditEvent {
	tb.Helper()
	var out []keysync.AuditEvent
	for _, e := range auditLog(tb, db) {
		if int64(e.RunID) == runID {
			out = append(out, e)
		}
	}
	return out
}

func eventTypes(events []keysync.AuditEvent) []keysync.EventType {
	out := make([]keysync.EventType, len(events))
	for i, e := range events {
		out[i] = e.EventType
	}
	return out
}

// keyChanges decodes the payloads of the master_key_* events among events,
// refusing payloads with keys other than those of SPEC §6.
func keyChanges(tb testing.TB, events []keysync.AuditEvent) []keysync.KeyChange {
	tb.Helper()
	var out []keysync.KeyChange
	for _, e := range events {
		if !strings.HasPrefix(string(e.EventType), "master_key_") {
			continue
		}
		dec := json.NewDecoder(strings.NewReader(string(e.Payload)))
		dec.DisallowUnknownFields()
		var c keysync.KeyChange
		if err := dec.Decode(&c); err != nil {
			tb.Fatalf("event %d %s: payload %s: %v", e.EventID, e.EventType, e.Payload, err)
		}
		out = append(out, c)
	}
	return out
}

// runRow is a row of the runs table.
type runRow struct {
	Status, Mode, Errors string
	FinishedAt           sql.NullString
	DurationMs           sql.NullInt64
	MissingInA           sql.NullInt64
	MissingFromSystem    sql.NullInt64
	DuplicateKeys        sql.NullInt64
	AutoApprovalRate     sql.NullFloat64
}

func readRun(tb testing.TB, db *sqlite.DB, runID int64) runRow {
	tb.Helper()
	var r runRow
	err := db.SQL().QueryRowContext(context.Background(), `
		SELECT status, mode, errors, finished_at, duration_ms, missing_in_A_count,
		       missing_from_system_count, duplicate_keys_count, auto_approval_rate
		FROM runs WHERE run_id = ?`, runID).Scan(&r.Status, &r.Mode, &r.Errors, &r.FinishedAt,
		&r.DurationMs, &r.MissingInA, &r.MissingFromSystem, &r.DuplicateKeys, &r.AutoApprovalRate)
	if err != nil {
		tb.Fatalf("read run %d: %v", runID, err)
	}
	return r
}

// count runs a COUNT query.
func count(tb testing.TB, db *sqlite.DB, query string, args ...any) int64 {
	tb.Helper()
	var n int64
	if err := db.SQL().QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
	return n
}

// sameRows reports a difference between two row lists, one row a line; empty
// and nil lists are equal.
func sameRows[T any](tb testing.TB, what string, got, want []T) {
	tb.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		tb.Errorf("%s:\n got:%s\nwant:%s", what, lines(got), lines(want))
	}
}

func lines[T any](rows []T) string {
	if len(rows) == 0 {
		return " (none)"
	}
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "\n\t%+v", r)
	}
	return b.String()
}

func rate(f float64) *float64 { return &f }

func fmtRate(p *float64) string {
	if p == nil {
		return "NULL"
	}
	return fmt.Sprint(*p)
}

// setStatus is an operator's change (by alice) at the database's current clock.
func setStatus(tb testing.TB, db *sqlite.DB, to keysync.Status, keys ...string) {
	tb.Helper()
	if _, err := db.SetStatus(context.Background(), sqlite.Transition{Keys: keys, To: to, By: "alice"}); err != nil {
		tb.Fatalf("set %v to %s: %v", keys, to, err)
	}
}
