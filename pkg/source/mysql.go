package source

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// MySQL is a source read from a MySQL or MariaDB database: Query's result
// rows are the records, in the order the query returns them. Rows stream
// from the server (an unbuffered result) as the rules take them.
//
// The session is set READ ONLY and the query runs in a transaction started
// READ ONLY, rolled back at the end, with the server's statement time limit
// set from Timeout (max_statement_time on MariaDB, max_execution_time on
// MySQL) and the session time zone UTC: a query that writes fails the
// source and nothing is written. Result columns are matched to the contract
// fields as for SQLite. Values read as text: NULL as "", numbers in
// decimal (BIT(n) too), BOOLEAN (TINYINT(1)) as true/false, DATE, DATETIME and TIMESTAMP
// as RFC 3339 in UTC (DATETIME taken as UTC), binary strings as their
// bytes (not UTF-8: the row is rejected invalid_utf8).
//
// DSN is the driver's form, user:${PW}@tcp(host:3306)/db?tls=true; see DB
// for secrets.
type MySQL struct{ DB }

// Extract connects (retrying a failed connection), runs the query and
// streams its rows through rules into sink. The fingerprint is as for
// Postgres.
func (m MySQL) Extract(ctx context.Context, rules Rules, sink Sink) (Stats, error) {
	return m.extract(ctx, mysqlDialect{}, rules, sink)
}

type mysqlDialect struct{}

// redact replaces the password of [user[:password]@][net[(addr)]]/db:
// like the driver, it takes the last '@' before the last '/'.
func (mysqlDialect) redact(dsn string) string {
	dsn = strings.TrimSpace(dsn)
	slash := strings.LastIndexByte(dsn, '/')
	if slash < 0 {
		slash = len(dsn)
	}
	at := strings.LastIndexByte(dsn[:slash], '@')
	if at < 0 {
		return dsn
	}
	user, _, hasPW := strings.Cut(dsn[:at], ":")
	if hasPW {
		user += ":" + Redacted
	}
	return user + dsn[at:]
}

func (mysqlDialect) open(dsn string, sec *secrets) (driver.Connector, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("not a MySQL DSN (user:password@tcp(host:3306)/dbname): %s", err.Error())
	}
	sec.add(cfg.Passwd)
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	if err := cfg.Apply(mysql.TinyInt1IsBool(true)); err != nil {
		return nil, err
	}
	return mysql.NewConnector(cfg)
}

func (mysqlDialect) begin(ctx context.Context, conn *sql.Conn, timeout time.Duration) (*sql.Tx, error) {
	var version string
	if err := conn.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		return nil, fmt.Errorf("server version: %w", err)
	}
	limit := fmt.Sprintf("SET SESSION max_execution_time = %d", max(timeout.Milliseconds(), 1))
	if strings.Contains(strings.ToLower(version), "mariadb") {
		limit = "SET SESSION max_statement_time = " + strconv.FormatFloat(max(timeout.Seconds(), 0.001), 'f', 3, 64)
	}
	// The session's own default is read-only too, so that a statement
	// that implicitly commits leaves no writable transaction behind.
	// net_write_timeout as long as the query may take: while keysync's
	// writer is busy the server waits to send rows, and its default 60s
	// would cut a long stream.
	wait := fmt.Sprintf("SET SESSION net_write_timeout = %d", min(max(int64(timeout.Seconds()), 60), 31536000))
	for _, stmt := range []string{"SET SESSION TRANSACTION READ ONLY", "SET time_zone = '+00:00'", limit, wait} {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return nil, fmt.Errorf("%s: %w", stmt, err)
		}
	}
	return conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true}) // START TRANSACTION READ ONLY
}

func (mysqlDialect) transient(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1040 // ER_CON_COUNT_ERROR: too many connections
	}
	return true // no answer from the server: a network error
}

func (mysqlDialect) readOnly(err error) bool {
	var me *mysql.MySQLError
	// ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
	return errors.As(err, &me) && me.Number == 1792
}
