package source_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keysync/keysync/internal/dbtest"
	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/source"
)

// The read-only user keysync connects as, in every server the tests start.
const (
	dbUser     = "keysync"
	dbPassword = "ks-Pa55-w0rd"
)

// dbKind is one database server type under test.
type dbKind struct {
	name  string // the source type
	start func(testing.TB) *dbtest.Server
	// setup creates database erp with its tables (as the administrator) and
	// the user keysync allowed to SELECT from them only.
	setup func(t *testing.T, srv *dbtest.Server)
	// types is one row of typed columns and the text each must read as.
	types []typeCol
	// bigTable creates table big with n rows: id, item_code K<id>, and a
	// 300-byte pad column.
	bigTable func(n int) []string
	sleep    string // a query that takes 5 seconds
	writes   []string
}

// typeCol is a typed column of the types table and its expected text.
type typeCol struct{ col, want string }

func (k dbKind) extractor(db source.DB) source.Extractor {
	if k.name == source.TypePostgres {
		return source.Postgres{DB: db}
	}
	return source.MySQL{DB: db}
}

var dbKinds = []dbKind{
	{
		name:  source.TypePostgres,
		start: dbtest.Postgres,
		setup: func(t *testing.T, srv *dbtest.Server) {
			srv.Exec(t, "CREATE DATABASE erp")
			erp := srv.Open(t, "erp")
			mustExec(t, erp,
				`CREATE TABLE items (id int PRIMARY KEY, item_code text, region text, kind text,
					bin bytea, system text, updated_at timestamptz)`,
				`INSERT INTO items VALUES
					(1, 'k1', 'eu', 'Invoice', 'WH-1', 'B', '2024-01-02 03:04:05+00'),
					(2, '  ', 'us', NULL, NULL, NULL, NULL),
					(3, 'k3', 'eu', 'Order', NULL, 'C', NULL),
					(4, NULL, 'eu', NULL, NULL, NULL, '2024-03-01 00:00:00+00'),
					(5, 'k5', NULL, NULL, '\x61ff62', NULL, NULL)`,
				`CREATE TABLE types (i int, big bigint, small smallint, num numeric(10,2), f8 float8, f4 float4,
					yes boolean, no boolean, tstz timestamptz, ts timestamp, day date, t text, vc varchar(10),
					u uuid, n text, b bytea)`,
				`INSERT INTO types VALUES (42, -9000000000, 7, 12.50, 0.1, 0.1, true, false,
					'2024-01-02 03:04:05.5+02', '2024-01-02 03:04:05', '2024-03-01', 'héllo', 'v',
					'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', NULL, 'abc')`,
				// The least-privilege user of the README.
				`CREATE ROLE keysync LOGIN PASSWORD '`+dbPassword+`'`,
				`GRANT CONNECT ON DATABASE erp TO keysync`,
				`GRANT USAGE ON SCHEMA public TO keysync`,
				`GRANT SELECT ON ALL TABLES IN SCHEMA public TO keysync`,
			)
		},
		types: []typeCol{
			{"i", "42"}, {"big", "-9000000000"}, {"small", "7"}, {"num", "12.50"}, {"f8", "0.1"}, {"f4", "0.1"},
			{"yes", "true"}, {"no", "false"}, {"tstz", "2024-01-02T01:04:05.5Z"}, {"ts", "2024-01-02T03:04:05Z"},
			{"day", "2024-03-01T00:00:00Z"}, {"t", "héllo"}, {"vc", "v"},
			{"u", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}, {"n", ""}, {"b", "abc"},
		},
		bigTable: func(n int) []string {
			return []string{fmt.Sprintf(`CREATE TABLE big AS SELECT g AS id, 'K' || g AS item_code, repeat('x', 300) AS pad
				FROM generate_series(1, %d) g`, n), "GRANT SELECT ON big TO keysync"}
		},
		sleep: "SELECT 'k1' AS source_key FROM pg_sleep(5)",
		writes: []string{
			"INSERT INTO items (id, item_code) VALUES (99, 'evil') RETURNING item_code AS source_key",
			"WITH d AS (DELETE FROM items RETURNING item_code) SELECT item_code AS source_key FROM d",
			"CREATE TABLE evil AS SELECT item_code AS source_key FROM items",
		},
	},
	{
		name:  source.TypeMySQL,
		start: dbtest.MariaDB,
		setup: func(t *testing.T, srv *dbtest.Server) {
			srv.Exec(t, "CREATE DATABASE erp")
			erp := srv.Open(t, "erp")
			mustExec(t, erp,
				`CREATE TABLE items (id int PRIMARY KEY, item_code varchar(20), region varchar(5), kind varchar(20),
					bin varbinary(10), system varchar(5), updated_at datetime)`,
				`INSERT INTO items VALUES
					(1, 'k1', 'eu', 'Invoice', 'WH-1', 'B', '2024-01-02 03:04:05'),
					(2, '  ', 'us', NULL, NULL, NULL, NULL),
					(3, 'k3', 'eu', 'Order', NULL, 'C', NULL),
					(4, NULL, 'eu', NULL, NULL, NULL, '2024-03-01 00:00:00'),
					(5, 'k5', NULL, NULL, X'61ff62', NULL, NULL)`,
				`CREATE TABLE types (i int, big bigint, small smallint, num decimal(10,2), f8 double, f4 float,
					yes boolean, no boolean, ts timestamp(1) NULL, dt datetime, day date, t varchar(10), u bigint unsigned,
					n varchar(5), b varbinary(5), bits bit(8))`,
				`INSERT INTO types VALUES (42, -9000000000, 7, 12.50, 0.1, 0.1, true, false,
					FROM_UNIXTIME(1704157445.5), '2024-01-02 03:04:05', '2024-03-01', 'héllo', 18446744073709551615,
					NULL, 'abc', b'00000101')`,
				// The least-privilege user of the README.
				`CREATE USER 'keysync'@'%' IDENTIFIED BY '`+dbPassword+`'`,
				`GRANT SELECT ON erp.* TO 'keysync'@'%'`,
			)
		},
		types: []typeCol{
			{"i", "42"}, {"big", "-9000000000"}, {"small", "7"}, {"num", "12.50"}, {"f8", "0.1"}, {"f4", "0.1"},
			{"yes", "true"}, {"no", "false"}, {"ts", "2024-01-02T01:04:05.5Z"}, {"dt", "2024-01-02T03:04:05Z"},
			{"day", "2024-03-01T00:00:00Z"}, {"t", "héllo"}, {"u", "18446744073709551615"}, {"n", ""}, {"b", "abc"},
			{"bits", "5"},
		},
		bigTable: func(n int) []string {
			return []string{fmt.Sprintf(`CREATE TABLE big AS SELECT seq AS id, CONCAT('K', seq) AS item_code,
				REPEAT('x', 300) AS pad FROM seq_1_to_%d`, n)}
		},
		sleep: "SELECT 'k1' AS source_key FROM (SELECT SLEEP(5)) s",
		writes: []string{
			"INSERT INTO items (id, item_code) VALUES (99, 'evil')",
			"DELETE FROM items",
			"CREATE TABLE evil AS SELECT item_code AS source_key FROM items",
		},
	},
}

func mustExec(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, q := range stmts {
		if _, err := db.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// TestDBSources runs the postgres and mysql sources against a real
// PostgreSQL and a real MariaDB, one server each for all the cases.
func TestDBSources(t *testing.T) {
	for _, k := range dbKinds {
		t.Run(k.name, func(t *testing.T) {
			srv := k.start(t)
			k.setup(t, srv)
			dsn := srv.DSN(dbUser, dbPassword, "erp")
			run := func(t *testing.T, db source.DB) (source.Stats, *recorder, error) {
				t.Helper()
				if db.System == "" {
					db.System = "B"
				}
				if db.DSN == "" {
					db.DSN = dsn
				}
				var rec recorder
				ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
				defer cancel()
				st, err := k.extractor(db).Extract(ctx, testRules, &rec)
				return st, &rec, err
			}
			mustRun := func(t *testing.T, db source.DB) (source.Stats, *recorder) {
				t.Helper()
				st, rec, err := run(t, db)
				if err != nil {
					t.Fatalf("Extract: %v", err)
				}
				return st, rec
			}

			t.Run("types", func(t *testing.T) {
				// One composite key of every typed column: its raw key shows
				// each value as read, joined with "|".
				var cols, want []string
				for _, c := range k.types {
					cols = append(cols, c.col)
					want = append(want, c.want)
				}
				st, rec := mustRun(t, source.DB{Query: "SELECT * FROM types", Key: cols, KeySeparator: "|"})
				if st.RowsRead != 1 || len(rec.rows) != 1 {
					t.Fatalf("rows read %d, accepted %+v, rejected %+v", st.RowsRead, rec.rows, rec.rejs)
				}
				got := strings.Split(rec.rows[0].RawKey, "|")
				for i, c := range k.types {
					if i < len(got) && got[i] != c.want {
						t.Errorf("column %s reads %q, want %q", c.col, got[i], c.want)
					}
				}
				if len(got) != len(want) {
					t.Errorf("raw key %q has %d parts, want %d", rec.rows[0].RawKey, len(got), len(want))
				}
			})

			t.Run("rows and rejections", func(t *testing.T) {
				_, rec := mustRun(t, source.DB{
					Query: `SELECT item_code, kind AS entity_type, bin, system AS source_system, updated_at
						FROM items ORDER BY id`,
					Columns: map[string]string{"source_key": "item_code", "location_ref": "bin", "last_seen_at": "updated_at"},
				})
				wantRows := []keysync.Row{{Record: 1, Key: "K1", RawKey: "k1", EntityType: "Invoice", LocationRef: "WH-1",
					LastSeenAt: "2024-01-02T03:04:05Z"}}
				wantRejs := []keysync.Rejection{
					rej(2, "  ", keysync.RejectEmptyKey),
					rej(3, "k3", keysync.RejectSystemMismatch),
					rej(4, "", keysync.RejectEmptyKey),
				}
				// k5's location_ref is not UTF-8: only the key is checked, the
				// location is kept with U+FFFD.
				wantRows = append(wantRows, keysync.Row{Record: 5, Key: "K5", RawKey: "k5", LocationRef: "a\uFFFDb"})
				if fmt.Sprint(rec.rows) != fmt.Sprint(wantRows) {
					t.Errorf("rows\n got %+v\nwant %+v", rec.rows, wantRows)
				}
				if fmt.Sprint(rec.rejs) != fmt.Sprint(wantRejs) {
					t.Errorf("rejections\n got %+v\nwant %+v", rec.rejs, wantRejs)
				}
			})

			t.Run("invalid UTF-8 key", func(t *testing.T) {
				_, rec := mustRun(t, source.DB{Query: "SELECT bin AS source_key FROM items WHERE id = 5"})
				want := []keysync.Rejection{rej(1, "a\uFFFDb", keysync.RejectInvalidUTF8)}
				if len(rec.rows) != 0 || fmt.Sprint(rec.rejs) != fmt.Sprint(want) {
					t.Errorf("rows %+v, rejections %+v, want %+v", rec.rows, rec.rejs, want)
				}
			})

			t.Run("composite key", func(t *testing.T) {
				_, rec := mustRun(t, source.DB{Query: "SELECT region, item_code FROM items WHERE id IN (1, 3) ORDER BY id",
					Key: []string{"region", "item_code"}, KeySeparator: "-"})
				want := []keysync.Row{{Record: 1, Key: "EU-K1", RawKey: "eu-k1"}, {Record: 2, Key: "EU-K3", RawKey: "eu-k3"}}
				if fmt.Sprint(rec.rows) != fmt.Sprint(want) {
					t.Errorf("rows\n got %+v\nwant %+v", rec.rows, want)
				}
			})

			t.Run("fingerprint", func(t *testing.T) {
				q := "SELECT item_code AS source_key FROM items ORDER BY id"
				a, _ := mustRun(t, source.DB{Query: q})
				b, _ := mustRun(t, source.DB{Query: q})
				c, _ := mustRun(t, source.DB{Query: q + " "})
				d, _ := mustRun(t, source.DB{Query: "SELECT item_code AS source_key FROM items ORDER BY id DESC"})
				if a.Fingerprint != b.Fingerprint {
					t.Errorf("the same query over the same rows: %+v, then %+v", a.Fingerprint, b.Fingerprint)
				}
				if a.RowsRead != 5 || a.Bytes == 0 || len(a.SHA256) != 64 {
					t.Errorf("stats %+v", a)
				}
				if c.SHA256 == a.SHA256 || c.Path == a.Path {
					t.Errorf("another query text, same fingerprint %+v", c.Fingerprint)
				}
				if d.SHA256 == a.SHA256 || d.Bytes != a.Bytes {
					t.Errorf("the same rows in another order: %+v vs %+v", d.Fingerprint, a.Fingerprint)
				}
				if strings.Contains(a.Path, dbPassword) || !strings.Contains(a.Path, "keysync:REDACTED@") ||
					!strings.Contains(a.Path, " query sha256:") {
					t.Errorf("fingerprint path %q: want the redacted DSN and the query's SHA-256", a.Path)
				}
			})

			t.Run("secrets from the environment", func(t *testing.T) {
				env := map[string]string{"KS_USER": dbUser, "KS_PW": dbPassword}
				lookup := func(n string) (string, bool) { v, ok := env[n]; return v, ok }
				cfgDSN := strings.Replace(strings.Replace(dsn, dbPassword, "${KS_PW}", 1), dbUser, "${KS_USER}", 1)
				st, rec := mustRun(t, source.DB{DSN: cfgDSN, LookupEnv: lookup,
					Query: "SELECT item_code AS source_key FROM items WHERE id = 1"})
				if len(rec.rows) != 1 || strings.Contains(st.Path, dbPassword) || strings.Contains(st.Path, dbUser) {
					t.Errorf("rows %+v, fingerprint path %q", rec.rows, st.Path)
				}
				env["KS_PW"] = "Wr0ng-Secret-1"
				_, _, err := run(t, source.DB{DSN: cfgDSN, LookupEnv: lookup, Retries: 3, Backoff: time.Hour,
					Query: "SELECT item_code AS source_key FROM items"})
				checkDBError(t, err, srv, "Wr0ng-Secret-1", dbUser)
				delete(env, "KS_PW")
				_, _, err = run(t, source.DB{DSN: cfgDSN, LookupEnv: lookup, Query: "SELECT 1 AS source_key"})
				if err == nil || !strings.Contains(err.Error(), "KS_PW is not set") {
					t.Errorf("unset variable: %v", err)
				}
			})

			t.Run("wrong password", func(t *testing.T) {
				// Not retried: Backoff an hour would hang the test.
				_, _, err := run(t, source.DB{DSN: srv.DSN(dbUser, "Wr0ng-Literal-2", "erp"), Retries: 3, Backoff: time.Hour,
					Query: "SELECT item_code AS source_key FROM items"})
				checkDBError(t, err, srv, "Wr0ng-Literal-2")
			})

			t.Run("SQL error", func(t *testing.T) {
				_, _, err := run(t, source.DB{Query: "SELECT no_such_column FROM items"})
				checkDBError(t, err, srv, dbPassword)
				if !strings.Contains(err.Error(), "no_such_column") {
					t.Errorf("the error does not name the SQL problem: %v", err)
				}
				_, _, err = run(t, source.DB{Query: "SELECT id FROM items"})
				if err == nil || !strings.Contains(err.Error(), "source_key") {
					t.Errorf("no source_key column: %v", err)
				}
			})

			t.Run("unreachable server retried", func(t *testing.T) {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				port := l.Addr().(*net.TCPAddr).Port
				l.Close()
				down := strings.Replace(dsn, ":"+strconv.Itoa(srv.Port), ":"+strconv.Itoa(port), 1)
				start := time.Now()
				_, _, err = run(t, source.DB{DSN: down, Retries: 2, Backoff: 50 * time.Millisecond, Query: "SELECT 1"})
				if err == nil || !strings.Contains(err.Error(), "still after 2 retries") ||
					!strings.Contains(err.Error(), "127.0.0.1:"+strconv.Itoa(port)) || strings.Contains(err.Error(), dbPassword) {
					t.Errorf("unreachable server: %v", err)
				}
				if took := time.Since(start); took < 150*time.Millisecond {
					t.Errorf("two retries with backoff 50ms then 100ms took only %s", took)
				}
			})

			t.Run("writes refused", func(t *testing.T) {
				admin := srv.Open(t, "erp")
				for _, q := range k.writes {
					// As the administrator, who may write: the read-only
					// transaction alone refuses.
					_, _, err := run(t, source.DB{DSN: srv.AdminDSN("erp"), Query: q})
					if err == nil || !strings.Contains(err.Error(), "writes, and a database source only reads") ||
						!strings.Contains(err.Error(), strings.Fields(q)[0]) || strings.Contains(err.Error(), dbtest.AdminPassword) {
						t.Errorf("%s: %v", q, err)
					}
				}
				var n int
				if err := admin.QueryRowContext(t.Context(), "SELECT count(*) FROM items").Scan(&n); err != nil || n != 5 {
					t.Errorf("items has %d rows (%v), want the 5 untouched", n, err)
				}
				var evil int
				admin.QueryRowContext(t.Context(), "SELECT count(*) FROM information_schema.tables WHERE table_name = 'evil'").Scan(&evil)
				if evil != 0 {
					t.Errorf("table evil was created")
				}
			})

			t.Run("timeout", func(t *testing.T) {
				start := time.Now()
				_, _, err := run(t, source.DB{Query: k.sleep, Timeout: 500 * time.Millisecond})
				if err == nil || time.Since(start) > 4*time.Second {
					t.Errorf("a 5s query with a 500ms timeout: %v after %s", err, time.Since(start))
				}
			})

			t.Run("sink error stops the source", func(t *testing.T) {
				sink := &failingSink{n: 2}
				db := source.DB{System: "B", DSN: dsn, Query: "SELECT item_code AS source_key FROM items ORDER BY id"}
				_, err := k.extractor(db).Extract(t.Context(), testRules, sink)
				if !errors.Is(err, errSinkFull) || !strings.Contains(err.Error(), "row 2") {
					t.Errorf("got %v, want the sink's error at row 2", err)
				}
			})

			t.Run("200k rows streamed with bounded memory", func(t *testing.T) {
				const n = 200_000
				mustExec(t, srv.Open(t, "erp"), k.bigTable(n)...)
				sink := &memSink{}
				db := source.DB{System: "B", DSN: dsn, Query: "SELECT item_code AS source_key, pad FROM big ORDER BY id"}
				runtime.GC()
				st, err := k.extractor(db).Extract(t.Context(), testRules, sink)
				if err != nil {
					t.Fatal(err)
				}
				if st.RowsRead != n || sink.rows != n {
					t.Fatalf("read %d rows, accepted %d, want %d", st.RowsRead, sink.rows, n)
				}
				// The result is over 60 MB; a buffered one would be live at once.
				if sink.peak > 40<<20 {
					t.Errorf("heap peaked at %d MB while streaming", sink.peak>>20)
				}
			})
		})
	}
}

// checkDBError checks a failure of a whole database source: one line naming
// the source, the host and the database, and none of the secrets.
func checkDBError(t *testing.T, err error, srv *dbtest.Server, secrets ...string) {
	t.Helper()
	var se *source.Error
	if !errors.As(err, &se) {
		t.Fatalf("got %v, want a *source.Error", err)
	}
	msg := err.Error()
	for _, want := range []string{`source "B"`, fmt.Sprintf("127.0.0.1:%d", srv.Port), "/erp"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not name %s", msg, want)
		}
	}
	for _, s := range secrets {
		if strings.Contains(msg, s) {
			t.Errorf("error %q shows the secret %q", msg, s)
		}
	}
	if strings.ContainsAny(msg, "\r\n") {
		t.Errorf("error %q is not one line", msg)
	}
}

// memSink counts rows and samples the heap as they come.
type memSink struct {
	rows, rejs int64
	peak       uint64
}

func (s *memSink) Accept(keysync.Row) error { s.rows++; s.sample(); return nil }
func (s *memSink) Reject(keysync.Rejection) error {
	s.rejs++
	s.sample()
	return nil
}

func (s *memSink) sample() {
	if (s.rows+s.rejs)%10_000 != 0 {
		return
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	s.peak = max(s.peak, m.HeapAlloc)
}

// TestDBServerGoesAway kills the server while its rows are being read: the
// source fails, naming where, and passes no end of input to the caller.
func TestDBServerGoesAway(t *testing.T) {
	for _, k := range dbKinds {
		t.Run(k.name, func(t *testing.T) {
			srv := k.start(t)
			k.setup(t, srv)
			mustExec(t, srv.Open(t, "erp"), k.bigTable(50_000)...)
			sink := &killSink{at: 1000, kill: srv.Kill}
			db := source.DB{System: "B", DSN: srv.AdminDSN("erp"),
				Query: "SELECT item_code AS source_key, pad FROM big ORDER BY id"}
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			st, err := k.extractor(db).Extract(ctx, testRules, sink)
			if err == nil {
				t.Fatalf("the server went away after row %d, yet the source read %d rows and succeeded", sink.at, st.RowsRead)
			}
			checkDBError(t, err, srv, dbtest.AdminPassword)
			if sink.rows >= 50_000 {
				t.Errorf("all %d rows arrived before the server went away", sink.rows)
			}
		})
	}
}

// killSink calls kill when row number at arrives.
type killSink struct {
	at, rows int64
	kill     func()
}

func (s *killSink) Accept(keysync.Row) error {
	s.rows++
	if s.rows == s.at {
		s.kill()
	}
	return nil
}
func (s *killSink) Reject(keysync.Rejection) error { return nil }

func TestRedactDSN(t *testing.T) {
	tests := []struct{ typ, dsn, want string }{
		{"postgres", "postgres://keysync:s3cret@db:5432/erp?sslmode=require", "postgres://keysync:REDACTED@db:5432/erp?sslmode=require"},
		{"postgres", "postgresql://keysync:${PW}@db/erp", "postgresql://keysync:REDACTED@db/erp"},
		{"postgres", "postgres://keysync@db/erp?password=s3cret&sslmode=disable", "postgres://keysync@db/erp?password=REDACTED&sslmode=disable"},
		{"postgres", "postgres://db/erp", "postgres://db/erp"},
		{"postgres", "host=db dbname=erp user=keysync password=s3cret", "host=db dbname=erp user=keysync password=REDACTED"},
		{"postgres", "host=db password = 's3 cr\\'et' dbname=erp", "host=db password = REDACTED dbname=erp"},
		{"postgres", "host=db sslpassword=s3cret", "host=db sslpassword=REDACTED"},
		{"mysql", "keysync:s3cret@tcp(db:3306)/erp?tls=true", "keysync:REDACTED@tcp(db:3306)/erp?tls=true"},
		{"mysql", "keysync:p@ss/w@tcp(db)/erp", "keysync:REDACTED@tcp(db)/erp"},
		{"mysql", "keysync@tcp(db)/erp", "keysync@tcp(db)/erp"},
		{"mysql", "/erp", "/erp"},
		{"csv", "s3cret", "REDACTED"},
	}
	for _, tt := range tests {
		if got := source.RedactDSN(tt.typ, tt.dsn); got != tt.want {
			t.Errorf("RedactDSN(%s, %q) = %q, want %q", tt.typ, tt.dsn, got, tt.want)
		}
	}
}

// TestDBSourceBadDSN needs no server: a DSN the driver cannot parse, or a
// bad option, fails the source without quoting the password.
func TestDBSourceBadDSN(t *testing.T) {
	tests := []struct {
		name string
		ex   source.Extractor
		want string
	}{
		{"postgres port", source.Postgres{DB: source.DB{System: "B", DSN: "postgres://u:s3cret@db:port/erp", Query: "SELECT 1"}}, "not a PostgreSQL connection string"},
		{"mysql address", source.MySQL{DB: source.DB{System: "B", DSN: "u:s3cret@tcp(db/erp", Query: "SELECT 1"}}, "not a MySQL DSN"},
		{"no query", source.Postgres{DB: source.DB{System: "B", DSN: "postgres://u:s3cret@db/erp"}}, "no query"},
		{"bad columns", source.MySQL{DB: source.DB{System: "B", DSN: "u:s3cret@tcp(db)/erp", Query: "SELECT 1",
			Columns: map[string]string{"sku": "id"}}}, `unknown field "sku"`},
		{"unset variable", source.Postgres{DB: source.DB{System: "B", DSN: "postgres://u:${KEYSYNC_TEST_UNSET}@db/erp", Query: "SELECT 1"}},
			"KEYSYNC_TEST_UNSET is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.ex.Extract(t.Context(), testRules, &recorder{})
			var se *source.Error
			if !errors.As(err, &se) || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "s3cret") ||
				!strings.HasPrefix(err.Error(), `source "B": read `) {
				t.Errorf("error %v, want a *source.Error with %q and no password", err, tt.want)
			}
		})
	}
}
