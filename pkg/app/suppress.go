package app

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/keysync/keysync/pkg/normalize"
	"github.com/keysync/keysync/pkg/sqlite"
)

func suppressCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:  "suppress",
		Usage: "record known exceptions that runs count but no longer report",
		Description: `A suppression silences the findings of one key in one system — missing in
A, missing from the system, or duplicated in it — until it is removed or its
--until date passes. Suppressed findings are counted in the summary's
suppressed column. The key is normalized with the config's rules, so any
spelling of it works. --until is the last day it holds (YYYY-MM-DD, shown
so by list) or an RFC 3339 time; one that has passed is refused (exit 2).
Every change is audited.

Examples:
  keysync suppress add --reason "retired in B, kept in A for audits" --until 2027-01-31 B INV-2023-0001
  keysync suppress list
  keysync suppress remove B INV-2023-0001`,
		Subcommands: []*cli.Command{
			{
				Name:      "add",
				Usage:     "suppress the findings of KEY in SYSTEM",
				ArgsUsage: "SYSTEM KEY",
				Flags: append(dbFlags(),
					&cli.StringFlag{Name: "reason", Usage: "why (required)"},
					&cli.StringFlag{Name: "until", Usage: "last `DATE` it holds (YYYY-MM-DD, inclusive, or RFC 3339); default: until removed"},
					&cli.StringFlag{Name: "by", Usage: "who (default: the OS user)"},
				),
				Action: func(c *cli.Context) error {
					system, key, err := suppressArgs(c)
					if err != nil {
						return err
					}
					reason := strings.TrimSpace(c.String("reason"))
					if reason == "" {
						return usageErrorf("suppress add: --reason is required")
					}
					until, err := parseUntil(c.String("until"), env.Now())
					if err != nil {
						return err
					}
					s, err := openFromFlags(c, env, true)
					if err != nil {
						return err
					}
					defer s.Close()
					got, err := s.AddSuppression(c.Context, sqlite.Suppression{
						System: system, Key: key, Reason: reason, CreatedBy: byOrUser(c), Until: until})
					if err != nil {
						return err
					}
					fmt.Fprintf(env.Stdout, "suppressed\t%s\t%s\n", got.System, got.Key)
					return nil
				},
			},
			{
				Name:  "list",
				Usage: "list the suppressions",
				Flags: append(dbFlags(), formatFlag()),
				Action: func(c *cli.Context) error {
					format, err := outputFormat(c, env)
					if err != nil {
						return err
					}
					s, err := openFromFlags(c, env, false)
					if err != nil {
						return err
					}
					defer s.Close()
					list, err := s.Reader().Suppressions(c.Context)
					if err != nil {
						return err
					}
					for i := range list {
						list[i].Until = showUntil(list[i].Until)
					}
					return writeRows(env.Stdout, format, list)
				},
			},
			{
				Name:      "remove",
				Usage:     "remove the suppression of KEY in SYSTEM",
				ArgsUsage: "SYSTEM KEY",
				Flags: append(dbFlags(),
					&cli.StringFlag{Name: "by", Usage: "who (default: the OS user)"},
				),
				Action: func(c *cli.Context) error {
					system, key, err := suppressArgs(c)
					if err != nil {
						return err
					}
					s, err := openFromFlags(c, env, true)
					if err != nil {
						return err
					}
					defer s.Close()
					if err := s.RemoveSuppression(c.Context, system, key, byOrUser(c)); err != nil {
						if errors.Is(err, sqlite.ErrNoSuppression) {
							return usageErrorf("%v", err)
						}
						return err
					}
					fmt.Fprintf(env.Stdout, "removed\t%s\t%s\n", system, key)
					return nil
				},
			},
		},
	}
}

// suppressArgs reads SYSTEM KEY, checks SYSTEM against the config's sources
// and normalizes KEY with its rules.
func suppressArgs(c *cli.Context) (system, key string, err error) {
	if c.NArg() != 2 {
		return "", "", usageErrorf("%s: give SYSTEM and KEY, got %d arguments", c.Command.FullName(), c.NArg())
	}
	system, raw := c.Args().Get(0), c.Args().Get(1)
	// The config is needed even with --db: it names the systems and holds
	// the normalization rules, without which the key could never match.
	cfg, err := loadConfig(c)
	if err != nil {
		return "", "", err
	}
	name, ok := "", false
	for n := range cfg.Sources {
		if strings.EqualFold(n, system) {
			name, ok = n, true
		}
	}
	if !ok {
		return "", "", usageErrorf("%s: %q is not a source of %s", c.Command.FullName(), system, cfg.Path)
	}
	system = name
	key = normalize.New(cfg.Normalize).Key(raw)
	if key == "" {
		return "", "", usageErrorf("%s: key %q is empty after normalization", c.Command.FullName(), raw)
	}
	return system, key, nil
}

func byOrUser(c *cli.Context) string {
	if by := c.String("by"); by != "" {
		return by
	}
	return osUser()
}

// parseUntil reads --until: a date (the whole day counts, so it ends at the
// next midnight UTC) or an RFC 3339 time; stored as RFC 3339 UTC. A time
// that has passed at now is refused: the suppression would never hold.
func parseUntil(s string, now time.Time) (string, error) {
	if s == "" {
		return "", nil
	}
	var end time.Time
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		end = d.AddDate(0, 0, 1)
	} else if t, err := time.Parse(time.RFC3339, s); err == nil {
		end = t
	} else {
		return "", usageErrorf("--until: %q is not a date (YYYY-MM-DD) or RFC 3339 time", s)
	}
	if !end.After(now) {
		return "", usageErrorf("--until: %s is in the past (now %s): the suppression would never hold", s, sqlite.FormatTime(now))
	}
	return sqlite.FormatTime(end), nil
}

// showUntil is a stored until as suppress add was given it: a date for the
// midnight that ends the day given (2027-01-31 is stored as
// 2027-02-01T00:00:00Z), any other time as stored.
func showUntil(stored string) string {
	t, err := time.Parse(time.RFC3339, stored)
	if err != nil || !t.Equal(t.Truncate(24*time.Hour)) {
		return stored
	}
	return t.AddDate(0, 0, -1).Format(time.DateOnly)
}
