package reconcile

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keysync/keysync/pkg/config"
	"github.com/keysync/keysync/pkg/sqlite"
)

// recorder is an Observer that writes down every call.
type recorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *recorder) add(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, fmt.Sprintf(format, args...))
}

func (r *recorder) SourceStarted(system string, size int64) { r.add("start %s %d", system, size) }
func (r *recorder) RowsRead(system string, rows, bytes int64) {
	r.add("rows %s %d %d", system, rows, bytes)
}
func (r *recorder) SourceDone(system string, rows int64)  { r.add("done %s %d", system, rows) }
func (r *recorder) Phase(name string, took time.Duration) { r.add("phase %s", name) }

// observedRun writes A.csv and B.csv with the given numbers of keys and runs
// one reconciliation watched by a recorder.
func observedRun(t *testing.T, rowsA, rowsB int, extra string) (*recorder, map[string]int64, error) {
	t.Helper()
	dir := t.TempDir()
	sizes := map[string]int64{}
	for name, n := range map[string]int{"A": rowsA, "B": rowsB} {
		var b strings.Builder
		b.WriteString("source_key\n")
		for i := range n {
			fmt.Fprintf(&b, "K%d\n", i)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".csv"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		sizes[name] = int64(b.Len())
	}
	cfg, err := config.Parse(strings.NewReader("sources:\n  A: { path: A.csv }\n  B: { path: B.csv }\n"+extra), dir)
	if err != nil {
		t.Fatal(err)
	}
	db, _, err := sqlite.Create(context.Background(), filepath.Join(dir, "keysync.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rec := &recorder{}
	_, err = Run(context.Background(), cfg, db, false, slog.New(slog.DiscardHandler), WithObserver(rec))
	return rec, sizes, err
}

func TestObserverSeesSourcesAndPhases(t *testing.T) {
	// Report at every look at the clock, so the intermediate counts do not
	// depend on the machine's speed.
	defer func(d time.Duration) { progressInterval = d }(progressInterval)
	progressInterval = 0

	rec, sizes, err := observedRun(t, 5000, 3, "")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	want = append(want, fmt.Sprintf("start A %d", sizes["A"]))
	// At 2048 and 4096 records the reader has read some of the file: the
	// byte count is what the CSV reader had consumed then, so only its
	// presence is checked below.
	want = append(want, "rows A 2048 *", "rows A 4096 *")
	want = append(want, fmt.Sprintf("rows A 5000 %d", sizes["A"]), "done A 5000")
	want = append(want, fmt.Sprintf("start B %d", sizes["B"]), fmt.Sprintf("rows B 3 %d", sizes["B"]), "done B 3")
	want = append(want, "phase load", "phase compare", "phase write")
	if len(rec.calls) != len(want) {
		t.Fatalf("observer calls:\n%s\nwant:\n%s", strings.Join(rec.calls, "\n"), strings.Join(want, "\n"))
	}
	for i, w := range want {
		got := rec.calls[i]
		if prefix, ok := strings.CutSuffix(w, "*"); ok {
			var bytes int64
			if !strings.HasPrefix(got, prefix) || func() bool {
				_, err := fmt.Sscanf(strings.TrimPrefix(got, prefix), "%d", &bytes)
				return err != nil
			}() || bytes <= 0 || bytes > sizes["A"] {
				t.Errorf("call %d = %q, want %q with a byte count in (0, %d]", i, got, w, sizes["A"])
			}
			continue
		}
		if got != w {
			t.Errorf("call %d = %q, want %q", i, got, w)
		}
	}
}

// A source that fails ends the calls: no SourceDone for it, no phase.
func TestObserverOnAFailedRun(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "A.csv"), []byte("source_key\nk\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(strings.NewReader("sources:\n  A: { path: A.csv }\n  B: { path: missing.csv }\n"), dir)
	if err != nil {
		t.Fatal(err)
	}
	db, _, err := sqlite.Create(context.Background(), filepath.Join(dir, "keysync.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rec := &recorder{}
	if _, err := Run(context.Background(), cfg, db, false, slog.New(slog.DiscardHandler), WithObserver(rec)); err == nil {
		t.Fatal("run with a missing source succeeded")
	}
	want := []string{"start A 13", "rows A 1 13", "done A 1", "start B 0"}
	if !reflect.DeepEqual(rec.calls, want) {
		t.Errorf("observer calls = %q, want %q", rec.calls, want)
	}
}

// A blocked run reports the load phase, then stops.
func TestObserverOnABlockedRun(t *testing.T) {
	rec, _, err := observedRun(t, 3, 1, "safety: { min_rows: 2 }\n")
	if _, ok := err.(*BlockedError); !ok {
		t.Fatalf("err = %v, want a *BlockedError", err)
	}
	if last := rec.calls[len(rec.calls)-1]; last != "phase load" {
		t.Errorf("last observer call = %q, want the load phase; calls: %q", last, rec.calls)
	}
}

// Without an observer (or with a nil one) nothing is counted: the hot path
// keeps a nil *sourceProgress.
func TestNoObserver(t *testing.T) {
	for _, opts := range [][]Option{nil, {WithObserver(nil)}} {
		if o := runOptions(opts).observer; o != (nopObserver{}) {
			t.Errorf("observer = %#v, want the nopObserver", o)
		}
		if p := newSourceProgress(runOptions(opts).observer, "A", ""); p != nil {
			t.Errorf("newSourceProgress = %#v, want nil without an observer", p)
		}
	}
	var p *sourceProgress
	p.record() // nil-safe
	p.done(1, 1)
}
