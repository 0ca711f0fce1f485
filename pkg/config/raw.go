package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/normalize"
)

// rawConfig mirrors the YAML file. Scalars are pointers so that a value
// written as false, 0 or "" can be told from one left out, which gets the
// default. It is the schema checkNode walks to find unknown keys.
type rawConfig struct {
	Schedule     *string               `yaml:"schedule"`
	Database     *string               `yaml:"database"`
	OutputDir    *string               `yaml:"output_dir"`
	Authority    *string               `yaml:"authority"`
	Normalize    *rawNormalize         `yaml:"normalize"`
	Provisioning *rawProvisioning      `yaml:"provisioning"`
	Output       *rawOutput            `yaml:"output"`
	Sources      map[string]*rawSource `yaml:"sources"`
	Safety       *rawSafety            `yaml:"safety"`
	GracePeriod  *string               `yaml:"grace_period"`
	Notify       *rawNotify            `yaml:"notify"`
	Retention    *rawRetention         `yaml:"retention"`
}

type rawRetention struct {
	KeepRuns *int `yaml:"keep_runs"`
}

type rawNormalize struct {
	Uppercase      *bool   `yaml:"uppercase"`
	StripNonAlnum  *bool   `yaml:"strip_non_alnum"`
	CollapseDelims *string `yaml:"collapse_delims"`
	Delimiters     *string `yaml:"delimiters"`
	PadNumbers     *int    `yaml:"pad_numbers"`
}

type rawProvisioning struct {
	Strategy    *string `yaml:"strategy"`
	AutoApprove *bool   `yaml:"auto_approve"`
}

type rawOutput struct {
	Formats *[]string `yaml:"formats"`
}

// rawSource is one entry of sources. Which keys a source may have depends
// on its type (sourceOptions); the order here is the order of the "known:"
// list in an unknown-key error.
type rawSource struct {
	Type       *string                `yaml:"type"`
	Path       *string                `yaml:"path"`
	Pick       *string                `yaml:"pick"`
	Encoding   *string                `yaml:"encoding"`
	Member     *string                `yaml:"member"`
	Delimiter  *string                `yaml:"delimiter"`
	Header     *bool                  `yaml:"header"`
	Columns    map[string]rawFieldRef `yaml:"columns"`
	Query      *string                `yaml:"query"`
	DSN        *string                `yaml:"dsn"`
	URL        *string                `yaml:"url"`
	Headers    map[string]string      `yaml:"headers"`
	Items      *string                `yaml:"items"`
	Fields     map[string]rawFieldRef `yaml:"fields"`
	Pagination *string                `yaml:"pagination"`
	Next       *string                `yaml:"next"`
	PageParam  *string                `yaml:"page_param"`
	PageStart  *int                   `yaml:"page_start"`
	Timeout    *string                `yaml:"timeout"`
	MaxPages   *int                   `yaml:"max_pages"`
	Retries    *int                   `yaml:"retries"`
	Backoff    *string                `yaml:"backoff"`
	Filter     *string                `yaml:"filter"`
}

// rawFieldRef is the value of a columns: or fields: entry: one name, or a
// list of names (a composite source_key).
type rawFieldRef struct {
	Names []string
	List  bool
}

// UnmarshalYAML accepts a string or a list of strings. checkNode has already
// reported anything else with its path, so the errors here are a backstop.
func (r *rawFieldRef) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch {
	case isNull(n):
		return nil
	case n.Kind == yaml.ScalarNode:
		var s string
		if err := n.Decode(&s); err != nil {
			return errFieldRef
		}
		r.Names = []string{s}
		return nil
	case n.Kind == yaml.SequenceNode:
		if err := n.Decode(&r.Names); err != nil {
			return errFieldRef
		}
		r.List = true
		return nil
	}
	return errFieldRef
}

var errFieldRef = errors.New("want a name or a list of names")

type rawSafety struct {
	MinRows          *rawMinRows `yaml:"min_rows"`
	MaxDropRatio     *float64    `yaml:"max_drop_ratio"`
	MaxRejectedRatio *float64    `yaml:"max_rejected_ratio"`
	MaxMissingRatio  *float64    `yaml:"max_missing_ratio"`
	MaxNewProposals  *int        `yaml:"max_new_proposals"`
	MaxUnchangedRuns *int        `yaml:"max_unchanged_runs"`
}

// rawMinRows is safety.min_rows: one number for every source, or a map of
// source name to number.
type rawMinRows struct {
	All       *int
	PerSource map[string]int
}

// UnmarshalYAML accepts a number or a mapping of numbers. checkNode has
// already reported anything else with its path, so the errors here are a
// backstop.
func (m *rawMinRows) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.ScalarNode:
		var all int
		if err := n.Decode(&all); err != nil {
			return errMinRows
		}
		m.All = &all
		return nil
	case yaml.MappingNode:
		var per map[string]int
		if err := n.Decode(&per); err != nil {
			return errMinRows
		}
		m.PerSource = per
		return nil
	}
	return errMinRows
}

var errMinRows = errors.New("want a number or a map of source names to numbers")

var (
	rawConfigType = reflect.TypeOf(rawConfig{})
	minRowsType   = reflect.TypeOf(rawMinRows{})
	fieldRefType  = reflect.TypeOf(rawFieldRef{})
)

// checkNode checks n against the Go type t the typed decode will put it in:
// every mapping key must be a field of the struct it fills, and every scalar
// must decode into its field. The first problem is returned as an *Error with
// the dotted path and line of the offending key or value.
func checkNode(n *yaml.Node, t reflect.Type, path string) error {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if isNull(n) {
		return nil
	}
	if t == minRowsType {
		switch n.Kind {
		case yaml.ScalarNode:
			return checkNode(n, reflect.TypeOf(0), path)
		case yaml.MappingNode:
			return checkNode(n, reflect.TypeOf(map[string]int{}), path)
		}
		return wantError(n, path, "a number or a map of source names to numbers")
	}
	if t == fieldRefType {
		switch n.Kind {
		case yaml.ScalarNode:
			return checkNode(n, reflect.TypeOf(""), path)
		case yaml.SequenceNode:
			return checkNode(n, reflect.TypeOf([]string{}), path)
		}
		return wantError(n, path, "a name or a list of names")
	}
	switch t.Kind() {
	case reflect.Pointer:
		return checkNode(n, t.Elem(), path)
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return wantError(n, path, "a mapping")
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i], n.Content[i+1]
			if key.Value == "<<" && key.Tag == "!!merge" {
				if err := checkMerge(val, t, path); err != nil {
					return err
				}
				continue
			}
			ft, ok := fields[key.Value]
			if !ok {
				return &Error{
					Field: join(path, key.Value),
					Line:  key.Line,
					Msg:   "unknown key (known: " + strings.Join(fieldNames(t), ", ") + ")",
				}
			}
			if err := checkNode(val, ft, join(path, key.Value)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return wantError(n, path, "a mapping")
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i], n.Content[i+1]
			if key.Kind != yaml.ScalarNode {
				return &Error{Field: path, Line: key.Line, Msg: "keys must be plain names"}
			}
			if err := checkNode(val, t.Elem(), join(path, key.Value)); err != nil {
				return err
			}
		}
		return nil
	}
	if err := n.Decode(reflect.New(t).Interface()); err != nil {
		return wantError(n, path, describe(t))
	}
	return nil
}

// checkMerge checks the value of a YAML merge key (<<), a mapping or a list of
// mappings, against the struct type t it merges into.
func checkMerge(n *yaml.Node, t reflect.Type, path string) error {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.SequenceNode {
		for _, m := range n.Content {
			if err := checkNode(m, t, path); err != nil {
				return err
			}
		}
		return nil
	}
	return checkNode(n, t, path)
}

// wantError reports that n, at path, is not what its key takes.
func wantError(n *yaml.Node, path, want string) *Error {
	if path == "" {
		return &Error{Line: n.Line, Msg: "the top level must be a mapping of keys, not " + kindName(n.Kind)}
	}
	if n.Kind == yaml.ScalarNode {
		return &Error{Field: path, Value: n.Value, Line: n.Line, Msg: "is not " + want}
	}
	return &Error{Field: path, Line: n.Line, Msg: "must be " + want + ", not " + kindName(n.Kind)}
}

func describe(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int:
		return "an integer"
	case reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "a list of " + strings.TrimPrefix(describe(t.Elem()), "a ") + "s"
	}
	return t.String()
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return "a scalar"
}

func isNull(n *yaml.Node) bool {
	return n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// yamlFields maps the yaml names of t's fields to their types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	m := make(map[string]reflect.Type, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if name := yamlName(f); name != "" {
			m[name] = f.Type
		}
	}
	return m
}

// fieldNames lists the yaml names of t's fields in declaration order.
func fieldNames(t reflect.Type) []string {
	names := make([]string, 0, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		if name := yamlName(t.Field(i)); name != "" {
			names = append(names, name)
		}
	}
	return names
}

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" {
		return ""
	}
	return name
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// config applies the defaults to r and resolves its relative paths against dir.
// It reports only what a Config cannot represent (an explicitly empty path, a
// delimiter that is not one character); Validate checks the rest.
func (r *rawConfig) config(dir string) (*Config, error) {
	c := &Config{
		Dir:          dir,
		Database:     DefaultDatabase,
		OutputDir:    DefaultOutputDir,
		Authority:    DefaultAuthority,
		Normalize:    normalize.Defaults(),
		Provisioning: Provisioning{Strategy: DefaultStrategy},
		Output:       Output{Formats: []string{FormatCSV}},
		Sources:      make(map[string]Source, len(r.Sources)),
	}
	if r.Schedule != nil {
		c.Schedule = strings.TrimSpace(*r.Schedule)
	}
	if r.Database != nil {
		c.Database = *r.Database
	}
	if r.OutputDir != nil {
		c.OutputDir = *r.OutputDir
	}
	if r.Authority != nil {
		c.Authority = *r.Authority
	}
	if r.GracePeriod != nil {
		d, err := parseGracePeriod(*r.GracePeriod)
		if err != nil {
			return nil, errorf("grace_period", *r.GracePeriod, "%v", err)
		}
		c.GracePeriod = d
	}
	if c.Database == "" {
		return nil, errorf("database", "", "must not be empty")
	}
	if c.OutputDir == "" {
		return nil, errorf("output_dir", "", "must not be empty")
	}
	db, err := expandPath("database", c.Database)
	if err != nil {
		return nil, err
	}
	out, err := expandPath("output_dir", c.OutputDir)
	if err != nil {
		return nil, err
	}
	c.Database = resolve(dir, db)
	c.OutputDir = resolve(dir, out)

	if n := r.Normalize; n != nil {
		setIf(&c.Normalize.Uppercase, n.Uppercase)
		setIf(&c.Normalize.StripNonAlnum, n.StripNonAlnum)
		setIf(&c.Normalize.CollapseDelims, n.CollapseDelims)
		setIf(&c.Normalize.Delimiters, n.Delimiters)
		setIf(&c.Normalize.PadNumbers, n.PadNumbers)
	}
	if p := r.Provisioning; p != nil {
		if p.Strategy != nil {
			c.Provisioning.Strategy = keysync.Strategy(*p.Strategy)
		}
		setIf(&c.Provisioning.AutoApprove, p.AutoApprove)
	}
	if o := r.Output; o != nil && o.Formats != nil {
		c.Output.Formats = append([]string(nil), *o.Formats...)
	}

	for name, rs := range r.Sources {
		s, err := sourceConfig(dir, name, rs)
		if err != nil {
			return nil, err
		}
		c.Sources[name] = s
	}

	// Every guard key left out, with or without a safety: section, keeps
	// its default; 0 turns a guard off.
	c.Safety = DefaultSafety(c.sortedNames())
	if s := r.Safety; s != nil {
		setIf(&c.Safety.MaxDropRatio, s.MaxDropRatio)
		setIf(&c.Safety.MaxRejectedRatio, s.MaxRejectedRatio)
		setIf(&c.Safety.MaxMissingRatio, s.MaxMissingRatio)
		setIf(&c.Safety.MaxNewProposals, s.MaxNewProposals)
		setIf(&c.Safety.MaxUnchangedRuns, s.MaxUnchangedRuns)
		if m := s.MinRows; m != nil {
			switch {
			case m.All != nil:
				if *m.All < 0 {
					return nil, errorf("safety.min_rows", strconv.Itoa(*m.All), "must not be negative")
				}
				for name := range c.Sources {
					c.Safety.MinRows[name] = *m.All
				}
			default:
				// A map sets the sources it names; the others keep the default.
				for name, n := range m.PerSource {
					c.Safety.MinRows[name] = n
				}
			}
		}
	}
	if rt := r.Retention; rt != nil && rt.KeepRuns != nil {
		if *rt.KeepRuns < 0 {
			return nil, errorf("retention.keep_runs", strconv.Itoa(*rt.KeepRuns), "must not be negative (0 turns retention off)")
		}
		c.Retention.KeepRuns = *rt.KeepRuns
	}
	notify, err := r.Notify.config()
	if err != nil {
		return nil, err
	}
	c.Notify = notify
	return c, nil
}

func setIf[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

// expandPath replaces the ${NAME} references of the path p, the value of
// field, with the environment's values, as url and headers do; an unset
// variable is a config error naming it. Paths are expanded when the config
// is loaded: unlike a URL they hold no secret to keep out of the Config.
func expandPath(field, p string) (string, error) {
	s, err := expandVars(p, os.LookupEnv)
	if err != nil {
		return "", errorf(field, p, "%v", err)
	}
	return s, nil
}

// resolve makes p absolute against dir; an absolute p is only cleaned.
// "~" is not expanded.
func resolve(dir, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}
