package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/keysync/keysync/pkg/keysync"
)

// Finish describes how a run's staged rows become its results.
type Finish struct {
	RunID       int64
	Authority   string
	Strategy    keysync.Strategy
	AutoApprove bool
	// DryRun computes findings and the status each master key would have, but
	// changes nothing in the registry.
	DryRun bool
	// GracePeriod keeps keys of the authority younger than it from being
	// reported missing from a peer (they count as pending); 0 turns it off.
	GracePeriod time.Duration
	// Took is the run's duration, recorded as duration_ms; Elapsed, when set,
	// replaces it and is asked right before the commit, so the duration
	// covers the final transaction and the reports too.
	Took    time.Duration
	Elapsed func() time.Duration
	// Phases carries the run's phase timings: the caller fills in Extract,
	// Load and the staging part of Compare; FinishRun adds the rest and
	// records them on the runs row. May be nil.
	Phases *Phases
	// BeforeCommit, when set, runs inside the final transaction once every
	// result is written, so reports can be rendered from exactly what is about
	// to be committed. An error from it rolls the whole run back.
	BeforeCommit func(ctx context.Context, r *Reader) error
	// KeepRuns, when at least 1, prunes the findings (pending ones too) and
	// rejected rows of the runs older than the newest KeepRuns succeeded runs
	// in the same transaction (retention.go); a dry run prunes nothing.
	KeepRuns int
}

// Phases are the durations of a run's phases, recorded on its runs row.
type Phases struct {
	Extract time.Duration // reading and normalizing every source
	Load    time.Duration // writing the staged rows (overlaps Extract)
	Compare time.Duration // distinct keys, presence, findings
	Persist time.Duration // registry, audit, summary and run rows
	Report  time.Duration // rendering the report files
}

// firstSeenSeed is when a key of the authority with no recorded first
// appearance is taken to have appeared: now, unless authority_first_seen is
// still empty on a database that has had successful runs — grace_period was
// just turned on — when the keys already there date from the first of them.
func firstSeenSeed(ctx context.Context, tx *sql.Tx, now string) (string, error) {
	var seed string
	err := tx.QueryRowContext(ctx, `
		SELECT CASE WHEN EXISTS (SELECT 1 FROM authority_first_seen) THEN ?
		            ELSE COALESCE((SELECT MIN(started_at) FROM runs
		                           WHERE status = 'succeeded' AND mode = 'normal'), ?) END`,
		now, now).Scan(&seed)
	if err != nil {
		return "", fmt.Errorf("grace period: first appearances: %w", err)
	}
	return seed, nil
}

// execSteps runs the named queries in order, logging each one's time.
func (d *DB) execSteps(ctx context.Context, tx *sql.Tx, names []string, args []any) error {
	for _, name := range names {
		start := time.Now()
		res, err := tx.ExecContext(ctx, query(name), usedArgs(query(name), args)...)
		if err != nil {
			return fmt.Errorf("%s: %w", name, wrapBusy(err))
		}
		n, _ := res.RowsAffected()
		d.Log.Debug("finish step", "step", name, "rows", n, "took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// KPIs are the per-run counts of SPEC §9.
type KPIs struct {
	MissingInA        int64
	MissingFromSystem int64
	DuplicateKeys     int64
	// AutoApprovalRate is nil when the run proposed no master key.
	AutoApprovalRate *float64
}

// FinishRun is the second of a run's two commits (SPEC §8): in one
// transaction it computes the findings from the staging tables with SQL
// anti-joins, applies registry changes with their audit events (not in a dry
// run), writes the summary, the KPIs, the final run status and run_succeeded.
func (d *DB) FinishRun(ctx context.Context, f Finish) (KPIs, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return KPIs{}, fmt.Errorf("finish run %d: %w", f.RunID, wrapBusy(err))
	}
	defer tx.Rollback()

	if f.Phases == nil {
		f.Phases = &Phases{}
	}
	kpis, err := d.finish(ctx, tx, f)
	if err != nil {
		return KPIs{}, fmt.Errorf("finish run %d: %w", f.RunID, err)
	}
	if f.BeforeCommit != nil {
		start := time.Now()
		if err := f.BeforeCommit(ctx, &Reader{q: tx}); err != nil {
			return KPIs{}, err
		}
		f.Phases.Report += time.Since(start)
	}
	p := f.Phases
	took := f.Took
	if f.Elapsed != nil {
		took = f.Elapsed()
	}
	if _, err := tx.ExecContext(ctx, `
		UPDATE runs SET extract_ms = ?, load_ms = ?, compare_ms = ?, persist_ms = ?, report_ms = ?,
		       finished_at = ?, duration_ms = ?
		WHERE run_id = ?`,
		p.Extract.Milliseconds(), p.Load.Milliseconds(), p.Compare.Milliseconds(),
		p.Persist.Milliseconds(), p.Report.Milliseconds(), d.now(), took.Milliseconds(), f.RunID); err != nil {
		return KPIs{}, fmt.Errorf("finish run %d: record phases: %w", f.RunID, err)
	}
	if err := d.retain(ctx, tx, f); err != nil {
		return KPIs{}, fmt.Errorf("finish run %d: %w", f.RunID, err)
	}
	if err := tx.Commit(); err != nil {
		return KPIs{}, fmt.Errorf("finish run %d: commit: %w", f.RunID, wrapBusy(err))
	}
	return kpis, nil
}

func (d *DB) finish(ctx context.Context, tx *sql.Tx, f Finish) (KPIs, error) {
	var authorityID int64
	err := tx.QueryRowContext(ctx,
		`SELECT system_id FROM staging_systems WHERE system = ? AND role = 'authority'`,
		f.Authority).Scan(&authorityID)
	if err != nil {
		return KPIs{}, fmt.Errorf("find authority %q in staging: %w", f.Authority, err)
	}
	if f.Strategy == keysync.StrategyNamespaced {
		if err := d.ensureAuthorityKeys(ctx, tx, f.Authority); err != nil {
			return KPIs{}, err
		}
	}
	now := d.now()
	args := []any{
		sql.Named("run_id", f.RunID),
		sql.Named("authority", f.Authority),
		sql.Named("authority_id", authorityID),
		sql.Named("namespaced", f.Strategy == keysync.StrategyNamespaced),
		sql.Named("auto_approve", f.AutoApprove),
		sql.Named("dry_run", f.DryRun),
		sql.Named("now", now),
		sql.Named("grace_seconds", f.GracePeriod.Seconds()),
		sql.Named("first_seen", now),
	}
	if f.GracePeriod > 0 {
		seed, err := firstSeenSeed(ctx, tx, now)
		if err != nil {
			return KPIs{}, err
		}
		args[len(args)-1] = sql.Named("first_seen", seed)
	}
	var compare []string
	if f.GracePeriod > 0 && !f.DryRun {
		compare = append(compare, "record_authority_first_seen")
	}
	if f.GracePeriod > 0 {
		// What grace_period holds back: left out of missing_from_system,
		// counted as pending, and kept so `keysync changes` can tell a
		// pending finding from a resolved one.
		compare = append(compare, "insert_pending_findings")
	}
	compare = append(compare,
		"insert_missing_in_a",
		"insert_missing_from_system",
		"insert_duplicates",
		"insert_master_keys",
		"decide_master_keys",
		"insert_conflicts",
		"set_missing_in_a_status",
	)
	var persist []string
	if !f.DryRun {
		persist = append(persist,
			"audit_proposed",
			"audit_auto_approved",
			"registry_insert_new",
			"registry_auto_approve",
		)
	}
	persist = append(persist, "insert_run_systems", "copy_rejects", "insert_run_inputs")
	start := time.Now()
	if err := d.execSteps(ctx, tx, compare, args); err != nil {
		return KPIs{}, err
	}
	f.Phases.Compare += time.Since(start)
	start = time.Now()
	defer func() { f.Phases.Persist += time.Since(start) }()
	if err := d.execSteps(ctx, tx, persist, args); err != nil {
		return KPIs{}, err
	}

	var k KPIs
	var rate sql.NullFloat64
	q := query("run_kpis")
	if err := tx.QueryRowContext(ctx, q, usedArgs(q, args)...).Scan(
		&k.MissingInA, &k.MissingFromSystem, &k.DuplicateKeys, &rate); err != nil {
		return KPIs{}, fmt.Errorf("run_kpis: %w", err)
	}
	if rate.Valid {
		k.AutoApprovalRate = &rate.Float64
	}
	_, err = tx.ExecContext(ctx, `
		UPDATE runs SET status = 'succeeded', finished_at = ?, duration_ms = ?,
		       missing_in_A_count = ?, missing_from_system_count = ?,
		       duplicate_keys_count = ?, auto_approval_rate = ?
		WHERE run_id = ?`,
		now, f.Took.Milliseconds(), k.MissingInA, k.MissingFromSystem, k.DuplicateKeys, rate, f.RunID)
	if err != nil {
		return KPIs{}, fmt.Errorf("record run: %w", err)
	}
	payload := map[string]any{
		"missing_in_A_count":        k.MissingInA,
		"missing_from_system_count": k.MissingFromSystem,
		"duplicate_keys_count":      k.DuplicateKeys,
		"auto_approval_rate":        k.AutoApprovalRate,
	}
	if err := insertEvent(ctx, tx, f.RunID, keysync.EventRunSucceeded, payload, now); err != nil {
		return KPIs{}, err
	}
	return k, nil
}
