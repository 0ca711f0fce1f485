package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/keysync/keysync/pkg/keysync"
)

// querier is what Reader needs: a *sql.DB, or the *sql.Tx of a run about to commit.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Reader reads back what the reports show, in the orders SPEC §7 gives.
type Reader struct {
	q querier
}

// Reader returns a Reader over the committed database.
func (d *DB) Reader() *Reader { return &Reader{q: d.db} }

// scanAll runs query and appends one T per row, filled by scan.
func scanAll[T any](ctx context.Context, q querier, what, query string, scan func(*sql.Rows, *T) error, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		var v T
		if err := scan(rows, &v); err != nil {
			return nil, fmt.Errorf("read %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	return out, nil
}

// Summary is the reconciliation summary of run: the authority first, then peers by name.
func (r *Reader) Summary(ctx context.Context, runID int64) ([]keysync.SummaryRow, error) {
	return scanAll(ctx, r.q, "summary", `
		SELECT run_id, system, role, rows_read, rows_rejected, distinct_keys, duplicate_keys,
		       matched, missing_in_A, missing_from_system, pending, suppressed
		FROM run_systems WHERE run_id = ?
		ORDER BY role <> 'authority', system`,
		func(rs *sql.Rows, v *keysync.SummaryRow) error {
			return rs.Scan(&v.RunID, &v.System, &v.Role, &v.RowsRead, &v.RowsRejected, &v.DistinctKeys,
				&v.DuplicateKeys, &v.Matched, &v.MissingInA, &v.MissingFromSystem, &v.Pending, &v.Suppressed)
		}, runID)
}

// MissingInA is diff_missing_in_A of run, by system and key.
func (r *Reader) MissingInA(ctx context.Context, runID int64) ([]keysync.MissingInA, error) {
	return scanAll(ctx, r.q, "missing_in_A", `
		SELECT run_id, system, source_key, key, master_key, status, entity_type, location_ref, last_seen_at
		FROM findings WHERE run_id = ? AND kind = 'missing_in_A'
		ORDER BY system, key`,
		func(rs *sql.Rows, v *keysync.MissingInA) error {
			return rs.Scan(&v.RunID, &v.System, &v.SourceKey, &v.Key, &v.MasterKey, &v.Status,
				&v.EntityType, &v.LocationRef, &v.LastSeenAt)
		}, runID)
}

// MissingFromSystem is diff_missing_from_system of run, by system and master key.
func (r *Reader) MissingFromSystem(ctx context.Context, runID int64) ([]keysync.MissingFromSystem, error) {
	return scanAll(ctx, r.q, "missing_from_system", `
		SELECT run_id, system, master_key, source_key, entity_type, location_ref, last_seen_at
		FROM findings WHERE run_id = ? AND kind = 'missing_from_system'
		ORDER BY system, master_key`,
		func(rs *sql.Rows, v *keysync.MissingFromSystem) error {
			return rs.Scan(&v.RunID, &v.System, &v.MasterKey, &v.SourceKey,
				&v.EntityType, &v.LocationRef, &v.LastSeenAt)
		}, runID)
}

// Exceptions are the duplicates and master-key conflicts of run, by kind, system and key.
func (r *Reader) Exceptions(ctx context.Context, runID int64) ([]keysync.Exception, error) {
	return scanAll(ctx, r.q, "exceptions", `
		SELECT run_id, kind, system, key, count, detail
		FROM findings WHERE run_id = ? AND kind IN ('duplicate', 'master_key_conflict')
		ORDER BY kind, system, key`,
		func(rs *sql.Rows, v *keysync.Exception) error {
			return rs.Scan(&v.RunID, &v.Kind, &v.System, &v.Key, &v.Count, &v.Detail)
		}, runID)
}

// Rejected are the rejected rows of run, by system and record.
func (r *Reader) Rejected(ctx context.Context, runID int64) ([]keysync.RejectedRow, error) {
	return scanAll(ctx, r.q, "rejected rows", `
		SELECT run_id, system, record, raw_key, reason
		FROM rejected_rows WHERE run_id = ?
		ORDER BY system, record`,
		func(rs *sql.Rows, v *keysync.RejectedRow) error {
			return rs.Scan(&v.RunID, &v.System, &v.Record, &v.RawKey, &v.Reason)
		}, runID)
}

// Registry is the whole master key registry, by master key. With status
// non-empty, only keys in that status.
func (r *Reader) Registry(ctx context.Context, status keysync.Status) ([]keysync.RegistryEntry, error) {
	return scanAll(ctx, r.q, "registry", `
		SELECT master_key, source_system, source_key, status, created_at, updated_at
		FROM master_key_registry WHERE ? = '' OR status = ?
		ORDER BY master_key`,
		func(rs *sql.Rows, v *keysync.RegistryEntry) error {
			return rs.Scan(&v.MasterKey, &v.SourceSystem, &v.SourceKey, &v.Status, &v.CreatedAt, &v.UpdatedAt)
		}, status, status)
}

// Audit is the whole audit log, by event id.
func (r *Reader) Audit(ctx context.Context) ([]keysync.AuditEvent, error) {
	return scanAll(ctx, r.q, "audit log", `
		SELECT event_id, COALESCE(run_id, 0), event_type, payload, created_at
		FROM audit_log ORDER BY event_id`,
		func(rs *sql.Rows, v *keysync.AuditEvent) error {
			return rs.Scan(&v.EventID, &v.RunID, &v.EventType, &v.Payload, &v.CreatedAt)
		})
}
