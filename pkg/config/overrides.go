package config

import "path/filepath"

// Overrides are the command-line flags that take precedence over the file
// (SPEC §2). A zero field leaves the file's value alone.
type Overrides struct {
	Database    string   // --db; relative to the working directory
	OutputDir   string   // --output; relative to the working directory
	DryRun      *bool    // --dry-run
	AutoApprove *bool    // --auto-approve; false turns off a file's true
	Formats     []string // --format; added to output.formats
}

// ApplyOverrides sets the flags in o on c and validates the result.
// A dry run without --output writes into DryRunOutputDir of output_dir.
//
// Unlike paths in the file, relative flag paths resolve against the working
// directory: that is where a user typing `--db ./x.db` means it to be.
// Formats are added to the configured ones because SPEC §7 says --format json
// "also" writes JSON. Errors are *Error with the flag as Field.
func (c *Config) ApplyOverrides(o Overrides) error {
	if o.Database != "" {
		p, err := filepath.Abs(o.Database)
		if err != nil {
			return &Error{Field: "--db", Value: o.Database, Msg: "cannot resolve", Err: err}
		}
		c.Database = p
	}
	if o.OutputDir != "" {
		p, err := filepath.Abs(o.OutputDir)
		if err != nil {
			return &Error{Field: "--output", Value: o.OutputDir, Msg: "cannot resolve", Err: err}
		}
		c.OutputDir = p
	}
	if o.DryRun != nil {
		c.DryRun = *o.DryRun
	}
	if c.DryRun && o.OutputDir == "" {
		// The nightly reports are never replaced by a dry run's.
		c.OutputDir = DryRunOutputDir(c.OutputDir)
	}
	if o.AutoApprove != nil {
		c.Provisioning.AutoApprove = *o.AutoApprove
	}
	if len(o.Formats) > 0 {
		if err := validateFormats("--format", dedupe(o.Formats)); err != nil {
			return err
		}
		for _, f := range o.Formats {
			if !c.Output.Has(f) {
				c.Output.Formats = append(c.Output.Formats, f)
			}
		}
	}
	return c.Validate()
}

// DryRunDir is the subdirectory of output_dir a dry run writes its reports
// to unless --output names another directory.
const DryRunDir = "dry-run"

// DryRunOutputDir is where a dry run's reports go for output_dir outputDir.
func DryRunOutputDir(outputDir string) string { return filepath.Join(outputDir, DryRunDir) }

func dedupe(ss []string) []string {
	out := make([]string, 0, len(ss))
	seen := make(map[string]bool, len(ss))
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
