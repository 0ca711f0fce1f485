package source

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // the pure-Go driver, registered as "sqlite"
)

// SQLite is a source read from a SQLite database file, for systems that
// export one: Query's result rows are the records, in the order the query
// returns them (give it an ORDER BY for a stable first-seen order).
//
// The file is opened read-only (mode=ro, query_only), so neither the query
// nor keysync can change it. Result columns are matched to the contract
// fields as CSV headers are: by name, case-insensitively after trimming, or
// through Columns; NULL reads as "", numbers as their decimal text, and a
// column SQLite declares DATE, DATETIME or TIMESTAMP as RFC 3339.
type SQLite struct {
	System  string            // the configured source name
	Path    string            // the database file, resolved against the config's directory
	Query   string            // one SELECT (or WITH … SELECT)
	Columns map[string]string // contract field -> result column name

	Key          []string // result columns making a composite source_key, see CSV.Key
	KeySeparator string
}

// Extract runs the query and streams its rows through rules into sink. The
// fingerprint is of the database file, read once the query is done.
// A missing or unreadable file, a failing query, or a result without a
// source_key column fails the source.
func (q SQLite) Extract(ctx context.Context, rules Rules, sink Sink) (Stats, error) {
	fail := func(err error) (Stats, error) {
		return Stats{}, &Error{System: q.System, Path: q.Path, Err: err}
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if rules.System == "" {
		rules.System = q.System
	}
	if strings.TrimSpace(q.Query) == "" {
		return fail(errors.New("no query"))
	}
	if err := checkMapping("columns", q.Columns, q.Key); err != nil {
		return fail(err)
	}
	// The driver would create a missing file (read-only or not, it tries);
	// name the problem first.
	fi, err := os.Stat(q.Path)
	if err != nil {
		return fail(withoutPath(err))
	}
	if fi.IsDir() {
		return fail(errors.New("is a directory"))
	}
	n, err := q.rows(ctx, rules, sink)
	if err != nil {
		return fail(err)
	}
	fp, err := fingerprintFile(q.Path)
	if err != nil {
		return fail(withoutPath(err))
	}
	return Stats{RowsRead: n, Fingerprint: fp}, nil
}

// dsn opens path read-only; the path is escaped as a URI filename.
func (q SQLite) dsn() (string, error) {
	abs, err := filepath.Abs(q.Path)
	if err != nil {
		return "", err
	}
	u := url.URL{Path: filepath.ToSlash(abs)}
	return "file:" + u.EscapedPath() + "?mode=ro&_pragma=query_only(1)&_pragma=busy_timeout(5000)", nil
}

func (q SQLite) rows(ctx context.Context, rules Rules, sink Sink) (int64, error) {
	dsn, err := q.dsn()
	if err != nil {
		return 0, err
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	rs, err := db.QueryContext(ctx, q.Query)
	if err != nil {
		return 0, fmt.Errorf("query: %w", err)
	}
	defer rs.Close()
	names, err := rs.Columns()
	if err != nil {
		return 0, fmt.Errorf("query: %w", err)
	}
	col, err := locate(names, q.Columns, q.Key, resultNames)
	if err != nil {
		return 0, err
	}
	vals := make([]sql.NullString, len(names))
	dest := make([]any, len(names))
	rec := make([]string, len(names))
	for i := range vals {
		dest[i] = &vals[i]
	}
	var record int64
	for rs.Next() {
		record++
		if record%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return 0, fmt.Errorf("row %d: %w", record, err)
			}
		}
		if err := rs.Scan(dest...); err != nil {
			return 0, fmt.Errorf("row %d: %w", record, err)
		}
		for i, v := range vals {
			rec[i] = v.String // "" for NULL
		}
		row, rej := rules.Check(record, col.fields(rec, q.KeySeparator))
		if err := deliver(sink, row, rej); err != nil {
			return 0, fmt.Errorf("row %d: %w", record, err)
		}
	}
	if err := rs.Err(); err != nil {
		return 0, fmt.Errorf("query: %w", err)
	}
	return record, nil
}

// fingerprintFile hashes a whole file.
func fingerprintFile(path string) (Fingerprint, error) {
	f, err := os.Open(path)
	if err != nil {
		return Fingerprint{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return Fingerprint{}, err
	}
	return Fingerprint{Path: path, Bytes: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}
