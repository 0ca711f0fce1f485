package app

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/sqlite"
)

func registryCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:  "registry",
		Usage: "list, show and export master keys, and approve or deprecate them",
		Subcommands: []*cli.Command{
			registryListCommand(env),
			registryShowCommand(env),
			registryExportCommand(env),
			registryTransitionCommand(env, "approve", keysync.StatusActive,
				"promote Proposed master keys to Active",
				`Examples:
  keysync registry approve CUST-00347696 cust_311971
  keysync registry approve CUST-00347696 --reason "checked with team B" --by alice
  keysync registry approve --all-proposed --config /etc/keysync/keysync-config.yaml`),
			registryTransitionCommand(env, "deprecate", keysync.StatusDeprecated,
				"retire Proposed or Active master keys",
				`Examples:
  keysync registry deprecate AST-EU-00008450 --reason "typo in C's export"`),
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
			if c.NArg() > 0 {
				return usageErrorf("registry list takes no arguments, got %q", c.Args().Slice())
			}
			status, err := parseStatus(c.String("status"))
			if err != nil {
				return err
			}
			format, err := outputFormat(c, env)
			if err != nil {
				return err
			}
			s, err := openFromFlags(c, env, false)
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
			if len(entries) == 0 && format == "table" {
				fmt.Fprintln(env.Stderr, "no master keys match")
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
		Name:      name,
		Usage:     usage,
		ArgsUsage: "KEY...",
		Description: `All keys change in one transaction, or none does; each change is one audit event.
A KEY is normalized with the config's rules, as sync does, so any spelling of
it works; a key that is not in the registry normalized (a namespaced key) is
looked up exactly as typed.

` + examples,
		Flags: flags,
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
			s, err := openFromFlags(c, env, true)
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
				if len(keys) == 0 {
					fmt.Fprintln(env.Stderr, "no Proposed master keys to approve")
					return nil
				}
			}
			if !all {
				resolved, missing, err := masterKeys(c.Context, c, s.Reader(), keys)
				if err != nil {
					return err
				}
				if len(missing) > 0 {
					return usageErrorf("registry %s: master key %s is not in the registry", name, missing[0])
				}
				keys = resolved
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

// parseStatus reads --status: a registry status in any case, or empty for all.
func parseStatus(s string) (keysync.Status, error) {
	for _, st := range []keysync.Status{keysync.StatusProposed, keysync.StatusActive, keysync.StatusDeprecated} {
		if strings.EqualFold(s, string(st)) {
			return st, nil
		}
	}
	if s == "" {
		return "", nil
	}
	return "", usageErrorf("--status: %q is not Proposed, Active or Deprecated", s)
}

func registryShowCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:      "show",
		Usage:     "show one master key: its registry row, who reported it, and its audit history",
		ArgsUsage: "KEY",
		Description: `Shows the registry row of the master key KEY; every kept diff_missing_in_A
finding that proposed it (run, mode, system and that system's raw key; the
findings of pruned runs are gone); and every audit event whose payload names
it (proposed, approved, deprecated: from, to, by and reason).
Only the newest --last findings (default 10; 0: all) are listed, with a
count of the older ones (older_findings in JSON).
KEY is normalized with the config's rules, as sync does, so any spelling of
it works; a key that is not in the registry normalized (a namespaced key) is
looked up exactly as typed. An unknown key exits 2.

Examples:
  keysync registry show CUST-00311971
  keysync registry show --last 0 inv_42
  keysync registry show A-B-CUST-00311971 --format json | jq .history`,
		Flags: append(dbFlags(),
			&cli.StringFlag{Name: "format", Value: "table", Usage: "output `FORMAT`: table or json"},
			&cli.IntFlag{Name: "last", Value: 10, Usage: "show the newest `N` findings that reported the key (0: all)"},
		),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("registry show: name one master key, got %d arguments", c.NArg())
			}
			format := c.String("format")
			if format != "table" && format != "json" {
				return usageErrorf("--format: %q is not table or json", format)
			}
			last := c.Int("last")
			if last < 0 {
				return usageErrorf("--last: %d is negative (0 shows every finding)", last)
			}
			s, err := openFromFlags(c, env, false)
			if err != nil {
				return err
			}
			defer s.Close()
			r := s.Reader()
			keys, missing, err := masterKeys(c.Context, c, r, c.Args().Slice())
			if err != nil {
				return err
			}
			if len(missing) > 0 {
				return usageErrorf("registry show: master key %s is not in the registry", missing[0])
			}
			key := keys[0]
			entry, _, err := r.MasterKey(c.Context, key)
			if err != nil {
				return err
			}
			d := keyDetail{RegistryEntry: entry}
			if d.ReportedBy, err = r.KeyReports(c.Context, key); err != nil {
				return err
			}
			if last > 0 && len(d.ReportedBy) > last {
				d.Older = len(d.ReportedBy) - last
				d.ReportedBy = d.ReportedBy[d.Older:]
			}
			if d.History, err = r.KeyHistory(c.Context, key); err != nil {
				return err
			}
			if format == "json" {
				enc := json.NewEncoder(env.Stdout)
				enc.SetEscapeHTML(false)
				enc.SetIndent("", "  ")
				return enc.Encode(d)
			}
			return d.writeTable(env)
		},
	}
}

// keyDetail is everything `registry show` says about one master key.
type keyDetail struct {
	keysync.RegistryEntry
	ReportedBy []sqlite.KeyReport `json:"reported_by"`
	// Older counts the findings --last left out, the oldest ones.
	Older   int                  `json:"older_findings"`
	History []keysync.AuditEvent `json:"history"`
}

// historyRow is one audit event of a master key with its payload spread out.
type historyRow struct {
	EventID   int64              `csv:"event_id"`
	RunID     keysync.OptionalID `csv:"run_id"`
	EventType keysync.EventType  `csv:"event_type"`
	From      string             `csv:"from"`
	To        string             `csv:"to"`
	By        string             `csv:"by"`
	Reason    string             `csv:"reason"`
	CreatedAt string             `csv:"created_at"`
}

func (d keyDetail) writeTable(env Env) error {
	w := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	e := d.RegistryEntry
	for _, f := range [][2]string{
		{"master_key", e.MasterKey}, {"status", string(e.Status)},
		{"source_system", e.SourceSystem}, {"source_key", e.SourceKey},
		{"created_at", e.CreatedAt}, {"updated_at", e.UpdatedAt},
	} {
		fmt.Fprintf(w, "%s\t%s\n", f[0], f[1])
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "\nreported missing in A (%s):\n", showCount(len(d.ReportedBy)+d.Older, "finding"))
	if len(d.ReportedBy) == 0 {
		fmt.Fprintln(env.Stdout, "  none kept (keysync prune removes the findings of old runs)")
	} else if err := writeTable(env.Stdout, d.ReportedBy); err != nil {
		return err
	}
	if d.Older > 0 {
		fmt.Fprintf(env.Stdout, "  … and %s (--last 0 shows them)\n", showCount(d.Older, "older finding"))
	}
	fmt.Fprintf(env.Stdout, "\naudit history (%s):\n", showCount(len(d.History), "event"))
	rows := make([]historyRow, 0, len(d.History))
	for _, ev := range d.History {
		var p keysync.KeyChange
		_ = json.Unmarshal([]byte(ev.Payload), &p) // a payload without these fields shows them empty
		rows = append(rows, historyRow{EventID: ev.EventID, RunID: ev.RunID, EventType: ev.EventType,
			From: p.From, To: p.To, By: p.By, Reason: p.Reason, CreatedAt: ev.CreatedAt})
	}
	return writeTable(env.Stdout, rows)
}

// showCount is "1 finding", "2 findings".
func showCount(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func registryExportCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:  "export",
		Usage: "export the crosswalk: master_key, system, source_key, status",
		Description: `Writes one row per master key and system that reported it, by master key and
system: the key each system knows the master key by, and the key's status.

A system's source_key is its raw key in its newest report of the master key
(a diff_missing_in_A row of a succeeded run; dry runs are left out, as they
change nothing). The proposing system of the registry row is always listed,
with the registry's source_key once its reports are pruned. Conflicts are not
in the registry and never appear. CSV unless --format says otherwise.

Examples:
  keysync registry export > crosswalk.csv
  keysync registry export --format json --config /etc/keysync/keysync-config.yaml`,
		Flags: append(dbFlags(),
			&cli.StringFlag{Name: "format", Value: "csv", Usage: "output `FORMAT`: csv, json or table"},
		),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("registry export takes no arguments, got %q", c.Args().Slice())
			}
			format := c.String("format")
			switch format {
			case "csv", "json", "table":
			default:
				return usageErrorf("--format: %q is not csv, json or table", format)
			}
			s, err := openFromFlags(c, env, false)
			if err != nil {
				return err
			}
			defer s.Close()
			rows, err := s.Reader().Crosswalk(c.Context)
			if err != nil {
				return err
			}
			if len(rows) == 0 {
				fmt.Fprintln(env.Stderr, "the registry is empty: nothing to export")
			}
			return writeRows(env.Stdout, format, rows)
		},
	}
}
