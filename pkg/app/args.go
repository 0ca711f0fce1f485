package app

import (
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// normalizeArgs is the one place that reads a command line's shape before
// urfave/cli parses it. urfave/cli v2 parses flags with Go's flag package,
// which stops at the first argument, and reads each flag only at the level
// that defines it; operators expect flags anywhere, as in gh and restic
// (`registry approve KEY --reason x`, `keysync --config X runs list`). So the
// line is reordered: the command path first, then every flag the command
// defines (wherever it was given), then the arguments. A flag only the root
// knows (--version, --help) stays before the command. On the way it turns an
// unknown command or flag into a usage error with urfave/cli's suggestion,
// and `help CMD SUB` into `CMD SUB --help`.
//
// Moving to urfave/cli v3, which parses flags after arguments, would have
// rewritten every command file for this one behaviour; the reordering is one
// function with a table test.
func normalizeArgs(a *cli.App, args []string) ([]string, error) {
	if len(args) < 2 || args[len(args)-1] == "--generate-bash-completion" {
		return args, nil // shell completion reads the line as typed
	}
	takesValue := flagArity(a)
	var (
		path               []*cli.Command // the commands named, outermost first
		root, leaf, params []string
		dashed             []string // the arguments after --
		hasDashes, help    bool
		beforeCmd          []bool // per flag in leaf: given before any command
	)
	var flagToks [][]string
	subs := a.Commands
	resolving := true
	rest := args[1:]
	for i := 0; i < len(rest); i++ {
		tok := rest[i]
		if tok == "--" {
			dashed, hasDashes = rest[i+1:], true
			break
		}
		if name, ok := flagName(tok); ok {
			f := []string{tok}
			if !strings.Contains(tok, "=") && takesValue[name] && i+1 < len(rest) {
				f = append(f, rest[i+1])
				i++
			}
			flagToks = append(flagToks, f)
			beforeCmd = append(beforeCmd, len(path) == 0)
			continue
		}
		if !resolving {
			params = append(params, tok)
			continue
		}
		if tok == "help" || tok == "h" {
			help = true
			continue
		}
		if c := findCommand(subs, tok); c != nil {
			path = append(path, c)
			subs = c.Subcommands
			resolving = len(subs) > 0
			continue
		}
		if len(path) > 0 && path[len(path)-1].Action != nil {
			resolving = false
			params = append(params, tok)
			continue
		}
		if i > 0 && !strings.Contains(rest[i-1], "=") {
			// `keysync --confg FILE runs list`: FILE is the value of a
			// mistyped flag, not a command; the flag is what to fix.
			if name, ok := flagName(rest[i-1]); ok && !knownFlag(a, path, name) {
				return nil, unknownFlag(a, path, rest[i-1])
			}
		}
		return nil, unknownCommand(path, subs, tok)
	}
	var cmd *cli.Command
	if len(path) > 0 {
		cmd = path[len(path)-1]
	}
	for i, f := range flagToks {
		name, _ := flagName(f[0])
		switch {
		case name == "help" || name == "h":
			help = true
		case cmd != nil && hasFlag(cmd.Flags, name):
			leaf = append(leaf, f...)
		case hasFlag(a.Flags, name) && (beforeCmd[i] || cmd == nil || cmd.Action == nil):
			root = append(root, f...)
		default:
			return nil, unknownFlag(a, path, f[0])
		}
	}
	out := append([]string{args[0]}, root...)
	for _, c := range path {
		out = append(out, c.Name)
	}
	out = append(out, leaf...)
	if help {
		return append(out, "--help"), nil
	}
	if hasDashes {
		out = append(out, "--")
	}
	out = append(out, params...)
	return append(out, dashed...), nil
}

// knownFlag says whether name is a flag of the app or of a command on path.
func knownFlag(a *cli.App, path []*cli.Command, name string) bool {
	if name == "help" || name == "h" || hasFlag(a.Flags, name) {
		return true
	}
	for _, c := range path {
		if hasFlag(c.Flags, name) {
			return true
		}
	}
	return false
}

// flagName is the name of the flag tok spells (-x, --name, --name=value).
// A lone "-" (standard input) is an argument, and so is a word with white
// space before any "=" (`keysync sql "-- why\nSELECT 1"`): no flag has one.
func flagName(tok string) (string, bool) {
	if len(tok) < 2 || tok[0] != '-' {
		return "", false
	}
	name := strings.TrimPrefix(strings.TrimPrefix(tok, "-"), "-")
	name, _, _ = strings.Cut(name, "=")
	return name, name != "" && !strings.ContainsAny(name, " \t\n\r")
}

// flagArity tells, for every flag name of the app, whether it takes a value:
// the same name takes one everywhere it is defined.
func flagArity(a *cli.App) map[string]bool {
	m := map[string]bool{}
	var walk func(flags []cli.Flag, cmds []*cli.Command)
	walk = func(flags []cli.Flag, cmds []*cli.Command) {
		for _, f := range flags {
			tv := true
			if d, ok := f.(cli.DocGenerationFlag); ok {
				tv = d.TakesValue()
			}
			for _, n := range f.Names() {
				m[n] = tv
			}
		}
		for _, c := range cmds {
			walk(c.Flags, c.Subcommands)
		}
	}
	walk(a.Flags, a.Commands)
	return m
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

func hasFlag(flags []cli.Flag, name string) bool {
	for _, f := range flags {
		if slices.Contains(f.Names(), name) {
			return true
		}
	}
	return false
}

// commandLine is the command path as typed, for messages.
func commandLine(path []*cli.Command, more ...string) string {
	var words []string
	for _, c := range path {
		words = append(words, c.Name)
	}
	return strings.Join(append(words, more...), " ")
}

// unknownCommand is the usage error for a word that names no command under
// path, with urfave/cli's nearest command as the suggestion.
func unknownCommand(path []*cli.Command, subs []*cli.Command, tok string) error {
	msg := fmt.Sprintf("unknown command %q", commandLine(path, tok))
	if s := suggestCommand(subs, tok); s != "" {
		return usageErrorf("%s; did you mean %q?", msg, commandLine(path, s))
	}
	return usageErrorf("%s (see %s --help)", msg, strings.TrimSpace("keysync "+commandLine(path)))
}

// suggestCommand is the command name nearest to tok (see nearest), or "".
// help is always a candidate: the app's help command is not among cmds
// until urfave/cli sets the app up.
func suggestCommand(cmds []*cli.Command, tok string) string {
	names := []string{"help"}
	for _, c := range cmds {
		names = append(names, c.Names()...)
	}
	return nearest(tok, names)
}

// nearest is the name closest to typed, letter case aside, if it is close
// enough to be what was meant (closeEnough), else "". Ties go to the first.
func nearest(typed string, names []string) string {
	typed = strings.ToLower(typed)
	best, bestDist := "", 0
	for _, n := range names {
		lower := strings.ToLower(n)
		if !closeEnough(typed, lower) {
			continue
		}
		if d := editDistance(typed, lower); best == "" || d < bestDist {
			best, bestDist = n, d
		}
	}
	return best
}

// closeEnough says whether a suggestion is near enough to what was typed to
// be what was meant (urfave/cli's own suggestion always names some word, so
// `help nope` got "completion"): a few edits, a swap of two neighbours
// counting as one, or a prefix of three characters or more.
func closeEnough(typed, suggestion string) bool {
	if len(typed) >= 3 && strings.HasPrefix(suggestion, typed) {
		return true
	}
	return editDistance(typed, suggestion) <= max(1, (len(typed)+2)/4)
}

// editDistance is the optimal string alignment distance of a and b in
// bytes: insertions, deletions, substitutions and swaps of neighbours.
func editDistance(a, b string) int {
	prev2, prev, cur := make([]int, len(b)+1), make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// unknownFlag is the usage error for a flag that the command named by path
// (the app when empty) does not define, with urfave/cli's nearest flag as
// the suggestion.
func unknownFlag(a *cli.App, path []*cli.Command, tok string) error {
	name, _ := flagName(tok)
	flags := a.Flags
	if len(path) > 0 {
		flags = append(slices.Clone(path[len(path)-1].Flags), a.Flags...)
	}
	return usageErrorf("%s", flagMessage(flags, strings.TrimSpace("keysync "+commandLine(path)), name))
}

// flagMessage says that --name is not a flag of where, suggesting the
// nearest one.
func flagMessage(flags []cli.Flag, where, name string) string {
	msg := fmt.Sprintf("unknown flag --%s for %s", name, where)
	var names []string
	for _, f := range flags {
		names = append(names, f.Names()...)
	}
	if s := nearest(name, names); s != "" {
		dashes := "--"
		if len(s) == 1 {
			dashes = "-"
		}
		return msg + fmt.Sprintf("; did you mean %s%s?", dashes, s)
	}
	return msg + fmt.Sprintf(" (see %s --help)", where)
}
