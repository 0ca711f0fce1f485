package app

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// opsValues is a query with every kind of value, in an order SQLite keeps.
const opsValues = `SELECT 1 AS n, NULL AS none, 2.5 AS real, 'a,"b"' AS text, x'00ff' AS blob, 1e21 AS big, 'tab	here' AS tab
UNION ALL SELECT 22, 'x', 1.0, '', 'c', 0.000001, NULL`

func TestSQLFormats(t *testing.T) {
	o := newSyncedCase(t)

	opsWant(t, "csv", o.ok("sql", "--format", "csv", opsValues),
		"n,none,real,text,blob,big,tab\n"+
			"1,,2.5,\"a,\"\"b\"\"\",x'00ff',1e+21,tab\there\n"+
			"22,x,1,,c,0.000001,\n")

	opsWant(t, "json", o.ok("sql", "--format", "json", opsValues), `[
  {"n": 1, "none": null, "real": 2.5, "text": "a,\"b\"", "blob": "x'00ff'", "big": 1e+21, "tab": "tab\there"},
  {"n": 22, "none": "x", "real": 1, "text": "", "blob": "c", "big": 0.000001, "tab": null}
]
`)
	var rows []map[string]any
	if err := json.Unmarshal([]byte(o.ok("sql", "--format", "json", opsValues)), &rows); err != nil {
		t.Errorf("json output does not parse: %v", err)
	}

	opsWant(t, "table", o.ok("sql", "--format", "table", opsValues),
		"n   none  real  text   blob     big       tab\n"+
			"1         2.5   a,\"b\"  x'00ff'  1e+21     tab\\there\n"+
			"22  x     1            c        0.000001\n")

	// Not a terminal: csv by default. Column names are the query's.
	opsWant(t, "default format", o.ok("sql", "SELECT run_id AS id, status FROM runs"), "id,status\n1,succeeded\n")

	// An empty result still has its header.
	opsWant(t, "empty csv", o.ok("sql", "SELECT master_key FROM master_key_registry WHERE 0"), "master_key\n")
	opsWant(t, "empty json", o.ok("sql", "--format", "json", "SELECT master_key FROM master_key_registry WHERE 0"), "[]\n")
	opsWant(t, "empty table", o.ok("sql", "--format", "table", "SELECT master_key FROM master_key_registry WHERE 0"), "master_key\n")

	// Reads of every kind are accepted.
	for _, q := range []string{
		"WITH x AS (SELECT 1 AS one) SELECT * FROM x",
		"VALUES (1)",
		"EXPLAIN QUERY PLAN SELECT * FROM findings WHERE run_id = 1",
		"PRAGMA table_info(findings)",
		"PRAGMA user_version",
		"SELECT name FROM pragma_table_info('runs')",
		"  -- the registry\n  SELECT COUNT(*) FROM master_key_registry;  ",
	} {
		if r := o.run("sql", q); r.code != 0 || r.stdout == "" {
			t.Errorf("sql %q: exit %d (%v)", q, r.code, r.err)
		}
	}

	// --db alone finds the database; no config is read.
	r := o.raw("sql", "--config", o.path("missing.yaml"), "--db", o.db(), "SELECT COUNT(*) AS n FROM runs")
	if r.code != 0 || r.stdout != "n\n1\n" {
		t.Errorf("sql --db: exit %d (%v), stdout %q", r.code, r.err, r.stdout)
	}
}

// opsFingerprint is the SHA-256 of the database file and of its WAL, and the
// names of the files beside it: what a write, or an ATTACH, would change.
func opsFingerprint(t *testing.T, o *opsCase) string {
	t.Helper()
	h := sha256.New()
	for _, p := range []string{o.db(), o.db() + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		h.Write(b)
	}
	names, err := filepath.Glob(o.path("*"))
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, n := range names {
		if !strings.HasSuffix(n, "-shm") { // SQLite's shared-memory index, rebuilt by any reader
			kept = append(kept, filepath.Base(n))
		}
	}
	return fmt.Sprintf("%x %q", h.Sum(nil), kept)
}

func TestSQLRefusesWrites(t *testing.T) {
	o := newSyncedCase(t)
	counts := `SELECT (SELECT COUNT(*) FROM runs) || '/' || (SELECT COUNT(*) FROM findings) || '/' ||
		(SELECT COUNT(*) FROM master_key_registry) || '/' || (SELECT COUNT(*) FROM audit_log) || '/' ||
		(SELECT group_concat(status) FROM master_key_registry) || '/' ||
		(SELECT user_version FROM pragma_user_version)`
	before := o.query(counts)
	print := opsFingerprint(t, o)

	for _, tc := range []struct {
		stmt, names string
	}{
		{"DELETE FROM findings", "DELETE"},
		{"delete from findings where run_id = 1", "DELETE"},
		{"INSERT INTO audit_log (event_type, payload, created_at) VALUES ('x', '{}', 'now')", "INSERT"},
		{"UPDATE master_key_registry SET status = 'Active'", "UPDATE"},
		{"REPLACE INTO master_key_registry SELECT * FROM master_key_registry", "REPLACE"},
		{"DROP TABLE runs", "DROP"},
		{"DROP VIEW IF EXISTS v_latest_run_summary", "DROP"},
		{"CREATE TABLE t (x)", "CREATE"},
		{"CREATE TEMP TABLE t (x)", "CREATE"},
		{"CREATE INDEX i ON findings (master_key)", "CREATE"},
		{"ALTER TABLE runs ADD COLUMN x", "ALTER"},
		{"ATTACH '" + o.path("other.db") + "' AS other", "ATTACH"},
		{"VACUUM", "VACUUM"},
		{"VACUUM INTO '" + o.path("copy.db") + "'", "VACUUM"},
		{"REINDEX", "REINDEX"},
		{"ANALYZE", "ANALYZE"},
		{"BEGIN IMMEDIATE", "BEGIN"},
		{"PRAGMA user_version = 42", "PRAGMA user_version"},
		{"PRAGMA journal_mode = DELETE", "PRAGMA journal_mode"},
		{"PRAGMA query_only = 0", "PRAGMA query_only"},
		{"PRAGMA query_only(false)", "PRAGMA query_only"},
		{"SELECT 1; DELETE FROM findings", "SELECT; DELETE"},
		{"PRAGMA query_only = 0; DELETE FROM findings", "PRAGMA; DELETE"},
		{"SELECT 1 /* ; */ ; ATTACH 'x.db' AS x", "SELECT; ATTACH"},
		{"WITH doomed AS (SELECT 1) DELETE FROM findings", "WITH"},
		{"WITH n AS (SELECT 2) UPDATE master_key_registry SET status = 'Deprecated'", "WITH"},
	} {
		r := o.run("sql", tc.stmt)
		opsFails(t, "sql "+tc.stmt, r, ExitUsage, "sql: "+tc.names+" refused", "read-only")
	}
	opsWant(t, "counts after refused writes", o.query(counts), before)
	if got := opsFingerprint(t, o); got != print {
		t.Errorf("the database or its directory changed under refused writes:\n got %s\nwant %s", got, print)
	}
}

func TestSQLErrors(t *testing.T) {
	o := newSyncedCase(t)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"syntax error", []string{"SELEC 1"}, ExitUsage, []string{"sql: ", "syntax error"}},
		{"unknown table", []string{"SELECT * FROM nosuch"}, ExitUsage, []string{"no such table: nosuch"}},
		{"unknown column", []string{"SELECT nosuch FROM runs"}, ExitUsage, []string{"no such column: nosuch"}},
		{"empty statement", []string{"  "}, ExitUsage, []string{"no SQL statement"}},
		{"only a comment", []string{"/* nothing */"}, ExitUsage, []string{"no SQL statement"}},
		{"no statement", nil, ExitUsage, []string{"one SQL statement"}},
		{"two arguments", []string{"SELECT", "1"}, ExitUsage, []string{"one SQL statement", "quote"}},
		{"bad format", []string{"--format", "xml", "SELECT 1"}, ExitUsage, []string{`"xml"`}},
	} {
		opsFails(t, tc.name, o.run("sql", tc.args...), tc.code, tc.want...)
	}

	// A run holding the lock does not stop a reader.
	o.holdLock()
	if r := o.run("sql", "SELECT COUNT(*) FROM runs"); r.code != 0 {
		t.Errorf("sql while the run lock is held: exit %d (%v)", r.code, r.err)
	}
}

func TestSQLEmptyAndMissingDatabase(t *testing.T) {
	o := newOpsCase(t)
	opsFails(t, "no database", o.run("sql", "SELECT * FROM runs"), ExitUsage, "no database", "keysync sync")
	if _, err := os.Stat(o.db()); !os.IsNotExist(err) {
		t.Errorf("sql created the database it did not find: %v", err)
	}

	o.ok("db init")
	opsWant(t, "runs of an empty database", o.ok("sql", "SELECT run_id, status FROM runs"), "run_id,status\n")
	opsWant(t, "json", o.ok("sql", "--format", "json", "SELECT * FROM master_key_registry"), "[]\n")

	// A file that is not yet a keysync database (zero bytes) has no tables.
	o.write("blank.db", "")
	r := o.raw("sql", "--db", o.path("blank.db"), "SELECT * FROM runs")
	opsFails(t, "blank file", r, ExitUsage, "no such table: runs")
	if b, err := os.ReadFile(o.path("blank.db")); err != nil || len(b) != 0 {
		t.Errorf("sql wrote to a blank file: %d bytes, %v", len(b), err)
	}
}

// TestSQLKeyPresence: v_key_presence answers through keysync sql once a run
// has staged; before, the error says where the view lives.
func TestSQLKeyPresence(t *testing.T) {
	o := newOpsCase(t)
	o.ok("db init")
	opsFails(t, "v_key_presence before any run", o.run("sql", "SELECT COUNT(*) FROM v_key_presence"),
		ExitUsage, "no such table: v_key_presence", "staging files")
	o.ok("sync")
	r := o.run("sql", "--format", "csv", "SELECT COUNT(*) > 0 AS some FROM v_key_presence")
	if r.code != 0 || !strings.Contains(r.stdout, "some\n1\n") {
		t.Errorf("v_key_presence after a sync: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}
