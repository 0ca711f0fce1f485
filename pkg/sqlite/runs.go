package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/keysync/keysync/pkg/keysync"
)

// StartRun is the first of a run's two commits (SPEC §8): it marks runs left
// `running` by a killed process as failed (errors `interrupted`), then records
// the new run as `running` with its run_started event. The caller must hold
// the run lock, so no other run can be in progress.
func (d *DB) StartRun(ctx context.Context, mode keysync.RunMode, configPath string) (int64, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("start run in %s: %w", d.path, wrapBusy(err))
	}
	defer tx.Rollback()

	now := d.now()
	if err := recoverStale(ctx, tx, now); err != nil {
		return 0, fmt.Errorf("start run in %s: %w", d.path, err)
	}
	res, err := tx.ExecContext(ctx,
		`INSERT INTO runs (started_at, status, mode, config_path) VALUES (?, ?, ?, ?)`,
		now, keysync.RunRunning, mode, configPath)
	if err != nil {
		return 0, fmt.Errorf("start run in %s: %w", d.path, wrapBusy(err))
	}
	runID, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("start run in %s: %w", d.path, err)
	}
	if err := insertEvent(ctx, tx, runID, keysync.EventRunStarted, map[string]any{"mode": mode}, now); err != nil {
		return 0, fmt.Errorf("start run in %s: %w", d.path, err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("start run in %s: %w", d.path, wrapBusy(err))
	}
	return runID, nil
}

// recoverStale marks every run still `running` as failed. Only a process that
// died before its final commit leaves such a row.
func recoverStale(ctx context.Context, tx *sql.Tx, now string) error {
	rows, err := tx.QueryContext(ctx, `SELECT run_id FROM runs WHERE status = 'running' ORDER BY run_id`)
	if err != nil {
		return wrapBusy(err)
	}
	var stale []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		stale = append(stale, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, id := range stale {
		if err := endRun(ctx, tx, id, keysync.RunFailed, "interrupted", now, sql.NullInt64{}); err != nil {
			return err
		}
	}
	return nil
}

// FailRun records that a run failed: its final status and errors, and its
// run_failed event. Nothing else of the run is kept.
func (d *DB) FailRun(ctx context.Context, runID int64, cause error, took time.Duration) error {
	return d.endRunTx(ctx, runID, keysync.RunFailed, cause.Error(), took)
}

// BlockRun records that a safety guard blocked a run: status `blocked`, the
// guard's message in errors, and a run_blocked event.
func (d *DB) BlockRun(ctx context.Context, runID int64, reason string, took time.Duration) error {
	return d.endRunTx(ctx, runID, keysync.RunBlocked, reason, took)
}

func (d *DB) endRunTx(ctx context.Context, runID int64, status keysync.RunStatus, msg string, took time.Duration) error {
	// A cancelled context must not stop us from recording the outcome.
	ctx = context.WithoutCancel(ctx)
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record run %d %s: %w", runID, status, wrapBusy(err))
	}
	defer tx.Rollback()
	if err := endRun(ctx, tx, runID, status, msg, d.now(), sql.NullInt64{Int64: took.Milliseconds(), Valid: true}); err != nil {
		return fmt.Errorf("record run %d %s: %w", runID, status, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record run %d %s: %w", runID, status, wrapBusy(err))
	}
	return nil
}

// endRun gives a run its final status. An invalid took is unknown: a run
// found interrupted ended at some moment between its last write and now,
// so its duration_ms stays NULL rather than counting the hours until the
// next run found it.
func endRun(ctx context.Context, tx *sql.Tx, runID int64, status keysync.RunStatus, msg, now string, took sql.NullInt64) error {
	_, err := tx.ExecContext(ctx, `
		UPDATE runs SET status = ?, errors = ?, finished_at = ?, duration_ms = ?
		WHERE run_id = ?`, status, msg, now, took, runID)
	if err != nil {
		return wrapBusy(err)
	}
	event := keysync.EventRunFailed
	if status == keysync.RunBlocked {
		event = keysync.EventRunBlocked
	}
	return insertEvent(ctx, tx, runID, event, map[string]any{"status": status, "errors": msg}, now)
}

// insertEvent appends one audit event; payload is marshalled to a JSON object.
func insertEvent(ctx context.Context, tx *sql.Tx, runID int64, typ keysync.EventType, payload any, now string) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("audit %s: %w", typ, err)
	}
	var run any
	if runID > 0 {
		run = runID
	}
	_, err = tx.ExecContext(ctx,
		`INSERT INTO audit_log (run_id, event_type, payload, created_at) VALUES (?, ?, ?, ?)`,
		run, typ, string(b), now)
	if err != nil {
		return fmt.Errorf("audit %s: %w", typ, wrapBusy(err))
	}
	return nil
}
