package app

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/urfave/cli/v2"
)

// Version overrides the module version shown by `keysync version` when set
// at build time (-ldflags "-X github.com/keysync/keysync/pkg/app.Version=v1.2.3");
// by default the version comes from the binary's build information.
var Version = ""

// buildInfo is what `keysync version` shows, from runtime/debug.ReadBuildInfo.
type buildInfo struct {
	Version  string // the module version, "(devel)" for a build of a checkout
	Revision string // the VCS revision, "" when go build did not stamp one
	Time     string // the revision's commit time, RFC 3339
	Modified bool   // the checkout had uncommitted changes
	Go       string // the Go version that built the binary
}

// versionInfo reads the binary's build information; go build stamps the VCS
// revision and time when it builds inside a checkout (go run does not).
func versionInfo() buildInfo {
	bi := buildInfo{Version: "(devel)", Go: runtime.Version()}
	if info, ok := debug.ReadBuildInfo(); ok {
		if info.Main.Version != "" {
			bi.Version = info.Main.Version
		}
		bi.Go = info.GoVersion
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				bi.Revision = s.Value
			case "vcs.time":
				bi.Time = s.Value
			case "vcs.modified":
				bi.Modified = s.Value == "true"
			}
		}
	}
	if Version != "" {
		bi.Version = Version
	}
	return bi
}

// printVersion writes the version lines of `keysync version` and --version.
func printVersion(w io.Writer) error {
	bi := versionInfo()
	rev := bi.Revision
	switch {
	case rev == "":
		rev = "unknown (built without VCS information)"
	case bi.Modified:
		rev += " (modified)"
	}
	t := bi.Time
	if t == "" {
		t = "unknown"
	}
	_, err := fmt.Fprintf(w, "keysync version %s\nrevision: %s\ntime:     %s\ngo:       %s\n", bi.Version, rev, t, bi.Go)
	return err
}

func versionFlag() cli.Flag {
	return &cli.BoolFlag{Name: "version", Aliases: []string{"v"}, Usage: "print the version and exit"}
}

func versionCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version, VCS revision and time, and Go version of this binary",
		Description: `Prints the module version, the VCS revision and commit time the binary was
built from ("(modified)" when the checkout had uncommitted changes) and the
Go version that built it, from the binary's build information. A binary
built with go build inside a checkout carries the revision; go run and
-buildvcs=false builds do not. keysync --version prints the same.

Examples:
  keysync version
  keysync --version`,
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("version takes no arguments, got %q", c.Args().Slice())
			}
			return printVersion(env.Stdout)
		},
	}
}
