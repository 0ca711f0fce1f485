package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// retain is a run's upkeep (config retention:): with Finish.KeepRuns set, a
// successful normal run prunes, as `keysync prune --keep-runs N` does, the
// findings, pending findings and rejected rows of the runs older than the
// newest KeepRuns succeeded normal runs, itself included. It runs inside FinishRun's transaction,
// right before the commit, so the run and its pruning are kept or lost
// together. A dry run prunes nothing.
func (d *DB) retain(ctx context.Context, tx *sql.Tx, f Finish) error {
	if f.KeepRuns < 1 || f.DryRun {
		return nil
	}
	p, err := prune(ctx, tx, f.KeepRuns)
	if err != nil {
		return fmt.Errorf("retention keep_runs %d: %w", f.KeepRuns, err)
	}
	if p.Runs > 0 {
		d.Log.Info("retention pruned old runs", "run_id", f.RunID, "keep_runs", f.KeepRuns,
			"kept_from", p.KeptFrom, "runs", p.Runs, "findings", p.Findings, "pending_findings", p.Pending, "rejected_rows", p.Rejected)
	}
	return nil
}
