package keepalived

import (
	"context"
	"os"
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

type srcFile struct {
	idx  int // index in reader.files
	path string
	dir  string
	data string
	off  int
	line int // lines consumed so far
	// info identifies the file (device and inode) for the include loop check; nil for
	// content given as text.
	info os.FileInfo
}

type includeFrame struct {
	matches []string
	next    int
	file    *srcFile
	pos     Pos // the include line (for errors opening the matches)
}

type reader struct {
	ctx    context.Context
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
	// residueSubst counts the substitutions in the pieces of one line after its braces, which
	// count against MaxExpansionsPerLine as the line's own do.
	residueSubst int
	lastCls      uint8 // classes of the bytes of the line readLine returned last
	// expanded counts every byte of every file read (comments, blank lines and NUL bytes
	// included) plus every line ~SEQ/~LST and multi-line definitions generate.
	expanded int64
	lines    int // logical lines read, for the cancellation check
	// fileBytes is the size of the files read from disk, whose text is garbage once the read
	// is done.
	fileBytes int64
	fatal     bool
	eof       bool

	hash *hasher
	hbuf []byte
}

func newReader(ctx context.Context, opts Options) *reader {
	r := &reader{
		ctx:    ctx,
		opts:   opts,
		limits: opts.Limits.withDefaults(),
		diags:  &sink{},
		defs:   make(map[string]*definition, 8),
		hash:   newHasher(),
		hbuf:   make([]byte, 0, hashChunk),
	}
	// keepalived's built-in definitions.
	r.defs["_PWD"] = &definition{std: "_PWD"}
	r.defs["_INSTANCE"] = &definition{std: "_INSTANCE"}
	r.defs["_RANDOM"] = &definition{std: "_RANDOM", maxParams: 2}
	r.defs["_HASH"] = &definition{value: "#"}
	r.defs["_BANG"] = &definition{value: "!"}
	return r
}

// pushMain makes data the first file (info is nil for content given as text).
func (r *reader) pushMain(path, dir, data string, info os.FileInfo) {
	f := &srcFile{idx: len(r.files), path: path, dir: dir, data: data, info: info}
	r.files = append(r.files, path)
	r.stack = append(r.stack, &includeFrame{matches: []string{path}, next: 1, file: f})
	r.count(int64(len(data)))
	if info != nil {
		r.fileBytes += int64(len(data))
	}
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

// plainLine is rawLine and decomment in one pass over the bytes, for the bulk of a large
// configuration: a line of the current file that ends in '\n', fits keepalived's buffer, is not
// blank and holds nothing decomment changes but blanks around it (no comment, quote,
// backslash, NUL or '\r'). For any other line it returns false and consumes nothing, and the
// general path reads the line. It also returns where the first brace is (-1 for none), which
// splitBraces would otherwise look for again.
func (r *reader) plainLine() (string, uint8, int, bool) {
	if len(r.stack) == 0 || r.fatal {
		return "", 0, -1, false
	}
	f := r.stack[len(r.stack)-1].file
	if f == nil {
		return "", 0, -1, false
	}
	data := f.data
	start := f.off
	i := start
	// Indentation, eight blanks at a time where it can (nearly half of a large generated file).
	for i+8 <= len(data) && data[i:i+8] == "        " {
		i += 8
	}
	for i < len(data) && isBlank(data[i]) {
		i++
	}
	word := i
	var seen uint8
	brace := -1
	for i < len(data) {
		c := charClass[data[i]]
		if c&(clsSpecial|clsEOL) != 0 {
			break
		}
		if c&clsBrace != 0 && brace < 0 {
			brace = i - word
		}
		seen |= c
		i++
	}
	// i is at '\n' for a plain line; the piece fgets() returns (line end included) must fit.
	if i >= len(data) || data[i] != '\n' || i == word || i+1-start > maxBuf-1 || data[i-1] == '\r' {
		return "", 0, -1, false
	}
	f.off = i + 1
	f.line++
	r.posFile, r.posLine = f.idx, f.line
	return trimRightBlanks(data[word:i]), seen, brace, true
}

// count adds n bytes to the expanded size and fails when it passes the limit.
func (r *reader) count(n int64) bool {
	r.expanded += n
	if r.expanded > r.limits.MaxExpandedBytes {
		r.fail(r.position(), "Check ~SEQ/~LST ranges, multi-line definitions, includes and the size of the files.",
			"the expanded configuration exceeds %d bytes (every byte of every file read, comments included, plus the lines ~SEQ, ~LST and definitions generate)",
			r.limits.MaxExpandedBytes)
		return false
	}
	return true
}

// checkContext stops the read when Terraform cancels it (Ctrl-C).
func (r *reader) checkContext() bool {
	if err := r.ctx.Err(); err != nil {
		r.fail(r.position(), "Terraform cancelled the read.", "reading stopped: %v", err)
		return false
	}
	return true
}

// readLine returns the next logical line, as keepalived's read_line() would.
func (r *reader) readLine() (string, bool) {
	for {
		if r.fatal || r.eof {
			return "", false
		}
		if r.lines++; r.lines&1023 == 0 && !r.checkContext() {
			return "", false
		}
		var buf string
		cls := uint8(clsDollar | clsBrace | clsQuote) // unknown: assume the worst
		brace := -1                                   // the first brace in buf, when known
		residue := false
		generated := false // by ~SEQ/~LST or a multi-line definition: counts against the limit
		switch {
		case r.hasResidue && len(r.residue) == 1 && (r.residue[0] == '{' || r.residue[0] == '}'):
			// The brace that ended the previous line (the common case): what the general path
			// does with it, without the detours.
			r.hasResidue = false
			r.diags.seq++
			r.lastCls = clsBrace
			return r.splitBraces(r.residue), true
		case r.hasResidue:
			buf, r.hasResidue = r.residue, false
			cls = r.residueCls // a piece of a line has at most the classes of the line
			residue = true
		case len(r.seqs) > 0 && len(r.seqs) > r.mlSeqDepth:
			buf, generated = r.seqStep(), true
		case r.hasNext:
			generated = true
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
			if line, lineCls, at, ok := r.plainLine(); ok {
				buf, cls, brace = line, lineCls, at
				break
			}
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

		if generated && !r.count(int64(len(buf))+1) {
			return "", false
		}

		if r.mlDef != nil {
			r.continueMultilineDef(buf)
			continue
		}
		if buf == "" {
			continue
		}
		if !residue {
			r.residueSubst = 0
		}
		if c := buf[0]; cls&clsDollar != 0 || c == '@' || c == '$' || c == '~' {
			in := buf
			buf = r.expand(buf)
			brace = -1
			if residue && buf != in {
				// The text after a brace is substituted again: a definition whose value holds
				// a brace and itself would make its line go on for ever.
				if r.residueSubst++; r.residueSubst > r.limits.MaxExpansionsPerLine {
					r.fail(r.position(), "A $NAME definition refers to itself; keepalived would loop forever on it.",
						"$NAME substitution does not terminate (the text after each '{' or '}' substitutes again)")
					continue
				}
			}
			residue = false // expanded: hash the result
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
		if brace >= 0 && cls&clsQuote == 0 {
			return r.splitAt(buf, brace), true
		}
		return r.splitBraces(buf), true
	}
}
