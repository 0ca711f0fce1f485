package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/keysync/keysync/pkg/keysync"
)

// Suppression is a known exception: findings of Key in System are not
// reported while it holds (Until empty, or later than the run), only counted.
type Suppression struct {
	System    string `csv:"system" json:"system"`
	Key       string `csv:"key" json:"key"`
	Reason    string `csv:"reason" json:"reason"`
	CreatedBy string `csv:"created_by" json:"created_by"`
	CreatedAt string `csv:"created_at" json:"created_at"`
	Until     string `csv:"until" json:"until"`
}

// Audit event types of suppressions.
const (
	EventSuppressionAdded   keysync.EventType = "suppression_added"
	EventSuppressionRemoved keysync.EventType = "suppression_removed"
)

// ErrNoSuppression means there is no suppression for that system and key.
var ErrNoSuppression = errors.New("no such suppression")

// AddSuppression records (or replaces) a suppression and audits it, in one
// transaction. CreatedAt is set from the store's clock.
func (d *DB) AddSuppression(ctx context.Context, s Suppression) (Suppression, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return s, fmt.Errorf("suppress %s %s: %w", s.System, s.Key, wrapBusy(err))
	}
	defer tx.Rollback()
	s.CreatedAt = d.now()
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO suppressions (system, key, reason, created_by, created_at, until)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (system, key) DO UPDATE SET reason = excluded.reason,
		    created_by = excluded.created_by, created_at = excluded.created_at, until = excluded.until`,
		s.System, s.Key, s.Reason, s.CreatedBy, s.CreatedAt, s.Until); err != nil {
		return s, fmt.Errorf("suppress %s %s: %w", s.System, s.Key, wrapBusy(err))
	}
	payload := map[string]string{"system": s.System, "key": s.Key, "reason": s.Reason, "by": s.CreatedBy, "until": s.Until}
	if err := insertEvent(ctx, tx, 0, EventSuppressionAdded, payload, s.CreatedAt); err != nil {
		return s, err
	}
	if err := tx.Commit(); err != nil {
		return s, fmt.Errorf("suppress %s %s: %w", s.System, s.Key, wrapBusy(err))
	}
	return s, nil
}

// RemoveSuppression deletes the suppression of (system, key) and audits it.
// It returns an error wrapping ErrNoSuppression when there is none.
func (d *DB) RemoveSuppression(ctx context.Context, system, key, by string) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("remove suppression %s %s: %w", system, key, wrapBusy(err))
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM suppressions WHERE system = ? AND key = ?`, system, key)
	if err != nil {
		return fmt.Errorf("remove suppression %s %s: %w", system, key, wrapBusy(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("remove suppression %s %s: %w", system, key, ErrNoSuppression)
	}
	payload := map[string]string{"system": system, "key": key, "by": by}
	if err := insertEvent(ctx, tx, 0, EventSuppressionRemoved, payload, d.now()); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("remove suppression %s %s: %w", system, key, wrapBusy(err))
	}
	return nil
}

// Suppressions lists every suppression, by system and key.
func (r *Reader) Suppressions(ctx context.Context) ([]Suppression, error) {
	return scanAll(ctx, r.q, "suppressions", `
		SELECT system, key, reason, created_by, created_at, until
		FROM suppressions ORDER BY system, key`,
		func(rs *sql.Rows, s *Suppression) error {
			return rs.Scan(&s.System, &s.Key, &s.Reason, &s.CreatedBy, &s.CreatedAt, &s.Until)
		})
}
