package config

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/robfig/cron/v3"

	"github.com/keysync/keysync/pkg/keysync"
)

// MaxPadNumbers bounds normalize.pad_numbers: a larger width is almost
// certainly a typo, and every padded segment is allocated at that width.
const MaxPadNumbers = 64

// contractFields are the fields of an input row (SPEC §3) that `columns:` may map.
var contractFields = []string{"source_key", "source_system", "entity_type", "location_ref", "last_seen_at"}

// Validate reports the first problem with c as an *Error naming the key and
// its value. Parse calls it; call it again after changing a Config by hand.
// The checks run in a fixed order, so the same file always gives the same error.
//
// Source names must be non-empty and made of ASCII letters, digits and '_'.
// '-' is refused because the namespaced strategy joins authority, system and
// key with '-' (SPEC §6): with "B-C" a legal name, system "B-C" key "X" and
// system "B" key "C-X" would propose the same master key. Names also end up
// in report columns, log lines and possibly file names, where spaces,
// slashes and quotes only cause trouble. Two names that differ only in case are
// refused, since source_system is matched case-insensitively (SPEC §3).
func (c *Config) Validate() error {
	if c.Schedule != "" {
		if _, err := cron.ParseStandard(c.Schedule); err != nil {
			return &Error{Field: "schedule", Value: c.Schedule, Msg: "is not a valid cron expression", Err: err}
		}
	}
	if c.Database == "" {
		return errorf("database", "", "must not be empty")
	}
	if c.OutputDir == "" {
		return errorf("output_dir", "", "must not be empty")
	}
	if c.Retention.KeepRuns < 0 {
		return errorf("retention.keep_runs", strconv.Itoa(c.Retention.KeepRuns), "must not be negative (0 turns retention off)")
	}
	if err := c.validateNormalize(); err != nil {
		return err
	}
	switch c.Provisioning.Strategy {
	case keysync.StrategyMirror, keysync.StrategyNamespaced:
	default:
		return errorf("provisioning.strategy", string(c.Provisioning.Strategy),
			"is not a strategy (want %s or %s)", keysync.StrategyMirror, keysync.StrategyNamespaced)
	}
	if err := validateFormats("output.formats", c.Output.Formats); err != nil {
		return err
	}
	if err := c.validateSources(); err != nil {
		return err
	}
	return c.validateSafety()
}

func (c *Config) validateNormalize() error {
	n := c.Normalize
	for _, r := range n.CollapseDelims {
		// Unicode white space is always a delimiter (SPEC §4).
		if !strings.ContainsRune(n.Delimiters, r) && !unicode.IsSpace(r) {
			return errorf("normalize.collapse_delims", n.CollapseDelims,
				"contains %q, which is not in normalize.delimiters %q", r, n.Delimiters)
		}
	}
	if n.PadNumbers < 0 || n.PadNumbers > MaxPadNumbers {
		return errorf("normalize.pad_numbers", strconv.Itoa(n.PadNumbers),
			"must be between 0 (off) and %d", MaxPadNumbers)
	}
	return nil
}

// validateFormats checks an output format list: non-empty, csv or json, each once.
func validateFormats(field string, formats []string) error {
	if len(formats) == 0 {
		return errorf(field, "", "must list at least one format (%s, %s)", FormatCSV, FormatJSON)
	}
	seen := make(map[string]bool, len(formats))
	for _, f := range formats {
		if f != FormatCSV && f != FormatJSON {
			return errorf(field, f, "is not a format (want %s or %s)", FormatCSV, FormatJSON)
		}
		if seen[f] {
			return errorf(field, f, "is listed twice")
		}
		seen[f] = true
	}
	return nil
}

func (c *Config) validateSources() error {
	names := c.sortedNames()
	if len(names) < 2 {
		return errorf("sources", "", "need at least two sources (the authority and a peer), got %d", len(names))
	}
	if len(names) > MaxSources {
		return errorf("sources", "", "at most %d sources can be reconciled in one run, got %d", MaxSources, len(names))
	}

	folded := make(map[string]string, len(names))
	for _, name := range names {
		if err := validName(name); err != nil {
			return err
		}
		lower := strings.ToLower(name)
		if other, ok := folded[lower]; ok {
			return errorf("sources."+name, "", "differs from source %q only in case", other)
		}
		folded[lower] = name
		if err := validateSource(name, c.Sources[name]); err != nil {
			return err
		}
	}
	if _, ok := c.Sources[c.Authority]; !ok {
		return errorf("authority", c.Authority, "does not name a source (sources: %s)", strings.Join(names, ", "))
	}
	return nil
}

func validName(name string) error {
	if name == "" {
		return errorf("sources", "", "a source name must not be empty")
	}
	for _, r := range name {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return errorf("sources", name, "is not a valid source name (use ASCII letters, digits and _)")
		}
	}
	return nil
}

func validateSource(name string, s Source) error {
	key := "sources." + name
	if s.Name != name {
		return errorf(key+".name", s.Name, "does not match its key %q", name)
	}
	return validateSourceType(key, s)
}

func validRune(r rune) bool {
	return r >= 0 && r <= unicode.MaxRune && !(r >= 0xD800 && r <= 0xDFFF)
}

func isContractField(f string) bool {
	for _, cf := range contractFields {
		if f == cf {
			return true
		}
	}
	return false
}

func (c *Config) validateSafety() error {
	s := c.Safety
	names := make([]string, 0, len(s.MinRows))
	for name := range s.MinRows {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		field := "safety.min_rows." + name
		if _, ok := c.Sources[name]; !ok {
			return errorf(field, "", "does not name a source (sources: %s)", strings.Join(c.sortedNames(), ", "))
		}
		if n := s.MinRows[name]; n < 0 {
			return errorf(field, strconv.Itoa(n), "must not be negative")
		}
	}
	for _, r := range []struct {
		field string
		v     float64
	}{
		{"safety.max_drop_ratio", s.MaxDropRatio},
		{"safety.max_rejected_ratio", s.MaxRejectedRatio},
		{"safety.max_missing_ratio", s.MaxMissingRatio},
	} {
		if !(r.v >= 0 && r.v <= 1) {
			return errorf(r.field, formatFloat(r.v), "must be between 0 (off) and 1")
		}
	}
	for _, n := range []struct {
		field string
		v     int
	}{
		{"safety.max_new_proposals", s.MaxNewProposals},
		{"safety.max_unchanged_runs", s.MaxUnchangedRuns},
	} {
		if n.v < 0 {
			return errorf(n.field, strconv.Itoa(n.v), "must not be negative (0 turns the guard off)")
		}
	}
	return nil
}

func (c *Config) sortedNames() []string {
	names := make([]string, 0, len(c.Sources))
	for name := range c.Sources {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func formatFloat(f float64) string {
	if math.IsNaN(f) {
		return "NaN"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
