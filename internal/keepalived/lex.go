package keepalived

import "strings"

// Comments, braces and words: the character-level steps of keepalived's read_line()
// (decomment(), the brace split) and of alloc_strvec_r() (words and quoted strings).

// Character classes of the hot path, so that one pass over a line finds everything the
// later steps need to know about it.
const (
	clsSpecial = 1 << iota // decomment() must look at it: ! # " \\ NUL
	clsDollar              // $: substitution may apply
	clsBrace               // { or }: the line may need splitting
	clsSpace               // isspace() in the C locale: separates words
	clsQuote               // ": words need the full tokenizer
	clsEOL                 // \n: where the reader's fast path stops
)

var charClass = func() (t [256]uint8) {
	for _, c := range "!#\"\\\x00" {
		t[c] |= clsSpecial
	}
	t['"'] |= clsQuote
	t['$'] |= clsDollar
	t['{'] |= clsBrace
	t['}'] |= clsBrace
	for _, c := range " \t\n\v\f\r" {
		t[c] |= clsSpace
	}
	t['\n'] |= clsEOL
	return t
}()

// decomment removes leading blanks, comments (# or ! outside double quotes), the backslash of
// \# and \!, and trailing blanks, keeping a final backslash (a continuation) as keepalived does.
// It also returns the classes of the bytes that remain (clsDollar, clsBrace), so that later
// steps can skip lines they cannot change.
func (r *reader) decomment(s string) (string, uint8) {
	s = skipBlanks(s)
	var seen uint8
	p := 0
	for p < len(s) {
		c := charClass[s[p]]
		seen |= c
		if c&clsSpecial != 0 {
			break
		}
		p++
	}
	if seen&clsSpecial == 0 {
		return trimRightBlanks(s), seen
	}
	quote, cont := false, false
	skip := -1
	for p < len(s) {
		c := s[p]
		if charClass[c]&clsSpecial == 0 {
			p++
			continue
		}
		switch c {
		case 0: // C strings end at NUL
			s = s[:p]
		case '"':
			if skip < 0 {
				quote = !quote
			}
			p++
		case '\\':
			if p+1 < len(s) {
				if !quote && (s[p+1] == '#' || s[p+1] == '!') {
					s = s[:p] + s[p+1:]
					p++
				} else {
					p += 2
				}
				continue
			}
			s = s[:p]
			cont = true
		default: // '!' or '#'
			if !quote && skip < 0 {
				skip = p
			}
			p++
		}
	}
	if quote {
		r.warnf("unterminated quote in %q", s)
	}
	if skip >= 0 && skip < len(s) {
		s = s[:skip]
	}
	s = trimRightBlanks(s)
	if cont {
		s += "\\"
	}
	seen = 0
	for i := 0; i < len(s); i++ {
		seen |= charClass[s[i]]
	}
	return s, seen
}

// splitBraces leaves at most one brace per line, as keepalived does: text before a brace is a
// line of its own, a brace is a line of its own, and what follows comes next.
func (r *reader) splitBraces(buf string) string {
	i := -1
	if buf[0] == '{' || buf[0] == '}' {
		i = 0
	} else {
		for p := 0; p < len(buf); p++ {
			c := buf[p]
			if c == '{' || c == '}' {
				i = p
				break
			}
			if c == '"' {
				q := strings.IndexByte(buf[p+1:], '"')
				if q < 0 {
					break
				}
				p += q + 1
			}
		}
	}
	return r.splitAt(buf, i)
}

// splitAt is splitBraces with the first brace outside quotes at i (-1: none).
func (r *reader) splitAt(buf string, i int) string {
	if i >= 0 {
		skip := 0
		if i == 0 {
			skip = 1 + len(buf[1:]) - len(skipBlanks(buf[1:]))
		}
		if i+skip < len(buf) {
			r.residue, r.hasResidue = trimRightBlanks(buf[i+skip:]), true
			buf = buf[:i+skip]
		}
	}
	buf = trimRightBlanks(buf)
	switch buf {
	case "{":
		r.blockDepth++
	case "}":
		r.blockDepth--
		if r.blockDepth < 0 {
			r.diags.warnd(r.position(), "Remove the extra '}' or add the missing '{'.", "unbalanced braces: extra '}'; keepalived ignores it")
			r.blockDepth = 0
		}
	}
	return buf
}

// tokenize splits a line into words as keepalived's alloc_strvec_r() does: blanks separate
// words, a word starting with a double quote runs to the next double quote (quotes removed).
func (p *parser) tokenize(s string, toks []string) []string {
	toks = toks[:0]
	i := 0
	for {
		for i < len(s) && charClass[s[i]]&clsSpace != 0 {
			i++
		}
		if i >= len(s) {
			return toks
		}
		if s[i] == '"' {
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				p.diags.warnf(p.linePos(), "unmatched quote in %q; keepalived ignores the rest of the line", s)
				return toks
			}
			toks = append(toks, s[i+1:i+1+j])
			i += j + 2
			continue
		}
		j := i
		for j < len(s) && charClass[s[j]]&clsSpace == 0 && s[j] != '"' {
			j++
		}
		toks = append(toks, s[i:j])
		i = j
	}
}

// firstWord returns the first word of a line when the line can be read without the full
// tokenizer (no quotes, no leading white space); simple reports whether that was the case.
func firstWord(line string, cls uint8) (string, bool) {
	if cls&clsQuote != 0 || line == "" || charClass[line[0]]&clsSpace != 0 {
		return "", false
	}
	i := 0
	for i < len(line) && charClass[line[i]]&clsSpace == 0 {
		i++
	}
	return line[:i], true
}

// unexpandedRef returns the first $NAME or ${NAME} left in the words after substitution, and
// the word it is in.
func unexpandedRef(toks []string, cls uint8) (ref, word string) {
	if cls&clsDollar == 0 {
		return "", ""
	}
	for _, t := range toks {
		for i := strings.IndexByte(t, '$'); i >= 0 && i+1 < len(t); {
			j := i + 1
			if t[j] == '{' {
				j++
			}
			if j < len(t) && (isAlpha(t[j]) || t[j] == '_') {
				k := j + 1
				for k < len(t) && (isAlnum(t[k]) || t[k] == '_') {
					k++
				}
				return "$" + t[j:k], t
			}
			n := strings.IndexByte(t[i+1:], '$')
			if n < 0 {
				break
			}
			i += 1 + n
		}
	}
	return "", ""
}
