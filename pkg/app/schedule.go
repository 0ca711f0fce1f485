package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/urfave/cli/v2"

	"github.com/keysync/keysync/pkg/progress"
	"github.com/keysync/keysync/pkg/sqlite"
)

func scheduleCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:  "schedule",
		Usage: "stay running and sync at every tick of the config's schedule",
		Description: `Runs a sync at every tick of the config's schedule: a 5-field cron
expression or a descriptor such as @hourly or @every 10m. It logs the next
run time, skips (and logs) a tick that arrives while a run is still going,
and re-reads the config at every tick. On SIGINT or SIGTERM it stops taking
ticks, cancels the run in progress (rolled back and recorded failed with
errors "interrupted") and exits 0.

Examples:
  keysync schedule --config /etc/keysync/keysync-config.yaml
  keysync --log-format json schedule --config keysync-config.yaml 2>>keysync.log`,
		Flags: syncFlags(),
		Action: func(c *cli.Context) error {
			cfg, err := loadConfig(c)
			if err != nil {
				return err
			}
			if cfg.Schedule == "" {
				return usageErrorf("schedule: the config %s has no schedule", cfg.Path)
			}
			sched, err := cron.ParseStandard(cfg.Schedule)
			if err != nil {
				return usageErrorf("schedule: %q: %v", cfg.Schedule, err)
			}
			// What would fail every tick is refused at once instead.
			if err := checkScheduleDB(c); err != nil {
				return err
			}
			return runSchedule(c, env, sched, cfg.Schedule)
		},
	}
}

// runSchedule ticks until c's context is cancelled. A run never overlaps
// another: a tick during a run is skipped.
func runSchedule(c *cli.Context, env Env, sched cron.Schedule, spec string) error {
	ctx := c.Context
	term := stderrProgress(c, env) // one for the process: its logs and every run's share the screen
	log := logger(c, logWriter(env, term)).With("schedule", spec)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		running bool
	)
	next := sched.Next(env.Now())
	log.Info("scheduler started", "next_run", next.Format(time.RFC3339))
	for {
		timer := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			timer.Stop()
			log.Info("scheduler stopping: waiting for the run in progress to roll back")
			wg.Wait()
			log.Info("scheduler stopped")
			return nil
		case <-timer.C:
		}
		mu.Lock()
		busy := running
		if !busy {
			running = true
		}
		mu.Unlock()
		if busy {
			log.Warn("tick skipped: the previous run is still going", "tick", next.Format(time.RFC3339))
		} else {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { mu.Lock(); running = false; mu.Unlock() }()
				scheduledRun(ctx, c, env, term, log)
			}()
		}
		next = sched.Next(env.Now())
		log.Info("next run", "next_run", next.Format(time.RFC3339))
	}
}

// scheduledRun runs one sync and logs its outcome; a failed run does not stop
// the scheduler.
func scheduledRun(ctx context.Context, c *cli.Context, env Env, term *progress.Terminal, log interface {
	Info(string, ...any)
	Error(string, ...any)
}) {
	res, err := syncOnce(c, env, term)
	switch {
	case err == nil:
		log.Info("scheduled run finished", "run_id", res.RunID, "missing_in_A", res.KPIs.MissingInA,
			"missing_from_system", res.KPIs.MissingFromSystem, "duplicate_keys", res.KPIs.DuplicateKeys)
	case errors.Is(ctx.Err(), context.Canceled):
		log.Info("scheduled run interrupted", "run_id", res.RunID)
	default:
		log.Error("scheduled run failed", "run_id", res.RunID, "exit_code", ExitCode(err), "err", fmt.Sprint(err))
	}
}

// checkScheduleDB refuses, before the first tick, a database every run would
// refuse: a --db typo, a file that is not a keysync database or has a newer
// schema, or a config database whose directory does not exist (sync creates
// the file, never its directory).
func checkScheduleDB(c *cli.Context) error {
	path, err := databasePath(c)
	if err != nil {
		return err
	}
	if c.String("db") != "" {
		if err := requireDB(c, path); err != nil {
			return err
		}
	}
	if _, err := os.Stat(path); err == nil {
		db, err := sqlite.OpenReadOnly(c.Context, path)
		if err != nil {
			return err
		}
		return db.Close()
	}
	if dir := filepath.Dir(path); !isDir(dir) {
		return usageErrorf("schedule: the database's directory %s does not exist (keysync never creates it)", dir)
	}
	return nil
}

// isDir reports whether path is an existing directory.
func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}
