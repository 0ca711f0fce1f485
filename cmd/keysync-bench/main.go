// Command keysync-bench measures `keysync sync` against its practical floor,
// keysync-floor (pkg/floor), on the same generated data (issue
// [fast-staging]). It is for developers; CI never runs it.
//
// Usage:
//
//	go build -o bin/ ./cmd/keysync ./cmd/keysync-floor ./cmd/keysync-bench
//	bin/keysync-bench --rows 100000 [--runs 3] [--tune] [--dir DIR] [--bin DIR]
//
// It writes the data with `keysync gen --rows N` into DIR (by default
// $TMPDIR/keysync-bench-N, emptied first), then, --runs times, runs the floor
// and keysync sync on it, each on a fresh output directory and keysync on a
// fresh database. It prints, for the best run of each (the median too when
// --runs > 1): wall, user and system time and peak RSS (from the kernel, as
// /usr/bin/time reports it); the ratio keysync/floor; keysync's phase
// breakdown from its JSON log; the size of keysync.db, of its -wal file and
// of any keysync.db-staging directory after the run; the rows per second;
// and whether both found the same things (floor.Diff). With --tune it then
// runs `keysync tune` on the last run's staged rows as many times and
// reports it the same way, with its ratio to the sync (issue [explain]: at
// 5 × 1M under a minute). Exit code 1 when a run fails or the findings
// differ, 2 for bad usage. Nothing needs the sqlite3 shell or
// /usr/bin/time.
package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/keysync/keysync/pkg/floor"
	"github.com/keysync/keysync/pkg/gen"
	"github.com/keysync/keysync/pkg/report"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "keysync-bench: %v\n", err)
		var ue usageError
		if errors.As(err, &ue) || errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError is bad usage: exit code 2.
type usageError struct{ error }

// bench is one invocation: where the binaries and the data are.
type bench struct {
	keysync, floor string // the binaries
	dir, config    string
	stderr         io.Writer
}

// measure is one run of one program.
type measure struct {
	wall, user, sys time.Duration
	rssKB           int64
	log             string // its stderr
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("keysync-bench", flag.ContinueOnError)
	flags.SetOutput(stderr)
	rows := flags.Int("rows", 0, "rows `N` of the authority (the peers get about as many); required")
	runs := flags.Int("runs", 1, "run each side `R` times and report the best (and the median)")
	dir := flags.String("dir", "", "the `DIR` for data, database and reports (default $TMPDIR/keysync-bench-N); emptied first")
	tune := flags.Bool("tune", false, "also run keysync tune on the last run, --runs times, and report it")
	bin := flags.String("bin", "", "the `DIR` holding the keysync and keysync-floor binaries (default: this program's)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	switch {
	case flags.NArg() > 0:
		return usageError{fmt.Errorf("no arguments expected, got %q", flags.Args())}
	case *rows < 1:
		return usageError{fmt.Errorf("--rows %d: give the rows of A, at least 1", *rows)}
	case *runs < 1:
		return usageError{fmt.Errorf("--runs %d: at least 1", *runs)}
	}
	if *bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find the binaries: %w (give --bin)", err)
		}
		*bin = filepath.Dir(exe)
	}
	if *dir == "" {
		*dir = filepath.Join(os.TempDir(), fmt.Sprintf("keysync-bench-%d", *rows))
	}
	b := &bench{keysync: filepath.Join(*bin, "keysync"), floor: filepath.Join(*bin, "keysync-floor"),
		dir: *dir, config: gen.ConfigPath(*dir), stderr: stderr}
	for _, p := range []string{b.keysync, b.floor} {
		if _, err := os.Stat(p); err != nil {
			return usageError{fmt.Errorf("binary %s: %w (build with: go build -o %s/ ./cmd/keysync ./cmd/keysync-floor)", p, err, *bin)}
		}
	}

	if err := os.RemoveAll(b.dir); err != nil {
		return fmt.Errorf("empty %s: %w", b.dir, err)
	}
	if _, err := b.exec(ctx, "", b.keysync, "gen", "--rows", strconv.Itoa(*rows), "--out", b.dir); err != nil {
		return err
	}
	var floors, syncs []measure
	var sizes []size
	for range *runs {
		m, err := b.runFloor(ctx)
		if err != nil {
			return err
		}
		floors = append(floors, m)
		if m, err = b.runSync(ctx); err != nil {
			return err
		}
		syncs = append(syncs, m)
		sizes = b.sizes() // the same for every run: a fresh database each time
	}
	total, err := rowsRead(filepath.Join(b.dir, "output", report.SummaryName+".csv"))
	if err != nil {
		return err
	}
	diff := floor.Diff(filepath.Join(b.dir, "output"), filepath.Join(b.dir, "floor-output"))
	printReport(stdout, b.dir, total, floors, syncs, sizes, diff)
	if diff != nil {
		return errors.New("keysync and the floor found different things: the timings compare different jobs")
	}
	if !*tune {
		return nil
	}
	var tunes []measure
	for range *runs {
		m, err := b.exec(ctx, filepath.Join(b.dir, "tune.log"), b.keysync, "tune", "--config", b.config)
		if err != nil {
			return err
		}
		tunes = append(tunes, m)
	}
	printTune(stdout, tunes, syncs)
	return nil
}

// printTune reports the runs of keysync tune as printReport does the syncs,
// with the ratio of its best wall time to the best sync's.
func printTune(w io.Writer, tunes, syncs []measure) {
	tu, median := best(tunes)
	ks, _ := best(syncs)
	label := ""
	if len(tunes) > 1 {
		label = fmt.Sprintf(" (best of %d, median wall %.2f s)", len(tunes), median.Seconds())
	}
	fmt.Fprintf(w, "keysync tune%s: %s\n", label, measureLine(tu))
	fmt.Fprintf(w, "ratio tune/sync: wall %s\n", ratio(float64(tu.wall), float64(ks.wall)))
}

// measureLine is a run's wall, user and system time and peak RSS.
func measureLine(m measure) string {
	return fmt.Sprintf("wall %.2f s, user %.2f s, sys %.2f s, peak RSS %d KB",
		m.wall.Seconds(), m.user.Seconds(), m.sys.Seconds(), m.rssKB)
}

func (b *bench) runFloor(ctx context.Context) (measure, error) {
	out := filepath.Join(b.dir, "floor-output")
	if err := os.RemoveAll(out); err != nil {
		return measure{}, err
	}
	return b.exec(ctx, filepath.Join(b.dir, "floor.log"), b.floor, "--config", b.config, "--output", out, "--log-format", "json")
}

func (b *bench) runSync(ctx context.Context) (measure, error) {
	db := filepath.Join(b.dir, "keysync.db")
	for _, p := range []string{db, db + "-wal", db + "-shm", db + "-staging", filepath.Join(b.dir, "output")} {
		if err := os.RemoveAll(p); err != nil {
			return measure{}, err
		}
	}
	return b.exec(ctx, filepath.Join(b.dir, "sync.log"), b.keysync, "--verbose", "--log-format", "json", "sync", "--config", b.config)
}

// exec runs a program to its end, stdout discarded, and measures it. Its
// stderr is kept, and also written to logPath unless that is "". A failure
// shows the last lines of its stderr.
func (b *bench) exec(ctx context.Context, logPath, name string, args ...string) (measure, error) {
	var stderr strings.Builder
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	m := measure{wall: time.Since(start), log: stderr.String()}
	if logPath != "" {
		if werr := os.WriteFile(logPath, []byte(m.log), 0o644); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		lines := strings.Split(strings.TrimSpace(m.log), "\n")
		fmt.Fprintln(b.stderr, strings.Join(lines[max(0, len(lines)-5):], "\n"))
		return m, fmt.Errorf("%s %s: %w", filepath.Base(name), strings.Join(args, " "), err)
	}
	m.user, m.sys = cmd.ProcessState.UserTime(), cmd.ProcessState.SystemTime()
	m.rssKB = peakRSSKB(cmd.ProcessState)
	return m, nil
}

// size is a file or directory next to the database after a run; bytes < 0
// when there is none.
type size struct {
	name  string
	bytes int64
}

func (b *bench) sizes() []size {
	db := filepath.Join(b.dir, "keysync.db")
	var out []size
	for _, p := range []string{db, db + "-wal", db + "-staging"} {
		out = append(out, size{filepath.Base(p), diskBytes(p)})
	}
	return out
}

// diskBytes is the size of the file at path, or of every file under it, or
// -1 when there is nothing there.
func diskBytes(path string) int64 {
	var n int64 = -1
	filepath.WalkDir(path, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if n < 0 {
			n = 0
		}
		if info, err := d.Info(); err == nil && !d.IsDir() {
			n += info.Size()
		}
		return nil
	})
	return n
}

// rowsRead sums the rows_read column of a reconciliation_summary.csv.
func rowsRead(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) == 0 {
		return 0, fmt.Errorf("read %s: %v", path, err)
	}
	col := slices.Index(recs[0], "rows_read")
	if col < 0 {
		return 0, fmt.Errorf("read %s: no rows_read column", path)
	}
	var total int64
	for _, r := range recs[1:] {
		n, err := strconv.ParseInt(r[col], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("read %s: rows_read %q: %w", path, r[col], err)
		}
		total += n
	}
	return total, nil
}

// phaseField is one "<phase>_ms":<n> of keysync's phases log line.
var phaseField = regexp.MustCompile(`"([A-Za-z]+)_ms":(\d+)`)

// phases is the phase breakdown of a keysync --verbose --log-format json
// log, in its order ("extract:12,load:34,..."), or "?" without one.
func phases(log string) string {
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if line := sc.Text(); strings.Contains(line, `"msg":"phases"`) {
			var parts []string
			for _, m := range phaseField.FindAllStringSubmatch(line, -1) {
				parts = append(parts, m[1]+":"+m[2])
			}
			return strings.Join(parts, ",")
		}
	}
	return "?"
}

// best is the run with the least wall time; median, the median wall time.
func best(ms []measure) (measure, time.Duration) {
	sorted := slices.Clone(ms)
	slices.SortFunc(sorted, func(a, b measure) int { return int(a.wall - b.wall) })
	return sorted[0], sorted[len(sorted)/2].wall
}

func printReport(w io.Writer, dir string, total int64, floors, syncs []measure, sizes []size, diff error) {
	fl, flMedian := best(floors)
	ks, ksMedian := best(syncs)
	label := ""
	if len(syncs) > 1 {
		label = fmt.Sprintf(" (best of %d)", len(syncs))
	}
	fmt.Fprintf(w, "data: %s\n", dir)
	fmt.Fprintf(w, "floor%s: %s\n", label, measureLine(fl))
	fmt.Fprintf(w, "keysync%s: %s\n", label, measureLine(ks))
	if len(syncs) > 1 {
		fmt.Fprintf(w, "median wall: floor %.2f s, keysync %.2f s\n", flMedian.Seconds(), ksMedian.Seconds())
	}
	fmt.Fprintf(w, "ratio keysync/floor: wall %s, peak RSS %s\n", ratio(float64(ks.wall), float64(fl.wall)),
		ratio(float64(ks.rssKB), float64(fl.rssKB)))
	fmt.Fprintf(w, "phases (ms): %s\n", phases(ks.log))
	var parts []string
	for _, s := range sizes {
		parts = append(parts, s.name+" "+human(s.bytes))
	}
	fmt.Fprintf(w, "after the run: %s\n", strings.Join(parts, ", "))
	rate := "?"
	if ks.wall > 0 {
		rate = strconv.FormatInt(int64(float64(total)/ks.wall.Seconds()), 10)
	}
	fmt.Fprintf(w, "rows: %d, rows/s: %s\n", total, rate)
	if diff != nil {
		fmt.Fprintf(w, "findings: DIFFERENT\n%v\n", diff)
	} else {
		fmt.Fprintln(w, "findings: identical")
	}
}

func ratio(a, b float64) string {
	if b <= 0 {
		return "?"
	}
	return fmt.Sprintf("%.1fx", a/b)
}

// human is a size in MiB with its bytes, or "none".
func human(n int64) string {
	if n < 0 {
		return "none"
	}
	return fmt.Sprintf("%.1f MiB (%d B)", float64(n)/(1<<20), n)
}
