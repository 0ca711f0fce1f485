package app

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/sqlite"
)

// The ops tests (registry_test.go, report_test.go, sql_test.go, db_test.go,
// prune_test.go) run keysync in-process, through New(Env{...}).RunContext with
// a fixed clock, on a database that `keysync sync` fills from small inputs
// written into t.TempDir(). The helpers below are theirs.

// opsBase is the fixed clock: the n-th command of a case runs n minutes after it.
var opsBase = time.Date(2024, 7, 1, 2, 0, 0, 0, time.UTC)

// opsConfig is the config of every case: A, B and C, mirror, default normalization.
const opsConfig = `database: ./keysync.db
output_dir: ./output
sources:
  A: { path: ./A.csv }
  B: { path: ./B.csv }
  C: { path: ./C.csv }
`

// The inputs of the first sync:
//
//	A: K-1 K-2
//	B: k-1 x-1 "x 2" -_- K_1   → missing in A; K-1 twice (duplicate); -_- rejected
//	C: x_1                     → X-1 missing in A; K-1, K-2 missing from C
const (
	opsA = "source_key,entity_type\nK-1,item\nK-2,item\n"
	opsB = "source_key\nk-1\nx-1\nx 2\n-_-\nK_1\n"
	opsC = "source_key\nx_1\n"
)

// opsCase is one test's directory: the config, the inputs and the database.
type opsCase struct {
	t    *testing.T
	dir  string
	step int
}

// opsResult is what one command did.
type opsResult struct {
	stdout, stderr string
	err            error
	code           int
}

// newOpsCase writes the config and the first inputs; nothing has run yet.
func newOpsCase(t *testing.T) *opsCase {
	t.Helper()
	o := &opsCase{t: t, dir: t.TempDir()}
	o.write("keysync-config.yaml", opsConfig)
	o.write("A.csv", opsA)
	o.write("B.csv", opsB)
	o.write("C.csv", opsC)
	return o
}

// newSyncedCase is newOpsCase after one successful sync (run 1).
func newSyncedCase(t *testing.T) *opsCase {
	t.Helper()
	o := newOpsCase(t)
	o.ok("sync")
	return o
}

func (o *opsCase) path(name string) string { return filepath.Join(o.dir, name) }
func (o *opsCase) config() string          { return o.path("keysync-config.yaml") }
func (o *opsCase) db() string              { return o.path("keysync.db") }

func (o *opsCase) write(name, content string) {
	o.t.Helper()
	if err := os.WriteFile(o.path(name), []byte(content), 0o644); err != nil {
		o.t.Fatal(err)
	}
}

func (o *opsCase) read(name string) string {
	o.t.Helper()
	b, err := os.ReadFile(o.path(name))
	if err != nil {
		o.t.Fatal(err)
	}
	return string(b)
}

// now is the clock of the n-th command.
func (o *opsCase) now(n int) time.Time { return opsBase.Add(time.Duration(n) * time.Minute) }

// run runs `keysync <words> --config <case config> <args>`: words is the
// command path ("registry show"), args its flags and arguments.
func (o *opsCase) run(words string, args ...string) opsResult {
	o.t.Helper()
	return o.raw(append(append(strings.Fields(words), "--config", o.config()), args...)...)
}

// raw runs `keysync <args>` exactly as given.
func (o *opsCase) raw(args ...string) opsResult {
	o.t.Helper()
	o.step++
	now := o.now(o.step)
	var out, errb bytes.Buffer
	err := Run(o.t.Context(), Env{Stdout: &out, Stderr: &errb, Now: func() time.Time { return now }}, append([]string{"keysync"}, args...))
	return opsResult{stdout: out.String(), stderr: errb.String(), err: err, code: ExitCode(err)}
}

// ok runs a command that must succeed and returns its stdout.
func (o *opsCase) ok(words string, args ...string) string {
	o.t.Helper()
	r := o.run(words, args...)
	if r.code != 0 {
		o.t.Fatalf("keysync %s %q: exit %d: %v\nstderr:\n%s", words, args, r.code, r.err, r.stderr)
	}
	return r.stdout
}

// fails checks that r exited with code and that its error says each of want.
func opsFails(t *testing.T, what string, r opsResult, code int, want ...string) {
	t.Helper()
	if r.code != code {
		t.Errorf("%s: exit %d (%v), want %d\nstderr:\n%s", what, r.code, r.err, code, r.stderr)
		return
	}
	for _, w := range want {
		if r.err == nil || !strings.Contains(r.err.Error(), w) {
			t.Errorf("%s: error %v does not say %q", what, r.err, w)
		}
	}
}

// opsQuery runs one query on the case's database, opened read-only whatever
// its schema, and returns its rows as text, one string per row with fields
// joined by |.
func (o *opsCase) query(q string, args ...any) []string {
	o.t.Helper()
	db, err := sqlite.OpenAny(o.t.Context(), o.db())
	if err != nil {
		o.t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.SQL().QueryContext(o.t.Context(), q, args...)
	if err != nil {
		o.t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	out := []string{}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			o.t.Fatal(err)
		}
		var f []string
		for _, v := range vals {
			f = append(f, cellText(v))
		}
		out = append(out, strings.Join(f, "|"))
	}
	if err := rows.Err(); err != nil {
		o.t.Fatal(err)
	}
	return out
}

// holdLock takes the run lock of the case's database until the test ends,
// as a running sync would.
func (o *opsCase) holdLock() {
	o.t.Helper()
	l, err := sqlite.Acquire(o.db())
	if err != nil {
		o.t.Fatal(err)
	}
	o.t.Cleanup(func() { l.Release() })
}

// opsCSV parses CSV text into its records.
func opsCSV(t *testing.T, text string) [][]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(text)).ReadAll()
	if err != nil {
		t.Fatalf("parse CSV %q: %v", text, err)
	}
	return recs
}

func opsWant(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

func opsTS(t time.Time) string { return sqlite.FormatTime(t) }

func TestRegistryShow(t *testing.T) {
	o := newSyncedCase(t)                                                          // command 1
	o.ok("registry approve", "--by", "alice", "--reason", "checked with B", "X-1") // command 2

	out := o.ok("registry show", "--format", "json", "X-1")
	var got struct {
		keysync.RegistryEntry
		ReportedBy []sqlite.KeyReport `json:"reported_by"`
		History    []struct {
			EventID   int64             `json:"event_id"`
			RunID     *int64            `json:"run_id"`
			EventType keysync.EventType `json:"event_type"`
			Payload   keysync.KeyChange `json:"payload"`
			CreatedAt string            `json:"created_at"`
		} `json:"history"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("registry show --format json: %v\n%s", err, out)
	}
	opsWant(t, "registry row", got.RegistryEntry, keysync.RegistryEntry{
		MasterKey: "X-1", SourceSystem: "B", SourceKey: "x-1", Status: keysync.StatusActive,
		CreatedAt: opsTS(o.now(1)), UpdatedAt: opsTS(o.now(2))})
	opsWant(t, "reported_by", got.ReportedBy, []sqlite.KeyReport{
		{RunID: 1, StartedAt: opsTS(o.now(1)), Mode: keysync.ModeNormal, System: "B", SourceKey: "x-1", Key: "X-1", Status: "Proposed"},
		{RunID: 1, StartedAt: opsTS(o.now(1)), Mode: keysync.ModeNormal, System: "C", SourceKey: "x_1", Key: "X-1", Status: "Proposed"},
	})
	if len(got.History) != 2 {
		t.Fatalf("history = %+v, want 2 events", got.History)
	}
	h0, h1 := got.History[0], got.History[1]
	if h0.EventType != keysync.EventMasterKeyProposed || h0.RunID == nil || *h0.RunID != 1 ||
		h0.Payload != (keysync.KeyChange{MasterKey: "X-1", To: "Proposed", By: "auto"}) || h0.CreatedAt != opsTS(o.now(1)) {
		t.Errorf("history[0] = %+v, want run 1's master_key_proposed", h0)
	}
	if h1.EventType != keysync.EventMasterKeyApproved || h1.RunID != nil ||
		h1.Payload != (keysync.KeyChange{MasterKey: "X-1", From: "Proposed", To: "Active", By: "alice", Reason: "checked with B"}) ||
		h1.CreatedAt != opsTS(o.now(2)) {
		t.Errorf("history[1] = %+v, want alice's master_key_approved", h1)
	}

	// The table shows the same, for people.
	table := o.ok("registry show", "X-1")
	for _, want := range []string{
		"master_key     X-1\n", "status         Active\n", "source_system  B\n", "source_key     x-1\n",
		"created_at     " + opsTS(o.now(1)) + "\n", "updated_at     " + opsTS(o.now(2)) + "\n",
		"reported missing in A (2 findings):\n",
		"audit history (2 events):\n",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("registry show table lacks %q:\n%s", want, table)
		}
	}
	lines := strings.Split(table, "\n")
	var found int
	for _, l := range lines {
		f := strings.Fields(l)
		switch {
		case reflect.DeepEqual(f, []string{"1", opsTS(o.now(1)), "normal", "C", "x_1", "X-1", "Proposed"}):
			found |= 1
		case len(f) > 1 && reflect.DeepEqual(f[1:], []string{"master_key_approved", "Proposed", "Active", "alice", "checked", "with", "B", opsTS(o.now(2))}):
			found |= 2
		}
	}
	if found != 3 {
		t.Errorf("registry show table lacks C's report or alice's event (found %b):\n%s", found, table)
	}

	// X-2 was never changed: one report, one event, still Proposed.
	out = o.ok("registry show", "--format", "json", "X-2")
	if !strings.Contains(out, `"status": "Proposed"`) || strings.Count(out, `"event_id"`) != 1 {
		t.Errorf("registry show X-2:\n%s", out)
	}
	out = o.ok("registry show", "X-2")
	if !strings.Contains(out, "reported missing in A (1 finding):\n") || !strings.Contains(out, "audit history (1 event):\n") {
		t.Errorf("registry show X-2:\n%s", out)
	}
}

func TestRegistryShowErrors(t *testing.T) {
	o := newSyncedCase(t)
	opsFails(t, "unknown key", o.run("registry show", "NOPE-1"), ExitUsage, `"NOPE-1"`, "not in the registry")
	// issue [cli-conventions]: a raw spelling is normalized with the config's rules.
	if out := o.ok("registry show", "x-1"); !strings.Contains(out, "master_key     X-1") {
		t.Errorf("registry show x-1 (a peer's raw key) did not show X-1:\n%s", out)
	}
	opsFails(t, "an authority key", o.run("registry show", "K-1"), ExitUsage, `"K-1"`)
	opsFails(t, "no key", o.run("registry show"), ExitUsage, "name one master key")
	opsFails(t, "two keys", o.run("registry show", "X-1", "X-2"), ExitUsage, "name one master key")
	opsFails(t, "csv", o.run("registry show", "--format", "csv", "X-1"), ExitUsage, `"csv"`)
	opsFails(t, "bad config", o.raw("registry", "show", "--config", o.path("nope.yaml"), "X-1"), ExitUsage, "nope.yaml")

	empty := newOpsCase(t)
	empty.ok("db init")
	opsFails(t, "empty database", empty.run("registry show", "X-1"), ExitUsage, `"X-1"`, "not in the registry")
	missing := newOpsCase(t)
	opsFails(t, "no database", missing.run("registry show", "X-1"), ExitUsage, "no database", "keysync sync")
}

func TestRegistryExport(t *testing.T) {
	o := newSyncedCase(t)
	// Run 2: B spells X-1 differently and no longer has X-2; C adds Y-1.
	o.write("B.csv", "source_key\nk-1\nX--1\n")
	o.write("C.csv", "source_key\nx_1\ny.1\n")
	o.ok("sync")
	o.ok("registry approve", "X-1")
	// A dry run changes nothing, so its spelling is not the crosswalk's.
	o.write("B.csv", "source_key\nk-1\nx..1\n")
	o.ok("sync", "--dry-run")

	want := "master_key,system,source_key,status\n" +
		"X-1,B,X--1,Active\n" +
		"X-1,C,x_1,Active\n" +
		"X-2,B,x 2,Proposed\n" +
		"Y-1,C,y.1,Proposed\n"
	if got := o.ok("registry export"); got != want {
		t.Errorf("registry export (csv by default):\n got %q\nwant %q", got, want)
	}
	var rows []map[string]string
	if err := json.Unmarshal([]byte(o.ok("registry export", "--format", "json")), &rows); err != nil {
		t.Fatal(err)
	}
	opsWant(t, "registry export --format json", rows, []map[string]string{
		{"master_key": "X-1", "system": "B", "source_key": "X--1", "status": "Active"},
		{"master_key": "X-1", "system": "C", "source_key": "x_1", "status": "Active"},
		{"master_key": "X-2", "system": "B", "source_key": "x 2", "status": "Proposed"},
		{"master_key": "Y-1", "system": "C", "source_key": "y.1", "status": "Proposed"},
	})
	table := o.ok("registry export", "--format", "table")
	if f := strings.Fields(strings.Split(table, "\n")[0]); !reflect.DeepEqual(f, []string{"master_key", "system", "source_key", "status"}) {
		t.Errorf("registry export --format table header: %q", table)
	}

	opsFails(t, "bad format", o.run("registry export", "--format", "xml"), ExitUsage, `"xml"`)
	opsFails(t, "an argument", o.run("registry export", "X-1"), ExitUsage, "no arguments")

	empty := newOpsCase(t)
	empty.ok("db init")
	r := empty.run("registry export")
	if r.code != 0 || r.stdout != "master_key,system,source_key,status\n" || !strings.Contains(r.stderr, "registry is empty") {
		t.Errorf("registry export of an empty database: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := empty.run("registry export", "--format", "json"); r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("registry export --format json of an empty database: exit %d, stdout %q", r.code, r.stdout)
	}
	opsFails(t, "no database", newOpsCase(t).run("registry export"), ExitUsage, "no database")
}

func TestRegistryListFilters(t *testing.T) {
	o := newSyncedCase(t)
	o.write("C.csv", "source_key\nx_1\ny.1\n")
	o.ok("sync") // Y-1, proposed by C
	o.ok("registry approve", "X-2")

	keys := func(args ...string) []string {
		t.Helper()
		var out []string
		for i, rec := range opsCSV(t, o.ok("registry list", args...)) {
			if i > 0 {
				out = append(out, rec[0]+" "+rec[3])
			}
		}
		return out
	}
	opsWant(t, "all", keys(), []string{"X-1 Proposed", "X-2 Active", "Y-1 Proposed"})
	opsWant(t, "--status Proposed", keys("--status", "Proposed"), []string{"X-1 Proposed", "Y-1 Proposed"})
	opsWant(t, "--status active", keys("--status", "active"), []string{"X-2 Active"})
	opsWant(t, "--status Deprecated", keys("--status", "Deprecated"), []string(nil))
	opsWant(t, "--system c", keys("--system", "c"), []string{"Y-1 Proposed"})
	opsWant(t, "--system B --status Proposed", keys("--system", "B", "--status", "Proposed"), []string{"X-1 Proposed"})
	opsWant(t, "--system A", keys("--system", "A"), []string(nil))

	var rows []keysync.RegistryEntry
	if err := json.Unmarshal([]byte(o.ok("registry list", "--format", "json", "--system", "C")), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].MasterKey != "Y-1" || rows[0].SourceKey != "y.1" {
		t.Errorf("registry list --format json --system C = %+v", rows)
	}
	if r := o.run("registry list", "--format", "table", "--status", "Deprecated"); r.code != 0 ||
		!strings.HasPrefix(r.stdout, "master_key") || !strings.Contains(r.stderr, "no master keys match") {
		t.Errorf("an empty table: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	opsFails(t, "bad status", o.run("registry list", "--status", "Open"), ExitUsage, `"Open"`)
	opsFails(t, "bad format", o.run("registry list", "--format", "xml"), ExitUsage, `"xml"`)
	opsFails(t, "an argument", o.run("registry list", "Proposed"), ExitUsage, "no arguments")
}

func TestRegistryApproveAllProposed(t *testing.T) {
	o := newSyncedCase(t)
	o.write("C.csv", "source_key\nx_1\ny.1\n")
	o.ok("sync")                                                                                // Y-1 Proposed
	o.ok("registry deprecate", "--by", "carol", "Y-1")                                          // command 3
	out := o.ok("registry approve", "--all-proposed", "--by", "bob", "--reason", "bulk review") // command 4
	opsWant(t, "stdout", out, "X-1\tActive\nX-2\tActive\n")

	opsWant(t, "registry", o.query(`SELECT master_key, status, updated_at FROM master_key_registry ORDER BY master_key`),
		[]string{"X-1|Active|" + opsTS(o.now(4)), "X-2|Active|" + opsTS(o.now(4)), "Y-1|Deprecated|" + opsTS(o.now(3))})
	opsWant(t, "audit", o.query(`SELECT COALESCE(run_id, ''), payload, created_at FROM audit_log
		WHERE event_type = 'master_key_approved' ORDER BY event_id`), []string{
		`|{"master_key":"X-1","from":"Proposed","to":"Active","by":"bob","reason":"bulk review"}|` + opsTS(o.now(4)),
		`|{"master_key":"X-2","from":"Proposed","to":"Active","by":"bob","reason":"bulk review"}|` + opsTS(o.now(4)),
	})

	// Visible in registry list, in the audit command and in the next sync's registry report.
	opsWant(t, "registry list --status Active", len(opsCSV(t, o.ok("registry list", "--status", "Active"))), 3)
	if audit := o.ok("audit", "--type", "master_key_approved"); strings.Count(audit, "bob") != 2 {
		t.Errorf("keysync audit --type master_key_approved does not show bob's two approvals:\n%s", audit)
	}
	o.ok("sync")
	opsWant(t, "master_key_registry.csv", opsCSV(t, o.read("output/master_key_registry.csv")), [][]string{
		{"master_key", "source_system", "source_key", "status", "created_at", "updated_at"},
		{"X-1", "B", "x-1", "Active", opsTS(o.now(1)), opsTS(o.now(4))},
		{"X-2", "B", "x 2", "Active", opsTS(o.now(1)), opsTS(o.now(4))},
		{"Y-1", "C", "y.1", "Deprecated", opsTS(o.now(2)), opsTS(o.now(3))},
	})

	// Nothing left to approve: a note, no change, no event.
	events := o.query(`SELECT COUNT(*) FROM audit_log`)
	r := o.run("registry approve", "--all-proposed")
	if r.code != 0 || r.stdout != "" || !strings.Contains(r.stderr, "no Proposed master keys") {
		t.Errorf("approve --all-proposed with none Proposed: exit %d (%v), stdout %q, stderr %q", r.code, r.err, r.stdout, r.stderr)
	}
	opsWant(t, "events after an empty --all-proposed", o.query(`SELECT COUNT(*) FROM audit_log`), events)
}

func TestRegistryApproveAllProposedErrors(t *testing.T) {
	o := newSyncedCase(t)
	before := o.query(`SELECT master_key, status FROM master_key_registry ORDER BY 1`)
	opsFails(t, "keys and --all-proposed", o.run("registry approve", "--all-proposed", "X-1"), ExitUsage, "not both")
	opsFails(t, "neither", o.run("registry approve"), ExitUsage, "at least one master key")
	opsFails(t, "deprecate --all-proposed", o.run("registry deprecate", "--all-proposed"), ExitUsage, "all-proposed")
	o.holdLock()
	opsFails(t, "lock held", o.run("registry approve", "--all-proposed"), ExitLocked, "another keysync run holds the database")
	opsWant(t, "registry after refused approvals", o.query(`SELECT master_key, status FROM master_key_registry ORDER BY 1`), before)
}

// TestOpsHelp checks that every command of this group explains itself with
// examples and takes --config and --db.
func TestOpsHelp(t *testing.T) {
	o := newOpsCase(t)
	for _, words := range []string{
		"registry list", "registry show", "registry export", "registry approve", "registry deprecate",
		"report", "sql", "db status", "db init", "db migrate", "db check", "db backup", "db vacuum", "prune",
	} {
		r := o.raw(append(strings.Fields(words), "--help")...)
		if r.code != 0 {
			t.Errorf("keysync %s --help: exit %d (%v)", words, r.code, r.err)
			continue
		}
		_, examples, ok := strings.Cut(r.stdout, "Examples:\n")
		if !ok || !strings.Contains(examples, "  keysync "+words+" ") {
			t.Errorf("keysync %s --help has no Examples block using it:\n%s", words, r.stdout)
		}
		for _, want := range []string{"--config", "--db"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("keysync %s --help lacks %q:\n%s", words, want, r.stdout)
			}
		}
	}
}
