package sqlite

// The upkeep of a database kept for years: a consistent backup, an integrity
// check, and compaction (db backup, db check, db vacuum).

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// BackupExistsError refuses to overwrite an existing file with a backup.
type BackupExistsError struct{ Path string }

func (e *BackupExistsError) Error() string {
	return fmt.Sprintf("backup %s: the file exists; keysync never overwrites it (choose a new name)", e.Path)
}

// Backup writes a consistent copy of the database to dest with VACUUM INTO:
// one read transaction, so readers and even a running sync go on, and the
// copy holds exactly the last committed state. The copy is written beside
// dest, synced, then linked into place, so dest either does not exist or is
// complete; an existing dest is a *BackupExistsError. It needs a read-write
// handle (query_only refuses VACUUM INTO) but writes nothing to the database.
func (d *DB) Backup(ctx context.Context, dest string) error {
	abs, err := filepath.Abs(dest)
	if err != nil {
		return fmt.Errorf("backup %s: %w", dest, err)
	}
	if _, err := os.Lstat(abs); err == nil {
		return &BackupExistsError{Path: abs}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("backup %s: %w", abs, err)
	}
	// VACUUM INTO accepts an empty file as its target.
	tmp, err := os.CreateTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".*.partial")
	if err != nil {
		return fmt.Errorf("backup %s: %w", abs, err)
	}
	tmpPath := tmp.Name()
	tmp.Close()
	defer os.Remove(tmpPath)
	if _, err := d.db.ExecContext(ctx, `VACUUM INTO ?`, tmpPath); err != nil {
		return fmt.Errorf("backup %s to %s: %w", d.path, abs, wrapBusy(err))
	}
	// SQLite does not sync the file VACUUM INTO writes.
	if err := syncFile(tmpPath); err != nil {
		return fmt.Errorf("backup %s: %w", abs, err)
	}
	// A hard link never replaces an existing file, unlike a rename.
	if err := os.Link(tmpPath, abs); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return &BackupExistsError{Path: abs}
		}
		return fmt.Errorf("backup %s: %w", abs, err)
	}
	return syncFile(filepath.Dir(abs))
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return nil
}

// Problem is one thing db check found wrong: the check that found it and
// what it says.
type Problem struct {
	Check  string `csv:"check" json:"check"`
	Detail string `csv:"detail" json:"detail"`
}

// Check names of CheckResult.
const (
	CheckIntegrity   = "integrity_check"
	CheckForeignKeys = "foreign_key_check"
	CheckSchema      = "schema"
)

// maxProblems bounds the rows each check reports; the count says the rest.
const maxProblems = 20

// Check runs SQLite's integrity_check and foreign_key_check and the schema
// check (a keysync database, no migration this keysync does not carry) on a
// handle from OpenAny, and returns every problem found, by check. An error is
// returned only when the checks could not run at all.
func (d *DB) Check(ctx context.Context) (Schema, []Problem, error) {
	var problems []Problem
	schema, err := d.Schema(ctx)
	var notOurs *NotKeysyncError
	switch {
	case errors.As(err, &notOurs):
		return schema, append(problems, Problem{CheckSchema, notOurs.Error()}), nil
	case err != nil:
		problems = append(problems, Problem{CheckSchema, err.Error()})
	case !schema.Keysync:
		problems = append(problems, Problem{CheckSchema,
			(&NotKeysyncError{Path: d.path, Reason: "it has tables but no goose_db_version"}).Error()})
	case len(schema.Unknown) > 0:
		problems = append(problems, Problem{CheckSchema,
			(&NewerSchemaError{Path: d.path, Version: schema.Version, Known: schema.Known}).Error()})
	}

	integrity, err := scanAll(ctx, d.db, CheckIntegrity, `PRAGMA integrity_check(100)`,
		func(rs *sql.Rows, v *string) error { return rs.Scan(v) })
	switch {
	case err != nil:
		problems = append(problems, Problem{CheckIntegrity, err.Error()})
	case len(integrity) != 1 || integrity[0] != "ok":
		for _, line := range integrity {
			problems = append(problems, Problem{CheckIntegrity, line})
		}
	}

	type violation struct {
		table, parent string
		rowid         sql.NullInt64
	}
	fks, err := scanAll(ctx, d.db, CheckForeignKeys, `PRAGMA foreign_key_check`,
		func(rs *sql.Rows, v *violation) error {
			var fkid int64
			return rs.Scan(&v.table, &v.rowid, &v.parent, &fkid)
		})
	if err != nil {
		problems = append(problems, Problem{CheckForeignKeys, err.Error()})
	}
	for i, v := range fks {
		if i == maxProblems {
			problems = append(problems, Problem{CheckForeignKeys, fmt.Sprintf("and %d more rows", len(fks)-i)})
			break
		}
		problems = append(problems, Problem{CheckForeignKeys,
			fmt.Sprintf("%s row %d refers to a missing %s row", v.table, v.rowid.Int64, v.parent)})
	}
	return schema, problems, nil
}

// Vacuum rewrites the database into the smallest file that holds it and
// gives the freed pages back to the file system. It needs the run lock: a
// VACUUM is a write of the whole file.
func (d *DB) Vacuum(ctx context.Context) error {
	if _, err := d.db.ExecContext(ctx, `VACUUM`); err != nil {
		return fmt.Errorf("vacuum %s: %w", d.path, wrapBusy(err))
	}
	// In WAL mode the rewritten pages are in the WAL until a checkpoint.
	if _, err := d.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return fmt.Errorf("vacuum %s: checkpoint: %w", d.path, wrapBusy(err))
	}
	return nil
}
