package app

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// histEventLines renders audit CSV rows as "run_id event_type created_at".
func histEventLines(rows []map[string]string) []string {
	out := []string{}
	for _, r := range rows {
		out = append(out, fmt.Sprintf("%s %s %s", r["run_id"], r["event_type"], r["created_at"]))
	}
	return out
}

func TestAudit(t *testing.T) {
	f := newHistory(t)
	// The whole log of the shared history, oldest first.
	all := []string{
		"1 run_started 2024-06-01T02:00:00Z",
		"1 master_key_proposed 2024-06-01T02:00:00Z",
		"1 master_key_proposed 2024-06-01T02:00:00Z",
		"1 run_succeeded 2024-06-01T02:00:00Z",
		" master_key_approved 2024-06-02T03:00:00Z",
		"2 run_started 2024-06-02T02:00:00Z",
		"2 run_succeeded 2024-06-02T02:00:00Z",
		"3 run_started 2024-06-03T02:00:00Z",
		"3 run_failed 2024-06-03T02:00:00Z",
		"4 run_started 2024-06-04T02:00:00Z",
		"4 run_succeeded 2024-06-04T02:00:00Z",
	}
	for _, tt := range []struct {
		name string
		args []string
		want []string
	}{
		{"everything", nil, all},
		{"run", []string{"--run", "3"}, all[7:9]},
		{"type", []string{"--type", "master_key_approved"}, all[4:5]},
		{"date", []string{"--since", "2024-06-03"}, all[7:]},
		{"RFC 3339 with an offset", []string{"--since", "2024-06-02T04:00:00+02:00"}, all[4:]},
		{"a fraction rounds up", []string{"--since", "2024-06-04T02:00:00.5Z"}, []string{}},
		{"limit keeps the newest, oldest first", []string{"--limit", "3"}, all[8:]},
		{"limit 0 is everything", []string{"--limit", "0"}, all},
		{"filters combine", []string{"--type", "run_started", "--since", "2024-06-02", "--limit", "2"}, []string{all[7], all[9]}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := f.cmd("audit", append([]string{"--format", "csv"}, tt.args...)...)
			histExit(t, r, 0)
			header, rows := histCSV(t, r.stdout)
			histWant(t, "header", header, []string{"event_id", "run_id", "event_type", "payload", "created_at"})
			histWant(t, "events", histEventLines(rows), tt.want)
		})
	}

	r := f.cmd("audit", "--type", "master_key_approved", "--format", "json")
	histExit(t, r, 0)
	var js []struct {
		RunID   *int64            `json:"run_id"`
		Payload map[string]string `json:"payload"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil {
		t.Fatalf("json: %v\n%s", err, r.stdout)
	}
	if len(js) != 1 || js[0].RunID != nil || js[0].Payload["master_key"] != "X" || js[0].Payload["by"] != "alice" || js[0].Payload["to"] != "Active" {
		t.Errorf("approval event = %+v, want run_id null and payload {master_key X, by alice, to Active}", js)
	}

	// The default limit is 100: the newest 100 events.
	for i := range 50 {
		f.sync(5+i, 0, "--dry-run") // runs 5 to 54, two events each: 111 in all
	}
	_, rows := histCSV(t, f.cmd("audit", "--format", "csv").stdout)
	if len(rows) != 100 || rows[0]["event_id"] != "12" || rows[99]["event_id"] != "111" || rows[99]["run_id"] != "54" {
		t.Errorf("default limit: %d events, from %v to %v; want the newest 100, events 12 to 111", len(rows), rows[0], rows[len(rows)-1])
	}
}

func TestAuditErrors(t *testing.T) {
	f := newHistory(t)
	for _, tt := range []struct {
		name string
		args []string
		want []string
	}{
		{"since a word", []string{"--since", "yesterday"}, []string{`"yesterday"`, "RFC 3339"}},
		{"since a bad date", []string{"--since", "2024-02-30"}, []string{`"2024-02-30"`}},
		{"since without a zone", []string{"--since", "2024-06-01T02:00:00"}, []string{`"2024-06-01T02:00:00"`}},
		{"unknown type", []string{"--type", "run_exploded"}, []string{`"run_exploded"`, "master_key_approved"}},
		{"unknown run", []string{"--run", "77"}, []string{"run 77", "not in the database"}},
		{"negative limit", []string{"--limit", "-1"}, []string{"--limit"}},
		{"argument", []string{"run_started"}, []string{`"run_started"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			histExit(t, f.cmd("audit", tt.args...), ExitUsage, tt.want...)
		})
	}
}

func TestParseSince(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"2024-06-01", "2024-06-01T00:00:00Z"},
		{"2024-06-01T02:03:04Z", "2024-06-01T02:03:04Z"},
		{"2024-06-01T02:03:04-05:00", "2024-06-01T07:03:04Z"},
		{"2024-06-01T02:03:04.000Z", "2024-06-01T02:03:04Z"},
		{"2024-06-01T02:03:04.001Z", "2024-06-01T02:03:05Z"},
	} {
		got, err := parseSince(tt.in)
		if err != nil || got.Format(time.RFC3339) != tt.want {
			t.Errorf("parseSince(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "today", "2024-6-1", "2024-06-01 02:00:00", "1717200000"} {
		if _, err := parseSince(bad); err == nil || ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "--since") {
			t.Errorf("parseSince(%q) = %v, want a usage error naming --since", bad, err)
		}
	}
}
