package app

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/sqlite"
)

// newKPIHistory is the shared history plus a run blocked by a safety guard
// (run 5) and a run left running (run 6), with known durations:
// succeeded runs 1, 2, 4 took 300, 100 and 250 ms. Nobody holds the run lock:
// holdRunLock makes run 6 a run in progress.
func newKPIHistory(t *testing.T) *histFixture {
	t.Helper()
	f := newHistory(t)
	f.write("safety.yaml", histConfig+"safety:\n  min_rows: 100\n")
	r := histRun(t, histDay(5), []string{"sync"}, f.path("safety.yaml"))
	histExit(t, r, ExitBlocked, "min_rows")

	db, _, err := sqlite.Create(context.Background(), f.db())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for id, ms := range map[int]int{1: 300, 2: 100, 3: 5, 4: 250, 5: 7} {
		if _, err := db.SQL().Exec(`UPDATE runs SET duration_ms = ? WHERE run_id = ?`, ms, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.StartRun(context.Background(), keysync.ModeNormal, f.path("keysync-config.yaml")); err != nil {
		t.Fatal(err)
	}
	return f
}

// holdRunLock takes the run lock of f's database until the test ends, as the
// process of a run in progress holds it.
func holdRunLock(t *testing.T, f *histFixture) {
	t.Helper()
	l, err := sqlite.Acquire(f.db())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Release() })
}

func TestKPI(t *testing.T) {
	f := newKPIHistory(t)
	holdRunLock(t, f) // run 6 is in progress

	r := f.cmd("kpi", "--format", "csv")
	histExit(t, r, 0)
	header, rows := histCSV(t, r.stdout)
	histWant(t, "header", header, []string{"run_id", "started_at", "status", "mode", "missing_in_A_count",
		"missing_from_system_count", "duplicate_keys_count", "auto_approval_rate", "duration_ms"})
	histWant(t, "runs, oldest first, without the running one", histColumn(rows, "run_id"), []string{"1", "2", "3", "4", "5"})
	histWant(t, "status", histColumn(rows, "status"), []string{"succeeded", "succeeded", "failed", "succeeded", "blocked"})
	histWant(t, "missing_in_A_count", histColumn(rows, "missing_in_A_count"), []string{"2", "1", "", "2", ""})
	histWant(t, "missing_from_system_count", histColumn(rows, "missing_from_system_count"), []string{"2", "1", "", "1", ""})
	histWant(t, "duplicate_keys_count", histColumn(rows, "duplicate_keys_count"), []string{"0", "1", "", "1", ""})
	histWant(t, "auto_approval_rate", histColumn(rows, "auto_approval_rate"), []string{"0", "0", "", "0", ""})
	histWant(t, "duration_ms", histColumn(rows, "duration_ms"), []string{"300", "100", "5", "250", "7"})

	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		// 3 of 5 finished runs succeeded; durations of the succeeded runs
		// 100, 250, 300.
		{"whole history", nil, `{"runs":5,"first_run_id":1,"last_run_id":5,"succeeded":3,"failed":1,"blocked":1,"run_success_rate":0.6,"median_duration_ms":250,"max_duration_ms":300}`},
		// runs 2 to 5: succeeded 2 and 4, durations 100 and 250.
		{"last 4", []string{"--last", "4"}, `{"runs":4,"first_run_id":2,"last_run_id":5,"succeeded":2,"failed":1,"blocked":1,"run_success_rate":0.5,"median_duration_ms":175,"max_duration_ms":250}`},
		// runs 3 to 5.
		{"last 3", []string{"--last", "3"}, `{"runs":3,"first_run_id":3,"last_run_id":5,"succeeded":1,"failed":1,"blocked":1,"run_success_rate":0.3333333333333333,"median_duration_ms":250,"max_duration_ms":250}`},
		// run 5 only: blocked, no succeeded duration.
		{"last 1", []string{"--last", "1"}, `{"runs":1,"first_run_id":5,"last_run_id":5,"succeeded":0,"failed":0,"blocked":1,"run_success_rate":0,"median_duration_ms":null,"max_duration_ms":null}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := f.cmd("kpi", append([]string{"--summary", "--format", "json"}, tt.args...)...)
			histExit(t, r, 0)
			histWant(t, "window", strings.Join(strings.Fields(r.stdout), ""), tt.want)
		})
	}

	r = f.cmd("kpi", "--format", "json", "--last", "2")
	histExit(t, r, 0)
	var js struct {
		Runs []struct {
			RunID      int64  `json:"run_id"`
			Status     string `json:"status"`
			MissingInA *int64 `json:"missing_in_A_count"`
			DurationMs *int64 `json:"duration_ms"`
		} `json:"runs"`
		Window struct {
			Runs           int64    `json:"runs"`
			RunSuccessRate *float64 `json:"run_success_rate"`
		} `json:"window"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil {
		t.Fatalf("json: %v\n%s", err, r.stdout)
	}
	if len(js.Runs) != 2 || js.Runs[0].RunID != 4 || js.Runs[1].MissingInA != nil || *js.Runs[0].MissingInA != 2 ||
		js.Window.Runs != 2 || *js.Window.RunSuccessRate != 0.5 {
		t.Errorf("kpi --format json --last 2 = %+v", js)
	}

	r = f.cmd("kpi", "--summary", "--format", "csv")
	histExit(t, r, 0)
	header, rows = histCSV(t, r.stdout)
	histWant(t, "summary header", header, []string{"runs", "first_run_id", "last_run_id", "succeeded", "failed", "blocked",
		"run_success_rate", "median_duration_ms", "max_duration_ms"})
	histWant(t, "summary rate", histColumn(rows, "run_success_rate"), []string{"0.6"})

	r = f.cmd("kpi", "--format", "table")
	histExit(t, r, 0)
	for _, want := range []string{"missing_in_A_count", "window              runs 1 to 5 (5 finished)",
		"run_success_rate    0.6  (3 succeeded, 1 failed, 1 blocked)", "median_duration_ms  250", "max_duration_ms     300"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, r.stdout)
		}
	}
}

// TestKPIInterrupted: a run whose row says running while nobody holds the
// run lock was killed: kpi shows it as interrupted and counts it as failed.
func TestKPIInterrupted(t *testing.T) {
	f := newKPIHistory(t)
	r := f.cmd("kpi", "--format", "csv", "--last", "2")
	histExit(t, r, 0)
	_, rows := histCSV(t, r.stdout)
	histWant(t, "runs", histColumn(rows, "run_id"), []string{"5", "6"})
	histWant(t, "status", histColumn(rows, "status"), []string{"blocked", "interrupted"})
	r = f.cmd("kpi", "--summary", "--format", "json")
	histExit(t, r, 0)
	// 3 of 6 succeeded; failed: run 3 and the interrupted run 6.
	histWant(t, "window", strings.Join(strings.Fields(r.stdout), ""),
		`{"runs":6,"first_run_id":1,"last_run_id":6,"succeeded":3,"failed":2,"blocked":1,"run_success_rate":0.5,"median_duration_ms":250,"max_duration_ms":300}`)
	// The stored row is left as it is.
	db, err := sqlite.OpenReadOnly(context.Background(), f.db())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var status string
	if err := db.SQL().QueryRow(`SELECT status FROM runs WHERE run_id = 6`).Scan(&status); err != nil || status != "running" {
		t.Errorf("stored status of run 6 = %q (%v), want running", status, err)
	}
}

func TestKPIRowsMedian(t *testing.T) {
	run := func(status keysync.RunStatus, ms int64) sqlite.RunRecord {
		return sqlite.RunRecord{Status: status, DurationMs: sqlite.NullInt64{Int64: ms, Valid: true}}
	}
	for _, tt := range []struct {
		name        string
		runs        []sqlite.RunRecord
		median, max string
	}{
		{"odd", []sqlite.RunRecord{run(keysync.RunSucceeded, 30), run(keysync.RunSucceeded, 10), run(keysync.RunSucceeded, 20)}, "20", "30"},
		{"even", []sqlite.RunRecord{run(keysync.RunSucceeded, 30), run(keysync.RunSucceeded, 10), run(keysync.RunSucceeded, 20), run(keysync.RunSucceeded, 15)}, "17.5", "30"},
		{"failed runs do not count", []sqlite.RunRecord{run(keysync.RunFailed, 1000), run(keysync.RunSucceeded, 10)}, "10", "10"},
		{"none succeeded", []sqlite.RunRecord{run(keysync.RunBlocked, 5)}, "", ""},
		{"no runs", nil, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, w := kpiRows(tt.runs)
			median, _ := w.MedianDurationMs.MarshalCSV()
			max, _ := w.MaxDurationMs.MarshalCSV()
			if median != tt.median || max != tt.max {
				t.Errorf("median %q max %q, want %q and %q", median, max, tt.median, tt.max)
			}
		})
	}
}

func TestKPIErrors(t *testing.T) {
	f := newHistory(t)
	for _, tt := range []struct {
		name string
		args []string
		want []string
	}{
		{"last 0", []string{"--last", "0"}, []string{"--last"}},
		{"last negative", []string{"--last", "-3"}, []string{"--last"}},
		{"argument", []string{"7"}, []string{`"7"`}},
		{"bad format", []string{"--format", "html"}, []string{"html"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			histExit(t, f.cmd("kpi", tt.args...), ExitUsage, tt.want...)
		})
	}
}
