package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/keysync/keysync/pkg/keysync"
)

// Audit event types of run notifications (the notify: webhook). They follow
// a run's own events; a run's audit_log.csv, written before its final commit,
// therefore never shows them, the next run's does.
const (
	EventNotificationSent   keysync.EventType = "notification_sent"
	EventNotificationFailed keysync.EventType = "notification_failed"
)

// AuditNotification appends one notification event of run (0: a run that
// failed before it had an id, recorded with a NULL run_id): typ is
// EventNotificationSent or EventNotificationFailed, payload a JSON object.
// It is written even when ctx is cancelled (a run stopped by SIGTERM is
// notified too), since it is one short insert.
func (d *DB) AuditNotification(ctx context.Context, runID int64, typ keysync.EventType, payload any) error {
	if typ != EventNotificationSent && typ != EventNotificationFailed {
		return fmt.Errorf("audit notification: %q is not a notification event", typ)
	}
	ctx = context.WithoutCancel(ctx)
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("audit %s: %w", typ, wrapBusy(err))
	}
	defer tx.Rollback()
	if err := insertEvent(ctx, tx, runID, typ, payload, d.now()); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("audit %s: %w", typ, wrapBusy(err))
	}
	return nil
}

// The First* reads below are the heads of a run's reports, for a
// notification's top findings: the same rows and order as MissingInA,
// MissingFromSystem and Exceptions, but at most limit of them, so a run with
// millions of findings is not read whole to show ten.

// FirstMissingInA is the first limit rows of diff_missing_in_A of run.
func (r *Reader) FirstMissingInA(ctx context.Context, runID int64, limit int) ([]keysync.MissingInA, error) {
	return scanAll(ctx, r.q, "missing_in_A", `
		SELECT run_id, system, source_key, key, master_key, status, entity_type, location_ref, last_seen_at
		FROM findings WHERE run_id = ? AND kind = 'missing_in_A'
		ORDER BY system, key LIMIT ?`,
		func(rs *sql.Rows, v *keysync.MissingInA) error {
			return rs.Scan(&v.RunID, &v.System, &v.SourceKey, &v.Key, &v.MasterKey, &v.Status,
				&v.EntityType, &v.LocationRef, &v.LastSeenAt)
		}, runID, limit)
}

// FirstMissingFromSystem is the first limit rows of diff_missing_from_system of run.
func (r *Reader) FirstMissingFromSystem(ctx context.Context, runID int64, limit int) ([]keysync.MissingFromSystem, error) {
	return scanAll(ctx, r.q, "missing_from_system", `
		SELECT run_id, system, master_key, source_key, entity_type, location_ref, last_seen_at
		FROM findings WHERE run_id = ? AND kind = 'missing_from_system'
		ORDER BY system, key LIMIT ?`, // key = master_key in these rows; the index serves this order
		func(rs *sql.Rows, v *keysync.MissingFromSystem) error {
			return rs.Scan(&v.RunID, &v.System, &v.MasterKey, &v.SourceKey,
				&v.EntityType, &v.LocationRef, &v.LastSeenAt)
		}, runID, limit)
}

// FirstExceptions is the first limit rows of exceptions.csv of run.
func (r *Reader) FirstExceptions(ctx context.Context, runID int64, limit int) ([]keysync.Exception, error) {
	return scanAll(ctx, r.q, "exceptions", `
		SELECT run_id, kind, system, key, count, detail, cause
		FROM findings WHERE run_id = ? AND kind IN ('duplicate', 'master_key_conflict')
		ORDER BY kind, system, key LIMIT ?`,
		func(rs *sql.Rows, v *keysync.Exception) error {
			return rs.Scan(&v.RunID, &v.Kind, &v.System, &v.Key, &v.Count, &v.Detail, &v.Cause)
		}, runID, limit)
}
