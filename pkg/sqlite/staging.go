package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/source"
	sqlfiles "github.com/keysync/keysync/sql"
)

// rowsPerInsert is how many rows one multi-row INSERT carries: at 5
// parameters a row it stays under SQLite's limit of 32766, and large batches
// amortise the statement overhead.
const rowsPerInsert = 4096

// maxSystems is how many systems one run can stage: each is a bit of
// staging_keys.mask, a 64-bit signed integer.
const maxSystems = 62

// stagingSchema is the name the staging file is attached under.
const stagingSchema = "staging"

// StagingDir is the directory of the disposable staging file of the database
// at dbPath: <database>-staging, next to it.
func StagingDir(dbPath string) string { return dbPath + "-staging" }

// StagingPath is the staging file of the database at dbPath.
func StagingPath(dbPath string) string {
	return filepath.Join(StagingDir(dbPath), "staging.db")
}

// StagingSystem names one system of a run and its role.
type StagingSystem struct {
	Name string
	Role keysync.Role
}

// Staging loads one run's normalized rows into the run's staging file, a
// SQLite file of its own beside the database, written without a journal in
// one transaction: it is disposable, so a crash may leave it half written and
// the next run deletes it. Nothing in it is visible to the registry, findings
// or audit log until FinishRun reads it.
type Staging struct {
	db     *DB
	file   *sql.DB // the staging file; closed by Commit
	tx     *sql.Tx
	ids    map[string]int64
	hasher keyHasher
	stmt   *sql.Stmt
	rejStm *sql.Stmt
	args   []any
	buf    []byte
	log    *slog.Logger
	staged int64            // rows staged so far: the row_id of the last one
	first  map[string]int64 // each system's first row_id
	// The system being staged and its last record: a system's rows arrive
	// in file order, so row_id order is record order within it.
	cur        string
	lastRecord int64
}

// BeginStaging deletes the previous run's staging file, creates a new one
// and registers the run's systems, authority first. The caller must hold the
// run lock.
func (d *DB) BeginStaging(ctx context.Context, systems []StagingSystem) (*Staging, error) {
	if len(systems) > maxSystems {
		return nil, fmt.Errorf("begin staging: %d systems: at most %d can be reconciled in one run", len(systems), maxSystems)
	}
	if err := d.detachStaging(ctx); err != nil {
		return nil, fmt.Errorf("begin staging: %w", err)
	}
	dir := StagingDir(d.path)
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("begin staging: remove the previous run's %s: %w", dir, err)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("begin staging: %w", err)
	}
	file, err := openStagingFile(ctx, StagingPath(d.path))
	if err != nil {
		return nil, fmt.Errorf("begin staging: %w", err)
	}
	s := &Staging{db: d, file: file, ids: map[string]int64{}, first: map[string]int64{},
		hasher: newHasher(), log: d.Log}
	if err := s.init(ctx, systems); err != nil {
		s.Rollback()
		return nil, fmt.Errorf("begin staging %s: %w", StagingPath(d.path), err)
	}
	return s, nil
}

// openStagingFile opens a new staging file for one writer: no journal, no
// fsync (a crash costs nothing but the run, which is redone), an exclusive
// lock. (PRAGMA threads bought the index's sort nothing here, and a larger
// cache_size made it slower.)
func openStagingFile(ctx context.Context, path string) (*sql.DB, error) {
	q := url.Values{}
	for _, p := range []string{"journal_mode(OFF)", "synchronous(OFF)", "locking_mode(EXCLUSIVE)", "temp_store(FILE)"} {
		q.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, sqlfiles.StagingSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("create the staging tables in %s: %w", path, err)
	}
	return db, nil
}

func (s *Staging) init(ctx context.Context, systems []StagingSystem) error {
	var err error
	if s.tx, err = s.file.BeginTx(ctx, nil); err != nil {
		return err
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
	if s.stmt, err = s.tx.PrepareContext(ctx, insertRowsSQL(rowsPerInsert)); err != nil {
		return err
	}
	s.rejStm, err = s.tx.PrepareContext(ctx,
		`INSERT INTO staging_rejects (system_id, record, raw_key, reason) VALUES (?, ?, ?, ?)`)
	return err
}

func insertRowsSQL(n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO staging_rows (key_id, system_id, key_check, key, detail) VALUES ")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?)")
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

// AddRows stages accepted rows of system, in input order. The systems must
// be staged one after the other.
func (s *Staging) AddRows(ctx context.Context, system string, rows []keysync.Row) error {
	id, err := s.id(system)
	if err != nil {
		return err
	}
	if len(rows) > 0 && system != s.cur {
		if _, ok := s.first[system]; ok {
			return fmt.Errorf("stage %s: its rows must arrive together, not after another system's", system)
		}
		s.first[system], s.cur, s.lastRecord = s.staged+1, system, 0
	}
	for len(rows) > 0 {
		n := min(len(rows), rowsPerInsert)
		stmt := s.stmt
		if n < rowsPerInsert {
			stmt, err = s.tx.PrepareContext(ctx, insertRowsSQL(n))
			if err != nil {
				return fmt.Errorf("stage %s: %w", system, err)
			}
			defer stmt.Close()
		}
		// Pack every detail of the batch into one buffer and bind views of
		// it: the driver copies each text as it binds, so the buffer is free
		// again once Exec returns, and packing allocates nothing per row.
		buf := s.buf[:0]
		ends := make([]int, n)
		for i := range rows[:n] {
			if rows[i].Record <= s.lastRecord {
				return fmt.Errorf("stage %s: record %d after record %d: rows must arrive in file order", system, rows[i].Record, s.lastRecord)
			}
			s.lastRecord = rows[i].Record
			buf = appendDetail(buf, &rows[i])
			ends[i] = len(buf)
		}
		s.buf = buf
		args := s.args[:0]
		start := 0
		for i := range rows[:n] {
			r := &rows[i]
			keyID, check := s.hasher.ids(r.Key)
			detail := ""
			if ends[i] > start {
				detail = unsafe.String(&buf[start], ends[i]-start)
			}
			args = append(args, keyID, id, check, r.Key, detail)
			start = ends[i]
		}
		s.args = args
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("stage %s: %w", system, err)
		}
		s.staged += int64(n)
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
	if _, err := s.rejStm.ExecContext(ctx, id, rej.Record, rej.RawKey, rej.Reason); err != nil {
		return fmt.Errorf("stage rejected row %d of %s: %w", rej.Record, system, err)
	}
	return nil
}

// SetStats records what system's source read: its row count, rejected rows and
// the fingerprint of its input. It is called once the system's rows are all
// staged.
func (s *Staging) SetStats(ctx context.Context, system string, st source.Stats, rejected int64) error {
	id, err := s.id(system)
	if err != nil {
		return err
	}
	var first, last sql.NullInt64
	if f, ok := s.first[system]; ok {
		first = sql.NullInt64{Int64: f, Valid: true}
		last = sql.NullInt64{Int64: s.staged, Valid: true}
	}
	_, err = s.tx.ExecContext(ctx, `
		UPDATE staging_systems
		SET rows_read = ?, rows_rejected = ?, input_path = ?, input_bytes = ?, input_sha256 = ?,
		    first_row = ?, last_row = ?
		WHERE system_id = ?`, st.RowsRead, rejected, st.Path, st.Bytes, st.SHA256, first, last, id)
	if err != nil {
		return fmt.Errorf("stage stats of %s: %w", system, err)
	}
	return nil
}

// Commit derives, in the staging file, each key's presence in every system,
// resolves hash collisions, counts each system's keys and lists the run's
// candidate findings; then it closes the file and attaches it to the
// database for the guards and FinishRun. It returns how long the derivation
// took (part of the run's compare phase).
func (s *Staging) Commit(ctx context.Context) (time.Duration, error) {
	derive := time.Now()
	if err := s.derive(ctx); err != nil {
		s.Rollback()
		return 0, err
	}
	s.closeStmts()
	if err := s.tx.Commit(); err != nil {
		s.file.Close()
		return 0, fmt.Errorf("commit staging: %w", err)
	}
	if err := s.file.Close(); err != nil {
		return 0, fmt.Errorf("close staging: %w", err)
	}
	took := time.Since(derive)
	if err := s.db.attachStaging(ctx); err != nil {
		return 0, err
	}
	return took, nil
}

func (s *Staging) derive(ctx context.Context) error {
	var authorityID int64
	if err := s.tx.QueryRowContext(ctx,
		`SELECT system_id FROM staging_systems WHERE role = 'authority'`).Scan(&authorityID); err != nil {
		return fmt.Errorf("find the authority: %w", err)
	}
	full := int64(0)
	for _, id := range s.ids {
		full |= 1 << id
	}
	args := []any{sql.Named("authority_id", authorityID), sql.Named("full_mask", full)}
	mask, dupMask := maskExprs(s.ids)
	step := func(name string) error {
		start := time.Now()
		q := strings.NewReplacer("/*mask*/", mask, "/*dup_mask*/", dupMask).Replace(query(name))
		if _, err := s.tx.ExecContext(ctx, q, usedArgs(q, args)...); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		s.log.Debug("staging step", "step", name, "took", time.Since(start).Round(time.Millisecond))
		return nil
	}
	for _, name := range []string{"index_staging_rows", "build_staging_keys"} {
		if err := step(name); err != nil {
			return err
		}
	}
	var collided int64
	if err := s.tx.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM staging_keys WHERE collided`).Scan(&collided); err != nil {
		return fmt.Errorf("look for hash collisions: %w", err)
	}
	if collided > 0 {
		s.log.Debug("staging: hash collisions, resolving them by key", "key_ids", collided)
		if err := step("resolve_collisions"); err != nil {
			return err
		}
	}
	if err := s.countKeys(ctx, authorityID); err != nil {
		return fmt.Errorf("count staging keys: %w", err)
	}
	for _, name := range []string{"build_staging_candidates", "index_staging_candidates"} {
		if err := step(name); err != nil {
			return err
		}
	}
	return nil
}

// maskExprs writes out, for the systems of ids, the aggregates over one
// key's rows that build_staging_keys.sql needs: mask, the bits of the systems
// with one or more rows of the key, and dup_mask, of those with two or more.
// SQLite computes each SUM(system_id = n) once, however often it appears.
func maskExprs(ids map[string]int64) (mask, dupMask string) {
	sorted := make([]int64, 0, len(ids))
	for _, id := range ids {
		sorted = append(sorted, id)
	}
	slices.Sort(sorted)
	var m, d []string
	for _, id := range sorted {
		m = append(m, fmt.Sprintf("((SUM(system_id = %d) > 0) << %d)", id, id))
		d = append(d, fmt.Sprintf("((SUM(system_id = %d) > 1) << %d)", id, id))
	}
	return strings.Join(m, " | "), strings.Join(d, " | ")
}

// countKeys stores each system's distinct, duplicate and matched key counts
// (matched: |K(s) ∩ K(A)|). staging_keys has a row per key but few distinct
// (mask, dup_mask) pairs, so it is grouped on those first and the pairs'
// counts are summed per system.
func (s *Staging) countKeys(ctx context.Context, authorityID int64) error {
	start := time.Now()
	_, err := s.tx.ExecContext(ctx, query("count_staging_keys"), sql.Named("authority_id", authorityID))
	s.log.Debug("staging step", "step", "count_staging_keys", "took", time.Since(start).Round(time.Millisecond))
	return err
}

func (s *Staging) closeStmts() {
	if s.stmt != nil {
		s.stmt.Close()
	}
	if s.rejStm != nil {
		s.rejStm.Close()
	}
	s.stmt, s.rejStm = nil, nil
}

// Rollback abandons the staging; the next run deletes the file.
func (s *Staging) Rollback() error {
	s.closeStmts()
	var err error
	if s.tx != nil {
		err = s.tx.Rollback()
	}
	return errors.Join(err, s.file.Close())
}

// attachStaging attaches the run's staging file to the database's connection
// as schema "staging": the queries of FinishRun and the guards name its
// tables unqualified, and SQLite finds them there (the database itself has
// no staging tables).
func (d *DB) attachStaging(ctx context.Context) error {
	if err := d.detachStaging(ctx); err != nil {
		return err
	}
	path := StagingPath(d.path)
	if _, err := d.db.ExecContext(ctx, `ATTACH DATABASE ? AS `+stagingSchema, path); err != nil {
		return fmt.Errorf("attach staging %s: %w", path, err)
	}
	d.attached, d.authorityKeys = true, false
	return nil
}

// ensureAuthorityKeys fills staging_authority_keys once per staged run, for
// the namespaced strategy's conflict checks.
func (d *DB) ensureAuthorityKeys(ctx context.Context, q execer, authority string, authorityID int64) error {
	if d.authorityKeys {
		return nil
	}
	start := time.Now()
	if _, err := q.ExecContext(ctx, query("build_authority_keys"),
		sql.Named("authority", authority), sql.Named("authority_id", authorityID)); err != nil {
		return fmt.Errorf("build_authority_keys: %w", err)
	}
	d.authorityKeys = true
	d.Log.Debug("staging step", "step", "build_authority_keys", "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// execer runs a statement: a *sql.DB or a *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// detachStaging detaches the staging file, if attached.
func (d *DB) detachStaging(ctx context.Context) error {
	if !d.attached {
		return nil
	}
	if _, err := d.db.ExecContext(ctx, `DETACH DATABASE `+stagingSchema); err != nil {
		return fmt.Errorf("detach staging: %w", err)
	}
	d.attached = false
	return nil
}

// AttachStagingReadOnly attaches the latest run's staging file, read-only,
// as schema "staging", so v_key_presence and the staging tables answer on
// this connection (`keysync sql`). It reports false, and attaches nothing,
// when there is no staging file (no run has staged yet).
func (d *DB) AttachStagingReadOnly(ctx context.Context) (bool, error) {
	path := StagingPath(d.path)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err := d.detachStaging(ctx); err != nil {
		return false, err
	}
	u := url.URL{Scheme: "file", Path: path, RawQuery: "mode=ro"}
	if _, err := d.db.ExecContext(ctx, `ATTACH DATABASE ? AS `+stagingSchema, u.String()); err != nil {
		return false, fmt.Errorf("attach staging %s: %w", path, err)
	}
	d.attached = true
	return true, nil
}
