// Package config owns keysync's configuration file (SPEC §2, §7, §11): its
// defaults, parsing it from YAML, and refusing it when it is wrong.
//
// The shape follows litestream: Parse reads an io.Reader, fills in the
// defaults, and calls Validate; Load opens a file and calls Parse with the
// file's directory. Every problem with the configuration — a missing file,
// bad YAML, an unknown key, a value out of range — is a *Error naming the
// offending key as a dotted path (sources.B.delimiter) and its value, so the
// command line can map it to exit code 2 with errors.As.
//
// Paths. Relative paths in the file (database, output_dir, each source's
// path) resolve against the directory of the config file, never the working
// directory: cron starts jobs in $HOME. A leading "~" is not expanded; it is
// an ordinary relative path component. Paths given as flags (see Overrides)
// resolve against the working directory, as a user typing a flag expects.
// After Parse every path in a Config is absolute and clean.
//
// Unknown keys are rejected at every level, so a misspelt option
// (normalize.uppercse) fails loudly instead of silently falling back to the
// default. A key whose value is null (`uppercase:` or `uppercase: ~`) is
// treated as absent.
package config
