package report_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/report"
)

// headers are the columns of each artifact, exactly as SPEC §7 lists them.
var headers = map[string][]string{
	report.SummaryName:           {"run_id", "system", "role", "rows_read", "rows_rejected", "distinct_keys", "duplicate_keys", "matched", "missing_in_A", "missing_from_system", "pending", "suppressed", "filtered"},
	report.MissingInAName:        {"run_id", "system", "source_key", "key", "master_key", "status", "entity_type", "location_ref", "last_seen_at"},
	report.MissingFromSystemName: {"run_id", "system", "master_key", "source_key", "entity_type", "location_ref", "last_seen_at"},
	report.RegistryName:          {"master_key", "source_system", "source_key", "status", "created_at", "updated_at"},
	report.AuditName:             {"event_id", "run_id", "event_type", "payload", "created_at"},
	report.ExceptionsName:        {"run_id", "kind", "system", "key", "count", "detail", "cause"},
	report.RejectedName:          {"run_id", "system", "record", "raw_key", "reason"},
}

var both = []string{report.FormatCSV, report.FormatJSON}

// finalNames are the file names of every artifact in formats.
func finalNames(formats []string) []string {
	var names []string
	for name := range headers {
		for _, f := range formats {
			names = append(names, name+"."+f)
		}
	}
	slices.Sort(names)
	return names
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readCSV parses a report, checking its line ends are LF.
func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	b := readFile(t, path)
	if bytes.Contains(b, []byte("\r\n")) {
		t.Errorf("%s has CRLF line ends, want LF", filepath.Base(path))
	}
	records, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", filepath.Base(path), err)
	}
	return records
}

// readJSON parses a JSON report, which must be an array of objects.
func readJSON(t *testing.T, path string) []map[string]any {
	t.Helper()
	var rows []map[string]any
	b := readFile(t, path)
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatalf("%s: %v\n%s", filepath.Base(path), err, b)
	}
	if rows == nil {
		t.Errorf("%s = %s, want a JSON array", filepath.Base(path), bytes.TrimSpace(b))
	}
	return rows
}

// emptySet is a set with no rows, as the store's Reader returns it.
func emptySet() report.Set {
	return report.Set{
		Summary:           []keysync.SummaryRow{},
		MissingInA:        []keysync.MissingInA{},
		MissingFromSystem: []keysync.MissingFromSystem{},
		Registry:          []keysync.RegistryEntry{},
		Audit:             []keysync.AuditEvent{},
		Exceptions:        []keysync.Exception{},
		Rejected:          []keysync.RejectedRow{},
	}
}

// sampleSet has one row in each artifact; the audit log has an operator
// event (no run) and a run event.
func sampleSet() report.Set {
	return report.Set{
		Summary: []keysync.SummaryRow{{RunID: 7, System: "A", Role: keysync.RoleAuthority, RowsRead: 3, DistinctKeys: 3, Matched: 3}},
		MissingInA: []keysync.MissingInA{{RunID: 7, System: "B", SourceKey: `x,"1"`, Key: "X1", MasterKey: "X1",
			Status: "Proposed", EntityType: "Invoice", LocationRef: "WH-1, bin 2", LastSeenAt: "2024-01-01T00:00:00Z"}},
		MissingFromSystem: []keysync.MissingFromSystem{{RunID: 7, System: "B", MasterKey: "K2", SourceKey: "k2"}},
		Registry: []keysync.RegistryEntry{{MasterKey: "X1", SourceSystem: "B", SourceKey: `x,"1"`,
			Status: keysync.StatusProposed, CreatedAt: "2024-03-01T02:00:00Z", UpdatedAt: "2024-03-01T02:00:00Z"}},
		Audit: []keysync.AuditEvent{
			{EventID: 1, RunID: 7, EventType: keysync.EventMasterKeyProposed,
				Payload: `{"master_key":"X1","from":"","to":"Proposed","by":"auto"}`, CreatedAt: "2024-03-01T02:00:00Z"},
			{EventID: 2, RunID: 0, EventType: keysync.EventMasterKeyApproved,
				Payload: `{"master_key":"X1","from":"Proposed","to":"Active","by":"alice","reason":"ok"}`, CreatedAt: "2024-03-01T03:00:00Z"},
		},
		Exceptions: []keysync.Exception{{RunID: 7, Kind: keysync.KindDuplicate, System: "B", Key: "X1", Count: 2, Detail: "x1 | X1", Cause: keysync.CauseNormalized}},
		Rejected:   []keysync.RejectedRow{{RunID: 7, System: "B", Record: 4, RawKey: "--", Reason: keysync.RejectEmptyKey}},
	}
}

func TestStageCommit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "output") // Stage creates it
	p, err := report.Stage(dir, both, sampleSet())
	if err != nil {
		t.Fatal(err)
	}
	// Only temporary dot-files until Commit.
	staged := listDir(t, dir)
	if got, want := len(staged), len(finalNames(both)); got != want {
		t.Errorf("Stage wrote %d files, want %d: %v", got, want, staged)
	}
	for _, name := range staged {
		if !strings.HasPrefix(name, ".") || !strings.Contains(name, ".tmp") {
			t.Errorf("after Stage, %s is visible; want only temporary dot-files", name)
		}
	}

	if err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	if got, want := listDir(t, dir), finalNames(both); !slices.Equal(got, want) {
		t.Errorf("after Commit: %v, want %v", got, want)
	}
	for _, name := range finalNames(both) {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o644 {
			t.Errorf("%s mode = %v, want 0644", name, fi.Mode().Perm())
		}
	}
}

func TestStageDiscard(t *testing.T) {
	dir := t.TempDir()
	// Previous reports are left untouched by a discarded stage.
	old := filepath.Join(dir, report.SummaryName+".csv")
	if err := os.WriteFile(old, []byte("previous\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := report.Stage(dir, both, sampleSet())
	if err != nil {
		t.Fatal(err)
	}
	p.Discard()
	if got, want := listDir(t, dir), []string{report.SummaryName + ".csv"}; !slices.Equal(got, want) {
		t.Errorf("after Discard: %v, want %v", got, want)
	}
	if got := string(readFile(t, old)); got != "previous\n" {
		t.Errorf("previous report = %q after Discard", got)
	}
}

func TestCommitReplacesExistingFiles(t *testing.T) {
	dir := t.TempDir()
	for _, name := range finalNames(both) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("previous\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := report.Stage(dir, both, sampleSet())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range finalNames(both) {
		if got := string(readFile(t, filepath.Join(dir, name))); got != "previous\n" {
			t.Errorf("%s changed before Commit: %q", name, got)
		}
	}
	if err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	if got, want := listDir(t, dir), finalNames(both); !slices.Equal(got, want) {
		t.Errorf("after Commit: %v, want %v", got, want)
	}
	for name := range headers {
		if got := readCSV(t, filepath.Join(dir, name+".csv")); len(got) < 2 || !slices.Equal(got[0], headers[name]) {
			t.Errorf("%s.csv after Commit = %q, want the new header and rows", name, got)
		}
		if got := readJSON(t, filepath.Join(dir, name+".json")); len(got) == 0 {
			t.Errorf("%s.json is empty after Commit", name)
		}
	}
}

// TestStageFailureLeavesNothing: an unknown format fails the stage and
// removes what was already written.
func TestStageFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	if _, err := report.Stage(dir, []string{report.FormatCSV, "xml"}, sampleSet()); err == nil {
		t.Fatal("Stage with format xml succeeded")
	}
	if got := listDir(t, dir); len(got) != 0 {
		t.Errorf("a failed Stage left %v", got)
	}
}

// TestEmptyReports: with no rows, every CSV is its SPEC §7 header alone and
// every JSON file an empty array.
func TestEmptyReports(t *testing.T) {
	sets := []struct {
		name string
		set  report.Set
	}{
		{name: "empty slices", set: emptySet()},
		// The zero Set; the store's Reader never returns nil slices, so no
		// run writes this today, but report.Write accepts it.
		{name: "nil slices", set: report.Set{}},
	}
	for _, s := range sets {
		t.Run(s.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := report.Write(dir, both, s.set); err != nil {
				t.Fatal(err)
			}
			for name, want := range headers {
				t.Run(name, func(t *testing.T) {
					got := readCSV(t, filepath.Join(dir, name+".csv"))
					if len(got) != 1 || !slices.Equal(got[0], want) {
						t.Errorf("%s.csv = %q, want the header %q alone", name, got, want)
					}
					if rows := readJSON(t, filepath.Join(dir, name+".json")); len(rows) != 0 {
						t.Errorf("%s.json has %d objects, want none", name, len(rows))
					}
				})
			}
		})
	}
}

// TestReportContents: rows are written in order; JSON objects have the CSV
// columns as fields; payload is an embedded object in JSON and its text in
// CSV; an absent run_id is empty in CSV and null in JSON.
func TestReportContents(t *testing.T) {
	dir := t.TempDir()
	set := sampleSet()
	if err := report.Write(dir, both, set); err != nil {
		t.Fatal(err)
	}
	for name, header := range headers {
		records := readCSV(t, filepath.Join(dir, name+".csv"))
		if !slices.Equal(records[0], header) {
			t.Errorf("%s.csv header = %q, want %q", name, records[0], header)
		}
		for i, obj := range readJSON(t, filepath.Join(dir, name+".json")) {
			var keys []string
			for k := range obj {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			want := slices.Sorted(slices.Values(header))
			if !slices.Equal(keys, want) {
				t.Errorf("%s.json object %d has fields %v, want %v", name, i, keys, want)
			}
		}
	}

	// CSV quoting round-trips awkward values.
	mia := readCSV(t, filepath.Join(dir, report.MissingInAName+".csv"))
	if got, want := mia[1], []string{"7", "B", `x,"1"`, "X1", "X1", "Proposed", "Invoice", "WH-1, bin 2", "2024-01-01T00:00:00Z"}; !slices.Equal(got, want) {
		t.Errorf("diff_missing_in_A.csv row = %q, want %q", got, want)
	}

	audit := readCSV(t, filepath.Join(dir, report.AuditName+".csv"))
	if got, want := len(audit), 3; got != want {
		t.Fatalf("audit_log.csv has %d records, want %d", got, want)
	}
	for i, e := range set.Audit {
		rec := audit[i+1]
		wantRunID := ""
		if e.RunID != 0 {
			wantRunID = "7"
		}
		if rec[1] != wantRunID {
			t.Errorf("audit_log.csv event %d run_id = %q, want %q", e.EventID, rec[1], wantRunID)
		}
		if rec[3] != string(e.Payload) {
			t.Errorf("audit_log.csv event %d payload = %q, want the JSON text %q", e.EventID, rec[3], e.Payload)
		}
	}

	events := readJSON(t, filepath.Join(dir, report.AuditName+".json"))
	if got, want := len(events), 2; got != want {
		t.Fatalf("audit_log.json has %d objects, want %d", got, want)
	}
	for i, e := range set.Audit {
		obj := events[i]
		if got, want := obj["event_id"], float64(e.EventID); got != want {
			t.Errorf("audit_log.json object %d event_id = %v, want %v (rows out of order?)", i, got, want)
		}
		var wantRunID any // null
		if e.RunID != 0 {
			wantRunID = float64(e.RunID)
		}
		if got, ok := obj["run_id"]; !ok || got != wantRunID {
			t.Errorf("audit_log.json event %d run_id = %v (present %v), want %v", e.EventID, got, ok, wantRunID)
		}
		var wantPayload map[string]any
		if err := json.Unmarshal([]byte(e.Payload), &wantPayload); err != nil {
			t.Fatal(err)
		}
		if got, ok := obj["payload"].(map[string]any); !ok || !reflect.DeepEqual(got, wantPayload) {
			t.Errorf("audit_log.json event %d payload = %#v, want the object %v", e.EventID, obj["payload"], wantPayload)
		}
	}
}

// TestFormats: only the formats asked for are written.
func TestFormats(t *testing.T) {
	dir := t.TempDir()
	if err := report.Write(dir, []string{report.FormatCSV}, sampleSet()); err != nil {
		t.Fatal(err)
	}
	if got, want := listDir(t, dir), finalNames([]string{report.FormatCSV}); !slices.Equal(got, want) {
		t.Errorf("files = %v, want %v", got, want)
	}
	for _, f := range []struct {
		format string
		valid  bool
	}{{"csv", true}, {"json", true}, {"xml", false}, {"CSV", false}, {"", false}} {
		if got := report.ValidFormat(f.format); got != f.valid {
			t.Errorf("ValidFormat(%q) = %v, want %v", f.format, got, f.valid)
		}
	}
}

// TestCommitAllOrNothing: when a rename fails part-way, the files already
// replaced get their previous content back and no temporary file is left.
func TestCommitAllOrNothing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoil func(t *testing.T, dir string)
	}{
		{"a target is a directory", func(t *testing.T, dir string) {
			// Caught before anything is renamed.
			target := filepath.Join(dir, report.RejectedName+".json")
			if err := os.Remove(target); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Join(target, "x"), 0o755); err != nil {
				t.Fatal(err)
			}
		}},
		{"the last staged file vanished", func(t *testing.T, dir string) {
			// Found only by the last rename, after six files were replaced.
			tmps, err := filepath.Glob(filepath.Join(dir, "."+report.RejectedName+".json.tmp-*"))
			if err != nil || len(tmps) != 1 {
				t.Fatalf("temporary file of the last report: %v, %v", tmps, err)
			}
			if err := os.Remove(tmps[0]); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, name := range finalNames(both) {
				if err := os.WriteFile(filepath.Join(dir, name), []byte("previous\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			p, err := report.Stage(dir, both, sampleSet())
			if err != nil {
				t.Fatal(err)
			}
			tc.spoil(t, dir)
			if err := p.Commit(); err == nil {
				t.Fatal("Commit succeeded")
			}
			for _, name := range finalNames(both) {
				path := filepath.Join(dir, name)
				if fi, err := os.Stat(path); err == nil && fi.IsDir() {
					continue
				}
				if got := string(readFile(t, path)); got != "previous\n" {
					t.Errorf("%s after a failed Commit = %.40q, want its previous content", name, got)
				}
			}
			for _, name := range listDir(t, dir) {
				if strings.HasPrefix(name, ".") {
					t.Errorf("a failed Commit left %s", name)
				}
			}
		})
	}
}

func TestFormatsAlwaysCSV(t *testing.T) {
	for _, tc := range []struct{ given, want []string }{
		{nil, []string{"csv"}},
		{[]string{"csv"}, []string{"csv"}},
		{[]string{"json"}, []string{"csv", "json"}},
		{[]string{"json", "csv", "json"}, []string{"csv", "json"}},
	} {
		if got := report.Formats(tc.given...); !slices.Equal(got, tc.want) {
			t.Errorf("Formats(%q) = %q, want %q", tc.given, got, tc.want)
		}
	}
}

// TestStageRefusesADirectory: a report path that is a directory fails the
// stage, while the run can still roll back, and leaves nothing behind.
func TestStageRefusesADirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, report.ExceptionsName+".csv", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := report.Stage(dir, both, sampleSet()); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("Stage = %v, want an error naming the directory", err)
	}
	if got := listDir(t, dir); !slices.Equal(got, []string{report.ExceptionsName + ".csv"}) {
		t.Errorf("after a refused Stage: %v", got)
	}
}

// TestStageRemovesLeftovers: temporary files a killed run left behind are
// removed by the next run's reports.
func TestStageRemovesLeftovers(t *testing.T) {
	dir := t.TempDir()
	left := []string{"." + report.MissingInAName + ".csv.tmp-123", "." + report.AuditName + ".json.tmp-9.prev"}
	for _, name := range left {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("half"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := report.Write(dir, both, sampleSet()); err != nil {
		t.Fatal(err)
	}
	if got, want := listDir(t, dir), finalNames(both); !slices.Equal(got, want) {
		t.Errorf("files = %v, want %v", got, want)
	}
}
