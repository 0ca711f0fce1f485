package sqlite

// The read queries of `keysync explain`: one key's staged rows, findings,
// suppressions, grace period and registry row in one run.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/keysync/keysync/pkg/keysync"
)

// AttachStagingOf attaches the staging files read-only, as
// AttachStagingReadOnly does, when they hold the rows of run runID: the
// files keep only the latest run that staged (a failed or blocked one
// included), so an older run's rows are gone. It reports false, and leaves
// nothing attached, when they hold another run's or there are none.
func (d *DB) AttachStagingOf(ctx context.Context, runID int64) (bool, error) {
	ok, err := d.AttachStagingReadOnly(ctx)
	var incomplete *StagingIncompleteError
	if errors.As(err, &incomplete) {
		return false, nil // the files hold a later run that never finished staging
	}
	if err != nil || !ok {
		return false, err
	}
	var staged sql.NullInt64
	err = d.db.QueryRowContext(ctx, `
		SELECT (SELECT run_id FROM staging_0.staging_run)
		WHERE EXISTS (SELECT 1 FROM staging_0.sqlite_schema WHERE name = 'staging_run')`).Scan(&staged)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, errors.Join(fmt.Errorf("read the staging files' run: %w", err), d.detachReadOnly(ctx))
	}
	if !staged.Valid || staged.Int64 != runID {
		// Files of a keysync before staging_run, or of another run.
		return false, d.detachReadOnly(ctx)
	}
	return true, nil
}

// detachReadOnly undoes AttachStagingReadOnly: its TEMP views can only be
// dropped while query_only is off, which it turns on again.
func (d *DB) detachReadOnly(ctx context.Context) error {
	if _, err := d.db.ExecContext(ctx, "PRAGMA query_only = 0"); err != nil {
		return err
	}
	err := d.detachStaging(ctx)
	if _, qerr := d.db.ExecContext(ctx, "PRAGMA query_only = 1"); err == nil {
		err = qerr
	}
	return err
}

// KeySample is one staged row of a key, as `keysync explain` shows it.
type KeySample struct {
	Record      int64  `json:"record"`
	SourceKey   string `json:"source_key"`
	EntityType  string `json:"entity_type"`
	LocationRef string `json:"location_ref"`
	LastSeenAt  string `json:"last_seen_at"`
}

// StagedKeyRows are the staged rows of the normalized key in each system that
// has it: its row count and its first limit rows in file order. It needs the
// staging files attached (AttachStagingOf); systems without the key are not
// in the map. All rows of a key are in one file, so the files after the one
// that has them are not read.
func (r *Reader) StagedKeyRows(ctx context.Context, parts int, key string, limit int) (rows map[string]int64, samples map[string][]KeySample, err error) {
	rows, samples = map[string]int64{}, map[string][]KeySample{}
	for i := range parts {
		q := strings.ReplaceAll(query("explain_key_rows"), "staging_N.", fmt.Sprintf("staging_%d.", i))
		err := scanEach(ctx, r.q, "staged rows of "+key, q,
			func(rs *sql.Rows, v *struct {
				system string
				total  int64
				s      KeySample
			}) error {
				return rs.Scan(&v.system, &v.total, &v.s.Record, &v.s.SourceKey, &v.s.EntityType, &v.s.LocationRef, &v.s.LastSeenAt)
			},
			func(v struct {
				system string
				total  int64
				s      KeySample
			}) error {
				rows[v.system] = v.total
				samples[v.system] = append(samples[v.system], v.s)
				return nil
			}, sql.Named("key", key), sql.Named("limit", limit))
		if err != nil {
			return nil, nil, err
		}
		if len(rows) > 0 {
			break
		}
	}
	return rows, samples, nil
}

// StagingParts is how many staging files AttachStagingOf attaches.
func StagingParts() int { return stagingParts }

// KeyFinding is a finding of one key in a run with its streak, counted as
// `keysync changes` counts it (sql/queries/history_finding_ages.sql).
type KeyFinding struct {
	Kind         keysync.FindingKind `json:"kind"`
	System       string              `json:"system"`
	Key          string              `json:"key"`
	MasterKey    string              `json:"master_key"`
	Status       string              `json:"status"`
	SourceKey    string              `json:"source_key"`
	Count        int64               `json:"count"`
	Detail       string              `json:"detail"`
	Cause        string              `json:"cause"`
	FirstSeenRun int64               `json:"first_seen_run"`
	FirstSeenAt  string              `json:"first_seen_at"`
	AgeRuns      int64               `json:"age_runs"`
	AgeDays      int64               `json:"age_days"`
}

// KeyFindings are the findings of run whose key or master key is key, by
// kind and system, each with its streak.
func (r *Reader) KeyFindings(ctx context.Context, runID int64, key string) ([]KeyFinding, error) {
	fs, err := scanAll(ctx, r.q, "findings of "+key, query("explain_finding_ages"),
		func(rs *sql.Rows, v *KeyFinding) error {
			var runID int64
			return rs.Scan(&runID, &v.Kind, &v.System, &v.Key, &v.SourceKey, &v.MasterKey, &v.Status,
				&v.Count, &v.Detail, &v.FirstSeenRun, &v.FirstSeenAt, &v.AgeRuns, &v.AgeDays)
		}, sql.Named("run_id", runID), sql.Named("key", key))
	if err != nil {
		return nil, err
	}
	// The cause is read apart so the ages query stays history_finding_ages'.
	for i, f := range fs {
		if f.Kind != keysync.KindDuplicate {
			continue
		}
		if err := r.q.QueryRowContext(ctx, `
			SELECT cause FROM findings WHERE run_id = ? AND kind = 'duplicate' AND system = ? AND key = ?`,
			runID, f.System, f.Key).Scan(&fs[i].Cause); err != nil {
			return nil, fmt.Errorf("read the cause of duplicate %s in %s: %w", f.Key, f.System, err)
		}
	}
	return fs, nil
}

// HeldSuppression is a suppression of a key that was in force when a run
// finished, so it kept that key's findings in its system out of the run.
type HeldSuppression struct {
	System string `json:"system"`
	Reason string `json:"reason"`
	Until  string `json:"until"`
}

// KeySuppressions are the suppressions of key in force at the time at (a
// run's end: added before it, and not expired), by system.
func (r *Reader) KeySuppressions(ctx context.Context, key, at string) ([]HeldSuppression, error) {
	return scanAll(ctx, r.q, "suppressions of "+key, `
		SELECT system, reason, until FROM suppressions
		WHERE key = ? AND created_at <= ? AND (until = '' OR until > ?)
		ORDER BY system`,
		func(rs *sql.Rows, v *HeldSuppression) error { return rs.Scan(&v.System, &v.Reason, &v.Until) },
		key, at, at)
}

// PendingKey is a system that lacks a key of the authority which the grace
// period kept from being reported missing, and since when the key's grace
// runs (its last_seen_at in the authority, or its first appearance there).
type PendingKey struct {
	System string `json:"system"`
	Since  string `json:"since"`
}

// StagedPending are the systems where key, a key of the authority, was a
// missing_from_system finding of the staged run runID that the run did not
// report and no suppression explains: the grace period held it back. It
// needs the staging files of runID attached (AttachStagingOf).
func (r *Reader) StagedPending(ctx context.Context, runID int64, key, at string) ([]PendingKey, error) {
	return scanAll(ctx, r.q, "pending findings of "+key, `
		SELECT f.system, COALESCE(NULLIF(f.last_seen_at, ''),
		                          (SELECT a.first_seen_at FROM authority_first_seen a WHERE a.key = f.key), '')
		FROM staging_findings f
		WHERE f.kind = 'missing_from_system' AND f.key = ?
		  AND NOT EXISTS (SELECT 1 FROM findings x
		                  WHERE x.run_id = ? AND x.kind = f.kind AND x.system = f.system AND x.key = f.key)
		  AND NOT EXISTS (SELECT 1 FROM suppressions s
		                  WHERE s.system = f.system AND s.key = f.key
		                    AND s.created_at <= ? AND (s.until = '' OR s.until > ?))
		ORDER BY f.system`,
		func(rs *sql.Rows, v *PendingKey) error { return rs.Scan(&v.System, &v.Since) },
		key, runID, at, at)
}

// KeyEvents are the audit events that name key: as the master key of a
// registry change, or as the key of a suppression, by event id.
func (r *Reader) KeyEvents(ctx context.Context, masterKeys []string, key string) ([]keysync.AuditEvent, error) {
	in := strings.TrimSuffix(strings.Repeat("?, ", len(masterKeys)), ", ")
	args := []any{key}
	for _, k := range masterKeys {
		args = append(args, k)
	}
	cond := "json_extract(payload, '$.key') = ?"
	if len(masterKeys) > 0 {
		cond += " OR json_extract(payload, '$.master_key') IN (" + in + ")"
	}
	return scanAll(ctx, r.q, "events of "+key, `
		SELECT event_id, COALESCE(run_id, 0), event_type, payload, created_at
		FROM audit_log WHERE `+cond+`
		ORDER BY event_id`,
		func(rs *sql.Rows, v *keysync.AuditEvent) error {
			return rs.Scan(&v.EventID, &v.RunID, &v.EventType, &v.Payload, &v.CreatedAt)
		}, args...)
}
