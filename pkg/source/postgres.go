package source

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// Postgres is a source read from a PostgreSQL database: Query's result rows
// are the records, in the order the query returns them (give it an ORDER BY
// for a stable first-seen order). Rows stream from the server as the rules
// take them; no result is held in memory.
//
// The query runs in a transaction begun READ ONLY with statement_timeout
// set from Timeout, and the transaction is rolled back: a query that writes
// fails the source and nothing is written. Result columns are matched to the contract fields by
// name or through Columns, as for SQLite. Values read as text: NULL as "",
// numbers in decimal, booleans as true/false, timestamps and dates as
// RFC 3339 in UTC (a timestamp without time zone is taken as UTC), bytea
// as its bytes (not UTF-8: the row is rejected invalid_utf8), other types
// in PostgreSQL's text form.
//
// DSN is a URL (postgres://user:${PW}@host:5432/db?sslmode=require) or a
// keyword/value string (host=… dbname=… password=${PW}); see DB for secrets.
type Postgres struct{ DB }

// Extract connects (retrying a failed connection), runs the query and
// streams its rows through rules into sink. The fingerprint's Path is the
// DSN redacted with the query's SHA-256; Bytes and SHA256 cover the query's
// SHA-256 and the rows as read.
func (p Postgres) Extract(ctx context.Context, rules Rules, sink Sink) (Stats, error) {
	return p.extract(ctx, pgDialect{}, rules, sink)
}

// RedactDSN returns a database source's DSN as configured, fit for logs:
// the password replaced by REDACTED, ${NAME} references as written.
func RedactDSN(typ, dsn string) string {
	switch typ {
	case TypePostgres:
		return pgDialect{}.redact(dsn)
	case TypeMySQL:
		return mysqlDialect{}.redact(dsn)
	}
	return Redacted
}

type pgDialect struct{}

// pgSecretKey matches a keyword/value password (or sslpassword) setting.
var pgSecretKey = regexp.MustCompile(`(?i)\b((?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'|\S*)`)

func (pgDialect) redact(dsn string) string {
	dsn = strings.TrimSpace(dsn)
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		scheme, rest, _ := strings.Cut(dsn, "://")
		authority, path := rest, ""
		if i := strings.IndexAny(rest, "/?"); i >= 0 {
			authority, path = rest[:i], rest[i:]
		}
		if at := strings.LastIndexByte(authority, '@'); at >= 0 {
			user, _, hasPW := strings.Cut(authority[:at], ":")
			if hasPW {
				user += ":" + Redacted
			}
			authority = user + "@" + authority[at+1:]
		}
		base, query, hasQuery := strings.Cut(path, "?")
		if hasQuery {
			parts := strings.Split(query, "&")
			for i, p := range parts {
				k, v, ok := strings.Cut(p, "=")
				if ok && v != "" && secretName(k) {
					parts[i] = k + "=" + Redacted
				}
			}
			base += "?" + strings.Join(parts, "&")
		}
		return scheme + "://" + authority + base
	}
	return pgSecretKey.ReplaceAllString(dsn, "${1}"+Redacted)
}

func (pgDialect) open(dsn string, sec *secrets) (driver.Connector, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// The parser's message may quote the DSN; keep only its reason.
		var pe *pgconn.ParseConfigError
		if errors.As(err, &pe) && errors.Unwrap(pe) != nil {
			return nil, fmt.Errorf("not a PostgreSQL connection string: %s", errors.Unwrap(pe).Error())
		}
		return nil, errors.New("not a PostgreSQL connection string")
	}
	sec.add(cfg.Password)
	// No other startup parameter: a pooler such as PgBouncer refuses the
	// ones it does not know. BEGIN READ ONLY is enough, as PostgreSQL has no
	// statement that commits implicitly.
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = "keysync"
	}
	return stdlib.GetConnector(*cfg), nil
}

func (pgDialect) begin(ctx context.Context, conn *sql.Conn, timeout time.Duration) (*sql.Tx, error) {
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true}) // BEGIN READ ONLY
	if err != nil {
		return nil, err
	}
	ms := strconv.FormatInt(max(timeout.Milliseconds(), 1), 10)
	if _, err := tx.ExecContext(ctx, "SET LOCAL statement_timeout = "+ms); err != nil {
		tx.Rollback()
		return nil, fmt.Errorf("set statement_timeout: %w", err)
	}
	return tx, nil
}

func (pgDialect) transient(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// cannot_connect_now (starting up), too_many_connections
		return pe.Code == "57P03" || pe.Code == "53300"
	}
	return true // no answer from the server: a network error
}

func (pgDialect) readOnly(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "25006" // read_only_sql_transaction
}
