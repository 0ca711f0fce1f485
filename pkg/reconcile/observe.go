package reconcile

import (
	"os"
	"time"
)

// Observer follows a run as it goes, for a progress display. The source
// calls (SourceStarted, RowsRead, SourceDone) come from the extraction
// goroutines: the authority's first and alone, then the peers', several at
// a time (one goroutine per CPU), each source's calls in order; Phase comes
// from the goroutine that called Run. An Observer must be safe for that,
// and quick: RowsRead is called on the hot path (though at most every
// progressInterval per source).
type Observer interface {
	// SourceStarted: system is about to be read; size is its input's size
	// in bytes, 0 when unknown (an HTTP source).
	SourceStarted(system string, size int64)
	// RowsRead: system has read rows records (accepted and rejected) and
	// bytes bytes of input so far; bytes stays 0 for a source type that does
	// not count them as it goes.
	RowsRead(system string, rows, bytes int64)
	// SourceDone: system has been read whole, rows records in all. A
	// source that fails gets no SourceDone.
	SourceDone(system string, rows int64)
	// Phase: a phase of the run (PhaseLoad, PhaseCompare, PhaseWrite, in
	// that order) is over and took took. A run that fails stops calling.
	Phase(name string, took time.Duration)
}

// The phases of a run, as Observer.Phase names them.
const (
	PhaseLoad    = "load"    // reading every source and staging its rows
	PhaseCompare = "compare" // distinct keys, presence, findings
	PhaseWrite   = "write"   // registry, summary, audit, reports, commit
)

// Option changes how Run runs.
type Option func(*options)

// WithObserver makes Run report its progress to o.
func WithObserver(o Observer) Option {
	return func(opts *options) {
		if o != nil {
			opts.observer = o
		}
	}
}

type options struct {
	observer Observer
}

func runOptions(opts []Option) options {
	o := options{observer: nopObserver{}}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// nopObserver is the Observer of a run nobody watches.
type nopObserver struct{}

func (nopObserver) SourceStarted(string, int64)   {}
func (nopObserver) RowsRead(string, int64, int64) {}
func (nopObserver) SourceDone(string, int64)      {}
func (nopObserver) Phase(string, time.Duration)   {}

// How often the extraction reports a source's progress: it looks at the
// clock every progressEvery records, and reports when progressInterval has
// passed since the last report (a variable for the tests).
const progressEvery = 2048

var progressInterval = 100 * time.Millisecond

// sourceProgress counts one source's records for the observer. A nil
// *sourceProgress (nobody watching) costs one comparison per record.
type sourceProgress struct {
	obs         Observer
	system      string
	rows, bytes int64
	check       int64 // look at the clock when rows reaches it
	last        time.Time
}

// newSourceProgress tells obs that system starts, and returns its counter;
// nil for the nopObserver.
func newSourceProgress(obs Observer, system, path string) *sourceProgress {
	if _, ok := obs.(nopObserver); ok {
		return nil
	}
	var size int64
	if path != "" {
		if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
			size = fi.Size()
		}
	}
	obs.SourceStarted(system, size)
	return &sourceProgress{obs: obs, system: system, check: progressEvery, last: time.Now()}
}

// record counts one record read, reporting now and then.
func (p *sourceProgress) record() {
	if p == nil {
		return
	}
	p.rows++
	if p.rows < p.check {
		return
	}
	p.check = p.rows + progressEvery
	if now := time.Now(); now.Sub(p.last) >= progressInterval {
		p.last = now
		p.obs.RowsRead(p.system, p.rows, p.bytes)
	}
}

// done reports the source's final counts.
func (p *sourceProgress) done(rows, bytes int64) {
	if p == nil {
		return
	}
	p.obs.RowsRead(p.system, rows, bytes)
	p.obs.SourceDone(p.system, rows)
}

// BytesRead makes batchSink a source.ByteCounter: a source that supports it
// tells the sink how much of its input it has consumed.
func (s *batchSink) BytesRead(total int64) {
	if s.progress != nil {
		s.progress.bytes = total
	}
}
