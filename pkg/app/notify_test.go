package app

// Tests of the notify: webhook and of the progress display as the commands
// wire them: `sync` and `schedule` notify after the run, never change its
// exit code, and show no progress when stderr is not a terminal.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/sqlite"
)

// notifHook is a webhook under test that answers every request with code.
type notifHook struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []map[string]any
	got    chan struct{} // receives once per request
}

func newNotifHook(t *testing.T, code int) *notifHook {
	t.Helper()
	h := &notifHook{got: make(chan struct{}, 100)}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &m); err != nil {
			m = map[string]any{"unparsable": string(body)}
		}
		h.mu.Lock()
		h.bodies = append(h.bodies, m)
		h.mu.Unlock()
		w.WriteHeader(code)
		h.got <- struct{}{}
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *notifHook) payloads() []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]map[string]any(nil), h.bodies...)
}

// notifFixture is a config over input/A.csv and input/B.csv whose notify
// section posts to the webhook, named through an environment variable.
func notifFixture(t *testing.T, h *notifHook, notify string) *histFixture {
	t.Helper()
	t.Setenv("KEYSYNC_TEST_WEBHOOK", h.URL)
	f := newHistFixture(t)
	f.write("keysync-config.yaml", histConfig+"notify:\n  webhook: ${KEYSYNC_TEST_WEBHOOK}/hook?token=t0p-s3cret\n"+notify)
	return f
}

// notifAudit are the notification events of the audit log.
func notifAudit(t *testing.T, dbPath string) []keysync.AuditEvent {
	t.Helper()
	db, err := sqlite.OpenReadOnly(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	all, err := db.Reader().Audit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []keysync.AuditEvent
	for _, e := range all {
		if strings.HasPrefix(string(e.EventType), "notification_") {
			out = append(out, e)
		}
	}
	return out
}

func TestSyncNotifies(t *testing.T) {
	h := newNotifHook(t, http.StatusOK)
	f := notifFixture(t, h, "  on: [findings]\n")
	f.inputs([]string{"K1", "K2"}, []string{"K1", "X"})
	r := histRun(t, histDay(1), []string{"sync"}, f.path("keysync-config.yaml"))
	if r.code != 0 {
		t.Fatalf("sync: exit %d: %v\n%s", r.code, r.err, r.stderr)
	}
	ps := h.payloads()
	if len(ps) != 1 {
		t.Fatalf("the webhook got %d notifications, want 1", len(ps))
	}
	p := ps[0]
	if p["run_id"] != 1.0 || p["status"] != "succeeded" || p["mode"] != "normal" || p["started_at"] != "2024-06-01T02:00:00Z" {
		t.Errorf("payload = %v", p)
	}
	if k, _ := p["kpis"].(map[string]any); k["missing_in_A_count"] != 1.0 || k["missing_from_system_count"] != 1.0 {
		t.Errorf("payload kpis = %v, want 1 missing in A and 1 missing from B", p["kpis"])
	}
	top, _ := p["top_findings"].(map[string]any)
	if mia, _ := top["missing_in_A"].([]any); len(mia) != 1 || mia[0].(map[string]any)["key"] != "X" {
		t.Errorf("payload top_findings.missing_in_A = %v, want X", top["missing_in_A"])
	}
	events := notifAudit(t, f.db())
	if len(events) != 1 || events[0].EventType != "notification_sent" || events[0].RunID != 1 {
		t.Errorf("notification events = %+v, want notification_sent of run 1", events)
	}
	if strings.Contains(r.stderr, "t0p-s3cret") || strings.Contains(string(events[0].Payload), "t0p-s3cret") {
		t.Errorf("the webhook's token is in the log or the audit log:\n%s\n%s", r.stderr, events[0].Payload)
	}

	// A second run with nothing found is not notified with on: [findings].
	f.inputs([]string{"K1"}, []string{"K1"})
	if r := histRun(t, histDay(2), []string{"sync"}, f.path("keysync-config.yaml")); r.code != 0 {
		t.Fatalf("second sync: exit %d: %v", r.code, r.err)
	}
	if got := len(h.payloads()); got != 1 {
		t.Errorf("the webhook got %d notifications after a clean run, want still 1", got)
	}
}

// A webhook that fails changes nothing of the run: same exit code, same
// stdout; a warning in the log and a notification_failed event of the run.
func TestFailingWebhookKeepsTheOutcome(t *testing.T) {
	for _, tc := range []struct {
		name   string
		a, b   []string
		extra  string
		args   []string
		code   int
		status string
	}{
		{"clean", []string{"K1"}, []string{"K1"}, "", nil, ExitOK, "succeeded"},
		{"findings with --fail-on-findings", []string{"K1"}, []string{"X"}, "", []string{"--fail-on-findings"}, ExitFindings, "succeeded"},
		{"blocked", []string{"K1", "K2"}, []string{"K1"}, "safety: { min_rows: 2 }\n", nil, ExitBlocked, "blocked"},
		{"failed", []string{"K1"}, nil, "", nil, ExitFailed, "failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The same run without notify: the outcome to keep.
			quiet := newHistFixture(t)
			quiet.write("keysync-config.yaml", histConfig+tc.extra)
			h := newNotifHook(t, http.StatusInternalServerError)
			f := notifFixture(t, h, "  on: [always]\n  retries: 0\n"+tc.extra)
			for _, fx := range []*histFixture{quiet, f} {
				fx.inputs(tc.a, tc.b)
				if tc.b == nil {
					os.Remove(fx.path("input/B.csv"))
				}
			}
			want := histRun(t, histDay(1), []string{"sync"}, quiet.path("keysync-config.yaml"), tc.args...)
			got := histRun(t, histDay(1), []string{"sync"}, f.path("keysync-config.yaml"), tc.args...)
			if want.code != tc.code || got.code != tc.code {
				t.Fatalf("exit codes: %d without notify, %d with a failing webhook; want %d\n%s", want.code, got.code, tc.code, got.stderr)
			}
			if got.stdout != want.stdout {
				t.Errorf("stdout with a failing webhook:\n%s\nwant\n%s", got.stdout, want.stdout)
			}
			if len(h.payloads()) != 1 || h.payloads()[0]["status"] != tc.status {
				t.Errorf("the webhook got %v, want one %s notification", h.payloads(), tc.status)
			}
			if !strings.Contains(got.stderr, `level=WARN msg="notification failed`) {
				t.Errorf("no warning in the log:\n%s", got.stderr)
			}
			events := notifAudit(t, f.db())
			if len(events) != 1 || events[0].EventType != sqlite.EventNotificationFailed || events[0].RunID != 1 {
				t.Errorf("notification events = %+v, want notification_failed of run 1", events)
			}
		})
	}
}

// A run that cannot even start (another run holds the database) is
// notified with run_id null; there is no database to audit it in.
func TestNotifyWithoutRunID(t *testing.T) {
	h := newNotifHook(t, http.StatusOK)
	f := notifFixture(t, h, "")
	f.inputs([]string{"K1"}, []string{"K1"})
	lock, err := sqlite.Acquire(f.db())
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	r := histRun(t, histDay(1), []string{"sync"}, f.path("keysync-config.yaml"))
	if r.code != ExitLocked {
		t.Fatalf("sync: exit %d, want %d: %v", r.code, ExitLocked, r.err)
	}
	ps := h.payloads()
	if len(ps) != 1 {
		t.Fatalf("the webhook got %d notifications, want 1", len(ps))
	}
	if v, ok := ps[0]["run_id"]; !ok || v != nil || ps[0]["status"] != "failed" ||
		!strings.Contains(ps[0]["errors"].(string), "another keysync run holds the database") {
		t.Errorf("payload = %v, want run_id null, status failed and the lock's message", ps[0])
	}
}

// `schedule` notifies after each run it makes.
func TestScheduleNotifies(t *testing.T) {
	h := newNotifHook(t, http.StatusOK)
	f := notifFixture(t, h, "  on: [always]\n")
	f.write("keysync-config.yaml", "schedule: \"@every 1s\"\n"+mustRead(t, f.path("keysync-config.yaml")))
	f.inputs([]string{"K1"}, []string{"K1"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb lockedWriter
	done := make(chan error, 1)
	go func() {
		a := New(Env{Stdout: &out, Stderr: &errb})
		done <- a.RunContext(ctx, []string{"keysync", "schedule", "--config", f.path("keysync-config.yaml")})
	}()
	select {
	case <-h.got:
	case err := <-done:
		t.Fatalf("schedule ended before notifying: %v\n%s", err, errb.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("no notification from schedule\n%s", errb.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("schedule: %v", err)
	}
	if p := h.payloads()[0]; p["status"] != "succeeded" || p["run_id"] != 1.0 {
		t.Errorf("payload = %v, want run 1 succeeded", p)
	}
}

// Progress is for terminals only: with stderr a file or a buffer, sync
// writes no progress line and no terminal control sequence.
func TestNoProgressOffTerminal(t *testing.T) {
	f := newHistFixture(t)
	f.inputs([]string{"K1", "K2"}, []string{"K1", "X"})
	stderr, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	var out bytes.Buffer
	a := New(Env{Stdout: &out, Stderr: stderr, Now: func() time.Time { return histDay(1) }})
	if err := a.RunContext(context.Background(), []string{"keysync", "sync", "--config", f.path("keysync-config.yaml")}); err != nil {
		t.Fatal(err)
	}
	logs := mustRead(t, stderr.Name())
	for _, bad := range []string{"\r", "\x1b[", " rows ", "load ", "compare "} {
		if strings.Contains(logs, bad) {
			t.Errorf("stderr holds %q off a terminal:\n%s", bad, logs)
		}
	}
	if strings.ContainsAny(out.String(), "\r\x1b") {
		t.Errorf("stdout holds terminal control characters:\n%q", out.String())
	}
	if !strings.Contains(logs, `msg="run succeeded"`) {
		t.Errorf("stderr lacks the usual log:\n%s", logs)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// lockedWriter is a bytes.Buffer safe for the scheduler's goroutines.
type lockedWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
