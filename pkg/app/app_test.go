package app

import (
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
