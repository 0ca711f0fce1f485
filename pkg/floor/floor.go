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
	"slices"
	"strconv"
	"strings"
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
	Summary []keysync.SummaryRow // as written to reconciliation_summary.csv
	Rows    int64                // records read from all sources
	Read    time.Duration        // extracting, normalizing and counting keys
	Compare time.Duration        // computing and writing the findings
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

// job is one floor run. The authority is read first and kept whole; then
// each peer is read, compared and forgotten, so memory holds the authority
// and one peer at a time.
type job struct {
	cfg       *config.Config
	norm      *normalize.Normalizer
	newStatus string // the registry status of a new master key

	auth  map[string]int32 // A's keys: index into authKeys
	aKeys []keyRows
	order []int32 // authKeys indices by key, bytewise

	// The current peer: for each key of A, its rows in the peer (count) and
	// the raw key of the first one (first), the later distinct raw keys of
	// those with several (more); and the keys A lacks (extra).
	count []int32
	first []string
	more  map[int32][]string
	extra map[string]*keyRows

	rejected   []keysync.RejectedRow
	exceptions []keysync.Exception
	files      []*csvFile // the reports, under temporary names until commit
}

// Run reads the sources of cfg, compares them as SPEC §5 says, and writes
// the findings reports into dir, created if missing. cfg's output_dir,
// database and output formats are not used: only CSV is written.
func Run(ctx context.Context, cfg *config.Config, dir string, log *slog.Logger) (Result, error) {
	if cfg.GracePeriod > 0 {
		return Result{}, fmt.Errorf("config %s: grace_period %s: %w: remove it to compare", cfg.Path, cfg.GracePeriod, ErrUnsupported)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Result{}, fmt.Errorf("create output directory: %w", err)
	}
	j := &job{cfg: cfg, norm: normalize.New(cfg.Normalize), auth: map[string]int32{}, newStatus: string(keysync.StatusProposed)}
	if cfg.Provisioning.AutoApprove {
		j.newStatus = string(keysync.StatusActive)
	}
	defer j.discard()
	var res Result
	start := time.Now()
	aSum, err := j.read(ctx, cfg.Authority, j.acceptAuthority)
	if err != nil {
		return res, err
	}
	aSum.Role = keysync.RoleAuthority
	aSum.DistinctKeys, aSum.Matched = int64(len(j.aKeys)), int64(len(j.aKeys))
	res.Read += time.Since(start)

	start = time.Now()
	j.order = make([]int32, len(j.aKeys))
	for i := range j.order {
		j.order[i] = int32(i)
	}
	slices.SortFunc(j.order, func(a, b int32) int { return strings.Compare(j.aKeys[a].first.Key, j.aKeys[b].first.Key) })
	for i := range j.aKeys {
		if k := &j.aKeys[i]; k.count > 1 {
			aSum.DuplicateKeys++
			j.exceptions = append(j.exceptions, keysync.Exception{RunID: RunID, Kind: keysync.KindDuplicate,
				System: cfg.Authority, Key: k.first.Key, Count: k.count, Detail: detail(k.first.RawKey, k.more)})
		}
	}
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
	res.Compare += time.Since(start)

	summary := []keysync.SummaryRow{aSum}
	j.count = make([]int32, len(j.aKeys))
	j.first = make([]string, len(j.aKeys))
	for _, peer := range cfg.Peers() {
		start = time.Now()
		clear(j.count)
		clear(j.first)
		j.more, j.extra = map[int32][]string{}, map[string]*keyRows{}
		sum, err := j.read(ctx, peer, j.acceptPeer)
		if err != nil {
			return res, err
		}
		res.Read += time.Since(start)
		start = time.Now()
		if err := j.comparePeer(&sum, missingInA, missingFrom); err != nil {
			return res, err
		}
		summary = append(summary, sum)
		res.Compare += time.Since(start)
	}

	start = time.Now()
	if err := missingInA.close(); err != nil {
		return res, err
	}
	if err := missingFrom.close(); err != nil {
		return res, err
	}
	if err := j.writeRest(dir, summary); err != nil {
		return res, err
	}
	if err := j.commit(); err != nil {
		return res, err
	}
	res.Compare += time.Since(start)
	res.Summary = summary
	for _, s := range summary {
		res.Rows += s.RowsRead
	}
	return res, nil
}

// read extracts system with keysync's own extractor and rules, passing each
// accepted row to accept, and returns its summary row with the counts of
// rows read and rejected.
func (j *job) read(ctx context.Context, system string, accept func(keysync.Row)) (keysync.SummaryRow, error) {
	sum := keysync.SummaryRow{RunID: RunID, System: system, Role: keysync.RolePeer}
	ex, err := source.New(reconcile.SourceSpec(j.cfg, system))
	if err != nil {
		return sum, fmt.Errorf("source %q: %w", system, err)
	}
	s := &sink{system: system, accept: accept, rejected: &j.rejected}
	stats, err := ex.Extract(ctx, source.Rules{System: system, Normalize: j.norm.Key}, s)
	if err != nil {
		return sum, fmt.Errorf("source %q: %w", system, err)
	}
	sum.RowsRead, sum.RowsRejected = stats.RowsRead, s.rejects
	return sum, nil
}

// sink passes a source's accepted rows on and keeps its rejections.
type sink struct {
	system   string
	accept   func(keysync.Row)
	last     int64 // the record of the last accepted row
	rejects  int64
	rejected *[]keysync.RejectedRow
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
	s.rejects++
	*s.rejected = append(*s.rejected, keysync.RejectedRow{RunID: RunID, System: s.system,
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

func (j *job) acceptPeer(row keysync.Row) {
	if i, ok := j.auth[row.Key]; ok {
		j.count[i]++
		switch {
		case j.count[i] == 1:
			j.first[i] = row.RawKey
		case row.RawKey != j.first[i] && !slices.Contains(j.more[i], row.RawKey):
			j.more[i] = append(j.more[i], row.RawKey)
		}
		return
	}
	if k, ok := j.extra[row.Key]; ok {
		k.add(row.RawKey)
		return
	}
	j.extra[row.Key] = &keyRows{first: row, count: 1}
}

// comparePeer fills in sum for the peer just read, writes its missing rows
// and keeps its exceptions.
func (j *job) comparePeer(sum *keysync.SummaryRow, missingInA, missingFrom *csvFile) error {
	peer, id := sum.System, strconv.Itoa(RunID)
	for _, i := range j.order {
		switch n := j.count[i]; {
		case n == 0:
			a := &j.aKeys[i].first
			sum.MissingFromSystem++
			if err := missingFrom.write(id, peer, a.Key, a.RawKey, a.EntityType, a.LocationRef, a.LastSeenAt); err != nil {
				return err
			}
		case n > 1:
			sum.DuplicateKeys++
			j.exceptions = append(j.exceptions, keysync.Exception{RunID: RunID, Kind: keysync.KindDuplicate,
				System: peer, Key: j.aKeys[i].first.Key, Count: int64(n), Detail: detail(j.first[i], j.more[i])})
			fallthrough
		default:
			sum.Matched++
		}
	}
	extra := make([]*keyRows, 0, len(j.extra))
	for _, k := range j.extra {
		extra = append(extra, k)
	}
	slices.SortFunc(extra, func(a, b *keyRows) int { return strings.Compare(a.first.Key, b.first.Key) })
	for _, k := range extra {
		r := &k.first
		master := j.cfg.Provisioning.Strategy.MasterKey(j.cfg.Authority, peer, r.Key)
		status := j.newStatus
		if _, conflict := j.auth[master]; conflict {
			status = ""
			j.exceptions = append(j.exceptions, keysync.Exception{RunID: RunID, Kind: keysync.KindMasterKeyConflict,
				System: peer, Key: r.Key, Count: 1, Detail: master})
		}
		if k.count > 1 {
			sum.DuplicateKeys++
			j.exceptions = append(j.exceptions, keysync.Exception{RunID: RunID, Kind: keysync.KindDuplicate,
				System: peer, Key: r.Key, Count: k.count, Detail: detail(r.RawKey, k.more)})
		}
		sum.MissingInA++
		if err := missingInA.write(id, peer, r.RawKey, r.Key, master, status, r.EntityType, r.LocationRef, r.LastSeenAt); err != nil {
			return err
		}
	}
	sum.DistinctKeys = sum.Matched + int64(len(extra))
	return nil
}

// writeRest writes the summary, the exceptions and the rejected rows, each
// in its report's order.
func (j *job) writeRest(dir string, summary []keysync.SummaryRow) error {
	itoa := func(n int64) string { return strconv.FormatInt(n, 10) }
	f, err := j.create(dir, report.SummaryName, "run_id", "system", "role", "rows_read", "rows_rejected",
		"distinct_keys", "duplicate_keys", "matched", "missing_in_A", "missing_from_system", "pending", "suppressed")
	if err != nil {
		return err
	}
	for _, s := range summary {
		if err := f.write(itoa(s.RunID), s.System, string(s.Role), itoa(s.RowsRead), itoa(s.RowsRejected),
			itoa(s.DistinctKeys), itoa(s.DuplicateKeys), itoa(s.Matched), itoa(s.MissingInA),
			itoa(s.MissingFromSystem), itoa(s.Pending), itoa(s.Suppressed)); err != nil {
			return err
		}
	}
	if err := f.close(); err != nil {
		return err
	}

	slices.SortFunc(j.exceptions, func(a, b keysync.Exception) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), strings.Compare(a.System, b.System), strings.Compare(a.Key, b.Key))
	})
	if f, err = j.create(dir, report.ExceptionsName, "run_id", "kind", "system", "key", "count", "detail"); err != nil {
		return err
	}
	for _, e := range j.exceptions {
		if err := f.write(itoa(e.RunID), string(e.Kind), e.System, e.Key, itoa(e.Count), e.Detail); err != nil {
			return err
		}
	}
	if err := f.close(); err != nil {
		return err
	}

	// Each source's rejections are in record order already.
	slices.SortStableFunc(j.rejected, func(a, b keysync.RejectedRow) int { return strings.Compare(a.System, b.System) })
	if f, err = j.create(dir, report.RejectedName, "run_id", "system", "record", "raw_key", "reason"); err != nil {
		return err
	}
	for _, r := range j.rejected {
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
