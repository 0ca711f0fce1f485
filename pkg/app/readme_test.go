package app

// TestREADMEQueries keeps the README's database section honest: every ```sql
// block in it runs, statement by statement, on a database that a real sync
// of the shipped example produced, opened read-only as the sqlite3 shell of
// an operator would; and every table and view of the schema is documented
// there.

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/keysync/keysync/pkg/sqlite"
)

// readmeSection is the text of README.md's "## <title>" section, up to the
// next "## " heading.
func readmeSection(t *testing.T, readme, title string) string {
	t.Helper()
	start := strings.Index(readme, "\n## "+title+"\n")
	if start < 0 {
		t.Fatalf("README.md has no %q section", "## "+title)
	}
	rest := readme[start+1:]
	if end := strings.Index(rest[3:], "\n## "); end >= 0 {
		rest = rest[:end+3]
	}
	return rest
}

// sqlBlocks are the bodies of the ```sql fenced blocks of text.
func sqlBlocks(text string) []string {
	re := regexp.MustCompile("(?ms)^```sql\\s*\\n(.*?)^```")
	var out []string
	for _, m := range re.FindAllStringSubmatch(text, -1) {
		out = append(out, m[1])
	}
	return out
}

// sqlStatements splits a block of SQL as the sqlite3 shell would: at each
// semicolon outside quotes and comments. Lines starting with "." are shell
// commands and are dropped; a statement made only of comments is no statement.
func sqlStatements(block string) []string {
	var lines []string
	for _, l := range strings.Split(block, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), ".") {
			lines = append(lines, l)
		}
	}
	text := strings.Join(lines, "\n")
	var out []string
	start, code := 0, false
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c == '\'' || c == '"' || c == '`':
			code = true
			for i++; i < len(text) && text[i] != c; i++ {
			}
		case c == '-' && strings.HasPrefix(text[i:], "--"):
			for i < len(text) && text[i] != '\n' {
				i++
			}
		case c == '/' && strings.HasPrefix(text[i:], "/*"):
			if j := strings.Index(text[i+2:], "*/"); j >= 0 {
				i += j + 3
			} else {
				i = len(text)
			}
		case c == ';':
			if code {
				out = append(out, strings.TrimSpace(text[start:i+1]))
			}
			start, code = i+1, false
		case c != ' ' && c != '\t' && c != '\n' && c != '\r':
			code = true
		}
	}
	if code {
		out = append(out, strings.TrimSpace(text[start:]))
	}
	return out
}

func TestSQLStatements(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"SELECT 1;", []string{"SELECT 1;"}},
		{"-- a comment\nSELECT 1;\n\n-- another\nSELECT 2\nFROM t;\n", []string{"-- a comment\nSELECT 1;", "-- another\nSELECT 2\nFROM t;"}},
		{"SELECT ';' AS x; SELECT \"a;b\" FROM t;", []string{"SELECT ';' AS x;", `SELECT "a;b" FROM t;`}},
		{"SELECT 1 -- not; the end\n;", []string{"SELECT 1 -- not; the end\n;"}},
		{"/* a; b */ SELECT 1;", []string{"/* a; b */ SELECT 1;"}},
		{".headers on\n.mode column\nSELECT 1;", []string{"SELECT 1;"}},
		{"-- only a comment; here\n", nil},
		{"SELECT 1", []string{"SELECT 1"}},
	} {
		if got := sqlStatements(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("sqlStatements(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// syncShippedExample copies the repository's config and example inputs into
// a temp dir and syncs them in-process: a normal run, an approval, a dry run.
// It returns the database path.
func syncShippedExample(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	root := filepath.Join("..", "..")
	copyTo := func(from, to string) {
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
	copyTo(filepath.Join(root, "keysync-config.yaml"), filepath.Join(dir, "keysync-config.yaml"))
	inputs, err := filepath.Glob(filepath.Join(root, "input", "*"))
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no example inputs under %s/input (%v)", root, err)
	}
	for _, in := range inputs {
		copyTo(in, filepath.Join(dir, "input", filepath.Base(in)))
	}
	cfg := filepath.Join(dir, "keysync-config.yaml")
	run := func(day int, words []string, args ...string) histResult {
		t.Helper()
		r := histRun(t, histDay(day), words, cfg, args...)
		if r.code != 0 {
			t.Fatalf("%v %v: exit %d: %v\n%s", words, args, r.code, r.err, r.stderr)
		}
		return r
	}
	run(1, []string{"sync"})
	// Approve one proposal, so the registry and the audit log hold an
	// operator's change and other proposals stay open.
	_, proposed := histCSV(t, run(2, []string{"registry", "list"}, "--status", "Proposed", "--format", "csv").stdout)
	if len(proposed) < 2 {
		t.Fatalf("the shipped example proposes %d master keys; the views need some", len(proposed))
	}
	run(2, []string{"registry", "approve"}, "--by", "readme-test", proposed[0]["master_key"])
	run(3, []string{"sync"})
	run(4, []string{"sync"}, "--dry-run")
	return filepath.Join(dir, "keysync.db")
}

func TestREADMEQueries(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	section := readmeSection(t, string(b), "The database")
	var stmts []string
	for _, block := range sqlBlocks(section) {
		stmts = append(stmts, sqlStatements(block)...)
	}
	if len(stmts) < 10 {
		t.Fatalf("the database section has %d SQL statements; expected the documented examples (10 or more)", len(stmts))
	}

	ctx := context.Background()
	db, err := sqlite.OpenReadOnly(ctx, syncShippedExample(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// As `keysync sql` does: v_key_presence is in the staging file.
	if ok, err := db.AttachStagingReadOnly(ctx); err != nil || !ok {
		t.Fatalf("attach the staging file: %v, %v", ok, err)
	}
	for _, stmt := range stmts {
		rows, err := db.SQL().QueryContext(ctx, stmt)
		if err != nil {
			t.Errorf("README query fails: %v\n%s", err, stmt)
			continue
		}
		for rows.Next() {
		}
		if err := rows.Err(); err != nil {
			t.Errorf("README query fails: %v\n%s", err, stmt)
		}
		rows.Close()
	}

	// Every table and view is documented in the section, and every view is
	// queried by an example and has rows on the example's database. The
	// staging tables are the latest run's scratch space, documented as a
	// group.
	rows, err := db.SQL().QueryContext(ctx, `
		SELECT DISTINCT type, name FROM (SELECT type, name FROM main.sqlite_master
		                                 UNION ALL SELECT type, name FROM staging_0.sqlite_master)
		WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' AND name <> 'goose_db_version'
		ORDER BY type, name`)
	if err != nil {
		t.Fatal(err)
	}
	var views []string
	for rows.Next() {
		var typ, name string
		if err := rows.Scan(&typ, &name); err != nil {
			t.Fatal(err)
		}
		if typ == "view" {
			views = append(views, name)
		}
		if !strings.HasPrefix(name, "staging_") && !strings.Contains(section, "`"+name+"`") {
			t.Errorf("%s %s is not documented in README.md's database section", typ, name)
		}
	}
	rows.Close()
	if len(views) < 4 {
		t.Errorf("views %v: want at least v_latest_run_summary, v_open_proposals, v_key_presence, v_finding_age", views)
	}
	for _, v := range views {
		if !slices.ContainsFunc(stmts, func(s string) bool { return strings.Contains(s, v) }) {
			t.Errorf("no README example queries %s", v)
		}
		var n int
		if err := db.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM "+v).Scan(&n); err != nil || n == 0 {
			t.Errorf("%s on the shipped example: %d rows (%v), want some", v, n, err)
		}
	}
}
