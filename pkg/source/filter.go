package source

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/keysync/keysync/pkg/keysync"
)

// FilterFields are the names a filter expression may use: the fields of an
// accepted row, source_key as read and key normalized.
var FilterFields = []string{"source_key", "key", "entity_type", "location_ref", "last_seen_at"}

// Filter decides which accepted rows of a source take part in the
// comparison: those for which an SQLite expression over FilterFields is
// true (not false, not NULL). It is compiled once into a prepared statement
// on a private in-memory SQLite connection, and evaluates a whole batch of
// rows per statement: the rows travel as one JSON array that json_each
// unpacks, so the cost per row is SQLite's, not a database/sql round trip's.
// A Filter is not safe for concurrent use.
type Filter struct {
	Expr string

	db   *sql.DB
	stmt *sql.Stmt
	buf  []byte
}

// filterIndex names the column that carries a row's position: a name no
// expression writes by accident, since it has to be quoted to be named.
const filterIndex = `"keysync row index"`

// CompileFilter prepares expr. An invalid expression, or one naming a
// column that is not one of FilterFields, is an error that names it.
func CompileFilter(ctx context.Context, expr string) (*Filter, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, errors.New("empty filter expression")
	}
	if strings.Contains(expr, filterIndex) {
		return nil, fmt.Errorf("filter %q: no such column: %s", expr, filterIndex)
	}
	if err := oneExpression(expr); err != nil {
		return nil, fmt.Errorf("filter %q: %w", expr, err)
	}
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		return nil, fmt.Errorf("filter: open SQLite: %w", err)
	}
	db.SetMaxOpenConns(1) // one private in-memory database, never shared
	cols := make([]string, len(FilterFields))
	for i, f := range FilterFields {
		cols[i] = fmt.Sprintf("j.value ->> %d AS %s", i, f)
	}
	// The expression stands alone in its parentheses: a statement after a
	// ";" or a closing parenthesis that escapes them does not compile.
	q := fmt.Sprintf(`SELECT group_concat(CASE WHEN (%s
) THEN '1' ELSE '0' END, '' ORDER BY %s) FROM (SELECT j.key AS %s, %s FROM json_each(?) j)`,
		expr, filterIndex, filterIndex, strings.Join(cols, ", "))
	stmt, err := db.PrepareContext(ctx, q)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("filter %q: %s (it may use %s)", expr, sqliteMessage(err), strings.Join(FilterFields, ", "))
	}
	f := &Filter{Expr: expr, db: db, stmt: stmt}
	// Run it once on two empty rows, so an error SQLite finds only when it
	// runs (a misused function, say) is a compile error too, and so is an
	// expression that comments out the rest of the statement.
	if _, _, err := f.Keep(ctx, []keysync.Row{{}, {}}); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// oneExpression checks, outside string literals and quoted names, that expr
// has no ";" and no parenthesis closing one it did not open, so it cannot end
// the expression it is placed in.
func oneExpression(expr string) error {
	depth := 0
	for i := 0; i < len(expr); i++ {
		switch c := expr[i]; c {
		case '\'', '"', '`':
			j := strings.IndexByte(expr[i+1:], c)
			if j < 0 {
				return fmt.Errorf("unclosed %c", c)
			}
			i += j + 1 // a doubled quote is two literals back to back
		case '[':
			j := strings.IndexByte(expr[i+1:], ']')
			if j < 0 {
				return errors.New("unclosed [")
			}
			i += j + 1
		case '(':
			depth++
		case ')':
			if depth--; depth < 0 {
				return errors.New("a ')' without its '('")
			}
		case ';':
			return errors.New("a filter is one expression, without ';'")
		case '/':
			if strings.HasPrefix(expr[i:], "/*") {
				return errors.New("no /* comments in a filter")
			}
		}
	}
	if depth > 0 {
		return errors.New("a '(' without its ')'")
	}
	return nil
}

// sqliteMessage is the driver's error without its code suffix.
func sqliteMessage(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, " ("); i > 0 && strings.HasSuffix(msg, ")") {
		msg = msg[:i]
	}
	return strings.TrimPrefix(msg, "SQL logic error: ")
}

// Keep returns the rows for which the expression is true, in order (reusing
// rows' array), and how many it left out.
func (f *Filter) Keep(ctx context.Context, rows []keysync.Row) ([]keysync.Row, int64, error) {
	if len(rows) == 0 {
		return rows, 0, nil
	}
	f.buf = append(f.buf[:0], '[')
	for i, r := range rows {
		if i > 0 {
			f.buf = append(f.buf, ',')
		}
		f.buf = append(f.buf, '[')
		for j, v := range [...]string{r.RawKey, r.Key, r.EntityType, r.LocationRef, r.LastSeenAt} {
			if j > 0 {
				f.buf = append(f.buf, ',')
			}
			f.buf = appendJSONString(f.buf, v)
		}
		f.buf = append(f.buf, ']')
	}
	f.buf = append(f.buf, ']')
	// One result for the whole batch: a '1' or '0' per row, in row order.
	var flags sql.NullString
	if err := f.stmt.QueryRowContext(ctx, string(f.buf)).Scan(&flags); err != nil {
		return nil, 0, fmt.Errorf("filter %q: %s", f.Expr, sqliteMessage(err))
	}
	if len(flags.String) != len(rows) {
		return nil, 0, fmt.Errorf("filter %q: %d results for %d rows", f.Expr, len(flags.String), len(rows))
	}
	kept := rows[:0]
	for i := range rows {
		if flags.String[i] == '1' {
			kept = append(kept, rows[i])
		}
	}
	return kept, int64(len(rows) - len(kept)), nil
}

// appendJSONString appends s, valid UTF-8, as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Close releases the statement and the in-memory database.
func (f *Filter) Close() error {
	if f == nil || f.db == nil {
		return nil
	}
	f.stmt.Close()
	return f.db.Close()
}
