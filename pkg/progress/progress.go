package progress

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
)

// clearLine returns the cursor to the start of the line and erases it.
const clearLine = "\r\x1b[K"

// Terminal draws progress on a terminal. It implements reconcile.Observer.
// Its methods are safe for concurrent use.
type Terminal struct {
	mu   sync.Mutex
	w    io.Writer
	now  func() time.Time
	live string // the live line as drawn, without its end; "" when none

	// tick is how often the live line is redrawn to advance its clock
	// between two events; 0 turns the ticker off (tests).
	tick time.Duration
	stop chan struct{} // closed by Finish to stop the ticker; nil when it is not running

	// The run in progress: the sources being read (several at once when
	// peers are read side by side), in the order they started, and the one
	// whose line is live (the last to report).
	srcs       []*sourceState
	cur        *sourceState
	phases     []phaseTime
	phaseStart time.Time // when the running phase began
}

type sourceState struct {
	name              string
	size, rows, bytes int64
	start             time.Time
}

type phaseTime struct {
	name string
	took time.Duration
}

// phaseOrder is the order of reconcile's phases: after the last one the
// phase line is final.
var phaseOrder = []string{"load", "compare", "write"}

// New returns a Terminal drawing on w as if w were a terminal, without a
// ticker. Detect is what commands use.
func New(w io.Writer) *Terminal {
	return &Terminal{w: w, now: time.Now}
}

// Detect returns a Terminal on w when w is an interactive terminal (and
// TERM is not "dumb"), nil otherwise.
func Detect(w io.Writer) *Terminal {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("TERM") == "dumb" {
		return nil
	}
	if !isatty.IsTerminal(f.Fd()) && !isatty.IsCygwinTerminal(f.Fd()) {
		return nil
	}
	t := New(w)
	t.tick = 250 * time.Millisecond
	return t
}

// Writer returns a writer for log lines: each write clears the live line,
// writes, and draws the live line again below it.
func (t *Terminal) Writer() io.Writer { return logWriter{t} }

type logWriter struct{ t *Terminal }

func (lw logWriter) Write(p []byte) (int, error) {
	t := lw.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.live != "" {
		io.WriteString(t.w, clearLine)
	}
	n, err := t.w.Write(p)
	if t.live != "" {
		io.WriteString(t.w, t.live)
	}
	return n, err
}

// SourceStarted begins system's live line; size is its input's size, 0 when unknown.
func (t *Terminal) SourceStarted(system string, size int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := &sourceState{name: system, size: size, start: t.now()}
	t.srcs = append(t.srcs, s)
	t.cur = s
	t.draw(t.sourceLine(s, false))
}

// RowsRead updates system's line and makes it the live one: while several
// sources are read at once, the live line shows the one that reported last.
func (t *Terminal) RowsRead(system string, rows, bytes int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.source(system)
	if s == nil {
		return
	}
	s.rows, s.bytes = rows, bytes
	t.cur = s
	t.draw(t.sourceLine(s, false))
}

// SourceDone leaves system's line on screen with its final counts; another
// source still being read takes over the live line.
func (t *Terminal) SourceDone(system string, rows int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.source(system)
	if s == nil {
		return
	}
	s.rows = rows
	t.print(t.sourceLine(s, true))
	t.srcs = slices.DeleteFunc(t.srcs, func(x *sourceState) bool { return x == s })
	t.cur = nil
	if n := len(t.srcs); n > 0 {
		t.cur = t.srcs[n-1]
		t.draw(t.sourceLine(t.cur, false))
	}
}

// source is the live source named system, nil when there is none. Called
// with t.mu held.
func (t *Terminal) source(system string) *sourceState {
	for _, s := range t.srcs {
		if s.name == system {
			return s
		}
	}
	return nil
}

// Phase records that phase name took took. The phase line is live until the
// last phase, then stays on screen.
func (t *Terminal) Phase(name string, took time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.phases = append(t.phases, phaseTime{name, took})
	t.phaseStart = t.now()
	if name == phaseOrder[len(phaseOrder)-1] {
		t.print(t.phaseLine())
		t.phases = nil
		return
	}
	t.draw(t.phaseLine())
}

// Finish ends a run's display, whatever its outcome: it stops the ticker and
// erases a live line left by a run that failed midway. Lines already done
// stay.
func (t *Terminal) Finish() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stop != nil {
		close(t.stop)
		t.stop = nil
	}
	if t.live != "" {
		io.WriteString(t.w, clearLine)
		t.live = ""
	}
	t.srcs, t.cur, t.phases = nil, nil, nil
}

// startTicker redraws the live line every t.tick so its clock moves while
// nothing else happens (a long compare). Called with t.mu held.
func (t *Terminal) startTicker() {
	if t.tick <= 0 || t.stop != nil {
		return
	}
	stop := make(chan struct{})
	t.stop = stop
	go func() {
		tk := time.NewTicker(t.tick)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				t.mu.Lock()
				switch {
				case t.cur != nil:
					t.draw(t.sourceLine(t.cur, false))
				case len(t.phases) > 0:
					t.draw(t.phaseLine())
				}
				t.mu.Unlock()
			}
		}
	}()
}

// draw replaces the live line with line, and makes sure the ticker keeps
// it moving. Called with t.mu held.
func (t *Terminal) draw(line string) {
	io.WriteString(t.w, clearLine+line)
	t.live = line
	t.startTicker()
}

// print replaces the live line with line for good. Called with t.mu held.
func (t *Terminal) print(line string) {
	io.WriteString(t.w, clearLine+line+"\n")
	t.live = ""
}

// sourceLine reads like this while the source loads, and when it is done:
//
//	A            1,234,567 rows   45.0 MiB / 120.0 MiB  37%  1.5s
//	A            3,000,000 rows  120.0 MiB  2.5s
func (t *Terminal) sourceLine(s *sourceState, done bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  %-10s %11s rows", clip(s.name, 10), commas(s.rows))
	switch {
	case done || s.size <= 0:
		if s.bytes > 0 {
			fmt.Fprintf(&b, "  %9s", size(s.bytes))
		}
		if !done {
			b.WriteString("…")
		}
	default:
		pct := min(100, 100*s.bytes/s.size)
		fmt.Fprintf(&b, "  %9s / %s %3d%%", size(s.bytes), size(s.size), pct)
	}
	fmt.Fprintf(&b, "  %s", seconds(t.now().Sub(s.start)))
	return b.String()
}

// phaseLine reads like
//
//	load 3.4s · compare 1.2s · write 0.3s…
//
// with the running phase's time so far and an ellipsis while it runs.
func (t *Terminal) phaseLine() string {
	parts := make([]string, 0, len(phaseOrder))
	for _, p := range t.phases {
		parts = append(parts, p.name+" "+seconds(p.took))
	}
	if n := len(t.phases); n > 0 && n < len(phaseOrder) && t.phases[n-1].name == phaseOrder[n-1] {
		parts = append(parts, phaseOrder[n]+" "+seconds(t.now().Sub(t.phaseStart))+"…")
	}
	return "  " + strings.Join(parts, " · ")
}

// commas writes n with thousands separators.
func commas(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return s
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// size writes n bytes in binary units, one decimal above bytes.
func size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/unit, 0
	for v >= unit-0.05 && i < 3 { // so that 1023.96 KiB reads 1.0 MiB, not 1024.0 KiB
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGT"[i])
}

// seconds writes d in seconds with one decimal.
func seconds(d time.Duration) string {
	return fmt.Sprintf("%.1fs", d.Seconds())
}

// clip shortens s to n runes, marking the cut.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
