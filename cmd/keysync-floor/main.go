// Command keysync-floor is the practical floor of `keysync sync`: the same
// comparison done with Go maps and no database (see pkg/floor). It exists to
// be measured against keysync (cmd/keysync-bench) and to check keysync's
// findings; it is no replacement for keysync, since it keeps no registry,
// runs, audit log or guards.
//
// Usage:
//
//	keysync-floor --config keysync-config.yaml --output DIR
//
// It writes reconciliation_summary.csv, diff_missing_in_A.csv,
// diff_missing_from_system.csv, exceptions.csv and rejected_rows.csv into
// DIR, as keysync's first run on a fresh database would, and logs on stderr
// how long reading and comparing took. Exit code 0, 1 on any error, 2 for
// bad usage or a bad config.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/keysync/keysync/pkg/config"
	"github.com/keysync/keysync/pkg/floor"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "keysync-floor: %v\n", err)
		var ue usageError
		if errors.As(err, &ue) || errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError is bad usage or a bad config: exit code 2.
type usageError struct{ error }

func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("keysync-floor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "keysync-config.yaml", "the keysync `FILE` to read the sources and options from")
	out := fs.String("output", "", "the `DIR` to write the reports into (required; never the config's output_dir)")
	logFormat := fs.String("log-format", "text", "log format on stderr: text or json")
	verbose := fs.Bool("verbose", false, "log each source read, too")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("no arguments expected, got %q", fs.Args())}
	}
	if *out == "" {
		return usageError{errors.New("--output DIR is required")}
	}
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if *verbose {
		opts.Level = slog.LevelDebug
	}
	var log *slog.Logger
	switch *logFormat {
	case "text":
		log = slog.New(slog.NewTextHandler(stderr, opts))
	case "json":
		log = slog.New(slog.NewJSONHandler(stderr, opts))
	default:
		return usageError{fmt.Errorf("--log-format %q: use text or json", *logFormat)}
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return usageError{err}
	}
	res, err := floor.Run(ctx, cfg, *out, log)
	if errors.Is(err, floor.ErrUnsupported) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	log.Info("floor done", "rows", res.Rows, "authority_ms", res.Authority.Milliseconds(),
		"peers_ms", res.Peers.Milliseconds(), "write_ms", res.Write.Milliseconds(), "output", *out)
	return nil
}
