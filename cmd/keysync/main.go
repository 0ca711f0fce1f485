// Command keysync reconciles the index keys of an authority system and its
// peers. See the README for the commands, the config and the exit codes.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/keysync/keysync/pkg/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Main(ctx, app.Env{Stdout: os.Stdout, Stderr: os.Stderr}, os.Args)
	stop()
	os.Exit(code)
}
