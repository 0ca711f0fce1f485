// Package report writes the run's artifacts (SPEC §7) as CSV and JSON files.
// Every file is written to a temporary name first and renamed into place only
// when the whole set is written and the run has committed, so a reader never
// sees half a file and a failed run leaves the previous reports untouched.
package report

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
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

// Set is everything one run's reports show, each in its report's row order,
// held in memory: for tests and small report sets (Stage, Write). A run
// streams its reports from the store instead (StageFrom, WriteFrom).
type Set struct {
	Summary           []keysync.SummaryRow
	MissingInA        []keysync.MissingInA
	MissingFromSystem []keysync.MissingFromSystem
	Registry          []keysync.RegistryEntry
	Audit             []keysync.AuditEvent
	Exceptions        []keysync.Exception
	Rejected          []keysync.RejectedRow
}

// Source streams what a run's reports show, each report's rows in its order,
// so a report of millions of rows is written without holding it. The store's
// Reader is one.
type Source interface {
	Summary(ctx context.Context, runID int64) ([]keysync.SummaryRow, error)
	EachMissingInA(ctx context.Context, runID int64, fn func(keysync.MissingInA) error) error
	EachMissingFromSystem(ctx context.Context, runID int64, fn func(keysync.MissingFromSystem) error) error
	EachRegistry(ctx context.Context, fn func(keysync.RegistryEntry) error) error
	EachAudit(ctx context.Context, fn func(keysync.AuditEvent) error) error
	EachException(ctx context.Context, runID int64, fn func(keysync.Exception) error) error
	EachRejected(ctx context.Context, runID int64, fn func(keysync.RejectedRow) error) error
}

// setSource is a Source over the rows a Set holds (runID is not looked at).
type setSource struct{ s Set }

var _ Source = setSource{}

func each[T any](rows []T, fn func(T) error) error {
	for _, r := range rows {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

func (x setSource) Summary(context.Context, int64) ([]keysync.SummaryRow, error) {
	return x.s.Summary, nil
}
func (x setSource) EachMissingInA(_ context.Context, _ int64, fn func(keysync.MissingInA) error) error {
	return each(x.s.MissingInA, fn)
}
func (x setSource) EachMissingFromSystem(_ context.Context, _ int64, fn func(keysync.MissingFromSystem) error) error {
	return each(x.s.MissingFromSystem, fn)
}
func (x setSource) EachRegistry(_ context.Context, fn func(keysync.RegistryEntry) error) error {
	return each(x.s.Registry, fn)
}
func (x setSource) EachAudit(_ context.Context, fn func(keysync.AuditEvent) error) error {
	return each(x.s.Audit, fn)
}
func (x setSource) EachException(_ context.Context, _ int64, fn func(keysync.Exception) error) error {
	return each(x.s.Exceptions, fn)
}
func (x setSource) EachRejected(_ context.Context, _ int64, fn func(keysync.RejectedRow) error) error {
	return each(x.s.Rejected, fn)
}

// artifact is one report file: its name and how to write its rows in a format.
type artifact struct {
	name  string
	write func(ctx context.Context, w io.Writer, format string) error
}

// artifacts lists the seven reports of runID read from src, in the order
// they are written.
func artifacts(src Source, runID int64) []artifact {
	return []artifact{
		{SummaryName, func(ctx context.Context, w io.Writer, f string) error {
			rows, err := src.Summary(ctx, runID)
			if err != nil {
				return err
			}
			return encode(w, f, func(fn func(keysync.SummaryRow) error) error { return each(rows, fn) })
		}},
		{MissingInAName, func(ctx context.Context, w io.Writer, f string) error {
			return encode(w, f, func(fn func(keysync.MissingInA) error) error { return src.EachMissingInA(ctx, runID, fn) })
		}},
		{MissingFromSystemName, func(ctx context.Context, w io.Writer, f string) error {
			return encode(w, f, func(fn func(keysync.MissingFromSystem) error) error {
				return src.EachMissingFromSystem(ctx, runID, fn)
			})
		}},
		{RegistryName, func(ctx context.Context, w io.Writer, f string) error {
			return encode(w, f, func(fn func(keysync.RegistryEntry) error) error { return src.EachRegistry(ctx, fn) })
		}},
		{AuditName, func(ctx context.Context, w io.Writer, f string) error {
			return encode(w, f, func(fn func(keysync.AuditEvent) error) error { return src.EachAudit(ctx, fn) })
		}},
		{ExceptionsName, func(ctx context.Context, w io.Writer, f string) error {
			return encode(w, f, func(fn func(keysync.Exception) error) error { return src.EachException(ctx, runID, fn) })
		}},
		{RejectedName, func(ctx context.Context, w io.Writer, f string) error {
			return encode(w, f, func(fn func(keysync.RejectedRow) error) error { return src.EachRejected(ctx, runID, fn) })
		}},
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
	return StageFrom(context.Background(), dir, formats, setSource{s}, 0)
}

// StageFrom writes every artifact of runID, streamed from src, in each of
// formats into dir under temporary names. Nothing visible changes until
// Commit; on an error nothing is left behind.
func StageFrom(ctx context.Context, dir string, formats []string, src Source, runID int64) (*Pending, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("write reports: %w", err)
	}
	p := &Pending{}
	for _, a := range artifacts(src, runID) {
		for _, f := range formats {
			final := filepath.Join(dir, a.name+"."+f)
			// Before anything is written, so a run can still roll back: a
			// report path that cannot be replaced fails the run.
			if fi, err := os.Stat(final); err == nil && fi.IsDir() {
				p.Discard()
				return nil, fmt.Errorf("write report %s: it is a directory", final)
			}
			removeLeftovers(final)
			tmp, err := writeTemp(final, func(w io.Writer) error { return a.write(ctx, w, f) })
			if err != nil {
				p.Discard()
				return nil, fmt.Errorf("write report %s: %w", final, err)
			}
			p.renames = append(p.renames, [2]string{tmp, final})
		}
	}
	return p, nil
}

// removeLeftovers deletes the temporary and backup files of final that a
// process killed while writing reports left behind. The caller holds the
// run lock, so no other writer owns them.
func removeLeftovers(final string) {
	old, _ := filepath.Glob(filepath.Join(filepath.Dir(final), "."+filepath.Base(final)+".tmp-*"))
	for _, f := range old {
		os.Remove(f)
	}
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
	type done struct {
		final, backup string
		existed       bool // there was a file before; without a backup it stays new
	}
	var replaced []done
	undo := func() {
		for i := len(replaced) - 1; i >= 0; i-- {
			switch d := replaced[i]; {
			case d.backup != "":
				os.Rename(d.backup, d.final)
			case !d.existed:
				os.Remove(d.final)
			}
		}
	}
	for i, r := range p.renames {
		backup, existed := "", false
		if _, err := os.Lstat(r[1]); err == nil {
			existed = true
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
		replaced = append(replaced, done{final: r[1], backup: backup, existed: existed})
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

// Write stages and commits s in one go.
func Write(dir string, formats []string, s Set) error {
	return WriteFrom(context.Background(), dir, formats, setSource{s}, 0)
}

// WriteFrom stages and commits the reports of runID from src in one go, for
// commands that rewrite reports outside a run.
func WriteFrom(ctx context.Context, dir string, formats []string, src Source, runID int64) error {
	p, err := StageFrom(ctx, dir, formats, src, runID)
	if err != nil {
		return err
	}
	return p.Commit()
}

// csvChunk is how many rows go to gocsv at a time: it marshals slices, and
// chunks keep a report of millions of rows from being held whole.
const csvChunk = 4096

// encode writes the rows each yields in format: CSV with a header row, or a
// JSON array of objects indented like encoding/json's ("[]" when empty).
func encode[T any](w io.Writer, format string, each func(func(T) error) error) error {
	switch format {
	case FormatCSV:
		cw := gocsv.DefaultCSVWriter(w)
		buf := make([]T, 0, csvChunk)
		header := true
		flush := func() error {
			var err error
			if header {
				err = gocsv.MarshalCSV(buf, cw) // writes the header even for no rows
				header = false
			} else if len(buf) > 0 {
				err = gocsv.MarshalCSVWithoutHeaders(buf, cw)
			}
			buf = buf[:0]
			return err
		}
		err := each(func(row T) error {
			if buf = append(buf, row); len(buf) == csvChunk {
				return flush()
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := flush(); err != nil {
			return err
		}
		cw.Flush()
		return cw.Error()
	case FormatJSON:
		bw := bufio.NewWriter(w)
		var item bytes.Buffer
		enc := json.NewEncoder(&item)
		enc.SetEscapeHTML(false)
		enc.SetIndent("  ", "  ")
		n := 0
		err := each(func(row T) error {
			item.Reset()
			if err := enc.Encode(row); err != nil {
				return err
			}
			sep := ",\n  "
			if n == 0 {
				sep = "[\n  "
			}
			n++
			bw.WriteString(sep)
			_, err := bw.Write(bytes.TrimSuffix(item.Bytes(), []byte("\n")))
			return err
		})
		if err != nil {
			return err
		}
		if n == 0 {
			bw.WriteString("[]\n")
		} else {
			bw.WriteString("\n]\n")
		}
		return bw.Flush()
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
