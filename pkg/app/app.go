// Package app is keysync's command line: one file per command group, each a
// *cli.Command. Commands find the config and the database through one shared
// helper and return errors; ExitCode maps an error to the documented exit code.
package app

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/keysync/keysync/pkg/config"
	"github.com/keysync/keysync/pkg/sqlite"
)

// Env is what the commands need from the outside world; tests replace it.
type Env struct {
	Stdout io.Writer
	Stderr io.Writer
	// Now is the clock of every timestamp written; nil means time.Now.
	Now func() time.Time
}

// New builds the keysync command line.
func New(env Env) *cli.App {
	if env.Now == nil {
		env.Now = time.Now
	}
	a := &cli.App{
		Name:    "keysync",
		Usage:   "reconcile index keys of an authority and its peer systems",
		Version: versionInfo().Version,
		Description: `keysync pulls the index keys of an authoritative system (A) and its peers,
normalizes them, stages them in a SQLite file and finds, with SQL anti-joins,
the keys missing in A (proposing master keys), the keys of A missing from
each peer, and duplicates. It never writes back to the sources.

Exit codes:
  0  success
  1  the run failed (source, database or I/O error)
  2  usage or configuration error; unknown key or disallowed transition
  3  another keysync run holds the database
  4  a safety guard blocked the run (on by default, see safety: in the config;
     --force overrides)
  5  findings present and --fail-on-findings given`,
		Writer:         env.Stdout,
		ErrWriter:      env.Stderr,
		ExitErrHandler: func(*cli.Context, error) {}, // main maps errors to exit codes
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return usageErrorf("%v", err)
		},
		// --version is keysync's own flag, printing what `keysync version` does.
		HideVersion:          true,
		EnableBashCompletion: true,
		Flags:                append(append(logFlags(), dbFlags()...), versionFlag()),
		Before:               checkLogFormat,
		Action: func(c *cli.Context) error {
			if c.Bool("version") {
				return printVersion(env.Stdout)
			}
			if c.NArg() > 0 {
				return unknownCommand(nil, c.App.Commands, c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
		Commands: commands(env),
	}
	setUsageErrors(a.Commands, a.OnUsageError)
	addLogFlags(a.Commands)
	return a
}

// logFlags choose how a command logs. They are accepted before the command
// (keysync --quiet sync) and after it (keysync sync --quiet, which is what
// ./run.sh --quiet passes on).
func logFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "log-format", Value: "text", Usage: "log format on stderr: text or json"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "log warnings and errors only"},
		&cli.BoolFlag{Name: "verbose", Usage: "log debug detail"},
	}
}

// addLogFlags gives every command that runs something the log flags too.
func addLogFlags(cmds []*cli.Command) {
	for _, c := range cmds {
		if c.Action != nil {
			c.Flags = append(c.Flags, logFlags()...)
			if c.Before == nil {
				c.Before = checkLogFormat
			}
		}
		addLogFlags(c.Subcommands)
	}
}

func checkLogFormat(c *cli.Context) error {
	switch f := logFormat(c); f {
	case "text", "json":
		return nil
	default:
		return usageErrorf("--log-format: %q is not text or json", f)
	}
}

// flagSet reports whether the bool flag name is on, given before or after
// the command: urfave/cli reads a flag from the nearest command defining it,
// set or not, so each level is asked in turn.
func flagSet(c *cli.Context, name string) bool {
	for _, cc := range c.Lineage() {
		if cc.IsSet(name) && cc.Bool(name) {
			return true
		}
	}
	return false
}

// logFormat is --log-format from the nearest level that sets it.
func logFormat(c *cli.Context) string {
	for _, cc := range c.Lineage() {
		if cc.IsSet("log-format") {
			return cc.String("log-format")
		}
	}
	return "text"
}

// setUsageErrors gives every command the app's usage-error handler: urfave/cli
// returns a subcommand's flag error unchanged otherwise, and it must exit 2.
func setUsageErrors(cmds []*cli.Command, h cli.OnUsageErrorFunc) {
	for _, c := range cmds {
		if c.OnUsageError == nil {
			c.OnUsageError = h
		}
		setUsageErrors(c.Subcommands, h)
	}
}

// dbFlags are accepted by every command, before or after it: where the
// config and the database are. A flag wins over its environment variable,
// which wins over the default.
func dbFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Value: "keysync-config.yaml", EnvVars: []string{"KEYSYNC_CONFIG"},
			Usage: "the config `FILE`"},
		&cli.StringFlag{Name: "db", EnvVars: []string{"KEYSYNC_DB"}, Usage: "the database `PATH` (overrides the config's database)"},
	}
}

// logger builds the one logger of a command from the global flags.
func logger(c *cli.Context, w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	if flagSet(c, "quiet") {
		level = slog.LevelWarn
	}
	if flagSet(c, "verbose") {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: durationsInMs}
	if logFormat(c) == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// durationsInMs writes every duration a log line carries as whole
// milliseconds under a name ending _ms ("took" becomes took_ms=12), so that
// text and JSON logs read the same and a log query can compare numbers.
func durationsInMs(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		return slog.Int64(strings.TrimSuffix(a.Key, "_ms")+"_ms", a.Value.Duration().Milliseconds())
	}
	return a
}

// loadConfig reads the config named by --config.
func loadConfig(c *cli.Context) (*config.Config, error) {
	path := c.String("config")
	cfg, err := config.Load(path)
	if err != nil && errors.Is(err, fs.ErrNotExist) {
		// Where keysync looked, and how to point it elsewhere: the config
		// is the one file an operator must name right.
		abs, aerr := filepath.Abs(path)
		if aerr != nil {
			abs = path
		}
		return nil, usageErrorf("no config at %s: give --config FILE, or set KEYSYNC_CONFIG (`keysync gen --out DIR` writes an example)", abs)
	}
	return cfg, err
}

// store is an open database for one command, with the run lock when it writes.
type store struct {
	*sqlite.DB
	lock *sqlite.Lock
}

func (s *store) Close() error {
	err := s.DB.Close()
	if lerr := s.lock.Release(); err == nil {
		err = lerr
	}
	return err
}

// databasePath is --db when given, else the config's database.
func databasePath(c *cli.Context) (string, error) {
	if p := c.String("db"); p != "" {
		return p, nil
	}
	cfg, err := loadConfig(c)
	if err != nil {
		return "", err
	}
	return cfg.Database, nil
}

// openForReading opens path for a reading command. It takes the run lock
// only when a migration is pending — a brief lock on every read would make a
// sync starting at that moment exit 3 — and, when a sync holds the lock,
// reads without migrating.
func openForReading(ctx context.Context, path string) (*sqlite.DB, error) {
	db, err := sqlite.OpenWithoutMigrating(ctx, path)
	if err != nil {
		return nil, err
	}
	pending, err := db.HasPending(ctx)
	if err != nil || !pending {
		return db, nil // a schema we cannot read is reported by the query itself
	}
	l, err := sqlite.Acquire(path)
	if err != nil {
		return db, nil // a sync holds the lock and migrates
	}
	defer l.Release()
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// openFromFlags opens the database named by --db or the config for one
// command. A missing database is refused, never created: only sync (at the
// config's own path) and db init create one.
func openFromFlags(c *cli.Context, env Env, write bool) (*store, error) {
	path, err := databasePath(c)
	if err != nil {
		return nil, err
	}
	if err := requireDB(c, path); err != nil {
		return nil, err
	}
	return openStore(c.Context, env, logger(c, env.Stderr), path, write)
}

// openStore opens the existing database a command works on. A writing
// command takes the run lock, so it never interleaves with a sync, but only
// once the file has passed the checks of opening it (a keysync database, a
// schema this keysync knows): a refused file never gets a .lock beside it. A
// reading command never holds the lock but to apply a pending migration
// (openForReading).
func openStore(ctx context.Context, env Env, log *slog.Logger, path string, write bool) (*store, error) {
	s := &store{}
	var db *sqlite.DB
	var err error
	if write {
		if db, err = sqlite.OpenWithoutMigrating(ctx, path); err != nil {
			return nil, err
		}
		if s.lock, err = sqlite.Acquire(path); err != nil {
			db.Close()
			return nil, err
		}
		// Under the lock: no other keysync is migrating now.
		if err = db.Migrate(ctx); err != nil {
			db.Close()
			s.lock.Release()
			return nil, err
		}
	} else if db, err = openForReading(ctx, path); err != nil {
		return nil, err
	}
	db.Now = env.Now
	db.Log = log
	s.DB = db
	return s, nil
}

// osUser is the operator recorded on manual registry changes by default.
func osUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "unknown"
}
