package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keysync/keysync/pkg/config"
	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/reconcile"
	"github.com/keysync/keysync/pkg/sqlite"
)

// hook is a webhook under test: it records every request and answers with
// the next of codes (the last one once they run out).
type hook struct {
	*httptest.Server
	mu     sync.Mutex
	codes  []int
	bodies [][]byte
	heads  []http.Header
	urls   []string
}

func newHook(t *testing.T, codes ...int) *hook {
	t.Helper()
	h := &hook{codes: codes}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.bodies = append(h.bodies, body)
		h.heads = append(h.heads, r.Header.Clone())
		h.urls = append(h.urls, r.URL.String())
		code := http.StatusOK
		if n := len(h.bodies); len(h.codes) > 0 {
			code = h.codes[min(n, len(h.codes))-1]
		}
		h.mu.Unlock()
		if r.Method != http.MethodPost {
			code = http.StatusMethodNotAllowed
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hook) requests() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.bodies)
}

// payload decodes request i as a generic JSON object, so the test sees the
// field names a receiver sees.
func (h *hook) payload(t *testing.T, i int) map[string]any {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if i >= len(h.bodies) {
		t.Fatalf("the webhook got %d requests, want at least %d", len(h.bodies), i+1)
	}
	var m map[string]any
	if err := json.Unmarshal(h.bodies[i], &m); err != nil {
		t.Fatalf("request %d: body %q is not a JSON object: %v", i, h.bodies[i], err)
	}
	return m
}

// env is a run to notify about: a config over two CSV files in a temp dir,
// and its open database.
type env struct {
	dir string
	cfg *config.Config
	db  *sqlite.DB
}

// newEnv writes A.csv and B.csv (one key per line after the header) and a
// config with extra appended, and opens the database.
func newEnv(t *testing.T, a, b []string, extra string) *env {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, keys []string) {
		data := "source_key\n" + strings.Join(keys, "\n") + "\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("A.csv", a)
	write("B.csv", b)
	src := "sources:\n  A: { path: A.csv }\n  B: { path: B.csv }\n" + extra
	cfg, err := config.Parse(strings.NewReader(src), dir)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	cfg.Path = filepath.Join(dir, "keysync-config.yaml")
	db, _, err := sqlite.Create(context.Background(), filepath.Join(dir, "keysync.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &env{dir: dir, cfg: cfg, db: db}
}

// sync runs one reconciliation and returns it as a notification sees it.
func (e *env) sync(t *testing.T) Run {
	t.Helper()
	start := time.Now()
	res, err := reconcile.Run(context.Background(), e.cfg, e.db, false, slog.New(slog.DiscardHandler))
	return Run{Result: res, Err: err, Mode: keysync.ModeNormal, Config: e.cfg.Path, Started: start, Finished: time.Now()}
}

// notifier is New's Notifier with a fast backoff and a logger into buf.
func notifier(t *testing.T, n config.Notify, buf *bytes.Buffer) *Notifier {
	t.Helper()
	if n.Timeout == 0 {
		n.Timeout = 5 * time.Second
	}
	if n.On == nil {
		n.On = []string{config.NotifyAlways}
	}
	nt := New(n, slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if nt == nil {
		t.Fatal("New returned nil for a configured webhook")
	}
	nt.backoff = time.Millisecond
	return nt
}

// notificationEvents are the notification events of the audit log.
func notificationEvents(t *testing.T, db *sqlite.DB) []keysync.AuditEvent {
	t.Helper()
	all, err := db.Reader().Audit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []keysync.AuditEvent
	for _, e := range all {
		if e.EventType == sqlite.EventNotificationSent || e.EventType == sqlite.EventNotificationFailed {
			out = append(out, e)
		}
	}
	return out
}

func eventPayload(t *testing.T, e keysync.AuditEvent) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(e.Payload), &m); err != nil {
		t.Fatalf("event %d payload %q: %v", e.EventID, e.Payload, err)
	}
	return m
}

func TestPayloadOfASuccessfulRun(t *testing.T) {
	// 12 keys of A missing from B and 12 of B missing in A: more than
	// TopFindings, so the list is cut while the counts are whole.
	var a, b []string
	for i := range 12 {
		a = append(a, "A"+string(rune('a'+i)))
		b = append(b, "B"+string(rune('a'+i)))
	}
	a = append(a, "shared", "dup", "DUP")
	b = append(b, "shared")
	e := newEnv(t, a, b, "")
	clock := time.Date(2024, 6, 1, 2, 0, 0, 0, time.UTC)
	e.db.Now = func() time.Time { return clock }
	r := e.sync(t)
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	h := newHook(t)
	var logs bytes.Buffer
	n := notifier(t, config.Notify{Webhook: h.URL + "/hook", On: []string{config.NotifyFindings}}, &logs)
	n.AfterRun(context.Background(), e.db, r)

	if got := h.requests(); got != 1 {
		t.Fatalf("the webhook got %d requests, want 1", got)
	}
	if ct := h.heads[0].Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	p := h.payload(t, 0)
	for field, want := range map[string]any{
		"run_id":      float64(r.Result.RunID),
		"status":      "succeeded",
		"mode":        "normal",
		"errors":      "",
		"blocked":     nil,
		"config":      e.cfg.Path,
		"started_at":  "2024-06-01T02:00:00Z", // the run's row, by the store's clock
		"finished_at": "2024-06-01T02:00:00Z",
	} {
		if p[field] != want {
			t.Errorf("payload %s = %#v, want %#v", field, p[field], want)
		}
	}
	if _, ok := p["duration_ms"].(float64); !ok {
		t.Errorf("payload duration_ms = %#v, want a number", p["duration_ms"])
	}
	kpis, _ := p["kpis"].(map[string]any)
	for field, want := range map[string]any{
		"missing_in_A_count":        12.0,
		"missing_from_system_count": 13.0, // 12 and DUP
		"duplicate_keys_count":      1.0,
		"auto_approval_rate":        0.0,
	} {
		if kpis[field] != want {
			t.Errorf("payload kpis.%s = %#v, want %#v", field, kpis[field], want)
		}
	}
	systems, _ := p["systems"].([]any)
	if len(systems) != 2 {
		t.Fatalf("payload systems = %#v, want A and B", p["systems"])
	}
	for i, want := range []map[string]any{
		{"system": "A", "role": "authority", "rows_read": 15.0, "duplicate_keys": 1.0},
		{"system": "B", "role": "peer", "rows_read": 13.0, "missing_in_A": 12.0, "missing_from_system": 13.0, "matched": 1.0},
	} {
		got, _ := systems[i].(map[string]any)
		for k, v := range want {
			if got[k] != v {
				t.Errorf("payload systems[%d].%s = %#v, want %#v", i, k, got[k], v)
			}
		}
	}
	top, _ := p["top_findings"].(map[string]any)
	mia, _ := top["missing_in_A"].([]any)
	mfs, _ := top["missing_from_system"].([]any)
	exc, _ := top["exceptions"].([]any)
	if len(mia) != TopFindings || len(mfs) != TopFindings || len(exc) != 1 {
		t.Fatalf("top_findings has %d missing_in_A, %d missing_from_system, %d exceptions; want %d, %d, 1",
			len(mia), len(mfs), len(exc), TopFindings, TopFindings)
	}
	if first, _ := mia[0].(map[string]any); first["key"] != "BA" || first["system"] != "B" || first["master_key"] != "BA" {
		t.Errorf("top_findings.missing_in_A[0] = %v, want key BA of B (report order)", first)
	}
	if first, _ := mfs[0].(map[string]any); first["master_key"] != "AA" || first["system"] != "B" {
		t.Errorf("top_findings.missing_from_system[0] = %v, want AA missing from B", first)
	}
	if text, _ := p["text"].(string); !strings.Contains(text, "succeeded: 12 missing in A, 13 missing from systems, 1 duplicate keys") {
		t.Errorf("payload text = %q", text)
	}

	events := notificationEvents(t, e.db)
	if len(events) != 1 || events[0].EventType != sqlite.EventNotificationSent || int64(events[0].RunID) != r.Result.RunID {
		t.Fatalf("notification events = %+v, want one notification_sent of run %d", events, r.Result.RunID)
	}
	ev := eventPayload(t, events[0])
	if ev["attempts"] != 1.0 || ev["http_status"] != 200.0 || ev["status"] != "succeeded" || ev["webhook"] != h.URL+"/REDACTED" {
		t.Errorf("notification_sent payload = %v", ev)
	}
	if !strings.Contains(logs.String(), "notification sent") {
		t.Errorf("log does not say the notification was sent:\n%s", logs.String())
	}
}

// A webhook that keeps failing is retried, then given up: logged as a
// warning and audited, and AfterRun returns normally (it has no error to
// give: the run's outcome cannot change).
func TestFailingWebhook(t *testing.T) {
	e := newEnv(t, []string{"k"}, []string{"k"}, "")
	r := e.sync(t)
	h := newHook(t, http.StatusInternalServerError)
	var logs bytes.Buffer
	n := notifier(t, config.Notify{Webhook: h.URL, Retries: 2}, &logs)
	n.AfterRun(context.Background(), e.db, r)

	if got := h.requests(); got != 3 {
		t.Errorf("the webhook got %d requests, want 3 (1 + 2 retries)", got)
	}
	events := notificationEvents(t, e.db)
	if len(events) != 1 || events[0].EventType != sqlite.EventNotificationFailed || int64(events[0].RunID) != r.Result.RunID {
		t.Fatalf("notification events = %+v, want one notification_failed of run %d", events, r.Result.RunID)
	}
	ev := eventPayload(t, events[0])
	if ev["attempts"] != 3.0 || ev["http_status"] != 500.0 || !strings.Contains(ev["error"].(string), "500") {
		t.Errorf("notification_failed payload = %v", ev)
	}
	if !strings.Contains(logs.String(), "level=WARN msg=\"notification failed") {
		t.Errorf("no warning logged:\n%s", logs.String())
	}
	// The run itself is untouched.
	rec, err := e.db.Reader().Run(context.Background(), r.Result.RunID)
	if err != nil || rec.Status != keysync.RunSucceeded {
		t.Errorf("run %d: status %q, err %v; want succeeded", r.Result.RunID, rec.Status, err)
	}
}

func TestRetries(t *testing.T) {
	for _, tc := range []struct {
		name      string
		codes     []int
		retries   int
		requests  int
		event     keysync.EventType
		wantCode  float64
		wantError string
	}{
		{"429 then 200", []int{429, 200}, 2, 2, sqlite.EventNotificationSent, 200, ""},
		{"503, 502 then 204", []int{503, 502, 204}, 2, 3, sqlite.EventNotificationSent, 204, ""},
		{"408 then 200", []int{408, 200}, 1, 2, sqlite.EventNotificationSent, 200, ""},
		{"500 without retries", []int{500, 200}, 0, 1, sqlite.EventNotificationFailed, 500, "500"},
		{"404 is final", []int{404, 200}, 2, 1, sqlite.EventNotificationFailed, 404, "404 Not Found"},
		{"400 is final", []int{400, 200}, 2, 1, sqlite.EventNotificationFailed, 400, "400"},
		{"a redirect is not followed", []int{302, 200}, 2, 1, sqlite.EventNotificationFailed, 302, "redirects are not followed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, []string{"k"}, []string{"k"}, "")
			r := e.sync(t)
			h := newHook(t, tc.codes...)
			var logs bytes.Buffer
			notifier(t, config.Notify{Webhook: h.URL, Retries: tc.retries}, &logs).AfterRun(context.Background(), e.db, r)
			if got := h.requests(); got != tc.requests {
				t.Errorf("the webhook got %d requests, want %d", got, tc.requests)
			}
			events := notificationEvents(t, e.db)
			if len(events) != 1 || events[0].EventType != tc.event {
				t.Fatalf("notification events = %+v, want one %s", events, tc.event)
			}
			ev := eventPayload(t, events[0])
			if ev["http_status"] != tc.wantCode || ev["attempts"] != float64(tc.requests) {
				t.Errorf("event payload = %v, want http_status %v after %d attempts", ev, tc.wantCode, tc.requests)
			}
			if msg, _ := ev["error"].(string); tc.wantError != "" && !strings.Contains(msg, tc.wantError) {
				t.Errorf("event error = %q, want it to say %q", msg, tc.wantError)
			}
		})
	}
}

// A webhook that does not answer within the timeout fails the notification
// (each attempt), not the run.
func TestSlowWebhookTimesOut(t *testing.T) {
	e := newEnv(t, []string{"k"}, []string{"k"}, "")
	r := e.sync(t)
	release := make(chan struct{})
	var mu sync.Mutex
	requests := 0
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		requests++
		mu.Unlock()
		select { // hold the request until the client gives up or the test ends
		case <-req.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })

	var logs bytes.Buffer
	n := notifier(t, config.Notify{Webhook: slow.URL, Timeout: 100 * time.Millisecond, Retries: 1}, &logs)
	n.AfterRun(context.Background(), e.db, r)

	// On a loaded machine the second attempt may time out before the server
	// sees it, so the server's count is only a lower bound; the attempts
	// audited are exact.
	mu.Lock()
	if requests < 1 {
		t.Errorf("the slow webhook got %d requests, want at least 1", requests)
	}
	mu.Unlock()
	events := notificationEvents(t, e.db)
	if len(events) != 1 || events[0].EventType != sqlite.EventNotificationFailed {
		t.Fatalf("notification events = %+v, want one notification_failed", events)
	}
	ev := eventPayload(t, events[0])
	if ev["attempts"] != 2.0 {
		t.Errorf("event attempts = %v, want 2 (a timeout is retried)", ev["attempts"])
	}
	if msg, _ := ev["error"].(string); !strings.Contains(msg, "no answer within the timeout of 100ms") {
		t.Errorf("event error = %q, want the timeout", msg)
	}
	if ev["http_status"] != 0.0 {
		t.Errorf("event http_status = %v, want 0 (no answer)", ev["http_status"])
	}
}

func TestWants(t *testing.T) {
	blocked := &reconcile.BlockedError{Guard: "min_rows", System: "B", Msg: "few"}
	failed := errors.New("source \"B\": read B.csv: no such file")
	runs := map[string]Run{
		"clean":    {},
		"findings": {Result: reconcile.Result{KPIs: sqlite.KPIs{MissingFromSystem: 1}}},
		"dups":     {Result: reconcile.Result{KPIs: sqlite.KPIs{DuplicateKeys: 2}}},
		"failed":   {Err: failed},
		"blocked":  {Err: blocked},
		"wrapped":  {Err: errors.Join(errors.New("context"), blocked)},
		// A run that committed but could not write its reports failed,
		// whatever it found.
		"failed with findings": {Err: failed, Result: reconcile.Result{KPIs: sqlite.KPIs{MissingInA: 3}}},
	}
	for _, tc := range []struct {
		on   []string
		want []string // the runs notified, the others not
	}{
		{[]string{"failure"}, []string{"failed", "failed with findings"}},
		{[]string{"blocked"}, []string{"blocked", "wrapped"}},
		{[]string{"findings"}, []string{"findings", "dups"}},
		{[]string{"failure", "blocked"}, []string{"failed", "failed with findings", "blocked", "wrapped"}},
		{[]string{"always"}, []string{"clean", "findings", "dups", "failed", "blocked", "wrapped", "failed with findings"}},
		{[]string{"findings", "always"}, []string{"clean", "findings", "dups", "failed", "blocked", "wrapped", "failed with findings"}},
	} {
		for name, r := range runs {
			want := false
			for _, w := range tc.want {
				want = want || w == name
			}
			if got := Wants(config.Notify{Webhook: "https://h.example", On: tc.on}, r); got != want {
				t.Errorf("on %v, run %q: Wants = %v, want %v", tc.on, name, got, want)
			}
		}
	}
}

func TestStatus(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want keysync.RunStatus
	}{
		{nil, keysync.RunSucceeded},
		{errors.New("boom"), keysync.RunFailed},
		{&reconcile.BlockedError{Guard: "min_rows"}, keysync.RunBlocked},
	} {
		if got := (Run{Err: tc.err}).Status(); got != tc.want {
			t.Errorf("Status(%v) = %s, want %s", tc.err, got, tc.want)
		}
	}
}

// A blocked run is notified with its guard, and without findings (it has none).
func TestPayloadOfABlockedRun(t *testing.T) {
	e := newEnv(t, []string{"a", "b"}, []string{"a"}, "safety: { min_rows: { B: 5 } }\n")
	r := e.sync(t)
	if r.Status() != keysync.RunBlocked {
		t.Fatalf("run status %s (%v), want blocked", r.Status(), r.Err)
	}
	h := newHook(t)
	var logs bytes.Buffer
	notifier(t, config.Notify{Webhook: h.URL, On: []string{"blocked"}}, &logs).AfterRun(context.Background(), e.db, r)
	p := h.payload(t, 0)
	if p["status"] != "blocked" || p["run_id"] != float64(r.Result.RunID) || p["kpis"] != nil || p["top_findings"] != nil {
		t.Errorf("payload = %v, want status blocked, the run id, no kpis or findings", p)
	}
	if b, _ := p["blocked"].(map[string]any); b["guard"] != "min_rows" || b["system"] != "B" {
		t.Errorf("payload blocked = %v, want min_rows on B", p["blocked"])
	}
	if s, _ := p["systems"].([]any); s == nil || len(s) != 0 {
		t.Errorf("payload systems = %#v, want []", p["systems"])
	}
	if msg, _ := p["errors"].(string); !strings.Contains(msg, "min_rows") {
		t.Errorf("payload errors = %q, want the guard's message", msg)
	}
}

// A run that failed before it had a run id (no database) is notified with
// run_id null, and cannot be audited.
func TestPayloadWithoutARun(t *testing.T) {
	h := newHook(t)
	var logs bytes.Buffer
	started := time.Date(2024, 6, 1, 2, 0, 0, 0, time.UTC)
	r := Run{
		Err:      errors.New("another keysync run holds the database"),
		Mode:     keysync.ModeDryRun,
		Config:   "/etc/keysync/keysync-config.yaml",
		Started:  started,
		Finished: started.Add(1500 * time.Millisecond),
	}
	notifier(t, config.Notify{Webhook: h.URL, On: []string{"failure"}}, &logs).AfterRun(context.Background(), nil, r)
	p := h.payload(t, 0)
	for field, want := range map[string]any{
		"run_id":      nil,
		"status":      "failed",
		"mode":        "dry-run",
		"errors":      "another keysync run holds the database",
		"started_at":  "2024-06-01T02:00:00Z",
		"finished_at": "2024-06-01T02:00:01Z",
		"duration_ms": 1500.0,
		"kpis":        nil,
	} {
		if p[field] != want {
			t.Errorf("payload %s = %#v, want %#v", field, p[field], want)
		}
	}
	if _, ok := p["run_id"]; !ok {
		t.Error("payload has no run_id field; want it null")
	}
	if text, _ := p["text"].(string); !strings.Contains(text, "failed: another keysync run holds the database") {
		t.Errorf("payload text = %q", text)
	}
	if !strings.Contains(logs.String(), "not audited") {
		t.Errorf("log does not say the notification was not audited:\n%s", logs.String())
	}
}

// A run id recorded with a database that failed before it had one gets an
// event with a NULL run id.
func TestAuditWithoutRunID(t *testing.T) {
	e := newEnv(t, []string{"k"}, []string{"k"}, "")
	h := newHook(t)
	var logs bytes.Buffer
	notifier(t, config.Notify{Webhook: h.URL}, &logs).AfterRun(context.Background(), e.db,
		Run{Err: errors.New("start run: disk I/O error"), Started: time.Now(), Finished: time.Now()})
	events := notificationEvents(t, e.db)
	if len(events) != 1 || events[0].RunID != 0 || events[0].EventType != sqlite.EventNotificationSent {
		t.Fatalf("notification events = %+v, want one notification_sent without a run id", events)
	}
}

func TestOnFiltersOut(t *testing.T) {
	e := newEnv(t, []string{"k"}, []string{"k"}, "")
	r := e.sync(t) // succeeded, nothing found
	h := newHook(t)
	var logs bytes.Buffer
	notifier(t, config.Notify{Webhook: h.URL, On: []string{"failure", "blocked", "findings"}}, &logs).
		AfterRun(context.Background(), e.db, r)
	if got := h.requests(); got != 0 {
		t.Errorf("the webhook got %d requests for a clean run with on: [failure, blocked, findings]", got)
	}
	if got := notificationEvents(t, e.db); len(got) != 0 {
		t.Errorf("notification events = %+v, want none", got)
	}
}

// The webhook's secrets (user info, path, query, an expanded ${NAME}) are in
// no log line and no audit event, whatever happens to the notification; the
// request itself does go to the expanded URL.
func TestSecretsAreRedacted(t *testing.T) {
	const secret = "s3cr3t-t0ken"
	t.Setenv("KEYSYNC_TEST_HOOK_TOKEN", secret)
	for _, tc := range []struct {
		name  string
		codes []int
		down  bool
	}{
		{"delivered", []int{200}, false},
		{"server error", []int{500}, false},
		{"refused", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, []string{"k"}, []string{"k"}, "")
			r := e.sync(t)
			h := newHook(t, tc.codes...)
			u := strings.Replace(h.URL, "http://", "http://user:"+secret+"@", 1) +
				"/services/${KEYSYNC_TEST_HOOK_TOKEN}?token=${KEYSYNC_TEST_HOOK_TOKEN}"
			if tc.down {
				h.Close()
			}
			var logs bytes.Buffer
			notifier(t, config.Notify{Webhook: u, Retries: 1}, &logs).AfterRun(context.Background(), e.db, r)
			if !tc.down {
				if got := h.urls[0]; got != "/services/"+secret+"?token="+secret {
					t.Errorf("request URL = %q, want the expanded path and query", got)
				}
				if user, pass, ok := (&http.Request{Header: h.heads[0]}).BasicAuth(); !ok || user != "user" || pass != secret {
					t.Errorf("basic auth = %q, %q, %v; want the URL's user info", user, pass, ok)
				}
			}
			events := notificationEvents(t, e.db)
			if len(events) != 1 {
				t.Fatalf("notification events = %+v, want one", events)
			}
			for what, text := range map[string]string{"log": logs.String(), "audit event": string(events[0].Payload)} {
				if strings.Contains(text, secret) {
					t.Errorf("%s shows the secret:\n%s", what, text)
				}
				if !strings.Contains(text, "REDACTED") {
					t.Errorf("%s does not name the webhook in redacted form:\n%s", what, text)
				}
			}
		})
	}
}

// An unset variable in the webhook fails the notification, not the run, and
// the message names the variable.
func TestUnsetVariable(t *testing.T) {
	e := newEnv(t, []string{"k"}, []string{"k"}, "")
	r := e.sync(t)
	var logs bytes.Buffer
	n := notifier(t, config.Notify{Webhook: "https://hooks.example.com/${KEYSYNC_TEST_UNSET_VARIABLE}"}, &logs)
	n.lookup = func(string) (string, bool) { return "", false }
	n.AfterRun(context.Background(), e.db, r)
	events := notificationEvents(t, e.db)
	if len(events) != 1 || events[0].EventType != sqlite.EventNotificationFailed {
		t.Fatalf("notification events = %+v, want one notification_failed", events)
	}
	ev := eventPayload(t, events[0])
	if msg, _ := ev["error"].(string); !strings.Contains(msg, "KEYSYNC_TEST_UNSET_VARIABLE is not set") || ev["attempts"] != 0.0 {
		t.Errorf("event = %v, want the unset variable named and no attempt", ev)
	}
}

// A run interrupted by a signal is still notified (one attempt); the
// cancellation only stops the retries.
func TestCancelledContextStillSendsOnce(t *testing.T) {
	e := newEnv(t, []string{"k"}, []string{"k"}, "")
	r := e.sync(t)
	h := newHook(t, 500)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var logs bytes.Buffer
	notifier(t, config.Notify{Webhook: h.URL, Retries: 3}, &logs).AfterRun(ctx, e.db, r)
	if got := h.requests(); got != 1 {
		t.Errorf("the webhook got %d requests, want 1", got)
	}
	events := notificationEvents(t, e.db)
	if len(events) != 1 || events[0].EventType != sqlite.EventNotificationFailed {
		t.Fatalf("notification events = %+v, want one notification_failed", events)
	}
	if msg, _ := eventPayload(t, events[0])["error"].(string); !strings.Contains(msg, "retries stopped") {
		t.Errorf("event error = %q, want it to say the retries stopped", msg)
	}
}

func TestNewWithoutWebhook(t *testing.T) {
	var n *Notifier = New(config.Notify{}, slog.New(slog.DiscardHandler))
	if n != nil {
		t.Fatal("New returned a Notifier without a webhook")
	}
	n.AfterRun(context.Background(), nil, Run{Err: errors.New("x")}) // a nil Notifier does nothing
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2024, 6, 1, 2, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		h    string
		want time.Duration
	}{
		{"", 0},
		{"3", 3 * time.Second},
		{" 0 ", 0},
		{"-5", 0},
		{"Sat, 01 Jun 2024 02:00:10 GMT", 10 * time.Second},
		{"Sat, 01 Jun 2024 01:59:00 GMT", 0},
		{"soon", 0},
	} {
		if got := retryAfter(tc.h, now); got != tc.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tc.h, got, tc.want)
		}
	}
}
