package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestGracePeriod(t *testing.T) {
	const sources = "sources:\n  A: {path: a.csv}\n  B: {path: b.csv}\n"
	tests := []struct {
		name, value string
		want        time.Duration
		wantErr     bool
	}{
		{"hours", "24h", 24 * time.Hour, false},
		{"minutes", "90m", 90 * time.Minute, false},
		{"days", "2d", 48 * time.Hour, false},
		{"half a day", "0.5d", 12 * time.Hour, false},
		{"zero", "0s", 0, false},
		{"negative", "-1h", 0, true},
		{"words", "a day", 0, true},
		{"bare number", "24", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(strings.NewReader("grace_period: \""+tt.value+"\"\n"+sources), t.TempDir())
			if tt.wantErr {
				var cerr *Error
				if !errors.As(err, &cerr) || cerr.Field != "grace_period" {
					t.Fatalf("Parse = %v, want a *config.Error naming grace_period", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.GracePeriod != tt.want {
				t.Errorf("GracePeriod = %v, want %v", c.GracePeriod, tt.want)
			}
		})
	}
	c, err := Parse(strings.NewReader(sources), t.TempDir())
	if err != nil || c.GracePeriod != 0 {
		t.Fatalf("without grace_period: %v, %v; want 0", c.GracePeriod, err)
	}
}

func TestTooManySources(t *testing.T) {
	var b strings.Builder
	b.WriteString("authority: S0\nsources:\n")
	for i := 0; i <= MaxSources; i++ {
		fmt.Fprintf(&b, "  S%d: {path: s%d.csv}\n", i, i)
	}
	_, err := Parse(strings.NewReader(b.String()), t.TempDir())
	var cerr *Error
	if !errors.As(err, &cerr) || cerr.Field != "sources" || !strings.Contains(err.Error(), "at most 62") {
		t.Fatalf("Parse of %d sources = %v, want a *config.Error naming sources and the limit", MaxSources+1, err)
	}
}
