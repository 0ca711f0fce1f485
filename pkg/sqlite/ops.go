package sqlite

// The store methods of the operator commands that look back at the database
// or tidy it: registry show and export, report, sql, db status and migrate,
// and prune.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	msqlite "modernc.org/sqlite"

	"github.com/keysync/keysync/pkg/keysync"
	sqlfiles "github.com/keysync/keysync/sql"
)

// MasterKey is the registry row of key; ok is false when the registry has no
// such key.
func (r *Reader) MasterKey(ctx context.Context, key string) (e keysync.RegistryEntry, ok bool, err error) {
	err = r.q.QueryRowContext(ctx, `
		SELECT master_key, source_system, source_key, status, created_at, updated_at
		FROM master_key_registry WHERE master_key = ?`, key).
		Scan(&e.MasterKey, &e.SourceSystem, &e.SourceKey, &e.Status, &e.CreatedAt, &e.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return e, false, nil
	}
	if err != nil {
		return e, false, fmt.Errorf("read master key %q: %w", key, err)
	}
	return e, true, nil
}

// KeyReport is one sighting of a master key: a run in which a system reported
// the key missing in the authority (a diff_missing_in_A row).
type KeyReport struct {
	RunID     int64           `csv:"run_id" json:"run_id"`
	StartedAt string          `csv:"started_at" json:"started_at"`
	Mode      keysync.RunMode `csv:"mode" json:"mode"`
	System    string          `csv:"system" json:"system"`
	SourceKey string          `csv:"source_key" json:"source_key"`
	Key       string          `csv:"key" json:"key"`
	Status    string          `csv:"status" json:"status"` // the key's status in that run's diff
}

// KeyReports lists every kept missing_in_A finding whose master key is key,
// by run and system. Runs whose findings were pruned no longer show.
func (r *Reader) KeyReports(ctx context.Context, key string) ([]KeyReport, error) {
	return scanAll(ctx, r.q, "reports of "+key, `
		SELECT f.run_id, r.started_at, r.mode, f.system, f.source_key, f.key, f.status
		FROM findings f JOIN runs r ON r.run_id = f.run_id
		WHERE f.kind = 'missing_in_A' AND f.master_key = ?
		ORDER BY f.run_id, f.system`,
		func(rs *sql.Rows, v *KeyReport) error {
			return rs.Scan(&v.RunID, &v.StartedAt, &v.Mode, &v.System, &v.SourceKey, &v.Key, &v.Status)
		}, key)
}

// KeyHistory is the audit trail of one master key: every event whose payload
// names it, by event id.
func (r *Reader) KeyHistory(ctx context.Context, key string) ([]keysync.AuditEvent, error) {
	return scanAll(ctx, r.q, "history of "+key, `
		SELECT event_id, COALESCE(run_id, 0), event_type, payload, created_at
		FROM audit_log WHERE json_extract(payload, '$.master_key') = ?
		ORDER BY event_id`,
		func(rs *sql.Rows, v *keysync.AuditEvent) error {
			return rs.Scan(&v.EventID, &v.RunID, &v.EventType, &v.Payload, &v.CreatedAt)
		}, key)
}

// CrosswalkRow maps a master key to the key one system knows it by.
type CrosswalkRow struct {
	MasterKey string         `csv:"master_key" json:"master_key"`
	System    string         `csv:"system" json:"system"`
	SourceKey string         `csv:"source_key" json:"source_key"`
	Status    keysync.Status `csv:"status" json:"status"`
}

// Crosswalk is the registry as a crosswalk (sql/queries/ops_crosswalk.sql):
// one row per master key and system that reported it, by master key and system.
func (r *Reader) Crosswalk(ctx context.Context) ([]CrosswalkRow, error) {
	return scanAll(ctx, r.q, "crosswalk", query("ops_crosswalk"),
		func(rs *sql.Rows, v *CrosswalkRow) error {
			return rs.Scan(&v.MasterKey, &v.System, &v.SourceKey, &v.Status)
		})
}

// RunOutcome is what `keysync report` must know about a past run before it
// rewrites the run's reports.
type RunOutcome struct {
	RunID  int64
	Status keysync.RunStatus
	Mode   keysync.RunMode
	// Pruned is true when `keysync prune` removed the run's findings and
	// rejected rows: its KPIs or summary count rows the database no longer has.
	Pruned bool
}

// RunOutcome reads run runID; ok is false when there is no such run.
func (r *Reader) RunOutcome(ctx context.Context, runID int64) (o RunOutcome, ok bool, err error) {
	err = r.q.QueryRowContext(ctx, query("ops_run_outcome"), runID).
		Scan(&o.RunID, &o.Status, &o.Mode, &o.Pruned)
	if errors.Is(err, sql.ErrNoRows) {
		return o, false, nil
	}
	if err != nil {
		return o, false, fmt.Errorf("read run %d: %w", runID, err)
	}
	return o, true, nil
}

// Pruned says what Prune removed.
type Pruned struct {
	// KeptFrom is the oldest run whose findings are kept (0: no succeeded run).
	KeptFrom int64
	// Runs is how many older runs had findings or rejected rows removed.
	Runs     int64
	Findings int64
	Rejected int64
	// Pending is how many pending_findings rows (what grace_period held
	// back) went with the findings.
	Pending int64
}

// Prune deletes the findings, pending findings and rejected rows of every run
// older than the newest keep succeeded normal runs (only succeeded runs have
// any), in one transaction. Dry runs take no place among the kept: one after
// the oldest kept run stays, an older one goes. The registry, the audit log, runs and run_systems are never
// touched; staging holds only the latest run and is left alone. The caller
// holds the run lock.
func (d *DB) Prune(ctx context.Context, keep int) (Pruned, error) {
	if keep < 1 {
		return Pruned{}, fmt.Errorf("prune: keep %d runs: must be at least 1", keep)
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return Pruned{}, fmt.Errorf("prune: %w", wrapBusy(err))
	}
	defer tx.Rollback()
	p, err := prune(ctx, tx, keep)
	if err != nil {
		return Pruned{}, fmt.Errorf("prune: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return Pruned{}, fmt.Errorf("prune: commit: %w", wrapBusy(err))
	}
	return p, nil
}

// prune is Prune inside tx: `keysync prune` and a run's retention
// (retention.go) share it, so both keep exactly the same runs.
func prune(ctx context.Context, tx *sql.Tx, keep int) (Pruned, error) {
	var p Pruned
	var from sql.NullInt64
	if err := tx.QueryRowContext(ctx, `
		SELECT MIN(run_id) FROM (
			SELECT run_id FROM runs WHERE status = 'succeeded' AND mode = 'normal' ORDER BY run_id DESC LIMIT ?)`,
		keep).Scan(&from); err != nil {
		return p, fmt.Errorf("oldest kept run: %w", wrapBusy(err))
	}
	if !from.Valid {
		return p, nil
	}
	p.KeptFrom = from.Int64
	if err := tx.QueryRowContext(ctx, `
		SELECT COUNT(*) FROM (
			SELECT run_id FROM findings WHERE run_id < :from
			UNION SELECT run_id FROM rejected_rows WHERE run_id < :from
			UNION SELECT run_id FROM pending_findings WHERE run_id < :from)`,
		sql.Named("from", p.KeptFrom)).Scan(&p.Runs); err != nil {
		return p, fmt.Errorf("count pruned runs: %w", wrapBusy(err))
	}
	for _, t := range []struct {
		table string
		n     *int64
	}{{"findings", &p.Findings}, {"pending_findings", &p.Pending}, {"rejected_rows", &p.Rejected}} {
		res, err := tx.ExecContext(ctx, `DELETE FROM `+t.table+` WHERE run_id < ?`, p.KeptFrom)
		if err != nil {
			return Pruned{}, fmt.Errorf("delete from %s: %w", t.table, wrapBusy(err))
		}
		if *t.n, err = res.RowsAffected(); err != nil {
			return Pruned{}, fmt.Errorf("delete from %s: %w", t.table, err)
		}
	}
	return p, nil
}

// Migration is one schema migration and whether the database has it.
type Migration struct {
	Version   int64  `csv:"version" json:"version"`
	Name      string `csv:"name" json:"name"`
	State     string `csv:"state" json:"state"`           // applied, pending or unknown (newer)
	AppliedAt string `csv:"applied_at" json:"applied_at"` // RFC 3339 UTC; empty when pending
}

// Migration states.
const (
	MigrationApplied = "applied"
	MigrationPending = "pending"
	// MigrationNewer is a migration the database has and this keysync does
	// not carry: a newer keysync applied it.
	MigrationNewer = "unknown (newer)"
)

// Migrations lists the migrations embedded in keysync, every one pending: the
// status of a database that does not exist yet.
func Migrations() ([]Migration, error) {
	names, err := fs.Glob(sqlfiles.Migrations, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	var out []Migration
	for _, n := range names {
		v, err := goose.NumericComponent(n)
		if err != nil {
			return nil, fmt.Errorf("list migrations: %s: %w", n, err)
		}
		out = append(out, Migration{Version: v, Name: path.Base(n), State: MigrationPending})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// MigrationStates lists every migration with whether this database has it,
// without applying any, then the migrations the database has that this
// keysync does not carry (MigrationNewer, no name). It works on a database
// opened with OpenReadOnly or OpenAny: a file goose never touched (no version
// table) has every migration pending.
func (d *DB) MigrationStates(ctx context.Context) ([]Migration, error) {
	schema, err := d.Schema(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status %s: %w", d.path, err)
	}
	if schema.Version == 0 && len(schema.Unknown) == 0 {
		// goose's Status would try to create its table, which a read-only
		// database refuses (after retrying for seconds).
		return Migrations()
	}
	st, err := d.MigrationStatus(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status %s: %w", d.path, wrapBusy(err))
	}
	out := make([]Migration, 0, len(st)+len(schema.Unknown))
	for _, s := range st {
		m := Migration{Version: s.Source.Version, Name: path.Base(s.Source.Path), State: MigrationPending}
		if s.State == goose.StateApplied {
			m.State = MigrationApplied
			m.AppliedAt = FormatTime(s.AppliedAt)
		}
		out = append(out, m)
	}
	for _, u := range schema.Unknown {
		out = append(out, Migration{Version: u.Version, State: MigrationNewer, AppliedAt: u.AppliedAt})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// HasPending reports whether any migration is not applied, without applying
// or creating anything.
func (d *DB) HasPending(ctx context.Context) (bool, error) {
	states, err := d.MigrationStates(ctx)
	if err != nil {
		return false, err
	}
	for _, m := range states {
		if m.State == MigrationPending {
			return true, nil
		}
	}
	return false, nil
}

// WriteRefusedError refuses a statement of `keysync sql` that is not a
// read-only query. Keyword is the statement's first word (INSERT, ATTACH, …).
type WriteRefusedError struct {
	Keyword string
	Reason  string
}

func (e *WriteRefusedError) Error() string {
	return fmt.Sprintf("%s refused: %s; keysync sql runs one read-only statement "+
		"(SELECT, WITH, VALUES, EXPLAIN or a PRAGMA that only reads)", e.Keyword, e.Reason)
}

// QueryError is a statement SQLite could not run as written: a syntax error,
// an unknown table or column. It is the user's to correct.
type QueryError struct{ Err error }

func (e *QueryError) Error() string { return e.Err.Error() }
func (e *QueryError) Unwrap() error { return e.Err }

// readPragmasWithArg are the pragmas whose argument names what to read
// (PRAGMA table_info(runs)) rather than a value to set.
var readPragmasWithArg = map[string]bool{
	"foreign_key_check": true, "foreign_key_list": true, "index_info": true, "index_list": true,
	"index_xinfo": true, "integrity_check": true, "quick_check": true, "table_info": true,
	"table_list": true, "table_xinfo": true,
}

// CheckReadOnly accepts stmt when it is one statement that only reads: it
// starts with SELECT, WITH, VALUES or EXPLAIN, or is a PRAGMA that sets
// nothing. It is the first of two guards: the database is also opened
// read-only, which refuses whatever writes this lexical check lets through
// (WITH … DELETE, say). It catches what the read-only connection allows but
// must not happen: ATTACH and VACUUM INTO create files, and a second statement
// could turn query_only off.
func CheckReadOnly(stmt string) error {
	stmts := splitStatements(stmt)
	switch {
	case len(stmts) == 0:
		return &QueryError{Err: errors.New("no SQL statement given")}
	case len(stmts) > 1:
		return &WriteRefusedError{Keyword: strings.Join(keywords(stmts), "; "),
			Reason: fmt.Sprintf("%d statements given", len(stmts))}
	}
	toks := words(stmts[0])
	kw := strings.ToUpper(toks[0])
	switch kw {
	case "SELECT", "WITH", "VALUES", "EXPLAIN":
		return nil
	case "PRAGMA":
		return checkPragma(stmts[0])
	}
	if otherStatements[kw] {
		return &WriteRefusedError{Keyword: kw, Reason: "not a read-only statement"}
	}
	// Not a statement SQLite knows: its parser reports the syntax error.
	return nil
}

// otherStatements are the first keywords of SQLite's statements that are not
// read-only queries.
var otherStatements = map[string]bool{
	"ALTER": true, "ANALYZE": true, "ATTACH": true, "BEGIN": true, "COMMIT": true, "CREATE": true,
	"DELETE": true, "DETACH": true, "DROP": true, "END": true, "INSERT": true, "REINDEX": true,
	"RELEASE": true, "REPLACE": true, "ROLLBACK": true, "SAVEPOINT": true, "UPDATE": true, "VACUUM": true,
}

// checkPragma accepts PRAGMA [schema.]name, and PRAGMA name(arg) for the
// pragmas whose argument is what to read; a PRAGMA that sets a value is refused.
func checkPragma(stmt string) error {
	rest := strings.TrimSpace(stripComments(stmt)[len("PRAGMA"):])
	end := strings.IndexAny(rest, "=(")
	name := rest
	if end >= 0 {
		name = rest[:end]
	}
	name = strings.ToLower(strings.TrimSpace(name))
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = strings.TrimSpace(name[i+1:])
	}
	switch {
	case end < 0:
		return nil
	case rest[end] == '(' && readPragmasWithArg[name]:
		return nil
	}
	return &WriteRefusedError{Keyword: "PRAGMA " + name, Reason: "a PRAGMA that sets a value"}
}

// keywords are the first words of stmts, uppercased.
func keywords(stmts []string) []string {
	var out []string
	for _, s := range stmts {
		out = append(out, strings.ToUpper(words(s)[0]))
	}
	return out
}

// words splits a statement (comments removed) on white space; a statement
// from splitStatements always has at least one word.
func words(stmt string) []string {
	w := strings.FieldsFunc(stripComments(stmt), func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '(' || r == ';'
	})
	if len(w) == 0 {
		return []string{""}
	}
	return w
}

// The parts of SQL text scanSQL tells apart.
const (
	sqlCode = iota
	sqlQuoted
	sqlComment
)

// stripComments replaces every comment of stmt by a space, keeping quoted text.
func stripComments(stmt string) string {
	var b strings.Builder
	scanSQL(stmt, func(c byte, part int) {
		if part == sqlComment {
			c = ' '
		}
		b.WriteByte(c)
	})
	return b.String()
}

// splitStatements cuts text at the semicolons that end statements (not those
// inside quotes or comments) and keeps the statements that have any SQL
// besides comments and white space.
func splitStatements(text string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		s := cur.String()
		if strings.TrimSpace(stripComments(s)) != "" {
			out = append(out, strings.TrimSpace(s))
		}
		cur.Reset()
	}
	scanSQL(text, func(c byte, part int) {
		if c == ';' && part == sqlCode {
			flush()
			return
		}
		cur.WriteByte(c)
	})
	flush()
	return out
}

// scanSQL calls emit for every byte of text with the part it belongs to,
// following SQLite's tokenizer: '…' strings and "…", `…` and […] identifiers
// (a doubled quote closes and reopens, which scans the same), -- comments to
// the end of the line, /* … */ comments (an unterminated one runs to the end).
func scanSQL(text string, emit func(c byte, part int)) {
	state := sqlCode
	var closer byte
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch state {
		case sqlCode:
			switch {
			case c == '\'' || c == '"' || c == '`':
				state, closer = sqlQuoted, c
			case c == '[':
				state, closer = sqlQuoted, ']'
			case c == '-' && i+1 < len(text) && text[i+1] == '-':
				state, closer = sqlComment, '\n'
			case c == '/' && i+1 < len(text) && text[i+1] == '*':
				state, closer = sqlComment, '*'
				emit(c, sqlComment)
				c = text[i+1]
				i++
			}
			emit(c, state)
		case sqlQuoted:
			emit(c, sqlQuoted)
			if c == closer {
				state = sqlCode
			}
		case sqlComment:
			emit(c, sqlComment)
			switch {
			case closer == '\n' && c == '\n':
				state = sqlCode
			case closer == '*' && c == '*' && i+1 < len(text) && text[i+1] == '/':
				emit('/', sqlComment)
				i++
				state = sqlCode
			}
		}
	}
}

// ReadQuery runs one read-only statement (see CheckReadOnly) and streams its
// result: columns once, then each row's values (nil for NULL, int64,
// float64, string or []byte). The database must have been opened with
// OpenReadOnly; a write the lexical check missed is refused by SQLite and
// reported as a *WriteRefusedError, a statement SQLite cannot run as a
// *QueryError.
func (d *DB) ReadQuery(ctx context.Context, stmt string, columns func([]string) error, row func([]any) error) error {
	if err := CheckReadOnly(stmt); err != nil {
		return err
	}
	var queryOnly int
	if err := d.db.QueryRowContext(ctx, `PRAGMA query_only`).Scan(&queryOnly); err != nil {
		return fmt.Errorf("query %s: %w", d.path, err)
	}
	if queryOnly != 1 {
		return fmt.Errorf("query %s: the database is not open read-only", d.path)
	}
	rows, err := d.db.QueryContext(ctx, stmt)
	if err != nil {
		return classifyQueryError(stmt, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return classifyQueryError(stmt, err)
	}
	if err := columns(cols); err != nil {
		return err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return classifyQueryError(stmt, err)
		}
		out := make([]any, len(vals))
		for i, v := range vals {
			if t, ok := v.(time.Time); ok {
				v = FormatTime(t)
			}
			out[i] = v
		}
		if err := row(out); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return classifyQueryError(stmt, err)
	}
	return nil
}

// SQLite result codes ReadQuery tells apart (the low byte of extended codes).
const (
	sqliteError    = 1
	sqliteReadOnly = 8
)

func classifyQueryError(stmt string, err error) error {
	var se *msqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqliteReadOnly:
			return &WriteRefusedError{Keyword: keywords(splitStatements(stmt))[0],
				Reason: "the statement writes to the database"}
		case sqliteError:
			return &QueryError{Err: err}
		}
	}
	return fmt.Errorf("query: %w", wrapBusy(err))
}
