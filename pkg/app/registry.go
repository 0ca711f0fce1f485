package app

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/sqlite"
)

func registryCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:  "registry",
		Usage: "list master keys, and approve or deprecate them",
		Subcommands: []*cli.Command{
			registryListCommand(env),
			registryTransitionCommand(env, "approve", keysync.StatusActive,
				"promote Proposed master keys to Active",
				`Examples:
  keysync registry approve INV-00000042 SKU-7
  keysync registry approve --reason "checked with team B" --by alice INV-00000042
  keysync registry approve --all-proposed --config /etc/keysync/keysync-config.yaml`),
			registryTransitionCommand(env, "deprecate", keysync.StatusDeprecated,
				"retire Proposed or Active master keys",
				`Examples:
  keysync registry deprecate --reason "typo in B's export" INV-00000042`),
		},
	}
}

func registryListCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list the master key registry",
		Description: `Examples:
  keysync registry list
  keysync registry list --status Proposed --format csv > proposed.csv
  keysync registry list --system B --format json`,
		Flags: append(dbFlags(),
			&cli.StringFlag{Name: "status", Usage: "only keys in `STATUS` (Proposed, Active, Deprecated)"},
			&cli.StringFlag{Name: "system", Usage: "only keys proposed by `SYSTEM`"},
			formatFlag(),
		),
		Action: func(c *cli.Context) error {
			status := keysync.Status(c.String("status"))
			switch status {
			case "", keysync.StatusProposed, keysync.StatusActive, keysync.StatusDeprecated:
			default:
				return usageErrorf("--status: %q is not Proposed, Active or Deprecated", status)
			}
			format, err := outputFormat(c, env)
			if err != nil {
				return err
			}
			path, err := databasePath(c)
			if err != nil {
				return err
			}
			s, err := openStore(c.Context, env, logger(c, env.Stderr), path, false)
			if err != nil {
				return err
			}
			defer s.Close()
			entries, err := s.Reader().Registry(c.Context, status)
			if err != nil {
				return err
			}
			if sys := c.String("system"); sys != "" {
				kept := entries[:0]
				for _, e := range entries {
					if strings.EqualFold(e.SourceSystem, sys) {
						kept = append(kept, e)
					}
				}
				entries = kept
			}
			return writeRows(env.Stdout, format, entries)
		},
	}
}

func registryTransitionCommand(env Env, name string, to keysync.Status, usage, examples string) *cli.Command {
	flags := append(dbFlags(),
		&cli.StringFlag{Name: "reason", Usage: "why, recorded in the audit event"},
		&cli.StringFlag{Name: "by", Usage: "who, recorded in the audit event (default: the OS user)"},
	)
	if to == keysync.StatusActive {
		flags = append(flags, &cli.BoolFlag{Name: "all-proposed", Usage: "approve every Proposed master key"})
	}
	return &cli.Command{
		Name:        name,
		Usage:       usage,
		ArgsUsage:   "KEY...",
		Description: "All keys change in one transaction, or none does; each change is one audit event.\n\n" + examples,
		Flags:       flags,
		Action: func(c *cli.Context) error {
			keys := c.Args().Slice()
			all := c.Bool("all-proposed")
			if len(keys) == 0 && !all {
				return usageErrorf("registry %s: name at least one master key", name)
			}
			if len(keys) > 0 && all {
				return usageErrorf("registry %s: give master keys or --all-proposed, not both", name)
			}
			by := c.String("by")
			if by == "" {
				by = osUser()
			}
			path, err := databasePath(c)
			if err != nil {
				return err
			}
			s, err := openStore(c.Context, env, logger(c, env.Stderr), path, true)
			if err != nil {
				return err
			}
			defer s.Close()
			if all {
				proposed, err := s.Reader().Registry(c.Context, keysync.StatusProposed)
				if err != nil {
					return err
				}
				for _, e := range proposed {
					keys = append(keys, e.MasterKey)
				}
			}
			changed, err := s.SetStatus(c.Context, sqlite.Transition{Keys: keys, To: to, By: by, Reason: c.String("reason")})
			if err != nil {
				return fmt.Errorf("registry %s: %w", name, err)
			}
			for _, e := range changed {
				fmt.Fprintf(env.Stdout, "%s\t%s\n", e.MasterKey, e.Status)
			}
			return nil
		},
	}
}
