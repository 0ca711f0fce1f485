package dbtest

import "testing"

func TestServersStart(t *testing.T) {
	for _, start := range []func(testing.TB) *Server{Postgres, MariaDB} {
		s := start(t)
		var one int
		if err := s.Admin().QueryRowContext(t.Context(), "SELECT 1").Scan(&one); err != nil || one != 1 {
			t.Fatalf("%s: SELECT 1: %d, %v", s.Kind, one, err)
		}
	}
}
