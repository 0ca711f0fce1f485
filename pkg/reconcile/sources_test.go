package reconcile_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keysync/keysync/pkg/config"
	"github.com/keysync/keysync/pkg/reconcile"
	"github.com/keysync/keysync/pkg/sqlite"
)

// The secrets of system C's API, taken from the environment by the config.
const (
	cToken = "tok-5e1f2a3b4c5d6e7f"
	cKey   = "key-a1b2c3d4e5"
)

// reports are the seven CSV artifacts of SPEC §7.
var reports = []string{
	"reconciliation_summary.csv", "diff_missing_in_A.csv", "diff_missing_from_system.csv",
	"master_key_registry.csv", "audit_log.csv", "exceptions.csv", "rejected_rows.csv",
}

// The same data for every system, once as CSV and once in the source type
// the mixed config reads it through. Each shows matched keys, keys missing
// both ways, a duplicate and rejections, so equal reports mean something.
const (
	aCSV = "source_key,entity_type,location_ref,last_seen_at\n" +
		"INV-001,Invoice,WH-1,2024-05-01\n" +
		"INV-002,Invoice,WH-1,2024-05-02 10:00:00\n" +
		"inv_002,Invoice,WH-2,2024-05-03\n" +
		"INV-003,Invoice,WH-1,\n" +
		"EU-42,Order,WH-3,\n" +
		"US-7,Order,WH-3,\n" +
		"ORD-9,Order,WH-4,2024-05-04T10:00:00+02:00\n"

	bCSV = "source_key,source_system,entity_type,location_ref,last_seen_at\n" +
		"INV-001,B,Invoice,B-1,2024-05-01\n" +
		"new b1,,Invoice,B-2,\n" +
		"NEW-B1,,Invoice,B-3,\n" +
		"INV-004,,Invoice,,2024-02-30\n" +
		"INV-005,X,Invoice,,\n" +
		"12345,,true,,\n"
	bJSON = `{"meta":{"exported":"2024-06-01"},"data":{"items":[
		{"id":"INV-001","sys":"B","meta":{"kind":"Invoice","bin":"B-1"},"seen":"2024-05-01"},
		{"id":"new b1","meta":{"kind":"Invoice","bin":"B-2"}},
		{"id":"NEW-B1","sys":null,"meta":{"kind":"Invoice","bin":"B-3"}},
		{"id":"INV-004","meta":{"kind":"Invoice"},"seen":"2024-02-30"},
		{"id":"INV-005","sys":"X","meta":{"kind":"Invoice"}},
		{"id":12345,"meta":{"kind":true}}
	]}}`

	cCSV = "source_key,entity_type\n" +
		"INV-001,Invoice\n" +
		"INV-003,Invoice\n" +
		"NEW-B1,Invoice\n" +
		"--,Invoice\n" +
		"NEW-C1,Invoice\n"
	cPage1 = `{"items":[{"key":"INV-001","type":"Invoice"},{"key":"INV-003","type":"Invoice"}],"links":{"next":"/c/items?api_key=%s&after=2"}}`
	cPage2 = `{"links":{"next":null},"items":[{"key":"NEW-B1","type":"Invoice"},{"key":"--","type":"Invoice"},{"key":"NEW-C1","type":"Invoice"}]}`

	dCSV = "source_key,entity_type,last_seen_at\n" +
		"eu-42,Order,2024-05-01\n" +
		"us-7,Order,\n" +
		"ap-1,Order,2024-05-02 08:30:00\n" +
		"ap-1,Order,\n"
)

// cAPI serves system C's two pages, and only to a request with the token
// header and the key parameter. It counts requests; fail makes it answer 500.
type cAPI struct {
	*httptest.Server
	requests atomic.Int64
	fail     atomic.Bool
}

func newCAPI(t *testing.T) *cAPI {
	t.Helper()
	a := &cAPI{}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.requests.Add(1)
		if r.Header.Get("Authorization") != "Bearer "+cToken || r.URL.Query().Get("api_key") != cKey {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if a.fail.Load() {
			http.Error(w, "database on fire; your token is "+cToken, http.StatusInternalServerError)
			return
		}
		switch r.URL.Query().Get("after") {
		case "":
			fmt.Fprintf(w, cPage1, cKey)
		case "2":
			fmt.Fprint(w, cPage2)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(a.Close)
	return a
}

// writeInputs writes the CSV twins and the JSON and SQLite inputs into dir.
func writeInputs(t *testing.T, dir string) {
	t.Helper()
	for name, content := range map[string]string{
		"A.csv": aCSV, "B.csv": bCSV, "C.csv": cCSV, "D.csv": dCSV, "B.json": bJSON,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, "D.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range []string{
		`CREATE TABLE items (id INTEGER PRIMARY KEY, region TEXT, num INTEGER, kind TEXT, seen DATETIME)`,
		`INSERT INTO items (region, num, kind, seen) VALUES
		   ('eu', 42, 'Order', '2024-05-01'), ('us', 7, 'Order', NULL),
		   ('ap', 1, 'Order', '2024-05-02 08:30:00'), ('ap', 1, 'Order', NULL)`,
	} {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
}

const csvConfig = `
database: ./csv.db
output_dir: ./out-csv
sources:
  A: { path: A.csv }
  B: { path: B.csv }
  C: { path: C.csv }
  D: { path: D.csv }
`

// mixedConfig reads B as a JSON file, C from the API at %s and D from a
// SQLite database with a composite key.
const mixedConfig = `
database: ./mixed.db
output_dir: ./out-mixed
sources:
  A: { type: csv, path: A.csv }
  B:
    type: json
    path: B.json
    items: data.items
    fields: { source_key: id, source_system: sys, entity_type: meta.kind, location_ref: meta.bin, last_seen_at: seen }
  C:
    type: http
    url: "%s/c/items?api_key=${KEYSYNC_TEST_C_KEY}"
    headers: { Authorization: "Bearer ${KEYSYNC_TEST_C_TOKEN}" }
    items: items
    next: links.next
    fields: { source_key: key, entity_type: type }
    retries: 2
    backoff: 1ms
  D:
    type: sqlite
    path: D.db
    query: SELECT region, num, kind AS entity_type, seen AS last_seen_at FROM items ORDER BY id
    columns: { source_key: [region, num] }
`

var clock = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

// run loads the config file name in dir and runs it once against its
// database, with the clock fixed and the log captured.
func run(t *testing.T, dir, name string, log *bytes.Buffer) (reconcile.Result, *sqlite.DB, error) {
	t.Helper()
	cfg, err := config.Load(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	db, _, err := sqlite.Create(context.Background(), cfg.Database)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.Now = func() time.Time { return clock }
	res, err := reconcile.Run(context.Background(), cfg, db, false, slog.New(slog.NewTextHandler(log, nil)))
	return res, db, err
}

func setup(t *testing.T) (string, *cAPI) {
	t.Helper()
	t.Setenv("KEYSYNC_TEST_C_TOKEN", cToken)
	t.Setenv("KEYSYNC_TEST_C_KEY", cKey)
	dir := t.TempDir()
	api := newCAPI(t)
	writeInputs(t, dir)
	for name, content := range map[string]string{
		"csv.yaml":   csvConfig,
		"mixed.yaml": fmt.Sprintf(mixedConfig, api.URL),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, api
}

// TestMixedSourcesMatchCSV: a config mixing CSV, JSON, HTTP and SQLite
// sources gives the same reports as the same data given as CSV files.
func TestMixedSourcesMatchCSV(t *testing.T) {
	dir, api := setup(t)
	var csvLog, mixedLog bytes.Buffer
	if _, _, err := run(t, dir, "csv.yaml", &csvLog); err != nil {
		t.Fatalf("CSV run: %v\n%s", err, csvLog.String())
	}
	_, db, err := run(t, dir, "mixed.yaml", &mixedLog)
	if err != nil {
		t.Fatalf("mixed run: %v\n%s", err, mixedLog.String())
	}
	if got := api.requests.Load(); got != 2 {
		t.Errorf("the API got %d requests, want its 2 pages", got)
	}
	for _, name := range reports {
		want, err := os.ReadFile(filepath.Join(dir, "out-csv", name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, "out-mixed", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs:\n--- from CSV files\n%s--- from mixed sources\n%s", name, want, got)
		}
	}

	// The reports show every kind of finding, so their equality is not trivial.
	for name, want := range map[string][]string{
		"diff_missing_in_A.csv":        {"B,new b1,NEW-B1", "B,12345,12345", "C,NEW-B1,NEW-B1", "C,NEW-C1", "D,ap-1,AP-1"},
		"diff_missing_from_system.csv": {"B,INV-002,INV-002", "C,EU-42", "D,INV-001"},
		"exceptions.csv":               {"duplicate,A,INV-002,2,INV-002 | inv_002", "duplicate,B,NEW-B1,2", "duplicate,D,AP-1,2"},
		"rejected_rows.csv":            {"B,4,INV-004,bad_timestamp", "B,5,INV-005,system_mismatch", "C,4,--,empty_key"},
	} {
		b, err := os.ReadFile(filepath.Join(dir, "out-mixed", name))
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s has no row with %q:\n%s", name, w, b)
			}
		}
	}

	// The fingerprints name each input, the API's URL without its key.
	paths := map[string]string{}
	rows, err := db.SQL().Query(`SELECT system, input_path, input_bytes FROM run_systems WHERE run_id = 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var sys, path string
		var n int64
		if err := rows.Scan(&sys, &path, &n); err != nil {
			t.Fatal(err)
		}
		if n <= 0 {
			t.Errorf("system %s: input_bytes %d", sys, n)
		}
		paths[sys] = path
	}
	if want := api.URL + "/c/items?api_key=REDACTED"; paths["C"] != want {
		t.Errorf("C input_path = %q, want %q", paths["C"], want)
	}
	if want := filepath.Join(dir, "D.db"); paths["D"] != want {
		t.Errorf("D input_path = %q, want %q", paths["D"], want)
	}
	assertNoSecrets(t, "log", mixedLog.String())
	assertNoSecrets(t, "database", dumpDB(t, db))
}

// TestHTTPSourceFailureFailsRun: an API answering 500 until the retries are
// exhausted fails the run, which leaves the registry and the reports of the
// previous run as they were and shows no secret anywhere.
func TestHTTPSourceFailureFailsRun(t *testing.T) {
	dir, api := setup(t)
	var log bytes.Buffer
	_, db, err := run(t, dir, "mixed.yaml", &log)
	if err != nil {
		t.Fatalf("first run: %v\n%s", err, log.String())
	}
	registryBefore := registry(t, db)
	if len(registryBefore) == 0 {
		t.Fatal("the first run registered nothing")
	}
	db.Close()
	before := map[string][]byte{}
	for _, name := range reports {
		b, err := os.ReadFile(filepath.Join(dir, "out-mixed", name))
		if err != nil {
			t.Fatal(err)
		}
		before[name] = b
	}

	api.fail.Store(true)
	requests := api.requests.Load()
	_, db, err = run(t, dir, "mixed.yaml", &log)
	if err == nil {
		t.Fatal("the run succeeded against a failing API")
	}
	var se *reconcile.SourceError
	if !errors.As(err, &se) || se.System != "C" {
		t.Fatalf("err = %v (%T), want a *reconcile.SourceError for C", err, err)
	}
	want := fmt.Sprintf(`source "C": read %s/c/items?api_key=REDACTED page 1: HTTP 500 Internal Server Error, still after 2 retries`, api.URL)
	if err.Error() != want {
		t.Errorf("error\n got %q\nwant %q", err, want)
	}
	if got := api.requests.Load() - requests; got != 3 {
		t.Errorf("the API got %d requests, want 3 (1 + 2 retries)", got)
	}

	var status, errs string
	if err := db.SQL().QueryRow(`SELECT status, errors FROM runs ORDER BY run_id DESC LIMIT 1`).Scan(&status, &errs); err != nil {
		t.Fatal(err)
	}
	if status != "failed" || !strings.Contains(errs, "HTTP 500") {
		t.Errorf("last run: status %q, errors %q; want failed with the HTTP status", status, errs)
	}
	if got := registry(t, db); !equalMaps(got, registryBefore) {
		t.Errorf("registry changed by a failed run:\nbefore %v\nafter  %v", registryBefore, got)
	}
	for _, name := range reports {
		b, err := os.ReadFile(filepath.Join(dir, "out-mixed", name))
		if err != nil {
			t.Fatal(err)
		}
		if name != "audit_log.csv" && !bytes.Equal(b, before[name]) {
			t.Errorf("%s changed by a failed run", name)
		}
	}
	assertNoSecrets(t, "error", err.Error())
	assertNoSecrets(t, "log", log.String())
	assertNoSecrets(t, "database", dumpDB(t, db))
}

// registry returns master key -> status.
func registry(t *testing.T, db *sqlite.DB) map[string]string {
	t.Helper()
	rows, err := db.SQL().Query(`SELECT master_key, status FROM master_key_registry`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, s string
		if err := rows.Scan(&k, &s); err != nil {
			t.Fatal(err)
		}
		out[k] = s
	}
	return out
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// dumpDB renders every text value of every table, to look for secrets in.
func dumpDB(t *testing.T, db *sqlite.DB) string {
	t.Helper()
	var out strings.Builder
	tables, err := db.SQL().Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for tables.Next() {
		var n string
		if err := tables.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	tables.Close()
	for _, n := range names {
		rows, err := db.SQL().Query(`SELECT * FROM "` + n + `"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(&out, n, vals)
		}
		rows.Close()
	}
	return out.String()
}

func assertNoSecrets(t *testing.T, what, text string) {
	t.Helper()
	for _, s := range []string{cToken, cKey} {
		if strings.Contains(text, s) {
			t.Errorf("the %s shows the secret %q", what, s)
		}
	}
}

// TestInvalidUTF8Hint: a Windows-1252 export read as UTF-8 loses its rows
// with non-ASCII keys to invalid_utf8; the log says how many and suggests
// encoding: windows-1252, and with that encoding the rows are read.
func TestInvalidUTF8Hint(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"A.csv": "source_key\nÄBC-1\nK-2\n",
		"B.csv": "source_key,location_ref\n\xc4BC-1,Lager K\xf6ln\nK-2,Hamburg\n\xd6L-3,x\n",
		// Two of B's three rows are rejected: more than the default
		// max_rejected_ratio lets through, and the point here is the hint.
		"utf8.yaml": "database: ./u.db\noutput_dir: ./out-u\nsafety: { max_rejected_ratio: 0 }\nsources:\n  A: { path: A.csv }\n  B: { path: B.csv }\n",
		"win.yaml":  "database: ./w.db\noutput_dir: ./out-w\nsources:\n  A: { path: A.csv }\n  B: { path: B.csv, encoding: windows-1252 }\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var log bytes.Buffer
	if _, _, err := run(t, dir, "utf8.yaml", &log); err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	for _, want := range []string{"level=WARN", "rows rejected as invalid_utf8", "system=B", "rows=2", "encoding: windows-1252"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}

	log.Reset()
	if _, _, err := run(t, dir, "win.yaml", &log); err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	if strings.Contains(log.String(), "invalid_utf8") {
		t.Errorf("log warns with encoding: windows-1252:\n%s", log.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, "out-w", "rejected_rows.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), "run_id,system,record,raw_key,reason\n"; got != want {
		t.Errorf("rejected_rows.csv = %q, want no rows", got)
	}
}
