package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/keysync/keysync/pkg/keysync"
)

// TransitionError refuses a registry change: the key is unknown, or its
// current status does not allow the move. Callers map it to exit code 2.
type TransitionError struct {
	MasterKey string
	From      keysync.Status // empty when the key is unknown
	To        keysync.Status
}

func (e *TransitionError) Error() string {
	if e.From == "" {
		return fmt.Sprintf("master key %q is not in the registry", e.MasterKey)
	}
	return fmt.Sprintf("master key %q is %s and cannot become %s", e.MasterKey, e.From, e.To)
}

// Transition is an operator's change to registry keys.
type Transition struct {
	Keys   []string
	To     keysync.Status // StatusActive (approve) or StatusDeprecated (deprecate)
	By     string
	Reason string
}

// SetStatus moves every key of t to t.To in one transaction: all of them or,
// on the first unknown key or disallowed transition, none. Each change is one
// audit event (master_key_approved or master_key_deprecated). A key given
// twice is changed once.
func (d *DB) SetStatus(ctx context.Context, t Transition) ([]keysync.RegistryEntry, error) {
	event := keysync.EventMasterKeyApproved
	if t.To == keysync.StatusDeprecated {
		event = keysync.EventMasterKeyDeprecated
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("%s in %s: %w", event, d.path, wrapBusy(err))
	}
	defer tx.Rollback()

	now := d.now()
	seen := map[string]bool{}
	var changed []keysync.RegistryEntry
	for _, key := range t.Keys {
		if seen[key] {
			continue
		}
		seen[key] = true
		var e keysync.RegistryEntry
		err := tx.QueryRowContext(ctx, `
			SELECT master_key, source_system, source_key, status, created_at, updated_at
			FROM master_key_registry WHERE master_key = ?`, key).
			Scan(&e.MasterKey, &e.SourceSystem, &e.SourceKey, &e.Status, &e.CreatedAt, &e.UpdatedAt)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, &TransitionError{MasterKey: key, To: t.To}
		}
		if err != nil {
			return nil, fmt.Errorf("%s %q in %s: %w", event, key, d.path, wrapBusy(err))
		}
		if !e.Status.CanMove(t.To) {
			return nil, &TransitionError{MasterKey: key, From: e.Status, To: t.To}
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE master_key_registry SET status = ?, updated_at = ? WHERE master_key = ?`,
			t.To, now, key); err != nil {
			return nil, fmt.Errorf("%s %q in %s: %w", event, key, d.path, wrapBusy(err))
		}
		payload := keysync.KeyChange{MasterKey: key, From: string(e.Status), To: string(t.To), By: t.By, Reason: t.Reason}
		if err := insertEvent(ctx, tx, 0, event, payload, now); err != nil {
			return nil, err
		}
		e.Status, e.UpdatedAt = t.To, now
		changed = append(changed, e)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("%s in %s: commit: %w", event, d.path, wrapBusy(err))
	}
	return changed, nil
}
