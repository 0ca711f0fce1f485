package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// parseGracePeriod reads grace_period: a Go duration ("36h", "90m") or a
// number of days ("2d"). Negative values are refused.
func parseGracePeriod(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil {
			return 0, fmt.Errorf("not a duration (like 24h, 90m or 2d)")
		}
		d = time.Duration(n * float64(24*time.Hour))
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("not a duration (like 24h, 90m or 2d)")
		}
	}
	if d < 0 {
		return 0, fmt.Errorf("must not be negative")
	}
	return d, nil
}
