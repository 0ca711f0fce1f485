package floor

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/keysync/keysync/pkg/report"
)

// Reports are the reports Run writes (without .csv), in the order Diff
// compares them.
var Reports = []string{report.SummaryName, report.MissingInAName, report.MissingFromSystemName,
	report.ExceptionsName, report.RejectedName}

// Diff compares the findings reports of a keysync run in keysyncDir with
// those Run wrote in floorDir: the same header, the same rows in the same
// order, field by field, except run_id (every report) and status
// (diff_missing_in_A), which depend on the database and its registry. It
// returns nil when they agree, or an error naming, for each report that
// differs, its first differing line and both versions of it.
func Diff(keysyncDir, floorDir string) error {
	var errs []error
	for _, name := range Reports {
		if err := diffFile(filepath.Join(keysyncDir, name+".csv"), filepath.Join(floorDir, name+".csv")); err != nil {
			errs = append(errs, fmt.Errorf("%s.csv: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// ignored are the columns Diff does not compare.
var ignored = []string{"run_id", "status"}

func diffFile(keysyncPath, floorPath string) error {
	kf, err := os.Open(keysyncPath)
	if err != nil {
		return err
	}
	defer kf.Close()
	ff, err := os.Open(floorPath)
	if err != nil {
		return err
	}
	defer ff.Close()
	kr, fr := csv.NewReader(kf), csv.NewReader(ff)
	kr.ReuseRecord, fr.ReuseRecord = true, true
	var skip []int
	for line := 1; ; line++ {
		k, kerr := kr.Read()
		f, ferr := fr.Read()
		switch {
		case kerr == io.EOF && ferr == io.EOF:
			if line == 1 {
				return errors.New("both are empty, without a header")
			}
			return nil
		case kerr == io.EOF:
			return fmt.Errorf("line %d: keysync's ends, the floor's goes on with %q", line, f)
		case ferr == io.EOF:
			return fmt.Errorf("line %d: the floor's ends, keysync's goes on with %q", line, k)
		case kerr != nil:
			return fmt.Errorf("read %s: %w", keysyncPath, kerr)
		case ferr != nil:
			return fmt.Errorf("read %s: %w", floorPath, ferr)
		}
		if line == 1 {
			if !slices.Equal(k, f) {
				return fmt.Errorf("header: keysync %q, floor %q", k, f)
			}
			for i, col := range k {
				if slices.Contains(ignored, col) {
					skip = append(skip, i)
				}
			}
			continue
		}
		if !sameRow(k, f, skip) {
			return fmt.Errorf("line %d: keysync %s, floor %s", line, show(k, skip), show(f, skip))
		}
	}
}

func sameRow(a, b []string, skip []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !slices.Contains(skip, i) {
			return false
		}
	}
	return true
}

// show quotes a row with its ignored fields as *.
func show(row []string, skip []int) string {
	out := make([]string, len(row))
	for i, v := range row {
		if slices.Contains(skip, i) {
			v = "*"
		}
		out[i] = fmt.Sprintf("%q", v)
	}
	return "[" + strings.Join(out, " ") + "]"
}
