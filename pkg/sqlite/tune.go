package sqlite

// The read query of `keysync tune`: the run's comparison redone over its
// staged rows with other normalization rules, in SQL, nothing written.

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
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

// tuneVariants are the normalizers keysync_normalize applies, by variant id
// (int64 to *normalize.Normalizer), while a Tune call runs; read without a
// lock, as every staged row looks one up.
var (
	tuneVariants  sync.Map
	nextVariantID atomic.Int64
)

func init() {
	normalizeFunc := func(name string, raw func(any) (string, error)) {
		err := sqlite.RegisterDeterministicScalarFunction(name, 2,
			func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
				id, ok := args[1].(int64)
				if !ok {
					return nil, fmt.Errorf("%s: want an integer variant, got %T", name, args[1])
				}
				n, ok := tuneVariants.Load(id)
				if !ok {
					return nil, fmt.Errorf("%s: no variant %d", name, id)
				}
				r, err := raw(args[0])
				if err != nil {
					return nil, fmt.Errorf("%s: %w", name, err)
				}
				return n.(*normalize.Normalizer).Key(r), nil
			})
		if err != nil {
			panic(fmt.Sprintf("register %s: %v", name, err))
		}
	}
	// keysync_normalize(raw_key, variant) normalizes a raw key with the
	// options of a variant Tune registered.
	normalizeFunc("keysync_normalize", func(v any) (string, error) {
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("want a text raw key, got %T", v)
		}
		return s, nil
	})
	// keysync_normalize_row(detail, variant) is
	// keysync_normalize(keysync_detail(detail, 'raw_key'), variant) in one
	// call, which is most of tune's time per row.
	normalizeFunc("keysync_normalize_row", func(v any) (string, error) {
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("want a text detail, got %T", v)
		}
		raw, err := detailField(s, "raw_key")
		if err != nil {
			return "", err
		}
		return raw.(string), nil
	})
}

// Tune counts, for each option set of variants, what the comparison of the
// staged run would find had its keys been normalized so: the raw keys of
// its staged rows are normalized again in SQL (keysync_normalize) and
// compared as a run compares them. It reads the staging files only, through
// connections of its own that attach them read-only (tuneConnections), and
// writes nothing. Check first that the files
// hold the run meant (AttachStagingOf). Rows the run rejected stay out.
func (d *DB) Tune(ctx context.Context, authority string, variants []normalize.Options) ([]TuneCounts, error) {
	workers := make([]*sql.DB, min(tuneConnections, len(variants)))
	defer func() {
		for _, w := range workers {
			if w != nil {
				w.Close()
			}
		}
	}()
	for i := range workers {
		w, err := openStagingReader(ctx, d.path)
		if err != nil {
			return nil, fmt.Errorf("tune: %w", err)
		}
		workers[i] = w
	}
	q, peers, authorityID, err := tuneQuery(ctx, workers[0], authority)
	if err != nil {
		return nil, fmt.Errorf("tune: %w", err)
	}
	out := make([]TuneCounts, len(variants))
	next := make(chan int, len(variants))
	for i := range variants {
		next <- i
	}
	close(next)
	errs := make([]error, len(workers))
	var wg sync.WaitGroup
	for wi, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if ctx.Err() != nil || errs[wi] != nil {
					continue
				}
				start := time.Now()
				if err := tuneOne(ctx, w, q, authorityID, variants[i], &out[i]); err != nil {
					errs[wi] = fmt.Errorf("tune: variant %d: %w", i, err)
				}
				d.Log.Debug("tune variant", "connection", wi, "variant", i, "took", time.Since(start).Round(time.Millisecond))
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(append(errs, ctx.Err())...); err != nil {
		return nil, err
	}
	for i := range out {
		out[i].MissingFromSystem = out[i].authorityKeys*peers - out[i].Matched
	}
	return out, nil
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

// tuneQuery writes out tune_counts.sql for the staged systems.
func tuneQuery(ctx context.Context, db *sql.DB, authority string) (q string, peers, authorityID int64, err error) {
	var peerIDs []int64
	err = scanEach(ctx, db, "staged systems", `SELECT system_id, system = ? FROM staging_0.staging_systems ORDER BY system_id`,
		func(rs *sql.Rows, v *[2]int64) error { return rs.Scan(&v[0], &v[1]) },
		func(v [2]int64) error {
			if v[1] == 1 {
				authorityID = v[0]
			} else {
				peerIDs = append(peerIDs, v[0])
			}
			return nil
		}, authority)
	if err != nil {
		return "", 0, 0, err
	}
	if authorityID == 0 || len(peerIDs) == 0 {
		return "", 0, 0, fmt.Errorf("the staged run has no system %q or no peers", authority)
	}
	parts := make([]string, stagingParts)
	for i := range parts {
		parts[i] = fmt.Sprintf(
			"SELECT system_id, keysync_normalize_row(detail, :variant) FROM staging_%d.staging_rows", i)
	}
	with, dup := make([]string, len(peerIDs)), make([]string, len(peerIDs))
	for i, id := range peerIDs {
		with[i] = fmt.Sprintf("(SUM(system_id = %d) > 0)", id)
		dup[i] = fmt.Sprintf("(SUM(system_id = %d) > 1)", id)
	}
	q = strings.NewReplacer("/*staged*/", strings.Join(parts, "\n    UNION ALL "),
		"/*peers_with*/", strings.Join(with, " + "), "/*peers_dup*/", strings.Join(dup, " + ")).Replace(query("tune_counts"))
	return q, int64(len(peerIDs)), authorityID, nil
}

// tuneOne runs the counts of one option set on db.
func tuneOne(ctx context.Context, db *sql.DB, q string, authorityID int64, opts normalize.Options, c *TuneCounts) error {
	id := nextVariantID.Add(1)
	tuneVariants.Store(id, normalize.New(opts))
	defer tuneVariants.Delete(id)
	return db.QueryRowContext(ctx, q, sql.Named("variant", id), sql.Named("authority_id", authorityID)).
		Scan(&c.Matched, &c.MissingInA, &c.DuplicateKeys, &c.authorityKeys)
}

// tuneConnections is how many connections Tune reads the staging files on,
// each taking the next variant. One: on the shared 2-core development
// machine two connections took as much CPU per variant and longer in all
// (the Go function calls and SQLite's allocations contend), 26 s against
// 19 s for 10 variants over 5 × 100k rows.
const tuneConnections = 1
