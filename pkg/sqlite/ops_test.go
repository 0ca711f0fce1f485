package sqlite_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keysync/keysync/pkg/config"
	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/reconcile"
	"github.com/keysync/keysync/pkg/sqlite"
)

// opsClock is the fixed clock of the ops tests: run n happens n days after it.
var opsClock = time.Date(2024, 5, 1, 2, 0, 0, 0, time.UTC)

// opsDay is the clock of run n.
func opsDay(n int) time.Time { return opsClock.AddDate(0, 0, n) }

// opsHistory is a database after four runs of A, B and C (mirror, default
// normalization), so the store's look-back methods have a history to read:
//
//	run 1 normal   B: k-1 x-1 "x 2" -_-   C: x_1        → X-1 (B, C), X-2 (B) proposed
//	run 2 normal   B: k-1 X--1 -_-        C: x_1        → B spells X-1 differently
//	run 3 dry-run  B: k-1 x..1 -_-        C: x_1
//	run 4 failed   (B's file is missing)
//
// A holds K-1 and K-2 throughout; B's -_- is rejected (empty_key) each run.
// X-1 is approved between runs 1 and 2.
type opsHistory struct {
	db   *sqlite.DB
	dir  string
	cfg  *config.Config
	path string
}

func opsWrite(tb testing.TB, dir, name, content string) {
	tb.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// opsConfig is the config of the ops tests, read from dir.
func opsConfig(tb testing.TB, dir string) *config.Config {
	tb.Helper()
	cfg, err := config.Parse(strings.NewReader(`
database: ./keysync.db
output_dir: ./output
sources:
  A: { path: ./A.csv }
  B: { path: ./B.csv }
  C: { path: ./C.csv }
`), dir)
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// opsRun runs one reconciliation at the clock of day n.
func (h *opsHistory) run(tb testing.TB, n int, dryRun bool) error {
	tb.Helper()
	h.db.Now = func() time.Time { return opsDay(n) }
	cfg := *h.cfg
	cfg.DryRun = dryRun
	_, err := reconcile.Run(context.Background(), &cfg, h.db, false, slog.New(slog.DiscardHandler))
	return err
}

func newOpsHistory(t *testing.T) *opsHistory {
	t.Helper()
	dir := t.TempDir()
	h := &opsHistory{dir: dir, cfg: opsConfig(t, dir), path: filepath.Join(dir, "keysync.db")}
	db, _, err := sqlite.Create(context.Background(), h.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h.db = db

	opsWrite(t, dir, "A.csv", "source_key\nK-1\nK-2\n")
	opsWrite(t, dir, "C.csv", "source_key\nx_1\n")
	opsWrite(t, dir, "B.csv", "source_key\nk-1\nx-1\nx 2\n-_-\n")
	if err := h.run(t, 1, false); err != nil {
		t.Fatal(err)
	}
	db.Now = func() time.Time { return opsDay(1).Add(time.Hour) }
	if _, err := db.SetStatus(context.Background(), sqlite.Transition{
		Keys: []string{"X-1"}, To: keysync.StatusActive, By: "alice", Reason: "checked"}); err != nil {
		t.Fatal(err)
	}
	opsWrite(t, dir, "B.csv", "source_key\nk-1\nX--1\n-_-\n")
	if err := h.run(t, 2, false); err != nil {
		t.Fatal(err)
	}
	opsWrite(t, dir, "B.csv", "source_key\nk-1\nx..1\n-_-\n")
	if err := h.run(t, 3, true); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "B.csv"))
	if err := h.run(t, 4, false); err == nil {
		t.Fatal("run 4: want a failed run (B.csv is missing)")
	}
	return h
}

func TestMasterKey(t *testing.T) {
	h := newOpsHistory(t)
	ctx := context.Background()
	r := h.db.Reader()

	got, ok, err := r.MasterKey(ctx, "X-1")
	if err != nil || !ok {
		t.Fatalf("MasterKey(X-1) = %v, %v", ok, err)
	}
	want := keysync.RegistryEntry{MasterKey: "X-1", SourceSystem: "B", SourceKey: "x-1", Status: keysync.StatusActive,
		CreatedAt: sqlite.FormatTime(opsDay(1)), UpdatedAt: sqlite.FormatTime(opsDay(1).Add(time.Hour))}
	if got != want {
		t.Errorf("MasterKey(X-1) = %+v, want %+v", got, want)
	}
	for _, key := range []string{"NOPE", "x-1", "K-1"} {
		if _, ok, err := r.MasterKey(ctx, key); ok || err != nil {
			t.Errorf("MasterKey(%q) = %v, %v; want not found", key, ok, err)
		}
	}
}

func TestKeyReports(t *testing.T) {
	h := newOpsHistory(t)
	ctx := context.Background()
	got, err := h.db.Reader().KeyReports(ctx, "X-1")
	if err != nil {
		t.Fatal(err)
	}
	rep := func(run int, mode keysync.RunMode, system, raw, status string) sqlite.KeyReport {
		return sqlite.KeyReport{RunID: int64(run), StartedAt: sqlite.FormatTime(opsDay(run)), Mode: mode,
			System: system, SourceKey: raw, Key: "X-1", Status: status}
	}
	want := []sqlite.KeyReport{
		rep(1, keysync.ModeNormal, "B", "x-1", "Proposed"),
		rep(1, keysync.ModeNormal, "C", "x_1", "Proposed"),
		rep(2, keysync.ModeNormal, "B", "X--1", "Active"),
		rep(2, keysync.ModeNormal, "C", "x_1", "Active"),
		rep(3, keysync.ModeDryRun, "B", "x..1", "Active"),
		rep(3, keysync.ModeDryRun, "C", "x_1", "Active"),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("KeyReports(X-1):\n got %+v\nwant %+v", got, want)
	}
	if got, err := h.db.Reader().KeyReports(ctx, "NOPE"); err != nil || len(got) != 0 {
		t.Errorf("KeyReports(NOPE) = %v, %v; want none", got, err)
	}
}

func TestKeyHistory(t *testing.T) {
	h := newOpsHistory(t)
	got, err := h.db.Reader().KeyHistory(context.Background(), "X-1")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range got {
		lines = append(lines, fmt.Sprintf("%d %s %s %s", e.RunID, e.EventType, e.Payload, e.CreatedAt))
	}
	want := []string{
		`1 master_key_proposed {"master_key":"X-1","from":"","to":"Proposed","by":"auto"} ` + sqlite.FormatTime(opsDay(1)),
		`0 master_key_approved {"master_key":"X-1","from":"Proposed","to":"Active","by":"alice","reason":"checked"} ` +
			sqlite.FormatTime(opsDay(1).Add(time.Hour)),
	}
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("KeyHistory(X-1):\n got %q\nwant %q", lines, want)
	}
}

func TestCrosswalk(t *testing.T) {
	h := newOpsHistory(t)
	ctx := context.Background()
	cw := func(master, system, raw string, st keysync.Status) sqlite.CrosswalkRow {
		return sqlite.CrosswalkRow{MasterKey: master, System: system, SourceKey: raw, Status: st}
	}
	got, err := h.db.Reader().Crosswalk(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// B's newest normal report of X-1 is run 2's X--1 (run 3 was a dry run);
	// X-2 was last reported in run 1.
	want := []sqlite.CrosswalkRow{
		cw("X-1", "B", "X--1", keysync.StatusActive),
		cw("X-1", "C", "x_1", keysync.StatusActive),
		cw("X-2", "B", "x 2", keysync.StatusProposed),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Crosswalk:\n got %+v\nwant %+v", got, want)
	}

	// Pruning keeps the newest normal run 2, whose reports the crosswalk
	// reads (the dry run 3 takes no place among the kept): nothing changes.
	if _, err := h.db.Prune(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if got, err = h.db.Reader().Crosswalk(ctx); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Crosswalk after prune:\n got %+v, %v\nwant %+v", got, err, want)
	}
	// With no findings left at all, only the registry's proposing system is
	// left, with the raw key the registry kept.
	if _, err := h.db.SQL().ExecContext(ctx, `DELETE FROM findings`); err != nil {
		t.Fatal(err)
	}
	got, err = h.db.Reader().Crosswalk(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want = []sqlite.CrosswalkRow{
		cw("X-1", "B", "x-1", keysync.StatusActive),
		cw("X-2", "B", "x 2", keysync.StatusProposed),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Crosswalk without findings:\n got %+v\nwant %+v", got, want)
	}
}

func TestCrosswalkEmpty(t *testing.T) {
	db := MustOpenDB(t)
	got, err := db.Reader().Crosswalk(context.Background())
	if err != nil || len(got) != 0 {
		t.Errorf("Crosswalk of an empty database = %v, %v; want no rows", got, err)
	}
}

func TestRunOutcome(t *testing.T) {
	h := newOpsHistory(t)
	ctx := context.Background()
	type outcome struct {
		ok     bool
		status keysync.RunStatus
		mode   keysync.RunMode
		pruned bool
	}
	read := func(id int64) outcome {
		t.Helper()
		o, ok, err := h.db.Reader().RunOutcome(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if ok && o.RunID != id {
			t.Errorf("RunOutcome(%d).RunID = %d", id, o.RunID)
		}
		return outcome{ok, o.Status, o.Mode, o.Pruned}
	}
	check := func(when string, want map[int64]outcome) {
		t.Helper()
		for id, w := range want {
			if got := read(id); got != w {
				t.Errorf("%s: RunOutcome(%d) = %+v, want %+v", when, id, got, w)
			}
		}
	}
	check("before prune", map[int64]outcome{
		1:  {true, keysync.RunSucceeded, keysync.ModeNormal, false},
		3:  {true, keysync.RunSucceeded, keysync.ModeDryRun, false},
		4:  {true, keysync.RunFailed, keysync.ModeNormal, false},
		0:  {},
		99: {},
	})
	if _, err := h.db.Prune(ctx, 1); err != nil {
		t.Fatal(err)
	}
	check("after prune", map[int64]outcome{
		1: {true, keysync.RunSucceeded, keysync.ModeNormal, true},
		2: {true, keysync.RunSucceeded, keysync.ModeNormal, false},
		3: {true, keysync.RunSucceeded, keysync.ModeDryRun, false},
		4: {true, keysync.RunFailed, keysync.ModeNormal, false},
	})
}

// opsCounts counts the rows of every table prune may or may not touch, per run
// where the table has runs.
func opsCounts(tb testing.TB, db *sqlite.DB) map[string]int64 {
	tb.Helper()
	out := map[string]int64{}
	for _, q := range []string{
		"SELECT 'findings/' || run_id, COUNT(*) FROM findings GROUP BY run_id",
		"SELECT 'rejected_rows/' || run_id, COUNT(*) FROM rejected_rows GROUP BY run_id",
		"SELECT 'runs', COUNT(*) FROM runs",
		"SELECT 'run_systems', COUNT(*) FROM run_systems",
		"SELECT 'master_key_registry', COUNT(*) FROM master_key_registry",
		"SELECT 'audit_log', COUNT(*) FROM audit_log",
	} {
		rows, err := db.SQL().Query(q)
		if err != nil {
			tb.Fatal(err)
		}
		for rows.Next() {
			var k string
			var n int64
			if err := rows.Scan(&k, &n); err != nil {
				tb.Fatal(err)
			}
			out[k] = n
		}
		rows.Close()
	}
	return out
}

// opsDump is the content of the tables prune must never change.
func opsDump(tb testing.TB, db *sqlite.DB) string {
	tb.Helper()
	var b strings.Builder
	for _, table := range []string{"runs", "run_systems", "master_key_registry", "audit_log"} {
		rows, err := db.SQL().Query("SELECT * FROM " + table + " ORDER BY 1, 2")
		if err != nil {
			tb.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				tb.Fatal(err)
			}
			fmt.Fprintln(&b, table, vals)
		}
		rows.Close()
	}
	return b.String()
}

func TestPrune(t *testing.T) {
	h := newOpsHistory(t)
	ctx := context.Background()
	before := opsCounts(t, h.db)
	kept := opsDump(t, h.db)
	for _, k := range []string{"findings/1", "findings/2", "findings/3", "rejected_rows/1", "rejected_rows/2", "rejected_rows/3"} {
		if before[k] == 0 {
			t.Fatalf("fixture: no %s rows; counts %v", k, before)
		}
	}

	// Two succeeded normal runs and a dry run: keeping 2 (or more) removes
	// nothing, as the dry run takes no place among the kept.
	for _, keep := range []int{2, 3, 10} {
		p, err := h.db.Prune(ctx, keep)
		if err != nil {
			t.Fatal(err)
		}
		if want := (sqlite.Pruned{KeptFrom: 1}); p != want {
			t.Errorf("Prune(%d) = %+v, want %+v", keep, p, want)
		}
	}
	if got := opsCounts(t, h.db); !reflect.DeepEqual(got, before) {
		t.Errorf("Prune(2) changed counts: %v, was %v", got, before)
	}

	// Keep 1: run 1 goes; the dry run 3, newer than the kept run 2, stays.
	// The failed run 4 does not count as kept.
	p, err := h.db.Prune(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := sqlite.Pruned{KeptFrom: 2, Runs: 1, Findings: before["findings/1"], Rejected: before["rejected_rows/1"]}
	if p != want {
		t.Errorf("Prune(1) = %+v, want %+v", p, want)
	}
	after := opsCounts(t, h.db)
	for k, n := range before {
		w := n
		if k == "findings/1" || k == "rejected_rows/1" {
			w = 0
		}
		if after[k] != w {
			t.Errorf("after Prune(1): %s = %d, want %d", k, after[k], w)
		}
	}
	if got := opsDump(t, h.db); got != kept {
		t.Errorf("Prune changed runs, run_systems, the registry or the audit log:\n got %s\nwant %s", got, kept)
	}

	// Again: nothing more goes.
	p, err = h.db.Prune(ctx, 1)
	if want := (sqlite.Pruned{KeptFrom: 2}); err != nil || p != want {
		t.Errorf("Prune(1) again = %+v, %v; want %+v", p, err, want)
	}
	if got := opsDump(t, h.db); got != kept {
		t.Errorf("Prune changed runs, run_systems, the registry or the audit log:\n got %s\nwant %s", got, kept)
	}
}

func TestPruneRefusesKeepBelowOne(t *testing.T) {
	h := newOpsHistory(t)
	before := opsCounts(t, h.db)
	for _, keep := range []int{0, -1} {
		if _, err := h.db.Prune(context.Background(), keep); err == nil {
			t.Errorf("Prune(%d): no error", keep)
		}
	}
	if got := opsCounts(t, h.db); !reflect.DeepEqual(got, before) {
		t.Errorf("a refused Prune changed counts: %v, was %v", got, before)
	}
}

func TestPruneEmptyDatabase(t *testing.T) {
	db := MustOpenDB(t)
	p, err := db.Prune(context.Background(), 1)
	if err != nil || p != (sqlite.Pruned{}) {
		t.Errorf("Prune of an empty database = %+v, %v; want nothing", p, err)
	}
}

func TestMigrations(t *testing.T) {
	ctx := context.Background()
	all, err := sqlite.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 || all[0].Version != 1 || all[0].Name != "00001_init.sql" {
		t.Fatalf("Migrations() = %+v, want 00001_init.sql first", all)
	}
	for i, m := range all {
		if m.State != sqlite.MigrationPending || m.AppliedAt != "" {
			t.Errorf("Migrations()[%d] = %+v, want pending", i, m)
		}
		if i > 0 && m.Version <= all[i-1].Version {
			t.Errorf("Migrations() not in version order: %+v", all)
		}
	}

	t.Run("migrated", func(t *testing.T) {
		db := MustOpenDB(t)
		got, err := db.MigrationStates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(all) {
			t.Fatalf("MigrationStates = %+v, want %d migrations", got, len(all))
		}
		for i, m := range got {
			if m.Version != all[i].Version || m.Name != all[i].Name || m.State != sqlite.MigrationApplied {
				t.Errorf("MigrationStates[%d] = %+v, want %s applied", i, m, all[i].Name)
			}
			if _, err := time.Parse(time.RFC3339, m.AppliedAt); err != nil {
				t.Errorf("MigrationStates[%d].AppliedAt = %q: %v", i, m.AppliedAt, err)
			}
		}
	})

	t.Run("last version pending", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "keysync.db")
		db, _, err := sqlite.Create(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		last := all[len(all)-1].Version
		if _, err := db.SQL().Exec(`DELETE FROM goose_db_version WHERE version_id = ?`, last); err != nil {
			t.Fatal(err)
		}
		db.Close()
		ro, err := sqlite.OpenReadOnly(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer ro.Close()
		got, err := ro.MigrationStates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range got {
			want := sqlite.MigrationApplied
			if m.Version == last {
				want = sqlite.MigrationPending
			}
			if m.State != want {
				t.Errorf("migration %s is %s, want %s", m.Name, m.State, want)
			}
		}
	})

	t.Run("empty file, read-only", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "empty.db")
		opsWrite(t, filepath.Dir(path), "empty.db", "")
		ro, err := sqlite.OpenReadOnly(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer ro.Close()
		got, err := ro.MigrationStates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, all) {
			t.Errorf("MigrationStates of an empty file = %+v, want all pending %+v", got, all)
		}
		if fi, err := os.Stat(path); err != nil || fi.Size() != 0 {
			t.Errorf("reading the status wrote to the file: %v, %v", fi, err)
		}
	})
}

func TestCheckReadOnly(t *testing.T) {
	for _, tc := range []struct {
		stmt    string
		refused string // the keyword named, or "" when accepted
	}{
		{"SELECT * FROM runs", ""},
		{"  select 1;  ", ""},
		{"-- the runs\nSELECT * FROM runs -- all of them\n;", ""},
		{"/* a; b */ WITH x AS (SELECT 1) SELECT * FROM x", ""},
		{"VALUES (1), (2)", ""},
		{"EXPLAIN QUERY PLAN SELECT * FROM findings", ""},
		{"SELECT 'a;b', \"c;d\", [e;f], `g;h` FROM runs", ""},
		{"SELECT 'it''s; fine'", ""},
		{"PRAGMA table_info(runs)", ""},
		{"PRAGMA main.table_info ( findings )", ""},
		{"PRAGMA user_version", ""},
		{"pragma integrity_check", ""},
		{"SELECT * FROM pragma_table_info('runs')", ""},
		{"INSERT INTO runs DEFAULT VALUES", "INSERT"},
		{"  update master_key_registry SET status = 'Active'", "UPDATE"},
		{"DELETE FROM findings", "DELETE"},
		{"DROP TABLE runs", "DROP"},
		{"CREATE TABLE t (x)", "CREATE"},
		{"CREATE TEMP TABLE t (x)", "CREATE"},
		{"ATTACH 'x.db' AS x", "ATTACH"},
		{"DETACH x", "DETACH"},
		{"VACUUM INTO 'copy.db'", "VACUUM"},
		{"REPLACE INTO runs DEFAULT VALUES", "REPLACE"},
		{"BEGIN", "BEGIN"},
		{"ANALYZE", "ANALYZE"},
		{"REINDEX", "REINDEX"},
		{"SELEC 1", ""}, // not a statement: SQLite's parser refuses it
		{"/* SELECT */ DELETE FROM runs", "DELETE"},
		{"PRAGMA query_only = 0", "PRAGMA query_only"},
		{"PRAGMA query_only(0)", "PRAGMA query_only"},
		{"PRAGMA main.user_version=7", "PRAGMA user_version"},
		{"PRAGMA journal_mode = DELETE", "PRAGMA journal_mode"},
		{"SELECT 1; DELETE FROM runs", "SELECT; DELETE"},
		{"SELECT 1; SELECT 2", "SELECT; SELECT"},
		{"SELECT ';' ; PRAGMA query_only=0", "SELECT; PRAGMA"},
		{"SELECT 1 -- ;\n; ATTACH 'x' AS y", "SELECT; ATTACH"},
	} {
		err := sqlite.CheckReadOnly(tc.stmt)
		var we *sqlite.WriteRefusedError
		switch {
		case tc.refused == "" && err != nil:
			t.Errorf("CheckReadOnly(%q) = %v, want accepted", tc.stmt, err)
		case tc.refused != "" && !errors.As(err, &we):
			t.Errorf("CheckReadOnly(%q) = %v, want *WriteRefusedError", tc.stmt, err)
		case tc.refused != "" && we.Keyword != tc.refused:
			t.Errorf("CheckReadOnly(%q) names %q, want %q (%v)", tc.stmt, we.Keyword, tc.refused, err)
		case tc.refused != "" && !strings.Contains(err.Error(), tc.refused):
			t.Errorf("CheckReadOnly(%q) = %q, does not name %q", tc.stmt, err, tc.refused)
		}
	}
	for _, stmt := range []string{"", "  ", ";", "-- nothing\n", "/* nothing */ ;"} {
		var qe *sqlite.QueryError
		if err := sqlite.CheckReadOnly(stmt); !errors.As(err, &qe) {
			t.Errorf("CheckReadOnly(%q) = %v, want *QueryError", stmt, err)
		}
	}
}

// opsFileSum is the SHA-256 of the database file and its WAL, if any.
func opsFileSum(tb testing.TB, path string) string {
	tb.Helper()
	h := sha256.New()
	for _, p := range []string{path, path + "-wal"} {
		f, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			tb.Fatal(err)
		}
		io.Copy(h, f)
		f.Close()
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func TestReadQuery(t *testing.T) {
	h := newOpsHistory(t)
	ctx := context.Background()
	h.db.Close()
	sum := opsFileSum(t, h.path)
	ro, err := sqlite.OpenReadOnly(ctx, h.path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()

	query := func(stmt string) ([]string, [][]any, error) {
		var cols []string
		var rows [][]any
		err := ro.ReadQuery(ctx, stmt,
			func(c []string) error { cols = c; return nil },
			func(v []any) error { rows = append(rows, v); return nil })
		return cols, rows, err
	}

	cols, rows, err := query("SELECT 1 AS n, NULL AS none, 2.5 AS r, 'x' AS s, x'00ff' AS b")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"n", "none", "r", "s", "b"}; !reflect.DeepEqual(cols, want) {
		t.Errorf("columns = %q, want %q", cols, want)
	}
	if want := [][]any{{int64(1), nil, 2.5, "x", []byte{0, 0xff}}}; !reflect.DeepEqual(rows, want) {
		t.Errorf("rows = %#v, want %#v", rows, want)
	}

	cols, rows, err = query("SELECT run_id, status FROM runs ORDER BY run_id")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || rows[3][1] != "failed" || cols[0] != "run_id" {
		t.Errorf("runs = %q %v", cols, rows)
	}

	// Writes are refused, whether the lexical check or SQLite catches them.
	for stmt, kw := range map[string]string{
		"DELETE FROM findings":                      "DELETE",
		"WITH x AS (SELECT 1) DELETE FROM findings": "WITH",
		"WITH x AS (SELECT 1) INSERT INTO findings (run_id, kind, system, key) SELECT 1, 'duplicate', 'B', 'Z' FROM x": "WITH",
		"PRAGMA user_version = 9":                               "PRAGMA user_version",
		"SELECT 1; PRAGMA query_only = 0":                       "SELECT; PRAGMA",
		"ATTACH '" + filepath.Join(h.dir, "x.db") + "' AS x":    "ATTACH",
		"VACUUM INTO '" + filepath.Join(h.dir, "copy.db") + "'": "VACUUM",
	} {
		var we *sqlite.WriteRefusedError
		if _, _, err := query(stmt); !errors.As(err, &we) || we.Keyword != kw {
			t.Errorf("ReadQuery(%q) = %v, want a *WriteRefusedError naming %s", stmt, err, kw)
		}
	}
	for _, stmt := range []string{"SELEC 1", "SELECT * FROM nosuch", "SELECT nosuch FROM runs"} {
		var qe *sqlite.QueryError
		if _, _, err := query(stmt); !errors.As(err, &qe) {
			t.Errorf("ReadQuery(%q) = %v, want a *QueryError", stmt, err)
		}
	}
	for _, f := range []string{"x.db", "copy.db"} {
		if _, err := os.Stat(filepath.Join(h.dir, f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s exists: a refused statement created it", f)
		}
	}
	// query_only is still on after everything above.
	if _, rows, err := query("PRAGMA query_only"); err != nil || rows[0][0] != int64(1) {
		t.Errorf("PRAGMA query_only = %v, %v; want 1", rows, err)
	}
	ro.Close()
	if got := opsFileSum(t, h.path); got != sum {
		t.Error("the database file changed under ReadQuery")
	}
}

func TestReadQueryNeedsReadOnly(t *testing.T) {
	db := MustOpenDB(t)
	err := db.ReadQuery(context.Background(), "SELECT 1",
		func([]string) error { return nil }, func([]any) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("ReadQuery on a writable database = %v, want refused", err)
	}
}
