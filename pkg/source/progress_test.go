package source_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/source"
)

// countingSink is a Sink and a source.ByteCounter.
type countingSink struct {
	rows   int64
	totals []int64 // every BytesRead, in order
	at     []int64 // rows seen at each BytesRead
}

func (s *countingSink) Accept(keysync.Row) error       { s.rows++; return nil }
func (s *countingSink) Reject(keysync.Rejection) error { s.rows++; return nil }
func (s *countingSink) BytesRead(total int64) {
	s.totals = append(s.totals, total)
	s.at = append(s.at, s.rows)
}

// The CSV reader tells a ByteCounter sink its running byte count: rising,
// ending at the file's size, as the rows arrive rather than all at the end.
func TestCSVReportsBytesRead(t *testing.T) {
	var b strings.Builder
	b.WriteString("source_key\n")
	for i := 0; b.Len() < 300<<10; i++ { // several reads of the 64 KiB buffer
		b.WriteString("key-" + strconv.Itoa(i) + "\n")
	}
	path := filepath.Join(t.TempDir(), "B.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	sink := &countingSink{}
	rules := source.Rules{System: "B", Normalize: strings.ToUpper}
	stats, err := source.CSV{System: "B", Path: path}.Extract(context.Background(), rules, sink)
	if err != nil {
		t.Fatal(err)
	}
	if len(sink.totals) < 4 {
		t.Fatalf("BytesRead called %d times for a %d-byte file, want one per read", len(sink.totals), b.Len())
	}
	for i := 1; i < len(sink.totals); i++ {
		if sink.totals[i] <= sink.totals[i-1] {
			t.Fatalf("BytesRead totals not rising: %v", sink.totals)
		}
	}
	if last := sink.totals[len(sink.totals)-1]; last != int64(b.Len()) || last != stats.Bytes {
		t.Errorf("last BytesRead = %d, want the file size %d (stats say %d)", last, b.Len(), stats.Bytes)
	}
	midway := false
	for _, rows := range sink.at {
		midway = midway || rows > 0 && rows < stats.RowsRead
	}
	if !midway {
		t.Errorf("no BytesRead while the rows were being read (rows seen at each call: %v)", sink.at)
	}
	if sink.rows != stats.RowsRead {
		t.Errorf("sink saw %d rows, stats say %d", sink.rows, stats.RowsRead)
	}
}
