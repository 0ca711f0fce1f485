package app

// Tests of `keysync runs`, and the fixture the history commands' tests share
// (runs, findings, changes, audit, kpi): a config and small inputs written
// into t.TempDir(), synced in-process at fixed clocks.

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keysync/keysync/pkg/sqlite"
)

// histDay is 02:00 UTC on day n of June 2024, the nightly run's time.
func histDay(n int) time.Time { return time.Date(2024, 6, n, 2, 0, 0, 0, time.UTC) }

// histResult is what one in-process command gave.
type histResult struct {
	code           int
	stdout, stderr string
	err            error
}

// histFixture is a temp dir with a config (authority A, peer B), its inputs
// and its database.
type histFixture struct {
	t   *testing.T
	dir string
}

const histConfig = `database: ./keysync.db
output_dir: ./output
authority: A
sources:
  A: { path: ./input/A.csv }
  B: { path: ./input/B.csv }
`

func newHistFixture(t *testing.T) *histFixture {
	t.Helper()
	f := &histFixture{t: t, dir: t.TempDir()}
	f.write("keysync-config.yaml", histConfig)
	return f
}

func (f *histFixture) path(name string) string { return filepath.Join(f.dir, name) }
func (f *histFixture) db() string              { return f.path("keysync.db") }

func (f *histFixture) write(name, content string) {
	f.t.Helper()
	p := f.path(name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// inputs writes A.csv and B.csv with the given keys, one per row.
func (f *histFixture) inputs(a, b []string) {
	f.t.Helper()
	f.write("input/A.csv", "source_key\n"+strings.Join(a, "\n")+"\n")
	f.write("input/B.csv", "source_key\n"+strings.Join(b, "\n")+"\n")
}

// histRun runs `keysync <words> --config <config> <args>` in-process at
// the clock at; words are the command and subcommand.
func histRun(t *testing.T, at time.Time, words []string, config string, args ...string) histResult {
	t.Helper()
	var out, errb bytes.Buffer
	a := New(Env{Stdout: &out, Stderr: &errb, Now: func() time.Time { return at }})
	argv := append(append(append([]string{"keysync"}, words...), "--config", config), args...)
	err := a.RunContext(context.Background(), argv)
	return histResult{code: ExitCode(err), stdout: out.String(), stderr: errb.String(), err: err}
}

// cmd runs a command of the fixture at day 10, after every sync.
func (f *histFixture) cmd(words string, args ...string) histResult {
	f.t.Helper()
	return histRun(f.t, histDay(10), strings.Fields(words), f.path("keysync-config.yaml"), args...)
}

// sync runs `keysync sync` at day and checks its exit code.
func (f *histFixture) sync(day, want int, args ...string) {
	f.t.Helper()
	r := histRun(f.t, histDay(day), []string{"sync"}, f.path("keysync-config.yaml"), args...)
	if r.code != want {
		f.t.Fatalf("sync on day %d: exit %d, want %d: %v\n%s", day, r.code, want, r.err, r.stderr)
	}
}

// newHistory is the history the history commands' tests share:
//
//	run 1  day 1  normal   A: K1 K2 K3   B: K1 X Y        missing_in_A X, Y; B lacks K2, K3
//	(day 2 03:00: alice approves X)
//	run 2  day 2  normal   B: K1 K2 X X                   Y and K2 resolved, duplicate X new
//	run 3  day 3  failed   B.csv missing
//	run 4  day 4  dry-run  B: K1 K2 X Z z                 Z and duplicate Z new (X still missing in A), duplicate X resolved
func newHistory(t *testing.T) *histFixture {
	t.Helper()
	f := newHistFixture(t)
	a := []string{"K1", "K2", "K3"}
	f.inputs(a, []string{"K1", "X", "Y"})
	f.sync(1, 0)
	r := histRun(t, histDay(2).Add(time.Hour), []string{"registry", "approve"}, f.path("keysync-config.yaml"), "--by", "alice", "X")
	if r.code != 0 {
		t.Fatalf("approve X: exit %d: %v", r.code, r.err)
	}
	f.inputs(a, []string{"K1", "K2", "X", "x"})
	f.sync(2, 0)
	if err := os.Remove(f.path("input/B.csv")); err != nil {
		t.Fatal(err)
	}
	f.sync(3, ExitFailed)
	f.inputs(a, []string{"K1", "K2", "X", "Z", "z"})
	f.sync(4, 0, "--dry-run")
	return f
}

// histCSV parses CSV output into its header and records.
func histCSV(t *testing.T, out string) (header []string, rows []map[string]string) {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("parse csv: %v\n%s", err, out)
	}
	if len(recs) == 0 {
		return nil, nil
	}
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = rec[i]
		}
		rows = append(rows, m)
	}
	return recs[0], rows
}

// histColumn is one column of parsed CSV rows.
func histColumn(rows []map[string]string, name string) []string {
	out := []string{}
	for _, r := range rows {
		out = append(out, r[name])
	}
	return out
}

func histWant(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got  %v\n want %v", what, got, want)
	}
}

// histExit checks a command's exit code and that its error names every
// part of want.
func histExit(t *testing.T, r histResult, code int, want ...string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit %d, want %d (err %v)", r.code, code, r.err)
		return
	}
	for _, w := range want {
		if r.err == nil || !strings.Contains(r.err.Error(), w) {
			t.Errorf("error %v: does not name %q", r.err, w)
		}
	}
}

func TestRunsList(t *testing.T) {
	f := newHistory(t)

	r := f.cmd("runs list", "--format", "csv")
	histExit(t, r, 0)
	header, rows := histCSV(t, r.stdout)
	histWant(t, "header", header, []string{"run_id", "started_at", "finished_at", "status", "mode", "duration_ms",
		"missing_in_A_count", "missing_from_system_count", "duplicate_keys_count", "auto_approval_rate", "errors"})
	histWant(t, "run ids, newest first", histColumn(rows, "run_id"), []string{"4", "3", "2", "1"})
	histWant(t, "status", histColumn(rows, "status"), []string{"succeeded", "failed", "succeeded", "succeeded"})
	histWant(t, "mode", histColumn(rows, "mode"), []string{"dry-run", "normal", "normal", "normal"})
	histWant(t, "started_at", histColumn(rows, "started_at"),
		[]string{"2024-06-04T02:00:00Z", "2024-06-03T02:00:00Z", "2024-06-02T02:00:00Z", "2024-06-01T02:00:00Z"})
	histWant(t, "missing_in_A_count", histColumn(rows, "missing_in_A_count"), []string{"2", "", "1", "2"})
	histWant(t, "missing_from_system_count", histColumn(rows, "missing_from_system_count"), []string{"1", "", "1", "2"})
	histWant(t, "duplicate_keys_count", histColumn(rows, "duplicate_keys_count"), []string{"1", "", "1", "0"})
	histWant(t, "auto_approval_rate", histColumn(rows, "auto_approval_rate"), []string{"0", "", "0", "0"})
	if e := rows[1]["errors"]; !strings.Contains(e, "B.csv") {
		t.Errorf("errors of the failed run = %q, want it to name B.csv", e)
	}
	for _, row := range rows {
		if row["duration_ms"] == "" || row["finished_at"] == "" {
			t.Errorf("run %s: duration_ms %q finished_at %q, want both set", row["run_id"], row["duration_ms"], row["finished_at"])
		}
	}

	r = f.cmd("runs list", "--last", "2", "--format", "csv")
	_, rows = histCSV(t, r.stdout)
	histWant(t, "--last 2", histColumn(rows, "run_id"), []string{"4", "3"})

	r = f.cmd("runs list", "--format", "json")
	histExit(t, r, 0)
	var js []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil {
		t.Fatalf("json: %v\n%s", err, r.stdout)
	}
	if len(js) != 4 || js[1]["missing_in_A_count"] != nil || js[1]["auto_approval_rate"] != nil || js[3]["missing_in_A_count"] != float64(2) {
		t.Errorf("json: failed run's KPIs must be null and run 1's missing_in_A_count 2, got %v", js)
	}

	r = f.cmd("runs list", "--format", "table")
	histExit(t, r, 0)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "run_id") || !strings.HasPrefix(lines[1], "4 ") {
		t.Errorf("table: want a header and 4 runs, newest first:\n%s", r.stdout)
	}
}

func TestRunsShow(t *testing.T) {
	f := newHistory(t)
	sha := func(name string) string {
		b, err := os.ReadFile(f.path(name))
		if err != nil {
			t.Fatal(err)
		}
		s := sha256.Sum256(b)
		return hex.EncodeToString(s[:])
	}
	// Run 4 read these very files.
	shaA, shaB := sha("input/A.csv"), sha("input/B.csv")
	st, err := os.Stat(f.path("input/B.csv"))
	if err != nil {
		t.Fatal(err)
	}
	sizeB := strconv.FormatInt(st.Size(), 10)

	r := f.cmd("runs show", "--format", "csv", "4")
	histExit(t, r, 0)
	header, rows := histCSV(t, r.stdout)
	histWant(t, "header", header, []string{"run_id", "system", "role", "rows_read", "rows_rejected", "distinct_keys",
		"duplicate_keys", "matched", "missing_in_A", "missing_from_system", "input_path", "input_bytes", "input_sha256", "unchanged_since", "pending", "suppressed", "filtered"})
	histWant(t, "systems", histColumn(rows, "system"), []string{"A", "B"})
	// Runs 1, 2 and 4 read the same A.csv: the dry run 4 reads it unchanged
	// since run 1 (the failed run 3 does not break the streak); B changed.
	histWant(t, "unchanged_since", histColumn(rows, "unchanged_since"), []string{"1", ""})
	histWant(t, "sha256", histColumn(rows, "input_sha256"), []string{shaA, shaB})
	histWant(t, "input_path", histColumn(rows, "input_path"), []string{f.path("input/A.csv"), f.path("input/B.csv")})
	histWant(t, "B's input_bytes", rows[1]["input_bytes"], sizeB)
	histWant(t, "B's counts", []string{rows[1]["rows_read"], rows[1]["distinct_keys"], rows[1]["matched"], rows[1]["missing_in_A"], rows[1]["missing_from_system"]},
		[]string{"5", "4", "2", "2", "1"})

	r = f.cmd("runs show", "--format", "json", "2")
	histExit(t, r, 0)
	var js struct {
		RunID      int64  `json:"run_id"`
		Status     string `json:"status"`
		Mode       string `json:"mode"`
		Duplicates *int64 `json:"duplicate_keys_count"`
		ConfigPath string `json:"config_path"`
		Systems    []struct {
			System         string `json:"system"`
			InputSHA256    string `json:"input_sha256"`
			UnchangedSince *int64 `json:"unchanged_since"`
		} `json:"systems"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil {
		t.Fatalf("json: %v\n%s", err, r.stdout)
	}
	if js.RunID != 2 || js.Status != "succeeded" || js.Mode != "normal" || js.Duplicates == nil || *js.Duplicates != 1 ||
		js.ConfigPath != f.path("keysync-config.yaml") || len(js.Systems) != 2 || js.Systems[1].InputSHA256 == "" {
		t.Errorf("runs show --format json 2 = %+v", js)
	}
	// Run 2 read another B.csv than run 4: the fingerprints tell them apart.
	if js.Systems[1].InputSHA256 == shaB {
		t.Errorf("run 2's B fingerprint equals run 4's, though B.csv changed")
	}
	if a, b := js.Systems[0].UnchangedSince, js.Systems[1].UnchangedSince; a == nil || *a != 1 || b != nil {
		t.Errorf("run 2: unchanged_since of A = %v, of B = %v; want 1 and null", a, b)
	}

	r = f.cmd("runs show", "--format", "table", "3")
	histExit(t, r, 0)
	for _, want := range []string{"status", "failed", "B.csv", "no per-system summary: the run is failed"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("runs show 3 (table) lacks %q:\n%s", want, r.stdout)
		}
	}
	r = f.cmd("runs show", "--format", "table", "1")
	for _, want := range []string{"run_id", "missing_in_A_count", "input_sha256", shaA} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("runs show 1 (table) lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestRunsErrors(t *testing.T) {
	f := newHistFixture(t)
	f.inputs([]string{"K1"}, []string{"K1"})
	f.sync(1, 0)
	for _, tt := range []struct {
		name  string
		words string
		args  []string
		code  int
		want  []string
	}{
		{"unknown run", "runs show", []string{"99"}, ExitUsage, []string{"run 99", "not in the database"}},
		{"not a number", "runs show", []string{"abc"}, ExitUsage, []string{`"abc"`}},
		{"zero", "runs show", []string{"0"}, ExitUsage, []string{`"0"`}},
		{"no run id", "runs show", nil, ExitUsage, []string{"run id"}},
		{"two run ids", "runs show", []string{"1", "2"}, ExitUsage, []string{"run id"}},
		{"last 0", "runs list", []string{"--last", "0"}, ExitUsage, []string{"--last"}},
		{"last not a number", "runs list", []string{"--last", "x"}, ExitUsage, nil},
		{"bad format", "runs list", []string{"--format", "xml"}, ExitUsage, []string{"xml"}},
		{"argument", "runs list", []string{"extra"}, ExitUsage, []string{"extra"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			histExit(t, f.cmd(tt.words, tt.args...), tt.code, tt.want...)
		})
	}
}

// TestHistoryCommandsEmptyDatabase runs every history command on a database
// that sqlite.Create just created: each says there is nothing yet and prints
// an empty result, not a crash.
func TestHistoryCommandsEmptyDatabase(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "empty.db")
	db, _, err := sqlite.Create(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	noConfig := filepath.Join(dir, "none.yaml") // --db makes the config unnecessary
	for _, tt := range []struct {
		words   string
		args    []string
		csv     string // stdout with --format csv
		json    string // stdout with --format json, spaces removed
		message string // on stderr
	}{
		{"runs list", nil, "run_id,started_at,finished_at,status,mode,duration_ms,missing_in_A_count,missing_from_system_count,duplicate_keys_count,auto_approval_rate,errors\n", "[]", "no runs recorded yet"},
		{"findings", nil, "run_id,kind,system,key,source_key,master_key,status,entity_type,location_ref,last_seen_at,count,detail,cause\n", "[]", "no run has succeeded yet"},
		{"findings", []string{"--kind", "duplicate"}, "run_id,kind,system,key,source_key,master_key,status,entity_type,location_ref,last_seen_at,count,detail,cause\n", "[]", "no run has succeeded yet"},
		{"changes", nil, "run_id,baseline_run_id,change,kind,system,key,master_key,status,first_seen_run,first_seen_at,age_runs,age_days\n", "[]", "no run has succeeded yet"},
		{"audit", nil, "event_id,run_id,event_type,payload,created_at\n", "[]", "no audit events match"},
		{"kpi", nil, "run_id,started_at,status,mode,missing_in_A_count,missing_from_system_count,duplicate_keys_count,auto_approval_rate,duration_ms\n",
			`{"runs":[],"window":{"runs":0,"first_run_id":null,"last_run_id":null,"succeeded":0,"failed":0,"blocked":0,"run_success_rate":null,"median_duration_ms":null,"max_duration_ms":null}}`,
			"no finished runs yet"},
	} {
		t.Run(tt.words+strings.Join(tt.args, ""), func(t *testing.T) {
			for format, want := range map[string]string{"csv": tt.csv, "json": tt.json, "table": ""} {
				args := append([]string{"--db", dbPath, "--format", format}, tt.args...)
				r := histRun(t, histDay(1), strings.Fields(tt.words), noConfig, args...)
				if r.code != 0 {
					t.Errorf("--format %s: exit %d (%v), want 0", format, r.code, r.err)
					continue
				}
				got := r.stdout
				if format == "json" {
					got = strings.Join(strings.Fields(got), "")
				}
				if got != want {
					t.Errorf("--format %s: stdout %q, want %q", format, got, want)
				}
				if !strings.Contains(r.stderr, tt.message) {
					t.Errorf("--format %s: stderr %q lacks %q", format, r.stderr, tt.message)
				}
			}
		})
	}
	// A run id on an empty database is unknown.
	for _, words := range []string{"runs show", "findings", "changes", "audit"} {
		args := []string{"--db", dbPath, "1"}
		if words != "runs show" {
			args = []string{"--db", dbPath, "--run", "1"}
		}
		histExit(t, histRun(t, histDay(1), strings.Fields(words), noConfig, args...), ExitUsage, "run 1 is not in the database")
	}
}

// TestHistoryCommandsMissingDatabase: with no database file, every history
// command says so and how to make one, and creates nothing.
func TestHistoryCommandsMissingDatabase(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "nowhere.db")
	f := newHistFixture(t)
	for _, words := range []string{"runs list", "runs show", "findings", "changes", "audit", "kpi"} {
		args := []string{"--db", dbPath}
		if words == "runs show" {
			args = append(args, "1")
		}
		r := histRun(t, histDay(1), strings.Fields(words), f.path("keysync-config.yaml"), args...)
		histExit(t, r, ExitUsage, "no database at "+dbPath, "keysync db init --db "+dbPath)
		// Through the config too: its database does not exist yet.
		r = histRun(t, histDay(1), strings.Fields(words), f.path("keysync-config.yaml"), args[2:]...)
		histExit(t, r, ExitUsage, "no database at "+f.db(), "keysync sync")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a reading command created %v", entries)
	}
	if _, err := os.Stat(f.db()); !os.IsNotExist(err) {
		t.Errorf("a reading command created %s", f.db())
	}
	// A missing config is a configuration error, as for every command.
	r := histRun(t, histDay(1), []string{"runs", "list"}, filepath.Join(dir, "no-such-config.yaml"))
	histExit(t, r, ExitUsage, "no-such-config.yaml")
}

// TestHistoryCommandsOnShippedExample runs every history command in every
// format on the database a sync of the shipped example produced.
func TestHistoryCommandsOnShippedExample(t *testing.T) {
	dbPath := syncShippedExample(t) // runs 1 and 2 normal, 3 dry-run
	noConfig := filepath.Join(t.TempDir(), "none.yaml")
	for _, words := range []string{"runs list", "runs show", "findings", "changes", "audit", "kpi"} {
		for _, format := range []string{"csv", "json", "table"} {
			args := []string{"--db", dbPath, "--format", format}
			if words == "runs show" {
				args = append(args, "2")
			}
			r := histRun(t, histDay(9), strings.Fields(words), noConfig, args...)
			if r.code != 0 {
				t.Errorf("%s --format %s: exit %d: %v", words, format, r.code, r.err)
				continue
			}
			switch format {
			case "json":
				if !json.Valid([]byte(r.stdout)) {
					t.Errorf("%s --format json: invalid JSON:\n%.300s", words, r.stdout)
				}
			case "csv":
				if _, rows := histCSV(t, r.stdout); len(rows) == 0 {
					t.Errorf("%s --format csv: no rows", words)
				}
			default:
				if strings.Count(r.stdout, "\n") < 3 {
					t.Errorf("%s --format table: %q", words, r.stdout)
				}
			}
		}
	}
}

// TestHistoryCommandsHelp: each command's --help teaches by example.
func TestHistoryCommandsHelp(t *testing.T) {
	for _, words := range []string{"runs list", "runs show", "findings", "changes", "audit", "kpi"} {
		r := histRun(t, histDay(1), append(strings.Fields(words), "--help"), "")
		if r.code != 0 || !strings.Contains(r.stdout, "Examples:") || !strings.Contains(r.stdout, "keysync "+words) {
			t.Errorf("%s --help: exit %d, want examples of `keysync %s`:\n%s", words, r.code, words, r.stdout)
		}
	}
}

// TestRunsInterrupted: a run whose row says running while no process holds
// the run lock shows as interrupted in runs list and runs show; while the lock
// is held it is a run in progress.
func TestRunsInterrupted(t *testing.T) {
	f := newKPIHistory(t) // run 6 left running
	status := func(words string, args ...string) string {
		t.Helper()
		r := f.cmd(words, append([]string{"--format", "csv"}, args...)...)
		histExit(t, r, 0)
		_, rows := histCSV(t, r.stdout)
		return rows[0]["status"]
	}
	if got := status("runs list", "--last", "1"); got != "interrupted" {
		t.Errorf("runs list: run 6 is %q, want interrupted", got)
	}
	r := f.cmd("runs show", "--format", "table", "6")
	histExit(t, r, 0)
	if !strings.Contains(r.stdout, "interrupted") || strings.Contains(r.stdout, "running") {
		t.Errorf("runs show 6 does not say interrupted:\n%s", r.stdout)
	}
	histExit(t, f.cmd("findings", "--run", "6"), ExitUsage, "run 6 is interrupted")

	holdRunLock(t, f)
	if got := status("runs list", "--last", "1"); got != "running" {
		t.Errorf("runs list with the lock held: run 6 is %q, want running", got)
	}
}

// TestRunsShowFiles: `runs show` lists each file a glob source read with
// pick: all, with its bytes and SHA-256 as stored and its records, and a
// gzip file's fingerprint is of its compressed bytes.
func TestRunsShowFiles(t *testing.T) {
	f := newHistFixture(t)
	f.write("keysync-config.yaml", `database: ./keysync.db
output_dir: ./output
sources:
  A: { path: ./input/A.csv.gz }
  B: { path: "./input/B_*.csv", pick: all }
`)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("source_key\nK1\nK2\n"))
	zw.Close()
	f.write("input/A.csv.gz", gz.String())
	f.write("input/B_20261201.csv", "source_key\nK1\n")
	f.write("input/B_20261202.csv", "source_key\nK2\nK3\n")
	f.sync(1, 0)

	sum := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	file := func(name string) []byte {
		b, err := os.ReadFile(f.path(name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	r := f.cmd("runs show", "--format", "json", "1")
	histExit(t, r, 0)
	var js struct {
		Inputs []sqlite.RunInput `json:"inputs"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil {
		t.Fatalf("json: %v\n%s", err, r.stdout)
	}
	want := []sqlite.RunInput{
		{System: "A", Seq: 1, Path: f.path("input/A.csv.gz"), Bytes: int64(gz.Len()), SHA256: sum(gz.Bytes()), FirstRecord: 1, Records: 2},
		{System: "B", Seq: 1, Path: f.path("input/B_20261201.csv"), Bytes: int64(len(file("input/B_20261201.csv"))), SHA256: sum(file("input/B_20261201.csv")), FirstRecord: 1, Records: 1},
		{System: "B", Seq: 2, Path: f.path("input/B_20261202.csv"), Bytes: int64(len(file("input/B_20261202.csv"))), SHA256: sum(file("input/B_20261202.csv")), FirstRecord: 2, Records: 2},
	}
	if !reflect.DeepEqual(js.Inputs, want) {
		t.Errorf("inputs = %+v\nwant %+v", js.Inputs, want)
	}

	r = f.cmd("runs show", "--format", "table", "1")
	histExit(t, r, 0)
	for _, w := range []string{"first_record", "B_20261202.csv", want[2].SHA256, f.path("input/B_*.csv")} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("runs show 1 (table) lacks %q:\n%s", w, r.stdout)
		}
	}
}
