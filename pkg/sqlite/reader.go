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
	out := []T{}
	err := scanEach(ctx, q, what, query, scan, func(v T) error { out = append(out, v); return nil }, args...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// scanEach runs query and calls fn with one T per row, filled by scan, so a
// caller can stream millions of rows without holding them. An error from fn
// stops the scan and is returned as it is.
func scanEach[T any](ctx context.Context, q querier, what, query string, scan func(*sql.Rows, *T) error, fn func(T) error, args ...any) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("read %s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		var v T
		if err := scan(rows, &v); err != nil {
			return fmt.Errorf("read %s: %w", what, err)
		}
		if err := fn(v); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s: %w", what, err)
	}
	return nil
}

// report is one report's query: what it reads, the SQL, and how a row scans.
type report[T any] struct {
	what  string
	query string
	scan  func(*sql.Rows, *T) error
}

func (rp report[T]) all(ctx context.Context, q querier, args ...any) ([]T, error) {
	return scanAll(ctx, q, rp.what, rp.query, rp.scan, args...)
}

func (rp report[T]) each(ctx context.Context, q querier, fn func(T) error, args ...any) error {
	return scanEach(ctx, q, rp.what, rp.query, rp.scan, fn, args...)
}

var (
	summaryReport = report[keysync.SummaryRow]{"summary", `
		SELECT run_id, system, role, rows_read, rows_rejected, distinct_keys, duplicate_keys,
		       matched, missing_in_A, missing_from_system, pending, suppressed, filtered
		FROM run_systems WHERE run_id = ?
		ORDER BY role <> 'authority', system`,
		func(rs *sql.Rows, v *keysync.SummaryRow) error {
			return rs.Scan(&v.RunID, &v.System, &v.Role, &v.RowsRead, &v.RowsRejected, &v.DistinctKeys,
				&v.DuplicateKeys, &v.Matched, &v.MissingInA, &v.MissingFromSystem, &v.Pending, &v.Suppressed, &v.Filtered)
		}}
	missingInAReport = report[keysync.MissingInA]{"missing_in_A", `
		SELECT run_id, system, source_key, key, master_key, status, entity_type, location_ref, last_seen_at
		FROM findings WHERE run_id = ? AND kind = 'missing_in_A'
		ORDER BY system, key`,
		func(rs *sql.Rows, v *keysync.MissingInA) error {
			return rs.Scan(&v.RunID, &v.System, &v.SourceKey, &v.Key, &v.MasterKey, &v.Status,
				&v.EntityType, &v.LocationRef, &v.LastSeenAt)
		}}
	missingFromSystemReport = report[keysync.MissingFromSystem]{"missing_from_system", `
		SELECT run_id, system, master_key, source_key, entity_type, location_ref, last_seen_at
		FROM findings WHERE run_id = ? AND kind = 'missing_from_system'
		ORDER BY system, master_key`,
		func(rs *sql.Rows, v *keysync.MissingFromSystem) error {
			return rs.Scan(&v.RunID, &v.System, &v.MasterKey, &v.SourceKey,
				&v.EntityType, &v.LocationRef, &v.LastSeenAt)
		}}
	exceptionsReport = report[keysync.Exception]{"exceptions", `
		SELECT run_id, kind, system, key, count, detail, cause
		FROM findings WHERE run_id = ? AND kind IN ('duplicate', 'master_key_conflict')
		ORDER BY kind, system, key`,
		func(rs *sql.Rows, v *keysync.Exception) error {
			return rs.Scan(&v.RunID, &v.Kind, &v.System, &v.Key, &v.Count, &v.Detail, &v.Cause)
		}}
	rejectedReport = report[keysync.RejectedRow]{"rejected rows", `
		SELECT run_id, system, record, raw_key, reason
		FROM rejected_rows WHERE run_id = ?
		ORDER BY system, record`,
		func(rs *sql.Rows, v *keysync.RejectedRow) error {
			return rs.Scan(&v.RunID, &v.System, &v.Record, &v.RawKey, &v.Reason)
		}}
	registryReport = report[keysync.RegistryEntry]{"registry", `
		SELECT master_key, source_system, source_key, status, created_at, updated_at
		FROM master_key_registry WHERE ? = '' OR status = ?
		ORDER BY master_key`,
		func(rs *sql.Rows, v *keysync.RegistryEntry) error {
			return rs.Scan(&v.MasterKey, &v.SourceSystem, &v.SourceKey, &v.Status, &v.CreatedAt, &v.UpdatedAt)
		}}
	auditReport = report[keysync.AuditEvent]{"audit log", `
		SELECT event_id, COALESCE(run_id, 0), event_type, payload, created_at
		FROM audit_log ORDER BY event_id`,
		func(rs *sql.Rows, v *keysync.AuditEvent) error {
			return rs.Scan(&v.EventID, &v.RunID, &v.EventType, &v.Payload, &v.CreatedAt)
		}}
)

// Summary is the reconciliation summary of run: the authority first, then peers by name.
func (r *Reader) Summary(ctx context.Context, runID int64) ([]keysync.SummaryRow, error) {
	return summaryReport.all(ctx, r.q, runID)
}

// MissingInA is diff_missing_in_A of run, by system and key.
func (r *Reader) MissingInA(ctx context.Context, runID int64) ([]keysync.MissingInA, error) {
	return missingInAReport.all(ctx, r.q, runID)
}

// EachMissingInA streams diff_missing_in_A of run to fn, by system and key.
func (r *Reader) EachMissingInA(ctx context.Context, runID int64, fn func(keysync.MissingInA) error) error {
	return missingInAReport.each(ctx, r.q, fn, runID)
}

// MissingFromSystem is diff_missing_from_system of run, by system and master key.
func (r *Reader) MissingFromSystem(ctx context.Context, runID int64) ([]keysync.MissingFromSystem, error) {
	return missingFromSystemReport.all(ctx, r.q, runID)
}

// EachMissingFromSystem streams diff_missing_from_system of run to fn.
func (r *Reader) EachMissingFromSystem(ctx context.Context, runID int64, fn func(keysync.MissingFromSystem) error) error {
	return missingFromSystemReport.each(ctx, r.q, fn, runID)
}

// Exceptions are the duplicates and master-key conflicts of run, by kind, system and key.
func (r *Reader) Exceptions(ctx context.Context, runID int64) ([]keysync.Exception, error) {
	return exceptionsReport.all(ctx, r.q, runID)
}

// EachException streams the exceptions of run to fn.
func (r *Reader) EachException(ctx context.Context, runID int64, fn func(keysync.Exception) error) error {
	return exceptionsReport.each(ctx, r.q, fn, runID)
}

// Rejected are the rejected rows of run, by system and record.
func (r *Reader) Rejected(ctx context.Context, runID int64) ([]keysync.RejectedRow, error) {
	return rejectedReport.all(ctx, r.q, runID)
}

// EachRejected streams the rejected rows of run to fn.
func (r *Reader) EachRejected(ctx context.Context, runID int64, fn func(keysync.RejectedRow) error) error {
	return rejectedReport.each(ctx, r.q, fn, runID)
}

// Registry is the whole master key registry, by master key. With status
// non-empty, only keys in that status.
func (r *Reader) Registry(ctx context.Context, status keysync.Status) ([]keysync.RegistryEntry, error) {
	return registryReport.all(ctx, r.q, status, status)
}

// EachRegistry streams the whole registry to fn, by master key.
func (r *Reader) EachRegistry(ctx context.Context, fn func(keysync.RegistryEntry) error) error {
	return registryReport.each(ctx, r.q, fn, "", "")
}

// Audit is the whole audit log, by event id.
func (r *Reader) Audit(ctx context.Context) ([]keysync.AuditEvent, error) {
	return auditReport.all(ctx, r.q)
}

// EachAudit streams the whole audit log to fn, by event id.
func (r *Reader) EachAudit(ctx context.Context, fn func(keysync.AuditEvent) error) error {
	return auditReport.each(ctx, r.q, fn)
}
