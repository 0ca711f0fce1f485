package app

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/keysync/keysync/pkg/sqlite"
)

func cronCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:  "cron",
		Usage: "print a crontab line that runs keysync sync for this config",
		Description: `Prints a ready crontab line with absolute paths: this binary, the config,
and a log file (default: keysync.log beside the config) that receives the
JSON logs (stdout's summary is dropped; the run's numbers are in its
"run succeeded" log line and in the database). The time fields
come from the config's schedule (02:00 nightly when it has none). A
schedule of the form @every … has no crontab equivalent: use
keysync schedule for it. Under go run the binary is a temporary file in Go's
build cache: cron warns, and the line is only good once you build one that
stays (go build -o bin/keysync ./cmd/keysync) or use ./run.sh.

Examples:
  keysync cron --config /etc/keysync/keysync-config.yaml
  (crontab -l; keysync cron --config keysync-config.yaml) | crontab -`,
		Flags: append(dbFlags(),
			&cli.StringFlag{Name: "log", Usage: "the log `FILE` the job appends to"},
		),
		Action: func(c *cli.Context) error {
			cfg, err := loadConfig(c)
			if err != nil {
				return err
			}
			if p := c.String("db"); p != "" {
				// The nightly sync refuses a --db naming no database (exit
				// 2): say so now. A directory can never work; a missing file
				// may be created after the crontab is (db init), so it only
				// warns. Without --db the config's database may not exist
				// yet: its first sync creates it.
				if err := requireDB(c, p); err != nil {
					var dir *sqlite.NotKeysyncError
					if errors.As(err, &dir) {
						return err
					}
					logger(c, env.Stderr).Warn("the crontab line's sync will exit 2 until the database exists", "error", err.Error())
				}
			}
			spec := cfg.Schedule
			if spec == "" {
				spec = "0 2 * * *"
			}
			if strings.HasPrefix(spec, "@every") {
				return usageErrorf("cron: schedule %q has no crontab form; run `keysync schedule` instead", spec)
			}
			bin, err := os.Executable()
			if err != nil {
				return fmt.Errorf("cron: find this binary: %w", err)
			}
			if resolved, err := filepath.EvalSymlinks(bin); err == nil {
				bin = resolved
			}
			if temporaryBinary(bin) {
				logger(c, env.Stderr).Warn("this binary is a temporary file of go run, deleted when it exits: the crontab line "+
					"would fail; build one that stays (go build -o bin/keysync ./cmd/keysync, then bin/keysync cron) or schedule ./run.sh",
					"binary", bin)
			}
			logFile := c.String("log")
			if logFile == "" {
				logFile = filepath.Join(cfg.Dir, "keysync.log")
			}
			if logFile, err = filepath.Abs(logFile); err != nil {
				return fmt.Errorf("cron: %w", err)
			}
			args := []string{shellQuote(bin), "--log-format", "json", "sync", "--config", shellQuote(cfg.Path)}
			if p := c.String("db"); p != "" {
				abs, err := filepath.Abs(p)
				if err != nil {
					return fmt.Errorf("cron: %w", err)
				}
				args = append(args, "--db", shellQuote(abs))
			}
			// stdout (the human summary) is dropped so the log holds only
			// JSON lines; the run's numbers are in its "run succeeded" line.
			line := fmt.Sprintf("%s %s >/dev/null 2>>%s", spec, strings.Join(args, " "), shellQuote(logFile))
			// cron turns an unescaped % into a newline, even inside quotes.
			fmt.Fprintln(env.Stdout, strings.ReplaceAll(line, "%", `\%`))
			return nil
		},
	}
}

// shellQuote quotes s for /bin/sh when it has anything but safe characters.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+=:@", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// temporaryBinary reports whether bin is the executable go run builds in a
// temporary go-build directory and deletes when it exits.
func temporaryBinary(bin string) bool {
	for _, dir := range strings.Split(filepath.ToSlash(filepath.Dir(bin)), "/") {
		if strings.HasPrefix(dir, "go-build") {
			return true
		}
	}
	return false
}
