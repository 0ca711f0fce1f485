package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// Main runs keysync with args (os.Args) and returns its exit code. A failing
// command ends with one line on stderr: "keysync: " and the error, or, under
// --log-format json, a JSON record with level, msg and exit_code so that a
// log collector sees the outcome as it sees every other line.
func Main(ctx context.Context, env Env, args []string) int {
	err := Run(ctx, env, args)
	code := ExitCode(err)
	if err == nil {
		return code
	}
	if jsonLogRequested(args) {
		slog.New(slog.NewJSONHandler(env.Stderr, nil)).Error(err.Error(), "exit_code", code)
	} else {
		fmt.Fprintf(env.Stderr, "keysync: %v\n", err)
	}
	return code
}

// Run runs keysync with args after normalizeArgs has put every flag where
// urfave/cli reads it.
func Run(ctx context.Context, env Env, args []string) error {
	a := New(env)
	args, err := normalizeArgs(a, args)
	if err != nil {
		return err
	}
	return a.RunContext(ctx, args)
}

// jsonLogRequested reports whether the command line asks for JSON logs,
// wherever --log-format was given (the last one wins, as in parsing).
func jsonLogRequested(args []string) bool {
	json := false
	for i := 1; i < len(args); i++ {
		if args[i] == "--" {
			break
		}
		name, ok := flagName(args[i])
		if !ok || name != "log-format" {
			continue
		}
		if _, v, found := strings.Cut(args[i], "="); found {
			json = v == "json"
		} else if i+1 < len(args) {
			json = args[i+1] == "json"
			i++
		}
	}
	return json
}
