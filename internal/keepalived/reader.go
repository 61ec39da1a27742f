package keepalived

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// The line reader reproduces keepalived's read_line(): it turns files into logical lines the
// keyword dispatcher consumes, one brace per line at most. Order of work per line, as in
// keepalived: pending text after a brace, then pending ~SEQ/~LST lines, then pending lines of a
// multi-line definition, then the next non-blank line of the current file (comments removed).
// Then: collect multi-line definitions; `@id` conditionals; `$NAME=` definitions; `~SEQ`/`~LST`;
// `$NAME` substitution (repeated while it changes something); `include`; brace splitting.

// keepalived reads with fgets into a 1024-byte buffer: longer lines arrive in pieces, and no
// substitution may make a line reach that length.
const maxBuf = 1024

type definition struct {
	value     string
	multiline bool
	std       string // name of a built-in definition computed on use ("" for user ones)
	maxParams int
}

type seqState struct {
	// ~SEQ
	varName     string
	next, step  int64
	remaining   int64
	hex         bool
	text        string
	isList      bool
	listParams  []string
	listValues  [][]string
	listNextSet int
}

type srcFile struct {
	idx  int // index in reader.files
	path string
	dir  string
	data string
	off  int
	line int // lines consumed so far
}

type includeFrame struct {
	matches []string
	next    int
	file    *srcFile
	pos     Pos // the include line (for errors opening the matches)
}

type mlEntry struct {
	ptr      string
	seqDepth int
}

type reader struct {
	opts   Options
	limits Limits
	diags  *sink

	stack []*includeFrame
	files []string

	posFile int // position of the current line: index in files, and line
	posLine int

	residue    string
	residueCls uint8
	hasResidue bool

	seqs       []*seqState
	mlSeqDepth int

	nextPtr string
	hasNext bool
	mlStack []mlEntry

	defs  map[string]*definition
	mlDef *definition // multi-line definition being collected

	blockDepth int
	lastCls    uint8 // classes of the bytes of the line readLine returned last
	expanded   int64
	fatal      bool
	eof        bool

	hash *hasher
	hbuf []byte
}

func newReader(opts Options) *reader {
	r := &reader{
		opts:   opts,
		limits: opts.Limits.withDefaults(),
		diags:  &sink{},
		defs:   make(map[string]*definition, 8),
		hash:   newHasher(),
		hbuf:   make([]byte, 0, 64<<10),
	}
	// keepalived's built-in definitions.
	r.defs["_PWD"] = &definition{std: "_PWD"}
	r.defs["_INSTANCE"] = &definition{std: "_INSTANCE"}
	r.defs["_RANDOM"] = &definition{std: "_RANDOM", maxParams: 2}
	r.defs["_HASH"] = &definition{value: "#"}
	r.defs["_BANG"] = &definition{value: "!"}
	return r
}

// pushMain makes data the first file.
func (r *reader) pushMain(path, dir, data string) {
	f := &srcFile{idx: len(r.files), path: path, dir: dir, data: data}
	r.files = append(r.files, path)
	r.stack = append(r.stack, &includeFrame{matches: []string{path}, next: 1, file: f})
}

// The SHA-256 of the expanded text is computed by its own goroutine, fed 64 KiB chunks, so that
// hashing overlaps reading on a machine with a spare core.
type hasher struct {
	chunks chan []byte
	free   chan []byte
	done   chan string
}

func newHasher() *hasher {
	h := &hasher{chunks: make(chan []byte, 2), free: make(chan []byte, 3), done: make(chan string, 1)}
	go func() {
		d := sha256.New()
		for c := range h.chunks {
			d.Write(c)
			select {
			case h.free <- c[:0]:
			default:
			}
		}
		h.done <- hex.EncodeToString(d.Sum(nil))
	}()
	return h
}

// position is the position of the line being read (computed on demand: the hot path keeps
// only two integers).
func (r *reader) position() Pos {
	if r.posFile >= len(r.files) {
		return Pos{}
	}
	return Pos{File: r.files[r.posFile], Line: r.posLine}
}

// size is the size of the main file.
func (r *reader) size() int {
	if len(r.stack) == 0 || r.stack[0].file == nil {
		return 0
	}
	return len(r.stack[0].file.data)
}

func (r *reader) sum() string {
	r.flushHash()
	close(r.hash.chunks)
	return <-r.hash.done
}

func (r *reader) flushHash() {
	if len(r.hbuf) == 0 {
		return
	}
	r.hash.chunks <- r.hbuf
	select {
	case r.hbuf = <-r.hash.free:
	default:
		r.hbuf = make([]byte, 0, 64<<10)
	}
}

func (r *reader) hashLine(s string) {
	if len(r.hbuf)+len(s)+1 > cap(r.hbuf) {
		r.flushHash()
		if len(s)+1 > cap(r.hbuf) {
			r.hbuf = make([]byte, 0, len(s)+1)
		}
	}
	r.hbuf = append(r.hbuf, s...)
	r.hbuf = append(r.hbuf, '\n')
}

func (r *reader) fail(pos Pos, detail, format string, args ...any) {
	r.diags.errorf(pos, detail, format, args...)
	r.fatal = true
}

func (r *reader) warnf(format string, args ...any) { r.diags.warnf(r.position(), format, args...) }

// curDir is the directory relative includes resolve against (keepalived changes into the
// directory of each file it opens).
func (r *reader) curDir() (string, bool) {
	for i := len(r.stack) - 1; i >= 0; i-- {
		if f := r.stack[i].file; f != nil {
			return f.dir, f.dir != ""
		}
	}
	return "", false
}

// rawLine returns the next fgets() piece of the current file, without its line end, with r.position()
// set to it. It moves on to the next glob match or pops the include stack at end of file.
func (r *reader) rawLine() (string, bool) {
	for len(r.stack) > 0 && !r.fatal {
		top := r.stack[len(r.stack)-1]
		if f := top.file; f != nil {
			if f.off < len(f.data) {
				rest := f.data[f.off:]
				n := strings.IndexByte(rest, '\n')
				chunk := rest
				if n >= 0 {
					chunk = rest[:n+1]
				}
				if len(chunk) > maxBuf-1 {
					chunk = chunk[:maxBuf-1]
				}
				f.off += len(chunk)
				r.posFile, r.posLine = f.idx, f.line+1
				if chunk[len(chunk)-1] == '\n' {
					f.line++
				}
				for len(chunk) > 0 && (chunk[len(chunk)-1] == '\n' || chunk[len(chunk)-1] == '\r') {
					chunk = chunk[:len(chunk)-1]
				}
				return chunk, true
			}
			top.file = nil
		}
		if !r.openNext(top) {
			r.stack = r.stack[:len(r.stack)-1]
		}
	}
	return "", false
}

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

// Character classes of the hot path, so that one pass over a line finds everything the
// later steps need to know about it.
const (
	clsSpecial = 1 << iota // decomment() must look at it: ! # " \\ NUL
	clsDollar              // $: substitution may apply
	clsBrace               // { or }: the line may need splitting
	clsSpace               // isspace() in the C locale: separates words
	clsQuote               // ": words need the full tokenizer
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

// readLine returns the next logical line, as keepalived's read_line() would.
func (r *reader) readLine() (string, bool) {
	for {
		if r.fatal || r.eof {
			return "", false
		}
		var buf string
		cls := uint8(clsDollar | clsBrace | clsQuote) // unknown: assume the worst
		residue := false
		switch {
		case r.hasResidue && len(r.residue) == 1 && (r.residue[0] == '{' || r.residue[0] == '}'):
			// The brace that ended the previous line (the common case): what the general path
			// does with it, without the detours.
			r.hasResidue = false
			r.expanded += 2
			r.diags.seq++
			r.lastCls = clsBrace
			return r.splitBraces(r.residue), true
		case r.hasResidue:
			buf, r.hasResidue = r.residue, false
			cls = r.residueCls // a piece of a line has at most the classes of the line
			residue = true
		case len(r.seqs) > 0 && len(r.seqs) > r.mlSeqDepth:
			buf = r.seqStep()
		case r.hasNext:
			if i := strings.IndexByte(r.nextPtr, '\n'); i >= 0 {
				buf, r.nextPtr = r.nextPtr[:i], r.nextPtr[i+1:]
			} else {
				buf = r.nextPtr
				if n := len(r.mlStack); n > 0 {
					r.nextPtr, r.mlSeqDepth = r.mlStack[n-1].ptr, r.mlStack[n-1].seqDepth
					r.mlStack = r.mlStack[:n-1]
				} else {
					r.nextPtr, r.hasNext, r.mlSeqDepth = "", false, 0
				}
			}
		default:
			for {
				raw, ok := r.rawLine()
				if !ok {
					r.eof = true
					return "", false
				}
				if raw == "" {
					if r.mlDef != nil {
						r.endMultilineDef()
					}
					continue
				}
				buf, cls = r.decomment(raw)
				if buf != "" {
					break
				}
			}
		}

		r.expanded += int64(len(buf)) + 1
		if r.expanded > r.limits.MaxExpandedBytes {
			r.fail(r.position(), "Check ~SEQ/~LST ranges, multi-line definitions and includes.",
				"the expanded configuration exceeds %d bytes", r.limits.MaxExpandedBytes)
			return "", false
		}

		if r.mlDef != nil {
			r.continueMultilineDef(buf)
			continue
		}
		if buf == "" {
			continue
		}
		if c := buf[0]; cls&clsDollar != 0 || c == '@' || c == '$' || c == '~' {
			residue = false // expanded: hash the result
			buf = r.expand(buf)
			if buf == "" || r.fatal {
				continue
			}
			cls = clsBrace | clsQuote | clsDollar
		}
		if buf[0] == 'i' && r.checkInclude(buf) {
			continue
		}
		if !residue {
			// (the text after a brace was hashed with its line, unless expansion changed it)
			r.hashLine(buf)
		}
		r.diags.seq++
		r.lastCls = cls
		if cls&clsBrace == 0 {
			return buf, true
		}
		r.residueCls = cls
		return r.splitBraces(buf), true
	}
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
			if buf[1] == 'S' {
				ok = r.addSeq(buf)
			} else {
				ok = r.addList(buf)
			}
			if !ok && !r.fatal {
				r.diags.errorf(r.position(), "Write it as ~SEQ(var, start, [step,] end) or ~LST(var, v1, v2, ...).", "invalid %s specification %q", buf[:4], buf)
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

// addSeq records `~SEQ(var, [start,] [step,] end) text`.
func (r *reader) addSeq(buf string) bool {
	p := buf[4:]
	hexOut := false
	if p != "" && p[0] == 'x' {
		p, hexOut = p[1:], true
	}
	p = skipBlanks(p)
	if p == "" || p[0] != '(' {
		return false
	}
	p = skipBlanks(p[1:])
	vl := strcspn(p, " \t,)")
	varName := p[:vl]
	p = skipBlanks(p[vl:])
	if p == "" || p[0] == ')' || vl == 0 {
		return false
	}
	p = skipBlanks(p[1:])
	end := strings.IndexByte(p, ')')
	if end < 0 {
		return false
	}
	if end+2 > 3*20+3+1 {
		r.diags.errorf(r.position(), "", "~SEQ parameter strings too long %q", buf)
		return false
	}
	hadNext, next := r.hasNext, r.nextPtr
	params, _ := r.replaceParam(p[:end+1], 3*20+3+1, false)
	r.hasNext, r.nextPtr = hadNext, next
	text := skipBlanks(p[end+1:])

	var start, step, last int64
	one, q := strtol(params, 0)
	q = skipBlanks(q)
	switch {
	case q != "" && q[0] == ')':
		last = one
		step = 1
		if last < 1 {
			step = -1
		}
		start = 1
		if last < 0 {
			start = -1
		}
	case q == "" || q[0] != ',':
		return false
	default:
		two, q2 := strtol(q[1:], 0)
		q2 = skipBlanks(q2)
		if q2 != "" && q2[0] == ')' {
			start, last = one, two
			step = 1
			if start > last {
				step = -1
			}
			break
		}
		if q2 == "" || q2[0] != ',' {
			return false
		}
		three, q3 := strtol(q2[1:], 0)
		q3 = skipBlanks(q3)
		if q3 == "" || q3[0] != ')' {
			return false
		}
		start, step, last = one, two, three
		if step == 0 || (start < last && step < 0) || (start > last && step > 0) {
			r.diags.errorf(r.position(), "", "invalid ~SEQ values %q", buf)
			return false
		}
	}
	if hexOut && (start < 0 || last < 0) {
		r.diags.errorf(r.position(), "", "~SEQx is only valid for positive numbers %q", buf)
		return false
	}
	// Number of values, computed without overflow.
	var count uint64
	if step > 0 {
		count = (uint64(last)-uint64(start))/uint64(step) + 1
	} else {
		count = (uint64(start)-uint64(last))/(uint64(-(step+1))+1) + 1
	}
	if count > uint64(r.limits.MaxSeqValues) {
		r.fail(r.position(), "Split the sequence or list the values.", "~SEQ would produce %d lines; the limit is %d", count, r.limits.MaxSeqValues)
		return false
	}
	r.seqs = append(r.seqs, &seqState{varName: varName, next: start, step: step, remaining: int64(count), hex: hexOut, text: text})
	return true
}

// addList records `~LST(var, v1, v2...)` or `~LST({a,b}, {1,2}, {3,4}) text`.
func (r *reader) addList(buf string) bool {
	p := skipBlanks(buf[4:])
	if p == "" || p[0] != '(' {
		return false
	}
	p = skipBlanks(p[1:])
	endChar := byte(',')
	if p != "" && p[0] == '{' {
		endChar = '}'
		p = skipBlanks(p[1:])
	}
	var params []string
	for {
		n := strcspn(p, " \t,}")
		params = append(params, p[:n])
		p = skipBlanks(p[n:])
		if p != "" && p[0] == endChar {
			break
		}
		if p == "" || p[0] != ',' {
			return false
		}
		p = skipBlanks(p[1:])
	}
	numVars := len(params) - 1
	if p[0] == '}' {
		p = skipBlanks(p[1:])
	}
	if p == "" || p[0] != ',' {
		return false
	}
	p = skipBlanks(p[1:])
	var sets [][]string
	for {
		endChar = ','
		if p != "" && p[0] == '{' {
			endChar = '}'
			p = skipBlanks(p[1:])
		}
		var vals []string
		for {
			n := strcspn(p, " \t,})")
			vals = append(vals, p[:n])
			p = skipBlanks(p[n:])
			if p != "" && (p[0] == endChar || (p[0] == ')' && endChar == ',')) {
				break
			}
			if p == "" || p[0] != ',' {
				return false
			}
			p = skipBlanks(p[1:])
			if len(vals) > numVars {
				r.diags.errorf(r.position(), "", "~LST specification has too many values %q", buf)
				return false
			}
		}
		for len(vals) <= numVars {
			vals = append(vals, "")
		}
		sets = append(sets, vals)
		if int64(len(sets)) > r.limits.MaxSeqValues {
			r.fail(r.position(), "", "~LST has more than %d values", r.limits.MaxSeqValues)
			return false
		}
		if p[0] == '}' && endChar == '}' {
			p = skipBlanks(p[1:])
		}
		if p != "" && p[0] == ')' {
			break
		}
		if p == "" || p[0] != ',' {
			return false
		}
		p = skipBlanks(p[1:])
	}
	text := skipBlanks(p[1:])
	r.seqs = append(r.seqs, &seqState{isList: true, listParams: params, listValues: sets, text: text})
	return true
}

func (r *reader) setDefinition(name, value string) {
	d := r.defs[name]
	if d == nil {
		d = &definition{}
		r.defs[name] = d
	}
	d.value, d.std, d.maxParams = value, "", 0
}

// seqStep emits the next line of the innermost pending ~SEQ/~LST.
func (r *reader) seqStep() string {
	s := r.seqs[len(r.seqs)-1]
	if s.isList {
		for i, name := range s.listParams {
			r.setDefinition(name, s.listValues[s.listNextSet][i])
		}
		s.listNextSet++
		if s.listNextSet >= len(s.listValues) {
			r.seqs = r.seqs[:len(r.seqs)-1]
		}
		return s.text
	}
	var v string
	if s.hex {
		v = strconv.FormatUint(uint64(s.next), 16)
	} else {
		v = strconv.FormatInt(s.next, 10)
	}
	r.setDefinition(s.varName, v)
	s.next += s.step
	s.remaining--
	if s.remaining <= 0 {
		r.seqs = r.seqs[:len(r.seqs)-1]
	}
	return s.text
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
			r.diags.warnf(pos, "include pattern %s matches no file", pattern)
			return true
		}
		detail := "Check the path: relative includes resolve against the directory of the including file."
		if strings.ContainsAny(pattern, `"'`) {
			detail = "keepalived does not remove quotes from include paths: remove them."
		}
		r.fail(pos, detail, "included file %s does not exist", pattern)
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
			r.diags.errorf(r.position(), "Remove the extra '}' or add the missing '{'.", "unbalanced braces: extra '}'")
			r.blockDepth = 0
		}
	}
	return buf
}
