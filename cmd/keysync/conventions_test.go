package main

// TestConventions drives every row of issue [cli-conventions] ("Behave like
// the CLIs operators already know") through the built binary: the command
// line as an operator types it, the exit code and the message expected.

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// shipped copies the repository's config and inputs into a temp dir, the
// setup a new user starts from.
func shipped(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	copyFile(t, filepath.Join("..", "..", "keysync-config.yaml"), filepath.Join(dir, "keysync-config.yaml"))
	copyTree(t, filepath.Join("..", "..", "input"), filepath.Join(dir, "input"))
	return dir
}

// synced is shipped after one sync.
func synced(t *testing.T) string {
	t.Helper()
	dir := shipped(t)
	mustRun(t, dir, "sync")
	return dir
}

// runIn runs bin in cwd with extra environment variables.
func runIn(t *testing.T, bin, cwd string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = cwd
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("run %s %v: %v", bin, args, err)
	}
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// convCase is one row of the table, or one of its variants.
type convCase struct {
	name  string
	setup func(t *testing.T) string // the working directory; default: an empty one
	// env and args may say $DIR: the directory setup returned. With
	// elsewhere the command runs in another, empty directory.
	env       []string
	args      []string
	elsewhere bool
	code      int
	stdout    []string // substrings of stdout
	stderr    []string // substrings of stderr
	notStderr []string
	check     func(t *testing.T, dir string, r result) // more, after the command
}

func TestConventions(t *testing.T) {
	cases := []convCase{
		// keysync synk, keysync registry lst
		{name: "unknown command", args: []string{"synk"}, code: 2,
			stderr: []string{`keysync: unknown command "synk"; did you mean "sync"?`}},
		{name: "unknown subcommand", args: []string{"registry", "lst"}, code: 2,
			stderr: []string{`unknown command "registry lst"; did you mean "registry list"?`}},
		// keysync --confg keysync-config.yaml runs list: the flag, not its value
		{name: "mistyped value flag before the command", args: []string{"--confg", "keysync-config.yaml", "runs", "list"}, code: 2,
			stderr: []string{"keysync: unknown flag --confg for keysync; did you mean --config?"}},
		// keysync runs list where there is no config
		{name: "no config here", args: []string{"runs", "list"}, elsewhere: true, code: 2,
			stderr: []string{"keysync: no config at ", "keysync-config.yaml: give --config FILE, or set KEYSYNC_CONFIG"}},
		// keysync sync --dryrun
		{name: "unknown flag", setup: shipped, args: []string{"sync", "--dryrun"}, code: 2,
			stderr: []string{"--dryrun", "did you mean --dry-run?"}, notStderr: []string{"run succeeded"}},
		// flags after arguments
		{name: "flag after the key", setup: synced, args: []string{"registry", "approve", "CUST-00347696", "--reason", "x"},
			stdout: []string{"CUST-00347696\tActive"},
			check: func(t *testing.T, dir string, _ result) {
				r := mustRun(t, dir, "audit", "--type", "master_key_approved", "--format", "json")
				var events []struct{ Payload struct{ Reason string } }
				if err := json.Unmarshal([]byte(r.stdout), &events); err != nil || len(events) != 1 ||
					events[0].Payload.Reason != "x" {
					t.Errorf("the approval's event does not hold reason x: %v\n%s", err, r.stdout)
				}
			}},
		{name: "flag after the run id", setup: synced, args: []string{"runs", "show", "1", "--format", "json"},
			stdout: []string{`"run_id": 1`}},
		// --config / --db before or after the command
		{name: "config before the command", setup: synced, elsewhere: true,
			args: []string{"--config", "$DIR/keysync-config.yaml", "runs", "list"}, stdout: []string{"run_id,started_at"}},
		{name: "db before the command", setup: synced, elsewhere: true,
			args: []string{"--db", "$DIR/keysync.db", "runs", "list", "--config", "$DIR/keysync-config.yaml"}, stdout: []string{"run_id,started_at"}},
		{name: "db after the command", setup: synced, elsewhere: true,
			args: []string{"runs", "list", "--db", "$DIR/keysync.db"}, stdout: []string{"run_id,started_at"}},
		// keysync version, --version
		{name: "version command", args: []string{"version"}, stdout: []string{"keysync version ", "revision:", "go:       go1."}},
		{name: "version flag", args: []string{"--version"}, stdout: []string{"keysync version ", "go1."}},
		// completion and man
		{name: "completion bash", args: []string{"completion", "bash"}, stdout: []string{"complete -o bashdefault", "keysync", "--generate-bash-completion"}},
		{name: "completion zsh", args: []string{"completion", "zsh"}, stdout: []string{"#compdef keysync", "compdef _keysync_zsh_autocomplete keysync"}},
		{name: "completion fish", args: []string{"completion", "fish"}, stdout: []string{"complete -c keysync", "registry"}},
		{name: "completion of another shell", args: []string{"completion", "ksh"}, code: 2, stderr: []string{`"ksh" is not bash, zsh or fish`}},
		{name: "completion asks keysync", args: []string{"registry", "--generate-bash-completion"}, stdout: []string{"approve", "deprecate"}},
		{name: "man page", args: []string{"man"}, stdout: []string{".TH keysync 1", ".SH registry", ".SS approve"}},
		// keysync help registry approve
		{name: "help of a subcommand", args: []string{"help", "registry", "approve"},
			stdout: []string{"keysync registry approve - promote Proposed master keys to Active", "--all-proposed"}},
		// KEYSYNC_CONFIG and KEYSYNC_DB: flag > environment > default
		{name: "KEYSYNC_CONFIG", setup: synced, elsewhere: true, env: []string{"KEYSYNC_CONFIG=$DIR/keysync-config.yaml"},
			args: []string{"runs", "list"}, stdout: []string{"run_id,started_at"}},
		{name: "KEYSYNC_DB", setup: synced, elsewhere: true, env: []string{"KEYSYNC_DB=$DIR/keysync.db"},
			args: []string{"runs", "list"}, stdout: []string{"run_id,started_at"}},
		{name: "KEYSYNC_CONFIG over the default", setup: synced, env: []string{"KEYSYNC_CONFIG=/nonexistent/keysync.yaml"},
			args: []string{"runs", "list"}, code: 2, stderr: []string{"/nonexistent/keysync.yaml"}},
		{name: "--config over KEYSYNC_CONFIG", setup: synced, elsewhere: true, env: []string{"KEYSYNC_CONFIG=/nonexistent/keysync.yaml"},
			args: []string{"runs", "list", "--config", "$DIR/keysync-config.yaml"}, stdout: []string{"run_id,started_at"}},
		// ${ENV} in database, output_dir, source path
		{name: "variables in paths", setup: envConfig, env: []string{"KS_TEST_DATA=$DIR/data", "KS_TEST_IN=input"},
			args: []string{"sync"}, stdout: []string{"run_id,system"},
			check: func(t *testing.T, dir string, _ result) {
				for _, f := range []string{"data/keysync.db", "data/reports/reconciliation_summary.csv"} {
					if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
						t.Errorf("${KS_TEST_DATA} was not expanded: %v", err)
					}
				}
			}},
		{name: "unset variable in a path", setup: envConfig, env: []string{"KS_TEST_IN=input"},
			args: []string{"sync"}, code: 2, stderr: []string{"database", "KS_TEST_DATA", "is not set"}},
		// --log-format json: the final error is a JSON record; durations in ms
		{name: "json final error", setup: shippedWithoutB, args: []string{"--log-format", "json", "sync"}, code: 1,
			check: func(t *testing.T, _ string, r result) {
				var rec map[string]any
				if err := json.Unmarshal([]byte(lastLine(r.stderr)), &rec); err != nil {
					t.Fatalf("the last stderr line is not JSON: %v\n%s", err, r.stderr)
				}
				if rec["level"] != "ERROR" || rec["exit_code"] != 1.0 || !strings.Contains(rec["msg"].(string), `"B"`) {
					t.Errorf("final record %v: want level ERROR, exit_code 1 and a msg naming source B", rec)
				}
				for _, l := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
					if !strings.HasPrefix(l, "{") {
						t.Errorf("a stderr line in JSON log mode is not JSON: %q", l)
					}
				}
			}},
		{name: "durations in ms", setup: shipped, args: []string{"--log-format", "json", "sync"},
			stderr: []string{`"msg":"run succeeded"`, `"duration_ms":`}, notStderr: []string{`"duration":`}},
		// sync --summary-format
		{name: "summary in a pipe is csv", setup: shipped, args: []string{"sync"},
			stdout: []string{"run_id,system,role,rows_read,rows_rejected,distinct_keys,duplicate_keys,matched,missing_in_A,missing_from_system", "1,A,authority,347,"}},
		{name: "summary json", setup: shipped, args: []string{"sync", "--summary-format", "json"},
			stdout: []string{`"run_id": 1`, `"mode": "normal"`, `"systems": [`, `"missing_in_A": 9`}},
		{name: "summary table", setup: shipped, args: []string{"sync", "--summary-format", "table"},
			stdout: []string{"(normal)", "missing_from_system"}},
		{name: "summary format refused", setup: shipped, args: []string{"sync", "--summary-format", "xml"}, code: 2,
			stderr: []string{`--summary-format: "xml" is not table, csv or json`}},
		// keys normalized for registry show/approve/deprecate and findings --key
		{name: "registry show a raw key", setup: synced, args: []string{"registry", "show", "cust_311971"},
			stdout: []string{"master_key     CUST-00311971", "source_key     cust_311971"}},
		{name: "registry approve a raw key", setup: synced, args: []string{"registry", "approve", "cust_347696"},
			stdout: []string{"CUST-00347696\tActive"}},
		{name: "registry deprecate a raw key", setup: synced, args: []string{"registry", "deprecate", "cust__347696"},
			stdout: []string{"CUST-00347696\tDeprecated"}},
		{name: "findings of a raw key", setup: synced, args: []string{"findings", "--key", "cust_311971", "--format", "csv"},
			stdout: []string{"1,missing_in_A,B,CUST-00311971,cust_311971,CUST-00311971,Proposed"}},
		{name: "registry show an unknown key", setup: synced, args: []string{"registry", "show", "nope_1"}, code: 2,
			stderr: []string{`"nope_1" (normalized "NOPE-00000001") is not in the registry`}},
		// audit --type of a documented type with no events
		{name: "audit of a type with no events", setup: synced, args: []string{"audit", "--type", "notification_failed"},
			stdout: []string{"event_id,run_id,event_type,payload,created_at"}, notStderr: []string{"is not an event type"}},
		{name: "audit of an unknown type", setup: synced, args: []string{"audit", "--type", "run_exploded"}, code: 2,
			stderr: []string{`"run_exploded" is not an event type`}},
		// changes after suppress add
		{name: "changes lists a suppressed finding", setup: synced,
			args: []string{"suppress", "add", "B", "cust_311971", "--reason", "known"},
			check: func(t *testing.T, dir string, _ result) {
				mustRun(t, dir, "sync")
				out := mustRun(t, dir, "changes", "--format", "csv").stdout
				if !strings.Contains(out, ",suppressed,missing_in_A,B,CUST-00311971,") {
					t.Errorf("changes does not list B's CUST-00311971 as suppressed:\n%s", out)
				}
				if strings.Contains(out, ",resolved,missing_in_A,B,CUST-00311971,") {
					t.Errorf("changes lists the suppressed finding as resolved:\n%s", out)
				}
			}},
		// ... and a pending one pending: with a grace period of a century
		// switched on, every key B lacked in run 1 is held back in run 2.
		{name: "changes lists a pending finding", setup: synced,
			args: []string{"changes", "--format", "csv"}, stdout: []string{",new,missing_from_system,B,"},
			check: func(t *testing.T, dir string, _ result) {
				config := filepath.Join(dir, "keysync-config.yaml")
				b, err := os.ReadFile(config)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(config, append(b, "\ngrace_period: 36500d\n"...), 0o644); err != nil {
					t.Fatal(err)
				}
				mustRun(t, dir, "sync")
				out := mustRun(t, dir, "changes", "--format", "csv").stdout
				if !strings.Contains(out, ",pending,missing_from_system,B,") {
					t.Errorf("changes lists no missing_from_system finding of B as pending:\n%s", out)
				}
				if strings.Contains(out, ",resolved,missing_from_system,") {
					t.Errorf("changes lists a pending finding as resolved:\n%s", out)
				}
			}},
		// keysync kpi in a pipe
		{name: "kpi in a pipe", setup: synced, args: []string{"kpi"}, stdout: []string{"run_id,started_at,status", "1,"}},
		{name: "kpi json", setup: synced, args: []string{"kpi", "--format", "json"},
			stdout: []string{`"runs": [`, `"window": {`, `"run_success_rate": 1`, `"median_duration_ms"`, `"max_duration_ms"`}},
		{name: "kpi summary", setup: synced, args: []string{"kpi", "--summary"}, stdout: []string{"runs,first_run_id,last_run_id,succeeded,failed,blocked,run_success_rate"}},
		// registry show --last
		{name: "registry show --last", setup: threeRuns, args: []string{"registry", "show", "cust_311971", "--last", "1"},
			stdout: []string{"reported missing in A (6 findings)", "5 older findings (--last 0 shows them)"}},
		// go run ./cmd/keysync cron
		{name: "cron from go run", setup: goRunBinary, args: []string{"cron", "--config", "$DIR/keysync-config.yaml"},
			stdout: []string{"0 2 * * *"}, stderr: []string{"temporary file of go run", "go build -o bin/keysync ./cmd/keysync", "./run.sh"}},
		{name: "cron from a kept binary", setup: shipped, args: []string{"cron"},
			stdout: []string{"0 2 * * *"}, notStderr: []string{"temporary"}},
		// suppress add --until in the past
		{name: "suppress until a past date", setup: synced,
			args: []string{"suppress", "add", "B", "cust_311971", "--reason", "x", "--until", "2020-01-01"}, code: 2,
			stderr: []string{"--until: 2020-01-01 is in the past"}},
		{name: "suppress list shows the date as given", setup: synced,
			args: []string{"suppress", "add", "B", "cust_311971", "--reason", "x", "--until", "2099-12-31"},
			check: func(t *testing.T, dir string, _ result) {
				if out := mustRun(t, dir, "suppress", "list", "--format", "csv").stdout; !strings.HasSuffix(strings.TrimSpace(out), ",2099-12-31") {
					t.Errorf("suppress list does not show until 2099-12-31:\n%s", out)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.setup != nil {
				dir = tc.setup(t)
			}
			cwd, bin := dir, binPath
			if tc.elsewhere {
				cwd = t.TempDir()
			}
			if b := filepath.Join(dir, goRunExe); fileExists(b) {
				bin = b
			}
			expand := func(ss []string) []string {
				out := make([]string, len(ss))
				for i, s := range ss {
					out[i] = strings.ReplaceAll(s, "$DIR", dir)
				}
				return out
			}
			r := runIn(t, bin, cwd, expand(tc.env), expand(tc.args)...)
			if r.code != tc.code {
				t.Fatalf("keysync %q: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", tc.args, r.code, tc.code, r.stdout, r.stderr)
			}
			for _, w := range tc.stdout {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout does not hold %q:\n%s", w, r.stdout)
				}
			}
			for _, w := range tc.stderr {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr does not hold %q:\n%s", w, r.stderr)
				}
			}
			for _, w := range tc.notStderr {
				if strings.Contains(r.stderr, w) {
					t.Errorf("stderr holds %q:\n%s", w, r.stderr)
				}
			}
			if tc.check != nil {
				tc.check(t, dir, r)
			}
		})
	}
}

// goRunExe is where go run puts the binary it builds, below a go-build
// temporary directory.
var goRunExe = filepath.Join("go-build1234", "b001", "exe", "keysync")

// goRunBinary is shipped with a copy of the binary where go run would put it.
func goRunBinary(t *testing.T) string {
	t.Helper()
	dir := shipped(t)
	copyFile(t, binPath, filepath.Join(dir, goRunExe))
	if err := os.Chmod(filepath.Join(dir, goRunExe), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// envConfig is shipped with a config whose paths name environment variables.
func envConfig(t *testing.T) string {
	t.Helper()
	dir := shipped(t)
	cfg := "database: ${KS_TEST_DATA}/keysync.db\noutput_dir: ${KS_TEST_DATA}/reports\nsources:\n" +
		"  A: { type: csv, path: \"./${KS_TEST_IN}/A.csv\" }\n  B: { type: csv, path: \"./${KS_TEST_IN}/B.csv\" }\n"
	writeFile(t, dir, "keysync-config.yaml", cfg)
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// shippedWithoutB is shipped with B's export gone: the run fails.
func shippedWithoutB(t *testing.T) string {
	t.Helper()
	dir := shipped(t)
	if err := os.Remove(filepath.Join(dir, "input", "B.csv")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// threeRuns is synced three times: B reports its keys missing in A each time.
func threeRuns(t *testing.T) string {
	t.Helper()
	dir := synced(t)
	mustRun(t, dir, "sync")
	mustRun(t, dir, "sync")
	return dir
}
