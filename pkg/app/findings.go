package app

import (
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/sqlite"
)

// findingKinds are the values of --kind, in the order the help lists them.
var findingKinds = []keysync.FindingKind{
	keysync.KindMissingInA, keysync.KindMissingFromSystem, keysync.KindDuplicate, keysync.KindMasterKeyConflict,
}

// parseFindingKind checks --kind: empty (every kind) or one of findingKinds.
func parseFindingKind(s string) (keysync.FindingKind, error) {
	if s == "" {
		return "", nil
	}
	for _, k := range findingKinds {
		if string(k) == s {
			return k, nil
		}
	}
	names := make([]string, len(findingKinds))
	for i, k := range findingKinds {
		names[i] = string(k)
	}
	return "", usageErrorf("--kind: %q is not %s", s, strings.Join(names, ", "))
}

func findingsCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:  "findings",
		Usage: "list the findings of a run: keys missing in A, missing from a system, duplicates, conflicts",
		Description: `Lists the findings of one run (default: the latest normal run that
succeeded: the run whose reports the output directory holds; a dry run's
findings through --run), by kind, system and key. A finding is a row of diff_missing_in_A.csv,
diff_missing_from_system.csv or exceptions.csv; the fields are the reports'
(run_id, kind, system, key, source_key, master_key, status, entity_type,
location_ref, last_seen_at, count, detail), empty where a kind has none.

--kind is missing_in_A, missing_from_system, duplicate or master_key_conflict.
--system matches the source name case-insensitively and must be a system of
the run. --key is normalized with the config's rules, as sync does, and
matches a finding's key or master key; when nothing matches the normalized
key, the exact text is tried (a namespaced master key). A failed or blocked run has no findings: asking for one exits 2.

Examples:
  keysync findings
  keysync findings --kind missing_in_A --system B
  keysync findings --key inv_42
  keysync findings --run 41 --kind duplicate --format csv > dups-41.csv
  keysync findings --format json | jq '.[] | select(.status == "Proposed") | .master_key'`,
		Flags: append(dbFlags(),
			historyRunFlag("the run `ID` (default: the latest succeeded normal run)"),
			&cli.StringFlag{Name: "kind", Usage: "only findings of `KIND`"},
			&cli.StringFlag{Name: "system", Usage: "only findings of `SYSTEM`"},
			&cli.StringFlag{Name: "key", Usage: "only findings of `KEY` (normalized with the config's rules; a master key as typed)"},
			formatFlag(),
		),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("findings takes no arguments, got %q", c.Args().Slice())
			}
			kind, err := parseFindingKind(c.String("kind"))
			if err != nil {
				return err
			}
			h, err := openHistory(c, env)
			if err != nil {
				return err
			}
			defer h.Close()
			run, ok, err := h.runWithFindings(c, "findings")
			if err != nil {
				return err
			}
			if !ok {
				h.log.Info("no run has succeeded yet: run `keysync sync` first", "database", h.Path())
				if h.format == "table" {
					return nil
				}
				return writeRows(env.Stdout, h.format, []sqlite.Finding{})
			}
			system := c.String("system")
			if system != "" {
				if err := h.checkSystem(c, run.RunID, system); err != nil {
					return err
				}
			}
			rows, err := h.r.Findings(c.Context, sqlite.FindingFilter{RunID: run.RunID, Kind: kind, System: system})
			if err != nil {
				return err
			}
			if c.IsSet("key") {
				if rows, err = findingsOfKey(c, rows, c.String("key")); err != nil {
					return err
				}
			}
			if len(rows) == 0 && h.format == "table" {
				h.log.Info("no findings", "run_id", run.RunID, "kind", kind, "system", system)
				return nil
			}
			return writeRows(env.Stdout, h.format, rows)
		},
	}
}

// checkSystem refuses a --system that run did not reconcile, naming the
// systems it did, so a typo does not read as "no findings".
func (h *historyDB) checkSystem(c *cli.Context, runID int64, system string) error {
	systems, err := h.r.RunSystems(c.Context, runID)
	if err != nil {
		return err
	}
	names := make([]string, len(systems))
	for i, s := range systems {
		if strings.EqualFold(s.System, system) {
			return nil
		}
		names[i] = s.System
	}
	return usageErrorf("--system: run %d has no system %q (its systems: %s)", runID, system, strings.Join(names, ", "))
}

// findingsOfKey keeps the rows whose key or master key is raw normalized with
// the config's rules or, when none is, raw as typed.
func findingsOfKey(c *cli.Context, rows []sqlite.Finding, raw string) ([]sqlite.Finding, error) {
	norm, err := keyNormalizer(c)
	if err != nil {
		return nil, err
	}
	for _, k := range []string{norm(raw), raw} {
		var kept []sqlite.Finding
		for _, f := range rows {
			if k != "" && (f.Key == k || f.MasterKey == k) {
				kept = append(kept, f)
			}
		}
		if len(kept) > 0 {
			return kept, nil
		}
	}
	return []sqlite.Finding{}, nil
}
