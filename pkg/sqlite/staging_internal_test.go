package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/keysync/keysync/pkg/keysync"
)

// TestCommitAfterAQueuedFailure: a queued insert that fails after the
// caller moved on (a full disk, say) makes Commit fail with that error
// instead of waiting forever for work the file skips.
func TestCommitAfterAQueuedFailure(t *testing.T) {
	ctx := context.Background()
	db, _, err := Create(ctx, filepath.Join(t.TempDir(), "keysync.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := db.BeginStaging(ctx, 1, []StagingSystem{{Name: "A", Role: keysync.RoleAuthority}, {Name: "B", Role: keysync.RolePeer}})
	if err != nil {
		t.Fatal(err)
	}
	disk := errors.New("disk full")
	if err := st.parts[1].queue(ctx, func(context.Context) error {
		time.Sleep(50 * time.Millisecond) // fails after Commit has queued its own work
		return disk
	}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := st.Commit(ctx); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, disk) {
			t.Errorf("Commit = %v, want the queued failure", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Commit is still waiting 20s after a queued failure")
	}
}

// TestStagingIncompleteMessage: the message names the run when the file
// does, and never "run 0" when it was killed before naming it.
func TestStagingIncompleteMessage(t *testing.T) {
	if got := (&StagingIncompleteError{RunID: 7}).Error(); got != "the staging files hold run 7, which stopped before its staging was complete" {
		t.Errorf("run 7: %q", got)
	}
	if got := (&StagingIncompleteError{}).Error(); got != "the staging files hold a run that stopped before its staging was complete" {
		t.Errorf("unknown run: %q", got)
	}
}
