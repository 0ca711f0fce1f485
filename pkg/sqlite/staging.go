package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/source"
)

// rowsPerInsert is how many rows one multi-row INSERT carries: 7 parameters a
// row keeps a statement well under SQLite's parameter limit, and large batches
// amortise the statement overhead.
const rowsPerInsert = 256

// StagingSystem names one system of a run and its role.
type StagingSystem struct {
	Name string
	Role keysync.Role
}

// Staging loads one run's normalized rows into the staging tables, in a
// transaction of its own that precedes the run's final commit. Nothing in it
// is visible to the registry, findings or audit log until FinishRun.
type Staging struct {
	tx      *sql.Tx
	ids     map[string]int64
	rowStmt *sql.Stmt
	rejStmt *sql.Stmt
	args    []any
	log     *slog.Logger
}

// BeginStaging empties the staging tables and registers the run's systems,
// authority first. The caller must hold the run lock.
func (d *DB) BeginStaging(ctx context.Context, systems []StagingSystem) (*Staging, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin staging: %w", wrapBusy(err))
	}
	s := &Staging{tx: tx, ids: map[string]int64{}, log: d.Log}
	if err := s.init(ctx, systems); err != nil {
		tx.Rollback()
		return nil, fmt.Errorf("begin staging: %w", err)
	}
	return s, nil
}

func (s *Staging) init(ctx context.Context, systems []StagingSystem) error {
	if _, err := s.tx.ExecContext(ctx, query("reset_staging")); err != nil {
		return wrapBusy(err)
	}
	for i, sys := range systems {
		id := int64(i + 1)
		if _, err := s.tx.ExecContext(ctx,
			`INSERT INTO staging_systems (system_id, system, role) VALUES (?, ?, ?)`,
			id, sys.Name, sys.Role); err != nil {
			return err
		}
		s.ids[sys.Name] = id
	}
	var err error
	s.rowStmt, err = s.tx.PrepareContext(ctx, insertRowsSQL(rowsPerInsert))
	if err != nil {
		return err
	}
	s.rejStmt, err = s.tx.PrepareContext(ctx,
		`INSERT INTO staging_rejects (system_id, record, raw_key, reason) VALUES (?, ?, ?, ?)`)
	return err
}

func insertRowsSQL(n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO staging_rows (system_id, key, record, raw_key, entity_type, location_ref, last_seen_at) VALUES ")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?)")
	}
	return b.String()
}

func (s *Staging) id(system string) (int64, error) {
	id, ok := s.ids[system]
	if !ok {
		return 0, fmt.Errorf("stage: unknown system %q", system)
	}
	return id, nil
}

// AddRows stages accepted rows of system, in input order.
func (s *Staging) AddRows(ctx context.Context, system string, rows []keysync.Row) error {
	id, err := s.id(system)
	if err != nil {
		return err
	}
	for len(rows) > 0 {
		n := min(len(rows), rowsPerInsert)
		stmt := s.rowStmt
		if n < rowsPerInsert {
			stmt, err = s.tx.PrepareContext(ctx, insertRowsSQL(n))
			if err != nil {
				return fmt.Errorf("stage %s: %w", system, err)
			}
			defer stmt.Close()
		}
		args := s.args[:0]
		for _, r := range rows[:n] {
			args = append(args, id, r.Key, r.Record, r.RawKey, r.EntityType, r.LocationRef, r.LastSeenAt)
		}
		s.args = args
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("stage %s: %w", system, err)
		}
		rows = rows[n:]
	}
	return nil
}

// AddReject stages one rejected row of system.
func (s *Staging) AddReject(ctx context.Context, system string, rej keysync.Rejection) error {
	id, err := s.id(system)
	if err != nil {
		return err
	}
	if _, err := s.rejStmt.ExecContext(ctx, id, rej.Record, rej.RawKey, rej.Reason); err != nil {
		return fmt.Errorf("stage rejected row %d of %s: %w", rej.Record, system, err)
	}
	return nil
}

// SetStats records what system's source read: its row count, rejected rows and
// the fingerprint of its input.
func (s *Staging) SetStats(ctx context.Context, system string, st source.Stats, rejected int64) error {
	id, err := s.id(system)
	if err != nil {
		return err
	}
	_, err = s.tx.ExecContext(ctx, `
		UPDATE staging_systems
		SET rows_read = ?, rows_rejected = ?, input_path = ?, input_bytes = ?, input_sha256 = ?
		WHERE system_id = ?`, st.RowsRead, rejected, st.Path, st.Bytes, st.SHA256, id)
	if err != nil {
		return fmt.Errorf("stage stats of %s: %w", system, err)
	}
	return nil
}

// Commit derives each system's distinct keys and commits the staging.
func (s *Staging) Commit(ctx context.Context) error {
	s.rowStmt.Close()
	s.rejStmt.Close()
	start := time.Now()
	if _, err := s.tx.ExecContext(ctx, query("build_staging_keys")); err != nil {
		s.tx.Rollback()
		return fmt.Errorf("build staging keys: %w", err)
	}
	s.log.Debug("staging step", "step", "build_staging_keys", "took", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	if err := s.tx.Commit(); err != nil {
		return fmt.Errorf("commit staging: %w", wrapBusy(err))
	}
	s.log.Debug("staging step", "step", "commit", "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// Rollback abandons the staging.
func (s *Staging) Rollback() error { return s.tx.Rollback() }
