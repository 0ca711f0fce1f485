package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
)

// The guards and FinishRun read a run's staging files through the database's
// own connection: each file is attached as schema staging_N, and TEMP views
// under the names the queries use put the files together —
//
//	staging_systems         each system once: what its source read, and its
//	                        key counts summed over the files
//	staging_findings        every file's findings (UNION ALL)
//	staging_rejects         the rejected rows
//	staging_inputs          the files the sources read
//	staging_authority_rows  the authority's keys, one per row, from every file
//	v_key_presence          every file's v_key_presence
//
// — next to two TEMP tables of the run, staging_master_keys and
// staging_authority_keys. The database itself has no staging tables, and a
// TEMP object lives only on this connection, so nothing of it reaches the
// database file.

// stagingTemp creates the TEMP views over n attached staging files and, for
// a run (not read-only), its TEMP tables.
func stagingTemp(n int, readOnly bool) string {
	union := func(sel func(schema string) string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = sel(fmt.Sprintf("staging_%d", i))
		}
		return strings.Join(parts, "\nUNION ALL ")
	}
	var b strings.Builder
	sum := func(col string) string {
		terms := make([]string, n)
		for i := range terms {
			terms[i] = fmt.Sprintf("p%d.%s", i, col)
		}
		return strings.Join(terms, " + ") + " AS " + col
	}
	b.WriteString(`CREATE TEMP VIEW staging_systems AS
SELECT p0.system_id, p0.system, p0.role, p0.rows_read, p0.rows_rejected,
       p0.input_path, p0.input_bytes, p0.input_sha256, p0.filtered, `)
	b.WriteString(strings.Join([]string{sum("distinct_keys"), sum("duplicate_keys"), sum("matched")}, ", "))
	b.WriteString("\nFROM staging_0.staging_systems p0")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "\nJOIN staging_%d.staging_systems p%d ON p%d.system_id = p0.system_id", i, i, i)
	}
	b.WriteString(";\n")
	fmt.Fprintf(&b, "CREATE TEMP VIEW staging_findings AS %s;\n", union(func(s string) string {
		return "SELECT * FROM " + s + ".staging_findings"
	}))
	fmt.Fprintf(&b, "CREATE TEMP VIEW staging_rejects AS %s;\n", union(func(s string) string {
		return "SELECT * FROM " + s + ".staging_rejects"
	}))
	fmt.Fprintf(&b, "CREATE TEMP VIEW staging_inputs AS %s;\n", union(func(s string) string {
		return "SELECT * FROM " + s + ".staging_inputs"
	}))
	fmt.Fprintf(&b, "CREATE TEMP VIEW staging_authority_rows AS %s;\n", union(func(s string) string {
		return "SELECT r.key FROM " + s + ".staging_systems a CROSS JOIN " + s + ".staging_rows r " +
			"WHERE a.role = 'authority' AND r.row_id BETWEEN a.first_row AND a.last_row"
	}))
	fmt.Fprintf(&b, "CREATE TEMP VIEW v_key_presence AS %s;\n", union(func(s string) string {
		return "SELECT * FROM " + s + ".v_key_presence"
	}))
	if !readOnly {
		b.WriteString(`
-- staging_master_keys holds the run's distinct proposed master keys: the
-- proposing system (alphabetically first), whether the key conflicts with
-- the authority, its registry status before and after the run.
CREATE TEMP TABLE staging_master_keys (
    master_key   TEXT PRIMARY KEY,
    system       TEXT NOT NULL,
    source_key   TEXT NOT NULL,
    conflict     INTEGER NOT NULL,
    prior_status TEXT,
    new_status   TEXT
) WITHOUT ROWID;
-- staging_authority_keys holds, for the namespaced strategy only, the
-- authority's keys that a master key could equal (those starting with
-- '<authority>-'), to find master-key conflicts by text.
CREATE TEMP TABLE staging_authority_keys (key TEXT PRIMARY KEY) WITHOUT ROWID;
`)
	}
	return b.String()
}

// stagingTempNames are the TEMP objects stagingTemp makes, dropped before
// the files are detached.
var stagingTempNames = []string{
	"VIEW staging_systems", "VIEW staging_findings", "VIEW staging_rejects", "VIEW staging_inputs",
	"VIEW staging_authority_rows", "VIEW v_key_presence",
	"TABLE staging_master_keys", "TABLE staging_authority_keys",
}

// attachStaging attaches the run's staging files, read-only, to the
// database's connection and creates the TEMP views over them; readOnly (a
// reader: keysync sql) makes no TEMP tables.
func (d *DB) attachStaging(ctx context.Context, readOnly bool) error {
	if err := d.detachStaging(ctx); err != nil {
		return err
	}
	paths := StagingPaths(d.path)
	d.attachedParts = 0
	for i, path := range paths {
		// Read-only for a run too: nothing writes to them any more (the run's
		// own tables are TEMP), and a run then takes no lock on them that a
		// reader in the sqlite3 shell could stand in the way of.
		name := (&url.URL{Scheme: "file", Path: path, RawQuery: "mode=ro"}).String()
		if _, err := d.db.ExecContext(ctx, fmt.Sprintf("ATTACH DATABASE ? AS staging_%d", i), name); err != nil {
			d.detachStaging(ctx)
			return fmt.Errorf("attach staging %s: %w", path, err)
		}
		d.attachedParts++
	}
	if _, err := d.db.ExecContext(ctx, stagingTemp(len(paths), readOnly)); err != nil {
		d.detachStaging(ctx)
		return fmt.Errorf("attach staging %s: %w", StagingDir(d.path), err)
	}
	d.authorityKeys = false
	return nil
}

// detachStaging drops the TEMP objects over the staging files and detaches
// them, if attached.
func (d *DB) detachStaging(ctx context.Context) error {
	if d.attachedParts == 0 {
		return nil
	}
	var errs []error
	for _, obj := range stagingTempNames {
		if _, err := d.db.ExecContext(ctx, "DROP "+strings.Replace(obj, " ", " IF EXISTS temp.", 1)); err != nil {
			errs = append(errs, err)
		}
	}
	for i := range d.attachedParts {
		if _, err := d.db.ExecContext(ctx, fmt.Sprintf("DETACH DATABASE staging_%d", i)); err != nil {
			errs = append(errs, err)
		}
	}
	d.attachedParts = 0
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("detach staging: %w", err)
	}
	return nil
}

// AttachStagingReadOnly attaches the latest run's staging files, read-only,
// so v_key_presence and the staging tables (schemas staging_0, staging_1, …)
// answer on this connection (`keysync sql`). It reports false, and attaches
// nothing, when there are no staging files (no run has staged yet, or one
// was killed while creating them); with a *StagingIncompleteError when the
// files hold a run that stopped before its staging was complete.
func (d *DB) AttachStagingReadOnly(ctx context.Context) (bool, error) {
	for _, path := range StagingPaths(d.path) {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
	}
	// A read-only connection refuses even TEMP views while query_only is on;
	// mode=ro still keeps every file unwritten.
	if _, err := d.db.ExecContext(ctx, "PRAGMA query_only = 0"); err != nil {
		return false, err
	}
	err := d.attachStaging(ctx, true)
	if _, qerr := d.db.ExecContext(ctx, "PRAGMA query_only = 1"); err == nil && qerr != nil {
		err = qerr
	}
	if err != nil {
		return false, err
	}
	if err := d.checkStagingComplete(ctx); err != nil {
		return false, errors.Join(err, d.detachReadOnly(ctx))
	}
	return true, nil
}

// StagingIncompleteError means the staging files hold a run that stopped
// before its staging was complete (killed, or failed while loading): their
// rows are partial, so readers leave them alone until the next run.
type StagingIncompleteError struct{ RunID int64 }

func (e *StagingIncompleteError) Error() string {
	if e.RunID == 0 { // killed between creating a file and naming its run
		return "the staging files hold a run that stopped before its staging was complete"
	}
	return fmt.Sprintf("the staging files hold run %d, which stopped before its staging was complete", e.RunID)
}

// checkStagingComplete returns a *StagingIncompleteError when an attached
// staging file is not marked complete. Files of a keysync from before the
// mark (no staging_run, or no complete column) are taken as they are.
func (d *DB) checkStagingComplete(ctx context.Context) error {
	for i := range d.attachedParts {
		var hasMark bool
		if err := d.db.QueryRowContext(ctx, fmt.Sprintf(
			`SELECT COUNT(*) > 0 FROM pragma_table_info('staging_run', 'staging_%d') WHERE name = 'complete'`, i)).
			Scan(&hasMark); err != nil {
			return fmt.Errorf("read staging_%d.staging_run: %w", i, err)
		}
		if !hasMark {
			continue
		}
		var runID, complete int64
		err := d.db.QueryRowContext(ctx, fmt.Sprintf(`SELECT run_id, complete FROM staging_%d.staging_run`, i)).
			Scan(&runID, &complete)
		if errors.Is(err, sql.ErrNoRows) {
			return &StagingIncompleteError{}
		}
		if err != nil {
			return fmt.Errorf("read staging_%d.staging_run: %w", i, err)
		}
		if complete == 0 {
			return &StagingIncompleteError{RunID: runID}
		}
	}
	return nil
}

// ensureAuthorityKeys fills staging_authority_keys once per staged run, for
// the namespaced strategy's conflict checks.
func (d *DB) ensureAuthorityKeys(ctx context.Context, q execer, authority string) error {
	if d.authorityKeys {
		return nil
	}
	start := time.Now()
	if _, err := q.ExecContext(ctx, query("build_authority_keys"), sql.Named("authority", authority)); err != nil {
		return fmt.Errorf("build_authority_keys: %w", err)
	}
	d.authorityKeys = true
	d.Log.Debug("staging step", "step", "build_authority_keys", "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// execer runs a statement: a *sql.DB or a *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}
