package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/keysync/keysync/pkg/keysync"
)

// SystemGuardStats is what the safety guards see of one staged system.
type SystemGuardStats struct {
	System   string
	Accepted int64
	// PrevAccepted is the system's accepted rows in PrevRunID, the last
	// successful run that was not a dry run; nil when there is none.
	PrevAccepted *int64
	PrevRunID    int64
	// MissingFromSystem is how many of the authority's keys the system lacks
	// (0 for the authority); AuthorityKeys is |K(A)|.
	MissingFromSystem int64
	AuthorityKeys     int64
	// RowsRead and Rejected are the system's data records and how many of
	// them were rejected.
	RowsRead int64
	Rejected int64
}

// GuardStats are the numbers the safety guards of SPEC §11 decide on, read
// from the staging tables before anything of the run is written.
type GuardStats struct {
	Systems      []SystemGuardStats
	NewProposals int64 // 0 unless asked for
}

// GuardStats reads the staged run's guard numbers. NewProposals, a pass over
// every staged key, is counted only with countProposals (max_new_proposals
// on): the guards run on every sync, and the others need no such pass.
func (d *DB) GuardStats(ctx context.Context, authority string, strategy keysync.Strategy, countProposals bool) (GuardStats, error) {
	var authorityID int64
	if err := d.db.QueryRowContext(ctx,
		`SELECT system_id FROM staging_systems WHERE system = ? AND role = 'authority'`,
		authority).Scan(&authorityID); err != nil {
		return GuardStats{}, fmt.Errorf("guard stats: find authority %q: %w", authority, err)
	}
	if strategy == keysync.StrategyNamespaced {
		if err := d.ensureAuthorityKeys(ctx, d.db, authority); err != nil {
			return GuardStats{}, fmt.Errorf("guard stats: %w", err)
		}
	}
	args := []any{
		sql.Named("authority", authority),
		sql.Named("authority_id", authorityID),
		sql.Named("namespaced", strategy == keysync.StrategyNamespaced),
		sql.Named("now", d.now()),
	}
	var g GuardStats
	q := query("guard_systems")
	systems, err := scanAll(ctx, d.db, "guard stats", q, func(rs *sql.Rows, s *SystemGuardStats) error {
		var prev, prevRun sql.NullInt64
		if err := rs.Scan(&s.System, &s.Accepted, &prev, &prevRun, &s.MissingFromSystem, &s.AuthorityKeys,
			&s.RowsRead, &s.Rejected); err != nil {
			return err
		}
		if prev.Valid {
			s.PrevAccepted = &prev.Int64
			s.PrevRunID = prevRun.Int64
		}
		return nil
	}, usedArgs(q, args)...)
	if err != nil {
		return GuardStats{}, err
	}
	g.Systems = systems
	if !countProposals {
		return g, nil
	}
	q = query("guard_new_proposals")
	if err := d.db.QueryRowContext(ctx, q, usedArgs(q, args)...).Scan(&g.NewProposals); err != nil {
		return GuardStats{}, fmt.Errorf("guard stats: new proposals: %w", err)
	}
	return g, nil
}

// InputStreak is how long a source's input has stayed byte-identical: the
// consecutive succeeded normal runs before a run that read the very same
// bytes (see sql/queries/input_streak.sql).
type InputStreak struct {
	Runs  int64 // 0 when the input changed, or there is nothing to compare with
	Since int64 // the first run of the streak: unchanged since then
	Last  int64 // the last run of the streak: the previous succeeded normal run
}

// InputStreak reads the streak of system's input fingerprint (bytes, sha256)
// before runID. An input without a fingerprint (sha256 empty) has none.
func (r *Reader) InputStreak(ctx context.Context, runID int64, system string, bytes int64, sha256 string) (InputStreak, error) {
	if sha256 == "" {
		return InputStreak{}, nil
	}
	var st InputStreak
	var since, last sql.NullInt64
	err := r.q.QueryRowContext(ctx, query("input_streak"),
		sql.Named("run_id", runID), sql.Named("system", system),
		sql.Named("bytes", bytes), sql.Named("sha256", sha256)).Scan(&st.Runs, &since, &last)
	if err != nil {
		return InputStreak{}, fmt.Errorf("read input streak of %s before run %d: %w", system, runID, err)
	}
	st.Since, st.Last = since.Int64, last.Int64
	return st, nil
}
