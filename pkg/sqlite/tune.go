package sqlite

// The read query of `keysync tune`: the run's comparison redone over its
// staged rows with other normalization rules, in SQL, nothing written.

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"

	"github.com/keysync/keysync/pkg/normalize"
)

// TuneCounts are the comparison's counts under one option set, summed over
// the peers (SPEC §5): MissingFromSystem is each peer's keys of the authority
// it lacks, DuplicateKeys each peer's keys on two or more rows.
type TuneCounts struct {
	Matched           int64
	MissingInA        int64
	MissingFromSystem int64
	DuplicateKeys     int64

	authorityKeys int64 // the authority's distinct keys
}

// tuneVariants are the normalizers keysync_normalize_row applies, by
// variant id (int64 to *normalize.Normalizer), while Tune counts an option
// set exactly; read without a lock, as every staged row looks one up.
var (
	tuneVariants  sync.Map
	nextVariantID atomic.Int64
)

func init() {
	// keysync_normalize_row(detail, variant) is the raw key of a staged
	// row's packed detail normalized with the options of a variant Tune
	// registered. VolatileArgs: the detail arrives as a view of SQLite's own
	// bytes with its length (a copied argument would end at a NUL in the
	// raw key), and the key returned is a new string.
	const name = "keysync_normalize_row"
	err := sqlite.RegisterFunction(name, &sqlite.FunctionImpl{
		NArgs:         2,
		Deterministic: true,
		VolatileArgs:  true,
		Scalar: func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			detail, ok1 := args[0].(string)
			id, ok2 := args[1].(int64)
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("%s: want (text, integer), got (%T, %T)", name, args[0], args[1])
			}
			n, ok := tuneVariants.Load(id)
			if !ok {
				return nil, fmt.Errorf("%s: no variant %d", name, id)
			}
			raw, err := detailRawKey(detail)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			return n.(*normalize.Normalizer).Key(raw), nil
		},
	})
	if err != nil {
		panic(fmt.Sprintf("register %s: %v", name, err))
	}
}

// Tune counts, for each option set of variants, what the comparison of the
// staged run would find had its keys been normalized so. It reads the raw
// keys of the staged rows once (rows the run rejected stay out), then for
// each option set normalizes them again, hashes each new key to integers
// as a run does (keyid.go) and hands the rows, in key order, to
// tune_counts.sql through the keysync_tune_rows virtual table: the
// comparison itself is SQL's, a GROUP BY that streams. Should two new keys
// share a key_id, the option set is counted again exactly, on the keys as
// text. It reads the staging files only, through connections of its own
// that attach them read-only, and writes nothing. Check first that the
// files hold the run meant (AttachStagingOf).
func (d *DB) Tune(ctx context.Context, authority string, variants []normalize.Options) ([]TuneCounts, error) {
	// The first error cancels the rest, and is the one returned.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	workers := make([]*tuneWorker, min(tuneConnections, len(variants)))
	defer func() {
		for _, w := range workers {
			if w != nil {
				w.close()
			}
		}
	}()
	for i := range workers {
		w, err := newTuneWorker(ctx, d.path)
		if err != nil {
			return nil, fmt.Errorf("tune: %w", err)
		}
		workers[i] = w
	}
	peers, authorityID, err := stagedSystemIDs(ctx, workers[0].db, authority)
	if err != nil {
		return nil, fmt.Errorf("tune: %w", err)
	}
	start := time.Now()
	parts := readAllStagedRawKeys(ctx, cancel, workers)
	if err := context.Cause(ctx); err != nil {
		return nil, fmt.Errorf("tune: %w", err)
	}
	d.Log.Debug("tune read the staged raw keys", "took", time.Since(start).Round(time.Millisecond))
	q := tuneQueries(peers, authorityID)
	h := newHasher()
	out := make([]TuneCounts, len(variants))
	next := make(chan int, len(variants))
	for i := range variants {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for wi, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if ctx.Err() != nil {
					return
				}
				start := time.Now()
				exact, err := w.count(ctx, q, parts, h, variants[i], &out[i])
				if err != nil {
					cancel(fmt.Errorf("option set %d: %w", i, err))
					return
				}
				d.Log.Debug("tune variant", "connection", wi, "variant", i, "exact", exact, "took", time.Since(start).Round(time.Millisecond))
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, fmt.Errorf("tune: %w", err)
	}
	for i := range out {
		out[i].MissingFromSystem = out[i].authorityKeys*int64(len(peers)) - out[i].Matched
	}
	return out, nil
}

// tuneWorker is one connection Tune counts option sets on: an in-memory
// database with the staging files attached read-only, its slot of rows
// and the keysync_tune_rows table reading it, and the rows' buffer.
type tuneWorker struct {
	db   *sql.DB
	slot string
	buf  tuneBuffers
}

func newTuneWorker(ctx context.Context, dbPath string) (*tuneWorker, error) {
	db, err := openStagingReader(ctx, dbPath)
	if err != nil {
		return nil, err
	}
	w := &tuneWorker{db: db, slot: newTuneSlot()}
	if _, err := db.ExecContext(ctx, fmt.Sprintf("CREATE VIRTUAL TABLE temp.tune_rows USING %s(%s)", tuneRowsModule, w.slot)); err != nil {
		w.close()
		return nil, fmt.Errorf("create the tune_rows table: %w", err)
	}
	return w, nil
}

func (w *tuneWorker) close() {
	w.db.Close()
	tuneSlots.Delete(w.slot)
}

// count counts one option set into c, in passes of at most
// tuneRowsPerPass rows each: by key hashes, or, when two new keys share a
// hash, exactly by the keys as text (then exact is true).
func (w *tuneWorker) count(ctx context.Context, q tuneQuery, parts []*stagedRawKeys, h keyHasher, opts normalize.Options, c *TuneCounts) (exact bool, err error) {
	n := normalize.New(opts)
	rows := 0
	for _, p := range parts {
		rows += p.len()
	}
	passes := max(1, (rows+tuneRowsPerPass-1)/tuneRowsPerPass)
	*c = TuneCounts{}
	for pass := range passes {
		collided, err := w.buf.fill(ctx, parts, n, h, pass, passes)
		if err != nil {
			return false, err
		}
		if collided {
			break
		}
		var p TuneCounts
		putTuneRows(w.slot, w.buf.rows)
		err = w.db.QueryRowContext(ctx, q.byHash, sql.Named("authority_id", q.authorityID)).
			Scan(&p.Matched, &p.MissingInA, &p.DuplicateKeys, &p.authorityKeys)
		clearTuneRows(w.slot)
		if err != nil {
			return false, err
		}
		c.Matched += p.Matched
		c.MissingInA += p.MissingInA
		c.DuplicateKeys += p.DuplicateKeys
		c.authorityKeys += p.authorityKeys
		if pass == passes-1 {
			return false, nil
		}
	}
	id := nextVariantID.Add(1)
	tuneVariants.Store(id, n)
	defer tuneVariants.Delete(id)
	return true, w.db.QueryRowContext(ctx, q.exact, sql.Named("variant", id), sql.Named("authority_id", q.authorityID)).
		Scan(&c.Matched, &c.MissingInA, &c.DuplicateKeys, &c.authorityKeys)
}

// readAllStagedRawKeys reads the raw keys of every staging file, the files
// side by side on the workers' connections. An error cancels ctx with it
// as the cause.
func readAllStagedRawKeys(ctx context.Context, cancel context.CancelCauseFunc, workers []*tuneWorker) []*stagedRawKeys {
	parts := make([]*stagedRawKeys, stagingParts)
	var wg sync.WaitGroup
	for wi, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := wi; i < stagingParts && ctx.Err() == nil; i += len(workers) {
				var err error
				if parts[i], err = readStagedRawKeys(ctx, w.db, fmt.Sprintf("staging_%d", i)); err != nil {
					cancel(err)
				}
			}
		}()
	}
	wg.Wait()
	return parts
}

// openStagingReader opens a connection of its own (an in-memory database)
// with the staging files of the database at dbPath attached read-only as
// staging_0, staging_1, ….
func openStagingReader(ctx context.Context, dbPath string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	for i, path := range StagingPaths(dbPath) {
		name := (&url.URL{Scheme: "file", Path: path, RawQuery: "mode=ro"}).String()
		if _, err := db.ExecContext(ctx, fmt.Sprintf("ATTACH DATABASE ? AS staging_%d", i), name); err != nil {
			db.Close()
			return nil, fmt.Errorf("attach staging %s: %w", path, err)
		}
	}
	return db, nil
}

// stagedSystemIDs are the staged system_ids of the peers and of the
// authority.
func stagedSystemIDs(ctx context.Context, db *sql.DB, authority string) (peers []int64, authorityID int64, err error) {
	err = scanEach(ctx, db, "staged systems", `SELECT system_id, system = ? FROM staging_0.staging_systems ORDER BY system_id`,
		func(rs *sql.Rows, v *[2]int64) error { return rs.Scan(&v[0], &v[1]) },
		func(v [2]int64) error {
			if v[1] == 1 {
				authorityID = v[0]
			} else {
				peers = append(peers, v[0])
			}
			return nil
		}, authority)
	if err != nil {
		return nil, 0, err
	}
	if authorityID == 0 || len(peers) == 0 {
		return nil, 0, fmt.Errorf("the staged run has no system %q or no peers", authority)
	}
	return peers, authorityID, nil
}

// tuneQuery is tune_counts.sql written out for the staged systems, in its
// two forms: by the key hashes of the tune_rows table, and by the keys as
// text, normalized in SQL from the staging files with :variant.
type tuneQuery struct {
	byHash, exact string
	authorityID   int64
}

func tuneQueries(peers []int64, authorityID int64) tuneQuery {
	parts := make([]string, stagingParts)
	for i := range parts {
		parts[i] = fmt.Sprintf(
			"SELECT system_id, keysync_normalize_row(detail, :variant) AS key FROM staging_%d.staging_rows", i)
	}
	with, dup := make([]string, len(peers)), make([]string, len(peers))
	for i, id := range peers {
		with[i] = fmt.Sprintf("(SUM(system_id = %d) > 0)", id)
		dup[i] = fmt.Sprintf("(SUM(system_id = %d) > 1)", id)
	}
	write := func(staged string) string {
		return strings.NewReplacer("/*staged*/", staged,
			"/*peers_with*/", strings.Join(with, " + "), "/*peers_dup*/", strings.Join(dup, " + ")).Replace(query("tune_counts"))
	}
	return tuneQuery{
		// LIMIT -1 keeps SQLite from flattening the scan into the GROUP BY,
		// where it would read system_id from the table once per sum.
		byHash:      write("SELECT key_id, system_id FROM temp.tune_rows ORDER BY key_id LIMIT -1"),
		exact:       write("SELECT key, system_id FROM (\n    " + strings.Join(parts, "\n    UNION ALL ") + "\n    ) WHERE key <> ''"),
		authorityID: authorityID,
	}
}

// tuneRowsPerPass bounds the rows a connection holds at once: 16 bytes
// each, so 128 MiB (5 x 1M staged rows take one pass). An option set of
// more rows is counted in passes over ranges of key_ids, each normalizing
// every raw key again. A variable for tests.
var tuneRowsPerPass = 1 << 23

// tuneConnections is how many connections Tune counts option sets on, side
// by side, each taking the next: one per core of the machines keysync is
// sized for (normalizing and hashing in Go, grouping in SQLite, both CPU
// bound).
const tuneConnections = 2
