package sqlite

// Internal tests of the history read queries (history.go) and the views of
// sql/migrations/00002_views.sql. They build runs through the store's own API
// (StartRun, BeginStaging, FinishRun), each at a fixed clock, on a real file
// under t.TempDir().

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/source"
)

// histDay is the start of day n (from 1) of the tests' calendar, 02:00 UTC.
func histDay(n int) time.Time {
	return time.Date(2024, 5, n, 2, 0, 0, 0, time.UTC)
}

func histOpen(t *testing.T) *DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keysync.db")
	d, _, err := Create(context.Background(), path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// histRun is one run's input: the raw keys of the authority A and of peer B
// (a key given twice is a duplicate).
type histRun struct {
	day  int
	a, b []string
	dry  bool
	auto bool
	fail bool // record the run as failed after staging
}

// histSync runs r through the store as reconcile does, at day r.day, and
// returns its run id.
func histSync(t *testing.T, d *DB, r histRun) int64 {
	t.Helper()
	ctx := context.Background()
	d.Now = func() time.Time { return histDay(r.day) }
	mode := keysync.ModeNormal
	if r.dry {
		mode = keysync.ModeDryRun
	}
	runID, err := d.StartRun(ctx, mode, "keysync-config.yaml")
	if err != nil {
		t.Fatalf("start run: %v", err)
	}
	st, err := d.BeginStaging(ctx, runID, []StagingSystem{{Name: "A", Role: keysync.RoleAuthority}, {Name: "B", Role: keysync.RolePeer}})
	if err != nil {
		t.Fatalf("begin staging: %v", err)
	}
	for _, sys := range []string{"A", "B"} { // the authority first, as a run stages
		keys := map[string][]string{"A": r.a, "B": r.b}[sys]
		rows := make([]keysync.Row, len(keys))
		for i, k := range keys {
			rows[i] = keysync.Row{Record: int64(i + 1), Key: k, RawKey: strings.ToLower(k)}
		}
		if err := st.AddRows(ctx, sys, rows); err != nil {
			t.Fatalf("add rows: %v", err)
		}
		stats := source.Stats{RowsRead: int64(len(keys)), Fingerprint: source.Fingerprint{Path: "input/" + sys + ".csv", Bytes: int64(10 * len(keys)), SHA256: "sha-" + sys}}
		if err := st.SetStats(ctx, sys, stats, 0); err != nil {
			t.Fatalf("set stats: %v", err)
		}
	}
	if _, err := st.Commit(ctx); err != nil {
		t.Fatalf("commit staging: %v", err)
	}
	if r.fail {
		if err := d.FailRun(ctx, runID, errors.New("source \"B\": boom"), time.Second); err != nil {
			t.Fatalf("fail run: %v", err)
		}
		return runID
	}
	if _, err := d.FinishRun(ctx, Finish{RunID: runID, Authority: "A", Strategy: keysync.StrategyMirror,
		AutoApprove: r.auto, DryRun: r.dry, Took: 1500 * time.Millisecond}); err != nil {
		t.Fatalf("finish run %d: %v", runID, err)
	}
	return runID
}

// histAgeLines renders each aged finding as one line.
func histAgeLines(fs []AgedFinding) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s %s %s first=%d runs=%d days=%d", f.Kind, f.System, f.Key, f.FirstSeenRun, f.AgeRuns, f.AgeDays))
	}
	return out
}

func histSameLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got  %q\n want %q", what, got, want)
	}
}

// histHistory is the run history most tests share:
//
//	run 1 day 1 normal    B has X, Y          A has K1, K2 (B lacks K2)
//	run 2 day 2 normal    B has X             (Y resolved)
//	run 3 day 3 failed
//	run 4 day 4 dry-run   B has X, Y
//	run 5 day 6 normal    B has X, Y, Y       (Y back: a new streak; Y duplicated)
func histHistory(t *testing.T, d *DB) {
	t.Helper()
	histSync(t, d, histRun{day: 1, a: []string{"K1", "K2"}, b: []string{"K1", "X", "Y"}})
	histSync(t, d, histRun{day: 2, a: []string{"K1", "K2"}, b: []string{"K1", "X"}})
	histSync(t, d, histRun{day: 3, a: []string{"K1", "K2"}, b: []string{"K1"}, fail: true})
	histSync(t, d, histRun{day: 4, a: []string{"K1", "K2"}, b: []string{"K1", "X", "Y"}, dry: true})
	histSync(t, d, histRun{day: 6, a: []string{"K1", "K2"}, b: []string{"K1", "X", "Y", "Y"}})
}

func TestFindingAges(t *testing.T) {
	ctx := context.Background()
	d := histOpen(t)
	histHistory(t, d)
	r := d.Reader()

	tests := []struct {
		run  int64
		want []string
	}{
		{1, []string{
			"missing_from_system B K2 first=1 runs=1 days=0",
			"missing_in_A B X first=1 runs=1 days=0",
			"missing_in_A B Y first=1 runs=1 days=0",
		}},
		{2, []string{
			"missing_from_system B K2 first=1 runs=2 days=1",
			"missing_in_A B X first=1 runs=2 days=1",
		}},
		{3, []string{}}, // failed: no findings
		// The dry run is aged against the normal runs 1 and 2: Y was
		// resolved by run 2, so it is new again.
		{4, []string{
			"missing_from_system B K2 first=1 runs=3 days=3",
			"missing_in_A B X first=1 runs=3 days=3",
			"missing_in_A B Y first=4 runs=1 days=0",
		}},
		// Run 5 is aged over 1, 2, 5: the dry run 4 is not part of its
		// series, so Y is new in run 5, and the duplicate is a finding of its own.
		{5, []string{
			"duplicate B Y first=5 runs=1 days=0",
			"missing_from_system B K2 first=1 runs=3 days=5",
			"missing_in_A B X first=1 runs=3 days=5",
			"missing_in_A B Y first=5 runs=1 days=0",
		}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint("run", tt.run), func(t *testing.T) {
			got, err := r.FindingAges(ctx, tt.run)
			if err != nil {
				t.Fatal(err)
			}
			histSameLines(t, "ages", histAgeLines(got), tt.want)
		})
	}
}

func TestBaselineAndLatest(t *testing.T) {
	ctx := context.Background()
	d := histOpen(t)
	r := d.Reader()
	if _, ok, err := r.LatestNormalRun(ctx); err != nil || ok {
		t.Fatalf("empty database: LatestNormalRun ok=%v err=%v, want no run", ok, err)
	}
	histHistory(t, d)
	histSync(t, d, histRun{day: 7, a: []string{"K1"}, b: []string{"K1"}, dry: true}) // run 6
	// The run left its staging files attached, with TEMP views that would
	// shadow the views of 00002 that Down drops: migrations run detached.
	if err := d.detachStaging(ctx); err != nil {
		t.Fatal(err)
	}

	latest, ok, err := r.LatestNormalRun(ctx)
	if err != nil || !ok || latest != 5 {
		t.Errorf("LatestNormalRun = %d, %v, %v; want 5 (the dry run 6 is never the latest run)", latest, ok, err)
	}
	for run, want := range map[int64]int64{1: 0, 2: 1, 3: 2, 4: 2, 5: 2, 6: 5, 7: 5} {
		got, ok, err := r.Baseline(ctx, run)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			got = 0
		}
		if got != want {
			t.Errorf("Baseline(%d) = %d, want %d", run, got, want)
		}
	}
}

func TestRunsQueries(t *testing.T) {
	ctx := context.Background()
	d := histOpen(t)
	histHistory(t, d)
	// run 6 stays running, as a killed process leaves it.
	d.Now = func() time.Time { return histDay(8) }
	if _, err := d.StartRun(ctx, keysync.ModeNormal, "keysync-config.yaml"); err != nil {
		t.Fatal(err)
	}
	r := d.Reader()

	ids := func(rs []RunRecord) []int64 {
		out := []int64{}
		for _, v := range rs {
			out = append(out, v.RunID)
		}
		return out
	}
	for _, tt := range []struct {
		name string
		last int
		want []int64
	}{{"all", 0, []int64{6, 5, 4, 3, 2, 1}}, {"last 2", 2, []int64{6, 5}}, {"more than there are", 50, []int64{6, 5, 4, 3, 2, 1}}} {
		got, err := r.Runs(ctx, tt.last)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(ids(got), tt.want) {
			t.Errorf("Runs(%s) = %v, want %v", tt.name, ids(got), tt.want)
		}
	}
	fin, err := r.FinishedRuns(ctx, 3, false)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(fin), []int64{3, 4, 5}; !reflect.DeepEqual(got, want) {
		t.Errorf("FinishedRuns(3) = %v, want %v (oldest first, the running run left out)", got, want)
	}
	fin, err = r.FinishedRuns(ctx, 3, true)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(fin), []int64{4, 5, 6}; !reflect.DeepEqual(got, want) {
		t.Errorf("FinishedRuns(3, with running) = %v, want %v", got, want)
	}

	run5, err := r.Run(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	want5 := RunRecord{RunID: 5, StartedAt: "2024-05-06T02:00:00Z", FinishedAt: "2024-05-06T02:00:00Z",
		Status: keysync.RunSucceeded, Mode: keysync.ModeNormal, DurationMs: NullInt64{1500, true},
		MissingInACount: NullInt64{2, true}, MissingFromSystemCount: NullInt64{1, true}, DuplicateKeysCount: NullInt64{1, true},
		AutoApprovalRate: NullFloat64{0, true}}
	if run5 != want5 {
		t.Errorf("Run(5) =\n %+v, want\n %+v", run5, want5)
	}
	run3, err := r.Run(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if run3.Status != keysync.RunFailed || run3.MissingInACount.Valid || run3.AutoApprovalRate.Valid || !strings.Contains(run3.Errors, "boom") {
		t.Errorf("Run(3) = %+v, want failed with NULL KPIs and its error", run3)
	}
	run6, err := r.Run(ctx, 6)
	if err != nil {
		t.Fatal(err)
	}
	if run6.FinishedAt != "" || run6.DurationMs.Valid {
		t.Errorf("Run(6) = %+v, want a running run with no finish", run6)
	}

	var nf *RunNotFoundError
	if _, err := r.Run(ctx, 99); !errors.As(err, &nf) || nf.RunID != 99 || !strings.Contains(err.Error(), "99") {
		t.Errorf("Run(99) error = %v, want a RunNotFoundError naming 99", err)
	}

	systems, err := r.RunSystems(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	wantSys := []RunSystem{
		// A's input is the same in every run: unchanged since run 1.
		{RunID: 5, System: "A", Role: keysync.RoleAuthority, RowsRead: 2, DistinctKeys: 2, Matched: 2,
			InputPath: "input/A.csv", InputBytes: NullInt64{20, true}, InputSHA256: "sha-A", UnchangedSince: NullInt64{1, true}},
		{RunID: 5, System: "B", Role: keysync.RolePeer, RowsRead: 4, DistinctKeys: 3, DuplicateKeys: 1, Matched: 1,
			MissingInA: 2, MissingFromSystem: 1, InputPath: "input/B.csv", InputBytes: NullInt64{40, true}, InputSHA256: "sha-B"},
	}
	if !reflect.DeepEqual(systems, wantSys) {
		t.Errorf("RunSystems(5) =\n %+v\nwant\n %+v", systems, wantSys)
	}
}

// TestInputStreak: the streak counts the succeeded normal runs right before
// a run that read the same bytes; failed and dry runs neither extend nor
// break it, a different input or a run without the system ends it.
func TestInputStreak(t *testing.T) {
	ctx := context.Background()
	d := histOpen(t)
	histHistory(t, d) // A: 20 bytes "sha-A" every run; B: 30, 20, (failed), 30 (dry), 40
	r := d.Reader()
	for _, tt := range []struct {
		name   string
		run    int64
		system string
		bytes  int64
		sha    string
		want   InputStreak
	}{
		{"same in runs 1 and 2; the failed 3 and the dry 4 do not count", 5, "A", 20, "sha-A", InputStreak{Runs: 2, Since: 1, Last: 2}},
		{"after a run of its own", 6, "A", 20, "sha-A", InputStreak{Runs: 3, Since: 1, Last: 5}},
		{"changed since the previous normal run", 5, "B", 40, "sha-B", InputStreak{}},
		{"same as run 2 only", 3, "B", 20, "sha-B", InputStreak{Runs: 1, Since: 2, Last: 2}},
		{"same bytes, other hash", 5, "A", 20, "sha-X", InputStreak{}},
		{"same hash, other size", 5, "A", 21, "sha-A", InputStreak{}},
		{"a system no run read", 5, "C", 20, "sha-A", InputStreak{}},
		{"no fingerprint", 5, "A", 0, "", InputStreak{}},
		{"the first run", 1, "A", 20, "sha-A", InputStreak{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.InputStreak(ctx, tt.run, tt.system, tt.bytes, tt.sha)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("InputStreak(%d, %s) = %+v, want %+v", tt.run, tt.system, got, tt.want)
			}
		})
	}
}

func TestFindingsFilter(t *testing.T) {
	ctx := context.Background()
	d := histOpen(t)
	histHistory(t, d)
	r := d.Reader()
	line := func(fs []Finding) []string {
		out := []string{}
		for _, f := range fs {
			out = append(out, fmt.Sprintf("%d %s %s %s", f.RunID, f.Kind, f.System, f.Key))
		}
		return out
	}
	for _, tt := range []struct {
		name string
		f    FindingFilter
		want []string
	}{
		{"whole run", FindingFilter{RunID: 5}, []string{"5 duplicate B Y", "5 missing_from_system B K2", "5 missing_in_A B X", "5 missing_in_A B Y"}},
		{"kind", FindingFilter{RunID: 5, Kind: keysync.KindMissingInA}, []string{"5 missing_in_A B X", "5 missing_in_A B Y"}},
		{"system any case", FindingFilter{RunID: 2, System: "b"}, []string{"2 missing_from_system B K2", "2 missing_in_A B X"}},
		{"other system", FindingFilter{RunID: 5, System: "A"}, []string{}},
		{"failed run", FindingFilter{RunID: 3}, []string{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Findings(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			histSameLines(t, "findings", line(got), tt.want)
		})
	}
	got, err := r.Findings(ctx, FindingFilter{RunID: 5, Kind: keysync.KindDuplicate})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Count != 2 || got[0].Detail != "y" {
		t.Errorf("duplicate finding = %+v, want count 2 and detail y", got)
	}
}

func TestAuditEvents(t *testing.T) {
	ctx := context.Background()
	d := histOpen(t)
	histSync(t, d, histRun{day: 1, a: []string{"K1"}, b: []string{"X"}}) // events 1-3: started, proposed X, succeeded
	d.Now = func() time.Time { return histDay(2) }
	if _, err := d.SetStatus(ctx, Transition{Keys: []string{"X"}, To: keysync.StatusActive, By: "alice"}); err != nil {
		t.Fatal(err)
	}
	histSync(t, d, histRun{day: 3, a: []string{"K1"}, b: []string{"X", "Z"}, fail: true})
	r := d.Reader()
	line := func(es []keysync.AuditEvent) []string {
		out := []string{}
		for _, e := range es {
			out = append(out, fmt.Sprintf("%d %d %s %s", e.EventID, e.RunID, e.EventType, e.CreatedAt[:10]))
		}
		return out
	}
	all := []string{
		"1 1 run_started 2024-05-01",
		"2 1 master_key_proposed 2024-05-01",
		"3 1 run_succeeded 2024-05-01",
		"4 0 master_key_approved 2024-05-02",
		"5 2 run_started 2024-05-03",
		"6 2 run_failed 2024-05-03",
	}
	for _, tt := range []struct {
		name string
		f    AuditFilter
		want []string
	}{
		{"everything", AuditFilter{}, all},
		{"run", AuditFilter{RunID: 2}, all[4:]},
		{"type", AuditFilter{Type: keysync.EventRunStarted}, []string{all[0], all[4]}},
		{"since", AuditFilter{Since: "2024-05-02T02:00:00Z"}, all[3:]},
		{"since, a second later", AuditFilter{Since: "2024-05-02T02:00:01Z"}, all[4:]},
		{"limit keeps the newest, oldest first", AuditFilter{Limit: 2}, all[4:]},
		{"all filters", AuditFilter{RunID: 1, Type: keysync.EventRunSucceeded, Since: "2024-05-01T00:00:00Z", Limit: 5}, []string{all[2]}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.AuditEvents(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			histSameLines(t, "events", line(got), tt.want)
		})
	}
	types, err := r.EventTypes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(types), "[master_key_approved master_key_proposed run_failed run_started run_succeeded]"; got != want {
		t.Errorf("EventTypes = %s, want %s", got, want)
	}
}

func TestNullMarshal(t *testing.T) {
	for _, tt := range []struct {
		v         any
		csv, json string
	}{
		{NullInt64{}, "", "null"},
		{NullInt64{42, true}, "42", "42"},
		{NullInt64{0, true}, "0", "0"},
		{NullFloat64{}, "", "null"},
		{NullFloat64{0.6, true}, "0.6", "0.6"},
		{NullFloat64{1, true}, "1", "1"},
		{NullFloat64{0, true}, "0", "0"},
	} {
		c, _ := tt.v.(interface{ MarshalCSV() (string, error) }).MarshalCSV()
		j, err := json.Marshal(tt.v)
		if err != nil {
			t.Fatal(err)
		}
		if c != tt.csv || string(j) != tt.json {
			t.Errorf("%#v: csv %q json %s, want %q and %s", tt.v, c, j, tt.csv, tt.json)
		}
	}
}

// histViewRows runs query and renders each row as its columns joined by "|".
func histViewRows(t *testing.T, d *DB, query string) []string {
	t.Helper()
	rows, err := d.db.Query(query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	out := []string{}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			if v == nil {
				parts[i] = "NULL"
			} else {
				parts[i] = fmt.Sprint(v)
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestViewsOnEmptyDatabase(t *testing.T) {
	d := histOpen(t)
	// v_key_presence lives in the staging file, which a database without runs
	// does not have.
	for _, v := range []string{"v_latest_run_summary", "v_open_proposals", "v_finding_age"} {
		if got := histViewRows(t, d, "SELECT * FROM "+v); len(got) != 0 {
			t.Errorf("%s on an empty database = %q, want no rows", v, got)
		}
	}
}

func TestViewFindingAgeMatchesChangesQuery(t *testing.T) {
	ctx := context.Background()
	d := histOpen(t)
	histHistory(t, d)
	check := func(latest int64) {
		t.Helper()
		aged, err := d.Reader().FindingAges(ctx, latest)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{}
		for _, f := range aged {
			want = append(want, fmt.Sprintf("%d|%s|%s|%s|%d|%d", f.RunID, f.Kind, f.System, f.Key, f.FirstSeenRun, f.AgeRuns))
		}
		got := histViewRows(t, d, `SELECT run_id, kind, system, key, first_seen_run, age_runs FROM v_finding_age ORDER BY kind, system, key`)
		histSameLines(t, fmt.Sprintf("v_finding_age after run %d", latest), got, want)
		if len(want) == 0 {
			t.Errorf("run %d has no findings: the comparison proves nothing", latest)
		}
	}
	check(5)
	// A dry run is never "the latest run" of the view (migration 00003).
	histSync(t, d, histRun{day: 7, a: []string{"K1", "K2"}, b: []string{"K1", "Y"}, dry: true}) // run 6
	check(5)
	got := histViewRows(t, d, `SELECT kind, key, first_seen_run, age_runs, age_days FROM v_finding_age WHERE kind = 'missing_in_A'`)
	histSameLines(t, "v_finding_age after dry run 6", got, []string{"missing_in_A|X|1|3|5", "missing_in_A|Y|5|1|0"})
}

func TestViews(t *testing.T) {
	ctx := context.Background()
	d := histOpen(t)
	histHistory(t, d)
	// run 6 proposes Z; X is approved by hand, so only Y and Z stay Proposed.
	histSync(t, d, histRun{day: 7, a: []string{"K1", "K2"}, b: []string{"K1", "X", "Y", "Z"}})
	if _, err := d.SetStatus(ctx, Transition{Keys: []string{"X"}, To: keysync.StatusActive, By: "alice"}); err != nil {
		t.Fatal(err)
	}
	// run 7 fails after staging: staging then holds run 7's rows, the
	// summary still shows run 6.
	histSync(t, d, histRun{day: 8, a: []string{"K1", "K3"}, b: []string{"K1", "W"}, fail: true})

	histSameLines(t, "v_latest_run_summary",
		histViewRows(t, d, `SELECT run_id, mode, system, role, distinct_keys, missing_in_A, missing_from_system, input_sha256, filtered FROM v_latest_run_summary`),
		[]string{"6|normal|A|authority|2|0|0|sha-A|0", "6|normal|B|peer|4|3|1|sha-B|0"})

	histSameLines(t, "v_open_proposals",
		histViewRows(t, d, `SELECT master_key, source_system, created_at, run_id, age_days >= 0 FROM v_open_proposals`),
		[]string{"Y|B|2024-05-01T02:00:00Z|1|1", "Z|B|2024-05-07T02:00:00Z|6|1"})

	histSameLines(t, "v_key_presence",
		histViewRows(t, d, `SELECT key, in_authority, system_count, systems, COALESCE(missing_from, ''), row_count FROM v_key_presence ORDER BY key`),
		[]string{"K1|1|2|A,B||2", "K3|1|1|A|B|1", "W|0|1|B|A|1"})
}

func TestViewsMigrationDownUp(t *testing.T) {
	ctx := context.Background()
	d := histOpen(t)
	p, err := d.provider()
	if err != nil {
		t.Fatal(err)
	}
	histHistory(t, d)
	histSync(t, d, histRun{day: 7, a: []string{"K1"}, b: []string{"K1"}, dry: true}) // run 6
	// The run left its staging files attached, with TEMP views that would
	// shadow the views of 00002 that Down drops: migrations run detached.
	if err := d.detachStaging(ctx); err != nil {
		t.Fatal(err)
	}
	latest := func() []string {
		return histViewRows(t, d, `SELECT DISTINCT run_id FROM v_latest_run_summary`)
	}
	histSameLines(t, "v_latest_run_summary's run", latest(), []string{"5"})
	// 00007 and 00005 down: no pending_findings, run_inputs or filtered column.
	if _, err := p.DownTo(ctx, 4); err != nil {
		t.Fatalf("down 00005: %v", err)
	}
	// 00004 down: staging tables and v_key_presence back in the database.
	if _, err := p.Down(ctx); err != nil {
		t.Fatalf("down 00004: %v", err)
	}
	// 00003 down: the views of 00002 again, where a dry run is the latest run.
	if _, err := p.Down(ctx); err != nil {
		t.Fatalf("down 00003: %v", err)
	}
	histSameLines(t, "v_latest_run_summary's run after 00003 down", latest(), []string{"6"})
	if _, err := p.Down(ctx); err != nil {
		t.Fatalf("down 00002: %v", err)
	}
	if got := histViewRows(t, d, `SELECT name FROM sqlite_master WHERE type = 'view'`); len(got) != 0 {
		t.Errorf("views after down: %q, want none", got)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
	got := histViewRows(t, d, `SELECT name FROM sqlite_master WHERE type = 'view' ORDER BY name`)
	// v_key_presence is in the staging file since 00004.
	histSameLines(t, "views after up", got, []string{"v_finding_age", "v_latest_run_summary", "v_open_proposals"})
	histSameLines(t, "v_latest_run_summary's run after up", latest(), []string{"5"})
}
