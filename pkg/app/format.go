package app

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"text/tabwriter"

	"github.com/gocarina/gocsv"
	"github.com/mattn/go-isatty"
	"github.com/urfave/cli/v2"
)

func formatFlag() cli.Flag {
	return &cli.StringFlag{Name: "format", Usage: "output `FORMAT`: table, csv or json (default: table on a terminal, csv otherwise)"}
}

// outputFormat is --format, or table on a terminal and csv in a pipe.
func outputFormat(c *cli.Context, env Env) (string, error) {
	return chooseFormat(env, "--format", c.String("format"))
}

// chooseFormat checks the value f of the format flag named flag: table, csv
// or json, and when empty table on a terminal and csv in a pipe.
func chooseFormat(env Env, flag, f string) (string, error) {
	switch f {
	case "table", "csv", "json":
		return f, nil
	case "":
		if f, ok := env.Stdout.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			return "table", nil
		}
		return "csv", nil
	default:
		return "", usageErrorf("%s: %q is not table, csv or json", flag, f)
	}
}

// writeRows prints rows (a slice of report records) in format, with the
// report's field names.
func writeRows(w io.Writer, format string, rows any) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	case "csv":
		return gocsv.Marshal(rows, w)
	}
	return writeTable(w, rows)
}

// writeTable aligns rows in columns headed by their csv tags.
func writeTable(w io.Writer, rows any) error {
	v := reflect.ValueOf(rows)
	t := v.Type().Elem()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i := 0; i < t.NumField(); i++ {
		fmt.Fprint(tw, t.Field(i).Tag.Get("csv"), "\t")
	}
	fmt.Fprintln(tw)
	for r := 0; r < v.Len(); r++ {
		row := v.Index(r)
		for i := 0; i < t.NumField(); i++ {
			f := row.Field(i).Interface()
			if m, ok := f.(interface{ MarshalCSV() (string, error) }); ok {
				s, _ := m.MarshalCSV()
				f = s
			}
			fmt.Fprint(tw, f, "\t")
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}
