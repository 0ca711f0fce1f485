package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "A.csv"), []byte("source_key\na-1\na-2\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "B.csv"), []byte("source_key\nA_1\nb-1\n"), 0o644)
	cfg := filepath.Join(dir, "keysync-config.yaml")
	os.WriteFile(cfg, []byte("sources:\n  A: { path: ./A.csv }\n  B: { path: ./B.csv }\n"), 0o644)
	out := filepath.Join(dir, "out")
	grace := filepath.Join(dir, "grace.yaml")
	os.WriteFile(grace, []byte("grace_period: 1h\nsources:\n  A: { path: ./A.csv }\n  B: { path: ./B.csv }\n"), 0o644)
	noB := filepath.Join(dir, "nob.yaml")
	os.WriteFile(noB, []byte("sources:\n  A: { path: ./A.csv }\n  B: { path: ./none.csv }\n"), 0o644)

	tests := []struct {
		name    string
		args    []string
		usage   bool   // exit code 2
		wantErr string // "" for success
	}{
		{"runs", []string{"--config", cfg, "--output", out}, false, ""},
		{"no output", []string{"--config", cfg}, true, "--output DIR is required"},
		{"an argument", []string{"--config", cfg, "--output", out, "x"}, true, "no arguments expected"},
		{"bad log format", []string{"--config", cfg, "--output", out, "--log-format", "xml"}, true, `--log-format "xml"`},
		{"grace period", []string{"--config", grace, "--output", out}, true, "grace_period 1h0m0s: the floor does not support it"},
		{"missing source", []string{"--config", noB, "--output", out}, false, `source "B"`},
		{"missing config", []string{"--config", filepath.Join(dir, "none.yaml"), "--output", out}, true, "none.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr strings.Builder
			err := run(t.Context(), tt.args, &stderr)
			var ue usageError
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("run: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("run: %v, want an error with %q", err, tt.wantErr)
			case tt.wantErr != "" && errors.As(err, &ue) != tt.usage:
				t.Fatalf("run: %v is a usage error: %v, want %v", err, !tt.usage, tt.usage)
			}
		})
	}
	// What the first case wrote; the failed runs after it left it alone.
	got, err := os.ReadFile(filepath.Join(out, "diff_missing_in_A.csv"))
	if err != nil {
		t.Fatal(err)
	}
	want := "run_id,system,source_key,key,master_key,status,entity_type,location_ref,last_seen_at\n1,B,b-1,B-1,B-1,Proposed,,,\n"
	if string(got) != want {
		t.Errorf("diff_missing_in_A.csv:\n%s\nwant:\n%s", got, want)
	}
	if left, _ := filepath.Glob(filepath.Join(out, ".*tmp-*")); len(left) > 0 {
		t.Errorf("temporary files left behind: %q", left)
	}
}
