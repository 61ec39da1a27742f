// Package keepalived reads keepalived.conf the way keepalived 2.x (the checker process, as
// `keepalived -C` runs it) reads it, and returns the LVS part of it: virtual servers, virtual
// server groups, real and sorry servers, each with the file and line it came from.
//
// keepalived itself is the oracle. The reader follows its line reader (comments, braces,
// includes, $NAME definitions, @ID conditionals, ~SEQ and ~LST), its keyword dispatcher
// (including how unknown keywords and blocks are skipped) and its post-parse checks (defaults,
// dropped entries, address families, duplicate real servers). Where keepalived only logs and
// carries on, the reader returns a warning; where the result could no longer be trusted to
// match what keepalived installs, it returns an error. Every diagnostic has a file and a line.
package keepalived

import (
	"fmt"
	"strconv"
)

// Severity of a Diagnostic.
type Severity int

const (
	// SeverityWarning marks something keepalived only logs or ignores.
	SeverityWarning Severity = iota
	// SeverityError marks input whose result cannot be trusted: do not use the Config.
	SeverityError
)

func (s Severity) String() string {
	if s == SeverityError {
		return "error"
	}
	return "warning"
}

// Pos is a position in a configuration file. Line is 1-based; 0 means the whole file.
type Pos struct {
	File string
	Line int
}

func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return p.File + ":" + strconv.Itoa(p.Line)
}

// Diagnostic is one finding, with the position it refers to.
type Diagnostic struct {
	Severity Severity
	Pos      Pos
	Summary  string
	Detail   string
}

func (d Diagnostic) String() string {
	s := fmt.Sprintf("%s: %s: %s", d.Pos, d.Severity, d.Summary)
	if d.Detail != "" {
		s += " (" + d.Detail + ")"
	}
	return s
}

// Diagnostics is a list of findings in the order they were made.
type Diagnostics []Diagnostic

// HasError reports whether any diagnostic is an error.
func (ds Diagnostics) HasError() bool {
	for _, d := range ds {
		if d.Severity == SeverityError {
			return true
		}
	}
	return false
}

// Errors returns only the errors.
func (ds Diagnostics) Errors() Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Severity == SeverityError {
			out = append(out, d)
		}
	}
	return out
}

func (ds *Diagnostics) add(sev Severity, pos Pos, summary, detail string) {
	*ds = append(*ds, Diagnostic{Severity: sev, Pos: pos, Summary: summary, Detail: detail})
}

func (ds *Diagnostics) warnf(pos Pos, format string, args ...any) {
	ds.add(SeverityWarning, pos, fmt.Sprintf(format, args...), "")
}

// warnd is warnf with a detail saying how to fix the input.
func (ds *Diagnostics) warnd(pos Pos, detail, format string, args ...any) {
	ds.add(SeverityWarning, pos, fmt.Sprintf(format, args...), detail)
}

func (ds *Diagnostics) errorf(pos Pos, detail, format string, args ...any) {
	ds.add(SeverityError, pos, fmt.Sprintf(format, args...), detail)
}

// sink collects the diagnostics of one stage (line reader or dispatcher), each tagged with the
// number of the logical line it concerns, so that the stages can run concurrently and their
// findings still be reported in input order.
type sink struct {
	list Diagnostics
	seqs []int
	seq  int // current logical line number
}

func (s *sink) warnf(pos Pos, format string, args ...any) {
	s.list.warnf(pos, format, args...)
	s.seqs = append(s.seqs, s.seq)
}

func (s *sink) warnd(pos Pos, detail, format string, args ...any) {
	s.list.warnd(pos, detail, format, args...)
	s.seqs = append(s.seqs, s.seq)
}

func (s *sink) errorf(pos Pos, detail, format string, args ...any) {
	s.list.errorf(pos, detail, format, args...)
	s.seqs = append(s.seqs, s.seq)
}

// merge interleaves the findings of two stages in input order (a before b on the same line).
func merge(a, b *sink) Diagnostics {
	out := make(Diagnostics, 0, len(a.list)+len(b.list))
	i, j := 0, 0
	for i < len(a.list) || j < len(b.list) {
		if j >= len(b.list) || (i < len(a.list) && a.seqs[i] <= b.seqs[j]) {
			out = append(out, a.list[i])
			i++
		} else {
			out = append(out, b.list[j])
			j++
		}
	}
	return out
}
