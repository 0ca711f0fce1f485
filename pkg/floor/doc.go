// Package floor is the yardstick of keysync's speed: the job of `keysync
// sync` done the fastest plain way, with Go maps and no database, so that
// `keysync-bench` can say how far above the practical floor keysync runs
// (issue [fast-staging]).
//
// It reads every source with keysync's own extractors and normalization
// (pkg/source, pkg/normalize, driven exactly as a run drives them), so the
// parse and normalize cost is the same on both sides, then does the
// comparison of SPEC §5 in memory (the authority first, then the peers in
// parallel on every CPU, as keysync too uses both cores) and writes the findings part of the
// reports (SPEC §7): reconciliation_summary.csv, diff_missing_in_A.csv,
// diff_missing_from_system.csv, exceptions.csv and rejected_rows.csv.
//
// It keeps nothing: no runs, no registry, no audit log, no suppressions, no
// safety guards. Its reports are those of keysync's first run on a fresh
// database (run_id 1; status Proposed, or Active under auto-approve, and
// empty for a conflict), which makes it also the oracle keysync's findings
// are checked against (Diff).
package floor
