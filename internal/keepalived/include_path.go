package keepalived

import (
	"path"
	"path/filepath"
	"strings"
)

// An include line's pattern is a path on the director, written for keepalived: `/`-separated,
// a relative one relative to the including file's directory, glob(3) syntax with `\` escaping
// the next character. It keeps those meanings on every system the provider runs on; only the
// directory of the including file (or base_dir), which comes from this system, may be written in
// its own form (`C:\lb\keepalived.conf` on Windows).

// includePath resolves a relative include pattern against dir, the including file's directory:
// path.Join on `/` forms, so `..` and `.` fold as they do with filepath.Join on Linux, and the
// pattern's `\` escapes stay escapes (filepath.Join on Windows would read them as separators).
func includePath(dir, pattern string) string {
	return path.Join(filepath.ToSlash(dir), pattern)
}

// globStart splits a `/`-separated pattern into the directory its matching starts from and the
// components matched one by one below it: "/" for an absolute pattern, the volume root for one
// with a Windows volume name (`C:/lb/*.conf`), else ".".
func globStart(pattern string) (start []string, comps []string) {
	if vol := filepath.VolumeName(pattern); vol != "" {
		rest := strings.TrimLeft(pattern[len(vol):], `/\`)
		return []string{vol + "/"}, strings.Split(rest, "/")
	}
	comps = strings.Split(pattern, "/")
	if comps[0] == "" {
		return []string{"/"}, comps[1:]
	}
	return []string{"."}, comps
}
