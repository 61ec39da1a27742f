package keepalived

import (
	"path/filepath"
	"strconv"
	"strings"
)

// `$NAME=value` definitions, `@id` conditionals and `$NAME` substitution (keepalived's
// check_definition(), find_definition(), replace_param()).

type definition struct {
	value     string
	multiline bool
	std       string // name of a built-in definition computed on use ("" for user ones)
	maxParams int
}

type mlEntry struct {
	ptr      string
	seqDepth int
}

// expand applies @id conditionals, definitions, ~SEQ/~LST and $NAME substitution. It returns
// "" when the line is consumed.
func (r *reader) expand(buf string) string {
	for rounds := 0; ; rounds++ {
		if rounds > r.limits.MaxExpansionsPerLine {
			r.fail(r.position(), "A $NAME definition refers to itself; keepalived would loop forever on it.",
				"$NAME substitution does not terminate")
			return ""
		}
		recheck := false
		if buf[0] == '@' {
			rev, ofs := false, 1
			if len(buf) > 1 && buf[1] == '^' {
				rev, ofs = true, 2
			}
			sp := strings.IndexAny(buf[ofs:], " \t")
			if sp < 0 {
				return ""
			}
			id := buf[ofs : ofs+sp]
			noMatch := r.opts.ConfigID == "" || id != r.opts.ConfigID
			if noMatch != rev {
				return ""
			}
			buf = skipBlanks(buf[ofs+sp:])
			if buf == "" {
				return ""
			}
		}
		if buf[0] == '$' && r.checkDefinition(buf) {
			return ""
		}
		if strings.HasPrefix(buf, "~SEQ") || strings.HasPrefix(buf, "~LST") {
			var ok bool
			reported := len(r.diags.list)
			if buf[1] == 'S' {
				ok = r.addSeq(buf)
			} else {
				ok = r.addList(buf)
			}
			if !ok && !r.fatal && len(r.diags.list) == reported {
				r.diags.warnd(r.position(), seqFix, "invalid %s specification %q; keepalived drops the line", buf[:4], buf)
			}
			return ""
		}
		if buf[0] == '~' {
			return buf
		}
		if strings.IndexByte(buf, '$') >= 0 {
			nb, found := r.replaceParam(buf, maxBuf, true)
			if !found {
				return nb
			}
			buf, _ = r.decomment(nb)
			if buf == "" {
				return ""
			}
			if buf[0] == '@' || strings.IndexByte(buf, '$') >= 0 {
				recheck = true
			}
		}
		if !recheck {
			return buf
		}
	}
}

// checkDefinition handles `$NAME=value` (no blank before '='). A value ending in a backslash
// starts a multi-line definition.
func (r *reader) checkDefinition(buf string) bool {
	if len(buf) < 2 || (!isAlpha(buf[1]) && buf[1] != '_') {
		return false
	}
	p := 2
	for p < len(buf) && buf[p] != '=' {
		if !isAlnum(buf[p]) && buf[p] != '_' {
			return false
		}
		p++
	}
	if p >= len(buf) {
		return false
	}
	name := buf[1:p]
	value := skipBlanks(buf[p+1:])
	d := r.defs[name]
	if d == nil {
		d = &definition{}
		r.defs[name] = d
	}
	d.std, d.maxParams = "", 0
	if strings.HasSuffix(value, "\\") {
		v := value[:len(value)-1]
		if len(value) < 2 {
			v = ""
		} else {
			v = trimRightBlanks(v) + "\n"
		}
		d.value, d.multiline = v, true
		r.mlDef = d
	} else {
		d.value, d.multiline = value, false
	}
	return true
}

func (r *reader) endMultilineDef() {
	if r.mlDef.value == "" {
		r.mlDef.multiline = false
	}
	r.mlDef = nil
}

func (r *reader) continueMultilineDef(buf string) {
	d := r.mlDef
	still := false
	if strings.HasSuffix(buf, "\\") {
		buf = trimRightBlanks(buf[:len(buf)-1]) + "\n"
		still = true
	}
	if !still {
		// keepalived decides whether the definition stays multi-line before adding its last line.
		if d.value == "" {
			d.multiline = false
		}
		r.mlDef = nil
	}
	if len(buf) >= 2 || (len(buf) > 0 && !still) {
		d.value += buf
	}
}

// findDefinition looks up the reference after a '$' (NAME or {NAME}); it returns the
// definition and the length of the reference text after the '$'.
func (r *reader) findDefinition(s string) (*definition, int, string) {
	braces := len(s) > 0 && s[0] == '{'
	name := s
	if braces {
		name = s[1:]
	}
	if name == "" || (!isAlpha(name[0]) && name[0] != '_') {
		return nil, 0, ""
	}
	n := 1
	for n < len(name) && (isAlnum(name[n]) || name[n] == '_') {
		n++
	}
	p := n
	params := ""
	refLen := n
	if braces {
		ps, pe := -1, -1
		for p < len(name) && (name[p] == ' ' || isDigit(name[p])) {
			if name[p] != ' ' {
				if ps < 0 {
					ps = p
				}
				pe = p
			}
			p++
		}
		if ps >= 0 {
			if pe+1 != p {
				return nil, 0, ""
			}
			params = name[ps : pe+1]
		}
		if p >= len(name) || name[p] != '}' {
			return nil, 0, ""
		}
		refLen = p + 2
	} else if p < len(name) && name[p] != ' ' && name[p] != '\t' && name[p] != ',' && name[p] != ')' {
		return nil, 0, ""
	}
	allowMultiline := (!braces && n == len(name)) || (braces && n+1 == len(name))
	d := r.defs[name[:n]]
	if d == nil || (!allowMultiline && d.multiline) {
		return nil, 0, ""
	}
	if params != "" && d.maxParams == 0 {
		return nil, 0, ""
	}
	return d, refLen, params
}

// replaceParam substitutes $NAME references as keepalived's replace_param() does: scanning
// continues at the start of each substituted value, a value starting with '~' ends the scan,
// and a multi-line definition contributes its first line here and the rest as following lines.
func (r *reader) replaceParam(buf string, maxLen int, allowMultiline bool) (string, bool) {
	found := false
	cur := 0
	multiPtr, hasMulti := r.nextPtr, r.hasNext
	next, hasNext := multiPtr, hasMulti
	for n := 0; ; n++ {
		i := strings.IndexByte(buf[cur:], '$')
		if i < 0 {
			break
		}
		cur += i
		if cur+1 >= len(buf) {
			break
		}
		d, refLen, params := r.findDefinition(buf[cur+1:])
		if d == nil {
			cur++
			continue
		}
		if n > r.limits.MaxExpansionsPerLine {
			r.fail(r.position(), "A $NAME definition refers to itself; keepalived would loop forever on it.",
				"$NAME substitution does not terminate")
			return buf, false
		}
		found = true
		next, hasNext = multiPtr, hasMulti
		value := r.definitionValue(d, params)
		if d.multiline {
			if !allowMultiline {
				return buf, false
			}
			if hasMulti {
				r.mlStack = append(r.mlStack, mlEntry{ptr: multiPtr, seqDepth: r.mlSeqDepth})
			}
			r.mlSeqDepth = len(r.seqs)
			if j := strings.IndexByte(value, '\n'); j >= 0 {
				next, hasNext = value[j+1:], true
				value = value[:j]
			} else {
				next, hasNext = "", false
			}
			multiPtr, hasMulti = next, hasNext
		}
		if len(buf)+len(value)-(refLen+1) >= maxLen {
			r.warnf("$NAME substitution would make the line longer than keepalived's %d-byte limit; keepalived stops substituting", maxLen)
			return buf, false
		}
		buf = buf[:cur] + value + buf[cur+1+refLen:]
		if v := skipBlanks(d.value); v != "" && v[0] == '~' {
			break
		}
	}
	if found && allowMultiline {
		r.nextPtr, r.hasNext = next, hasNext
	}
	return buf, found
}

func (r *reader) definitionValue(d *definition, params string) string {
	switch d.std {
	case "_PWD":
		dir, _ := r.curDir()
		if abs, err := filepath.Abs(dir); err == nil {
			return abs
		}
		return dir
	case "_INSTANCE":
		return ""
	case "_RANDOM":
		r.warnf("$_RANDOM is random in keepalived; the reader substitutes its lowest value")
		if params != "" {
			v, _ := strtol(params, 10)
			return strconv.FormatInt(v, 10)
		}
		return "0"
	}
	return d.value
}

func (r *reader) setDefinition(name, value string) {
	d := r.defs[name]
	if d == nil {
		d = &definition{}
		r.defs[name] = d
	}
	d.value, d.std, d.maxParams = value, "", 0
}
