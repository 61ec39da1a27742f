package keepalived

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// Table-driven tests of the tokenizing stages, one table per stage (in the style of
// text/template/parse's lex_test.go): fgets pieces, decomment, the logical lines read_line
// returns (braces, definitions, conditionals, sequences), and the words of a line.

type rawTest struct {
	name  string
	input string
	want  []string // "LINE:text" per fgets piece
}

var rawTests = []rawTest{
	{"empty", "", nil},
	{"lines", "a\nb\n", []string{"1:a", "2:b"}},
	{"no final newline", "a\nb", []string{"1:a", "2:b"}},
	{"crlf", "a\r\nb\r\n", []string{"1:a", "2:b"}},
	{"blank lines kept", "a\n\n\nb\n", []string{"1:a", "2:", "3:", "4:b"}},
	{"long line in pieces", strings.Repeat("x", 1030) + "\ny\n", []string{"1:" + strings.Repeat("x", 1023), "1:xxxxxxx", "2:y"}},
	{"bare cr kept inside", "a\rb\n", []string{"1:a\rb"}},
}

func TestRawLine(t *testing.T) {
	for _, tc := range rawTests {
		t.Run(tc.name, func(t *testing.T) {
			r := newReader(context.Background(), Options{})
			defer r.sum()
			r.pushMain("t.conf", "", tc.input, nil)
			var got []string
			for {
				s, ok := r.rawLine()
				if !ok {
					break
				}
				got = append(got, fmt.Sprintf("%d:%s", r.posLine, s))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

type decommentTest struct {
	name, input, want string
}

var decommentTests = []decommentTest{
	{"plain", "lb_kind DR", "lb_kind DR"},
	{"blanks trimmed", " \t lb_kind DR \t ", "lb_kind DR"},
	{"hash comment", "lb_kind DR # comment", "lb_kind DR"},
	{"bang comment", "lb_kind DR ! comment", "lb_kind DR"},
	{"comment glued to a word", "lb_kind DR#x", "lb_kind DR"},
	{"bang glued to a word", "protocol TCP!x", "protocol TCP"},
	{"whole line", "# real_server 10.0.0.1 80 {", ""},
	{"comment eats the brace", "real_server 10.0.0.1 80 #{", "real_server 10.0.0.1 80"},
	{"escaped hash", `virtualhost a\#b`, "virtualhost a#b"},
	{"escaped bang", `virtualhost a\!b`, "virtualhost a!b"},
	{"quoted hash kept", `virtualhost "a # b" # c`, `virtualhost "a # b"`},
	{"escape kept in quotes", `x "a\#b"`, `x "a\#b"`},
	{"continuation kept", `$A=x \`, `$A=x\`},
	{"NUL ends the line", "lb_kind DR\x00 # rest", "lb_kind DR"},
	{"vertical tab is not a blank", "\vx", "\vx"},
}

func TestDecomment(t *testing.T) {
	for _, tc := range decommentTests {
		t.Run(tc.name, func(t *testing.T) {
			r := newReader(context.Background(), Options{})
			defer r.sum()
			if got, _ := r.decomment(tc.input); got != tc.want {
				t.Errorf("decomment(%q) = %q, want %q", tc.input, got, tc.want)
			}
		})
	}
}

type lineTest struct {
	name, input string
	want        []string // "LINE:text" per logical line
}

var lineTests = []lineTest{
	{"brace on the keyword line", "virtual_server 10.0.0.1 80 {\n}\n",
		[]string{"1:virtual_server 10.0.0.1 80", "1:{", "2:}"}},
	{"brace on a later line", "real_server 10.0.0.1 80\n\n# c\n{\n}\n",
		[]string{"1:real_server 10.0.0.1 80", "4:{", "5:}"}},
	{"words after the brace", "a { weight 3 }\n",
		[]string{"1:a", "1:{", "1:weight 3", "1:}"}},
	{"glued braces", "a 80{weight 3}}\n",
		[]string{"1:a 80", "1:{", "1:weight 3", "1:}", "1:}"}},
	{"empty block", "a {}\n", []string{"1:a", "1:{", "1:}"}},
	{"close then keyword", "} virtual_server x {\n",
		[]string{"1:}", "1:virtual_server x", "1:{"}},
	{"quoted braces do not split", `virtualhost "{x}" {` + "\n",
		[]string{`1:virtualhost "{x}"`, "1:{"}},
	{"comments and blank lines skipped", "! a\n\n  # b\nx\n", []string{"4:x"}},
	{"definition", "$IP=10.0.0.1\nreal_server $IP 80\n", []string{"2:real_server 10.0.0.1 80"}},
	{"braced reference", "$NET=10.0.0\nreal_server ${NET}.1 80\n", []string{"2:real_server 10.0.0.1 80"}},
	{"reference needs a separator", "$NET=10.0.0\nreal_server $NET.1 80\n", []string{"2:real_server $NET.1 80"}},
	{"undefined stays", "real_server $NOPE 80\n", []string{"1:real_server $NOPE 80"}},
	{"multi-line definition", "$B=weight 2 \\\n  lvs_method DR\nreal_server x {\n$B\n}\n",
		[]string{"3:real_server x", "3:{", "4:weight 2", "4:lvs_method DR", "5:}"}},
	{"config id matches (id lb1)", "@lb1 a\n@^lb1 b\n@lb2 c\n@^lb2 d\n", []string{"1:a", "4:d"}},
	{"no config id", "@lb1 a\n@^lb1 b\n", []string{"2:b"}},
	{"sequence", "~SEQ(i, 1, 3) x$i\n", []string{"1:x1", "1:x2", "1:x3"}},
	{"hex sequence with step", "~SEQx(i, 8, 4, 16) x$i\n", []string{"1:x8", "1:xc", "1:x10"}},
	{"list", "~LST({a,b}, {1,2}, {3,4}) ${a}-$b\n", []string{"1:1-2", "1:3-4"}},
	{"list: $a before - stays", "~LST({a,b}, {1,2}) $a-$b\n", []string{"1:$a-2"}},
	{"include of nothing is consumed", "include /nonexistent-dir-for-test/*.conf\nx\n", []string{"2:x"}},
}

func TestReadLine(t *testing.T) {
	for _, tc := range lineTests {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{}
			if strings.Contains(tc.name, "(id lb1)") {
				opts.ConfigID = "lb1"
			}
			r := newReader(context.Background(), opts)
			defer r.sum()
			r.pushMain("t.conf", "/", tc.input, nil)
			var got []string
			for {
				s, ok := r.readLine()
				if !ok {
					break
				}
				got = append(got, fmt.Sprintf("%d:%s", r.posLine, s))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %q\nwant %q\ndiagnostics: %v", got, tc.want, r.diags.list)
			}
		})
	}
}

type tokenTest struct {
	name, input string
	want        []string
}

var tokenTests = []tokenTest{
	{"words", "real_server 10.0.0.1 80", []string{"real_server", "10.0.0.1", "80"}},
	{"blanks", " \ta\t\tb  ", []string{"a", "b"}},
	{"quoted", `virtualhost "a b" c`, []string{"virtualhost", "a b", "c"}},
	{"quoted empty", `x ""`, []string{"x", ""}},
	{"quote inside a word ends it", `a"b c"`, []string{"a", "b c"}},
	{"unmatched quote drops the rest", `x "a b`, []string{"x"}},
	{"braces are words", "{", []string{"{"}},
}

func TestTokenize(t *testing.T) {
	for _, tc := range tokenTests {
		t.Run(tc.name, func(t *testing.T) {
			r := newReader(context.Background(), Options{})
			defer r.sum()
			r.pushMain("t.conf", "", "", nil)
			p := &parser{r: r, diags: &sink{}, lineFile: -1}
			if got := p.tokenize(tc.input, nil); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("tokenize(%q) = %q, want %q", tc.input, got, tc.want)
			}
		})
	}
}

// TestPlainLineMatchesRawLineAndDecomment checks the reader's fast path against the two stages
// it fuses: on random text made of the bytes that matter to them (blanks, line ends, comment
// and quote characters, braces, NUL, long lines), every line plainLine accepts is the line,
// byte classes, position and offset that rawLine and decomment give, with its first brace.
func TestPlainLineMatchesRawLineAndDecomment(t *testing.T) {
	pieces := []string{"a", "real_server", "weight 1", "\n", " ", "\t", "\n", "\r", "\r\n", "#", "!", "\"", "\\", "{", "}", "$", "\x00", "\v",
		strings.Repeat("x", 500), strings.Repeat(" ", 300)}
	rng := rand.New(rand.NewPCG(10, 4))
	accepted := 0
	for i := 0; i < 3000; i++ {
		var b strings.Builder
		for j, n := 0, rng.IntN(60); j < n; j++ {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		input := b.String()
		fast, slow := newReader(context.Background(), Options{}), newReader(context.Background(), Options{})
		fast.pushMain("t.conf", "", input, nil)
		slow.pushMain("t.conf", "", input, nil)
		for {
			line, cls, brace, ok := fast.plainLine()
			if !ok {
				// Not a plain line: both read it the general way.
				_, okFast := fast.rawLine()
				_, okSlow := slow.rawLine()
				if okFast != okSlow {
					t.Fatalf("input %q: rawLine after a refused plainLine: %v, want %v", input, okFast, okSlow)
				}
				if !okFast {
					break
				}
				continue
			}
			accepted++
			raw, _ := slow.rawLine()
			want, wantCls := slow.decomment(raw)
			fo, so := fast.stack[0].file.off, slow.stack[0].file.off
			if line != want || cls != wantCls || fast.posLine != slow.posLine || fo != so {
				t.Fatalf("input %q: plainLine %q cls %b line %d off %d; rawLine+decomment %q cls %b line %d off %d",
					input, line, cls, fast.posLine, fo, want, wantCls, slow.posLine, so)
			}
			if wantBrace := strings.IndexAny(want, "{}"); brace != wantBrace { // (a plain line has no quotes)
				t.Fatalf("input %q: plainLine's first brace at %d, want %d", input, brace, wantBrace)
			}
		}
		fast.sum()
		slow.sum()
	}
	if accepted < 1000 {
		t.Errorf("plainLine accepted only %d lines: the test tries too little", accepted)
	}
}

// TestReadUnsignedFastPath checks readUnsigned's shortcut for plain decimal words against the
// strtoul path on the words around its edges (leading zeros, ten digits, signs, blanks, rest).
func TestReadUnsignedFastPath(t *testing.T) {
	words := []string{"0", "1", "80", "080", "000000080", "65535", "65536", "999999999", "0999999999", "4294967295",
		"4294967296", "", " 80", "80 ", "+80", "-80", "8a", "a8", "0x10", "1.5"}
	for _, w := range words {
		for _, r := range [][2]uint64{{0, 1<<31 - 1}, {1, 65535}, {1, 128}, {0, 0}} {
			for _, ignore := range []bool{false, true} {
				v, ok, msg := readUnsigned(w, r[0], r[1], ignore)
				wv, wok, wmsg := readUnsignedC(w, r[0], r[1], ignore)
				if v != wv || ok != wok || msg != wmsg {
					t.Errorf("readUnsigned(%q, %d, %d, %v) = %d %v %q, strtoul path %d %v %q", w, r[0], r[1], ignore, v, ok, msg, wv, wok, wmsg)
				}
			}
		}
		if got, want := portComplaint(w), portComplaintC(w); got != want {
			t.Errorf("portComplaint(%q) = %q, strtoul path %q", w, got, want)
		}
	}
}

// portComplaintC is portComplaint without its shortcut.
func portComplaintC(port string) string {
	if port == "" {
		return ""
	}
	_, good, msg := readUnsignedC(port, 1, 65535, true)
	if !good {
		return ""
	}
	return msg
}
