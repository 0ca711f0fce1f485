package main

// Subprocess tests of the notify: webhook on the real binary: the
// environment variable the URL names is read by the process, the payload
// arrives, and a webhook that fails changes neither the exit code nor
// stdout.

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestNotifyWebhookProcess(t *testing.T) {
	for _, tc := range []struct {
		name string
		code int // the webhook's answer
		args []string
		exit int
		sent string // the audit event
	}{
		{"delivered", http.StatusNoContent, nil, 0, "notification_sent"},
		{"webhook down", http.StatusBadGateway, nil, 0, "notification_failed"},
		{"webhook down, --fail-on-findings", http.StatusBadGateway, []string{"--fail-on-findings"}, 5, "notification_failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var got []map[string]any
			var paths []string
			hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var m map[string]any
				b, _ := io.ReadAll(r.Body)
				_ = json.Unmarshal(b, &m)
				mu.Lock()
				got, paths = append(got, m), append(paths, r.URL.Path)
				mu.Unlock()
				w.WriteHeader(tc.code)
			}))
			defer hook.Close()
			t.Setenv("KEYSYNC_PROCESS_TEST_TOKEN", "tok-9f8e7d")

			dir := t.TempDir()
			writeSmall(t, dir)
			// The same run without notify, on its own database (made on
			// purpose: sync creates none from --db): the outcome to keep.
			mustRun(t, dir, "db", "init", "--db", "plain.db")
			plain := runKeysync(t, dir, append([]string{"sync", "--db", filepath.Join(dir, "plain.db"), "--output", filepath.Join(dir, "plain")}, tc.args...)...)
			writeFile(t, dir, "keysync-config.yaml", smallConfig+"notify:\n  webhook: "+hook.URL+
				"/hooks/${KEYSYNC_PROCESS_TEST_TOKEN}\n  on: [always]\n  retries: 0\n")
			r := runKeysync(t, dir, append([]string{"sync", "--output", filepath.Join(dir, "out")}, tc.args...)...)
			if r.code != tc.exit || plain.code != tc.exit {
				t.Fatalf("exit %d (%d without notify), want %d; stderr:\n%s", r.code, plain.code, tc.exit, r.stderr)
			}
			if r.stdout != plain.stdout {
				t.Errorf("stdout:\n%s\nwant, as without notify:\n%s", r.stdout, plain.stdout)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) != 1 || paths[0] != "/hooks/tok-9f8e7d" {
				t.Fatalf("the webhook got %d requests at %q, want one at /hooks/tok-9f8e7d", len(got), paths)
			}
			if got[0]["run_id"] != 1.0 || got[0]["status"] != "succeeded" {
				t.Errorf("payload = %v, want run 1 succeeded", got[0])
			}
			if tc.sent == "notification_failed" && !strings.Contains(r.stderr, `level=WARN msg="notification failed`) {
				t.Errorf("no warning about the failed notification:\n%s", r.stderr)
			}
			if strings.Contains(r.stderr, "tok-9f8e7d") {
				t.Errorf("the token is in the log:\n%s", r.stderr)
			}
			db := openRO(t, filepath.Join(dir, "keysync.db"))
			if ev := events(t, db, 1); ev[len(ev)-1] != tc.sent {
				t.Errorf("events of run 1 = %v, want them to end with %s", ev, tc.sent)
			}
		})
	}
}
