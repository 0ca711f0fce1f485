// Package report writes the run's artifacts (SPEC §7) as CSV and JSON files.
// Every file is written to a temporary name first and renamed into place only
// when the whole set is written and the run has committed, so a reader never
// sees half a file and a failed run leaves the previous reports untouched.
package report

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"

	"github.com/gocarina/gocsv"

	"github.com/keysync/keysync/pkg/keysync"
)

// Artifact file names, without extension.
const (
	SummaryName           = "reconciliation_summary"
	MissingInAName        = "diff_missing_in_A"
	MissingFromSystemName = "diff_missing_from_system"
	RegistryName          = "master_key_registry"
	AuditName             = "audit_log"
	ExceptionsName        = "exceptions"
	RejectedName          = "rejected_rows"
)

// Formats a report can be written in.
const (
	FormatCSV  = "csv"
	FormatJSON = "json"
)

// Set is everything one run's reports show, each in its report's row order.
type Set struct {
	Summary           []keysync.SummaryRow
	MissingInA        []keysync.MissingInA
	MissingFromSystem []keysync.MissingFromSystem
	Registry          []keysync.RegistryEntry
	Audit             []keysync.AuditEvent
	Exceptions        []keysync.Exception
	Rejected          []keysync.RejectedRow
}

// Source reads what a run's reports show; the store's Reader is one.
type Source interface {
	Summary(ctx context.Context, runID int64) ([]keysync.SummaryRow, error)
	MissingInA(ctx context.Context, runID int64) ([]keysync.MissingInA, error)
	MissingFromSystem(ctx context.Context, runID int64) ([]keysync.MissingFromSystem, error)
	Registry(ctx context.Context, status keysync.Status) ([]keysync.RegistryEntry, error)
	Audit(ctx context.Context) ([]keysync.AuditEvent, error)
	Exceptions(ctx context.Context, runID int64) ([]keysync.Exception, error)
	Rejected(ctx context.Context, runID int64) ([]keysync.RejectedRow, error)
}

// Collect reads the report set of runID from src.
func Collect(ctx context.Context, src Source, runID int64) (Set, error) {
	var s Set
	var err error
	if s.Summary, err = src.Summary(ctx, runID); err != nil {
		return s, err
	}
	if s.MissingInA, err = src.MissingInA(ctx, runID); err != nil {
		return s, err
	}
	if s.MissingFromSystem, err = src.MissingFromSystem(ctx, runID); err != nil {
		return s, err
	}
	if s.Registry, err = src.Registry(ctx, ""); err != nil {
		return s, err
	}
	if s.Audit, err = src.Audit(ctx); err != nil {
		return s, err
	}
	if s.Exceptions, err = src.Exceptions(ctx, runID); err != nil {
		return s, err
	}
	if s.Rejected, err = src.Rejected(ctx, runID); err != nil {
		return s, err
	}
	return s, nil
}

// artifacts pairs each file name with its rows, in the order they are written.
func (s Set) artifacts() []struct {
	name string
	rows any
} {
	return []struct {
		name string
		rows any
	}{
		{SummaryName, s.Summary},
		{MissingInAName, s.MissingInA},
		{MissingFromSystemName, s.MissingFromSystem},
		{RegistryName, s.Registry},
		{AuditName, s.Audit},
		{ExceptionsName, s.Exceptions},
		{RejectedName, s.Rejected},
	}
}

// Pending is a written report set not yet in place: temporary files beside
// their final names.
type Pending struct {
	renames [][2]string // temp, final
}

// Stage writes every artifact of s in each of formats into dir under
// temporary names. Nothing visible changes until Commit.
func Stage(dir string, formats []string, s Set) (*Pending, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("write reports: %w", err)
	}
	p := &Pending{}
	for _, a := range s.artifacts() {
		for _, f := range formats {
			final := filepath.Join(dir, a.name+"."+f)
			tmp, err := writeTemp(final, func(w io.Writer) error { return encode(w, f, a.rows) })
			if err != nil {
				p.Discard()
				return nil, fmt.Errorf("write report %s: %w", final, err)
			}
			p.renames = append(p.renames, [2]string{tmp, final})
		}
	}
	return p, nil
}

// Commit renames every staged file into place, all of them or none: each
// file that is replaced is first hard-linked to a backup name, and when a
// rename fails the files already replaced get their previous content back.
// A reader sees either the old or the new file at every moment, never a
// missing or half-written one.
func (p *Pending) Commit() error {
	for _, r := range p.renames {
		if fi, err := os.Stat(r[1]); err == nil && fi.IsDir() {
			p.Discard()
			return fmt.Errorf("write report %s: it is a directory", r[1])
		}
	}
	type done struct{ final, backup string }
	var replaced []done
	undo := func() {
		for i := len(replaced) - 1; i >= 0; i-- {
			d := replaced[i]
			if d.backup != "" {
				os.Rename(d.backup, d.final)
			} else {
				os.Remove(d.final)
			}
		}
	}
	for i, r := range p.renames {
		backup := ""
		if _, err := os.Lstat(r[1]); err == nil {
			backup = r[0] + ".prev"
			if err := os.Link(r[1], backup); err != nil {
				backup = "" // no hard links here: the old file cannot be restored
			}
		}
		if err := os.Rename(r[0], r[1]); err != nil {
			if backup != "" {
				os.Remove(backup)
			}
			undo()
			p.renames = p.renames[i:]
			p.Discard()
			return fmt.Errorf("write report %s: %w (the previous reports were kept)", r[1], err)
		}
		replaced = append(replaced, done{final: r[1], backup: backup})
	}
	for _, d := range replaced {
		if d.backup != "" {
			os.Remove(d.backup)
		}
	}
	if len(p.renames) > 0 {
		syncDir(filepath.Dir(p.renames[0][1]))
	}
	p.renames = nil
	return nil
}

// Discard removes the staged files.
func (p *Pending) Discard() {
	for _, r := range p.renames {
		os.Remove(r[0])
	}
	p.renames = nil
}

// Write stages and commits s in one go, for commands that rewrite reports
// outside a run.
func Write(dir string, formats []string, s Set) error {
	p, err := Stage(dir, formats, s)
	if err != nil {
		return err
	}
	return p.Commit()
}

func encode(w io.Writer, format string, rows any) error {
	switch format {
	case FormatCSV:
		return gocsv.Marshal(rows, w)
	case FormatJSON:
		if v := reflect.ValueOf(rows); v.Kind() == reflect.Slice && v.IsNil() {
			rows = []struct{}{} // an empty artifact is [], never null
		}
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	return fmt.Errorf("unknown report format %q", format)
}

// writeTemp writes a file beside final under a temporary name, synced to disk.
func writeTemp(final string, write func(io.Writer) error) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(final), "."+filepath.Base(final)+".tmp-*")
	if err != nil {
		return "", err
	}
	err = write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// ValidFormat reports whether f is a report format.
func ValidFormat(f string) bool { return slices.Contains([]string{FormatCSV, FormatJSON}, f) }

// Formats is the list of formats to write for the given ones: CSV always
// and first — it is the reports' contract (SPEC §7) — then each other format
// once, in order. JSON is written as well, never instead.
func Formats(given ...string) []string {
	out := []string{FormatCSV}
	for _, f := range given {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}
