package app

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keysync/keysync/internal/dbtest"
)

// twinRow is one peer row, written both to a CSV file and to a database
// table. "" is an empty CSV field and NULL in the table.
type twinRow struct {
	region, id, kind, where, seen string // seen in RFC 3339, or ""
	system                        string
}

// twinRows hold duplicates after normalization, a system mismatch, an
// empty key and rows matching the authority.
var twinRows = []twinRow{
	{"eu", "1", "Invoice", "WH-1", "2024-01-02T03:04:05Z", ""},
	{"EU", "11", "", "", "", ""},
	{"eu", "2", "Order", "WH-2", "2024-02-03T00:00:00Z", "B"},
	{"us", "3", "", "", "", "C"},
	{" ", "", "", "", "", ""},
	{"eu", "1", "Invoice", "WH-9", "2024-05-06T07:08:09Z", ""},
	{"us", "7", "Credit", "", "2023-12-31T23:59:59Z", ""},
}

// TestDBSourcesMatchCSVTwin runs sync twice over the same rows: once with
// peers B and C as CSV files, once with B in PostgreSQL and C in MariaDB.
// Every report must be byte-identical, and no password may show anywhere.
// keysync connects as the read-only user the README's GRANT examples create.
func TestDBSourcesMatchCSVTwin(t *testing.T) {
	pg, my := dbtest.Postgres(t), dbtest.MariaDB(t)
	const pw = "Twin-Secret-42"
	t.Setenv("KS_B_PASSWORD", pw)
	t.Setenv("KS_C_PASSWORD", pw)

	for _, srv := range []*dbtest.Server{pg, my} {
		srv.Exec(t, "CREATE DATABASE erp")
		erp := srv.Open(t, "erp")
		// The least-privilege user exactly as the README creates it.
		ts, table, grants := "timestamptz", "items", readmeGrants(t, "-- PostgreSQL")
		if srv.Kind == "mariadb" {
			ts, table, grants = "datetime", "stock", readmeGrants(t, "-- MySQL")
		}
		var user []string
		for _, g := range grants {
			user = append(user, strings.ReplaceAll(g, "choose-one", pw))
		}
		stmts := append([]string{fmt.Sprintf(`CREATE TABLE %s (n int PRIMARY KEY, region varchar(5), id int,
			kind varchar(20), location varchar(20), seen %s, system varchar(5))`, table, ts)}, user...)
		for _, q := range stmts {
			if _, err := erp.ExecContext(t.Context(), q); err != nil {
				t.Fatalf("%s: %s: %v", srv.Kind, q, err)
			}
		}
		insert := "INSERT INTO " + table + " VALUES ($1, $2, $3, $4, $5, $6, $7)"
		if srv.Kind == "mariadb" {
			insert = "INSERT INTO " + table + " VALUES (?, ?, ?, ?, ?, ?, ?)"
		}
		for i, r := range twinRows {
			var seen any
			if r.seen != "" {
				tm, err := time.Parse(time.RFC3339, r.seen)
				if err != nil {
					t.Fatal(err)
				}
				seen = tm
			}
			var id any
			if r.id != "" {
				n, err := strconv.Atoi(r.id)
				if err != nil {
					t.Fatal(err)
				}
				id = n
			}
			if _, err := erp.ExecContext(t.Context(), insert, i+1, null(r.region), id, null(r.kind),
				null(r.where), seen, null(r.system)); err != nil {
				t.Fatalf("%s: insert row %d: %v", srv.Kind, i+1, err)
			}
		}
	}

	var peer bytes.Buffer
	w := csv.NewWriter(&peer)
	w.Write([]string{"region", "id", "entity_type", "location_ref", "last_seen_at", "source_system"})
	for _, r := range twinRows {
		w.Write([]string{r.region, r.id, r.kind, r.where, r.seen, r.system})
	}
	w.Flush()
	authority := "source_key\nEU-1\nEU-2\nUS-5\n"
	const query = "SELECT region, id, kind, location, seen, system FROM %s ORDER BY n"
	const cols = "{ source_key: [region, id], entity_type: kind, location_ref: location, last_seen_at: seen, source_system: system }"
	csvCols := "{ source_key: [region, id] }"

	run := func(name, sources string, files map[string]string) (map[string][]byte, string) {
		dir := filepath.Join(t.TempDir(), name)
		files["keysync-config.yaml"] = "database: ./keysync.db\noutput_dir: ./output\nsources:\n" + sources
		files["input/A.csv"] = authority
		for f, text := range files {
			p := filepath.Join(dir, filepath.FromSlash(f))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		var out, errb bytes.Buffer
		now := goldenBase
		app := New(Env{Stdout: &out, Stderr: &errb, Now: func() time.Time { return now }})
		err := app.RunContext(t.Context(), []string{"keysync", "sync", "--config", filepath.Join(dir, "keysync-config.yaml")})
		if err != nil {
			t.Fatalf("%s: sync: %v\nstderr:\n%s", name, err, errb.String())
		}
		runs := runsCSV(t, t.Context(), filepath.Join(dir, "keysync-config.yaml"))
		var show bytes.Buffer
		app = New(Env{Stdout: &show, Stderr: &errb, Now: func() time.Time { return now }})
		if err := app.RunContext(t.Context(), []string{"keysync", "runs", "show", "--config", filepath.Join(dir, "keysync-config.yaml"), "1"}); err != nil {
			t.Fatalf("%s: runs show: %v", name, err)
		}
		reports := readTree(t, filepath.Join(dir, "output"))
		reports["runs.csv"] = runs
		return reports, out.String() + errb.String() + show.String()
	}

	csvReports, _ := run("csv", fmt.Sprintf("  A: { path: ./input/A.csv }\n  B: { path: ./input/B.csv, columns: %s }\n  C: { path: ./input/C.csv, columns: %s }\n",
		csvCols, csvCols), map[string]string{"input/B.csv": peer.String(), "input/C.csv": peer.String()})
	dbReports, text := run("db", fmt.Sprintf(`  A: { path: ./input/A.csv }
  B:
    type: postgres
    dsn: "postgres://keysync:${KS_B_PASSWORD}@127.0.0.1:%d/erp?sslmode=disable"
    query: %s
    columns: %s
  C:
    type: mysql
    dsn: "keysync:${KS_C_PASSWORD}@tcp(127.0.0.1:%d)/erp"
    query: %s
    columns: %s
`, pg.Port, fmt.Sprintf(query, "items"), cols, my.Port, fmt.Sprintf(query, "stock"), cols), map[string]string{})

	for _, name := range append(goldenReports, "runs.csv") {
		got, want := dbReports[name], csvReports[name]
		if len(want) == 0 {
			t.Errorf("%s: the CSV run wrote nothing", name)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs between the CSV run and the database run (- csv, + db):\n%s", name, lineDiff(string(want), string(got)))
		}
	}
	if strings.Contains(text, pw) {
		t.Errorf("the password shows in the output:\n%s", text)
	}
	if !strings.Contains(text, "keysync:REDACTED@127.0.0.1") || !strings.Contains(text, "keysync:REDACTED@tcp(127.0.0.1") {
		t.Errorf("runs show does not name the databases' redacted DSNs:\n%s", text)
	}
	rej := string(dbReports["rejected_rows.csv"])
	if !strings.Contains(rej, "system_mismatch") || !strings.Contains(rej, "empty_key") {
		t.Errorf("rejected_rows.csv lacks the twin rows' rejections:\n%s", rej)
	}
}

// readmeGrants returns the statements of the README's ```sql block that
// starts with prefix: how it tells an operator to create keysync's user.
func readmeGrants(t *testing.T, prefix string) []string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, block := range sqlBlocks(string(b)) {
		if strings.HasPrefix(block, prefix) {
			return sqlStatements(block)
		}
	}
	t.Fatalf("README.md has no ```sql block starting %q", prefix)
	return nil
}

func null(s string) any {
	if s == "" {
		return nil
	}
	return s
}
