package sqlite

// What a database file's schema is, as far as keysync is concerned: whether
// it is a keysync database at all, and whether a newer keysync has migrated it.

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Schema describes the schema of an open database file.
type Schema struct {
	// Keysync is false for a file with tables but no goose_db_version: a
	// SQLite database of something else. An empty file is a keysync database
	// with every migration pending.
	Keysync bool
	Version int64 // the newest applied migration; 0 when none
	Known   int64 // the newest migration this keysync carries
	// Unknown lists the applied migrations this keysync does not carry, by
	// version: a newer keysync migrated the file.
	Unknown []AppliedMigration
}

// AppliedMigration is a migration recorded in goose_db_version.
type AppliedMigration struct {
	Version   int64
	AppliedAt string // RFC 3339 UTC when goose's timestamp parses, else as stored
}

// KnownVersion is the newest migration embedded in this keysync: the schema
// version it writes. It is computed from the embedded files, so adding a
// migration raises it.
func KnownVersion() (int64, error) {
	ms, err := Migrations()
	if err != nil {
		return 0, err
	}
	if len(ms) == 0 {
		return 0, nil
	}
	return ms[len(ms)-1].Version, nil
}

// Schema reads what the database's goose_db_version says, without changing
// anything; it works on a read-only handle.
func (d *DB) Schema(ctx context.Context) (Schema, error) {
	s := Schema{}
	known, err := KnownVersion()
	if err != nil {
		return s, err
	}
	s.Known = known
	var tables, goose int
	err = d.db.QueryRowContext(ctx, `
		SELECT COUNT(*), COUNT(*) FILTER (WHERE name = 'goose_db_version')
		FROM sqlite_master WHERE type = 'table'`).Scan(&tables, &goose)
	if err != nil {
		if isNotADatabase(err) {
			return s, &NotKeysyncError{Path: d.path, Reason: "not a SQLite file"}
		}
		return s, fmt.Errorf("read schema of %s: %w", d.path, wrapBusy(err))
	}
	if goose == 0 {
		s.Keysync = tables == 0
		return s, nil
	}
	s.Keysync = true
	ms, err := Migrations()
	if err != nil {
		return s, err
	}
	carried := make(map[int64]bool, len(ms))
	for _, m := range ms {
		carried[m.Version] = true
	}
	// A version counts as applied when its latest row says so (older goose
	// versions recorded a down migration as a row with is_applied = 0).
	applied, err := scanAll(ctx, d.db, "schema versions of "+d.path, `
		SELECT g.version_id, g.tstamp FROM goose_db_version g
		WHERE g.version_id > 0 AND g.is_applied
		  AND g.id = (SELECT MAX(id) FROM goose_db_version WHERE version_id = g.version_id)
		ORDER BY g.version_id`,
		func(rs *sql.Rows, v *AppliedMigration) error {
			var stamp any
			if err := rs.Scan(&v.Version, &stamp); err != nil {
				return err
			}
			v.AppliedAt = gooseTime(stamp)
			return nil
		})
	if err != nil {
		return s, err
	}
	for _, a := range applied {
		s.Version = max(s.Version, a.Version)
		if !carried[a.Version] {
			s.Unknown = append(s.Unknown, a)
		}
	}
	return s, nil
}

// checkSchema refuses a file that is not a keysync database and a schema
// with migrations this keysync does not carry.
func (d *DB) checkSchema(ctx context.Context) error {
	s, err := d.Schema(ctx)
	if err != nil {
		return err
	}
	if !s.Keysync {
		return &NotKeysyncError{Path: d.path, Reason: "it has tables but no goose_db_version"}
	}
	if len(s.Unknown) > 0 {
		return &NewerSchemaError{Path: d.path, Version: s.Version, Known: s.Known}
	}
	return nil
}

// gooseTime renders goose's tstamp column, a time or SQLite's
// CURRENT_TIMESTAMP text, as RFC 3339 UTC.
func gooseTime(v any) string {
	switch t := v.(type) {
	case time.Time:
		return FormatTime(t)
	case []byte:
		return gooseTime(string(t))
	case string:
		for _, layout := range []string{time.DateTime, time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00"} {
			if p, err := time.Parse(layout, t); err == nil {
				return FormatTime(p)
			}
		}
		return t
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// isNotADatabase reports SQLite's SQLITE_NOTADB: the file is not a database.
func isNotADatabase(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "file is not a database") ||
		strings.Contains(err.Error(), "SQLITE_NOTADB"))
}
