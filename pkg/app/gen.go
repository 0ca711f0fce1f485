package app

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/keysync/keysync/pkg/gen"
)

func genCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:  "gen",
		Usage: "write realistic test inputs and a config to try keysync on",
		Description: `Writes DIR/input/A.csv with N rows, one DIR/input/<peer>.csv per peer and
DIR/keysync-config.yaml, replacing any that exist. Each peer has about 97% of
A's keys, spelled the way real exports do (case, _ . / : | and spaces as
delimiters, doubled delimiters, leading zeros added or dropped, blanks, #),
plus --drift keys A lacks and --dup keys spelled twice. The config's
pad_numbers: 8 makes every spelling normalize to A's key. The same flags give
byte-identical files; memory use does not grow with N.

Examples:
  keysync gen --rows 100000 --out /tmp/demo
  keysync sync --config /tmp/demo/keysync-config.yaml
  keysync gen --rows 10_000_000 --out big --seed 7 --peers B,C --drift 0.05 --dup 0.01`,
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "rows", Usage: "rows of the authority A: `N` >= 1 (10_000_000 works)"},
			&cli.StringFlag{Name: "out", Usage: "the `DIR` to write into, created if missing"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "the seed `S` of every random choice"},
			&cli.StringFlag{Name: "peers", Value: strings.Join(gen.DefaultPeers, ","), Usage: "the peer systems, comma-separated: `B,C,...`"},
			&cli.Float64Flag{Name: "drift", Value: 0.02, Usage: "each peer adds `RATIO`*N keys that A lacks; in [0, 0.5]"},
			&cli.Float64Flag{Name: "dup", Value: 0.005, Usage: "each peer spells `RATIO` of its keys on two rows; in [0, 0.5]"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("gen takes no arguments, got %q", c.Args().Slice())
			}
			o := gen.Options{
				Rows:  c.Int("rows"),
				Seed:  c.Uint64("seed"),
				Drift: c.Float64("drift"),
				Dup:   c.Float64("dup"),
				Dir:   c.String("out"),
			}
			for _, p := range strings.Split(c.String("peers"), ",") {
				o.Peers = append(o.Peers, strings.TrimSpace(p))
			}
			if err := o.Validate(); err != nil {
				var oe *gen.OptionError
				if errors.As(err, &oe) {
					return usageErrorf("gen: --%v", err)
				}
				return err
			}

			log := logger(c, env.Stderr)
			cfgPath := gen.ConfigPath(o.Dir)
			if _, err := os.Stat(cfgPath); err == nil {
				log.Warn("overwriting the existing config", "path", cfgPath)
			}
			start := time.Now()
			st, err := gen.Write(c.Context, o)
			if err != nil {
				return err
			}
			elapsed := time.Since(start)
			log.Debug("generated", "rows", st.Rows(), "elapsed", elapsed.Round(time.Millisecond),
				"rows_per_s", int64(float64(st.Rows())/elapsed.Seconds()))
			return printGenStats(env, st)
		},
	}
}

// printGenStats tells the person at the terminal what was written and what to
// run next.
func printGenStats(env Env, st gen.Stats) error {
	w := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	for _, f := range st.Files {
		fmt.Fprintf(w, "wrote\t%s\t%d rows\n", f.Path, f.Rows)
	}
	fmt.Fprintf(w, "wrote\t%s\t\n", st.Config)
	if err := w.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(env.Stdout, "next: keysync sync --config %s\n", shellQuote(st.Config))
	return err
}
