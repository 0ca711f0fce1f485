package app

// Golden-directory end-to-end tests, in the style of sqlc's internal/endtoend.
//
// TestGolden runs every directory under testdata/golden as one case:
//
//	testdata/golden/<case>/
//	  keysync-config.yaml   the config every step uses (database ./keysync.db,
//	                        output_dir ./output: relative, so inside the temp dir)
//	  *.yaml                other configs a step may name with --config
//	  input/                the source files
//	  steps                 keysync command lines, one per line
//	  expected/             what the output directory holds after the last step
//
// The case's *.yaml files and input/ are copied into t.TempDir(). Each line of
// steps (blank lines and lines starting with # are skipped) is one keysync
// command line without the leading "keysync", run in-process through
// New(Env{...}).RunContext. Arguments are split on spaces; "..." and '...'
// quote. `--config <tmp>/keysync-config.yaml` is inserted right after the
// (sub)command, so `registry approve --by alice K` runs as
// `keysync registry approve --config X --by alice K`; a step that names
// `--config NAME` itself gets NAME resolved against the temp dir instead. A
// line may end with ` => N`, the exit code ExitCode must give (default 0).
//
// The clock is fixed: step n (from 1) runs at 2024-06-01T12:00:00Z plus n
// minutes, so created_at and updated_at show which step changed a row.
//
// After the last step, the actual files are: every file under <tmp>/output
// (hidden ones included, so a left-over temporary report is seen; a file in a
// subdirectory, such as a dry run's dry-run/, by its relative path, which
// expected/ mirrors), plus two made by the test:
//
//	stdout.txt  the stdout of every step, concatenated
//	runs.csv    SELECT run_id, status, mode, errors, missing_in_A_count,
//	            missing_from_system_count, duplicate_keys_count,
//	            auto_approval_rate FROM runs ORDER BY run_id, as CSV with a
//	            header; NULL is empty, a REAL is written in Go's shortest form
//	            (1, 0.6)
//
// In every actual file the temp dir's path reads $TMP.
//
// The rule: every file of expected/ must equal the actual file of that name.
// Every file under output/ must be in expected/, except the seven CSV reports,
// which a case may leave out when they are not its point; so a stray file (a
// temporary report, a .json nobody asked for) always fails. stdout.txt and
// runs.csv are compared when expected/ has them.
//
// `go test ./pkg/app -run TestGolden -update` rewrites expected/ on purpose:
// the files it already has, plus any actual file the rule would not let it
// lack; an empty or missing expected/ gets every actual file. Review the diff
// by hand against SPEC.md before committing it.
//
// A case that exposes a product bug keeps its hand-derived expected files and
// is listed in goldenBugs, which skips it naming the bug.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/keysync/keysync/pkg/config"
	"github.com/keysync/keysync/pkg/sqlite"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*/expected from the actual output")

// goldenBugs names the cases skipped because keysync disagrees with SPEC.md,
// with the bug. Their expected/ files hold what the spec says.
var goldenBugs = map[string]string{}

// goldenBase is the fixed clock; step n runs at goldenBase + n minutes.
var goldenBase = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

// goldenReports are the seven CSV reports a case may leave out of expected/.
var goldenReports = []string{
	"reconciliation_summary.csv",
	"diff_missing_in_A.csv",
	"diff_missing_from_system.csv",
	"master_key_registry.csv",
	"audit_log.csv",
	"exceptions.csv",
	"rejected_rows.csv",
}

func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "golden", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no cases under testdata/golden")
	}
	for _, dir := range dirs {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			continue
		}
		t.Run(filepath.Base(dir), func(t *testing.T) {
			// Even under -update: a bug's case keeps what the spec says.
			if bug, ok := goldenBugs[filepath.Base(dir)]; ok {
				t.Skip(bug)
			}
			runGoldenCase(t, dir)
		})
	}
}

// TestGoldenWithHashCollisions runs every golden case again with a degenerate
// key hash, so nearly every key's hash collides with another key's: the
// reports must not change by a byte (collisions take the exact path).
func TestGoldenWithHashCollisions(t *testing.T) {
	if *update {
		t.Skip("-update rewrites expected/ from the real hash only")
	}
	defer sqlite.ForceKeyHashCollisions()()
	dirs, err := filepath.Glob(filepath.Join("testdata", "golden", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range dirs {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			continue
		}
		if _, bug := goldenBugs[filepath.Base(dir)]; bug {
			continue
		}
		t.Run(filepath.Base(dir), func(t *testing.T) { runGoldenCase(t, dir) })
	}
}

func runGoldenCase(t *testing.T, dir string) {
	tmp := t.TempDir()
	copyCase(t, dir, tmp)
	steps := readSteps(t, filepath.Join(dir, "steps"))
	if len(steps) == 0 {
		t.Fatalf("%s/steps: no steps", dir)
	}

	var stdout bytes.Buffer
	for i, st := range steps {
		now := goldenBase.Add(time.Duration(i+1) * time.Minute)
		var out, errb bytes.Buffer
		env := Env{Stdout: &out, Stderr: &errb, Now: func() time.Time { return now }}
		args := withConfig(New(env), st.args, tmp)
		err := Run(t.Context(), env, append([]string{"keysync"}, args...))
		stdout.Write(out.Bytes())
		if got := ExitCode(err); got != st.code {
			t.Fatalf("step %d `%s`: exit code %d, want %d\nerror: %v\nstderr:\n%s",
				i+1, st.line, got, st.code, err, errb.String())
		}
	}

	actual := readTree(t, filepath.Join(tmp, "output"))
	actual["stdout.txt"] = stdout.Bytes()
	actual["runs.csv"] = runsCSV(t, t.Context(), filepath.Join(tmp, "keysync-config.yaml"))
	for name, b := range actual {
		actual[name] = bytes.ReplaceAll(b, []byte(tmp), []byte("$TMP"))
	}

	expDir := filepath.Join(dir, "expected")
	expected := readExpected(t, expDir)
	if *update {
		updateExpected(t, expDir, expected, actual)
		return
	}
	for _, name := range sortedKeys(expected) {
		got, ok := actual[name]
		if !ok {
			t.Errorf("expected/%s: keysync wrote no such file", name)
			continue
		}
		if !bytes.Equal(got, expected[name]) {
			t.Errorf("expected/%s differs from the actual file (- expected, + actual):\n%s",
				name, lineDiff(string(expected[name]), string(got)))
		}
	}
	for _, name := range sortedKeys(actual) {
		if _, ok := expected[name]; !ok && mustExpect(name) {
			t.Errorf("output/%s: not in expected/ (run with -update to add it, then review it)", name)
		}
	}
}

// mustExpect reports whether an actual file must be in expected/: every file
// of the output directory but the seven CSV reports. The two files the test
// makes are compared only when expected/ has them.
func mustExpect(name string) bool {
	return name != "stdout.txt" && name != "runs.csv" && !slices.Contains(goldenReports, path.Base(name))
}

// readTree reads every file under dir (hidden ones included), keyed by its
// slash-separated path relative to dir; a missing dir has no files.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return files
}

func updateExpected(t *testing.T, expDir string, expected, actual map[string][]byte) {
	t.Helper()
	keep := func(name string) bool { return len(expected) == 0 || mustExpect(name) }
	if err := os.MkdirAll(expDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name := range expected {
		if _, ok := actual[name]; !ok {
			if err := os.Remove(filepath.Join(expDir, filepath.FromSlash(name))); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, b := range actual {
		if _, ok := expected[name]; ok || keep(name) {
			p := filepath.Join(expDir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("rewrote %s; review it against SPEC.md", expDir)
}

func readExpected(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	return readTree(t, dir)
}

// copyCase copies the case's configs and input/ into tmp.
func copyCase(t *testing.T, dir, tmp string) {
	t.Helper()
	configs, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(configs, filepath.Join(dir, "keysync-config.yaml")) {
		t.Fatalf("%s: no keysync-config.yaml", dir)
	}
	for _, c := range configs {
		copyFile(t, c, filepath.Join(tmp, filepath.Base(c)))
	}
	err = filepath.WalkDir(filepath.Join(dir, "input"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		copyFile(t, path, filepath.Join(tmp, rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// goldenStep is one line of a case's steps file.
type goldenStep struct {
	line string
	args []string
	code int
}

func readSteps(t *testing.T, path string) []goldenStep {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var steps []goldenStep
	for n, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		st := goldenStep{line: line}
		if i := strings.LastIndex(line, " => "); i >= 0 {
			code, err := strconv.Atoi(strings.TrimSpace(line[i+len(" => "):]))
			if err != nil {
				t.Fatalf("%s:%d: bad exit code in %q", path, n+1, line)
			}
			st.code = code
			line = strings.TrimSpace(line[:i])
		}
		st.args, err = splitArgs(line)
		if err != nil {
			t.Fatalf("%s:%d: %v", path, n+1, err)
		}
		steps = append(steps, st)
	}
	return steps
}

// splitArgs splits a step line on spaces; "..." and '...' quote.
func splitArgs(line string) ([]string, error) {
	var args []string
	var cur strings.Builder
	inArg := false
	var quote rune
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, inArg = r, true
		case r == ' ' || r == '\t':
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteRune(r)
			inArg = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unclosed %c in %q", quote, line)
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args, nil
}

// withConfig puts `--config <tmp>/keysync-config.yaml` after the command
// path of args (`sync`, `registry approve`, ...), or resolves the NAME of a
// `--config NAME` the step gives against tmp.
func withConfig(a *cli.App, args []string, tmp string) []string {
	if i := slices.Index(args, "--config"); i >= 0 && i+1 < len(args) {
		out := slices.Clone(args)
		if !filepath.IsAbs(out[i+1]) {
			out[i+1] = filepath.Join(tmp, out[i+1])
		}
		return out
	}
	n := 0
	for cmds := a.Commands; n < len(args); n++ {
		i := slices.IndexFunc(cmds, func(c *cli.Command) bool { return c.HasName(args[n]) })
		if i < 0 {
			break
		}
		cmds = cmds[i].Subcommands
	}
	out := slices.Clone(args[:n])
	out = append(out, "--config", filepath.Join(tmp, "keysync-config.yaml"))
	return append(out, args[n:]...)
}

// runsCSV renders the runs table of the case's database as CSV.
func runsCSV(t *testing.T, ctx context.Context, configPath string) []byte {
	t.Helper()
	cfg, err := config.Load(configPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cfg.Database); os.IsNotExist(err) {
		return nil
	}
	db, err := sqlite.OpenReadOnly(ctx, cfg.Database)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const q = `SELECT run_id, status, mode, errors, missing_in_A_count, missing_from_system_count,
	                  duplicate_keys_count, auto_approval_rate
	           FROM runs ORDER BY run_id`
	rows, err := db.SQL().QueryContext(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write(cols)
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		rec := make([]string, len(cols))
		for i, v := range vals {
			rec[i] = sqlText(v)
		}
		w.Write(rec)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sqlText is the CSV text of one SQLite value: NULL is empty, a REAL is in
// Go's shortest form.
func sqlText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case []byte:
		return string(v)
	case string:
		return v
	case sql.RawBytes:
		return string(v)
	}
	return fmt.Sprint(v)
}

func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// lineDiff is a small unified-style diff of two texts by lines: a longest
// common subsequence, shown as hunks with two lines of context. Lines are
// quoted when they hold characters a terminal would hide.
func lineDiff(want, got string) string {
	a, b := splitLines(want), splitLines(got)
	// lcs[i][j] is the length of the longest common subsequence of a[i:], b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type op struct {
		kind byte // ' ', '-', '+'
		text string
	}
	var ops []op
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			ops = append(ops, op{' ', a[i]})
			i, j = i+1, j+1
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, op{'-', a[i]})
			i++
		default:
			ops = append(ops, op{'+', b[j]})
			j++
		}
	}
	const context = 2
	var out strings.Builder
	last := -1 // index of the last op printed
	for k, o := range ops {
		if o.kind == ' ' {
			continue
		}
		from := max(k-context, last+1)
		if last >= 0 && from > last+1 || last < 0 && from > 0 {
			out.WriteString("@@\n")
		}
		for ; from <= k; from++ {
			writeDiffLine(&out, ops[from].kind, ops[from].text)
		}
		last = k
		for c := k + 1; c < len(ops) && c <= k+context && ops[c].kind == ' '; c++ {
			writeDiffLine(&out, ' ', ops[c].text)
			last = c
		}
	}
	return out.String()
}

// splitLines splits s after each "\n"; a last line without one is kept.
func splitLines(s string) []string {
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

func writeDiffLine(out *strings.Builder, kind byte, text string) {
	line := strings.TrimSuffix(text, "\n")
	if !strings.HasSuffix(text, "\n") {
		line += " (no newline at end)"
	}
	if strings.ContainsFunc(line, func(r rune) bool { return r < ' ' || r == '\uFFFD' || r == 0x7f }) {
		line = strconv.Quote(line)
	}
	fmt.Fprintf(out, "%c %s\n", kind, line)
}

// TestGoldenTwins holds the real-exports-* cases to their point: the same
// rows written in another encoding, compressed, split over a glob's files
// or without a header give the reports of the plain UTF-8 case, byte for byte.
func TestGoldenTwins(t *testing.T) {
	base := readExpected(t, filepath.Join("testdata", "golden", "real-exports-utf8", "expected"))
	if len(base) == 0 {
		t.Fatal("real-exports-utf8 has no expected files")
	}
	twins, err := filepath.Glob(filepath.Join("testdata", "golden", "real-exports-*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(twins) < 10 {
		t.Errorf("%d real-exports cases, want the plain one and its 9 twins", len(twins))
	}
	for _, dir := range twins {
		got := readExpected(t, filepath.Join(dir, "expected"))
		for _, name := range sortedKeys(base) {
			if !bytes.Equal(got[name], base[name]) {
				t.Errorf("%s/expected/%s differs from real-exports-utf8's", dir, name)
			}
		}
		if len(got) != len(base) {
			t.Errorf("%s/expected has %d files, real-exports-utf8 %d", dir, len(got), len(base))
		}
	}
}
