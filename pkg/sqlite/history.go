package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/keysync/keysync/pkg/keysync"
)

// This file holds the read queries behind the history commands (runs,
// findings, changes, audit, kpi). They never write.

// NullInt64 is an integer column that may be NULL (a run that has not
// finished, or failed before its KPIs): empty in CSV and tables, null in JSON.
type NullInt64 struct {
	Int64 int64
	Valid bool
}

// Scan reads a nullable integer column.
func (n *NullInt64) Scan(v any) error {
	var s sql.NullInt64
	if err := s.Scan(v); err != nil {
		return err
	}
	n.Int64, n.Valid = s.Int64, s.Valid
	return nil
}

// MarshalCSV writes the number, or an empty field for NULL.
func (n NullInt64) MarshalCSV() (string, error) {
	if !n.Valid {
		return "", nil
	}
	return strconv.FormatInt(n.Int64, 10), nil
}

// MarshalJSON writes the number, or null.
func (n NullInt64) MarshalJSON() ([]byte, error) {
	if !n.Valid {
		return []byte("null"), nil
	}
	return strconv.AppendInt(nil, n.Int64, 10), nil
}

// NullFloat64 is a real column that may be NULL (auto_approval_rate of a run
// that proposed no master key), written in Go's shortest form (0.6, 1).
type NullFloat64 struct {
	Float64 float64
	Valid   bool
}

// Scan reads a nullable real column.
func (n *NullFloat64) Scan(v any) error {
	var s sql.NullFloat64
	if err := s.Scan(v); err != nil {
		return err
	}
	n.Float64, n.Valid = s.Float64, s.Valid
	return nil
}

// MarshalCSV writes the number, or an empty field for NULL.
func (n NullFloat64) MarshalCSV() (string, error) {
	if !n.Valid {
		return "", nil
	}
	return strconv.FormatFloat(n.Float64, 'f', -1, 64), nil
}

// MarshalJSON writes the number, or null.
func (n NullFloat64) MarshalJSON() ([]byte, error) {
	if !n.Valid {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, n.Float64, 'f', -1, 64), nil
}

// RunNotFoundError is a run id that the runs table does not have.
type RunNotFoundError struct{ RunID int64 }

func (e *RunNotFoundError) Error() string {
	return fmt.Sprintf("run %d is not in the database", e.RunID)
}

// RunRecord is one row of the runs table, with the column names of the table
// and the KPI counts of SPEC §9.
type RunRecord struct {
	RunID                  int64             `csv:"run_id" json:"run_id"`
	StartedAt              string            `csv:"started_at" json:"started_at"`
	FinishedAt             string            `csv:"finished_at" json:"finished_at"`
	Status                 keysync.RunStatus `csv:"status" json:"status"`
	Mode                   keysync.RunMode   `csv:"mode" json:"mode"`
	DurationMs             NullInt64         `csv:"duration_ms" json:"duration_ms"`
	MissingInACount        NullInt64         `csv:"missing_in_A_count" json:"missing_in_A_count"`
	MissingFromSystemCount NullInt64         `csv:"missing_from_system_count" json:"missing_from_system_count"`
	DuplicateKeysCount     NullInt64         `csv:"duplicate_keys_count" json:"duplicate_keys_count"`
	AutoApprovalRate       NullFloat64       `csv:"auto_approval_rate" json:"auto_approval_rate"`
	Errors                 string            `csv:"errors" json:"errors"`
}

const runRecordColumns = `run_id, started_at, COALESCE(finished_at, ''), status, mode, duration_ms,
	missing_in_A_count, missing_from_system_count, duplicate_keys_count, auto_approval_rate, errors`

func scanRunRecord(rs interface{ Scan(...any) error }, v *RunRecord) error {
	return rs.Scan(&v.RunID, &v.StartedAt, &v.FinishedAt, &v.Status, &v.Mode, &v.DurationMs,
		&v.MissingInACount, &v.MissingFromSystemCount, &v.DuplicateKeysCount, &v.AutoApprovalRate, &v.Errors)
}

// Runs is the last runs of the log, newest first; last <= 0 means all.
func (r *Reader) Runs(ctx context.Context, last int) ([]RunRecord, error) {
	return scanAll(ctx, r.q, "runs", `SELECT `+runRecordColumns+` FROM runs ORDER BY run_id DESC LIMIT ?`,
		func(rs *sql.Rows, v *RunRecord) error { return scanRunRecord(rs, v) }, historyLimit(last))
}

// FinishedRuns is the last finished runs (succeeded, failed or blocked: not
// running), oldest first; last <= 0 means all. With withRunning, rows still
// running are taken too (a reader that found their process dead shows them
// as interrupted).
func (r *Reader) FinishedRuns(ctx context.Context, last int, withRunning bool) ([]RunRecord, error) {
	return scanAll(ctx, r.q, "finished runs", `
		SELECT * FROM (SELECT `+runRecordColumns+` FROM runs WHERE status <> 'running' OR ?
		               ORDER BY run_id DESC LIMIT ?)
		ORDER BY run_id`,
		func(rs *sql.Rows, v *RunRecord) error { return scanRunRecord(rs, v) }, withRunning, historyLimit(last))
}

// historyLimit turns "no limit" (n <= 0) into SQLite's LIMIT -1.
func historyLimit(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

// Run is one run; a *RunNotFoundError when there is no such run.
func (r *Reader) Run(ctx context.Context, runID int64) (RunRecord, error) {
	var v RunRecord
	err := scanRunRecord(r.q.QueryRowContext(ctx, `SELECT `+runRecordColumns+` FROM runs WHERE run_id = ?`, runID), &v)
	if errors.Is(err, sql.ErrNoRows) {
		return v, &RunNotFoundError{RunID: runID}
	}
	if err != nil {
		return v, fmt.Errorf("read run %d: %w", runID, err)
	}
	return v, nil
}

// RunConfigPath is the config file run was started with.
func (r *Reader) RunConfigPath(ctx context.Context, runID int64) (string, error) {
	var p string
	err := r.q.QueryRowContext(ctx, `SELECT config_path FROM runs WHERE run_id = ?`, runID).Scan(&p)
	if errors.Is(err, sql.ErrNoRows) {
		return "", &RunNotFoundError{RunID: runID}
	}
	if err != nil {
		return "", fmt.Errorf("read run %d: %w", runID, err)
	}
	return p, nil
}

// RunSystem is one row of run_systems: the columns of
// reconciliation_summary.csv plus the fingerprint (path, size, SHA-256) of the input the source read.
type RunSystem struct {
	RunID             int64        `csv:"run_id" json:"run_id"`
	System            string       `csv:"system" json:"system"`
	Role              keysync.Role `csv:"role" json:"role"`
	RowsRead          int64        `csv:"rows_read" json:"rows_read"`
	RowsRejected      int64        `csv:"rows_rejected" json:"rows_rejected"`
	DistinctKeys      int64        `csv:"distinct_keys" json:"distinct_keys"`
	DuplicateKeys     int64        `csv:"duplicate_keys" json:"duplicate_keys"`
	Matched           int64        `csv:"matched" json:"matched"`
	MissingInA        int64        `csv:"missing_in_A" json:"missing_in_A"`
	MissingFromSystem int64        `csv:"missing_from_system" json:"missing_from_system"`
	InputPath         string       `csv:"input_path" json:"input_path"`
	InputBytes        NullInt64    `csv:"input_bytes" json:"input_bytes"`
	InputSHA256       string       `csv:"input_sha256" json:"input_sha256"`
	// UnchangedSince is the first run of the streak of succeeded normal runs
	// right before this one that read the very same input (InputStreak);
	// empty when the input changed since the previous one.
	UnchangedSince NullInt64 `csv:"unchanged_since" json:"unchanged_since"`
	// Pending, Suppressed and Filtered are the summary's: the keys the grace
	// period held back, the suppressions that silenced a finding, and the
	// accepted rows a filter left out.
	Pending    int64 `csv:"pending" json:"pending"`
	Suppressed int64 `csv:"suppressed" json:"suppressed"`
	Filtered   int64 `csv:"filtered" json:"filtered"`
}

// RunSystems is the per-system summary of run with its input fingerprints,
// the authority first, then peers by name.
func (r *Reader) RunSystems(ctx context.Context, runID int64) ([]RunSystem, error) {
	systems, err := r.runSystems(ctx, runID)
	if err != nil {
		return nil, err
	}
	for i, s := range systems {
		st, err := r.InputStreak(ctx, runID, s.System, s.InputBytes.Int64, s.InputSHA256)
		if err != nil {
			return nil, err
		}
		if st.Runs > 0 {
			systems[i].UnchangedSince = NullInt64{Int64: st.Since, Valid: true}
		}
	}
	return systems, nil
}

func (r *Reader) runSystems(ctx context.Context, runID int64) ([]RunSystem, error) {
	return scanAll(ctx, r.q, "run systems", `
		SELECT run_id, system, role, rows_read, rows_rejected, distinct_keys, duplicate_keys,
		       matched, missing_in_A, missing_from_system, input_path, input_bytes, input_sha256,
		       pending, suppressed, filtered
		FROM run_systems WHERE run_id = ?
		ORDER BY role <> 'authority', system`,
		func(rs *sql.Rows, v *RunSystem) error {
			return rs.Scan(&v.RunID, &v.System, &v.Role, &v.RowsRead, &v.RowsRejected, &v.DistinctKeys,
				&v.DuplicateKeys, &v.Matched, &v.MissingInA, &v.MissingFromSystem,
				&v.InputPath, &v.InputBytes, &v.InputSHA256, &v.Pending, &v.Suppressed, &v.Filtered)
		}, runID)
}

// RunInput is one row of run_inputs: a file a csv or json source read, its
// size and SHA-256 as stored, and the records that came from it.
type RunInput struct {
	System      string `csv:"system" json:"system"`
	Seq         int64  `csv:"seq" json:"seq"`
	Path        string `csv:"path" json:"path"`
	Bytes       int64  `csv:"bytes" json:"bytes"`
	SHA256      string `csv:"sha256" json:"sha256"`
	FirstRecord int64  `csv:"first_record" json:"first_record"`
	Records     int64  `csv:"records" json:"records"`
}

// RunInputs lists the files run's sources read, in the order of RunSystems
// and, within a system, in reading order. Runs before run_inputs existed,
// and http and sqlite sources, have none.
func (r *Reader) RunInputs(ctx context.Context, runID int64) ([]RunInput, error) {
	return scanAll(ctx, r.q, "run inputs", `
		SELECT i.system, i.seq, i.path, i.bytes, i.sha256, i.first_record, i.records
		FROM run_inputs i
		JOIN run_systems s ON s.run_id = i.run_id AND s.system = i.system
		WHERE i.run_id = ?
		ORDER BY s.role <> 'authority', i.system, i.seq`,
		func(rs *sql.Rows, v *RunInput) error {
			return rs.Scan(&v.System, &v.Seq, &v.Path, &v.Bytes, &v.SHA256, &v.FirstRecord, &v.Records)
		}, runID)
}

// LatestNormalRun is "the latest run" of the history commands: the newest
// normal run that succeeded, the run whose reports output_dir holds (a dry
// run writes to output_dir/dry-run). ok is false when there is none yet.
func (r *Reader) LatestNormalRun(ctx context.Context) (id int64, ok bool, err error) {
	var v sql.NullInt64
	if err := r.q.QueryRowContext(ctx, `SELECT MAX(run_id) FROM runs WHERE status = 'succeeded' AND mode = 'normal'`).Scan(&v); err != nil {
		return 0, false, fmt.Errorf("read latest run: %w", err)
	}
	return v.Int64, v.Valid, nil
}

// Baseline is the run that run is compared with: the newest succeeded normal
// run before it. Dry runs are never a baseline, since they change nothing.
// ok is false when there is none.
func (r *Reader) Baseline(ctx context.Context, runID int64) (id int64, ok bool, err error) {
	var v sql.NullInt64
	err = r.q.QueryRowContext(ctx, `
		SELECT MAX(run_id) FROM runs
		WHERE run_id < ? AND status = 'succeeded' AND mode = 'normal'`, runID).Scan(&v)
	if err != nil {
		return 0, false, fmt.Errorf("read baseline of run %d: %w", runID, err)
	}
	return v.Int64, v.Valid, nil
}

// Finding is one row of the findings table: a row of diff_missing_in_A,
// diff_missing_from_system or exceptions, with the reports' field names.
type Finding struct {
	RunID       int64               `csv:"run_id" json:"run_id"`
	Kind        keysync.FindingKind `csv:"kind" json:"kind"`
	System      string              `csv:"system" json:"system"`
	Key         string              `csv:"key" json:"key"`
	SourceKey   string              `csv:"source_key" json:"source_key"`
	MasterKey   string              `csv:"master_key" json:"master_key"`
	Status      string              `csv:"status" json:"status"`
	EntityType  string              `csv:"entity_type" json:"entity_type"`
	LocationRef string              `csv:"location_ref" json:"location_ref"`
	LastSeenAt  string              `csv:"last_seen_at" json:"last_seen_at"`
	Count       int64               `csv:"count" json:"count"`
	Detail      string              `csv:"detail" json:"detail"`
	Cause       string              `csv:"cause" json:"cause"`
}

// FindingFilter selects findings of one run; empty fields match everything.
// System matches case-insensitively, as source names do.
type FindingFilter struct {
	RunID  int64
	Kind   keysync.FindingKind
	System string
}

// Findings are the findings of f.RunID that pass f, by kind, system and key.
func (r *Reader) Findings(ctx context.Context, f FindingFilter) ([]Finding, error) {
	return scanAll(ctx, r.q, "findings", `
		SELECT run_id, kind, system, key, source_key, master_key, status,
		       entity_type, location_ref, last_seen_at, count, detail, cause
		FROM findings
		WHERE run_id = ? AND (? = '' OR kind = ?) AND (? = '' OR system = ? COLLATE NOCASE)
		ORDER BY kind, system, key`,
		func(rs *sql.Rows, v *Finding) error {
			return rs.Scan(&v.RunID, &v.Kind, &v.System, &v.Key, &v.SourceKey, &v.MasterKey, &v.Status,
				&v.EntityType, &v.LocationRef, &v.LastSeenAt, &v.Count, &v.Detail, &v.Cause)
		}, f.RunID, f.Kind, f.Kind, f.System, f.System)
}

// AgedFinding is a finding of a run with how long it has been open: see
// sql/queries/history_finding_ages.sql for the run series it is counted over.
type AgedFinding struct {
	RunID        int64
	Kind         keysync.FindingKind
	System       string
	Key          string
	SourceKey    string
	MasterKey    string
	Status       string
	Count        int64
	Detail       string
	FirstSeenRun int64
	FirstSeenAt  string
	AgeRuns      int64
	AgeDays      int64
}

// FindingAges are the findings of run, each with the first run of its current
// streak and its age in runs and days, by kind, system and key.
func (r *Reader) FindingAges(ctx context.Context, runID int64) ([]AgedFinding, error) {
	q := query("history_finding_ages")
	return scanAll(ctx, r.q, "finding ages", q,
		func(rs *sql.Rows, v *AgedFinding) error {
			return rs.Scan(&v.RunID, &v.Kind, &v.System, &v.Key, &v.SourceKey, &v.MasterKey, &v.Status,
				&v.Count, &v.Detail, &v.FirstSeenRun, &v.FirstSeenAt, &v.AgeRuns, &v.AgeDays)
		}, sql.Named("run_id", runID))
}

// PendingFinding is a key of the authority that a peer lacked in a run with a
// grace_period, held back as pending rather than reported missing from it.
type PendingFinding struct {
	System string
	Key    string
}

// PendingFindings are the pending (system, key) pairs of run, by system and
// key: none for a run without a grace period, or one recorded before
// keysync kept them (migration 00007).
func (r *Reader) PendingFindings(ctx context.Context, runID int64) ([]PendingFinding, error) {
	return scanAll(ctx, r.q, "pending findings", `
		SELECT system, key FROM pending_findings WHERE run_id = ? ORDER BY system, key`,
		func(rs *sql.Rows, v *PendingFinding) error { return rs.Scan(&v.System, &v.Key) }, runID)
}

// AuditFilter selects audit events; zero fields match everything. Since is
// an RFC 3339 UTC timestamp as the log stores it; Limit keeps the newest
// events.
type AuditFilter struct {
	RunID int64
	Type  keysync.EventType
	Since string
	Limit int
}

// AuditEvents are the events that pass f: the newest f.Limit of them, oldest
// first.
func (r *Reader) AuditEvents(ctx context.Context, f AuditFilter) ([]keysync.AuditEvent, error) {
	return scanAll(ctx, r.q, "audit log", `
		SELECT * FROM (
		    SELECT event_id, COALESCE(run_id, 0), event_type, payload, created_at
		    FROM audit_log
		    WHERE (? = 0 OR run_id = ?) AND (? = '' OR event_type = ?) AND created_at >= ?
		    ORDER BY event_id DESC LIMIT ?)
		ORDER BY event_id`,
		func(rs *sql.Rows, v *keysync.AuditEvent) error {
			return rs.Scan(&v.EventID, &v.RunID, &v.EventType, &v.Payload, &v.CreatedAt)
		}, f.RunID, f.RunID, f.Type, f.Type, f.Since, historyLimit(f.Limit))
}

// EventTypes are the distinct event types the audit log holds.
func (r *Reader) EventTypes(ctx context.Context) ([]keysync.EventType, error) {
	return scanAll(ctx, r.q, "event types", `SELECT DISTINCT event_type FROM audit_log ORDER BY event_type`,
		func(rs *sql.Rows, v *keysync.EventType) error { return rs.Scan(v) })
}
