package keepalived

// Options control how a configuration is read.
type Options struct {
	// ConfigID is keepalived's config id (`keepalived -i ID`), matched by `@ID` and `@^ID` lines.
	// Empty means no id: `@ID` lines are dropped and `@^ID` lines are kept.
	ConfigID string
	// BaseDir is the directory that relative includes of a configuration given as text
	// (Parse) resolve against. Empty forbids includes in such a configuration. ParseFile
	// ignores it: includes resolve against the including file's directory, as in keepalived.
	BaseDir string
	// Limits bound the work a hostile or broken configuration can cause. Zero fields take the
	// defaults of DefaultLimits().
	Limits Limits
}

// Limits bound memory and time. keepalived has none of these (an include loop or a huge
// ~SEQ makes it run until it dies); the reader stops with an error instead.
type Limits struct {
	// MaxIncludeDepth is the deepest include nesting allowed.
	MaxIncludeDepth int
	// MaxFiles is the most files read in total; an include pattern matching more than are
	// left stops the read as soon as the glob finds that many.
	MaxFiles int
	// MaxExpandedBytes bounds every byte of every file read (comments, blank lines and NUL
	// bytes included) plus the lines ~SEQ, ~LST and multi-line definitions generate.
	MaxExpandedBytes int64
	// MaxSeqValues bounds the number of lines one ~SEQ may produce.
	MaxSeqValues int64
	// MaxExpansionsPerLine bounds $NAME substitutions in one line (a definition that refers
	// to itself would otherwise never finish, in keepalived as well).
	MaxExpansionsPerLine int
}

// DefaultLimits returns limits generous for real configurations (a 10,000 virtual server
// configuration is about 15 MB).
func DefaultLimits() Limits { return defaultLimits }

var defaultLimits = Limits{
	MaxIncludeDepth:      32,
	MaxFiles:             4096,
	MaxExpandedBytes:     512 << 20,
	MaxSeqValues:         1 << 20,
	MaxExpansionsPerLine: 1000,
}

func (l Limits) withDefaults() Limits {
	if l.MaxIncludeDepth <= 0 {
		l.MaxIncludeDepth = defaultLimits.MaxIncludeDepth
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = defaultLimits.MaxFiles
	}
	if l.MaxExpandedBytes <= 0 {
		l.MaxExpandedBytes = defaultLimits.MaxExpandedBytes
	}
	if l.MaxSeqValues <= 0 {
		l.MaxSeqValues = defaultLimits.MaxSeqValues
	}
	if l.MaxExpansionsPerLine <= 0 {
		l.MaxExpansionsPerLine = defaultLimits.MaxExpansionsPerLine
	}
	return l
}
