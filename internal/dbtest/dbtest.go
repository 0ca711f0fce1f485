// Package dbtest starts throwaway PostgreSQL and MariaDB servers for tests:
// each in a fresh data directory, listening on 127.0.0.1 and a free port,
// run as an unprivileged user when the test runs as root, bounded in time
// and stopped and removed by t.Cleanup.
//
// A missing server binary skips the test with a message naming what to
// install; with CI=true it fails the test instead, so CI cannot pass by
// testing nothing.
package dbtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // "mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // "pgx"
)

// StartTimeout bounds the start of one server, initialization included.
const StartTimeout = 60 * time.Second

// AdminPassword is the password of each server's administrator.
const AdminPassword = "admin-secret"

// Server is one running throwaway database server.
type Server struct {
	Kind string // "postgres" or "mariadb"
	Host string // 127.0.0.1
	Port int
	Dir  string // the data directory's parent, removed on cleanup

	admin *sql.DB
	cmd   *exec.Cmd
	done  chan struct{} // closed when the server process has exited
	log   string        // the server's log file
}

// Postgres starts a PostgreSQL server (initdb, then postgres) for the test.
// Its administrator is postgres with AdminPassword; TCP logins need a
// password (scram-sha-256).
func Postgres(t testing.TB) *Server {
	t.Helper()
	bin := postgresBin(t)
	s := &Server{Kind: "postgres", Host: "127.0.0.1"}
	cred := s.prepare(t, "keysync-pg-")
	data := filepath.Join(s.Dir, "data")
	pwfile := filepath.Join(s.Dir, "pwfile")
	writeOwned(t, pwfile, AdminPassword+"\n", cred)
	ctx, cancel := context.WithTimeout(t.Context(), StartTimeout)
	defer cancel()
	run(t, ctx, cred, s.Dir, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-E", "UTF8",
		"--locale=C", "--no-sync", "--auth-local=trust", "--auth-host=scram-sha-256", "--pwfile="+pwfile)
	s.Port = freePort(t)
	s.start(t, cred, filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(s.Port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="+s.Dir,
		"-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off",
		"-c", "shared_buffers=16MB", "-c", "max_connections=20", "-c", "logging_collector=off")
	s.connect(t, ctx, "pgx", s.DSN("postgres", AdminPassword, "postgres"))
	return s
}

// MariaDB starts a MariaDB server (mariadb-install-db, then mariadbd) for
// the test. Its administrator is admin with AdminPassword (root logs in on
// the Unix socket only).
func MariaDB(t testing.TB) *Server {
	t.Helper()
	installDB, mariadbd := mariadbBins(t)
	s := &Server{Kind: "mariadb", Host: "127.0.0.1"}
	cred := s.prepare(t, "keysync-mariadb-")
	data := filepath.Join(s.Dir, "data")
	ctx, cancel := context.WithTimeout(t.Context(), StartTimeout)
	defer cancel()
	install := []string{"--no-defaults", "--datadir=" + data,
		"--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve"}
	// Once, on a loaded machine, the bootstrap failed with nothing but its
	// generic "Installation of system tables failed!": try a fresh data
	// directory once more before failing the test, and say so.
	if out, err := runErr(ctx, cred, s.Dir, installDB, install...); err != nil {
		t.Logf("mariadb-install-db failed, trying once more: %v\n%s", err, out)
		if err := os.RemoveAll(data); err != nil {
			t.Fatal(err)
		}
		// A time of its own: a slow first try may have used most of ctx's.
		cancel()
		ctx, cancel = context.WithTimeout(t.Context(), StartTimeout)
		defer cancel()
		run(t, ctx, cred, s.Dir, installDB, install...)
	}
	s.Port = freePort(t)
	sock := filepath.Join(s.Dir, "mysqld.sock")
	s.start(t, cred, mariadbd, "--no-defaults", "--datadir="+data, "--socket="+sock,
		"--port="+strconv.Itoa(s.Port), "--bind-address=127.0.0.1", "--skip-name-resolve",
		"--pid-file="+filepath.Join(s.Dir, "mariadbd.pid"), "--tmpdir="+s.Dir,
		"--innodb-buffer-pool-size=32M", "--innodb-log-file-size=16M", "--innodb-flush-log-at-trx-commit=0",
		"--innodb-doublewrite=0", "--skip-log-bin", "--performance-schema=OFF", "--max-connections=20")
	// The fresh root has no password and logs in on the socket only.
	s.connect(t, ctx, "mysql", "root@unix("+sock+")/?multiStatements=true")
	s.Exec(t, "CREATE USER 'admin'@'%' IDENTIFIED BY '"+AdminPassword+"'",
		"GRANT ALL ON *.* TO 'admin'@'%' WITH GRANT OPTION")
	return s
}

// DSN returns a connection string for user on the server, in the form its
// keysync source type takes (postgres URL, or the MySQL driver's form).
func (s *Server) DSN(user, password, db string) string {
	if s.Kind == "postgres" {
		return fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=disable", user, password, s.Host, s.Port, db)
	}
	return fmt.Sprintf("%s:%s@tcp(%s:%d)/%s", user, password, s.Host, s.Port, db)
}

// AdminDSN returns the administrator's connection string for database db.
func (s *Server) AdminDSN(db string) string {
	if s.Kind == "postgres" {
		return s.DSN("postgres", AdminPassword, db)
	}
	return s.DSN("admin", AdminPassword, db)
}

// Exec runs each statement as the administrator, failing the test on error.
func (s *Server) Exec(t testing.TB, stmts ...string) {
	t.Helper()
	for _, q := range stmts {
		if _, err := s.admin.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %s: %v", s.Kind, q, err)
		}
	}
}

// ExecScript runs a script of statements, each ending with a ';' at the
// end of a line, on db; "--" comment lines are dropped. It is enough for
// the seed files of the examples, not a SQL parser.
func ExecScript(t testing.TB, db *sql.DB, script string) {
	t.Helper()
	var stmt strings.Builder
	for _, line := range strings.Split(script, "\n") {
		if trimmed := strings.TrimSpace(line); trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		stmt.WriteString(line + "\n")
		if strings.HasSuffix(strings.TrimSpace(line), ";") {
			if _, err := db.ExecContext(t.Context(), stmt.String()); err != nil {
				t.Fatalf("%s: %v", stmt.String(), err)
			}
			stmt.Reset()
		}
	}
	if strings.TrimSpace(stmt.String()) != "" {
		t.Fatalf("script ends without a ';': %s", stmt.String())
	}
}

// Admin returns the administrator's connection pool (on the server's
// default database), for queries a test checks.
func (s *Server) Admin() *sql.DB { return s.admin }

// Open returns a pool of the administrator's connections to database db,
// closed when the test ends.
func (s *Server) Open(t testing.TB, db string) *sql.DB {
	t.Helper()
	driver := "pgx"
	if s.Kind != "postgres" {
		driver = "mysql"
	}
	pool, err := sql.Open(driver, s.AdminDSN(db))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	return pool
}

// Kill makes the server go away at once, as a crash would: PostgreSQL gets
// an immediate shutdown (SIGQUIT ends every backend), MariaDB a SIGKILL.
// It returns when the server process has exited.
func (s *Server) Kill() {
	sig := syscall.SIGKILL
	if s.Kind == "postgres" {
		sig = syscall.SIGQUIT
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, sig)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
}

// prepare makes the server's directory, owned by the user the server runs
// as, and returns that user's credential (nil when not root).
func (s *Server) prepare(t testing.TB, prefix string) *syscall.Credential {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	s.Dir = dir
	t.Cleanup(func() { os.RemoveAll(dir) }) // runs after the server's stop, registered later
	if os.Geteuid() != 0 {
		return nil
	}
	cred := unprivileged(t)
	if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
		t.Fatal(err)
	}
	return cred
}

// start runs the server in its own process group and registers its stop.
func (s *Server) start(t testing.TB, cred *syscall.Credential, name string, args ...string) {
	t.Helper()
	s.log = filepath.Join(s.Dir, "server.log")
	logf, err := os.Create(s.log)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(name, args...)
	cmd.Dir = s.Dir
	cmd.Stdout, cmd.Stderr = logf, logf
	// Pdeathsig: a test binary killed before its cleanup (a go test
	// -timeout panic, say) takes its servers with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		if s.admin != nil {
			s.admin.Close()
		}
		// PostgreSQL and MariaDB both shut down cleanly on SIGTERM.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-s.done
		}
	})
}

// connect waits until the server takes the administrator's connection.
func (s *Server) connect(t testing.TB, ctx context.Context, driver, dsn string) {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(2)
	for {
		err = db.PingContext(ctx)
		if err == nil {
			s.admin = db
			return
		}
		select {
		case <-s.done:
			db.Close()
			t.Fatalf("%s exited while starting: %v\n%s", s.Kind, err, tail(s.log))
		case <-ctx.Done():
			db.Close()
			t.Fatalf("%s not up within %s: %v\n%s", s.Kind, StartTimeout, err, tail(s.log))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// run runs one setup command to its end, as cred's user.
func run(t testing.TB, ctx context.Context, cred *syscall.Credential, dir, name string, args ...string) {
	t.Helper()
	if out, err := runErr(ctx, cred, dir, name, args...); err != nil {
		t.Fatalf("%s: %v\n%s", filepath.Base(name), err, out)
	}
}

// runErr runs a program to its end in dir as cred and returns its output.
func runErr(ctx context.Context, cred *syscall.Credential, dir, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	return cmd.CombinedOutput()
}

// unprivileged returns the credential of the user servers run as when the
// test runs as root: nobody (PostgreSQL refuses to run as root).
func unprivileged(t testing.TB) *syscall.Credential {
	t.Helper()
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Fatalf("running as root, the servers need the unprivileged user nobody: %v", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

func writeOwned(t testing.TB, path, text string, cred *syscall.Credential) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if cred != nil {
		if err := os.Chown(path, int(cred.Uid), int(cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// postgresBin returns the directory of initdb and postgres: the newest
// /usr/lib/postgresql/<version>/bin, else the one of initdb on PATH.
func postgresBin(t testing.TB) string {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return version(b) - version(a) })
	for _, d := range dirs {
		if executable(filepath.Join(d, "initdb")) && executable(filepath.Join(d, "postgres")) {
			return d
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil && executable(filepath.Join(filepath.Dir(p), "postgres")) {
		return filepath.Dir(p)
	}
	missing(t, "PostgreSQL server binaries (initdb, postgres)", "apt-get install -y postgresql-15")
	return ""
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// mariadbBins returns mariadb-install-db and mariadbd.
func mariadbBins(t testing.TB) (string, string) {
	t.Helper()
	find := func(name string, dirs ...string) string {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		for _, d := range dirs {
			if p := filepath.Join(d, name); executable(p) {
				return p
			}
		}
		return ""
	}
	installDB := find("mariadb-install-db", "/usr/bin", "/usr/local/bin")
	mariadbd := find("mariadbd", "/usr/sbin", "/usr/local/sbin")
	if installDB == "" || mariadbd == "" {
		missing(t, "MariaDB server binaries (mariadb-install-db, mariadbd)", "apt-get install -y mariadb-server")
	}
	return installDB, mariadbd
}

func executable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// missing skips the test naming what to install, or fails it under CI.
func missing(t testing.TB, what, install string) {
	t.Helper()
	msg := fmt.Sprintf("%s not found; install them (%s) to run this test", what, install)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: a missing server fails)")
	}
	t.Skip(msg)
}

// tail returns the end of a log file, for a failure message.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return strings.TrimSpace(string(b))
}
