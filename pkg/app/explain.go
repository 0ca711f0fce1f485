package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/normalize"
	"github.com/keysync/keysync/pkg/sqlite"
)

// explainSamples is how many of a system's rows explain shows.
const explainSamples = 10

// explanation is everything `keysync explain` says about one key. Its JSON
// field names are the contract of issue [explain]; fields may be added.
type explanation struct {
	Key   string           `json:"key"`
	Input string           `json:"input"`
	Trace []normalize.Step `json:"trace"`
	// RunID is the run explained; null before any run has succeeded.
	RunID *int64 `json:"run_id"`
	// Staged says whether the run's staging files were still there: only
	// then are presence, row counts and samples read from its rows, and
	// pending known. Otherwise they are deduced from its findings.
	Staged     bool                     `json:"samples_available"`
	Systems    []explainSystem          `json:"systems"`
	Findings   []sqlite.KeyFinding      `json:"findings"`
	Suppressed []sqlite.HeldSuppression `json:"suppressed"`
	Pending    []sqlite.PendingKey      `json:"pending"`
	Registry   *keysync.RegistryEntry   `json:"registry"`
	Events     []keysync.AuditEvent     `json:"events"`
}

// explainSystem is one system of the run and the key in it. Present and
// Rows are null when the staging files are gone and no finding tells.
type explainSystem struct {
	System  string             `json:"system"`
	Role    keysync.Role       `json:"role"`
	Present *bool              `json:"present"`
	Rows    *int64             `json:"rows"`
	Samples []sqlite.KeySample `json:"samples"`
}

func explainCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:      "explain",
		Usage:     "why is a key reported: its normalization, its rows in each system, its findings, suppressions and history",
		ArgsUsage: "KEY",
		Description: `Answers "why is this key on the list?" for one key in one run (default:
the latest normal run that succeeded; another succeeded run with --run):

  - the normalization trace: KEY after each step of the config's normalize:
    rules (trim, uppercase, strip, collapse, pad; a step the rules turn off
    leaves the value as it was) and the normalized key;
  - per system: whether it has the key, on how many rows, and its first 10
    rows in file order (record, raw spelling, entity_type, location_ref,
    last_seen_at), the first-seen row first;
  - the run's findings of the key (kind, system, master key, status, and a
    duplicate's count, spellings and cause), each with its streak as
    keysync changes counts it (first_seen_run, age_runs, age_days);
  - the suppressions in force when the run ended, and the systems where the
    grace period held a missing_from_system finding back (pending, since
    when the key's grace runs);
  - the key's registry row and the audit events that name it.

KEY is normalized with the config's rules, as sync does, so any spelling of
it works. Rows, samples and pending come from the run's staging files, which
hold only the latest run that staged: for an older run (or after a failed,
blocked or dry run) explain says samples are not available
(samples_available false in JSON) and deduces presence from the run's
findings alone, null where they do not tell. An unknown key is not an
error: present is false everywhere, the lists are empty, exit 0.
--system limits the systems, findings, suppressions and pending to one.

Examples:
  keysync explain inv_42
  keysync explain --system B CUST-00311971
  keysync explain --run 41 --format json SKU-0007 | jq '.findings[] | {kind, system, age_runs}'`,
		Flags: append(dbFlags(),
			historyRunFlag("the run `ID` (default: the latest succeeded normal run)"),
			&cli.StringFlag{Name: "system", Usage: "only `SYSTEM`"},
			&cli.StringFlag{Name: "format", Value: "table", Usage: "output `FORMAT`: table or json"},
		),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("explain: name one key, got %d arguments", c.NArg())
			}
			format := c.String("format")
			if format != "table" && format != "json" {
				return usageErrorf("--format: %q is not table or json", format)
			}
			input := c.Args().First()
			x := explanation{Input: input, Key: input, Trace: []normalize.Step{},
				Systems: []explainSystem{}, Findings: []sqlite.KeyFinding{}, Suppressed: []sqlite.HeldSuppression{},
				Pending: []sqlite.PendingKey{}, Events: []keysync.AuditEvent{}}
			cfg, err := loadConfig(c)
			switch {
			case err == nil:
				x.Trace = normalize.New(cfg.Normalize).Trace(input)
				x.Key = x.Trace[len(x.Trace)-1].Value
			case c.String("db") == "":
				return err
			}
			// Without a readable config (--db given) the key is taken as typed.
			if x.Key == "" {
				return usageErrorf("explain: %q normalizes to an empty key: sync rejects such rows as empty_key", input)
			}
			h, err := openHistory(c, env)
			if err != nil {
				return err
			}
			defer h.Close()
			h.format = format
			run, ok, err := h.runWithFindings(c, "findings to explain")
			if err != nil {
				return err
			}
			if !ok {
				h.log.Info("no run has succeeded yet: run `keysync sync` first", "database", h.Path())
			} else if err := h.explain(c, &x, run); err != nil {
				return err
			}
			if format == "json" {
				enc := json.NewEncoder(env.Stdout)
				enc.SetEscapeHTML(false)
				enc.SetIndent("", "  ")
				return enc.Encode(x)
			}
			return x.writeTable(env.Stdout)
		},
	}
}

// explain fills x with what run says about x.Key.
func (h *historyDB) explain(c *cli.Context, x *explanation, run sqlite.RunRecord) error {
	ctx := c.Context
	x.RunID = &run.RunID
	only := c.String("system")
	if only != "" {
		if err := h.checkSystem(c, run.RunID, only); err != nil {
			return err
		}
	}
	keep := func(system string) bool { return only == "" || strings.EqualFold(system, only) }
	systems, err := h.r.RunSystems(ctx, run.RunID)
	if err != nil {
		return err
	}
	findings, err := h.r.KeyFindings(ctx, run.RunID, x.Key)
	if err != nil {
		return err
	}
	at := run.FinishedAt
	if x.Staged, err = h.AttachStagingOf(ctx, run.RunID); err != nil {
		return err
	}
	var rows map[string]int64
	var samples map[string][]sqlite.KeySample
	if x.Staged {
		if rows, samples, err = h.r.StagedKeyRows(ctx, sqlite.StagingParts(), x.Key, explainSamples); err != nil {
			return err
		}
		pending, err := h.r.StagedPending(ctx, run.RunID, x.Key, at)
		if err != nil {
			return err
		}
		for _, p := range pending {
			if keep(p.System) {
				x.Pending = append(x.Pending, p)
			}
		}
	} else {
		h.log.Info("samples are not available: the staging files hold another run's rows; presence is deduced from the findings",
			"run_id", run.RunID)
	}
	suppressed, err := h.r.KeySuppressions(ctx, x.Key, at)
	if err != nil {
		return err
	}
	suppressedIn := map[string]bool{}
	for _, s := range suppressed {
		suppressedIn[s.System] = true
		if keep(s.System) {
			s.Until = showUntil(s.Until) // as suppress add took it and suppress list shows it
			x.Suppressed = append(x.Suppressed, s)
		}
	}
	for _, s := range systems {
		if !keep(s.System) {
			continue
		}
		es := explainSystem{System: s.System, Role: s.Role, Samples: []sqlite.KeySample{}}
		if x.Staged {
			n := rows[s.System]
			es.Present, es.Rows = ptr(n > 0), ptr(n)
			if n > 0 {
				es.Samples = samples[s.System]
			}
		} else {
			es.Present, es.Rows = presenceFromFindings(s, findings, suppressedIn)
		}
		x.Systems = append(x.Systems, es)
	}
	masterKeys := []string{x.Key}
	for _, f := range findings {
		if f.Kind == keysync.KindMissingInA && f.MasterKey != x.Key {
			masterKeys = append(masterKeys, f.MasterKey)
		}
		if keep(f.System) {
			x.Findings = append(x.Findings, f)
		}
	}
	for _, mk := range masterKeys {
		e, ok, err := h.r.MasterKey(ctx, mk)
		if err != nil {
			return err
		}
		if ok {
			x.Registry = &e
			break
		}
	}
	x.Events, err = h.r.KeyEvents(ctx, masterKeys, x.Key)
	return err
}

// presenceFromFindings is what the findings of a run say about the key in
// system s when its staged rows are gone: a duplicate or a missing_in_A
// finding of s means s has it (on count rows, or one), missing_from_system
// that s lacks it and the authority has it, missing_in_A of any peer that
// the authority lacks it, and then that a peer without a missing_in_A
// finding nor a suppression (suppressedIn) lacks it too. Anything else is
// unknown (nil): a key with no finding is in every system or in none, and
// suppressions and the grace period hide findings.
func presenceFromFindings(s sqlite.RunSystem, findings []sqlite.KeyFinding, suppressedIn map[string]bool) (*bool, *int64) {
	var present *bool
	rows := int64(1)
	if s.Role == keysync.RolePeer && !suppressedIn[s.System] &&
		slices.ContainsFunc(findings, func(f sqlite.KeyFinding) bool { return f.Kind == keysync.KindMissingInA }) {
		present, rows = ptr(false), 0 // the authority lacks it: s would report it
	}
	for _, f := range findings {
		switch {
		case f.Kind == keysync.KindDuplicate && f.System == s.System:
			return ptr(true), ptr(f.Count)
		case f.System == s.System && f.Kind == keysync.KindMissingInA:
			present, rows = ptr(true), 1
		case f.System == s.System && f.Kind == keysync.KindMissingFromSystem:
			present, rows = ptr(false), 0
		case s.Role == keysync.RoleAuthority && f.Kind == keysync.KindMissingFromSystem:
			present, rows = ptr(true), 1
		case s.Role == keysync.RoleAuthority && f.Kind == keysync.KindMissingInA:
			present, rows = ptr(false), 0
		}
	}
	if present == nil {
		return nil, nil
	}
	return present, ptr(rows)
}

func ptr[T any](v T) *T { return &v }

// writeTable prints the explanation as sections of aligned columns, without
// the blanks tabwriter pads short last cells with.
func (x explanation) writeTable(out io.Writer) error {
	var b bytes.Buffer
	if err := x.render(&b); err != nil {
		return err
	}
	for _, line := range strings.SplitAfter(b.String(), "\n") {
		if line == "" {
			continue
		}
		if _, err := io.WriteString(out, strings.TrimRight(line, " \n")+"\n"); err != nil {
			return err
		}
	}
	return nil
}

func (x explanation) render(out io.Writer) error {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "key\t%s\n", x.Key)
	fmt.Fprintf(w, "input\t%s\n", x.Input)
	switch {
	case x.RunID == nil:
		fmt.Fprintf(w, "run\tnone has succeeded yet\n")
	case x.Staged:
		fmt.Fprintf(w, "run\t%d (rows from its staging files)\n", *x.RunID)
	default:
		fmt.Fprintf(w, "run\t%d (samples not available: its staging files are gone; presence from its findings)\n", *x.RunID)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if len(x.Trace) > 0 {
		fmt.Fprintln(out, "\nnormalization:")
		w = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		for _, s := range x.Trace {
			off := ""
			if !s.On {
				off = "(off)"
			}
			fmt.Fprintf(w, "  %s\t%q\t%s\n", s.Step, s.Value, off)
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	if x.RunID != nil {
		fmt.Fprintln(out, "\nsystems:")
		w = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		for _, s := range x.Systems {
			fmt.Fprintf(w, "  %s %s\t%s\t\t\t\t\n", s.System, s.Role, presence(s))
			for _, r := range s.Samples {
				fmt.Fprintf(w, "    \trecord %d\t%q\t%s\t%s\t%s\n", r.Record, r.SourceKey, r.EntityType, r.LocationRef, r.LastSeenAt)
			}
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	if x.RunID == nil {
		return nil
	}
	fmt.Fprintf(out, "\nfindings (%s):\n", showCount(len(x.Findings), "finding"))
	if len(x.Findings) > 0 {
		rows := make([]explainFindingRow, len(x.Findings))
		for i, f := range x.Findings {
			rows[i] = explainFindingRow{f.Kind, f.System, f.MasterKey, f.Status, f.Count, f.Cause, f.FirstSeenRun, f.AgeRuns, f.AgeDays}
		}
		if err := writeTable(out, rows); err != nil {
			return err
		}
	}
	for _, s := range x.Suppressed {
		until := "until removed"
		if s.Until != "" {
			until = "until " + s.Until
		}
		fmt.Fprintf(out, "suppressed in %s %s: %s\n", s.System, until, s.Reason)
	}
	for _, p := range x.Pending {
		fmt.Fprintf(out, "pending in %s (grace period) since %s\n", p.System, p.Since)
	}
	if x.Registry == nil {
		fmt.Fprintln(out, "\nregistry: no master key")
	} else {
		e := x.Registry
		fmt.Fprintf(out, "\nregistry: %s %s (proposed by %s as %q, created %s, updated %s)\n",
			e.MasterKey, e.Status, e.SourceSystem, e.SourceKey, e.CreatedAt, e.UpdatedAt)
	}
	fmt.Fprintf(out, "\naudit events (%s):\n", showCount(len(x.Events), "event"))
	if len(x.Events) == 0 {
		return nil
	}
	return writeTable(out, x.Events)
}

// explainFindingRow is one finding in explain's table.
type explainFindingRow struct {
	Kind         keysync.FindingKind `csv:"kind"`
	System       string              `csv:"system"`
	MasterKey    string              `csv:"master_key"`
	Status       string              `csv:"status"`
	Count        int64               `csv:"count"`
	Cause        string              `csv:"cause"`
	FirstSeenRun int64               `csv:"first_seen_run"`
	AgeRuns      int64               `csv:"age_runs"`
	AgeDays      int64               `csv:"age_days"`
}

// presence is a system's presence column: "2 rows", "absent", "unknown".
func presence(s explainSystem) string {
	switch {
	case s.Present == nil:
		return "unknown"
	case !*s.Present:
		return "absent"
	case *s.Rows == 1:
		return "1 row"
	}
	return strconv.FormatInt(*s.Rows, 10) + " rows"
}
