// Package reconcile runs one keysync reconciliation end to end: it extracts
// and normalizes every source, stages the rows in the store, lets the store
// compute findings and registry changes in one final transaction, and puts the
// reports in place once that transaction has committed.
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/keysync/keysync/pkg/config"
	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/normalize"
	"github.com/keysync/keysync/pkg/report"
	"github.com/keysync/keysync/pkg/source"
	"github.com/keysync/keysync/pkg/sqlite"
)

// Result is what a run produced.
type Result struct {
	RunID    int64
	Mode     keysync.RunMode
	KPIs     sqlite.KPIs
	Summary  []keysync.SummaryRow
	Duration time.Duration
}

// errInterrupted is what a run cancelled by a signal records in runs.errors,
// as a run found stale does.
var errInterrupted = errors.New("interrupted")

// SourceError means a source could not be read; the run failed because of it.
type SourceError struct {
	System string
	Err    error
}

func (e *SourceError) Error() string { return e.Err.Error() }
func (e *SourceError) Unwrap() error { return e.Err }

// Run performs one reconciliation of cfg (with its flag overrides applied)
// against db. The caller holds the database's run lock. A run that fails is recorded as failed, and leaves the
// registry, the findings and the previous reports as they were.
//
// The safety guards of cfg.Safety are checked once the sources are staged; a
// tripped guard records the run as blocked and returns a *BlockedError, unless
// force is set, when it is only logged. A source whose input is byte-identical
// to the one of the previous succeeded normal run is logged as a warning.
//
// Options: WithObserver follows the run's progress.
func Run(ctx context.Context, cfg *config.Config, db *sqlite.DB, force bool, log *slog.Logger, opts ...Option) (Result, error) {
	start := time.Now()
	obs := runOptions(opts).observer
	mode := keysync.ModeNormal
	if cfg.DryRun {
		mode = keysync.ModeDryRun
	}
	formats := report.Formats(cfg.Output.Formats...)
	runID, err := db.StartRun(ctx, mode, cfg.Path)
	if err != nil {
		return Result{}, err
	}
	log = log.With("run_id", runID)
	log.Info("run started", "mode", mode, "config", cfg.Path, "database", db.Path())

	fail := func(err error) (Result, error) {
		recorded := err
		if ctx.Err() != nil {
			// Cancelled by SIGINT/SIGTERM: everything was rolled back. What the
			// cancellation broke (a closed statement, say) only goes to the log.
			log.Debug("cancelled while", "err", err)
			recorded = errInterrupted
			err = fmt.Errorf("run %d %w: the registry, findings and reports are as they were", runID, errInterrupted)
		}
		if ferr := db.FailRun(ctx, runID, recorded, time.Since(start)); ferr != nil {
			log.Error("record failed run", "err", ferr)
		}
		log.Error("run failed", "err", err)
		return Result{RunID: runID, Mode: mode}, err
	}
	phases := &sqlite.Phases{}
	inputs, err := stage(ctx, cfg, db, runID, phases, log, obs)
	if err != nil {
		return fail(err)
	}
	streaks, err := inputStreaks(ctx, db, runID, cfg.SourceNames(), inputs, log)
	if err != nil {
		return fail(err)
	}
	g, err := db.GuardStats(ctx, cfg.Authority, cfg.Provisioning.Strategy, cfg.Safety.MaxNewProposals > 0)
	if err != nil {
		return fail(err)
	}
	if blocked := checkGuards(cfg.Safety, g, streaks); blocked != nil {
		if force {
			log.Warn("safety guard overridden by --force", "guard", blocked.Guard, "system", blocked.System, "detail", blocked.Msg)
		} else {
			if err := db.BlockRun(ctx, runID, blocked.Error(), time.Since(start)); err != nil {
				log.Error("record blocked run", "err", err)
			}
			log.Warn("run blocked", "guard", blocked.Guard, "system", blocked.System, "detail", blocked.Msg)
			return Result{RunID: runID, Mode: mode}, blocked
		}
	}

	var pending *report.Pending
	var summary []keysync.SummaryRow
	var writeStart time.Time
	kpis, err := db.FinishRun(ctx, sqlite.Finish{
		RunID:       runID,
		Authority:   cfg.Authority,
		Strategy:    cfg.Provisioning.Strategy,
		AutoApprove: cfg.Provisioning.AutoApprove,
		DryRun:      cfg.DryRun,
		GracePeriod: cfg.GracePeriod,
		KeepRuns:    cfg.Retention.KeepRuns,
		Elapsed:     func() time.Duration { return time.Since(start) },
		Phases:      phases,
		BeforeCommit: func(ctx context.Context, r *sqlite.Reader) error {
			writeStart = time.Now()
			obs.Phase(PhaseCompare, phases.Compare) // final once the findings are in
			var err error
			if summary, err = r.Summary(ctx, runID); err != nil {
				return err
			}
			// Streamed from the transaction: a report of millions of rows is
			// never held in memory.
			pending, err = report.StageFrom(ctx, cfg.OutputDir, formats, r, runID)
			return err
		},
	})
	if err != nil {
		if pending != nil {
			pending.Discard()
		}
		return fail(err)
	}
	// The run has committed; only now do the reports replace the previous ones.
	if err := pending.Commit(); err != nil {
		log.Error("the run committed but its reports could not be put in place; the previous ones were kept",
			"rewrite_with", fmt.Sprintf("keysync report --run %d", runID), "err", err)
		return Result{RunID: runID, Mode: mode, KPIs: kpis}, err
	}
	obs.Phase(PhaseWrite, phases.Persist+time.Since(writeStart))
	res := Result{RunID: runID, Mode: mode, KPIs: kpis, Summary: summary, Duration: time.Since(start)}
	log.Debug("phases", "extract_ms", phases.Extract.Milliseconds(), "load_ms", phases.Load.Milliseconds(),
		"compare_ms", phases.Compare.Milliseconds(), "persist_ms", phases.Persist.Milliseconds(),
		"report_ms", phases.Report.Milliseconds())
	log.Info("run succeeded",
		"missing_in_A", kpis.MissingInA, "missing_from_system", kpis.MissingFromSystem,
		"duplicate_keys", kpis.DuplicateKeys, "output", cfg.OutputDir,
		"duration", res.Duration.Round(time.Millisecond))
	return res, nil
}

// inputStreaks reads, for each source of the run, how many succeeded normal
// runs before it read the very same bytes, and warns of each source whose
// input has not changed since the previous one: a stuck export job looks
// like a quiet night.
func inputStreaks(ctx context.Context, db *sqlite.DB, runID int64, names []string, inputs map[string]source.Fingerprint, log *slog.Logger) (map[string]sqlite.InputStreak, error) {
	r := db.Reader()
	streaks := make(map[string]sqlite.InputStreak, len(names))
	for _, name := range names {
		in := inputs[name]
		st, err := r.InputStreak(ctx, runID, name, in.Bytes, in.SHA256)
		if err != nil {
			return nil, err
		}
		streaks[name] = st
		if st.Runs > 0 {
			log.Warn("input unchanged since the previous run", "system", name, "previous_run", st.Last,
				"unchanged_since_run", st.Since, "unchanged_runs", st.Runs, "bytes", in.Bytes, "sha256", in.SHA256)
		}
	}
	return streaks, nil
}

// loadGCPercent is the GOGC of the staging load.
const loadGCPercent = 400

// batchRows is how many rows travel together from the reader to the writer.
const batchRows = 4096

// batch is a slice of one source's extraction on its way to the store.
type batch struct {
	system  string
	rows    []keysync.Row
	rejects []keysync.Rejection
	stats   *source.Stats // set on a source's last batch
}

// stage reads every source and loads it into the staging tables. Parsing and
// normalizing run on one goroutine while this one writes to SQLite, so on two
// cores the two halves overlap. It returns the fingerprint of each source's
// input, by system.
func stage(ctx context.Context, cfg *config.Config, db *sqlite.DB, runID int64, phases *sqlite.Phases, log *slog.Logger, obs Observer) (map[string]source.Fingerprint, error) {
	start := time.Now()
	// The load allocates a short-lived row per input line: with the default
	// GOGC the collector ran all the time on two cores. A larger heap target
	// for the load alone costs a few tens of MB.
	defer debug.SetGCPercent(debug.SetGCPercent(loadGCPercent))
	names := cfg.SourceNames()
	systems := make([]sqlite.StagingSystem, len(names))
	for i, n := range names {
		role := keysync.RolePeer
		if n == cfg.Authority {
			role = keysync.RoleAuthority
		}
		systems[i] = sqlite.StagingSystem{Name: n, Role: role}
	}
	st, err := db.BeginStaging(ctx, runID, systems)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan batch, 4)
	extractErr := make(chan error, 1)
	go func() {
		defer close(batches)
		took, err := extractAll(ctx, cfg, batches, log, obs)
		phases.Extract = took
		extractErr <- err
	}()

	rejected := map[string]int64{}
	inputs := map[string]source.Fingerprint{}
	var writeErr error
	for b := range batches {
		if writeErr != nil {
			continue // drain so the reader can finish
		}
		if b.stats != nil {
			inputs[b.system] = b.stats.Fingerprint
		}
		writeErr = write(ctx, st, b, rejected)
		if writeErr != nil {
			cancel()
		}
	}
	if err := <-extractErr; err != nil && (writeErr == nil || !errors.Is(err, context.Canceled)) {
		st.Rollback()
		return nil, err
	}
	if writeErr != nil {
		st.Rollback()
		return nil, writeErr
	}
	if err := ctx.Err(); err != nil {
		st.Rollback()
		return nil, err
	}
	phases.Load = time.Since(start)
	obs.Phase(PhaseLoad, phases.Load)
	derive, err := st.Commit(ctx)
	phases.Compare += derive
	return inputs, err
}

func write(ctx context.Context, st *sqlite.Staging, b batch, rejected map[string]int64) error {
	if err := st.AddRows(ctx, b.system, b.rows); err != nil {
		return err
	}
	for _, r := range b.rejects {
		if err := st.AddReject(ctx, b.system, r); err != nil {
			return err
		}
	}
	rejected[b.system] += int64(len(b.rejects))
	if b.stats != nil {
		return st.SetStats(ctx, b.system, *b.stats, rejected[b.system])
	}
	return nil
}

// extractAll reads the sources, authority first and alone (its rows are
// then one row range in each staging file), then the peers side by side,
// one per CPU, sending their rows in batches; each source's batches arrive
// in file order. It returns the time spent reading and normalizing, summed
// over the sources, not counting the time they waited for the writer.
func extractAll(ctx context.Context, cfg *config.Config, out chan<- batch, log *slog.Logger, obs Observer) (busy time.Duration, err error) {
	norm := normalize.New(cfg.Normalize)
	names := cfg.SourceNames()
	took, err := extractSource(ctx, cfg, names[0], norm, out, log, obs)
	if err != nil {
		return took, err
	}
	busy += took
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	peers := names[1:]
	errs := make([]error, len(peers))
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	for i, name := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			took, err := extractSource(ctx, cfg, name, norm, out, log, obs)
			mu.Lock()
			busy += took
			mu.Unlock()
			if err != nil {
				errs[i] = err
				cancel() // the run fails: stop the other peers
			}
		}()
	}
	wg.Wait()
	// The failure to report is the first source's, by name, that failed on
	// its own rather than because another one stopped it.
	var cancelled error
	for _, err := range errs {
		switch {
		case err == nil:
		case errors.Is(err, context.Canceled) && ctx.Err() != nil:
			if cancelled == nil {
				cancelled = err
			}
		default:
			return busy, err
		}
	}
	return busy, cancelled
}

// extractSource reads one source, sending its rows in batches. It returns
// the time spent reading and normalizing, not counting the time it waited
// for the writer.
func extractSource(ctx context.Context, cfg *config.Config, name string, norm *normalize.Normalizer, out chan<- batch, log *slog.Logger, obs Observer) (time.Duration, error) {
	src := cfg.Sources[name]
	start := time.Now()
	where := src.Path // what to name in logs and progress: the file, or the URL or DSN without secrets
	if src.DSN != "" {
		where = source.RedactDSN(src.Type, src.DSN)
	} else if where == "" {
		where = config.RedactURL(src.URL)
	}
	sink := &batchSink{ctx: ctx, system: name, out: out, progress: newSourceProgress(obs, name, where)}
	rules := source.Rules{System: name, Normalize: norm.Key}
	ex, err := source.New(SourceSpec(cfg, name))
	if err != nil {
		return 0, &SourceError{System: name, Err: err}
	}
	if src.Filter != "" {
		// Validated with the config; compiled again for this run's connection.
		if sink.filter, err = source.CompileFilter(ctx, src.Filter); err != nil {
			return 0, &SourceError{System: name, Err: fmt.Errorf("source %q: %w", name, err)}
		}
	}
	stats, err := ex.Extract(ctx, rules, sink)
	if err != nil {
		sink.filter.Close()
		return time.Since(start) - sink.blocked, &SourceError{System: name, Err: err}
	}
	err = sink.flush(&stats)
	sink.filter.Close()
	if err != nil {
		return time.Since(start) - sink.blocked, err
	}
	sink.progress.done(stats.RowsRead, stats.Bytes)
	took := time.Since(start)
	log.Info("source read", "system", name, "from", where, "rows", stats.RowsRead,
		"rejected", sink.rejected, "filtered", stats.Filtered, "took", took.Round(time.Millisecond))
	if len(stats.Files) > 1 {
		for _, f := range stats.Files {
			log.Debug("file read", "system", name, "file", f.Path, "records", f.Records,
				"first_record", f.FirstRecord, "bytes", f.Bytes, "sha256", f.SHA256)
		}
	}
	warnEncoding(log, name, src, sink.invalidUTF8)
	return took - sink.blocked, nil
}

// warnEncoding says when a file source read as UTF-8 had keys that are not
// UTF-8: the file is most likely in a legacy encoding (SPEC §3 rejects the
// rows, silently otherwise).
func warnEncoding(log *slog.Logger, name string, src config.Source, invalid int64) {
	if invalid == 0 || (src.Type != config.TypeCSV && src.Type != config.TypeJSON) {
		return
	}
	if enc, err := source.LookupEncoding(src.Encoding); err != nil || enc != nil {
		return // decoded from another encoding: the text is valid UTF-8
	}
	log.Warn("rows rejected as invalid_utf8: the file is probably not UTF-8",
		"system", name, "rows", invalid,
		"hint", fmt.Sprintf("set encoding: windows-1252 (or the file's encoding) under sources.%s", name))
}

// batchSink collects one source's rows into batches for the writer.
type batchSink struct {
	ctx      context.Context
	system   string
	out      chan<- batch
	cur      batch
	rejected int64
	// invalidUTF8 counts the rows rejected as invalid_utf8, for the hint
	// of warnEncoding.
	invalidUTF8 int64
	// filter, when set, leaves out the accepted rows its expression is not
	// true for, a batch at a time; filtered counts them.
	filter   *source.Filter
	filtered int64
	blocked  time.Duration   // waiting for the writer to take a batch
	progress *sourceProgress // nil when nobody watches
}

func (s *batchSink) Accept(row keysync.Row) error {
	s.progress.record()
	if s.cur.rows == nil {
		s.cur.rows = make([]keysync.Row, 0, batchRows)
	}
	s.cur.rows = append(s.cur.rows, row)
	if len(s.cur.rows) == batchRows {
		return s.flush(nil)
	}
	return nil
}

func (s *batchSink) Reject(rej keysync.Rejection) error {
	s.progress.record()
	s.cur.rejects = append(s.cur.rejects, rej)
	s.rejected++
	if rej.Reason == keysync.RejectInvalidUTF8 {
		s.invalidUTF8++
	}
	return nil
}

func (s *batchSink) flush(stats *source.Stats) error {
	if s.filter != nil {
		kept, n, err := s.filter.Keep(s.ctx, s.cur.rows)
		if err != nil {
			return fmt.Errorf("source %q: %w", s.system, err)
		}
		s.cur.rows = kept
		s.filtered += n
	}
	if stats != nil {
		stats.Filtered = s.filtered
	}
	b := s.cur
	b.system, b.stats = s.system, stats
	s.cur = batch{}
	start := time.Now()
	defer func() { s.blocked += time.Since(start) }()
	select {
	case s.out <- b:
		return nil
	case <-s.ctx.Done():
		return fmt.Errorf("source %q: %w", s.system, s.ctx.Err())
	}
}
