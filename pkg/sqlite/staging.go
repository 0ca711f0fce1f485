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

// rowsPerInsert is how many rows one multi-row INSERT carries: at 7
// parameters a row it stays under SQLite's limit of 32766, and large batches
// amortise the statement overhead (256 rows a statement loaded 5 x 1M rows
// about a third slower).
const rowsPerInsert = 4096

// maxSystems is how many systems one run can stage: each is a bit of
// staging_presence.mask, a 64-bit signed integer.
const maxSystems = 62

// StagingSystem names one system of a run and its role.
type StagingSystem struct {
	Name string
	Role keysync.Role
}

// Staging loads one run's normalized rows into the staging tables, in
// transactions of its own that precede the run's final commit. Nothing in it
// is visible to the registry, findings or audit log until FinishRun; a run
// that fails or is killed while staging may leave staging half filled, and
// the next run empties it.
type Staging struct {
	db      *DB
	tx      *sql.Tx
	ids     map[string]int64
	rowStmt *sql.Stmt
	rejStmt *sql.Stmt
	args    []any
	log     *slog.Logger
	pending int   // rows staged since the last intermediate commit
	staged  int64 // rows staged in all
}

// maxRecord and maxRows bound what build_staging_keys packs into one integer
// (record << 32 | row_id) to find each key's first-seen row with one MIN.
const (
	maxRecord = 1<<31 - 1
	maxRows   = 1<<32 - 1
)

// rowsPerCommit is how many staged rows one transaction of the load holds.
// Staging is disposable (every run empties it first), so the load commits
// in slices: the WAL then stays small and is checkpointed as it goes,
// instead of growing to the size of every input (6.5 GB at 5 x 10M rows,
// which made each page lookup in it slower).
var rowsPerCommit = 1 << 19 // a variable so tests can make slices small

// BeginStaging empties the staging tables and registers the run's systems,
// authority first. The caller must hold the run lock.
func (d *DB) BeginStaging(ctx context.Context, systems []StagingSystem) (*Staging, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin staging: %w", wrapBusy(err))
	}
	s := &Staging{db: d, tx: tx, ids: map[string]int64{}, log: d.Log}
	if err := s.init(ctx, systems); err != nil {
		tx.Rollback()
		return nil, fmt.Errorf("begin staging: %w", err)
	}
	return s, nil
}

// prepare readies the insert statements on the current transaction.
func (s *Staging) prepare(ctx context.Context) error {
	var err error
	if s.rowStmt, err = s.tx.PrepareContext(ctx, insertRowsSQL(rowsPerInsert)); err != nil {
		return err
	}
	s.rejStmt, err = s.tx.PrepareContext(ctx,
		`INSERT INTO staging_rejects (system_id, record, raw_key, reason) VALUES (?, ?, ?, ?)`)
	return err
}

// closeStmts releases the insert statements of the current transaction.
func (s *Staging) closeStmts() {
	if s.rowStmt != nil {
		s.rowStmt.Close()
	}
	if s.rejStmt != nil {
		s.rejStmt.Close()
	}
	s.rowStmt, s.rejStmt = nil, nil
}

// rotate commits the rows staged so far and opens the next transaction.
func (s *Staging) rotate(ctx context.Context) error {
	if err := s.next(ctx); err != nil {
		return err
	}
	return s.prepare(ctx)
}

// next commits the current transaction and begins another.
func (s *Staging) next(ctx context.Context) error {
	s.closeStmts()
	if err := s.tx.Commit(); err != nil {
		return fmt.Errorf("commit staging: %w", wrapBusy(err))
	}
	tx, err := s.db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("continue staging: %w", wrapBusy(err))
	}
	s.tx, s.pending = tx, 0
	return nil
}

func (s *Staging) init(ctx context.Context, systems []StagingSystem) error {
	if len(systems) > maxSystems {
		return fmt.Errorf("%d systems: at most %d can be reconciled in one run", len(systems), maxSystems)
	}
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
	return s.prepare(ctx)
}

func insertRowsSQL(n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO staging_rows (system_id, record, key, raw_key, entity_type, location_ref, last_seen_at) VALUES ")
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
			if r.Record < 1 || r.Record > maxRecord {
				return fmt.Errorf("stage %s: record %d out of range (1 to %d)", system, r.Record, maxRecord)
			}
			args = append(args, id, r.Record, r.Key, r.RawKey, r.EntityType, r.LocationRef, r.LastSeenAt)
		}
		if s.staged += int64(n); s.staged > maxRows {
			return fmt.Errorf("stage %s: more than %d rows in one run", system, int64(maxRows))
		}
		s.args = args
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("stage %s: %w", system, err)
		}
		rows = rows[n:]
		if s.pending += n; s.pending >= rowsPerCommit {
			if err := s.rotate(ctx); err != nil {
				return fmt.Errorf("stage %s: %w", system, err)
			}
		}
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

// SetStats records what system's source read: its row count, rejected and
// filtered rows, the fingerprint of its input and the files it read (st.Files).
func (s *Staging) SetStats(ctx context.Context, system string, st source.Stats, rejected int64) error {
	id, err := s.id(system)
	if err != nil {
		return err
	}
	_, err = s.tx.ExecContext(ctx, `
		UPDATE staging_systems
		SET rows_read = ?, rows_rejected = ?, input_path = ?, input_bytes = ?, input_sha256 = ?, filtered = ?
		WHERE system_id = ?`, st.RowsRead, rejected, st.Path, st.Bytes, st.SHA256, st.Filtered, id)
	if err != nil {
		return fmt.Errorf("stage stats of %s: %w", system, err)
	}
	for i, f := range st.Files {
		if _, err := s.tx.ExecContext(ctx, `
			INSERT INTO staging_inputs (system_id, seq, path, bytes, sha256, first_record, records)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, id, i+1, f.Path, f.Bytes, f.SHA256, f.FirstRecord, f.Records); err != nil {
			return fmt.Errorf("stage file %s of %s: %w", f.Path, system, err)
		}
	}
	return nil
}

// Commit derives each system's distinct keys, which systems have each key and
// the rows of duplicate keys, each in a transaction of its own, and commits. It returns how long
// the derivation took (part of the run's compare phase).
func (s *Staging) Commit(ctx context.Context) (time.Duration, error) {
	if err := s.next(ctx); err != nil {
		s.tx.Rollback()
		return 0, err
	}
	derive := time.Now()
	for _, step := range []string{
		"build_staging_keys",     // K(s), by one sort of the rows
		"build_staging_presence", // which systems have each key
		"build_staging_dup_rows", // the rows behind keys with two rows
	} {
		start := time.Now()
		if _, err := s.tx.ExecContext(ctx, query(step)); err != nil {
			s.tx.Rollback()
			return 0, fmt.Errorf("%s: %w", step, err)
		}
		if err := s.next(ctx); err != nil { // one transaction a step keeps the WAL small
			s.tx.Rollback()
			return 0, err
		}
		s.log.Debug("staging step", "step", step, "took", time.Since(start).Round(time.Millisecond))
	}
	if err := s.multiRows(ctx); err != nil {
		s.tx.Rollback()
		return 0, err
	}
	if err := s.countKeys(ctx); err != nil {
		s.tx.Rollback()
		return 0, fmt.Errorf("count staging keys: %w", err)
	}
	took := time.Since(derive)
	start := time.Now()
	if err := s.tx.Commit(); err != nil {
		return 0, fmt.Errorf("commit staging: %w", wrapBusy(err))
	}
	s.log.Debug("staging step", "step", "commit", "took", time.Since(start).Round(time.Millisecond))
	return took, nil
}

// multiRows stages the rows of keys with three or more rows in a system. It
// scans every staged row, so it runs only when there are such keys: the rows
// of a pair are found by their row ids alone.
func (s *Staging) multiRows(ctx context.Context) error {
	var any bool
	if err := s.tx.QueryRowContext(ctx,
		`SELECT EXISTS (SELECT 1 FROM staging_presence WHERE multi_mask <> 0)`).Scan(&any); err != nil {
		return fmt.Errorf("look for keys with three or more rows: %w", err)
	}
	if !any {
		return nil
	}
	start := time.Now()
	if _, err := s.tx.ExecContext(ctx, query("build_staging_multi_rows")); err != nil {
		return fmt.Errorf("build_staging_multi_rows: %w", err)
	}
	if err := s.next(ctx); err != nil {
		return err
	}
	s.log.Debug("staging step", "step", "build_staging_multi_rows", "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// countKeys stores each system's distinct, duplicate and matched key counts
// (matched: |K(s) ∩ K(A)|), summed bit by bit over staging_presence in one
// scan (a GROUP BY system_id over staging_keys would sort every key of every
// system).
func (s *Staging) countKeys(ctx context.Context) error {
	start := time.Now()
	ids := make([]int64, 0, len(s.ids))
	for _, id := range s.ids {
		ids = append(ids, id)
	}
	var authorityID int64
	if err := s.tx.QueryRowContext(ctx,
		`SELECT system_id FROM staging_systems WHERE role = 'authority'`).Scan(&authorityID); err != nil {
		return fmt.Errorf("find the authority: %w", err)
	}
	var q strings.Builder
	q.WriteString("SELECT ")
	for i, id := range ids {
		if i > 0 {
			q.WriteString(", ")
		}
		fmt.Fprintf(&q, "COALESCE(SUM((mask >> %d) & 1), 0), COALESCE(SUM((dup_mask >> %d) & 1), 0), "+
			"COALESCE(SUM((mask >> %d) & (mask >> %d) & 1), 0)", id, id, id, authorityID)
	}
	q.WriteString(" FROM staging_presence")
	counts := make([]int64, 3*len(ids))
	dest := make([]any, len(counts))
	for i := range counts {
		dest[i] = &counts[i]
	}
	if err := s.tx.QueryRowContext(ctx, q.String()).Scan(dest...); err != nil {
		return err
	}
	for i, id := range ids {
		if _, err := s.tx.ExecContext(ctx,
			`UPDATE staging_systems SET distinct_keys = ?, duplicate_keys = ?, matched = ? WHERE system_id = ?`,
			counts[3*i], counts[3*i+1], counts[3*i+2], id); err != nil {
			return err
		}
	}
	s.log.Debug("staging step", "step", "count_keys", "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// Rollback abandons the rows staged since the last intermediate commit; the
// next run empties whatever staging holds.
func (s *Staging) Rollback() error {
	s.closeStmts()
	return s.tx.Rollback()
}
