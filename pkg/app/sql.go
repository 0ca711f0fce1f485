package app

import (
	"bytes"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/urfave/cli/v2"

	"github.com/keysync/keysync/pkg/sqlite"
)

func sqlCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:      "sql",
		Usage:     "run one read-only SQL query against the database",
		ArgsUsage: "STATEMENT",
		Description: `Runs one SQL statement on the database opened read-only (mode=ro and
query_only) and prints its result with the query's column names. Only a read
is accepted: SELECT, WITH, VALUES, EXPLAIN, or a PRAGMA that sets nothing
(PRAGMA table_info(runs)). Anything else, a second statement included, is
refused naming the statement, and exits 2; so is a statement SQLite cannot
run (a syntax error, an unknown table). The database never changes.

NULL is an empty field in table and csv output and null in json; a BLOB that
is not UTF-8 text is shown as x'hex'. The tables and views are described in
the README.

Examples:
  keysync sql "SELECT run_id, status, duration_ms FROM runs ORDER BY run_id DESC LIMIT 5"
  keysync sql --format csv "SELECT * FROM findings WHERE run_id = 3" > findings-3.csv
  keysync sql --format json "SELECT master_key, status FROM master_key_registry WHERE status = 'Proposed'"
  keysync sql "PRAGMA table_info(findings)"`,
		Flags: append(dbFlags(), formatFlag()),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("sql: give one SQL statement as one argument (quote it), got %d arguments", c.NArg())
			}
			format, err := outputFormat(c, env)
			if err != nil {
				return err
			}
			path, err := databasePath(c)
			if err != nil {
				return err
			}
			if err := requireDB(c, path); err != nil {
				return err
			}
			db, err := sqlite.OpenReadOnly(c.Context, path)
			if err != nil {
				return err
			}
			defer db.Close()
			// v_key_presence and the staging tables live in the latest run's
			// staging files, beside the database. A run that is staging right
			// now holds them exclusively: the query still runs, without them.
			staged, attachErr := db.AttachStagingReadOnly(c.Context)
			var incomplete *sqlite.StagingIncompleteError
			switch {
			case errors.As(attachErr, &incomplete):
				fmt.Fprintf(env.Stderr, "keysync: %v (killed or failed while loading): v_key_presence is unavailable until the next run\n", incomplete)
			case attachErr != nil:
				fmt.Fprintf(env.Stderr, "keysync: the staging files are not readable now (a run may be staging), v_key_presence is unavailable: %v\n", attachErr)
			}
			out := newResultWriter(env.Stdout, format)
			err = db.ReadQuery(c.Context, c.Args().First(), out.columns, out.row)
			var (
				refused *sqlite.WriteRefusedError
				bad     *sqlite.QueryError
			)
			switch {
			case errors.As(err, &bad) && !staged && attachErr == nil && strings.Contains(err.Error(), "no such table: v_key_presence"):
				return usageErrorf("sql: %v (v_key_presence lives in the staging files of the latest run that read its sources, beside the database: none is there yet)", err)
			case errors.As(err, &bad) && incomplete != nil && strings.Contains(err.Error(), "no such table: v_key_presence"):
				return usageErrorf("sql: %v (%v: the next run replaces them)", err, incomplete)
			case errors.As(err, &refused), errors.As(err, &bad):
				return usageErrorf("sql: %v", err)
			case err != nil:
				return err
			}
			return out.close()
		},
	}
}

// resultWriter prints a query's result as it streams in.
type resultWriter struct {
	format string
	w      io.Writer
	csv    *csv.Writer
	table  *tabwriter.Writer
	buf    bytes.Buffer // the table, aligned only once every row is in
	cols   []string
	rows   int
}

func newResultWriter(w io.Writer, format string) *resultWriter {
	r := &resultWriter{format: format, w: w}
	switch format {
	case "csv":
		r.csv = csv.NewWriter(w)
	case "table":
		r.table = tabwriter.NewWriter(&r.buf, 0, 0, 2, ' ', 0)
	}
	return r
}

func (r *resultWriter) columns(cols []string) error {
	r.cols = cols
	switch r.format {
	case "csv":
		return r.csv.Write(cols)
	case "table":
		return r.tableLine(cols)
	}
	_, err := io.WriteString(r.w, "[")
	return err
}

func (r *resultWriter) row(vals []any) error {
	r.rows++
	switch r.format {
	case "csv":
		rec := make([]string, len(vals))
		for i, v := range vals {
			rec[i] = cellText(v)
		}
		return r.csv.Write(rec)
	case "table":
		rec := make([]string, len(vals))
		for i, v := range vals {
			rec[i] = cellText(v)
		}
		return r.tableLine(rec)
	}
	var b strings.Builder
	if r.rows > 1 {
		b.WriteString(",")
	}
	b.WriteString("\n  {")
	for i, v := range vals {
		if i > 0 {
			b.WriteString(", ")
		}
		k, _ := json.Marshal(r.cols[i])
		b.Write(k)
		b.WriteString(": ")
		b.Write(cellJSON(v))
	}
	b.WriteString("}")
	_, err := io.WriteString(r.w, b.String())
	return err
}

// tableLine writes one aligned line; a tab or line break inside a value
// would break the alignment, so it is shown escaped.
func (r *resultWriter) tableLine(fields []string) error {
	esc := strings.NewReplacer("\t", `\t`, "\n", `\n`, "\r", `\r`)
	for i, f := range fields {
		if i > 0 {
			io.WriteString(r.table, "\t")
		}
		io.WriteString(r.table, esc.Replace(f))
	}
	_, err := io.WriteString(r.table, "\n")
	return err
}

func (r *resultWriter) close() error {
	switch r.format {
	case "csv":
		r.csv.Flush()
		return r.csv.Error()
	case "table":
		if err := r.table.Flush(); err != nil {
			return err
		}
		// tabwriter pads a short last cell; no line needs trailing blanks.
		for _, line := range strings.SplitAfter(r.buf.String(), "\n") {
			if line == "" {
				continue
			}
			if _, err := io.WriteString(r.w, strings.TrimRight(line, " \n")+"\n"); err != nil {
				return err
			}
		}
		return nil
	}
	end := "]\n"
	if r.rows > 0 {
		end = "\n]\n"
	}
	_, err := io.WriteString(r.w, end)
	return err
}

// cellText is a value as csv and table output show it: NULL is empty.
func cellText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return formatReal(v)
	case string:
		return v
	case []byte:
		if utf8.Valid(v) {
			return string(v)
		}
		return "x'" + hex.EncodeToString(v) + "'"
	}
	return fmt.Sprint(v)
}

// cellJSON is a value as json output shows it: NULL is null, numbers are numbers.
func cellJSON(v any) []byte {
	switch v := v.(type) {
	case nil:
		return []byte("null")
	case int64:
		return strconv.AppendInt(nil, v, 10)
	case float64:
		if !math.IsInf(v, 0) && !math.IsNaN(v) {
			return []byte(formatReal(v))
		}
	}
	b, _ := json.Marshal(cellText(v))
	return b
}

// formatReal writes a REAL the way JSON numbers are written: the shortest
// form, without an exponent between 1e-6 and 1e21 (0.6, 1, 1234567.5).
func formatReal(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	b, _ := json.Marshal(f)
	return string(b)
}
