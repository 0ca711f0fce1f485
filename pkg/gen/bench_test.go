package gen

import (
	"context"
	"io"
	"testing"
)

// BenchmarkWrite measures Write end to end: A and four peers, written in
// parallel to files. rows/s counts the rows of every file.
func BenchmarkWrite(b *testing.B) {
	const rows = 200_000
	o := Options{Rows: rows, Seed: 1, Peers: DefaultPeers, Drift: 0.02, Dup: 0.005, Dir: b.TempDir()}
	var total int64
	for b.Loop() {
		st, err := Write(context.Background(), o)
		if err != nil {
			b.Fatal(err)
		}
		total += st.Rows()
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkFile measures one file on one goroutine, without the disk: the
// generator's own cost per row.
func BenchmarkFile(b *testing.B) {
	const rows = 200_000
	plan := NewPlan(Options{Rows: rows, Seed: 1, Drift: 0.02, Dup: 0.005})
	for _, tt := range []struct {
		name  string
		index int
	}{{"A", 0}, {"B", 1}, {"E", 4}} {
		b.Run(tt.name, func(b *testing.B) {
			var total int64
			for b.Loop() {
				w := newFileWriter(plan, 1, tt.name, tt.index)
				n, err := w.write(context.Background(), io.Discard)
				if err != nil {
					b.Fatal(err)
				}
				total += n
			}
			b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
