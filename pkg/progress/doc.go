// Package progress shows a run's progress to a person at a terminal: while
// the sources load, one live line for the source being read (rows, bytes,
// share of the file, time), which stays on screen once it is done; then a
// phase line (load, compare, write) with each phase's time. Log lines
// written through Terminal.Writer scroll above the live line instead of
// tearing it.
//
// It is for people only: Detect gives nothing when stderr is not a terminal
// (cron, a pipe, a file), so logs stay clean there.
//
// Why hand-written rather than a progress-bar library: sources are read one
// after the other, so there is only ever one live line; the totals are often
// unknown (HTTP sources, rejected rows), and what matters is rows and bytes,
// not a bar's ETA; and the log lines must interleave with it. That is a
// hundred lines with the standard library, with output a test can compare
// byte for byte.
package progress
