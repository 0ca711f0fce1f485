package source

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// Defaults of a database source (postgres, mysql), for the options left zero.
const (
	DefaultQueryTimeout   = 10 * time.Minute // the whole query, from BEGIN to the last row
	DefaultConnectTimeout = 30 * time.Second // one connection attempt
)

// DB holds what the database sources (Postgres, MySQL) share: a server
// reached through a DSN, one query run in a read-only transaction, and the
// retries of a failed connection.
//
// Secrets. DSN may hold ${NAME} references to environment variables,
// expanded only when connecting. The DSN's password and every expanded
// value are replaced by REDACTED in every error message and in the
// fingerprint, whose Path is the DSN as configured, redacted.
type DB struct {
	System  string            // the configured source name
	DSN     string            // the connection string; ${NAME} is expanded when connecting
	Query   string            // one SELECT (or WITH … SELECT); its rows are the records
	Columns map[string]string // contract field -> result column name

	Key          []string // result columns making a composite source_key, see CSV.Key
	KeySeparator string

	Timeout time.Duration // the whole query, enforced by the server and the client; 0 means DefaultQueryTimeout
	Retries int           // retries of a connection that fails before the server answers
	Backoff time.Duration // the first retry's wait, doubling up to DefaultMaxBackoff; 0 means DefaultBackoff

	ConnectTimeout time.Duration               // one connection attempt; 0 means DefaultConnectTimeout
	LookupEnv      func(string) (string, bool) // nil: os.LookupEnv
}

// dialect is what differs between the database servers.
type dialect interface {
	// redact returns the configured DSN fit for a message: the password
	// replaced by REDACTED. ${NAME} references are shown as written.
	redact(dsn string) string
	// open parses the expanded DSN, adds its password to sec and returns a
	// connector that applies the session settings.
	open(dsn string, sec *secrets) (driver.Connector, error)
	// begin starts the read-only transaction on conn with the server-side
	// statement timeout.
	begin(ctx context.Context, conn *sql.Conn, timeout time.Duration) (*sql.Tx, error)
	// transient reports whether a connection error may go away on a retry:
	// the server was not reached, or said it cannot take a client now.
	transient(err error) bool
	// readOnly reports whether err is the server refusing a write in the
	// read-only transaction.
	readOnly(err error) bool
}

// extract runs d's query and streams its rows through rules into sink.
func (q DB) extract(ctx context.Context, d dialect, rules Rules, sink Sink) (Stats, error) {
	sec := &secrets{}
	shown := d.redact(q.DSN)
	fail := func(err error) (Stats, error) {
		return Stats{}, &Error{System: q.System, Path: sec.scrub(shown), Err: oneLine(sec.scrubErr(err))}
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if rules.System == "" {
		rules.System = q.System
	}
	if strings.TrimSpace(q.DSN) == "" {
		return fail(errors.New("no dsn"))
	}
	if strings.TrimSpace(q.Query) == "" {
		return fail(errors.New("no query"))
	}
	if err := checkMapping("columns", q.Columns, q.Key); err != nil {
		return fail(err)
	}
	lookup := q.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	dsn, err := expandEnv(q.DSN, lookup, sec)
	if err != nil {
		return fail(fmt.Errorf("dsn: %w", err))
	}
	connector, err := d.open(dsn, sec)
	if err != nil {
		return fail(fmt.Errorf("dsn: %w", err))
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	db.SetMaxOpenConns(1)

	conn, err := q.connect(ctx, d, db)
	if err != nil {
		return fail(err)
	}
	defer conn.Close()

	timeout := q.Timeout
	if timeout <= 0 {
		timeout = DefaultQueryTimeout
	}
	qctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	st, err := q.rows(qctx, d, conn, timeout, rules, sink)
	if err != nil {
		if ctx.Err() == nil && errors.Is(qctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("query not done within the timeout of %s: %w", timeout, err)
		}
		return fail(err)
	}
	qsum := sha256.Sum256([]byte(q.Query))
	st.Path = sec.scrub(shown) + " query sha256:" + hex.EncodeToString(qsum[:])
	return st, nil
}

// connect opens the one connection, retrying while the failure is
// transient. Only connecting is retried: once rows have gone to the sink, a
// second attempt would send them again.
func (q DB) connect(ctx context.Context, d dialect, db *sql.DB) (*sql.Conn, error) {
	backoff := q.Backoff
	if backoff <= 0 {
		backoff = DefaultBackoff
	}
	limit := q.ConnectTimeout
	if limit <= 0 {
		limit = DefaultConnectTimeout
	}
	for attempt := 0; ; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, limit)
		conn, err := db.Conn(cctx)
		if err == nil {
			err = conn.PingContext(cctx)
			if err != nil {
				conn.Close()
			}
		}
		timedOut := errors.Is(cctx.Err(), context.DeadlineExceeded)
		cancel()
		switch {
		case err == nil:
			return conn, nil
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case timedOut:
			err = fmt.Errorf("no connection within %s: %w", limit, err)
		}
		if !timedOut && !d.transient(err) {
			return nil, fmt.Errorf("connect: %w", err)
		}
		if attempt >= q.Retries {
			if q.Retries > 0 {
				return nil, fmt.Errorf("connect, still after %d retries: %w", q.Retries, err)
			}
			return nil, fmt.Errorf("connect: %w", err)
		}
		wait := min(backoff<<attempt, DefaultMaxBackoff)
		if backoff<<attempt <= 0 { // overflow after many doublings
			wait = DefaultMaxBackoff
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// rows runs the query in a read-only transaction, always rolled back, and
// streams the result. The fingerprint's hash covers the query's SHA-256 and
// then every value of every row as read (NULL distinct from ""), in order.
func (q DB) rows(ctx context.Context, d dialect, conn *sql.Conn, timeout time.Duration, rules Rules, sink Sink) (Stats, error) {
	tx, err := d.begin(ctx, conn, timeout)
	if err != nil {
		return Stats{}, fmt.Errorf("begin read-only transaction: %w", err)
	}
	defer tx.Rollback() // nothing is ever committed
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	rs, err := tx.QueryContext(ctx, q.Query)
	if err != nil {
		return Stats{}, q.queryErr(d, err)
	}
	// Stop the query before closing: closing reads what the server still
	// sends, which after a failure at row 10 of 10 million is the rest.
	defer func() { stop(); rs.Close() }()
	names, err := rs.Columns()
	if err != nil {
		return Stats{}, q.queryErr(d, err)
	}
	types, err := rs.ColumnTypes()
	if err != nil {
		return Stats{}, q.queryErr(d, err)
	}
	col, err := locate(names, q.Columns, q.Key, resultNames)
	if err != nil {
		return Stats{}, err
	}
	kinds := make([]valueKind, len(types))
	for i, t := range types {
		switch strings.ToUpper(t.DatabaseTypeName()) {
		case "FLOAT4", "FLOAT", "REAL":
			kinds[i] = kindFloat32
		case "BIT": // MySQL's BIT(n) arrives as big-endian bytes
			kinds[i] = kindBits
		}
	}
	qsum := sha256.Sum256([]byte(q.Query))
	sum := sha256.New()
	sum.Write([]byte(hex.EncodeToString(qsum[:])))
	fp := &rowHash{h: sum}

	vals := make([]any, len(names))
	dest := make([]any, len(names))
	rec := make([]string, len(names))
	null := make([]bool, len(names))
	for i := range vals {
		dest[i] = &vals[i]
	}
	var record int64
	for rs.Next() {
		record++
		if record%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return Stats{}, fmt.Errorf("row %d: %w", record, err)
			}
		}
		if err := rs.Scan(dest...); err != nil {
			return Stats{}, fmt.Errorf("row %d: %w", record, err)
		}
		for i, v := range vals {
			rec[i], null[i] = dbText(v, kinds[i])
		}
		fp.row(rec, null)
		row, rej := rules.Check(record, col.fields(rec, q.KeySeparator))
		if err := deliver(sink, row, rej); err != nil {
			return Stats{}, fmt.Errorf("row %d: %w", record, err)
		}
	}
	if err := rs.Err(); err != nil {
		return Stats{}, fmt.Errorf("after row %d: %w", record, q.queryErr(d, err))
	}
	return Stats{RowsRead: record, Fingerprint: Fingerprint{
		Bytes:  fp.n,
		SHA256: hex.EncodeToString(sum.Sum(nil)),
	}}, nil
}

// queryErr names the statement when the server refused a write.
func (q DB) queryErr(d dialect, err error) error {
	if d.readOnly(err) {
		return fmt.Errorf("query %q writes, and a database source only reads (read-only transaction, nothing written): %w",
			statement(q.Query), err)
	}
	return fmt.Errorf("query: %w", err)
}

// statement returns the start of a query for a message: its whitespace
// collapsed, cut after 60 characters.
func statement(query string) string {
	s := strings.Join(strings.Fields(query), " ")
	if r := []rune(s); len(r) > 60 {
		s = string(r[:60]) + "…"
	}
	return s
}

// valueKind is what a column's database type changes in its text.
type valueKind int

const (
	kindPlain   valueKind = iota
	kindFloat32           // a single-precision float, shown in its shortest form
	kindBits              // MySQL BIT(n): big-endian bytes, shown as a decimal number
)

// dbText turns a value scanned from a database driver into the text the
// rules see. It reports whether the value was NULL (read as "").
func dbText(v any, kind valueKind) (string, bool) {
	switch v := v.(type) {
	case nil:
		return "", true
	case string:
		return v, false
	case []byte:
		if kind == kindBits && len(v) <= 8 {
			var n uint64
			for _, b := range v {
				n = n<<8 | uint64(b)
			}
			return strconv.FormatUint(n, 10), false
		}
		return string(v), false // invalid UTF-8 stays invalid, for the rules to reject
	case int64:
		return strconv.FormatInt(v, 10), false
	case uint64:
		return strconv.FormatUint(v, 10), false
	case float64:
		bits := 64
		if kind == kindFloat32 {
			bits = 32
		}
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return strconv.FormatFloat(v, 'g', -1, bits), false
		}
		return strconv.FormatFloat(v, 'f', -1, bits), false
	case float32:
		return strconv.FormatFloat(float64(v), 'f', -1, 32), false
	case bool:
		return strconv.FormatBool(v), false
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano), false
	}
	return fmt.Sprint(v), false
}

// rowHash feeds the rows as read into the fingerprint: per value a uvarint
// of its length plus one (0 for NULL) and its bytes, so no two different
// results hash alike.
type rowHash struct {
	h   hash.Hash
	n   int64
	buf [binary.MaxVarintLen64]byte
}

func (r *rowHash) row(rec []string, null []bool) {
	for i, v := range rec {
		l := uint64(len(v)) + 1
		if null[i] {
			l = 0
		}
		k := binary.PutUvarint(r.buf[:], l)
		r.h.Write(r.buf[:k])
		r.h.Write([]byte(v))
		r.n += int64(k + len(v))
	}
}

// oneLine keeps an error's message on one line (servers send details after
// a line break); errors.Is and errors.As still see the cause.
func oneLine(err error) error {
	if err == nil || !strings.ContainsAny(err.Error(), "\r\n") {
		return err
	}
	return &scrubbedError{msg: strings.Join(strings.Fields(err.Error()), " "), err: err}
}
