package progress

import (
	"bytes"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keysync/keysync/pkg/reconcile"
)

var _ reconcile.Observer = (*Terminal)(nil)

// fakeClock is a clock that moves only when told.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTest() (*Terminal, *bytes.Buffer, *fakeClock) {
	var buf bytes.Buffer
	clock := &fakeClock{t: time.Date(2024, 6, 1, 2, 0, 0, 0, time.UTC)}
	term := New(&buf)
	term.now = clock.now
	return term, &buf, clock
}

// screen is what a terminal shows after out: each \r\x1b[K erases the
// current line, each \n ends one.
func screen(out string) []string {
	lines := []string{""}
	for len(out) > 0 {
		switch {
		case strings.HasPrefix(out, clearLine):
			lines[len(lines)-1] = ""
			out = out[len(clearLine):]
		case out[0] == '\n':
			lines = append(lines, "")
			out = out[1:]
		default:
			i := strings.IndexAny(out, "\r\n")
			if i < 0 {
				i = len(out)
			}
			lines[len(lines)-1] += out[:i]
			out = out[i:]
		}
	}
	return lines
}

func TestRunOnScreen(t *testing.T) {
	term, buf, clock := newTest()
	log := slog.New(slog.NewTextHandler(term.Writer(), &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))

	term.SourceStarted("A", 120<<20)
	clock.advance(1500 * time.Millisecond)
	term.RowsRead("A", 1234567, 45<<20)
	if got, want := screen(buf.String()), []string{"  A            1,234,567 rows   45.0 MiB / 120.0 MiB  37%  1.5s"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("screen while A loads:\n%q\nwant\n%q", got, want)
	}

	// A log line scrolls above the live line, which is drawn again.
	log.Info("source read", "system", "X")
	if got, want := screen(buf.String()), []string{
		`level=INFO msg="source read" system=X`,
		"  A            1,234,567 rows   45.0 MiB / 120.0 MiB  37%  1.5s",
	}; !reflect.DeepEqual(got, want) {
		t.Fatalf("screen after a log line:\n%q\nwant\n%q", got, want)
	}

	clock.advance(time.Second)
	term.RowsRead("A", 3000000, 120<<20)
	term.SourceDone("A", 3000000)
	term.SourceStarted("Orders_Europe_West", 0) // no size known, a long name
	clock.advance(200 * time.Millisecond)
	term.RowsRead("Orders_Europe_West", 12, 0)
	term.SourceDone("Orders_Europe_West", 12)
	term.Phase("load", 2700*time.Millisecond)
	clock.advance(400 * time.Millisecond)
	// The ticker's redraw, by hand: the running phase's time so far.
	term.mu.Lock()
	term.draw(term.phaseLine())
	term.mu.Unlock()
	if got, want := screen(buf.String())[3], "  load 2.7s · compare 0.4s…"; got != want {
		t.Fatalf("phase line during compare = %q, want %q", got, want)
	}
	term.Phase("compare", 1234*time.Millisecond)
	term.Phase("write", 300*time.Millisecond)
	term.Finish()

	want := []string{
		`level=INFO msg="source read" system=X`,
		"  A            3,000,000 rows  120.0 MiB  2.5s",
		"  Orders_Eu…          12 rows  0.2s",
		"  load 2.7s · compare 1.2s · write 0.3s",
		"",
	}
	if got := screen(buf.String()); !reflect.DeepEqual(got, want) {
		t.Errorf("final screen:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A run that fails midway leaves no half-drawn line behind.
func TestFinishErasesTheLiveLine(t *testing.T) {
	term, buf, _ := newTest()
	term.SourceStarted("A", 100)
	term.RowsRead("A", 5, 50)
	term.Finish()
	if got := screen(buf.String()); !reflect.DeepEqual(got, []string{""}) {
		t.Errorf("screen after Finish = %q, want it empty", got)
	}
	// Log lines after the run go through untouched.
	term.Writer().Write([]byte("after\n"))
	if got := screen(buf.String()); !reflect.DeepEqual(got, []string{"after", ""}) {
		t.Errorf("screen = %q, want the log line alone", got)
	}
}

// Peers read side by side: the live line shows the source that reported
// last, each source's final line stays when it is done, and the other
// source, still loading, takes the live line over.
func TestSourcesSideBySide(t *testing.T) {
	term, buf, clock := newTest()
	term.SourceStarted("B", 100<<20)
	term.SourceStarted("C", 200<<20)
	clock.advance(time.Second)
	term.RowsRead("B", 1000, 50<<20)
	if got, want := screen(buf.String()), []string{"  B                1,000 rows   50.0 MiB / 100.0 MiB  50%  1.0s"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("screen after B reports:\n%q\nwant\n%q", got, want)
	}
	term.RowsRead("C", 500, 50<<20)
	if got, want := screen(buf.String()), []string{"  C                  500 rows   50.0 MiB / 200.0 MiB  25%  1.0s"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("screen after C reports:\n%q\nwant\n%q", got, want)
	}
	term.SourceDone("B", 2000)
	if got, want := screen(buf.String()), []string{
		"  B                2,000 rows   50.0 MiB  1.0s",
		"  C                  500 rows   50.0 MiB / 200.0 MiB  25%  1.0s",
	}; !reflect.DeepEqual(got, want) {
		t.Fatalf("screen after B is done:\n%q\nwant\n%q", got, want)
	}
	term.SourceDone("C", 900)
	term.Finish()
	if got, want := screen(buf.String()), []string{
		"  B                2,000 rows   50.0 MiB  1.0s",
		"  C                  900 rows   50.0 MiB  1.0s",
		"",
	}; !reflect.DeepEqual(got, want) {
		t.Errorf("final screen:\n%q\nwant\n%q", got, want)
	}
}

// Calls about a source that is not loading are ignored (they would draw
// over it).
func TestOtherSourceIgnored(t *testing.T) {
	term, buf, _ := newTest()
	term.SourceStarted("A", 0)
	before := buf.Len()
	term.RowsRead("B", 5, 50)
	term.SourceDone("B", 5)
	if buf.Len() != before {
		t.Errorf("calls about B drew %q", buf.String()[before:])
	}
}

func TestDetect(t *testing.T) {
	if term := Detect(&bytes.Buffer{}); term != nil {
		t.Error("Detect found a terminal in a bytes.Buffer")
	}
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if term := Detect(f); term != nil {
		t.Error("Detect found a terminal in a regular file")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if term := Detect(w); term != nil {
		t.Error("Detect found a terminal in a pipe")
	}
}

func TestPhaseOrderIsReconciles(t *testing.T) {
	if want := []string{reconcile.PhaseLoad, reconcile.PhaseCompare, reconcile.PhaseWrite}; !reflect.DeepEqual(phaseOrder, want) {
		t.Errorf("phaseOrder = %q, want reconcile's %q", phaseOrder, want)
	}
}

func TestFormats(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{commas(0), "0"},
		{commas(999), "999"},
		{commas(1000), "1,000"},
		{commas(1234567), "1,234,567"},
		{size(0), "0 B"},
		{size(1023), "1023 B"},
		{size(1536), "1.5 KiB"},
		{size(1023 << 10), "1023.0 KiB"},
		{size(1048550), "1.0 MiB"}, // 1023.97 KiB would read 1024.0 KiB
		{size(5 << 30), "5.0 GiB"},
		{seconds(1250 * time.Millisecond), "1.2s"},
		{clip("Orders_Europe_West", 10), "Orders_Eu…"},
		{clip("B", 10), "B"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// The ticker redraws the live line between events, and Finish stops it.
func TestTicker(t *testing.T) {
	term, buf, _ := newTest()
	term.tick = time.Millisecond
	term.Phase("load", time.Second)
	draws := func() int {
		term.mu.Lock()
		defer term.mu.Unlock()
		return strings.Count(buf.String(), clearLine)
	}
	deadline := time.Now().Add(10 * time.Second)
	for draws() < 3 { // Phase's own draw, then at least two ticks
		if time.Now().After(deadline) {
			t.Fatalf("the ticker redrew nothing: %q", buf.String())
		}
		time.Sleep(time.Millisecond)
	}
	term.Finish()
	term.mu.Lock()
	stopped := term.stop == nil
	term.mu.Unlock()
	if !stopped {
		t.Error("Finish left the ticker running")
	}
}
