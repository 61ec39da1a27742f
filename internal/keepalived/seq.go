package keepalived

import (
	"strconv"
	"strings"
)

// `~SEQ(...)` and `~LST(...)` lines, each producing several lines (keepalived's add_seq() and
// add_lst()).

const seqFix = "Write it as ~SEQ(var, start, [step,] end), ~SEQx(...) for hexadecimal values, or ~LST(var, v1, v2, ...)."

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
		r.diags.warnd(r.position(), seqFix, "~SEQ parameter strings too long %q; keepalived drops the line", buf)
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
			r.diags.warnd(r.position(), seqFix, "invalid ~SEQ values %q; keepalived drops the line", buf)
			return false
		}
	}
	if hexOut && (start < 0 || last < 0) {
		r.diags.warnd(r.position(), seqFix, "~SEQx is only valid for positive numbers %q; keepalived drops the line", buf)
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
				r.diags.warnd(r.position(), seqFix, "~LST specification has too many values %q; keepalived drops the line", buf)
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
