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
}

// GuardStats are the numbers the safety guards of SPEC §11 decide on, read
// from the staging tables before anything of the run is written.
type GuardStats struct {
	Systems      []SystemGuardStats
	NewProposals int64
}

// GuardStats reads the staged run's guard numbers.
func (d *DB) GuardStats(ctx context.Context, authority string, strategy keysync.Strategy) (GuardStats, error) {
	var authorityID int64
	if err := d.db.QueryRowContext(ctx,
		`SELECT system_id FROM staging_systems WHERE system = ? AND role = 'authority'`,
		authority).Scan(&authorityID); err != nil {
		return GuardStats{}, fmt.Errorf("guard stats: find authority %q: %w", authority, err)
	}
	if strategy == keysync.StrategyNamespaced {
		if err := d.ensureAuthorityKeys(ctx, d.db, authority, authorityID); err != nil {
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
		if err := rs.Scan(&s.System, &s.Accepted, &prev, &prevRun, &s.MissingFromSystem, &s.AuthorityKeys); err != nil {
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
	q = query("guard_new_proposals")
	if err := d.db.QueryRowContext(ctx, q, usedArgs(q, args)...).Scan(&g.NewProposals); err != nil {
		return GuardStats{}, fmt.Errorf("guard stats: new proposals: %w", err)
	}
	return g, nil
}
