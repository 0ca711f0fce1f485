package app

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/keysync/keysync/pkg/sqlite"
)

// TestReadersWhileLocked: a reading command works while another process holds
// the run lock (it reads without migrating), and a writing one exits 3.
func TestReadersWhileLocked(t *testing.T) {
	o := newSyncedCase(t)
	l, err := sqlite.Acquire(o.db())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	if out := o.ok("registry list", "--format", "csv"); !strings.HasPrefix(out, "master_key,") {
		t.Errorf("registry list under a held lock printed %q", out)
	}
	o.ok("runs list", "--format", "csv")
	if r := o.run("registry approve", "--all-proposed"); r.code != ExitLocked {
		t.Errorf("registry approve under a held lock: exit %d (%v), want %d", r.code, r.err, ExitLocked)
	}
}

// TestLogFlagsEitherSide: the log flags work before the command and after it
// (./run.sh passes its arguments after `sync`).
func TestLogFlagsEitherSide(t *testing.T) {
	o := newOpsCase(t)
	for _, tc := range []struct {
		name string
		args []string
		want func(stderr string) bool
	}{
		{"quiet after", []string{"sync", "--config", o.config(), "--quiet"}, func(s string) bool { return !strings.Contains(s, "level=INFO") }},
		{"quiet before", []string{"--quiet", "sync", "--config", o.config()}, func(s string) bool { return !strings.Contains(s, "level=INFO") }},
		{"json after", []string{"sync", "--config", o.config(), "--log-format", "json"}, func(s string) bool { return strings.HasPrefix(s, `{"time"`) }},
		{"json before", []string{"--log-format", "json", "sync", "--config", o.config()}, func(s string) bool { return strings.HasPrefix(s, `{"time"`) }},
		{"verbose after", []string{"sync", "--config", o.config(), "--verbose"}, func(s string) bool { return strings.Contains(s, "level=DEBUG") }},
		{"default", []string{"sync", "--config", o.config()}, func(s string) bool {
			return strings.Contains(s, "level=INFO") && !strings.Contains(s, "level=DEBUG")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := o.raw(tc.args...)
			if r.code != 0 || !tc.want(r.stderr) {
				t.Errorf("keysync %q: exit %d (%v), stderr:\n%s", tc.args, r.code, r.err, r.stderr)
			}
		})
	}
	if r := o.raw("sync", "--config", o.config(), "--log-format", "xml"); r.code != ExitUsage {
		t.Errorf("--log-format xml after sync: exit %d, want %d", r.code, ExitUsage)
	}
}

// TestReadersLeaveTheLockAlone: on an up-to-date database a reading command
// never takes the run lock (it would make a sync starting then exit 3), so it
// does not even create the lock file.
func TestReadersLeaveTheLockAlone(t *testing.T) {
	o := newSyncedCase(t)
	db := o.path("copy.db")
	if err := os.WriteFile(db, []byte(o.read("keysync.db")), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"runs", "list", "--db", db, "--format", "csv"},
		{"registry", "list", "--db", db, "--format", "csv"},
		{"kpi", "--db", db, "--format", "csv"},
	} {
		if r := o.raw(args...); r.code != 0 {
			t.Fatalf("keysync %q: exit %d (%v)", args, r.code, r.err)
		}
	}
	if _, err := os.Stat(sqlite.LockPath(db)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a reading command created %s (err %v): it took the run lock", sqlite.LockPath(db), err)
	}
}
