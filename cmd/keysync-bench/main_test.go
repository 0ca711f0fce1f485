package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPhases(t *testing.T) {
	tests := []struct {
		name, log, want string
	}{
		{"today's phases", `{"time":"x","level":"INFO","msg":"run started"}` + "\n" +
			`{"time":"x","level":"DEBUG","msg":"phases","run_id":1,"extract_ms":106,"load_ms":295,"compare_ms":348,"persist_ms":4,"report_ms":36}` + "\n",
			"extract:106,load:295,compare:348,persist:4,report:36"},
		{"a phase added later", `{"msg":"phases","extract_ms":1,"partition_ms":2}`, "extract:1,partition:2"},
		{"no phases line", `{"msg":"run succeeded","duration":"1s"}`, "?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := phases(tt.log); got != tt.want {
				t.Errorf("phases = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBest(t *testing.T) {
	ms := []measure{{wall: 3 * time.Second}, {wall: time.Second, rssKB: 7}, {wall: 2 * time.Second}}
	b, median := best(ms)
	if b.wall != time.Second || b.rssKB != 7 || median != 2*time.Second {
		t.Errorf("best = %v (rss %d), median %v; want 1s (rss 7), median 2s", b.wall, b.rssKB, median)
	}
}

func TestDiskBytesAndRowsRead(t *testing.T) {
	dir := t.TempDir()
	staging := filepath.Join(dir, "keysync.db-staging")
	os.MkdirAll(filepath.Join(staging, "sub"), 0o755)
	os.WriteFile(filepath.Join(staging, "p0"), make([]byte, 100), 0o644)
	os.WriteFile(filepath.Join(staging, "sub", "p1"), make([]byte, 23), 0o644)
	if got := diskBytes(staging); got != 123 {
		t.Errorf("diskBytes(dir) = %d, want 123", got)
	}
	if got := diskBytes(filepath.Join(dir, "keysync.db-wal")); got != -1 {
		t.Errorf("diskBytes(absent) = %d, want -1", got)
	}
	summary := filepath.Join(dir, "reconciliation_summary.csv")
	os.WriteFile(summary, []byte("run_id,system,role,rows_read\n1,A,authority,10\n1,B,peer,7\n"), 0o644)
	if got, err := rowsRead(summary); err != nil || got != 17 {
		t.Errorf("rowsRead = %d, %v; want 17", got, err)
	}
	os.WriteFile(summary, []byte("run_id,system\n1,A\n"), 0o644)
	if _, err := rowsRead(summary); err == nil || !strings.Contains(err.Error(), "no rows_read column") {
		t.Errorf("rowsRead without the column: %v", err)
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"--rows", "0"}, {"--rows", "10", "--runs", "0"}, {"--rows", "10", "extra"},
		{"--rows", "10", "--bin", "/nonexistent"}} {
		var stderr strings.Builder
		err := run(t.Context(), args, &strings.Builder{}, &stderr)
		if _, ok := err.(usageError); !ok {
			t.Errorf("run(%q) = %v, want a usage error", args, err)
		}
	}
}
