package floor

import (
	"bufio"
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/keysync/keysync/pkg/config"
	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/normalize"
	"github.com/keysync/keysync/pkg/reconcile"
	"github.com/keysync/keysync/pkg/report"
	"github.com/keysync/keysync/pkg/source"
)

// RunID is the run_id of every row the floor writes: that of the first run
// on a fresh database.
const RunID = 1

// ErrUnsupported marks a config the floor cannot reconcile as keysync would.
var ErrUnsupported = errors.New("the floor does not support it")

// Result is what Run did.
type Result struct {
	Summary   []keysync.SummaryRow // as written to reconciliation_summary.csv
	Rows      int64                // records read from all sources
	Authority time.Duration        // reading the authority
	Peers     time.Duration        // reading and comparing the peers, in parallel
	Write     time.Duration        // writing what the peers did not write as they went
}

// keyRows is one normalized key of a system: its first-seen row, its number
// of rows, and the distinct raw keys of its later rows that differ from the
// first one's, in first-seen order (the detail of a duplicate).
type keyRows struct {
	first keysync.Row
	count int64
	more  []string
}

func (k *keyRows) add(raw string) {
	k.count++
	if raw != k.first.RawKey && !slices.Contains(k.more, raw) {
		k.more = append(k.more, raw)
	}
}

// detail is the detail of a duplicate: the distinct raw keys in first-seen
// order joined by " | ".
func detail(first string, more []string) string {
	if len(more) == 0 {
		return first
	}
	return first + " | " + strings.Join(more, " | ")
}

// job is one floor run. The authority is read first and kept whole, then
// read-only; the peers are read and compared against it in parallel, one
// per CPU, each forgotten once its findings are written.
type job struct {
	cfg       *config.Config
	log       *slog.Logger
	newStatus string // the registry status of a new master key

	auth  map[string]int32 // A's keys: index into aKeys
	aKeys []keyRows
	order []int32 // aKeys indices by key, bytewise

	files []*csvFile // the reports, under temporary names until commit
}

// peer is what one worker knows of the peer it reads: for each key of A,
// the peer's rows of it (count) and the raw key of the first (first), the
// later distinct raw keys of those with several (more); and the peer's keys
// that A lacks (extra). A worker reuses it from one peer to the next.
type peer struct {
	count []int32
	first []string
	more  map[int32][]string
	extra map[string]*keyRows
}

// found is what comparing one system found, each part in its report's
// order, held until the systems before it are written.
type found struct {
	sum         keysync.SummaryRow
	missingInA  []keysync.MissingInA
	missingFrom []int32 // indices into aKeys
	exceptions  []keysync.Exception
	rejected    []keysync.RejectedRow
	err         error
}

// Run reads the sources of cfg, compares them as SPEC §5 says, and writes
// the findings reports into dir, created if missing; they replace the
// previous ones only once all are written. cfg's output_dir, database and
// output formats are not used: only CSV is written.
func Run(ctx context.Context, cfg *config.Config, dir string, log *slog.Logger) (Result, error) {
	if cfg.GracePeriod > 0 {
		return Result{}, fmt.Errorf("config %s: grace_period %s: %w: remove it to compare", cfg.Path, cfg.GracePeriod, ErrUnsupported)
	}
	for _, name := range cfg.SourceNames() {
		if f := cfg.Sources[name].Filter; f != "" {
			return Result{}, fmt.Errorf("config %s: source %s: filter %q: %w: remove it to compare", cfg.Path, name, f, ErrUnsupported)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Result{}, fmt.Errorf("create output directory: %w", err)
	}
	j := &job{cfg: cfg, log: log, auth: map[string]int32{}, newStatus: string(keysync.StatusProposed)}
	if cfg.Provisioning.AutoApprove {
		j.newStatus = string(keysync.StatusActive)
	}
	defer j.discard()
	var res Result
	start := time.Now()
	a := found{sum: keysync.SummaryRow{RunID: RunID, System: cfg.Authority, Role: keysync.RoleAuthority}}
	if err := j.read(ctx, &a, j.acceptAuthority); err != nil {
		return res, err
	}
	a.sum.DistinctKeys, a.sum.Matched = int64(len(j.aKeys)), int64(len(j.aKeys))
	for i := range j.aKeys {
		if k := &j.aKeys[i]; k.count > 1 {
			a.sum.DuplicateKeys++
			a.exceptions = append(a.exceptions, keysync.Exception{RunID: RunID, Kind: keysync.KindDuplicate,
				System: cfg.Authority, Key: k.first.Key, Count: k.count, Detail: detail(k.first.RawKey, k.more),
				Cause: keysync.CauseOf(k.count, int64(len(k.more))+1)})
		}
	}
	j.order = make([]int32, len(j.aKeys))
	for i := range j.order {
		j.order[i] = int32(i)
	}
	slices.SortFunc(j.order, func(a, b int32) int { return strings.Compare(j.aKeys[a].first.Key, j.aKeys[b].first.Key) })
	res.Authority = time.Since(start)

	start = time.Now()
	missingInA, err := j.create(dir, report.MissingInAName, "run_id", "system", "source_key", "key", "master_key", "status",
		"entity_type", "location_ref", "last_seen_at")
	if err != nil {
		return res, err
	}
	missingFrom, err := j.create(dir, report.MissingFromSystemName, "run_id", "system", "master_key", "source_key",
		"entity_type", "location_ref", "last_seen_at")
	if err != nil {
		return res, err
	}
	all := []found{a}
	err = j.eachPeer(ctx, func(f found) error {
		err := j.writeMissing(f, missingInA, missingFrom)
		f.missingInA, f.missingFrom = nil, nil // written
		all = append(all, f)
		return err
	})
	if err != nil {
		return res, err
	}
	res.Peers = time.Since(start)

	start = time.Now()
	if err := missingInA.close(); err != nil {
		return res, err
	}
	if err := missingFrom.close(); err != nil {
		return res, err
	}
	if err := j.writeRest(dir, all); err != nil {
		return res, err
	}
	if err := j.commit(); err != nil {
		return res, err
	}
	res.Write = time.Since(start)
	for _, f := range all {
		res.Summary = append(res.Summary, f.sum)
		res.Rows += f.sum.RowsRead
	}
	return res, nil
}

// eachPeer reads and compares the peers, by name, on one goroutine per CPU,
// and hands what each found to fn in that order, on the caller's goroutine.
// The first error stops the others.
func (j *job) eachPeer(ctx context.Context, fn func(found) error) error {
	names := j.cfg.Peers()
	results := make([]found, len(names))
	done := make([]chan struct{}, len(names))
	for i := range done {
		done[i] = make(chan struct{})
	}
	// The first peer to fail cancels the others with its error as the cause,
	// which is then what the run fails with, not their cancellation.
	ctx, cancel := context.WithCancelCause(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel(nil)
		wg.Wait()
	}()
	next := make(chan int)
	wg.Go(func() {
		defer close(next)
		for i := range names {
			select {
			case next <- i:
			case <-ctx.Done():
				for ; i < len(names); i++ { // never started: done, with the reason
					results[i].err = ctx.Err()
					close(done[i])
				}
				return
			}
		}
	})
	for range min(runtime.GOMAXPROCS(0), len(names)) {
		wg.Go(func() {
			p := &peer{count: make([]int32, len(j.aKeys)), first: make([]string, len(j.aKeys))}
			for i := range next {
				results[i] = j.comparePeer(ctx, names[i], p)
				if results[i].err != nil {
					cancel(results[i].err)
				}
				close(done[i])
			}
		})
	}
	for i := range names {
		<-done[i]
		if err := results[i].err; err != nil {
			if cause := context.Cause(ctx); cause != nil {
				return cause
			}
			return err
		}
		if err := fn(results[i]); err != nil {
			return err
		}
		results[i] = found{} // written: let it go
	}
	return nil
}

// read extracts the system of f with keysync's own extractor and rules,
// passing each accepted row to accept and keeping the rejected ones in f.
func (j *job) read(ctx context.Context, f *found, accept func(keysync.Row)) error {
	system := f.sum.System
	// The errors of both name the source and where in it, as in a run.
	ex, err := source.New(reconcile.SourceSpec(j.cfg, system))
	if err != nil {
		return err
	}
	s := &sink{found: f, accept: accept}
	norm := normalize.New(j.cfg.Normalize)
	start := time.Now()
	stats, err := ex.Extract(ctx, source.Rules{System: system, Normalize: norm.Key}, s)
	if err != nil {
		return err
	}
	j.log.Debug("source read", "system", system, "rows", stats.RowsRead, "rejected", len(f.rejected),
		"took", time.Since(start).Round(time.Millisecond))
	f.sum.RowsRead, f.sum.RowsRejected = stats.RowsRead, int64(len(f.rejected))
	return nil
}

// sink passes a source's accepted rows on and keeps its rejections.
type sink struct {
	found  *found
	accept func(keysync.Row)
	last   int64 // the record of the last accepted row
}

// Accept requires record numbers to grow: the first row of a key in input
// order is then its first-seen row (lowest record), as keysync defines it.
func (s *sink) Accept(row keysync.Row) error {
	if row.Record <= s.last {
		return fmt.Errorf("record %d came after record %d: the floor needs records in input order", row.Record, s.last)
	}
	s.last = row.Record
	s.accept(row)
	return nil
}

func (s *sink) Reject(rej keysync.Rejection) error {
	s.found.rejected = append(s.found.rejected, keysync.RejectedRow{RunID: RunID, System: s.found.sum.System,
		Record: rej.Record, RawKey: rej.RawKey, Reason: rej.Reason})
	return nil
}

func (j *job) acceptAuthority(row keysync.Row) {
	if i, ok := j.auth[row.Key]; ok {
		j.aKeys[i].add(row.RawKey)
		return
	}
	j.auth[row.Key] = int32(len(j.aKeys))
	j.aKeys = append(j.aKeys, keyRows{first: row, count: 1})
}

func (p *peer) accept(auth map[string]int32) func(keysync.Row) {
	return func(row keysync.Row) {
		if i, ok := auth[row.Key]; ok {
			p.count[i]++
			switch {
			case p.count[i] == 1:
				p.first[i] = row.RawKey
			case row.RawKey != p.first[i] && !slices.Contains(p.more[i], row.RawKey):
				p.more[i] = append(p.more[i], row.RawKey)
			}
			return
		}
		if k, ok := p.extra[row.Key]; ok {
			k.add(row.RawKey)
			return
		}
		p.extra[row.Key] = &keyRows{first: row, count: 1}
	}
}

// comparePeer reads the peer name into p and returns what it found.
func (j *job) comparePeer(ctx context.Context, name string, p *peer) found {
	clear(p.count)
	clear(p.first)
	p.more, p.extra = map[int32][]string{}, map[string]*keyRows{}
	f := found{sum: keysync.SummaryRow{RunID: RunID, System: name, Role: keysync.RolePeer}}
	if f.err = j.read(ctx, &f, p.accept(j.auth)); f.err != nil {
		return f
	}
	for _, i := range j.order {
		switch n := p.count[i]; {
		case n == 0:
			f.missingFrom = append(f.missingFrom, i)
		case n > 1:
			f.sum.DuplicateKeys++
			f.exceptions = append(f.exceptions, keysync.Exception{RunID: RunID, Kind: keysync.KindDuplicate,
				System: name, Key: j.aKeys[i].first.Key, Count: int64(n), Detail: detail(p.first[i], p.more[i]),
				Cause: keysync.CauseOf(int64(n), int64(len(p.more[i]))+1)})
			fallthrough
		default:
			f.sum.Matched++
		}
	}
	extra := make([]*keyRows, 0, len(p.extra))
	for _, k := range p.extra {
		extra = append(extra, k)
	}
	slices.SortFunc(extra, func(a, b *keyRows) int { return strings.Compare(a.first.Key, b.first.Key) })
	for _, k := range extra {
		r := &k.first
		m := keysync.MissingInA{RunID: RunID, System: name, SourceKey: r.RawKey, Key: r.Key,
			MasterKey: j.cfg.Provisioning.Strategy.MasterKey(j.cfg.Authority, name, r.Key), Status: j.newStatus,
			EntityType: r.EntityType, LocationRef: r.LocationRef, LastSeenAt: r.LastSeenAt}
		if _, conflict := j.auth[m.MasterKey]; conflict {
			m.Status = ""
			f.exceptions = append(f.exceptions, keysync.Exception{RunID: RunID, Kind: keysync.KindMasterKeyConflict,
				System: name, Key: r.Key, Count: 1, Detail: m.MasterKey})
		}
		if k.count > 1 {
			f.sum.DuplicateKeys++
			f.exceptions = append(f.exceptions, keysync.Exception{RunID: RunID, Kind: keysync.KindDuplicate,
				System: name, Key: r.Key, Count: k.count, Detail: detail(r.RawKey, k.more),
				Cause: keysync.CauseOf(k.count, int64(len(k.more))+1)})
		}
		f.missingInA = append(f.missingInA, m)
	}
	f.sum.DistinctKeys = f.sum.Matched + int64(len(extra))
	f.sum.MissingInA, f.sum.MissingFromSystem = int64(len(f.missingInA)), int64(len(f.missingFrom))
	return f
}

// writeMissing writes the missing rows of one peer; the peers come by name,
// the order of both reports.
func (j *job) writeMissing(f found, missingInA, missingFrom *csvFile) error {
	id := strconv.Itoa(RunID)
	for _, m := range f.missingInA {
		if err := missingInA.write(id, m.System, m.SourceKey, m.Key, m.MasterKey, m.Status,
			m.EntityType, m.LocationRef, m.LastSeenAt); err != nil {
			return err
		}
	}
	for _, i := range f.missingFrom {
		a := &j.aKeys[i].first
		if err := missingFrom.write(id, f.sum.System, a.Key, a.RawKey, a.EntityType, a.LocationRef, a.LastSeenAt); err != nil {
			return err
		}
	}
	return nil
}

// writeRest writes the summary, the exceptions and the rejected rows of
// all (the authority, then the peers by name), each in its report's order.
func (j *job) writeRest(dir string, all []found) error {
	itoa := func(n int64) string { return strconv.FormatInt(n, 10) }
	f, err := j.create(dir, report.SummaryName, "run_id", "system", "role", "rows_read", "rows_rejected",
		"distinct_keys", "duplicate_keys", "matched", "missing_in_A", "missing_from_system", "pending", "suppressed", "filtered")
	if err != nil {
		return err
	}
	var exceptions []keysync.Exception
	var rejected []keysync.RejectedRow
	for _, x := range all {
		s := x.sum
		if err := f.write(itoa(s.RunID), s.System, string(s.Role), itoa(s.RowsRead), itoa(s.RowsRejected),
			itoa(s.DistinctKeys), itoa(s.DuplicateKeys), itoa(s.Matched), itoa(s.MissingInA),
			itoa(s.MissingFromSystem), itoa(s.Pending), itoa(s.Suppressed), "0"); err != nil {
			return err
		}
		exceptions = append(exceptions, x.exceptions...)
		rejected = append(rejected, x.rejected...)
	}
	if err := f.close(); err != nil {
		return err
	}

	slices.SortFunc(exceptions, func(a, b keysync.Exception) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), strings.Compare(a.System, b.System), strings.Compare(a.Key, b.Key))
	})
	if f, err = j.create(dir, report.ExceptionsName, "run_id", "kind", "system", "key", "count", "detail", "cause"); err != nil {
		return err
	}
	for _, e := range exceptions {
		if err := f.write(itoa(e.RunID), string(e.Kind), e.System, e.Key, itoa(e.Count), e.Detail, string(e.Cause)); err != nil {
			return err
		}
	}
	if err := f.close(); err != nil {
		return err
	}

	// Each source's rejections are in record order already; the authority
	// need not come first by name.
	slices.SortStableFunc(rejected, func(a, b keysync.RejectedRow) int { return strings.Compare(a.System, b.System) })
	if f, err = j.create(dir, report.RejectedName, "run_id", "system", "record", "raw_key", "reason"); err != nil {
		return err
	}
	for _, r := range rejected {
		if err := f.write(itoa(r.RunID), r.System, itoa(r.Record), r.RawKey, string(r.Reason)); err != nil {
			return err
		}
	}
	return f.close()
}

// csvFile is one report being written: CSV with a header row and LF line
// ends, as keysync writes it, under a temporary name beside its own.
type csvFile struct {
	path string
	f    *os.File
	w    *csv.Writer
}

// create starts the report name in dir.
func (j *job) create(dir, name string, header ...string) (*csvFile, error) {
	path := filepath.Join(dir, name+".csv")
	f, err := os.CreateTemp(dir, "."+name+".csv.tmp-*")
	if err != nil {
		return nil, fmt.Errorf("write report %s: %w", path, err)
	}
	j.files = append(j.files, &csvFile{path: path, f: f}) // discarded on failure from here on
	if err := f.Chmod(0o644); err != nil {
		return nil, fmt.Errorf("write report %s: %w", path, err)
	}
	// csv.NewWriter keeps a bufio.Writer this large instead of adding its own.
	c := j.files[len(j.files)-1]
	c.w = csv.NewWriter(bufio.NewWriterSize(f, 64<<10))
	return c, c.write(header...)
}

func (c *csvFile) write(fields ...string) error {
	if err := c.w.Write(fields); err != nil {
		return fmt.Errorf("write report %s: %w", c.path, err)
	}
	return nil
}

// close writes out what is buffered; the file keeps its temporary name.
func (c *csvFile) close() error {
	c.w.Flush()
	err := c.w.Error()
	if cerr := c.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write report %s: %w", c.path, err)
	}
	return nil
}

// commit gives every closed report its own name, once all are written, so a
// failed run leaves the previous reports as they were.
func (j *job) commit() error {
	for _, c := range j.files {
		if err := os.Rename(c.f.Name(), c.path); err != nil {
			return fmt.Errorf("write report %s: %w", c.path, err)
		}
	}
	j.files = nil
	return nil
}

// discard removes the reports not committed.
func (j *job) discard() {
	for _, c := range j.files {
		c.f.Close()
		os.Remove(c.f.Name())
	}
}
