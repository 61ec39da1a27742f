package keepalived

import (
	"net/netip"
	"runtime"
	"strings"
)

// The dispatcher reproduces keepalived's process_stream() for the checker process: keyword
// tables per block level, blocks opened by '{' on the keyword's line or the next, inactive
// (VRRP) blocks skipped by counting braces, and unknown keywords only reported — which means a
// block after an unknown keyword is NOT skipped: its '{' is ignored, its contents are read as
// part of the enclosing block and its '}' closes the enclosing block. keepalived does exactly
// that, so the reader does too (with a warning).

type level uint8

const (
	levelRoot level = iota
	levelVS
	levelRS
	levelGeneric // blocks whose contents do not matter to LVS: keywords and nested blocks are skipped
)

type kwInfo struct {
	inactive bool
	sub      level
	hasSub   bool
	handler  func(p *parser, toks []string)
	close    func(p *parser)
	// needsParam: keepalived exits with a configuration error when the keyword has no value.
	needsParam bool
}

type vsBuild struct {
	vs       *VirtualServer
	af       int // 0 unknown, 4, 6
	weight   uint32
	method   Method
	protoSet bool
	rs       []*RealServer
	sorry    *RealServer
}

type parser struct {
	r     *reader
	diags *sink
	skip  int // keepalived's skip_sublevel
	level int // keepalived's kw_level

	// Position of the current line: file index (in the batch's list, or -1: seqFile in the
	// reader's list) and line number. linePos() builds the Pos when one is needed.
	lineFile int
	seqFile  int
	lineNo   int
	lineCls  uint8

	lines <-chan lineBatch
	free  chan<- []lineRec
	batch lineBatch
	bi    int

	toks []string
	slab []RealServer
	vss  []*vsBuild
	vsgs []*vsgBuild
}

type vsgBuild struct {
	g              *Group
	haveV4, haveV6 bool
	fwmarkNoFamily bool
}

// linePos is the position of the current line.
func (p *parser) linePos() Pos {
	if p.lineFile < 0 {
		return Pos{File: p.r.files[p.seqFile], Line: p.lineNo}
	}
	return Pos{File: p.batch.files[p.lineFile], Line: p.lineNo}
}

// nextLine returns the next logical line and sets the current position.
func (p *parser) nextLine() (string, bool) {
	if p.lines == nil { // sequential mode
		s, ok := p.r.readLine()
		if !ok {
			return "", false
		}
		p.diags.seq++
		p.lineFile, p.lineNo, p.lineCls = -1, p.r.posLine, p.r.lastCls
		p.seqFile = p.r.posFile
		return s, true
	}
	if p.bi >= len(p.batch.recs) {
		if p.batch.recs != nil {
			select {
			case p.free <- p.batch.recs[:0]:
			default:
			}
		}
		b, ok := <-p.lines
		if !ok {
			p.batch = lineBatch{}
			return "", false
		}
		p.batch, p.bi = b, 0
	}
	rec := &p.batch.recs[p.bi]
	p.bi++
	p.diags.seq++
	p.lineFile, p.lineNo, p.lineCls = int(rec.file), int(rec.line), rec.cls
	return rec.text, true
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

func (p *parser) warnf(format string, args ...any) { p.diags.warnf(p.linePos(), format, args...) }

func (p *parser) errorf(detail, format string, args ...any) {
	p.diags.errorf(p.linePos(), detail, format, args...)
}

// processStream reads lines for one block level until its closing brace (or end of input).
// It returns true when the block was skipped, so its close handler must not run.
func (p *parser) processStream(lv level, needBob bool) bool {
	for {
		line, ok := p.nextLine()
		if !ok {
			return false
		}
		// Most lines are one keyword and plain values: split them into words only when needed.
		// A simple line has no quotes: a brace in it is the whole line, and its words are
		// split on blanks. Until the keyword matters, str is the whole line.
		var toks []string
		str := line
		simple := p.lineCls&clsQuote == 0 && charClass[line[0]]&clsSpace == 0
		if simple && lv == levelGeneric && p.skip == 0 && !needBob {
			// Fast lane for the bulk of large configurations (health checker blocks): only
			// braces matter here; this is what the general path below does for such lines.
			switch line {
			case "}":
				if p.level > 0 {
					return false
				}
			case "{":
				p.skipBlockBody()
			}
			continue
		}
		if !simple {
			p.toks = p.tokenize(line, p.toks)
			toks = p.toks
			if len(toks) == 0 {
				continue
			}
			str = toks[0]
		}
		if p.skip == -1 {
			if str == "{" {
				p.skip = 1
				needBob = false
				continue
			}
			p.skip = 0
		}
		if p.skip > 0 {
			if simple {
				// Without quotes, a brace is always a line of its own.
				switch line {
				case "{":
					p.skip++
				case "}":
					p.skip--
				}
			} else {
				for _, t := range toks {
					str = t
					if t == "{" {
						p.skip++
					} else if t == "}" {
						p.skip--
						if p.skip == 0 {
							break
						}
					}
				}
			}
			if str == "}" && p.skip == 0 && p.level > 0 {
				return true
			}
			continue
		}
		if simple && lv != levelGeneric {
			// (in generic blocks every keyword is treated alike: only braces matter)
			str, _ = firstWord(line, 0)
		}
		if needBob {
			needBob = false
			if str == "{" && p.level > 0 {
				continue
			}
			p.warnf("missing '{' at the beginning of a block; keepalived reads the following lines as the block's contents")
		} else if str == "{" {
			if lv == levelGeneric {
				// A block of values or sub-keywords after a keyword of a block that does not
				// matter to LVS (keepalived's handler or sub-level consumes it).
				p.skipBlockBody()
				continue
			}
			p.warnf("unexpected '{'; keepalived ignores it and reads what follows as part of the enclosing block")
			continue
		}
		if str == "}" {
			if p.level > 0 {
				return false
			}
			p.warnf("unexpected '}' at the top level; keepalived ignores it (the block it was meant to close ended earlier)")
			continue
		}
		kw := lookup(lv, str)
		if kw == nil {
			p.warnf("unknown keyword %q; keepalived ignores it", str)
			continue
		}
		if simple && (kw.needsParam || kw.handler != nil) {
			p.toks = p.tokenize(line, p.toks)
			toks = p.toks
		}
		call := !kw.inactive && kw.handler != nil
		if kw.needsParam && len(toks) < 2 {
			p.errorf("Give the keyword its value.", "%q is missing its value; keepalived refuses to start with this configuration", str)
			call = false
			if kw.hasSub {
				p.skip = -1
			}
		} else if kw.inactive {
			p.skip = -1
		}
		if call && (lv == levelVS || lv == levelRS) {
			// keepalived applies these to the last virtual (real) server; when that one was
			// rejected and had no block to skip, there may be none.
			b := p.curVS()
			call = b != nil && (lv == levelVS || len(b.rs) > 0)
		}
		bobNeeded := false
		if kw.hasSub {
			// Without quotes a brace is a line of its own, so the block's '{' comes next.
			if toks != nil && toks[len(toks)-1] == "{" {
				toks = toks[:len(toks)-1]
			} else {
				bobNeeded = true
			}
		}
		if call && lv != levelGeneric {
			if ref := unexpandedRef(toks, p.lineCls); ref != "" {
				p.errorf("Define it with `$NAME=value` (no blank before '=') before its first use, and check @id conditionals around the definition. "+
					"keepalived substitutes $NAME only when followed by a blank, ',', ')' or the end of the line; use ${NAME} elsewhere.",
					"%s is not defined (or cannot be substituted here); keepalived would use the text %q literally", ref, toks[len(toks)-1])
				call = false
				if kw.hasSub {
					p.skip = -1
				}
			}
		}
		if call {
			kw.handler(p, toks)
		}
		if kw.hasSub {
			p.level++
			skipped := p.processStream(kw.sub, bobNeeded)
			p.level--
			if !skipped && !kw.inactive && kw.close != nil {
				kw.close(p)
			}
		}
	}
}

// skipBlockBody consumes the lines of a { } block whose '{' was just read.
func (p *parser) skipBlockBody() {
	depth := 1
	for depth > 0 {
		line, ok := p.nextLine()
		if !ok {
			return
		}
		switch line {
		case "{":
			depth++
		case "}":
			depth--
		}
	}
}

// Keyword tables. lookup returns pointers to these so that the hot path copies nothing.
var (
	genericKW  = kwInfo{}
	genericSub = kwInfo{hasSub: true, sub: levelGeneric}
	plainKW    = kwInfo{}
	paramKW    = kwInfo{needsParam: true}
	inactiveKW = kwInfo{inactive: true}
	inactSub   = kwInfo{inactive: true, hasSub: true, sub: levelGeneric}
	checkerKW  = kwInfo{hasSub: true, sub: levelGeneric}

	vsKW           = kwInfo{hasSub: true, sub: levelVS, handler: (*parser).vsHandler, close: (*parser).vsEnd, needsParam: true}
	vsgKW          = kwInfo{handler: (*parser).vsgHandler, needsParam: true}
	rsKW           = kwInfo{hasSub: true, sub: levelRS, handler: (*parser).rsHandler, close: (*parser).rsEnd, needsParam: true}
	vsMethodKW     = kwInfo{handler: (*parser).vsMethodHandler, needsParam: true}
	protocolKW     = kwInfo{handler: (*parser).protocolHandler, needsParam: true}
	ipFamilyKW     = kwInfo{handler: (*parser).ipFamilyHandler, needsParam: true}
	granularityKW  = kwInfo{handler: (*parser).granularityHandler, needsParam: true}
	vsWeightKW     = kwInfo{handler: (*parser).vsWeightHandler, needsParam: true}
	sorryKW        = kwInfo{handler: (*parser).sorryHandler, needsParam: true}
	sorryMethodKW  = kwInfo{handler: (*parser).sorryMethodHandler, needsParam: true}
	sorryInhibitKW = kwInfo{handler: (*parser).sorryInhibitHandler}
	rsWeightKW     = kwInfo{handler: (*parser).rsWeightHandler, needsParam: true}
	rsMethodKW     = kwInfo{handler: (*parser).rsMethodHandler, needsParam: true}
)

func lookup(lv level, kw string) *kwInfo {
	switch lv {
	case levelGeneric:
		return &genericKW
	case levelRoot:
		switch kw {
		case "virtual_server":
			return &vsKW
		case "virtual_server_group":
			return &vsgKW
		case "global_defs", "SSL", "bfd_instance", "track_file", "vrrp_track_file":
			return &genericSub
		case "linkbeat_use_polling", "net_namespace", "net_namespace_ipvs", "namespace_with_ipsets",
			"use_pid_dir", "instance", "child_wait_time":
			return &plainKW
		case "vrrp_sync_group", "garp_group", "vrrp_instance", "vrrp_script", "vrrp_track_process", "track_group":
			return &inactSub
		case "static_ipaddress", "static_routes", "static_rules", "linkbeat_interfaces", "interface_up_down_delays":
			return &inactiveKW
		}
	case levelVS:
		switch kw {
		case "real_server":
			return &rsKW
		case "lb_kind", "lvs_method":
			return &vsMethodKW
		case "protocol":
			return &protocolKW
		case "ip_family":
			return &ipFamilyKW
		case "persistence_granularity":
			return &granularityKW
		case "weight":
			return &vsWeightKW
		case "sorry_server":
			return &sorryKW
		case "sorry_server_lvs_method":
			return &sorryMethodKW
		case "sorry_server_inhibit":
			return &sorryInhibitKW
		case "retry", "delay_before_retry", "warmup", "connect_timeout", "delay_loop", "lb_algo", "lvs_sched",
			"persistence_engine", "quorum", "hysteresis":
			return &paramKW
		case "inhibit_on_failure", "hashed", "ops", "flag-1", "flag-2", "flag-3", "sh-port", "sh-fallback",
			"mh-port", "mh-fallback", "persistence_timeout", "ha_suspend", "smtp_alert", "virtualhost",
			"snmp_name", "alpha", "omega", "quorum_up", "quorum_down":
			return &plainKW
		}
	case levelRS:
		switch kw {
		case "weight":
			return &rsWeightKW
		case "lvs_method":
			return &rsMethodKW
		case "uthreshold", "lthreshold", "retry", "delay_before_retry", "warmup", "connect_timeout", "delay_loop":
			return &paramKW
		case "inhibit_on_failure", "notify_up", "notify_down", "alpha", "smtp_alert", "virtualhost", "snmp_name":
			return &plainKW
		case "TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK", "SMTP_CHECK", "PING_CHECK", "UDP_CHECK",
			"DNS_CHECK", "FILE_CHECK", "BFD_CHECK":
			return &checkerKW
		}
	}
	return nil
}

func (p *parser) curVS() *vsBuild {
	if len(p.vss) == 0 {
		return nil
	}
	return p.vss[len(p.vss)-1]
}

// parseAddress reproduces keepalived's inet_stosockaddr(): the family follows from a ':' in
// the text, anything from the first '-' (or else '/') on is ignored, and the rest must be a
// plain numeric address. The port, when given, must be 1-65535.
func parseAddress(ip, port string) (addr netip.Addr, portNum uint16, ignored string, ok bool) {
	// One pass over the (short) text: family, and where a '-' or else a '/' starts.
	v6, dash, slash := false, -1, -1
	for i := 0; i < len(ip); i++ {
		switch ip[i] {
		case ':':
			v6 = true
		case '-':
			if dash < 0 {
				dash = i
			}
		case '/':
			if slash < 0 {
				slash = i
			}
		}
	}
	if port != "" {
		v, good, _ := readUnsigned(port, 1, 65535, true)
		if !good {
			return netip.Addr{}, 0, "", false
		}
		portNum = uint16(v)
	}
	s := ip
	if dash >= 0 {
		s, ignored = s[:dash], s[dash:]
	} else if slash >= 0 {
		s, ignored = s[:slash], s[slash:]
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" || a.Is6() != v6 {
		return netip.Addr{}, 0, "", false
	}
	return a, portNum, ignored, true
}

// portArg returns the port argument keepalived passes on: none when absent or all zeros.
func portArg(toks []string, i int) string {
	if len(toks) <= i {
		return ""
	}
	if strings.Trim(toks[i], "0") == "" {
		return ""
	}
	return toks[i]
}

func afOf(a netip.Addr) int {
	if a.Is6() {
		return 6
	}
	return 4
}

func (p *parser) vsHandler(toks []string) {
	vs := &VirtualServer{Pos: p.linePos()}
	b := &vsBuild{vs: vs, weight: 1, rs: make([]*RealServer, 0, 8)}
	switch toks[1] {
	case "group":
		if len(toks) < 3 {
			p.errorf("Write `virtual_server group NAME`.", "virtual_server group without a group name")
			p.skip = -1
			return
		}
		vs.Group = toks[2]
	case "fwmark":
		arg := ""
		if len(toks) > 2 {
			arg = toks[2]
		}
		v, ok, msg := readUnsigned(arg, 0, 1<<32-1, true)
		if !ok {
			p.warnf("virtual server fwmark %q must be in [0, 4294967295]; keepalived ignores this virtual server", arg)
			p.skip = -1
			return
		}
		if msg != "" {
			p.warnf("virtual server fwmark: %s; keepalived uses %d", msg, v)
		}
		vs.HasFwmark, vs.Fwmark = true, uint32(v)
	default:
		port := portArg(toks, 2)
		a, pn, ignored, ok := parseAddress(toks[1], port)
		if !ok {
			p.errorf("Use `virtual_server IP PORT` with a numeric IPv4 or IPv6 address and a port 1-65535, `virtual_server fwmark N` or `virtual_server group NAME`.",
				"invalid virtual server address/port %q %q", toks[1], port)
			p.skip = -1
			return
		}
		if ignored != "" {
			p.warnf("keepalived ignores %q after the virtual server address %s (ranges belong in a virtual_server_group)", ignored, a)
		}
		vs.Address, vs.Port = a, pn
		b.af = afOf(a)
	}
	p.vss = append(p.vss, b)
}

func (p *parser) vsEnd() {
	b := p.curVS()
	if b == nil {
		return
	}
	if s := b.sorry; s != nil && s.Method != MethodTUN {
		if b.af == 0 {
			b.af = afOf(s.Address)
		} else if b.af != afOf(s.Address) {
			p.diags.warnf(s.Pos, "address family of virtual server and sorry server %s don't match; keepalived skips the sorry server", s.Address)
			b.sorry = nil
		}
	}
	if b.af == 0 && b.vs.Group == "" {
		mixed := false
		if b.sorry != nil {
			b.af = afOf(b.sorry.Address)
		}
		for _, rs := range b.rs {
			if b.af == 0 {
				b.af = afOf(rs.Address)
			} else if b.af != afOf(rs.Address) {
				mixed = true
				break
			}
		}
		if mixed || b.af == 0 {
			b.af = 4
		}
	}
}

// forwarding parses `lb_kind|lvs_method METHOD [type ipip|gue|gre] [port N] [csum|nocsum|remcsum]`.
// keepalived sets the method before it checks the tunnel options.
func (p *parser) forwarding(toks []string, cur Method, what string) Method {
	m, ok := ParseMethod(toks[1])
	if !ok {
		p.errorf("Use NAT, DR or TUN (upper case, as keepalived requires).",
			"unknown %s %q for %s server; keepalived keeps the previous method", toks[0], toks[1], what)
		return cur
	}
	for i := 2; i < len(toks); i++ {
		switch toks[i] {
		case "type", "port":
			if i+1 >= len(toks) {
				p.warnf("missing value after %q in %s; keepalived ignores the tunnel options", toks[i], toks[0])
				return m
			}
			i++
		case "csum", "nocsum", "remcsum":
		default:
			p.warnf("invalid tunnel option %q for %s server; keepalived ignores the tunnel options", toks[i], what)
			return m
		}
	}
	return m
}

func (p *parser) vsMethodHandler(toks []string) {
	b := p.curVS()
	b.method = p.forwarding(toks, b.method, "virtual")
}

func (p *parser) protocolHandler(toks []string) {
	b := p.curVS()
	switch strings.ToUpper(toks[1]) {
	case "TCP":
		b.vs.Protocol = ProtocolTCP
	case "UDP":
		b.vs.Protocol = ProtocolUDP
	case "SCTP":
		b.vs.Protocol = ProtocolSCTP
	default:
		p.warnf("unknown protocol %q; keepalived ignores it", toks[1])
		return
	}
	b.protoSet = true
}

func (p *parser) ipFamilyHandler(toks []string) {
	b := p.curVS()
	var af int
	switch toks[1] {
	case "inet":
		af = 4
	case "inet6":
		af = 6
	default:
		p.warnf("unknown address family %q; keepalived ignores it", toks[1])
		return
	}
	if b.af != 0 && af != b.af {
		p.warnf("ip_family %s conflicts with the virtual server's address family; keepalived ignores it", toks[1])
		return
	}
	b.af = af
}

func (p *parser) granularityHandler(toks []string) {
	b := p.curVS()
	af := b.af
	if af == 0 {
		af = 6
		if strings.IndexByte(toks[1], '.') >= 0 {
			af = 4
		}
	}
	if af == 6 {
		if _, ok, _ := readUnsigned(toks[1], 1, 128, false); !ok {
			p.warnf("invalid IPv6 persistence_granularity %q; keepalived ignores it", toks[1])
			return
		}
	} else if a, err := netip.ParseAddr(toks[1]); err != nil || !a.Is4() {
		p.warnf("invalid IPv4 persistence_granularity %q; keepalived ignores it", toks[1])
		return
	}
	if b.af == 0 {
		b.af = af
	}
}

func (p *parser) vsWeightHandler(toks []string) {
	b := p.curVS()
	v, ok, msg := readUnsigned(toks[1], 1, 1<<31-1, true)
	if !ok {
		p.warnf("virtual server weight %q is outside 1-2147483647; keepalived ignores it", toks[1])
		return
	}
	if msg != "" {
		p.warnf("virtual server weight: %s; keepalived uses %d", msg, v)
	}
	b.weight = uint32(v)
}

func (p *parser) newServer(toks []string, what string, method Method) (*RealServer, bool) {
	port := portArg(toks, 2)
	a, pn, ignored, ok := parseAddress(toks[1], port)
	if !ok {
		p.errorf("Use `"+what+" IP [PORT]` with a numeric IPv4 or IPv6 address and a port 1-65535.",
			"invalid %s address/port %q %q", what, toks[1], port)
		return nil, false
	}
	if ignored != "" {
		p.warnf("keepalived ignores %q after the %s address %s", ignored, what, a)
	}
	if len(p.slab) == cap(p.slab) {
		p.slab = make([]RealServer, 0, 256) // fewer, larger allocations for large sites
	}
	p.slab = append(p.slab, RealServer{Pos: p.linePos(), Address: a, Port: pn, Method: method, Sorry: what == "sorry_server"})
	return &p.slab[len(p.slab)-1], true
}

func (p *parser) rsHandler(toks []string) {
	b := p.curVS()
	rs, ok := p.newServer(toks, "real_server", b.method)
	if !ok {
		p.skip = -1
		return
	}
	b.rs = append(b.rs, rs)
}

func (p *parser) rsEnd() {
	b := p.curVS()
	if b == nil || len(b.rs) == 0 {
		return
	}
	rs := b.rs[len(b.rs)-1]
	if rs.Method == MethodTUN {
		return
	}
	if b.af == 0 {
		b.af = afOf(rs.Address)
	} else if b.af != afOf(rs.Address) {
		p.diags.warnf(rs.Pos, "address family of virtual server and real server %s don't match; keepalived skips the real server", rs.Address)
		b.rs = b.rs[:len(b.rs)-1]
	}
}

func (p *parser) rsWeightHandler(toks []string) {
	b := p.curVS()
	rs := b.rs[len(b.rs)-1]
	v, ok, msg := readUnsigned(toks[1], 0, 1<<31-1, true)
	if !ok {
		p.warnf("real server weight %q is outside 0-2147483647; keepalived ignores it", toks[1])
		return
	}
	if msg != "" {
		p.warnf("real server weight: %s; keepalived uses %d", msg, v)
	}
	rs.Weight, rs.weightSet = uint32(v), true
}

func (p *parser) rsMethodHandler(toks []string) {
	b := p.curVS()
	rs := b.rs[len(b.rs)-1]
	rs.Method = p.forwarding(toks, rs.Method, "real")
}

func (p *parser) sorryHandler(toks []string) {
	b := p.curVS()
	s, ok := p.newServer(toks, "sorry_server", b.method)
	if !ok {
		return
	}
	s.Weight, s.weightSet = 1, true
	b.sorry = s
}

func (p *parser) sorryMethodHandler(toks []string) {
	b := p.curVS()
	if b.sorry == nil {
		p.warnf("sorry_server_lvs_method used without (or before) sorry_server; keepalived ignores it")
		return
	}
	b.sorry.Method = p.forwarding(toks, b.sorry.Method, "sorry")
}

func (p *parser) sorryInhibitHandler([]string) {
	if p.curVS().sorry == nil {
		p.warnf("sorry_server_inhibit used before or without sorry_server; keepalived ignores it")
	}
}

// vsgHandler reads a virtual_server_group block: its lines are values, not keywords.
func (p *parser) vsgHandler(toks []string) {
	g := &vsgBuild{g: &Group{Pos: p.linePos(), Name: toks[1]}}
	if len(toks) > 2 {
		p.warnf("virtual_server_group %s has extra parameters %q; keepalived ignores them", toks[1], toks[2])
	}
	var etoks []string
	needBob := true
	for {
		line, ok := p.nextLine()
		if !ok {
			break
		}
		etoks = p.tokenize(line, etoks)
		if len(etoks) == 0 {
			continue
		}
		if needBob {
			needBob = false
			if etoks[0] == "{" {
				if len(etoks) == 1 {
					continue
				}
				etoks = etoks[1:]
			} else {
				p.warnf("'{' missing at the beginning of virtual_server_group %s", g.g.Name)
			}
		}
		hadEOB := false
		if etoks[len(etoks)-1] == "}" {
			if len(etoks) == 1 {
				break
			}
			hadEOB = true
			etoks = etoks[:len(etoks)-1]
		}
		if ref := unexpandedRef(etoks, p.lineCls); ref != "" {
			p.errorf("Define it with `$NAME=value` (no blank before '=') before its first use.",
				"%s is not defined (or cannot be substituted here) in virtual_server_group %s", ref, g.g.Name)
		} else {
			p.vsgEntry(g, etoks)
		}
		if hadEOB {
			break
		}
	}
	switch {
	case len(g.g.Entries) == 0:
		p.diags.warnf(g.g.Pos, "virtual server group %s has no entries; keepalived removes it", g.g.Name)
	case g.haveV4 && g.haveV6 && g.fwmarkNoFamily:
		p.diags.warnf(g.g.Pos, "virtual server group %s cannot have IPv4, IPv6 and fwmark without family; keepalived removes it", g.g.Name)
	default:
		p.vsgs = append(p.vsgs, g)
	}
}

func (p *parser) vsgEntry(g *vsgBuild, toks []string) {
	e := GroupEntry{Pos: p.linePos()}
	if toks[0] == "fwmark" {
		if len(toks) < 2 {
			p.errorf("Write `fwmark N [inet|inet6]`.", "fwmark entry without a value; keepalived refuses to start with this configuration")
			return
		}
		v, ok, msg := readUnsigned(toks[1], 0, 1<<32-1, true)
		if !ok {
			p.warnf("(%s): fwmark %q must be in [0, 4294967295]; keepalived ignores it", g.g.Name, toks[1])
			return
		}
		if msg != "" {
			p.warnf("(%s): fwmark: %s; keepalived uses %d", g.g.Name, msg, v)
		}
		if len(toks) > 2 {
			switch toks[2] {
			case "inet":
				g.haveV4 = true
			case "inet6":
				g.haveV6 = true
			default:
				p.warnf("(%s): fwmark %d family %q unknown; keepalived ignores the entry", g.g.Name, v, toks[2])
				return
			}
			e.FwmarkFamily = toks[2]
		} else {
			g.fwmarkNoFamily = true
		}
		e.IsFwmark, e.Fwmark = true, uint32(v)
		g.g.Entries = append(g.g.Entries, e)
		return
	}
	addrStr := toks[0]
	port := portArg(toks, 1)
	const fix = "Use ADDRESS, ADDRESS-LASTOCTET (IPv6: -LASTHEXWORD), ADDRESS-ADDRESS or ADDRESS/PREFIX, then a port."
	first, pn, _, ok := parseAddress(addrStr, port)
	if !ok {
		p.errorf(fix, "invalid virtual server group %s address %q %q", g.g.Name, addrStr, port)
		return
	}
	e.First, e.Last, e.Port = first, first, pn
	if i := strings.IndexByte(addrStr, '/'); i >= 0 {
		mask, rest, digits, _ := strtoul(addrStr[i+1:], 10)
		bits := first.BitLen()
		if rest != "" || !digits || mask == 0 || mask > uint64(bits) {
			p.errorf(fix, "invalid netmask in virtual server group %s entry %q", g.g.Name, addrStr)
			return
		}
		pfx := netip.PrefixFrom(first, int(mask))
		if pfx.Masked().Addr() != first {
			p.errorf("Give the network address of the prefix.", "address mask bits not empty in virtual server group %s entry %q", g.g.Name, addrStr)
			return
		}
		e.Last = lastOfPrefix(pfx)
	} else if i := strings.IndexByte(addrStr, '-'); i >= 0 {
		endStr := addrStr[i+1:]
		if (first.Is4() && strings.IndexByte(endStr, '.') >= 0) || (first.Is6() && strings.IndexByte(endStr, ':') >= 0) {
			last, _, _, ok := parseAddress(endStr, port)
			if !ok {
				p.errorf(fix, "invalid range end in virtual server group %s entry %q", g.g.Name, addrStr)
				return
			}
			if last.Is6() != first.Is6() {
				p.errorf(fix, "range address families do not match in virtual server group %s entry %q", g.g.Name, addrStr)
				return
			}
			if last.Less(first) {
				p.errorf(fix, "address range end is less than its start in virtual server group %s entry %q", g.g.Name, addrStr)
				return
			}
			e.Last = last
		} else {
			base := 10
			if first.Is6() {
				base = 16
			}
			rng, rest, _, overflow := strtoul(endStr, base)
			if rest != "" {
				p.warnf("virtual server group range %q has extra characters at the end %q; keepalived uses the number before them", addrStr, rest)
			} else if overflow || (first.Is6() && rng > 0xffff) || (first.Is4() && rng > 255) {
				p.errorf(fix, "virtual server group range %q: end %q too large", addrStr, endStr)
				return
			}
			r32 := uint32(rng)
			if first.Is4() {
				b := first.As4()
				start := uint32(b[3])
				v := (uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8) | r32
				e.Last = netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
				if start >= r32 {
					p.errorf(fix, "address range end is not greater than its start in virtual server group %s entry %q", g.g.Name, addrStr)
					return
				}
			} else {
				b := first.As16()
				start := uint32(b[14])<<8 | uint32(b[15])
				b[14], b[15] = byte(r32>>8), byte(r32)
				e.Last = netip.AddrFrom16(b)
				if start >= r32 {
					p.errorf(fix, "address range end is not greater than its start in virtual server group %s entry %q", g.g.Name, addrStr)
					return
				}
			}
		}
	}
	if first.Is4() {
		g.haveV4 = true
	} else {
		g.haveV6 = true
	}
	g.g.Entries = append(g.g.Entries, e)
}

func lastOfPrefix(p netip.Prefix) netip.Addr {
	a := p.Addr()
	if a.Is4() {
		b := a.As4()
		v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		v |= uint32(1)<<(32-p.Bits()) - 1
		return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	}
	b := a.As16()
	for i := p.Bits(); i < 128; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	return netip.AddrFrom16(b)
}

// lineRec is a logical line handed from the line reader to the dispatcher: kept small (one
// pointer, 32 bytes), as a large configuration has millions of them.
type lineRec struct {
	text string
	line int32
	file int32 // index in lineBatch.files
	cls  uint8
}

// lineBatch carries lines and the file names known when it was sent (the reader only appends
// to its file list, so the snapshot stays valid).
type lineBatch struct {
	recs  []lineRec
	files []string
}

const batchLines = 1024

// produce runs the line reader, handing lines over in batches (recycled through free so that
// memory stays bounded).
func (r *reader) produce(out chan<- lineBatch, free <-chan []lineRec) {
	defer close(out)
	var batch []lineRec
	for {
		s, ok := r.readLine()
		if !ok {
			break
		}
		if batch == nil {
			select {
			case batch = <-free:
			default:
				batch = make([]lineRec, 0, batchLines)
			}
		}
		batch = append(batch, lineRec{text: s, line: int32(r.posLine), file: int32(r.posFile), cls: r.lastCls})
		if len(batch) == batchLines {
			out <- lineBatch{recs: batch, files: r.files}
			batch = nil
		}
	}
	if len(batch) > 0 {
		out <- lineBatch{recs: batch, files: r.files}
	}
}

// The line reader and the dispatcher run concurrently (each is about half of the work) for a
// main file of at least pipelineMin bytes on at least pipelineCPUs CPUs. On two CPUs that are
// also busy with other work (a CI machine running a kernel lab), the hand-over costs more than
// it gains: measured 82-85 ms pipelined against 73-75 ms sequential on a 15 MB configuration.
const (
	pipelineMin  = 1 << 20
	pipelineCPUs = 4
)

// run parses everything, then applies keepalived's post-parse steps.
func run(r *reader) (*Config, Diagnostics) {
	p := &parser{r: r, diags: &sink{}, toks: make([]string, 0, 16)}
	if runtime.GOMAXPROCS(0) >= pipelineCPUs && r.size() > pipelineMin {
		lines := make(chan lineBatch, 8)
		free := make(chan []lineRec, 12)
		go r.produce(lines, free)
		p.lines, p.free = lines, free
		p.processStream(levelRoot, false)
		for range lines { // the dispatcher reads to the end; drain in case it ever stops early
		}
	} else {
		p.processStream(levelRoot, false)
	}
	diags := merge(r.diags, p.diags)
	post := &sink{}
	if r.blockDepth > 0 && !r.fatal {
		post.errorf(Pos{File: r.files[0]}, "Add the missing '}' (or remove an extra '{').",
			"unbalanced braces: %d block(s) not closed at end of input", r.blockDepth)
	}
	cfg := &Config{Files: r.files}
	for _, g := range p.vsgs {
		cfg.Groups = append(cfg.Groups, g.g)
	}
	p.diags = post
	p.finish(cfg)
	cfg.SHA256 = r.sum()
	return cfg, append(diags, post.list...)
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

// unexpandedRef returns the first $NAME or ${NAME} left in the words after substitution.
func unexpandedRef(toks []string, cls uint8) string {
	if cls&clsDollar == 0 {
		return ""
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
				return "$" + t[j:k]
			}
			n := strings.IndexByte(t[i+1:], '$')
			if n < 0 {
				break
			}
			i += 1 + n
		}
	}
	return ""
}
