package main

// Subprocess tests of the commands around a run (SPEC §2, §10, §11): `keysync
// schedule` ticking and stopping on SIGTERM, the crontab line of `keysync
// cron` (and that it really runs), `--fail-on-findings`, and the safety
// guards with `--force`. The helpers shared with process_test.go (writeFile,
// startKeysync, takeSnapshot, …) are declared there.

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// schedEverySecond is the small config ticking every second.
const schedEverySecond = `schedule: "@every 1s"` + "\n" + smallConfig

// schedCountRuns counts the runs with status as a reader sees them; 0 while
// there is no database (or no runs table) yet.
func schedCountRuns(path, status string) int64 {
	if _, err := os.Stat(path); err != nil {
		return 0
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return 0
	}
	defer db.Close()
	var n int64
	if db.QueryRow(`SELECT count(*) FROM runs WHERE status = ?`, status).Scan(&n) != nil {
		return 0
	}
	return n
}

// schedAwait polls cond until it holds. It fails the test when the process
// exits first, or when cond still does not hold after limit: the limit is a
// guard against a hung test, far above what the wait normally takes.
func schedAwait(t *testing.T, p *proc, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.After(limit)
	for !cond() {
		select {
		case <-p.done:
			if cond() {
				return
			}
			t.Fatalf("keysync exited (%v) before %s; stderr:\n%s", p.err, what, p.stderr.String())
		case <-deadline:
			t.Fatalf("no %s after %v; stderr:\n%s", what, limit, p.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// schedStop sends SIGTERM to p and returns its exit code once it has exited,
// failing the test if it does not exit within limit.
func schedStop(t *testing.T, p *proc, limit time.Duration) int {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-p.done:
	case <-time.After(limit):
		t.Fatalf("keysync did not exit within %v of SIGTERM; stderr:\n%s", limit, p.stderr.String())
	}
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		t.Fatalf("keysync was killed by %v instead of handling SIGTERM; stderr:\n%s", ws.Signal(), p.stderr.String())
	}
	return p.wait(t)
}

// schedIntegrity fails the test unless PRAGMA integrity_check says ok.
func schedIntegrity(t *testing.T, db *sql.DB) {
	t.Helper()
	var check string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check: %q, %v", check, err)
	}
}

// schedLogCount counts the JSON log records of p with msg.
func schedLogCount(p *proc, msg string) int {
	n := 0
	for _, line := range strings.Split(p.stderr.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
			n++
		}
	}
	return n
}

func TestScheduleRunsEveryTick(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "keysync.db")
	writeSmall(t, dir)
	writeFile(t, dir, "keysync-config.yaml", schedEverySecond)

	p := startKeysync(t, dir, "schedule", "--config", "keysync-config.yaml")
	schedAwait(t, p, "two succeeded runs", 20*time.Second, func() bool {
		return schedCountRuns(dbPath, "succeeded") >= 2
	})
	if code := schedStop(t, p, 20*time.Second); code != 0 {
		t.Fatalf("schedule after SIGTERM: exit %d, want 0; stderr:\n%s", code, p.stderr.String())
	}
	if n := schedLogCount(p, "next run"); n < 2 {
		t.Errorf("stderr has %d %q records, want one per tick (at least 2); stderr:\n%s", n, "next run", p.stderr.String())
	}
	if last := lastLine(p.stderr.String()); strings.HasPrefix(last, "keysync: ") {
		t.Errorf("a schedule stopped by SIGTERM ends with an error line %q", last)
	}

	db := openRO(t, dbPath)
	schedIntegrity(t, db)
	runs := dump(t, db, `SELECT run_id, status, mode, errors FROM runs ORDER BY run_id`)
	if len(runs) < 2 {
		t.Fatalf("runs = %q, want at least 2", runs)
	}
	for i, r := range runs {
		want := fmt.Sprintf("%d | succeeded | normal | ", i+1)
		// The signal may land in a third run that started meanwhile: that one
		// must then be the last and recorded as interrupted.
		if i >= 2 && i == len(runs)-1 && r == fmt.Sprintf("%d | failed | normal | interrupted", i+1) {
			continue
		}
		if r != want {
			t.Errorf("runs[%d] = %q, want %q (all runs: %q)", i, r, want, runs)
		}
	}
	for i, r := range runs {
		end := "run_succeeded"
		if strings.Contains(r, "| failed |") {
			end = "run_failed"
		}
		if got := events(t, db, int64(i+1)); len(got) < 2 || got[0] != "run_started" || got[len(got)-1] != end {
			t.Errorf("audit events of run %d = %q, want run_started … %s", i+1, got, end)
		}
	}
	if n := queryInt(t, db, `SELECT count(*) FROM runs WHERE status = 'running'`); n != 0 {
		t.Errorf("%d runs are still running after the scheduler stopped", n)
	}
}

func TestScheduleSIGTERMMidRun(t *testing.T) {
	if testing.Short() {
		t.Skip("large subprocess run")
	}
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "keysync.db")
	writeSmall(t, dir)
	large := writeLarge(t, dir)
	cfg, err := os.ReadFile(filepath.Join(dir, large))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "sched-large.yaml", `schedule: "@every 1s"`+"\n"+string(cfg))
	mustRun(t, dir, "sync")
	before := takeSnapshot(t, dir)
	if len(before.registry) == 0 {
		t.Fatal("the small run registered no master key; the test would prove nothing")
	}
	cancelled := before.lastRun + 1

	p := startKeysync(t, dir, "schedule", "--config", "sched-large.yaml")
	schedAwait(t, p, fmt.Sprintf("run %d running", cancelled), 30*time.Second, func() bool {
		return runStatus(dbPath, cancelled) == "running"
	})
	schedAwait(t, p, "source B read", 30*time.Second, func() bool {
		return p.logged("source read", map[string]string{"run_id": fmt.Sprint(cancelled), "system": "B"})
	})
	if code := schedStop(t, p, 30*time.Second); code != 0 {
		t.Fatalf("schedule after SIGTERM mid-run: exit %d, want 0; stderr:\n%s", code, p.stderr.String())
	}

	db := openRO(t, dbPath)
	schedIntegrity(t, db)
	// No later run exists, so the cancelled run recorded its outcome itself.
	if got := dump(t, db, `SELECT run_id, status, errors FROM runs WHERE run_id >= ? ORDER BY run_id`, cancelled); !reflect.DeepEqual(got, []string{fmt.Sprintf("%d | failed | interrupted", cancelled)}) {
		t.Errorf("runs from %d on = %q, want only the cancelled run, failed with errors interrupted", cancelled, got)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM runs WHERE finished_at IS NULL OR status = 'running'`); n != 0 {
		t.Errorf("%d runs are unfinished after the scheduler stopped", n)
	}
	before.checkOnlyRunLog(t, db, dir, cancelled, "run_failed", "cancelled")
}

func TestScheduleConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		config  string
		mention []string
	}{
		{"no schedule", smallConfig, []string{"schedule"}},
		{"bad cron expression", `schedule: "61 * * * *"` + "\n" + smallConfig, []string{"schedule", `"61 * * * *"`}},
		{"four fields", `schedule: "0 2 * *"` + "\n" + smallConfig, []string{"schedule", `"0 2 * *"`}},
		{"bad descriptor", `schedule: "@fortnightly"` + "\n" + smallConfig, []string{"schedule", `"@fortnightly"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeSmall(t, dir)
			writeFile(t, dir, "keysync-config.yaml", tc.config)
			r := runKeysync(t, dir, "schedule", "--config", "keysync-config.yaml")
			if r.code != 2 {
				t.Fatalf("schedule: exit %d, want 2; stderr:\n%s", r.code, r.stderr)
			}
			last := lastLine(r.stderr)
			if !strings.HasPrefix(last, "keysync: ") {
				t.Errorf("last stderr line %q does not start with %q", last, "keysync: ")
			}
			for _, m := range tc.mention {
				if !strings.Contains(last, m) {
					t.Errorf("last stderr line %q does not mention %q", last, m)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "keysync.db")); err == nil {
				t.Error("schedule refused to start but created the database")
			}
		})
	}
}

// cronCommandOf is the command part of a crontab line with a 5-field
// schedule, as cron hands it to /bin/sh: after the time fields, with `\%`
// turned into `%`. An unescaped `%` would end the command there (crontab(5)),
// so it fails the test.
func cronCommandOf(t *testing.T, line string) string {
	t.Helper()
	m := regexp.MustCompile(`^(?:\S+[ \t]+){5}`).FindString(line)
	if m == "" {
		t.Fatalf("crontab line %q has no 5 time fields", line)
	}
	var b strings.Builder
	cmd := line[len(m):]
	for i := 0; i < len(cmd); i++ {
		switch {
		case cmd[i] == '\\' && i+1 < len(cmd) && cmd[i+1] == '%':
			b.WriteByte('%')
			i++
		case cmd[i] == '\\' && i+1 < len(cmd):
			b.WriteString(cmd[i : i+2])
			i++
		case cmd[i] == '%':
			t.Fatalf("crontab line %q has an unescaped %%: cron would cut the command there", line)
		default:
			b.WriteByte(cmd[i])
		}
	}
	return b.String()
}

// cronWords splits a /bin/sh command into its words after quote removal
// (single quotes, double quotes, backslashes); enough for the lines keysync
// prints, which have no expansions.
func cronWords(t *testing.T, s string) []string {
	t.Helper()
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
			continue
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				t.Fatalf("unterminated ' in %q", s)
			}
			w.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("$`\"\\", s[i+1]) >= 0 {
					i++
				}
				w.WriteByte(s[i])
			}
			if i == len(s) {
				t.Fatalf("unterminated \" in %q", s)
			}
		case c == '\\' && i+1 < len(s):
			i++
			w.WriteByte(s[i])
		case c == '$' || c == '`' || c == '*' || c == '?' || c == ';' || c == '|' || c == '&' && !strings.HasSuffix(w.String(), ">"):
			t.Fatalf("unquoted %q in command %q", c, s)
		default:
			w.WriteByte(c)
		}
		inWord = true
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// cronWriteConfig writes cfg as etc/ks.yaml under dir with its inputs in
// etc/input, and returns the config's absolute path.
func cronWriteConfig(t *testing.T, dir, cfg string) string {
	t.Helper()
	writeFile(t, dir, "etc/ks.yaml", cfg)
	writeFile(t, dir, "etc/input/A.csv", "source_key\nk1\nk2\n")
	writeFile(t, dir, "etc/input/B.csv", "source_key\nk2\nk3\n")
	return filepath.Join(dir, "etc", "ks.yaml")
}

func TestCron(t *testing.T) {
	bin, err := filepath.EvalSymlinks(binPath)
	if err != nil {
		t.Fatal(err)
	}
	const weekdays = `schedule: "30 3 * * 1-5"` + "\n" + smallConfig
	tests := []struct {
		name   string
		subdir string // the directory under t.TempDir() holding everything
		config string
		cwd    string // relative to that directory; "" = another directory
		args   func(dir, cfg string) []string
		fields string
		log    func(dir string) string // the log file the line appends to
		db     func(dir string) string // the database the line runs on
		// onlyJSON: every line of the log must be a JSON record, not just
		// those of the logger.
		onlyJSON bool
		bug      string
	}{
		{
			name:   "absolute config path",
			config: weekdays,
			args:   func(dir, cfg string) []string { return []string{"--config", cfg} },
			fields: "30 3 * * 1-5",
		},
		{
			name:   "relative config path",
			config: weekdays,
			cwd:    ".",
			args:   func(dir, cfg string) []string { return []string{"--config", filepath.Join("etc", "ks.yaml")} },
			fields: "30 3 * * 1-5",
		},
		{
			name:   "relative config path from below",
			config: weekdays,
			cwd:    "etc/input",
			args:   func(dir, cfg string) []string { return []string{"--config", "../ks.yaml"} },
			fields: "30 3 * * 1-5",
		},
		{
			name:   "no schedule runs at 02:00",
			config: smallConfig,
			args:   func(dir, cfg string) []string { return []string{"--config", cfg} },
			fields: "0 2 * * *",
		},
		{
			name:   "relative log flag",
			config: weekdays,
			cwd:    ".",
			args: func(dir, cfg string) []string {
				return []string{"--config", "etc/ks.yaml", "--log", filepath.Join("var", "ks.log")}
			},
			fields: "30 3 * * 1-5",
			log:    func(dir string) string { return filepath.Join(dir, "var", "ks.log") },
		},
		{
			name:   "absolute log flag",
			config: weekdays,
			args: func(dir, cfg string) []string {
				return []string{"--config", cfg, "--log", filepath.Join(dir, "logs", "nightly.log")}
			},
			fields: "30 3 * * 1-5",
			log:    func(dir string) string { return filepath.Join(dir, "logs", "nightly.log") },
		},
		{
			name:   "relative db flag",
			config: weekdays,
			cwd:    ".",
			args: func(dir, cfg string) []string {
				return []string{"--config", "etc/ks.yaml", "--db", filepath.Join("state", "ks.db")}
			},
			fields: "30 3 * * 1-5",
			db:     func(dir string) string { return filepath.Join(dir, "state", "ks.db") },
		},
		{
			name:   "paths with spaces and quotes",
			subdir: "Jo's key sync",
			config: weekdays,
			args:   func(dir, cfg string) []string { return []string{"--config", cfg} },
			fields: "30 3 * * 1-5",
		},
		{
			name:   "paths with a percent sign",
			subdir: "50%",
			config: weekdays,
			args:   func(dir, cfg string) []string { return []string{"--config", cfg} },
			fields: "30 3 * * 1-5",
		},
		{
			name:     "the log holds only JSON lines",
			config:   weekdays,
			args:     func(dir, cfg string) []string { return []string{"--config", cfg} },
			fields:   "30 3 * * 1-5",
			onlyJSON: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.bug != "" {
				t.Skip("BUG: " + tc.bug)
			}
			dir := filepath.Join(t.TempDir(), tc.subdir)
			cfg := cronWriteConfig(t, dir, tc.config)
			cwd := t.TempDir()
			if tc.cwd != "" {
				cwd = filepath.Join(dir, tc.cwd)
			}
			r := runKeysync(t, cwd, append([]string{"cron"}, tc.args(dir, cfg)...)...)
			if r.code != 0 {
				t.Fatalf("cron: exit %d; stderr:\n%s", r.code, r.stderr)
			}
			if strings.Count(r.stdout, "\n") != 1 || !strings.HasSuffix(r.stdout, "\n") {
				t.Fatalf("cron printed %q, want exactly one line", r.stdout)
			}
			line := strings.TrimSuffix(r.stdout, "\n")
			command := cronCommandOf(t, line)
			if got := strings.Join(strings.Fields(line)[:5], " "); got != tc.fields {
				t.Errorf("time fields = %q, want %q (line %q)", got, tc.fields, line)
			}
			words := cronWords(t, command)
			logFile := filepath.Join(dir, "etc", "keysync.log")
			if tc.log != nil {
				logFile = tc.log(dir)
			}
			dbPath := filepath.Join(dir, "etc", "keysync.db")
			if tc.db != nil {
				dbPath = tc.db(dir)
			}
			if len(words) < 6 {
				t.Fatalf("command %q has too few words %q", command, words)
			}
			if words[0] != bin {
				t.Errorf("command runs %q, want the absolute binary %q", words[0], bin)
			}
			if !strings.Contains("\x00"+strings.Join(words, "\x00")+"\x00", "\x00sync\x00--config\x00"+cfg+"\x00") {
				t.Errorf("command words %q lack sync --config %q", words, cfg)
			}
			if tc.db != nil && !strings.Contains("\x00"+strings.Join(words, "\x00")+"\x00", "\x00--db\x00"+dbPath+"\x00") {
				t.Errorf("command words %q lack --db %q", words, dbPath)
			}
			if got, want := words[len(words)-2:], []string{">/dev/null", "2>>" + logFile}; !reflect.DeepEqual(got, want) {
				t.Errorf("command ends with %q, want %q", got, want)
			}

			// Run it the way cron would: /bin/sh -c, from $HOME, with a bare
			// environment.
			// The shell does not create the log's directory; an operator would.
			for _, d := range []string{filepath.Dir(logFile)} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if tc.db != nil {
				// A database named by --db is made on purpose, in a
				// directory that exists; sync never creates one there.
				if err := os.MkdirAll(filepath.Dir(dbPath), 0o755); err != nil {
					t.Fatal(err)
				}
				mustRun(t, dir, "db", "init", "--db", dbPath)
			}
			home := t.TempDir()
			sh := exec.Command("/bin/sh", "-c", command)
			sh.Dir = home
			sh.Env = []string{"HOME=" + home, "PATH=/usr/bin:/bin", "SHELL=/bin/sh"}
			if out, err := sh.CombinedOutput(); err != nil || len(out) != 0 {
				t.Fatalf("sh -c %q: %v, output %q", command, err, out)
			}
			logged, err := os.ReadFile(logFile)
			if err != nil {
				t.Fatalf("the cron command wrote no log: %v", err)
			}
			var msgs []string
			for _, l := range strings.Split(strings.TrimRight(string(logged), "\n"), "\n") {
				var rec map[string]any
				err := json.Unmarshal([]byte(l), &rec)
				switch {
				case err == nil && rec["msg"] != nil:
					msgs = append(msgs, fmt.Sprint(rec["msg"]))
				case tc.onlyJSON || strings.HasPrefix(l, "{"):
					t.Errorf("log line %q is not a JSON log record (%v)", l, err)
				}
			}
			if len(msgs) > 0 && msgs[0] == "created database" {
				msgs = msgs[1:] // the first run of a new setup makes its database
			}
			if len(msgs) < 2 || msgs[0] != "run started" || msgs[len(msgs)-1] != "run succeeded" {
				t.Errorf("the log's JSON records are %q, want run started … run succeeded:\n%s", msgs, logged)
			}
			db := openRO(t, dbPath)
			if got, want := dump(t, db, `SELECT run_id, status, mode FROM runs`), []string{"1 | succeeded | normal"}; !reflect.DeepEqual(got, want) {
				t.Errorf("runs after the cron command = %q, want %q", got, want)
			}
			if _, err := os.Stat(filepath.Join(dir, "etc", "output", "reconciliation_summary.csv")); err != nil {
				t.Errorf("the cron command wrote no reports beside its config: %v", err)
			}
		})
	}

	t.Run("@every has no crontab form", func(t *testing.T) {
		dir := t.TempDir()
		cfg := cronWriteConfig(t, dir, `schedule: "@every 10m"`+"\n"+smallConfig)
		r := runKeysync(t, dir, "cron", "--config", cfg)
		if r.code != 2 {
			t.Fatalf("cron with @every: exit %d, want 2; stdout %q, stderr:\n%s", r.code, r.stdout, r.stderr)
		}
		if r.stdout != "" {
			t.Errorf("cron with @every printed %q", r.stdout)
		}
		if last := lastLine(r.stderr); !strings.HasPrefix(last, "keysync: ") || !strings.Contains(last, "@every 10m") {
			t.Errorf("last stderr line %q, want keysync: … naming %q", last, "@every 10m")
		}
	})
}

func TestFailOnFindings(t *testing.T) {
	tests := []struct {
		name string
		a, b string // the data rows of A.csv and B.csv
		args []string
		code int
	}{
		{"missing in A", "k1\nk2\n", "k1\nk2\nk3\n", nil, 5},
		{"missing from B", "k1\nk2\nk3\n", "k1\nk2\n", nil, 5},
		{"duplicate in the authority", "k1\nk2\nK2\n", "k1\nk2\n", nil, 5},
		{"duplicate in a peer", "k1\nk2\n", "k1\nk2\n k1\n", nil, 5},
		{"findings in a dry run", "k1\n", "k2\n", []string{"--dry-run"}, 5},
		{"same keys", "k1\nk2\nk3\n", "k3\nk1\nk2\n", nil, 0},
		{"same keys after normalization", "inv-1\nsku 7\n", "INV_1\n  Sku.7\n", nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "keysync-config.yaml", smallConfig)
			writeFile(t, dir, "input/A.csv", "source_key\n"+tc.a)
			writeFile(t, dir, "input/B.csv", "source_key\n"+tc.b)
			r := runKeysync(t, dir, append([]string{"sync", "--fail-on-findings"}, tc.args...)...)
			if r.code != tc.code {
				t.Fatalf("sync --fail-on-findings: exit %d, want %d; stderr:\n%s", r.code, tc.code, r.stderr)
			}
			last := lastLine(r.stderr)
			if tc.code != 0 && !(strings.HasPrefix(last, "keysync: ") && strings.Contains(last, "findings")) {
				t.Errorf("last stderr line %q, want keysync: … findings", last)
			}
			if tc.code == 0 && strings.HasPrefix(last, "keysync: ") {
				t.Errorf("a run without findings ends with the error line %q", last)
			}
			db := openRO(t, filepath.Join(dir, "keysync.db"))
			var status string
			var findings int64
			if err := db.QueryRow(`SELECT status FROM runs WHERE run_id = 1`).Scan(&status); err != nil {
				t.Fatal(err)
			}
			if status != "succeeded" {
				t.Errorf("run 1 has status %q, want succeeded", status)
			}
			findings = queryInt(t, db, `SELECT count(*) FROM findings WHERE run_id = 1`)
			if (findings > 0) != (tc.code == 5) {
				t.Errorf("run 1 has %d findings, but the exit code is %d", findings, r.code)
			}
			if got := events(t, db, 1); len(got) < 2 || got[0] != "run_started" || got[len(got)-1] != "run_succeeded" {
				t.Errorf("audit events of run 1 = %q, want run_started … run_succeeded", got)
			}
			out := filepath.Join(dir, "output")
			if slices.Contains(tc.args, "--dry-run") {
				out = filepath.Join(out, "dry-run")
			}
			reports := readDir(t, out)
			for _, name := range []string{"reconciliation_summary.csv", "diff_missing_in_A.csv", "diff_missing_from_system.csv",
				"master_key_registry.csv", "audit_log.csv", "exceptions.csv", "rejected_rows.csv"} {
				if _, ok := reports[name]; !ok {
					t.Errorf("report %s was not written", name)
				}
			}
			if !strings.Contains(r.stdout, "missing_in_A") {
				t.Errorf("stdout lacks the run summary:\n%s", r.stdout)
			}
		})
	}
}

// guardKeys returns prefix01 … prefixNN for n keys.
func guardKeys(prefix string, n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%s%02d", prefix, i+1)
	}
	return keys
}

// guardJoin concatenates key lists.
func guardJoin(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// guardStep is one sync of a guard case: the config's safety block, the
// keys of A.csv and B.csv, extra flags and the exit code it must end with.
type guardStep struct {
	safety string
	a, b   []string
	args   []string
	code   int
}

// guardRun writes the step's config and inputs into dir and runs sync.
func guardRun(t *testing.T, dir string, s guardStep) result {
	t.Helper()
	cfg := smallConfig
	if s.safety != "" {
		cfg += "safety: " + s.safety + "\n"
	}
	writeFile(t, dir, "keysync-config.yaml", cfg)
	writeFile(t, dir, "input/A.csv", "source_key\n"+strings.Join(s.a, "\n")+"\n")
	writeFile(t, dir, "input/B.csv", "source_key\n"+strings.Join(s.b, "\n")+"\n")
	return runKeysync(t, dir, append([]string{"sync"}, s.args...)...)
}

// guardMentions reports whether s names word as a whole token: a number not
// inside a longer number, a system name not inside a longer name.
func guardMentions(s, word string) bool {
	re := regexp.MustCompile(`(^|[^0-9A-Za-z_.])` + regexp.QuoteMeta(word) + `($|[^0-9A-Za-z_])`)
	return re.MatchString(s)
}

func TestSafetyGuards(t *testing.T) {
	var (
		a10 = guardKeys("a", 10)
		// The base run: B has 10 rows, lacks a09 and a10, and proposes B01
		// and B02.
		base = guardStep{a: a10, b: guardJoin(guardKeys("a", 8), guardKeys("b", 2))}
		// B with 4 rows, one of them rejected (empty key): 3 accepted.
		b3 = guardJoin(guardKeys("a", 3), []string{"-_-"})
		b7 = guardKeys("a", 7)
		// B with 20 rows.
		b20 = guardJoin(a10, guardKeys("b", 10))
	)
	tests := []struct {
		name    string
		setup   []guardStep // runs before the checked one
		run     guardStep   // the checked run; code 4 means blocked
		mention []string    // what errors and the last stderr line name when blocked
		bug     string
	}{
		{
			name:    "min_rows trips on accepted rows",
			setup:   []guardStep{base},
			run:     guardStep{safety: "{ min_rows: 4 }", a: a10, b: b3, code: 4},
			mention: []string{"min_rows", "B", "3", "4"},
		},
		{
			// B's 70% drop would trip the default max_drop_ratio: not the point here.
			name:  "min_rows passes at the limit",
			setup: []guardStep{base},
			run:   guardStep{safety: "{ min_rows: 3, max_drop_ratio: 0 }", a: a10, b: b3},
		},
		{
			name:    "min_rows per source trips on a peer",
			setup:   []guardStep{base},
			run:     guardStep{safety: "{ min_rows: { A: 10, B: 4 } }", a: a10, b: b3, code: 4},
			mention: []string{"min_rows", "B", "3", "4"},
		},
		{
			name:    "min_rows per source trips on the authority",
			setup:   []guardStep{base},
			run:     guardStep{safety: "{ min_rows: { A: 11, B: 1 } }", a: a10, b: b3, code: 4},
			mention: []string{"min_rows", "A", "10", "11"},
		},
		{
			name:  "min_rows per source passes at the limit",
			setup: []guardStep{base},
			run:   guardStep{safety: "{ min_rows: { A: 10, B: 3 }, max_drop_ratio: 0 }", a: a10, b: b3},
		},
		{
			name:  "min_rows per source leaves other sources at the default",
			setup: []guardStep{base},
			run:   guardStep{safety: "{ min_rows: { A: 10 }, max_drop_ratio: 0 }", a: a10, b: b3},
		},
		{
			name:    "min_rows per source: the default 1 guards the others",
			setup:   []guardStep{base},
			run:     guardStep{safety: "{ min_rows: { A: 10 } }", a: a10, b: nil, code: 4},
			mention: []string{"min_rows", "B", "0", "1"},
		},
		{
			name:    "defaults: an empty peer blocks",
			setup:   []guardStep{base},
			run:     guardStep{a: a10, b: nil, code: 4},
			mention: []string{"min_rows", "B", "0", "1"},
		},
		{
			name:    "defaults: an empty authority blocks",
			setup:   []guardStep{base},
			run:     guardStep{a: nil, b: b7, code: 4},
			mention: []string{"min_rows", "A", "0", "1"},
		},
		{
			name:  "min_rows: 0 turns the guard off",
			setup: []guardStep{base},
			run:   guardStep{safety: "{ min_rows: 0, max_drop_ratio: 0 }", a: nil, b: b7},
		},
		{
			// 6 of 10 rows have an empty key.
			name:    "defaults: more than half of the rows rejected blocks",
			setup:   []guardStep{base},
			run:     guardStep{a: a10, b: guardJoin(guardKeys("a", 4), []string{"-", "_", "-_-", ".", "..", "--"}), code: 4},
			mention: []string{"max_rejected_ratio", "B", "6", "10", "0.5"},
		},
		{
			name:  "defaults: half of the rows rejected passes",
			setup: []guardStep{base},
			run:   guardStep{a: a10, b: guardJoin(guardKeys("a", 5), []string{"-", "_", "-_-", ".", ".."})},
		},
		{
			name:  "max_rejected_ratio: 0 turns the guard off",
			setup: []guardStep{base},
			run:   guardStep{safety: "{ max_rejected_ratio: 0, max_drop_ratio: 0 }", a: a10, b: guardJoin(guardKeys("a", 1), []string{"-", "_", "-_-"})},
		},
		{
			name:    "defaults: accepted rows halved blocks",
			setup:   []guardStep{base},
			run:     guardStep{a: a10, b: guardKeys("a", 4), code: 4},
			mention: []string{"max_drop_ratio", "B", "4", "10", "0.5"},
		},
		{
			name:    "max_drop_ratio trips",
			setup:   []guardStep{base},
			run:     guardStep{safety: "{ max_drop_ratio: 0.2 }", a: a10, b: b7, code: 4},
			mention: []string{"max_drop_ratio", "B", "7", "10", "0.2"},
		},
		{
			name:  "max_drop_ratio passes at the limit",
			setup: []guardStep{base},
			run:   guardStep{safety: "{ max_drop_ratio: 0.3 }", a: a10, b: b7},
		},
		{
			name:  "max_drop_ratio passes without a normal successful run",
			setup: []guardStep{{a: a10, b: b20, args: []string{"--dry-run"}}},
			run:   guardStep{safety: "{ max_drop_ratio: 0.01 }", a: a10, b: b7},
		},
		{
			// Compared with the dry run's 20 rows, 7 would be a 65% drop.
			name:  "max_drop_ratio ignores a dry run",
			setup: []guardStep{base, {a: a10, b: b20, args: []string{"--dry-run"}}},
			run:   guardStep{safety: "{ max_drop_ratio: 0.3 }", a: a10, b: b7},
		},
		{
			name:    "max_drop_ratio compares with the run before a dry run",
			setup:   []guardStep{base, {a: a10, b: b20, args: []string{"--dry-run"}}},
			run:     guardStep{safety: "{ max_drop_ratio: 0.2 }", a: a10, b: b7, code: 4},
			mention: []string{"max_drop_ratio", "B", "7", "10", "0.2"},
		},
		{
			// A blocked run keeps no counts; compared with it nothing would trip.
			name: "max_drop_ratio ignores a blocked run",
			setup: []guardStep{base,
				{safety: "{ min_rows: { A: 11 } }", a: a10, b: b20, code: 4}},
			run:     guardStep{safety: "{ max_drop_ratio: 0.2 }", a: a10, b: b7, code: 4},
			mention: []string{"max_drop_ratio", "B", "7", "10", "0.2"},
		},
		{
			name: "max_drop_ratio ignores a failed run",
			setup: []guardStep{base,
				{a: a10, b: []string{`"unterminated`}, code: 1}},
			run:     guardStep{safety: "{ max_drop_ratio: 0.2 }", a: a10, b: b7, code: 4},
			mention: []string{"max_drop_ratio", "B", "7", "10", "0.2"},
		},
		{
			// Compared with the base run's 10 rows, 4 would be a 60% drop.
			name: "a forced run is the baseline of max_drop_ratio",
			setup: []guardStep{base,
				{safety: "{ max_drop_ratio: 0.2 }", a: a10, b: guardKeys("a", 5), args: []string{"--force"}}},
			run: guardStep{safety: "{ max_drop_ratio: 0.2 }", a: a10, b: guardKeys("a", 4)},
		},
		{
			name:    "max_missing_ratio trips",
			setup:   []guardStep{base},
			run:     guardStep{safety: "{ max_missing_ratio: 0.5 }", a: a10, b: guardJoin(guardKeys("a", 4), guardKeys("b", 1)), code: 4},
			mention: []string{"max_missing_ratio", "B", "6", "10", "0.5"},
		},
		{
			name:  "max_missing_ratio passes at the limit",
			setup: []guardStep{base},
			run:   guardStep{safety: "{ max_missing_ratio: 0.5 }", a: a10, b: guardJoin(guardKeys("a", 5), guardKeys("b", 1))},
		},
		{
			// B01 and B02 are registered by the base run: only B03–B05 are new.
			name:    "max_new_proposals trips",
			setup:   []guardStep{base},
			run:     guardStep{safety: "{ max_new_proposals: 2 }", a: a10, b: guardJoin(a10, guardKeys("b", 5)), code: 4},
			mention: []string{"max_new_proposals", "3", "2"},
		},
		{
			name:  "max_new_proposals passes at the limit",
			setup: []guardStep{base},
			run:   guardStep{safety: "{ max_new_proposals: 3 }", a: a10, b: guardJoin(a10, guardKeys("b", 5))},
		},
		{
			name:    "guards apply to dry runs",
			setup:   []guardStep{base},
			run:     guardStep{safety: "{ min_rows: 4 }", a: a10, b: b3, args: []string{"--dry-run"}, code: 4},
			mention: []string{"min_rows", "B", "3", "4"},
		},
		{
			name:  "--force runs anyway",
			setup: []guardStep{base},
			// Every guard would trip: 5 of 6 rows accepted, 1 rejected, a
			// 50% drop, 7 of A's 10 keys missing, 2 new proposals.
			run: guardStep{safety: "{ min_rows: 6, max_rejected_ratio: 0.01, max_drop_ratio: 0.01, max_missing_ratio: 0.01, max_new_proposals: 1 }",
				a: a10, b: guardJoin(b3, guardKeys("c", 2)), args: []string{"--force"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.bug != "" {
				t.Skip("BUG: " + tc.bug)
			}
			t.Parallel()
			dir := t.TempDir()
			for i, s := range tc.setup {
				if r := guardRun(t, dir, s); r.code != s.code {
					t.Fatalf("setup run %d: exit %d, want %d; stderr:\n%s", i+1, r.code, s.code, r.stderr)
				}
			}
			snap := takeSnapshot(t, dir)
			r := guardRun(t, dir, tc.run)
			if r.code != tc.run.code {
				t.Fatalf("sync: exit %d, want %d; stderr:\n%s", r.code, tc.run.code, r.stderr)
			}
			db := openRO(t, filepath.Join(dir, "keysync.db"))
			run := snap.lastRun + 1
			if got := queryInt(t, db, `SELECT count(*) FROM runs WHERE run_id > ?`, snap.lastRun); got != 1 {
				t.Fatalf("the sync left %d runs rows, want 1", got)
			}
			var status, mode, errs string
			if err := db.QueryRow(`SELECT status, mode, errors FROM runs WHERE run_id = ?`, run).Scan(&status, &mode, &errs); err != nil {
				t.Fatal(err)
			}
			wantMode := "normal"
			if reflect.DeepEqual(tc.run.args, []string{"--dry-run"}) {
				wantMode = "dry-run"
			}
			if mode != wantMode {
				t.Errorf("run %d has mode %q, want %q", run, mode, wantMode)
			}
			if tc.run.code == 0 {
				if status != "succeeded" || errs != "" {
					t.Errorf("run %d: status %q, errors %q; want succeeded", run, status, errs)
				}
				if got := events(t, db, run); len(got) < 2 || got[0] != "run_started" || got[len(got)-1] != "run_succeeded" {
					t.Errorf("audit events of run %d = %q, want run_started … run_succeeded", run, got)
				}
				if got := queryInt(t, db, `SELECT count(*) FROM run_systems WHERE run_id = ?`, run); got != 2 {
					t.Errorf("run %d has %d run_systems rows, want 2", run, got)
				}
				return
			}

			last := lastLine(r.stderr)
			if !strings.HasPrefix(last, "keysync: ") {
				t.Errorf("last stderr line %q does not start with %q", last, "keysync: ")
			}
			if status != "blocked" {
				t.Errorf("run %d: status %q, want blocked", run, status)
			}
			for _, m := range tc.mention {
				if !guardMentions(errs, m) {
					t.Errorf("errors of run %d %q do not name %q", run, errs, m)
				}
				if !guardMentions(last, m) {
					t.Errorf("last stderr line %q does not name %q", last, m)
				}
			}
			snap.checkOnlyRunLog(t, db, dir, run, "run_blocked", "blocked")
		})
	}
}
