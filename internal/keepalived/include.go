package keepalived

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"unsafe"
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
		// The same file (device and inode), whatever path or symlink leads to it.
		for _, other := range r.stack {
			if other.file != nil && other.file.info != nil && os.SameFile(other.file.info, st) {
				r.fail(fr.pos, "Remove the include that brings the file back in: keepalived would recurse until it runs out of file descriptors.",
					"include loop: %s includes itself (directly or through other files)", path)
				return false
			}
		}
		if len(r.files) >= r.limits.MaxFiles {
			r.fail(fr.pos, "Reduce the number of included files.", "more than %d files included", r.limits.MaxFiles)
			return false
		}
		data, info, err := readRegularFile(path, r.limits.MaxExpandedBytes-r.expanded)
		if err != nil {
			r.fail(fr.pos, "Check that the file is readable by the user running Terraform, and the size limit.", "cannot read included file %s: %v", path, err)
			return false
		}
		path = strings.Clone(path) // (it may be a piece of the including file's text)
		fr.file = &srcFile{idx: len(r.files), path: path, dir: filepath.Dir(path), data: data, info: info}
		r.files = append(r.files, path)
		r.fileBytes += int64(len(data))
		return r.count(int64(len(data)))
	}
	return false
}

// readRegularFile reads a regular file of at most limit bytes into a string (without a second
// copy of its contents). It opens without blocking and checks the opened file itself, so that a
// FIFO or a device is refused at once instead of blocking the read forever.
func readRegularFile(path string, limit int64) (string, os.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", nil, err
	}
	if !st.Mode().IsRegular() {
		return "", nil, fmt.Errorf("not a regular file (%s)", fileKind(st.Mode()))
	}
	if st.Size() > limit {
		return "", nil, fmt.Errorf("the file (%d bytes) is larger than the %d bytes left of the size limit", st.Size(), max(limit, 0))
	}
	// Read straight into the buffer the string will use (as strings.Builder does): a 21 MB
	// configuration is then copied once, by the kernel, instead of once more from a read buffer.
	buf := make([]byte, 0, st.Size()+1) // +1: the read that finds the end of the file
	adviseHugePages(buf[:cap(buf)])
	for {
		if len(buf) == cap(buf) { // the file grew since Stat
			buf = slices.Grow(buf, 64<<10)
		}
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return "", nil, fmt.Errorf("the file is larger than the %d bytes left of the size limit", max(limit, 0))
		}
		if err == io.EOF {
			// buf is not written again: the string can share it.
			return unsafe.String(unsafe.SliceData(buf), len(buf)), st, nil
		}
		if err != nil {
			return "", nil, err
		}
	}
}

// fileKind names the type of a file that is not a regular one.
func fileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a block device"
	}
	return "mode " + m.String()
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
	if !path.IsAbs(pattern) && !filepath.IsAbs(pattern) {
		if !ok {
			r.fail(pos, "Set base_dir to the directory relative includes resolve against, or use path instead of content.",
				"relative include %q in a configuration given as content, with no base_dir", pattern)
			return true
		}
		pattern = includePath(dir, pattern)
	}
	maxMatches := r.limits.MaxFiles - len(r.files)
	matches, err := globKeepalived(r.ctx, pattern, maxMatches)
	if errors.Is(err, errTooManyMatches) || len(matches) > maxMatches {
		r.fail(pos, "Reduce the number of included files, or narrow the pattern.",
			"include pattern %s matches more files than the %d that may still be read (at most %d files in total)", pattern, maxMatches, r.limits.MaxFiles)
		return true
	}
	if err != nil && r.ctx.Err() != nil {
		r.checkContext()
		return true
	}
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

// errTooManyMatches: an include pattern matches more files than the reader may still read.
var errTooManyMatches = errors.New("too many matches")

// globKeepalived expands a pattern like glob(3) with GLOB_BRACE: each brace alternative is
// matched separately and sorted on its own; wildcards do not match a leading dot; a literal
// path is returned only if it exists.
func globKeepalived(ctx context.Context, pattern string, maxMatches int) ([]string, error) {
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
		kept, err := globBounded(ctx, alt, 100000, maxMatches-len(out))
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
func globBounded(ctx context.Context, pattern string, maxEntries, maxMatches int) ([]string, error) {
	paths, comps := globStart(pattern)
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
			if _, err := path.Match(c, ""); err != nil {
				return nil, err
			}
			// Read the directory in chunks, so that a huge one stops the glob at the limits
			// instead of being read whole first.
			d, err := os.Open(dir)
			if err != nil {
				continue
			}
			for {
				entries, err := d.ReadDir(256)
				seen += len(entries)
				if seen > maxEntries {
					d.Close()
					return nil, fmt.Errorf("the pattern reads more than %d directory entries", maxEntries)
				}
				for _, e := range entries {
					name := e.Name()
					if name[0] == '.' && c[0] != '.' {
						continue
					}
					if ok, _ := path.Match(c, name); ok {
						if !last && !e.IsDir() && e.Type()&os.ModeSymlink == 0 {
							continue
						}
						next = append(next, filepath.Join(dir, name))
					}
				}
				if last && len(next) > maxMatches {
					d.Close()
					return nil, errTooManyMatches
				}
				if err != nil { // io.EOF: the directory is read
					break
				}
				if err := ctx.Err(); err != nil {
					d.Close()
					return nil, err
				}
			}
			d.Close()
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
