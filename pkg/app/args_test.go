package app

import (
	"slices"
	"strings"
	"testing"
)

// TestEditDistance: the optimal string alignment distance, both ways round.
func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"sync", "sync", 0}, {"snyc", "sync", 1}, {"synk", "sync", 1}, {"aprove", "approve", 1},
		{"dryrun", "dry-run", 1}, {"", "abc", 3}, {"nope", "completion", 7}, {"ca", "abc", 3},
	} {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := editDistance(tt.b, tt.a); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.b, tt.a, got, tt.want)
		}
	}
}

// TestNormalizeArgs: every flag ends up right after the command that
// defines it, whatever its place on the line; unknown commands and flags
// are usage errors with a suggestion.
func TestNormalizeArgs(t *testing.T) {
	a := New(Env{})
	for _, tt := range []struct {
		in, want string // space-separated, without the program name
	}{
		{"registry approve KEY --reason x", "registry approve --reason x KEY"},
		{"registry approve KEY --reason=x --by alice K2", "registry approve --reason=x --by alice KEY K2"},
		{"runs show 1 --format json", "runs show --format json 1"},
		{"--config X runs list", "runs list --config X"},
		{"--db d.db --quiet sync --dry-run", "sync --db d.db --quiet --dry-run"},
		{"-c X sync", "sync -c X"},
		{"--version", "--version"},
		{"-v", "-v"},
		{"help registry approve", "registry approve --help"},
		{"registry help approve", "registry approve --help"},
		{"help", "--help"},
		{"registry", "registry"},
		{"sql --format csv SELECT 1 --db x.db", "sql --format csv --db x.db SELECT 1"},
		{"suppress add B --reason x -- -odd-key", "suppress add --reason x -- B -odd-key"},
		{"db backup - --config c.yaml", "db backup --config c.yaml -"},
		{"registry --generate-bash-completion", "registry --generate-bash-completion"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := normalizeArgs(a, append([]string{"keysync"}, strings.Fields(tt.in)...))
			if err != nil {
				t.Fatalf("normalizeArgs: %v", err)
			}
			if want := append([]string{"keysync"}, strings.Fields(tt.want)...); !slices.Equal(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
	// A statement is an argument even when it starts with a comment.
	stmt := "-- the latest run\nSELECT 1"
	if got, err := normalizeArgs(a, []string{"keysync", "sql", stmt, "--format", "csv"}); err != nil ||
		!slices.Equal(got, []string{"keysync", "sql", "--format", "csv", stmt}) {
		t.Errorf("sql with a leading comment: got %q, %v", got, err)
	}
	for _, tt := range []struct{ in, want string }{
		{"synk", `unknown command "synk"; did you mean "sync"?`},
		{"registry lst", `unknown command "registry lst"; did you mean "registry list"?`},
		{"help registry aprove", `unknown command "registry aprove"; did you mean "registry approve"?`},
		{"sync --dryrun", "unknown flag --dryrun for keysync sync; did you mean --dry-run?"},
		{"--dryrun sync", "unknown flag --dryrun for keysync sync; did you mean --dry-run?"},
		{"runs list --version", "unknown flag --version for keysync runs list"},
		{"snyc", `unknown command "snyc"; did you mean "sync"?`},
		{"reg", `unknown command "reg"; did you mean "registry"?`},
		// Far from every command: no suggestion, a pointer to --help.
		{"nope", `unknown command "nope" (see keysync --help)`},
		{"help nope", `unknown command "nope" (see keysync --help)`},
		{"sync --colour", "unknown flag --colour for keysync sync (see keysync sync --help)"},
		// The nearest word, letter case aside, help included.
		{"sync --DRY-RUN", "unknown flag --DRY-RUN for keysync sync; did you mean --dry-run?"},
		{"findings --kye", "unknown flag --kye for keysync findings; did you mean --key?"},
		{"egn", `unknown command "egn"; did you mean "gen"?`},
		{"hlep", `unknown command "hlep"; did you mean "help"?`},
		{"bd", `unknown command "bd"; did you mean "db"?`},
		// A mistyped value flag before the command: its value is not a command.
		{"--confg keysync-config.yaml runs list", "unknown flag --confg for keysync; did you mean --config?"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			_, err := normalizeArgs(a, append([]string{"keysync"}, strings.Fields(tt.in)...))
			if err == nil || !strings.Contains(err.Error(), tt.want) || ExitCode(err) != ExitUsage {
				t.Errorf("got %v (exit %d), want a usage error holding %q", err, ExitCode(err), tt.want)
			}
		})
	}
}
