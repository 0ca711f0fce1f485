package source_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/source"
)

// discard is a Sink that keeps nothing, so the benchmark measures the reader.
type discard struct{ rows, rejs int64 }

func (d *discard) Accept(keysync.Row) error       { d.rows++; return nil }
func (d *discard) Reject(keysync.Rejection) error { d.rejs++; return nil }

// writeBenchFile writes n rows with every contract field, 1% of them rejected.
func writeBenchFile(b *testing.B, n int) (string, int64) {
	b.Helper()
	path := filepath.Join(b.TempDir(), "B.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "source_system,source_key,entity_type,location_ref,last_seen_at,notes")
	for i := range n {
		ts := fmt.Sprintf("2024-%02d-%02dT%02d:%02d:%02dZ", i%12+1, i%28+1, i%24, i%60, i%60)
		if i%100 == 99 {
			ts = "2024-02-30"
		}
		fmt.Fprintf(w, "B,inv_%d.%04d ,Invoice,\"WH-%d, bin %d\",%s,some free text\n", i/1000, i%10000, i%7, i%100, ts)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return path, fi.Size()
}

func BenchmarkCSVExtract(b *testing.B) {
	const n = 100_000
	path, size := writeBenchFile(b, n)
	c := source.CSV{System: "B", Path: path}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		var d discard
		st, err := c.Extract(context.Background(), testRules, &d)
		if err != nil {
			b.Fatal(err)
		}
		if st.RowsRead != n || d.rows+d.rejs != n {
			b.Fatalf("read %d rows (%d+%d), want %d", st.RowsRead, d.rows, d.rejs, n)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
}
