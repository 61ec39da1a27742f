package keepalived

import (
	"context"
	"path/filepath"
	"strconv"
)

func itoa(v uint64) string { return strconv.FormatUint(v, 10) }

// Parse reads a configuration given as text. name is used in positions; relative includes
// resolve against opts.BaseDir (and are refused when it is empty). The Config is complete only
// when the Diagnostics hold no error.
func Parse(name, content string, opts Options) (*Config, Diagnostics) {
	return ParseContext(context.Background(), name, content, opts)
}

// ParseContext is Parse that stops with an error when ctx is cancelled.
func ParseContext(ctx context.Context, name, content string, opts Options) (*Config, Diagnostics) {
	r := newReader(ctx, opts)
	dir := ""
	if opts.BaseDir != "" {
		dir = filepath.Clean(opts.BaseDir)
	}
	r.pushMain(name, dir, content, nil)
	return run(r)
}

// ParseFile reads the configuration in path and every file it includes. Relative includes
// resolve against the directory of the including file, as keepalived resolves them.
func ParseFile(path string, opts Options) (*Config, Diagnostics) {
	return ParseFileContext(context.Background(), path, opts)
}

// ParseFileContext is ParseFile that stops with an error when ctx is cancelled.
func ParseFileContext(ctx context.Context, path string, opts Options) (*Config, Diagnostics) {
	var diags Diagnostics
	r := newReader(ctx, opts)
	data, info, err := readRegularFile(path, r.limits.MaxExpandedBytes)
	if err != nil {
		r.sum() // stops the hashing goroutine
		diags.errorf(Pos{File: path}, "Give the path of keepalived.conf, a regular file readable by the user running Terraform.", "cannot read %s: %v", path, err)
		return &Config{Files: []string{path}}, diags
	}
	r.pushMain(path, filepath.Dir(path), data, info)
	return run(r)
}
