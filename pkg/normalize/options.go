package normalize

// Options are the normalization settings of SPEC §4, as configured under
// `normalize:`. The zero value is not the default: use Defaults.
type Options struct {
	Uppercase      bool
	StripNonAlnum  bool
	CollapseDelims string
	Delimiters     string
	PadNumbers     int
}

// DefaultDelimiters are the characters treated as delimiters unless configured.
const DefaultDelimiters = " \t-_./\\:|"

// Defaults returns the options used when the config says nothing.
func Defaults() Options {
	return Options{
		Uppercase:      true,
		StripNonAlnum:  true,
		CollapseDelims: "-",
		Delimiters:     DefaultDelimiters,
		PadNumbers:     0,
	}
}
