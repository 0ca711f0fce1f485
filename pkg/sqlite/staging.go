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
	"sync"
	"time"

	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/source"
	sqlfiles "github.com/keysync/keysync/sql"
)

// maxSystems is how many systems one run can stage: each is a bit of
// staging_keys.mask, a 64-bit signed integer.
const maxSystems = 62

// stagingParts is how many staging files a run splits its keys over, each
// loaded and compared by a goroutine and a connection of its own: one per
// core of the machines keysync is sized for.
const stagingParts = 2

// StagingDir is the directory of the disposable staging files of the
// database at dbPath: <database>-staging, next to the database file itself
// (symbolic links resolved, as for the run lock, so every path to one
// database finds the same staging).
func StagingDir(dbPath string) string {
	if real, err := filepath.EvalSymlinks(dbPath); err == nil {
		dbPath = real
	}
	return dbPath + "-staging"
}

// StagingPaths are the staging files of the database at dbPath, part-0.db
// and on.
func StagingPaths(dbPath string) []string {
	paths := make([]string, stagingParts)
	for i := range paths {
		paths[i] = filepath.Join(StagingDir(dbPath), fmt.Sprintf("part-%d.db", i))
	}
	return paths
}

// StagingSystem names one system of a run and its role.
type StagingSystem struct {
	Name string
	Role keysync.Role
}

// Staging loads one run's normalized rows into the run's staging files,
// SQLite files of their own beside the database. Each row goes to the file
// its key_id picks, so all rows of a key are in one file, and each file is
// written by a goroutine of its own without a journal in one transaction: it
// is disposable, so a crash may leave it half written and the next run
// deletes it. Nothing in it is visible to the registry, findings or audit
// log until FinishRun reads it.
type Staging struct {
	db     *DB
	parts  []*part
	ids    map[string]int64
	hasher keyHasher
	wg     sync.WaitGroup
	closed bool
	// Each system's last record staged: a system's rows arrive in file
	// order, so row_id order is record order within each file. The
	// authority's rows all come first (they are then one row_id range per
	// file); the peers' may interleave.
	lastRecord map[string]int64
	authority  string
	peersBegun bool
}

// BeginStaging deletes the previous run's staging files, creates new ones
// for run runID (recorded in each file's staging_run, so a reader can tell
// whose rows the files hold) and registers the run's systems, authority
// first. The caller must hold the run lock.
func (d *DB) BeginStaging(ctx context.Context, runID int64, systems []StagingSystem) (*Staging, error) {
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
	// The staging files hold every raw key the sources read: they get the
	// database's own permissions (the directory the matching x bits), never
	// SQLite's default 0644.
	mode := os.FileMode(0o600)
	if fi, err := os.Stat(d.path); err == nil {
		mode = fi.Mode().Perm() & 0o666
	}
	dirMode := mode | (mode&0o444)>>2
	if err := os.Mkdir(dir, dirMode); err != nil {
		return nil, fmt.Errorf("begin staging: %w", err)
	}
	if err := os.Chmod(dir, dirMode); err != nil { // past the umask
		return nil, fmt.Errorf("begin staging: %w", err)
	}
	s := &Staging{db: d, ids: map[string]int64{}, hasher: newHasher(), lastRecord: map[string]int64{}}
	for i, sys := range systems {
		s.ids[sys.Name] = int64(i + 1)
		if sys.Role == keysync.RoleAuthority {
			s.authority = sys.Name
		}
	}
	for i, path := range StagingPaths(d.path) {
		if err := createFile(path, mode); err != nil {
			s.Rollback()
			return nil, fmt.Errorf("begin staging: %w", err)
		}
		p, err := openPart(ctx, i, path, runID, systems, d.Log)
		if err != nil {
			s.Rollback()
			return nil, fmt.Errorf("begin staging: %w", err)
		}
		s.parts = append(s.parts, p)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			p.serve(ctx)
		}()
	}
	return s, nil
}

// AddRows stages accepted rows of system, in input order. The authority's
// rows must all come before any peer's; the peers' may interleave.
func (s *Staging) AddRows(ctx context.Context, system string, rows []keysync.Row) error {
	id, ok := s.ids[system]
	if !ok {
		return fmt.Errorf("stage: unknown system %q", system)
	}
	if len(rows) == 0 {
		return nil
	}
	if system == s.authority && s.peersBegun {
		return fmt.Errorf("stage %s: the authority's rows must all come before any peer's", system)
	}
	s.peersBegun = s.peersBegun || system != s.authority
	last := s.lastRecord[system]
	shares := make([]partRows, len(s.parts))
	for i := range rows {
		r := &rows[i]
		if r.Record <= last {
			return fmt.Errorf("stage %s: record %d after record %d: rows must arrive in file order", system, r.Record, last)
		}
		last = r.Record
		keyID, check := s.hasher.ids(r.Key)
		sh := &shares[uint64(keyID)%uint64(len(s.parts))]
		sh.rows = append(sh.rows, *r)
		sh.keyIDs = append(sh.keyIDs, keyID)
		sh.checks = append(sh.checks, check)
	}
	s.lastRecord[system] = last
	// Queued, not awaited: the files insert while the next batch is read.
	for i, p := range s.parts {
		if len(shares[i].rows) == 0 {
			continue
		}
		share := shares[i]
		if err := p.queue(ctx, func(ctx context.Context) error { return p.addRows(ctx, id, share) }); err != nil {
			return fmt.Errorf("stage %s: %w", system, err)
		}
	}
	return nil
}

// AddReject stages one rejected row of system (in the first file).
func (s *Staging) AddReject(ctx context.Context, system string, rej keysync.Rejection) error {
	id, ok := s.ids[system]
	if !ok {
		return fmt.Errorf("stage: unknown system %q", system)
	}
	p := s.parts[0]
	err := p.queue(ctx, func(ctx context.Context) error {
		_, err := p.tx.ExecContext(ctx,
			`INSERT INTO staging_rejects (system_id, record, raw_key, reason) VALUES (?, ?, ?, ?)`,
			id, rej.Record, rej.RawKey, rej.Reason)
		return err
	})
	if err != nil {
		return fmt.Errorf("stage rejected row %d of %s: %w", rej.Record, system, err)
	}
	return nil
}

// SetStats records what system's source read: its row count, rejected and
// filtered rows, the fingerprint of its input and the files it read
// (st.Files). It is called once the system's rows are all staged.
func (s *Staging) SetStats(ctx context.Context, system string, st source.Stats, rejected int64) error {
	id, ok := s.ids[system]
	if !ok {
		return fmt.Errorf("stage: unknown system %q", system)
	}
	for _, p := range s.parts {
		err := p.queue(ctx, func(ctx context.Context) error {
			if err := p.flush(ctx); err != nil {
				return err
			}
			var first, last sql.NullInt64
			if f, ok := p.first[id]; ok {
				first = sql.NullInt64{Int64: f, Valid: true}
				last = sql.NullInt64{Int64: p.staged, Valid: true}
			}
			if _, err := p.tx.ExecContext(ctx, `
				UPDATE staging_systems
				SET rows_read = ?, rows_rejected = ?, input_path = ?, input_bytes = ?, input_sha256 = ?,
				    filtered = ?, first_row = ?, last_row = ?
				WHERE system_id = ?`, st.RowsRead, rejected, st.Path, st.Bytes, st.SHA256,
				st.Filtered, first, last, id); err != nil {
				return err
			}
			if p.index > 0 {
				return nil
			}
			for i, f := range st.Files { // the files read, in the first file only
				if _, err := p.tx.ExecContext(ctx, `
					INSERT INTO staging_inputs (system_id, seq, path, bytes, sha256, first_record, records)
					VALUES (?, ?, ?, ?, ?, ?, ?)`, id, i+1, f.Path, f.Bytes, f.SHA256, f.FirstRecord, f.Records); err != nil {
					return fmt.Errorf("file %s: %w", f.Path, err)
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("stage stats of %s: %w", system, err)
		}
	}
	return nil
}

// Commit derives, in every staging file at once, each key's presence in
// every system, resolves hash collisions, counts each system's keys and
// lists the file's findings; then it closes the files and attaches them to
// the database for the guards and FinishRun. It returns how long the
// derivation took (part of the run's compare phase).
func (s *Staging) Commit(ctx context.Context) (time.Duration, error) {
	derive := time.Now()
	var authorityID int64
	full := int64(0)
	for _, id := range s.ids {
		full |= 1 << id
	}
	var errs []error
	for _, p := range s.parts {
		err := p.do(ctx, func(ctx context.Context) error {
			if err := p.flush(ctx); err != nil {
				return err
			}
			if err := p.tx.QueryRowContext(ctx,
				`SELECT system_id FROM staging_systems WHERE role = 'authority'`).Scan(&authorityID); err != nil {
				return fmt.Errorf("find the authority: %w", err)
			}
			return nil
		})
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		s.Rollback()
		return 0, err
	}
	// Each file derives on its own goroutine; the requests are queued at
	// once and waited for together.
	results := make([]<-chan error, len(s.parts))
	for i, p := range s.parts {
		results[i] = p.start(ctx, func(ctx context.Context) error {
			return p.derive(ctx, authorityID, full, s.ids)
		})
	}
	for i := range s.parts {
		errs = append(errs, <-results[i])
	}
	if err := errors.Join(errs...); err != nil {
		s.Rollback()
		return 0, err
	}
	s.stop()
	for _, p := range s.parts {
		errs = append(errs, p.commit())
	}
	if err := errors.Join(errs...); err != nil {
		return 0, fmt.Errorf("commit staging: %w", err)
	}
	took := time.Since(derive)
	if err := s.db.attachStaging(ctx, false); err != nil {
		return 0, err
	}
	return took, nil
}

// stop ends the files' goroutines once their queued work is done.
func (s *Staging) stop() {
	if !s.closed {
		for _, p := range s.parts {
			close(p.work)
		}
		s.closed = true
	}
	s.wg.Wait()
}

// Rollback abandons the staging; the next run deletes the files.
func (s *Staging) Rollback() error {
	s.stop()
	var errs []error
	for _, p := range s.parts {
		errs = append(errs, p.rollback())
	}
	return errors.Join(errs...)
}

// part is one staging file and the goroutine that owns its connection:
// every statement on it runs on that goroutine, in the order queued.
type part struct {
	index int
	path  string
	file  *sql.DB
	tx    *sql.Tx
	stmt  *sql.Stmt // the INSERT of rowsPerInsert rows
	work  chan job
	log   *slog.Logger

	mu  sync.Mutex
	err error // the first failure; later work is skipped

	pending partRows // rows waiting for a full INSERT
	args    []any
	buf     []byte
	staged  int64           // rows staged so far: the row_id of the last one
	first   map[int64]int64 // each system's first row_id here
}

// partRows are rows bound for one file, with their key hashes.
type partRows struct {
	systemID []int64
	rows     []keysync.Row
	keyIDs   []int64
	checks   []int64
}

// rowsPerInsert is how many rows one multi-row INSERT carries: at 5
// parameters a row it stays under SQLite's limit of 32766, and large batches
// amortise the statement overhead.
const rowsPerInsert = 4096

// createFile creates the empty file path with mode, for SQLite to fill.
func createFile(path string, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	return errors.Join(f.Chmod(mode), f.Close())
}

// openPart creates one staging file for one writer: no journal, no fsync (a
// crash costs nothing but the run, which is redone), an exclusive lock.
// PRAGMA threads bought the index's sort nothing, and a larger cache_size
// made it slower.
func openPart(ctx context.Context, index int, path string, runID int64, systems []StagingSystem, log *slog.Logger) (*part, error) {
	q := url.Values{}
	for _, p := range []string{"journal_mode(OFF)", "synchronous(OFF)", "locking_mode(EXCLUSIVE)", "temp_store(FILE)"} {
		q.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	p := &part{index: index, path: path, file: db, log: log, first: map[int64]int64{},
		work: make(chan job, 4)}
	if err := p.init(ctx, runID, systems); err != nil {
		p.rollback()
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	return p, nil
}

func (p *part) init(ctx context.Context, runID int64, systems []StagingSystem) error {
	if _, err := p.file.ExecContext(ctx, sqlfiles.StagingSchema); err != nil {
		return err
	}
	// Outside the load's transaction: the file is the run's even when the
	// run fails before Commit.
	if _, err := p.file.ExecContext(ctx, `INSERT INTO staging_run (run_id) VALUES (?)`, runID); err != nil {
		return err
	}
	var err error
	if p.tx, err = p.file.BeginTx(ctx, nil); err != nil {
		return err
	}
	for i, sys := range systems {
		if _, err := p.tx.ExecContext(ctx,
			`INSERT INTO staging_systems (system_id, system, role) VALUES (?, ?, ?)`,
			i+1, sys.Name, sys.Role); err != nil {
			return err
		}
	}
	p.stmt, err = p.tx.PrepareContext(ctx, insertRowsSQL(rowsPerInsert))
	return err
}

// job is one piece of a file's work; done, when set, receives its outcome:
// nil, its error, or the file's earlier failure that made it skip the job.
type job struct {
	fn   func(context.Context) error
	done chan<- error
}

// serve runs the file's queued work until the queue is closed. After a
// failure it skips the rest (answering every waiting caller with that
// failure), so the queue never blocks a sender and no caller waits forever.
func (p *part) serve(ctx context.Context) {
	for j := range p.work {
		err := p.failure()
		if err == nil {
			if err = j.fn(ctx); err != nil {
				err = fmt.Errorf("%s: %w", filepath.Base(p.path), err)
				p.mu.Lock()
				p.err = err
				p.mu.Unlock()
			}
		}
		if j.done != nil {
			j.done <- err
		}
	}
}

// failure is the file's first failure, if any.
func (p *part) failure() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// queue hands fn to the file's goroutine without waiting for it; a failure
// shows at a later call, or at Commit.
func (p *part) queue(ctx context.Context, fn func(context.Context) error) error {
	if err := p.failure(); err != nil {
		return err
	}
	select {
	case p.work <- job{fn: fn}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// start hands fn to the file's goroutine; the channel returned receives its
// outcome (or the file's earlier failure, or the context's end).
func (p *part) start(ctx context.Context, fn func(context.Context) error) <-chan error {
	done := make(chan error, 1)
	if err := p.failure(); err != nil {
		done <- err
		return done
	}
	select {
	case p.work <- job{fn: fn, done: done}:
	case <-ctx.Done():
		done <- ctx.Err()
	}
	return done
}

// do runs fn on the file's goroutine and waits for it.
func (p *part) do(ctx context.Context, fn func(context.Context) error) error {
	return <-p.start(ctx, fn)
}

// addRows queues rows of one system for the file and inserts every full
// INSERT's worth.
func (p *part) addRows(ctx context.Context, systemID int64, share partRows) error {
	if _, ok := p.first[systemID]; !ok {
		if err := p.flush(ctx); err != nil { // a system's rows start a new range
			return err
		}
		p.first[systemID] = p.staged + 1
	}
	for i := range share.rows {
		r := share.rows[i]
		p.pending.systemID = append(p.pending.systemID, systemID)
		p.pending.rows = append(p.pending.rows, r)
		p.pending.keyIDs = append(p.pending.keyIDs, share.keyIDs[i])
		p.pending.checks = append(p.pending.checks, share.checks[i])
		if len(p.pending.rows) == rowsPerInsert {
			if err := p.insert(ctx, p.stmt); err != nil {
				return err
			}
		}
	}
	return nil
}

// flush inserts the rows still pending.
func (p *part) flush(ctx context.Context) error {
	if len(p.pending.rows) == 0 {
		return nil
	}
	stmt, err := p.tx.PrepareContext(ctx, insertRowsSQL(len(p.pending.rows)))
	if err != nil {
		return err
	}
	defer stmt.Close()
	return p.insert(ctx, stmt)
}

// insert binds the pending rows to stmt, an INSERT of exactly that many rows.
func (p *part) insert(ctx context.Context, stmt *sql.Stmt) error {
	rows := p.pending
	// Pack every detail into one buffer and bind views of it: the driver
	// copies each text as it binds, so the buffer is free again once Exec
	// returns, and packing allocates nothing per row.
	buf := p.buf[:0]
	ends := make([]int, len(rows.rows))
	for i := range rows.rows {
		buf = appendDetail(buf, &rows.rows[i])
		ends[i] = len(buf)
	}
	p.buf = buf
	args := p.args[:0]
	start := 0
	for i := range rows.rows {
		r := &rows.rows[i]
		args = append(args, rows.keyIDs[i], rows.systemID[i], rows.checks[i], r.Key, bufString(buf, start, ends[i]))
		start = ends[i]
	}
	p.args = args
	if _, err := stmt.ExecContext(ctx, args...); err != nil {
		return err
	}
	p.staged += int64(len(rows.rows))
	p.pending = partRows{systemID: rows.systemID[:0], rows: rows.rows[:0], keyIDs: rows.keyIDs[:0], checks: rows.checks[:0]}
	return nil
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

// derive runs the comparison steps of one file.
func (p *part) derive(ctx context.Context, authorityID, fullMask int64, ids map[string]int64) error {
	args := []any{sql.Named("authority_id", authorityID), sql.Named("full_mask", fullMask)}
	mask, dupMask := maskExprs(ids)
	step := func(name string) error {
		start := time.Now()
		q := strings.NewReplacer("/*mask*/", mask, "/*dup_mask*/", dupMask).Replace(query(name))
		if _, err := p.tx.ExecContext(ctx, q, usedArgs(q, args)...); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		p.log.Debug("staging step", "part", p.index, "step", name, "took", time.Since(start).Round(time.Millisecond))
		return nil
	}
	for _, name := range []string{"index_staging_rows", "build_staging_keys"} {
		if err := step(name); err != nil {
			return err
		}
	}
	var collided int64
	if err := p.tx.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM staging_keys WHERE collided`).Scan(&collided); err != nil {
		return fmt.Errorf("look for hash collisions: %w", err)
	}
	if collided > 0 {
		if err := step("resolve_collisions"); err != nil {
			return err
		}
	}
	for _, name := range []string{"count_staging_keys", "build_staging_candidates", "build_staging_findings", "index_staging_findings"} {
		if err := step(name); err != nil {
			return err
		}
	}
	// The last statement before the commit: with journal_mode OFF a file
	// cut short by a kill may hold any part of the transaction, so the
	// mark goes in after everything it vouches for.
	if _, err := p.tx.ExecContext(ctx, `UPDATE staging_run SET complete = 1`); err != nil {
		return fmt.Errorf("mark the staging complete: %w", err)
	}
	return nil
}

func (p *part) commit() error {
	if p.stmt != nil {
		p.stmt.Close()
	}
	err := p.tx.Commit()
	p.tx = nil
	return errors.Join(err, p.file.Close())
}

func (p *part) rollback() error {
	if p.stmt != nil {
		p.stmt.Close()
	}
	var err error
	if p.tx != nil {
		err = p.tx.Rollback()
		p.tx = nil
	}
	return errors.Join(err, p.file.Close())
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
