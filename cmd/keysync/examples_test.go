package main

import (
	"bytes"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/keysync/keysync/internal/dbtest"
)

// artifactHeaders are the seven report artifacts and their header rows (SPEC §7).
var artifactHeaders = map[string][]string{
	"reconciliation_summary":   {"run_id", "system", "role", "rows_read", "rows_rejected", "distinct_keys", "duplicate_keys", "matched", "missing_in_A", "missing_from_system", "pending", "suppressed", "filtered"},
	"diff_missing_in_A":        {"run_id", "system", "source_key", "key", "master_key", "status", "entity_type", "location_ref", "last_seen_at"},
	"diff_missing_from_system": {"run_id", "system", "master_key", "source_key", "entity_type", "location_ref", "last_seen_at"},
	"master_key_registry":      {"master_key", "source_system", "source_key", "status", "created_at", "updated_at"},
	"audit_log":                {"event_id", "run_id", "event_type", "payload", "created_at"},
	"exceptions":               {"run_id", "kind", "system", "key", "count", "detail", "cause"},
	"rejected_rows":            {"run_id", "system", "record", "raw_key", "reason"},
}

// exampleChecks prove that each example shows what its README says. An
// example without an entry gets the generic checks only.
var exampleChecks = map[string]func(t *testing.T, ex *exampleRun){
	rootExample:       checkRoot,
	"namespaced":      checkNamespaced,
	"semicolon":       checkSemicolon,
	"dry-run":         checkDryRun,
	"auto-approve":    checkAutoApprove,
	"encodings":       checkEncodings,
	"compressed":      checkCompressed,
	"daily-files":     checkDailyFiles,
	"header-less":     checkHeaderLess,
	"filter":          checkFilter,
	"postgres-source": checkPostgresSource,
	"mysql-source":    checkMySQLSource,
}

// exampleServers are the examples whose peer is a live database. TestExamples
// starts a throwaway server for each (it skips without the server binaries,
// and fails under CI=true), creates database erp, runs the example's seed.sql
// in it and points the copied config's dsn from addr at the server.
var exampleServers = map[string]struct {
	start func(testing.TB) *dbtest.Server
	addr  string // host:port in the example's dsn
}{
	"postgres-source": {dbtest.Postgres, "localhost:5432"},
	"mysql-source":    {dbtest.MariaDB, "localhost:3306"},
}

// rootExample names the repository's own config and input/ among the examples.
const rootExample = "root"

// TestExamples runs keysync on a copy of every directory under examples/
// (with the command its README shows) and on the root config, so the shipped
// examples can never go stale: each must succeed, write the seven artifacts
// with their SPEC §7 headers, agree with itself, and show what it claims.
func TestExamples(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join("..", "..", "examples"))
	if err != nil {
		t.Fatal(err)
	}
	names := []string{rootExample}
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	for name := range exampleChecks {
		if !slices.Contains(names, name) {
			t.Errorf("checks for example %q, but there is no examples/%s", name, name)
		}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ex := runExample(t, name)
			checkArtifacts(t, ex)
			if check := exampleChecks[name]; check != nil {
				check(t, ex)
			}
		})
	}
}

// exampleRun is one example, copied to a temporary directory and run.
type exampleRun struct {
	name string
	work string   // the working directory keysync ran in
	dir  string   // the example's directory: its config, database and output
	args []string // the command line, after "keysync"
	env  []string // NAME=value from the README's `export` lines
	out  result   // the last run's exit code and output
	arts map[string]*table
}

// runExample copies example name into a temporary directory, runs it with the
// command its README shows, requires exit code 0 and reads the artifacts.
func runExample(t *testing.T, name string) *exampleRun {
	t.Helper()
	work := t.TempDir()
	ex := &exampleRun{name: name, work: work}
	if name == rootExample {
		ex.dir = work
		copyFile(t, filepath.Join("..", "..", "keysync-config.yaml"), filepath.Join(work, "keysync-config.yaml"))
		copyTree(t, filepath.Join("..", "..", "input"), filepath.Join(work, "input"))
		ex.args = []string{"sync", "--config", "keysync-config.yaml"}
	} else {
		// Keep the examples/<name> layout, so the README's command, written
		// for the repository root, runs verbatim from work.
		src := filepath.Join("..", "..", "examples", name)
		ex.dir = filepath.Join(work, "examples", name)
		copyTree(t, src, ex.dir)
		ex.args, ex.env = readmeCommand(t, filepath.Join(src, "README.md"))
		if srv, ok := exampleServers[name]; ok {
			startExampleServer(t, ex, srv.start(t), srv.addr)
		}
	}
	ex.run(t)
	return ex
}

// run runs keysync with the example's command and reads the artifacts anew.
func (ex *exampleRun) run(t *testing.T) {
	t.Helper()
	r := runKeysyncEnv(t, ex.work, ex.env, ex.args...)
	ex.out = r
	if r.code != 0 {
		t.Fatalf("keysync %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(ex.args, " "), r.code, r.stdout, r.stderr)
	}
	ex.arts = map[string]*table{}
	for name := range artifactHeaders {
		ex.arts[name] = readTable(t, ex.artifact(name))
	}
}

func (ex *exampleRun) artifact(name string) string {
	return filepath.Join(ex.outDir(), name+".csv")
}

// outDir is where the example's run wrote its reports: output/, or
// output/dry-run/ for a dry run, which never touches the nightly reports.
func (ex *exampleRun) outDir() string {
	if slices.Contains(ex.args, "--dry-run") {
		return filepath.Join(ex.dir, "output", "dry-run")
	}
	return filepath.Join(ex.dir, "output")
}

// readmeCommand returns the arguments of the first `keysync sync` command in
// an example's README: every example must say how to run it. Lines before it
// reading `export NAME=value` are its environment.
func readmeCommand(t *testing.T, readme string) (args, env []string) {
	t.Helper()
	b, err := os.ReadFile(readme)
	if err != nil {
		t.Fatalf("every example needs a README.md with the command that runs it: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "export" && strings.Contains(f[1], "=") {
			env = append(env, f[1])
		}
		if len(f) >= 2 && f[0] == "keysync" && f[1] == "sync" {
			return f[1:], env
		}
	}
	t.Fatalf("%s shows no `keysync sync` command", readme)
	return nil, nil
}

// startExampleServer seeds srv as the example's README says (database erp,
// then seed.sql) and points the copied config at srv instead of addr.
func startExampleServer(t *testing.T, ex *exampleRun, srv *dbtest.Server, addr string) {
	t.Helper()
	srv.Exec(t, "CREATE DATABASE erp")
	seed, err := os.ReadFile(filepath.Join(ex.dir, "seed.sql"))
	if err != nil {
		t.Fatal(err)
	}
	dbtest.ExecScript(t, srv.Open(t, "erp"), string(seed))
	cfgPath := filepath.Join(ex.dir, "keysync-config.yaml")
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(cfg, []byte(addr)) {
		t.Fatalf("%s: no dsn on %s to point at the test's server", cfgPath, addr)
	}
	cfg = bytes.ReplaceAll(cfg, []byte(addr), []byte(srv.Host+":"+strconv.Itoa(srv.Port)))
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyTree copies the directory src to dst, leaving out what a local run of
// the example may have left behind: output/ and the database files.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			if rel == "output" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if strings.Contains(d.Name(), ".db") {
			return nil
		}
		copyFile(t, path, filepath.Join(dst, rel))
		return nil
	})
	if err != nil {
		t.Fatalf("copy %s: %v", src, err)
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// table is a CSV artifact: its header and its data rows by column name.
type table struct {
	header []string
	rows   []map[string]string
}

func readTable(t *testing.T, path string) *table {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("artifact missing: %v", err)
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if len(recs) == 0 {
		t.Fatalf("%s: no header row", path)
	}
	tb := &table{header: recs[0]}
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, h := range tb.header {
			row[h] = rec[i]
		}
		tb.rows = append(tb.rows, row)
	}
	return tb
}

// where returns the rows whose column col equals val.
func (tb *table) where(col, val string) []map[string]string {
	var out []map[string]string
	for _, r := range tb.rows {
		if r[col] == val {
			out = append(out, r)
		}
	}
	return out
}

// column returns the set of values of col.
func (tb *table) column(col string) map[string]bool {
	out := map[string]bool{}
	for _, r := range tb.rows {
		out[r[col]] = true
	}
	return out
}

// summary returns the reconciliation_summary row of system.
func (ex *exampleRun) summary(t *testing.T, system string) map[string]string {
	t.Helper()
	rows := ex.arts["reconciliation_summary"].where("system", system)
	if len(rows) != 1 {
		t.Fatalf("reconciliation_summary: %d rows for system %s, want 1", len(rows), system)
	}
	return rows[0]
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

// checkArtifacts checks what holds for every example: the seven artifacts
// with exactly the SPEC §7 headers, and a summary that agrees with the other
// reports, system by system.
func checkArtifacts(t *testing.T, ex *exampleRun) {
	t.Helper()
	for name, want := range artifactHeaders {
		if got := ex.arts[name].header; !slices.Equal(got, want) {
			t.Errorf("%s.csv header = %q, want %q", name, got, want)
		}
	}
	sum := ex.arts["reconciliation_summary"]
	if len(sum.rows) < 2 {
		t.Fatalf("reconciliation_summary has %d rows, want the authority and at least one peer", len(sum.rows))
	}
	for _, r := range sum.rows {
		s := r["system"]
		counts := []struct {
			col  string
			rows []map[string]string
		}{
			{"missing_in_A", ex.arts["diff_missing_in_A"].where("system", s)},
			{"missing_from_system", ex.arts["diff_missing_from_system"].where("system", s)},
			{"rows_rejected", ex.arts["rejected_rows"].where("system", s)},
		}
		dups := 0
		for _, e := range ex.arts["exceptions"].where("system", s) {
			if e["kind"] == "duplicate" {
				dups++
			}
		}
		if got := atoi(t, r["duplicate_keys"]); got != dups {
			t.Errorf("summary %s duplicate_keys = %d, but exceptions.csv has %d duplicates", s, got, dups)
		}
		for _, c := range counts {
			if got := atoi(t, r[c.col]); got != len(c.rows) {
				t.Errorf("summary %s %s = %d, but the report has %d rows", s, c.col, got, len(c.rows))
			}
		}
	}
}

// checkRoot: the shipped input/ shows every kind of finding, and a second
// run on the same input changes nothing in the registry.
func checkRoot(t *testing.T, ex *exampleRun) {
	for name, tb := range ex.arts {
		if len(tb.rows) == 0 {
			t.Errorf("%s.csv has no data rows; the shipped inputs should show every artifact", name)
		}
	}
	reasons := ex.arts["rejected_rows"].column("reason")
	for _, want := range []string{"field_count", "invalid_utf8", "system_mismatch", "bad_timestamp", "empty_key"} {
		if !reasons[want] {
			t.Errorf("rejected_rows.csv has no %s row (reasons: %v)", want, reasons)
		}
	}
	dupSystems := map[string]bool{}
	for _, e := range ex.arts["exceptions"].where("kind", "duplicate") {
		dupSystems[e["system"]] = true
		if !strings.Contains(e["detail"], " | ") {
			t.Errorf("duplicate %s/%s: detail %q does not list two spellings", e["system"], e["key"], e["detail"])
		}
	}
	for _, s := range []string{"A", "B", "C", "D", "E"} {
		if !dupSystems[s] {
			t.Errorf("exceptions.csv has no duplicate in %s", s)
		}
		if s == "A" {
			continue
		}
		r := ex.summary(t, s)
		if atoi(t, r["matched"]) == 0 || atoi(t, r["missing_in_A"]) == 0 || atoi(t, r["missing_from_system"]) == 0 {
			t.Errorf("peer %s should match most of A's keys and miss keys both ways: %v", s, r)
		}
	}

	// D is read through `;` and a columns: mapping (ItemID, LastSeen): its
	// keys match A's, and its missing_in_A rows carry the mapped last_seen_at.
	d := ex.summary(t, "D")
	if keys, matched := atoi(t, d["distinct_keys"]), atoi(t, d["matched"]); matched < keys/2 {
		t.Errorf("D matches %d of its %d keys; its ItemID column or `;` delimiter was not read", matched, keys)
	}
	dMissing := ex.arts["diff_missing_in_A"].where("system", "D")
	lastSeen := 0
	for _, r := range dMissing {
		if r["last_seen_at"] != "" {
			lastSeen++
		}
	}
	if len(dMissing) == 0 || lastSeen == 0 {
		t.Errorf("D: %d missing_in_A rows, %d with last_seen_at; want its LastSeen column mapped", len(dMissing), lastSeen)
	}

	// mirror: one registry row per master key, proposed by the alphabetically
	// first system when two peers hold the key; nothing approved.
	registry := map[string]map[string]string{}
	for _, r := range ex.arts["master_key_registry"].rows {
		if registry[r["master_key"]] != nil {
			t.Errorf("master key %s registered twice", r["master_key"])
		}
		registry[r["master_key"]] = r
		if r["status"] != "Proposed" {
			t.Errorf("registry %s status %q, want Proposed (no auto-approve)", r["master_key"], r["status"])
		}
	}
	proposers := map[string][]string{}
	for _, r := range ex.arts["diff_missing_in_A"].rows {
		if r["master_key"] != r["key"] {
			t.Errorf("mirror: master key %q of %s/%s is not the normalized key", r["master_key"], r["system"], r["key"])
		}
		proposers[r["master_key"]] = append(proposers[r["master_key"]], r["system"])
	}
	if len(registry) != len(proposers) {
		t.Errorf("registry has %d master keys, diff_missing_in_A proposes %d", len(registry), len(proposers))
	}
	shared := 0
	for mk, systems := range proposers {
		reg := registry[mk]
		if reg == nil {
			t.Errorf("master key %s proposed by %v is not in the registry", mk, systems)
			continue
		}
		if len(systems) > 1 {
			shared++
		}
		if first := slices.Min(systems); reg["source_system"] != first {
			t.Errorf("master key %s proposed by %v: registry source_system %q, want %q", mk, systems, reg["source_system"], first)
		}
	}
	if shared == 0 {
		t.Error("no master key is proposed by two peers; the inputs should show one")
	}

	// Run again on the same input: the registry report is byte-identical and
	// the audit log only gains the second run's start and success.
	registryBefore, err := os.ReadFile(ex.artifact("master_key_registry"))
	if err != nil {
		t.Fatal(err)
	}
	auditBefore := ex.arts["audit_log"].rows
	ex.run(t)
	registryAfter, err := os.ReadFile(ex.artifact("master_key_registry"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(registryBefore, registryAfter) {
		t.Errorf("master_key_registry.csv changed on a second run over the same input:\nbefore:\n%s\nafter:\n%s", registryBefore, registryAfter)
	}
	auditAfter := ex.arts["audit_log"].rows
	if len(auditAfter) < len(auditBefore) {
		t.Fatalf("audit_log.csv shrank from %d to %d events", len(auditBefore), len(auditAfter))
	}
	for i, r := range auditBefore {
		if !mapsEqual(r, auditAfter[i]) {
			t.Errorf("audit event %d changed: before %v, after %v", i+1, r, auditAfter[i])
		}
	}
	var added []string
	for _, r := range auditAfter[len(auditBefore):] {
		added = append(added, r["event_type"])
		if r["run_id"] != "2" {
			t.Errorf("second run added event %v with run_id %q, want 2", r, r["run_id"])
		}
	}
	if want := []string{"run_started", "run_succeeded"}; !slices.Equal(added, want) {
		t.Errorf("second run added audit events %q, want %q", added, want)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

// checkNamespaced: master keys are A-<system>-<key>, the same key from two
// peers is two master keys, and a master key equal to a key of A is a
// conflict that is reported and not registered.
func checkNamespaced(t *testing.T, ex *exampleRun) {
	registry := map[string]map[string]string{}
	for _, r := range ex.arts["master_key_registry"].rows {
		registry[r["master_key"]] = r
		if prefix := "A-" + r["source_system"] + "-"; !strings.HasPrefix(r["master_key"], prefix) {
			t.Errorf("registry master key %q does not start with %q", r["master_key"], prefix)
		}
	}
	if len(registry) == 0 {
		t.Fatal("namespaced: the registry is empty")
	}
	bySystems := map[string][]string{} // key -> systems whose master key is registered
	for _, r := range ex.arts["diff_missing_in_A"].rows {
		want := "A-" + r["system"] + "-" + r["key"]
		if r["master_key"] != want {
			t.Errorf("diff_missing_in_A %s/%s: master key %q, want %q", r["system"], r["key"], r["master_key"], want)
		}
		if registry[want] != nil {
			bySystems[r["key"]] = append(bySystems[r["key"]], r["system"])
		}
	}
	twice := false
	for _, systems := range bySystems {
		twice = twice || len(systems) > 1
	}
	if !twice {
		t.Errorf("no key missing in A is registered under two systems' master keys: %v", bySystems)
	}

	conflicts := ex.arts["exceptions"].where("kind", "master_key_conflict")
	if len(conflicts) == 0 {
		t.Fatal("exceptions.csv has no master_key_conflict row")
	}
	for _, c := range conflicts {
		mk := c["detail"]
		if want := "A-" + c["system"] + "-" + c["key"]; mk != want {
			t.Errorf("conflict %s/%s: detail %q, want the master key %q", c["system"], c["key"], mk, want)
		}
		if c["count"] != "1" {
			t.Errorf("conflict %s: count %q, want 1", mk, c["count"])
		}
		if registry[mk] != nil {
			t.Errorf("conflicting master key %s is in master_key_registry.csv", mk)
		}
		var found bool
		for _, r := range ex.arts["diff_missing_in_A"].where("system", c["system"]) {
			if r["key"] == c["key"] {
				found = true
				if r["master_key"] != mk || r["status"] != "" {
					t.Errorf("conflict's diff_missing_in_A row: master key %q status %q, want %q and empty", r["master_key"], r["status"], mk)
				}
			}
		}
		if !found {
			t.Errorf("conflict %s/%s has no diff_missing_in_A row", c["system"], c["key"])
		}
	}
}

// checkSemicolon: a `;` source with a BOM, CRLF, mapped columns, plain
// commas and a quoted `;` and line break reads without a rejected row.
func checkSemicolon(t *testing.T, ex *exampleRun) {
	b := ex.summary(t, "B")
	want := map[string]int{"rows_read": 8, "rows_rejected": 0, "distinct_keys": 8, "matched": 6, "missing_in_A": 2, "missing_from_system": 1}
	for col, n := range want {
		if got := atoi(t, b[col]); got != n {
			t.Errorf("summary B %s = %d, want %d (as the README says)", col, got, n)
		}
	}
	locations := map[string]map[string]string{}
	for _, r := range ex.arts["diff_missing_in_A"].where("system", "B") {
		locations[r["location_ref"]] = r
		if r["entity_type"] != "Artikel" || r["last_seen_at"] == "" {
			t.Errorf("B row %v: want entity_type Artikel (from Typ) and last_seen_at (from Stand)", r)
		}
	}
	for _, loc := range []string{"Halle 4, Regal 9", "Lager Süd; Tor 3\nRampe 2"} {
		if locations[loc] == nil {
			t.Errorf("no missing_in_A row of B with location_ref %q; got %q", loc, keys(locations))
		}
	}
	for name := range artifactHeaders {
		b, err := os.ReadFile(ex.artifact(name))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("\r")) || bytes.Contains(b, []byte("\uFEFF")) {
			t.Errorf("%s.csv contains a CR or a BOM from the input", name)
		}
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// wantSummary checks the summary counts of system against want.
func wantSummary(t *testing.T, ex *exampleRun, system string, want map[string]int) {
	t.Helper()
	row := ex.summary(t, system)
	for col, n := range want {
		if got := atoi(t, row[col]); got != n {
			t.Errorf("summary %s %s = %d, want %d (as the README says)", system, col, got, n)
		}
	}
}

// wantLocations checks that diff_missing_in_A has the key of system at each
// location, spelled as the README says.
func wantLocations(t *testing.T, ex *exampleRun, system string, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for _, r := range ex.arts["diff_missing_in_A"].where("system", system) {
		got[r["source_key"]] = r["location_ref"]
	}
	for k, loc := range want {
		if got[k] != loc {
			t.Errorf("diff_missing_in_A %s %s: location_ref %q, want %q", system, k, got[k], loc)
		}
	}
}

// checkEncodings: a Windows-1252 and a UTF-16 file read with their letters.
func checkEncodings(t *testing.T, ex *exampleRun) {
	wantSummary(t, ex, "B", map[string]int{"rows_read": 4, "rows_rejected": 0, "matched": 3})
	wantSummary(t, ex, "C", map[string]int{"rows_read": 5, "rows_rejected": 0, "matched": 2})
	wantLocations(t, ex, "B", map[string]string{"LAG-2001": "Straße 4"})
	wantLocations(t, ex, "C", map[string]string{"LAG-3001": "Lager Zürich", "LAG-3003": "Ørsted-Kai"})
}

// checkCompressed: gzip, zstd, bzip2 and a zip member read like plain files.
func checkCompressed(t *testing.T, ex *exampleRun) {
	for sys, n := range map[string]int{"B": 3, "C": 3, "D": 3, "E": 4} {
		wantSummary(t, ex, sys, map[string]int{"rows_read": n, "rows_rejected": 0, "missing_in_A": 1})
	}
	for sys, key := range map[string]string{"B": "LAG-2001", "C": "LAG-3001", "D": "LAG-4001", "E": "LAG-5001"} {
		if len(ex.arts["diff_missing_in_A"].where("source_key", key)) != 1 {
			t.Errorf("diff_missing_in_A: no row for %s's %s", sys, key)
		}
	}
	r := runKeysync(t, ex.work, "runs", "show", "--config", filepath.Join(ex.dir, "keysync-config.yaml"), "--format", "table", "1")
	if r.code != 0 || !strings.Contains(r.stdout, "C.export") || !strings.Contains(r.stdout, "first_record") {
		t.Errorf("runs show 1: exit %d, want the files listed:\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// checkDailyFiles: a glob read whole (pick: all) and one read for its last file.
func checkDailyFiles(t *testing.T, ex *exampleRun) {
	wantSummary(t, ex, "B", map[string]int{"rows_read": 5, "rows_rejected": 1})
	wantSummary(t, ex, "C", map[string]int{"rows_read": 3, "rows_rejected": 0})
	rej := ex.arts["rejected_rows"].where("system", "B")
	if len(rej) != 1 || rej[0]["record"] != "4" || rej[0]["reason"] != "empty_key" {
		t.Errorf("rejected rows of B = %v, want record 4 empty_key", rej)
	}
	if len(ex.arts["diff_missing_from_system"].where("source_key", "LAG-9999"))+len(ex.arts["diff_missing_in_A"].where("source_key", "LAG-9999")) > 0 {
		t.Errorf("LAG-9999 of C's old snapshot was read")
	}
	r := runKeysync(t, ex.work, "runs", "show", "--config", filepath.Join(ex.dir, "keysync-config.yaml"), "--format", "json", "1")
	var show struct {
		Inputs []struct {
			System      string `json:"system"`
			Path        string `json:"path"`
			FirstRecord int64  `json:"first_record"`
			Records     int64  `json:"records"`
		} `json:"inputs"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &show); err != nil {
		t.Fatalf("runs show --format json 1: %v\n%s", err, r.stdout)
	}
	var b []string
	for _, in := range show.Inputs {
		if in.System == "B" {
			b = append(b, fmt.Sprintf("%s:%d+%d", filepath.Base(in.Path), in.FirstRecord, in.Records))
		}
	}
	if want := []string{"B_20261201.csv:1+2", "B_20261202.csv:3+2", "B_20261203.csv:5+1"}; !slices.Equal(b, want) {
		t.Errorf("B's files = %v, want %v", b, want)
	}
}

// checkHeaderLess: every line of a header-less file is a record.
func checkHeaderLess(t *testing.T, ex *exampleRun) {
	wantSummary(t, ex, "B", map[string]int{"rows_read": 4, "rows_rejected": 0, "matched": 2, "missing_in_A": 2})
	wantLocations(t, ex, "B", map[string]string{"LAG-2001": "Lager Zürich", "LAG-2002": "Straße 4"})
}

// checkFilter: filtered rows are counted apart and compared with nothing,
// and the counts add up: rows_read = accepted + rejected, filtered among the
// accepted.
func checkFilter(t *testing.T, ex *exampleRun) {
	wantSummary(t, ex, "B", map[string]int{"rows_read": 7, "rows_rejected": 1, "filtered": 3, "distinct_keys": 3,
		"matched": 2, "missing_in_A": 1, "missing_from_system": 2})
	// B has no duplicate keys, so each row taking part is one distinct key.
	b := ex.summary(t, "B")
	if got, want := atoi(t, b["rows_read"])-atoi(t, b["rows_rejected"])-atoi(t, b["filtered"]), atoi(t, b["distinct_keys"]); got != want {
		t.Errorf("B: %d rows take part, but %d distinct keys", got, want)
	}
	for _, key := range []string{"TEST-0001", "TEST-0002"} {
		if len(ex.arts["diff_missing_in_A"].where("key", key)) > 0 {
			t.Errorf("filtered key %s is in diff_missing_in_A", key)
		}
	}
	if len(ex.arts["diff_missing_from_system"].where("master_key", "LAG-1002")) != 1 {
		t.Errorf("LAG-1002, archived in B, is not missing from B")
	}
}

// checkDryRun: a dry run reports what it would propose, changes nothing in
// the registry, and is logged with mode dry-run.
func checkDryRun(t *testing.T, ex *exampleRun) {
	if !slices.Contains(ex.args, "--dry-run") {
		t.Fatalf("the dry-run README's command %q has no --dry-run", ex.args)
	}
	if n := len(ex.arts["master_key_registry"].rows); n != 0 {
		t.Errorf("master_key_registry.csv has %d rows after a dry run, want only the header", n)
	}
	missing := ex.arts["diff_missing_in_A"].rows
	if len(missing) == 0 {
		t.Fatal("diff_missing_in_A.csv is empty; the example should show would-be proposals")
	}
	for _, r := range missing {
		if r["status"] != "Proposed" {
			t.Errorf("dry run: %s/%s status %q, want the would-be status Proposed", r["system"], r["key"], r["status"])
		}
	}
	for _, r := range ex.arts["audit_log"].rows {
		if strings.HasPrefix(r["event_type"], "master_key_") {
			t.Errorf("dry run wrote audit event %v", r)
		}
	}
	db := openExampleDB(t, ex)
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM master_key_registry`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("master_key_registry table has %d rows after a dry run, want 0", n)
	}
	var runs []string
	rows, err := db.Query(`SELECT run_id, status, mode FROM runs ORDER BY run_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int
		var status, mode string
		if err := rows.Scan(&id, &status, &mode); err != nil {
			t.Fatal(err)
		}
		runs = append(runs, strconv.Itoa(id)+" "+status+" "+mode)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"1 succeeded dry-run"}; !slices.Equal(runs, want) {
		t.Errorf("runs = %q, want %q", runs, want)
	}
	// The reports went to output/dry-run/: output/ holds no report.
	if got := readDir(t, filepath.Join(ex.dir, "output")); len(got) != 0 {
		t.Errorf("the dry run wrote %d files into output/ itself, want none (only output/dry-run/)", len(got))
	}
}

// checkAutoApprove: every master key this run proposes is Active at once,
// with one master_key_proposed event each, and the run's approval rate is 1.
func checkAutoApprove(t *testing.T, ex *exampleRun) {
	reg := ex.arts["master_key_registry"].rows
	if len(reg) == 0 {
		t.Fatal("master_key_registry.csv is empty; the example should propose keys")
	}
	for _, r := range reg {
		if r["status"] != "Active" {
			t.Errorf("registry %s status %q, want Active", r["master_key"], r["status"])
		}
	}
	for _, r := range ex.arts["diff_missing_in_A"].rows {
		if r["status"] != "Active" {
			t.Errorf("diff_missing_in_A %s/%s status %q, want Active", r["system"], r["key"], r["status"])
		}
	}
	proposed := map[string]bool{}
	for _, r := range ex.arts["audit_log"].where("event_type", "master_key_proposed") {
		var p struct {
			MasterKey string `json:"master_key"`
			To        string `json:"to"`
		}
		if err := json.Unmarshal([]byte(r["payload"]), &p); err != nil {
			t.Fatalf("audit payload %q: %v", r["payload"], err)
		}
		if p.To != "Active" {
			t.Errorf("master_key_proposed %s: to %q, want Active", r["payload"], p.To)
		}
		proposed[p.MasterKey] = true
	}
	if got, want := keys(proposed), keys(ex.arts["master_key_registry"].column("master_key")); !slices.Equal(got, want) {
		t.Errorf("master_key_proposed events for %q, want one per registry row %q", got, want)
	}
	var rate sql.NullFloat64
	if err := openExampleDB(t, ex).QueryRow(`SELECT auto_approval_rate FROM runs WHERE run_id = 1`).Scan(&rate); err != nil {
		t.Fatal(err)
	}
	if !rate.Valid || rate.Float64 != 1 {
		t.Errorf("auto_approval_rate = %v, want 1", rate)
	}
}

// openExampleDB opens the example's database (./keysync.db beside its config).
func openExampleDB(t *testing.T, ex *exampleRun) *sql.DB {
	t.Helper()
	path := filepath.Join(ex.dir, "keysync.db")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("example database: %v", err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// checkPostgresSource: B read from PostgreSQL matches, misses and rejects as
// the README says, and the password shows nowhere.
func checkPostgresSource(t *testing.T, ex *exampleRun) {
	b := ex.summary(t, "B")
	want := map[string]int{"rows_read": 5, "rows_rejected": 1, "distinct_keys": 4, "matched": 3, "missing_in_A": 1, "missing_from_system": 1}
	for col, n := range want {
		if got := atoi(t, b[col]); got != n {
			t.Errorf("summary B %s = %d, want %d (as the README says)", col, got, n)
		}
	}
	missing := ex.arts["diff_missing_in_A"].where("system", "B")
	if len(missing) != 1 || missing[0]["key"] != "ITM-000105" || missing[0]["last_seen_at"] != "2024-05-03T00:00:00Z" {
		t.Errorf("diff_missing_in_A for B: %v, want ITM-000105 last seen 2024-05-03T00:00:00Z", missing)
	}
	rej := ex.arts["rejected_rows"].where("system", "B")
	if len(rej) != 1 || rej[0]["record"] != "5" || rej[0]["reason"] != "empty_key" {
		t.Errorf("rejected_rows for B: %v, want record 5 empty_key", rej)
	}
	checkNoPassword(t, ex)
}

// checkMySQLSource: B read from MariaDB with a composite key matches,
// misses and has its duplicate as the README says.
func checkMySQLSource(t *testing.T, ex *exampleRun) {
	b := ex.summary(t, "B")
	want := map[string]int{"rows_read": 4, "rows_rejected": 0, "distinct_keys": 3, "duplicate_keys": 1, "matched": 2, "missing_in_A": 1, "missing_from_system": 1}
	for col, n := range want {
		if got := atoi(t, b[col]); got != n {
			t.Errorf("summary B %s = %d, want %d (as the README says)", col, got, n)
		}
	}
	missing := ex.arts["diff_missing_in_A"].where("system", "B")
	if len(missing) != 1 || missing[0]["key"] != "US-000007" || missing[0]["last_seen_at"] != "2024-05-02T10:00:00Z" {
		t.Errorf("diff_missing_in_A for B: %v, want US-000007 last seen 2024-05-02T10:00:00Z", missing)
	}
	checkNoPassword(t, ex)
}

// checkNoPassword: the password of the example's environment is in no
// output, report or log, and `runs show` names the redacted DSN.
func checkNoPassword(t *testing.T, ex *exampleRun) {
	t.Helper()
	show := runKeysyncEnv(t, ex.work, ex.env, "runs", "show", "--config", filepath.Join(ex.dir, "keysync-config.yaml"), "1")
	text := ex.out.stdout + ex.out.stderr + show.stdout + show.stderr
	for name := range artifactHeaders {
		b, err := os.ReadFile(ex.artifact(name))
		if err != nil {
			t.Fatal(err)
		}
		text += string(b)
	}
	for _, kv := range ex.env {
		if _, pw, _ := strings.Cut(kv, "="); strings.Contains(text, pw) {
			t.Errorf("the password %q of %s shows in the output or reports", pw, kv)
		}
	}
	if !strings.Contains(show.stdout, "keysync:REDACTED@") {
		t.Errorf("runs show does not name B's redacted dsn:\n%s", show.stdout)
	}
}
