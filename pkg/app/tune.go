package app

import (
	"cmp"
	"runtime/debug"
	"slices"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/keysync/keysync/pkg/normalize"
	"github.com/keysync/keysync/pkg/sqlite"
)

// tuneRow is one row of `keysync tune`: an option set (the config's rules,
// or one option changed), the comparison's counts under it summed over the
// peers, and each count's difference from the config's rules.
type tuneRow struct {
	Option                string `csv:"option" json:"option"`
	Value                 string `csv:"value" json:"value"`
	Matched               int64  `csv:"matched" json:"matched"`
	MissingInA            int64  `csv:"missing_in_A" json:"missing_in_A"`
	MissingFromSystem     int64  `csv:"missing_from_system" json:"missing_from_system"`
	DuplicateKeys         int64  `csv:"duplicate_keys" json:"duplicate_keys"`
	MatchedDiff           int64  `csv:"matched_diff" json:"matched_diff"`
	MissingInADiff        int64  `csv:"missing_in_A_diff" json:"missing_in_A_diff"`
	MissingFromSystemDiff int64  `csv:"missing_from_system_diff" json:"missing_from_system_diff"`
	DuplicateKeysDiff     int64  `csv:"duplicate_keys_diff" json:"duplicate_keys_diff"`
}

// tuneVariant is one option set tune tries: the option changed and its value.
type tuneVariant struct {
	option, value string
	opts          normalize.Options
}

// tunePads are the pad_numbers values tune tries.
var tunePads = []int{0, 4, 6, 8, 10, 12, 16}

// tuneVariants are the config's rules (first, option "current") and every
// single change of them: each boolean flipped, collapse_delims "" and "-",
// and each of tunePads, each only when it differs from the rules.
func tuneVariants(cur normalize.Options) []tuneVariant {
	vs := []tuneVariant{{"current", "", cur}}
	add := func(option, value string, fn func(*normalize.Options)) {
		o := cur
		fn(&o)
		vs = append(vs, tuneVariant{option, value, o})
	}
	add("uppercase", strconv.FormatBool(!cur.Uppercase), func(o *normalize.Options) { o.Uppercase = !o.Uppercase })
	add("strip_non_alnum", strconv.FormatBool(!cur.StripNonAlnum), func(o *normalize.Options) { o.StripNonAlnum = !o.StripNonAlnum })
	for _, c := range []string{"", "-"} {
		if c != cur.CollapseDelims {
			add("collapse_delims", strconv.Quote(c), func(o *normalize.Options) { o.CollapseDelims = c })
		}
	}
	for _, w := range tunePads {
		if w != max(cur.PadNumbers, 0) {
			add("pad_numbers", strconv.Itoa(w), func(o *normalize.Options) { o.PadNumbers = w })
		}
	}
	return vs
}

func tuneCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:  "tune",
		Usage: "which normalization rules match most keys: the latest run's comparison redone with each single change of normalize:",
		Description: `Answers "which rules should we use?" on the staged rows of the latest
normal run that succeeded: their raw keys are normalized again, in SQL, with
the config's normalize: rules and with each single change of them (each of
uppercase and strip_non_alnum flipped; collapse_delims "" and "-"; pad_numbers
0, 4, 6, 8, 10, 12 and 16 — each only when it differs from the rules), and
compared as a run compares them. One row per option set: the option changed
and its value, then matched, missing_in_A, missing_from_system and
duplicate_keys summed over the peers, and the difference of each from the
config's rules. The rules themselves come first (option "current"), then the
changes by gain in matched, best first.

Read-only: nothing in the database or the staging files changes. It needs
the latest run's staging files (each run replaces them): after a failed,
blocked or dry run, run keysync sync first (exit 2 until then). Rows the run
rejected stay out, and a change that empties a key leaves its rows out.

Examples:
  keysync tune
  keysync tune --format csv > tune.csv
  keysync tune --format json | jq '.[1]'`,
		Flags: append(dbFlags(), formatFlag()),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("tune takes no arguments, got %q", c.Args().Slice())
			}
			cfg, err := loadConfig(c)
			if err != nil {
				return err
			}
			h, err := openHistory(c, env)
			if err != nil {
				return err
			}
			defer h.Close()
			id, ok, err := h.r.LatestNormalRun(c.Context)
			if err != nil {
				return err
			}
			if !ok {
				return usageErrorf("tune: no run has succeeded yet: run `keysync sync` first")
			}
			staged, err := h.AttachStagingOf(c.Context, id)
			if err != nil {
				return err
			}
			if !staged {
				return usageErrorf("tune: the staging files no longer hold the rows of run %d, the latest succeeded normal run (a later run replaced them): run `keysync sync` first", id)
			}
			vs := tuneVariants(cfg.Normalize)
			opts := make([]normalize.Options, len(vs))
			for i, v := range vs {
				opts[i] = v.opts
			}
			// Nearly all of tune's heap is its rows, held from start to end
			// and free of pointers, so a collection costs little; what they
			// leave behind is the values the virtual table boxes. The
			// default target would let that garbage grow as large as the
			// rows.
			defer debug.SetGCPercent(debug.SetGCPercent(20))
			counts, err := h.Tune(c.Context, cfg.Authority, opts)
			if err != nil {
				return err
			}
			h.log.Info("tuned", "run_id", id, "variants", len(vs))
			return writeRows(env.Stdout, h.format, tuneRows(vs, counts))
		},
	}
}

// tuneRows puts the counts of vs side by side with the current rules' (the
// first), the rules first, then by gain in matched, best first; ties keep
// the order of vs.
func tuneRows(vs []tuneVariant, counts []sqlite.TuneCounts) []tuneRow {
	cur := counts[0]
	rows := make([]tuneRow, len(vs))
	for i, v := range vs {
		c := counts[i]
		rows[i] = tuneRow{Option: v.option, Value: v.value,
			Matched: c.Matched, MissingInA: c.MissingInA, MissingFromSystem: c.MissingFromSystem, DuplicateKeys: c.DuplicateKeys,
			MatchedDiff: c.Matched - cur.Matched, MissingInADiff: c.MissingInA - cur.MissingInA,
			MissingFromSystemDiff: c.MissingFromSystem - cur.MissingFromSystem, DuplicateKeysDiff: c.DuplicateKeys - cur.DuplicateKeys}
	}
	slices.SortStableFunc(rows[1:], func(a, b tuneRow) int { return cmp.Compare(b.MatchedDiff, a.MatchedDiff) })
	return rows
}
