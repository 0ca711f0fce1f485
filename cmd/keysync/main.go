// Command keysync reconciles the index keys of an authority system and its
// peers. See the README for the commands, the config and the exit codes.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/keysync/keysync/pkg/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := app.New(app.Env{Stdout: os.Stdout, Stderr: os.Stderr}).RunContext(ctx, os.Args)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "keysync: %v\n", err)
	}
	os.Exit(app.ExitCode(err))
}
