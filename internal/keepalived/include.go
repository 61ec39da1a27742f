package keepalived

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// `include` lines: glob(3)-like pattern expansion, opening each match, loop and limit checks
// (keepalived's check_include() and open_conf_file()).

// openNext opens the next readable match of an include frame.
func (r *reader) openNext(fr *includeFrame) bool {
	for fr.next < len(fr.matches) {
		path := fr.matches[fr.next]
		fr.next++
		st, err := os.Stat(path)
		if err != nil {
			r.fail(fr.pos, "Check that the file exists and is readable by the user running Terraform.",
				"cannot read included file %s: %v", path, err)
			return false
		}
		if st.IsDir() {
			r.diags.warnf(fr.pos, "included path %s is a directory; keepalived skips it", path)
			continue
		}
		if !st.Mode().IsRegular() || st.Mode()&0o111 != 0 {
			r.diags.warnf(fr.pos, "included file %s is not a regular non-executable file; keepalived skips it", path)
			continue
		}
		abs, _ := filepath.Abs(path)
		for _, other := range r.stack {
			if other.file != nil && sameFile(other.file.path, abs) {
				r.fail(fr.pos, "Remove the include that brings the file back in: keepalived would recurse until it runs out of file descriptors.",
					"include loop: %s includes itself (directly or through other files)", path)
				return false
			}
		}
		if len(r.files) >= r.limits.MaxFiles {
			r.fail(fr.pos, "Reduce the number of included files.", "more than %d files included", r.limits.MaxFiles)
			return false
		}
		data, err := readFileString(path, r.limits.MaxExpandedBytes)
		if err != nil {
			r.fail(fr.pos, "Check that the file is readable by the user running Terraform.", "cannot read included file %s: %v", path, err)
			return false
		}
		fr.file = &srcFile{idx: len(r.files), path: path, dir: filepath.Dir(path), data: data}
		r.files = append(r.files, path)
		return true
	}
	return false
}

func sameFile(path, abs string) bool {
	a, err := filepath.Abs(path)
	return err == nil && a == abs
}

// readFileString reads a file into a string without a second copy of its contents.
func readFileString(path string, limit int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var b strings.Builder
	if st, err := f.Stat(); err == nil {
		if st.Size() > limit {
			return "", fmt.Errorf("file is larger than %d bytes", limit)
		}
		b.Grow(int(st.Size()) + 1)
	}
	buf := make([]byte, 64<<10)
	for {
		n, err := f.Read(buf)
		b.Write(buf[:n])
		if int64(b.Len()) > limit {
			return "", fmt.Errorf("file is larger than %d bytes", limit)
		}
		if err == io.EOF {
			return b.String(), nil
		}
		if err != nil {
			return "", err
		}
	}
}

// checkInclude handles `include PATTERN` (and keepalived's includer/includem/... variants).
func (r *reader) checkInclude(buf string) bool {
	if len(buf) < 8 || buf[:7] != "include" {
		return false
	}
	var p string
	switch {
	case isSpaceC(buf[7]):
		p = buf[8:]
	case strings.IndexByte("rmwba", buf[7]) >= 0 && len(buf) > 8 && isSpaceC(buf[8]):
		p = buf[9:]
	default:
		return false
	}
	pattern := skipBlanks(p)
	pos := r.position()
	if len(r.stack) >= r.limits.MaxIncludeDepth {
		r.fail(pos, "Flatten the include hierarchy.", "includes nested deeper than %d levels", r.limits.MaxIncludeDepth)
		return true
	}
	dir, ok := r.curDir()
	if !filepath.IsAbs(pattern) {
		if !ok {
			r.fail(pos, "Set base_dir to the directory relative includes resolve against, or use path instead of content.",
				"relative include %q in a configuration given as content, with no base_dir", pattern)
			return true
		}
		pattern = filepath.Join(dir, pattern)
	}
	matches, err := globKeepalived(pattern)
	if err != nil {
		r.fail(pos, "Fix the include pattern.", "bad include pattern %q: %v", pattern, err)
		return true
	}
	if len(matches) == 0 {
		if hasGlobMeta(pattern) {
			r.diags.warnf(pos, "include pattern %s matches no file; keepalived skips the include", pattern)
			return true
		}
		detail := "Check the path: relative includes resolve against the directory of the including file."
		if strings.ContainsAny(pattern, `"'`) {
			detail = "keepalived does not remove quotes from include paths: remove them."
		}
		r.diags.warnd(pos, detail, "included file %s does not exist; keepalived skips the include (what the file holds on a director is missing from this result)", pattern)
		return true
	}
	r.stack = append(r.stack, &includeFrame{matches: matches, pos: pos})
	return true
}

func hasGlobMeta(s string) bool { return strings.ContainsAny(s, "*?[{") }

// globKeepalived expands a pattern like glob(3) with GLOB_BRACE: each brace alternative is
// matched separately and sorted on its own; wildcards do not match a leading dot; a literal
// path is returned only if it exists.
func globKeepalived(pattern string) ([]string, error) {
	alts, err := expandBraces(pattern, 0)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, alt := range alts {
		if !strings.ContainsAny(alt, "*?[") {
			if _, err := os.Lstat(alt); err == nil {
				out = append(out, alt)
			} else if !strings.ContainsAny(pattern, "*?[{") {
				return nil, nil
			}
			continue
		}
		kept, err := globBounded(alt, 100000)
		if err != nil {
			return nil, err
		}
		sort.Strings(kept)
		out = append(out, kept...)
	}
	return out, nil
}

// globBounded matches a pattern one path component at a time, as glob(3) does: wildcards do not
// match a leading dot, and directories are read only where a component has a wildcard. It gives
// up after reading maxEntries directory entries (a pattern like /*/*/*/* would otherwise walk the
// whole file system).
func globBounded(pattern string, maxEntries int) ([]string, error) {
	comps := strings.Split(pattern, "/")
	paths := []string{"."}
	if comps[0] == "" {
		paths, comps = []string{"/"}, comps[1:]
	}
	seen := 0
	for i, c := range comps {
		last := i == len(comps)-1
		var next []string
		for _, dir := range paths {
			if !strings.ContainsAny(c, "*?[") {
				p := filepath.Join(dir, c)
				if c == "" {
					p = dir
				}
				if _, err := os.Lstat(p); err == nil {
					next = append(next, p)
				}
				continue
			}
			if _, err := filepath.Match(c, ""); err != nil {
				return nil, err
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				continue
			}
			seen += len(entries)
			if seen > maxEntries {
				return nil, fmt.Errorf("the pattern reads more than %d directory entries", maxEntries)
			}
			for _, e := range entries {
				name := e.Name()
				if name[0] == '.' && c[0] != '.' {
					continue
				}
				if ok, _ := filepath.Match(c, name); ok {
					if !last && !e.IsDir() && e.Type()&os.ModeSymlink == 0 {
						continue
					}
					next = append(next, filepath.Join(dir, name))
				}
			}
		}
		paths = next
		if len(paths) == 0 {
			break
		}
	}
	return paths, nil
}

// expandBraces expands {a,b} alternatives (bounded, as patterns come from the configuration).
func expandBraces(s string, depth int) ([]string, error) {
	if depth > 8 {
		return nil, fmt.Errorf("braces nested too deeply")
	}
	open := -1
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if s[i] == '{' {
			open = i
			break
		}
	}
	if open < 0 {
		return []string{s}, nil
	}
	level, parts, start := 0, []string(nil), open+1
	closeAt := -1
	for i := open + 1; i < len(s) && closeAt < 0; i++ {
		switch s[i] {
		case '\\':
			i++
		case '{':
			level++
		case '}':
			if level == 0 {
				parts = append(parts, s[start:i])
				closeAt = i
			} else {
				level--
			}
		case ',':
			if level == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	if closeAt < 0 {
		return []string{s}, nil
	}
	var out []string
	for _, p := range parts {
		sub, err := expandBraces(s[:open]+p+s[closeAt+1:], depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, sub...)
		if len(out) > 1024 {
			return nil, fmt.Errorf("brace expansion yields more than 1024 patterns")
		}
	}
	return out, nil
}
