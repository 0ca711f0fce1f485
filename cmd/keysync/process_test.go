package main

// Subprocess tests of what only a real process shows (SPEC §8, §10): exit
// codes and the one stderr line of a failing command, a run killed with
// SIGKILL in the middle of its staging, and two processes on one database.

import (
	"bufio"
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" driver, to inspect the database
)

// smallConfig reconciles input/A.csv (k1, k2) with input/B.csv (k2, k3):
// K3 is missing in A, K1 missing from B.
const smallConfig = `sources:
  A: { type: csv, path: ./input/A.csv }
  B: { type: csv, path: ./input/B.csv }
`

// writeFile writes content to dir/name, creating parent directories.
func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeSmall writes the small config as keysync-config.yaml and its inputs.
func writeSmall(t *testing.T, dir string) {
	t.Helper()
	writeFile(t, dir, "keysync-config.yaml", smallConfig)
	writeFile(t, dir, "input/A.csv", "source_key\nk1\nk2\n")
	writeFile(t, dir, "input/B.csv", "source_key\nk2\nk3\n")
}

// withConfig writes config as keysync-config.yaml beside the small inputs.
func withConfig(config string) func(t *testing.T, dir string) *snapshot {
	return func(t *testing.T, dir string) *snapshot {
		writeSmall(t, dir)
		writeFile(t, dir, "keysync-config.yaml", config)
		return nil
	}
}

// mustRun runs keysync and fails the test unless it exits 0.
func mustRun(t *testing.T, dir string, args ...string) result {
	t.Helper()
	r := runKeysync(t, dir, args...)
	if r.code != 0 {
		t.Fatalf("keysync %v: exit %d, stderr:\n%s", args, r.code, r.stderr)
	}
	return r
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	return s[strings.LastIndexByte(s, '\n')+1:]
}

// openRO opens the database at path read-only, as the sqlite3 shell would
// while keysync runs.
func openRO(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// queryInt runs a query that returns one integer.
func queryInt(t *testing.T, db *sql.DB, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// dump returns every row of query as text, to compare tables row for row.
func dump(t *testing.T, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for i, v := range vals {
			if i > 0 {
				b.WriteString(" | ")
			}
			if bs, ok := v.([]byte); ok {
				v = string(bs)
			}
			fmt.Fprintf(&b, "%v", v)
		}
		out = append(out, b.String())
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// events lists the audit event types of a run in order.
func events(t *testing.T, db *sql.DB, runID int64) []string {
	t.Helper()
	return dump(t, db, `SELECT event_type FROM audit_log WHERE run_id = ? ORDER BY event_id`, runID)
}

// readDir returns every file of dir with its bytes; subdirectories (a dry
// run's dry-run/) are not files of dir.
func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = b
	}
	return files
}

// sameFiles fails the test unless got holds exactly the files of want, byte
// for byte.
func sameFiles(t *testing.T, got, want map[string][]byte) {
	t.Helper()
	for name, w := range want {
		g, ok := got[name]
		switch {
		case !ok:
			t.Errorf("report %s is gone", name)
		case !bytes.Equal(g, w):
			t.Errorf("report %s changed:\n got %q\nwant %q", name, g, w)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("output has a new file %s", name)
		}
	}
}

// snapshot is the state a failed run must leave as it was.
type snapshot struct {
	lastRun                                 int64
	registry                                []string
	findings, runSystems, audit, rejections int64
	reports                                 map[string][]byte
}

func takeSnapshot(t *testing.T, dir string) *snapshot {
	t.Helper()
	db := openRO(t, filepath.Join(dir, "keysync.db"))
	return &snapshot{
		lastRun:    queryInt(t, db, `SELECT max(run_id) FROM runs`),
		registry:   dump(t, db, `SELECT * FROM master_key_registry ORDER BY master_key`),
		findings:   queryInt(t, db, `SELECT count(*) FROM findings`),
		runSystems: queryInt(t, db, `SELECT count(*) FROM run_systems`),
		audit:      queryInt(t, db, `SELECT count(*) FROM audit_log`),
		rejections: queryInt(t, db, `SELECT count(*) FROM rejected_rows`),
		reports:    readDir(t, filepath.Join(dir, "output")),
	}
}

// checkFailedRun verifies SPEC §3 and §8 for the run after snap that failed on
// a source: a `failed` runs row with its errors, run_started and run_failed,
// nothing else in the database, and the previous reports untouched.
func checkFailedRun(t *testing.T, dir string, snap *snapshot) {
	t.Helper()
	db := openRO(t, filepath.Join(dir, "keysync.db"))
	run := snap.lastRun + 1
	if got := queryInt(t, db, `SELECT count(*) FROM runs WHERE run_id > ?`, snap.lastRun); got != 1 {
		t.Errorf("the failed command left %d runs rows, want 1", got)
	}
	var status, errs string
	if err := db.QueryRow(`SELECT status, errors FROM runs WHERE run_id = ?`, run).Scan(&status, &errs); err != nil {
		t.Fatalf("runs row of run %d: %v", run, err)
	}
	if status != "failed" || errs == "" {
		t.Errorf("run %d: status %q, errors %q; want failed with the cause", run, status, errs)
	}
	snap.checkOnlyRunLog(t, db, dir, run, "run_failed", "failed")
}

// checkOnlyRunLog verifies that run, which ended with the closing event
// (run_failed, run_blocked), wrote nothing since snap but its two audit
// events: registry, findings, summary rows, rejected rows and the reports in
// dir/output are as they were (SPEC §8, §11).
func (snap *snapshot) checkOnlyRunLog(t *testing.T, db *sql.DB, dir string, run int64, closing, what string) {
	t.Helper()
	if got, want := events(t, db, run), []string{"run_started", closing}; !reflect.DeepEqual(got, want) {
		t.Errorf("audit events of the %s run %d = %q, want %q", what, run, got, want)
	}
	if got := queryInt(t, db, `SELECT count(*) FROM audit_log`); got != snap.audit+2 {
		t.Errorf("audit_log has %d events, want %d (only the %s run's two)", got, snap.audit+2, what)
	}
	if got := dump(t, db, `SELECT * FROM master_key_registry ORDER BY master_key`); !reflect.DeepEqual(got, snap.registry) {
		t.Errorf("registry changed by the %s run:\n got %q\nwant %q", what, got, snap.registry)
	}
	for _, c := range []struct {
		table string
		want  int64
	}{{"findings", snap.findings}, {"run_systems", snap.runSystems}, {"rejected_rows", snap.rejections}} {
		if got := queryInt(t, db, `SELECT count(*) FROM `+c.table); got != c.want {
			t.Errorf("%s has %d rows after the %s run, want %d", c.table, got, what, c.want)
		}
	}
	sameFiles(t, readDir(t, filepath.Join(dir, "output")), snap.reports)
}

// holdLock takes the run lock of dir/keysync.db from the test process itself,
// as a running keysync would, until the test ends.
func holdLock(t *testing.T, dir string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, "keysync.db.lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
}

func TestExitCodes(t *testing.T) {
	const noConfigKey = `colour: blue
sources:
  A: { type: csv, path: ./input/A.csv }
  B: { type: csv, path: ./input/B.csv }
`
	tests := []struct {
		name string
		// setup prepares dir; when it returns a snapshot, the command must
		// fail as a run and leave everything of that snapshot as it was.
		setup   func(t *testing.T, dir string) *snapshot
		args    []string
		code    int
		mention []string // what the last stderr line must name
		bug     string   // a known product bug: the case is skipped
	}{
		{
			name:  "good run",
			setup: withConfig(smallConfig),
			args:  []string{"sync"},
			code:  0,
		},
		{
			name: "missing source file",
			setup: func(t *testing.T, dir string) *snapshot {
				writeSmall(t, dir)
				mustRun(t, dir, "sync")
				snap := takeSnapshot(t, dir)
				if err := os.Remove(filepath.Join(dir, "input", "B.csv")); err != nil {
					t.Fatal(err)
				}
				return snap
			},
			args:    []string{"sync"},
			code:    1,
			mention: []string{filepath.Join("input", "B.csv")},
		},
		{
			name: "CSV quote error",
			setup: func(t *testing.T, dir string) *snapshot {
				writeSmall(t, dir)
				mustRun(t, dir, "sync")
				snap := takeSnapshot(t, dir)
				// Line 3 holds a bare quote in an unquoted field.
				writeFile(t, dir, "input/B.csv", "source_key\nk2\nk\"3\nk4\n")
				return snap
			},
			args:    []string{"sync"},
			code:    1,
			mention: []string{filepath.Join("input", "B.csv"), "line 3"},
		},
		{
			name:    "missing config file",
			setup:   withConfig(smallConfig),
			args:    []string{"sync", "--config", "nope.yaml"},
			code:    2,
			mention: []string{"nope.yaml"},
		},
		{
			name:    "unknown config key",
			setup:   withConfig(noConfigKey),
			args:    []string{"sync"},
			code:    2,
			mention: []string{"colour"},
		},
		{
			name:    "authority names no source",
			setup:   withConfig("authority: Z\n" + smallConfig),
			args:    []string{"sync"},
			code:    2,
			mention: []string{"authority", `"Z"`},
		},
		{
			name:    "fewer than two sources",
			setup:   withConfig("sources:\n  A: { type: csv, path: ./input/A.csv }\n"),
			args:    []string{"sync"},
			code:    2,
			mention: []string{"sources"},
		},
		{
			name:    "bad cron expression",
			setup:   withConfig(`schedule: "61 * * * *"` + "\n" + smallConfig),
			args:    []string{"sync"},
			code:    2,
			mention: []string{"schedule", `"61 * * * *"`},
		},
		{
			name: "two-character delimiter",
			setup: withConfig(`sources:
  A: { type: csv, path: ./input/A.csv }
  B: { type: csv, path: ./input/B.csv, delimiter: ";;" }
`),
			args:    []string{"sync"},
			code:    2,
			mention: []string{"sources.B.delimiter", `";;"`},
		},
		{
			name:    "collapse_delims outside delimiters",
			setup:   withConfig(`normalize: { collapse_delims: "+" }` + "\n" + smallConfig),
			args:    []string{"sync"},
			code:    2,
			mention: []string{"normalize.collapse_delims", `"+"`},
		},
		{
			name:    "unknown global flag",
			setup:   withConfig(smallConfig),
			args:    []string{"--bogus", "sync"},
			code:    2,
			mention: []string{"bogus"},
		},
		{
			name:    "unknown flag",
			setup:   withConfig(smallConfig),
			args:    []string{"sync", "--bogus"},
			code:    2,
			mention: []string{"bogus"},
		},
		{
			name:    "bad flag value",
			setup:   withConfig(smallConfig),
			args:    []string{"sync", "--dry-run=maybe"},
			code:    2,
			mention: []string{"dry-run", "maybe"},
		},
		{
			name: "approve unknown key",
			setup: func(t *testing.T, dir string) *snapshot {
				writeSmall(t, dir)
				mustRun(t, dir, "sync")
				return nil
			},
			args:    []string{"registry", "approve", "NOPE-1"},
			code:    2,
			mention: []string{"NOPE-1"},
		},
		{
			name: "approve Active key",
			setup: func(t *testing.T, dir string) *snapshot {
				writeSmall(t, dir)
				mustRun(t, dir, "sync", "--auto-approve")
				return nil
			},
			args:    []string{"registry", "approve", "--reason", "again", "K3"},
			code:    2,
			mention: []string{"K3", "Active"},
		},
		{
			name: "deprecate Deprecated key",
			setup: func(t *testing.T, dir string) *snapshot {
				writeSmall(t, dir)
				mustRun(t, dir, "sync")
				mustRun(t, dir, "registry", "deprecate", "K3")
				return nil
			},
			args:    []string{"registry", "deprecate", "K3"},
			code:    2,
			mention: []string{"K3", "Deprecated"},
		},
		{
			name: "run lock held",
			setup: func(t *testing.T, dir string) *snapshot {
				writeSmall(t, dir)
				holdLock(t, dir)
				return nil
			},
			args:    []string{"sync"},
			code:    3,
			mention: []string{"another keysync run holds the database"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.bug != "" {
				t.Skip("BUG: " + tc.bug)
			}
			dir := t.TempDir()
			snap := tc.setup(t, dir)
			r := runKeysync(t, dir, tc.args...)
			if r.code != tc.code {
				t.Fatalf("keysync %q: exit %d, want %d; stderr:\n%s", tc.args, r.code, tc.code, r.stderr)
			}
			if tc.code != 0 {
				last := lastLine(r.stderr)
				if !strings.HasPrefix(last, "keysync: ") {
					t.Errorf("last stderr line %q does not start with %q", last, "keysync: ")
				}
				for _, m := range tc.mention {
					if !strings.Contains(last, m) {
						t.Errorf("last stderr line %q does not mention %q", last, m)
					}
				}
			}
			if snap != nil {
				checkFailedRun(t, dir, snap)
			}
		})
	}
}

// largeRows is the authority's row count per source of the large input: enough
// that a run takes seconds on two cores, so another process can act mid-run.
const largeRows = 200_000

// writeLarge writes large.yaml, reconciling five large sources into the same
// database and output directory as the small config. Each peer lacks some of
// A's keys and has some of its own.
func writeLarge(t *testing.T, dir string) string {
	t.Helper()
	var cfg strings.Builder
	cfg.WriteString("sources:\n")
	for j, s := range []string{"A", "B", "C", "D", "E"} {
		fmt.Fprintf(&cfg, "  %s: { type: csv, path: ./large/%s.csv }\n", s, s)
		path := filepath.Join(dir, "large", s+".csv")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		w := bufio.NewWriterSize(f, 1<<20)
		w.WriteString("source_key,entity_type,location_ref\n")
		for i := 0; i < largeRows; i++ {
			if j > 0 && i%997 == j {
				continue // missing from this peer
			}
			k := i
			if j > 0 && i%1009 == j {
				k = largeRows + i // missing in A
			}
			fmt.Fprintf(w, "inv-%07d,item,%s/%d\n", k, s, i%50)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, dir, "large.yaml", cfg.String())
	return "large.yaml"
}

// proc is a keysync process started in the background.
type proc struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr lockedBuffer
	done   chan struct{}
	err    error // cmd.Wait's, once done is closed
}

// lockedBuffer is stderr, read by the test while the process writes it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startKeysync starts the binary in dir with args, logging JSON to stderr.
// The process is killed when the test ends, if it still runs.
func startKeysync(t *testing.T, dir string, args ...string) *proc {
	t.Helper()
	p := &proc{done: make(chan struct{})}
	p.cmd = exec.Command(binPath, append([]string{"--log-format", "json"}, args...)...)
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start keysync %v: %v", args, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// running reports whether the process has not exited yet.
func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// waitUntil polls cond until it holds, and fails the test if the process
// exits first: every wait here is for something the process does, not for
// a length of time.
func (p *proc) waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-p.done:
			if cond() {
				return
			}
			t.Fatalf("keysync exited (%v) before %s; stderr:\n%s", p.err, what, p.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// wait waits for the process to end and returns its exit code (-1 when a
// signal ended it).
func (p *proc) wait(t *testing.T) int {
	t.Helper()
	<-p.done
	var exit *exec.ExitError
	switch {
	case p.err == nil:
		return 0
	case errors.As(p.err, &exit):
		return exit.ExitCode()
	}
	t.Fatalf("wait for keysync: %v", p.err)
	return -1
}

// logged reports whether the process has logged a JSON record with msg and
// every attribute of attrs.
func (p *proc) logged(msg string, attrs map[string]string) bool {
	for _, line := range strings.Split(p.stderr.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil || rec["msg"] != msg {
			continue
		}
		ok := true
		for k, v := range attrs {
			if fmt.Sprint(rec[k]) != v {
				ok = false
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// runStatus is the status of run runID as a reader sees it, "" while there
// is no such row (or no database yet).
func runStatus(path string, runID int64) string {
	if _, err := os.Stat(path); err != nil {
		return ""
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return ""
	}
	defer db.Close()
	var status string
	if db.QueryRow(`SELECT status FROM runs WHERE run_id = ?`, runID).Scan(&status) != nil {
		return ""
	}
	return status
}

// startLargeRun starts a sync of the large config and returns once its runs
// row (run runID) is `running` and its first two sources have been read, so
// the run is deep inside its staging transaction.
func startLargeRun(t *testing.T, dir, config string, runID int64) *proc {
	t.Helper()
	db := filepath.Join(dir, "keysync.db")
	p := startKeysync(t, dir, "sync", "--config", config)
	p.waitUntil(t, fmt.Sprintf("run %d is running", runID), func() bool { return runStatus(db, runID) == "running" })
	p.waitUntil(t, "source B is read", func() bool {
		return p.logged("source read", map[string]string{"run_id": fmt.Sprint(runID), "system": "B"})
	})
	return p
}

func TestSIGKILLMidRun(t *testing.T) {
	if testing.Short() {
		t.Skip("large subprocess run")
	}
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "keysync.db")
	writeSmall(t, dir)
	large := writeLarge(t, dir)
	mustRun(t, dir, "sync")
	before := takeSnapshot(t, dir)
	if len(before.registry) == 0 {
		t.Fatal("the small run registered no master key; the test would prove nothing")
	}
	killed := before.lastRun + 1

	p := startLargeRun(t, dir, large, killed)
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.wait(t)
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("keysync was not killed mid-run (%v); stderr:\n%s", p.cmd.ProcessState, p.stderr.String())
	}

	db := openRO(t, dbPath)
	var check string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check after SIGKILL: %q, %v", check, err)
	}
	if got := runStatus(dbPath, killed); got != "running" {
		t.Errorf("killed run %d has status %q, want running until the next run", killed, got)
	}
	if got := dump(t, db, `SELECT * FROM master_key_registry ORDER BY master_key`); !reflect.DeepEqual(got, before.registry) {
		t.Errorf("registry changed by the killed run:\n got %q\nwant %q", got, before.registry)
	}
	for _, table := range []string{"findings", "run_systems", "rejected_rows"} {
		if n := queryInt(t, db, `SELECT count(*) FROM `+table+` WHERE run_id = ?`, killed); n != 0 {
			t.Errorf("%s has %d rows of the killed run", table, n)
		}
	}
	if got, want := events(t, db, killed), []string{"run_started"}; !reflect.DeepEqual(got, want) {
		t.Errorf("audit events of the killed run = %q, want %q", got, want)
	}
	if got := queryInt(t, db, `SELECT count(*) FROM audit_log`); got != before.audit+1 {
		t.Errorf("audit_log has %d events, want %d (the killed run's run_started only)", got, before.audit+1)
	}
	sameFiles(t, readDir(t, filepath.Join(dir, "output")), before.reports)
	db.Close()

	// Nobody holds the lock: readers show the killed run as interrupted,
	// and leave its row for the next writer.
	r := mustRun(t, dir, "runs", "list", "--format", "csv", "--last", "1")
	if want := fmt.Sprintf("\n%d,", killed); !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, ",interrupted,normal,") {
		t.Errorf("runs list after SIGKILL does not show run %d interrupted:\n%s", killed, r.stdout)
	}
	r = mustRun(t, dir, "runs", "show", "--format", "json", fmt.Sprint(killed))
	if !strings.Contains(r.stdout, `"status": "interrupted"`) {
		t.Errorf("runs show %d after SIGKILL does not say interrupted:\n%s", killed, r.stdout)
	}
	r = mustRun(t, dir, "kpi", "--format", "csv", "--last", "1")
	if !strings.Contains(r.stdout, ",interrupted,") {
		t.Errorf("kpi after SIGKILL does not show the killed run interrupted:\n%s", r.stdout)
	}
	if got := runStatus(dbPath, killed); got != "running" {
		t.Errorf("the readers changed the killed run's stored status to %q", got)
	}
	// The killed run's staging files are partial: keysync sql leaves them
	// alone and says why (v_key_presence is not there), the rest of the
	// database still answers, and explain falls back to the findings.
	r = runKeysync(t, dir, "sql", "--format", "csv", "SELECT COUNT(*) AS n FROM v_key_presence")
	if note := fmt.Sprintf("the staging files hold run %d, which stopped before its staging was complete", killed); r.code != 2 || !strings.Contains(r.stderr, note) {
		t.Errorf("sql on v_key_presence after SIGKILL: exit %d, want 2 and %q in stderr:\n%s", r.code, note, r.stderr)
	}
	r = mustRun(t, dir, "sql", "--format", "csv", "SELECT COUNT(*) AS n FROM runs")
	if !strings.Contains(r.stderr, "stopped before its staging was complete") {
		t.Errorf("sql after SIGKILL does not say the staging files are partial:\n%s", r.stderr)
	}
	mustRun(t, dir, "explain", "K1")

	// The kernel dropped the dead process's lock: the next run proceeds and
	// records the killed run as interrupted.
	mustRun(t, dir, "sync")
	db = openRO(t, dbPath)
	var status, errs string
	if err := db.QueryRow(`SELECT status, errors FROM runs WHERE run_id = ?`, killed).Scan(&status, &errs); err != nil {
		t.Fatal(err)
	}
	if status != "failed" || errs != "interrupted" {
		t.Errorf("killed run after the next run: status %q, errors %q; want failed, interrupted", status, errs)
	}
	if got, want := events(t, db, killed), []string{"run_started", "run_failed"}; !reflect.DeepEqual(got, want) {
		t.Errorf("audit events of the killed run = %q, want %q", got, want)
	}
	if got := runStatus(dbPath, killed+1); got != "succeeded" {
		t.Errorf("the run after the kill has status %q, want succeeded", got)
	}
	if got := dump(t, db, `SELECT * FROM master_key_registry ORDER BY master_key`); !reflect.DeepEqual(got, before.registry) {
		t.Errorf("registry changed by rerunning the same input:\n got %q\nwant %q", got, before.registry)
	}
}

func TestConcurrentRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("large subprocess run")
	}
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "keysync.db")
	writeSmall(t, dir)
	large := writeLarge(t, dir)

	first := startLargeRun(t, dir, large, 1)
	second := runKeysync(t, dir, "sync", "--config", large)
	approve := runKeysync(t, dir, "registry", "approve", "--config", large, "INV-0200001")
	if !first.running() {
		t.Fatalf("the first run ended before the second started; make the large input larger")
	}
	for _, c := range []struct {
		name string
		r    result
	}{{"second sync", second}, {"registry approve", approve}} {
		if c.r.code != 3 {
			t.Errorf("%s during a run: exit %d, want 3; stderr:\n%s", c.name, c.r.code, c.r.stderr)
		}
		last := lastLine(c.r.stderr)
		if !strings.HasPrefix(last, "keysync: ") || !strings.Contains(last, "another keysync run holds the database") {
			t.Errorf("%s during a run: last stderr line %q, want keysync: … another keysync run holds the database", c.name, last)
		}
	}

	if code := first.wait(t); code != 0 {
		t.Fatalf("first run: exit %d; stderr:\n%s", code, first.stderr.String())
	}
	db := openRO(t, dbPath)
	if got, want := dump(t, db, `SELECT run_id, status FROM runs ORDER BY run_id`), []string{"1 | succeeded"}; !reflect.DeepEqual(got, want) {
		t.Errorf("runs = %q, want %q (the refused sync must leave no row)", got, want)
	}
	if got := events(t, db, 1); len(got) < 2 || got[0] != "run_started" || got[len(got)-1] != "run_succeeded" {
		t.Errorf("audit events of run 1 = %q, want run_started … run_succeeded", got)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM audit_log WHERE event_type = 'master_key_approved'`); n != 0 {
		t.Errorf("the refused approve wrote %d master_key_approved events", n)
	}
}

func TestReadableWhileRunning(t *testing.T) {
	if testing.Short() {
		t.Skip("large subprocess run")
	}
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "keysync.db")
	writeSmall(t, dir)
	large := writeLarge(t, dir)
	mustRun(t, dir, "sync")

	p := startLargeRun(t, dir, large, 2)
	db := openRO(t, dbPath)
	if got := queryInt(t, db, `SELECT count(*) FROM runs`); got != 2 {
		t.Errorf("a reader during the run counts %d runs, want 2", got)
	}
	if got := queryInt(t, db, `SELECT count(*) FROM master_key_registry`); got == 0 {
		t.Error("a reader during the run sees an empty registry")
	}
	// The reads above happened while the run was still staging.
	if !p.running() || runStatus(dbPath, 2) != "running" {
		t.Fatalf("the run ended before the reads; make the large input larger")
	}
	// That a run completes beside a reader is TestConcurrentRuns' business;
	// the cleanup kills this one to keep the suite fast.
}
