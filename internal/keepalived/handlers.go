package keepalived

import (
	"net/netip"
	"strings"
)

// Keyword handlers of virtual_server, real_server and sorry_server blocks
// (keepalived/check/check_parser.c).

type vsBuild struct {
	vs       *VirtualServer
	af       int // 0 unknown, 4, 6
	weight   uint32
	method   Method
	protoSet bool
	rs       []*RealServer
	sorry    *RealServer
}

// vsHandler follows vs_handler() and alloc_vs(): `virtual_server IP PORT`, `virtual_server fwmark N`
// or `virtual_server group NAME`. An address, port or fwmark keepalived cannot read skips the
// virtual server and its block (skip_block), with a warning.
func (p *parser) vsHandler(toks []string) {
	vs := &VirtualServer{Pos: p.linePos()}
	b := &vsBuild{vs: vs, weight: 1, rs: make([]*RealServer, 0, 8)}
	switch toks[1] {
	case "group":
		if len(toks) < 3 {
			p.errorf("Write `virtual_server group NAME`.", "virtual_server group without a group name; keepalived's checker process crashes on it")
			p.skip = -1
			return
		}
		vs.Group = strings.Clone(toks[2]) // not a piece of the file's text, which it would keep in memory
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
			p.warnd("Use `virtual_server IP PORT` with a numeric IPv4 or IPv6 address and a port 1-65535, `virtual_server fwmark N` or `virtual_server group NAME`.",
				"invalid virtual server address/port %q %q; keepalived skips this virtual server and its block", toks[1], port)
			p.skip = -1
			return
		}
		if ignored != "" {
			p.warnf("keepalived ignores %q after the virtual server address %s (ranges belong in a virtual_server_group)", ignored, a)
		}
		if msg := portComplaint(port); msg != "" {
			p.warnf("virtual server port: %s; keepalived uses %d", msg, pn)
		}
		vs.Address, vs.Port = a, pn
		b.af = afOf(a)
	}
	p.vss = append(p.vss, b)
}

// vsEnd follows vs_end_handler(), run at the virtual server's closing brace: a sorry server of the
// other address family is dropped (unless tunnelled), and a fwmark service without a family takes
// it from its real servers (IPv4 when they are mixed).
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

// forwarding follows svr_forwarding_handler(): it parses `lb_kind|lvs_method METHOD [type ipip|gue|gre] [port N] [csum|nocsum|remcsum]`.
// keepalived sets the method before it checks the tunnel options.
func (p *parser) forwarding(toks []string, cur Method, what string) Method {
	m, ok := ParseMethod(toks[1])
	if !ok {
		p.warnd("Use NAT, DR or TUN (upper case, as keepalived requires).",
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
			if toks[i-1] == "type" {
				if v := toks[i]; v != "ipip" && v != "gue" && v != "gre" {
					p.warnf("unknown tunnel type %q for %s server; keepalived ignores the tunnel options", v, what)
					return m
				}
			} else if _, ok, _ := readUnsigned(toks[i], 1, 65535, false); !ok {
				p.warnf("invalid tunnel port %q for %s server; keepalived ignores the tunnel options", toks[i], what)
				return m
			}
		case "csum", "nocsum", "remcsum":
		default:
			p.warnf("invalid tunnel option %q for %s server; keepalived ignores the tunnel options", toks[i], what)
			return m
		}
	}
	return m
}

// vsMethodHandler follows vs_forwarding_handler() (`lb_kind`, `lvs_method` in a virtual server).
func (p *parser) vsMethodHandler(toks []string) {
	b := p.curVS()
	b.method = p.forwarding(toks, b.method, "virtual")
}

// protocolHandler follows proto_handler(): TCP, UDP or SCTP in any case; anything else is ignored.
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

// ipFamilyHandler follows ip_family_handler(): inet or inet6; unknown or conflicting values are
// ignored.
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

// granularityHandler follows pgr_handler(), which may settle the address family: a prefix length
// (IPv6) or a netmask (IPv4); invalid values are ignored.
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

// vsWeightHandler follows vs_weight_handler(): the default weight of real servers without one.
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

// newServer follows alloc_rs() and alloc_ssvr(): the address and port as inet_stosockaddr()
// reads them, the virtual server's forwarding method so far as the default.
func (p *parser) newServer(toks []string, what string, method Method) (*RealServer, bool) {
	port := portArg(toks, 2)
	a, pn, ignored, ok := parseAddress(toks[1], port)
	if !ok {
		skipped := "this real server and its block"
		if what == "sorry_server" {
			skipped = "the sorry server"
		}
		p.warnd("Use `"+what+" IP [PORT]` with a numeric IPv4 or IPv6 address and a port 1-65535.",
			"invalid %s address/port %q %q; keepalived skips %s", what, toks[1], port, skipped)
		return nil, false
	}
	if ignored != "" {
		p.warnf("keepalived ignores %q after the %s address %s", ignored, what, a)
	}
	if msg := portComplaint(port); msg != "" {
		p.warnf("%s port: %s; keepalived uses %d", what, msg, pn)
	}
	if len(p.slab) == cap(p.slab) {
		p.slab = make([]RealServer, 0, 256) // fewer, larger allocations for large sites
	}
	p.slab = append(p.slab, RealServer{Pos: p.linePos(), Address: a, Port: pn, Method: method, Sorry: what == "sorry_server"})
	return &p.slab[len(p.slab)-1], true
}

// rsHandler follows rs_handler() and alloc_rs(): a real server keepalived cannot read is skipped with
// its block.
func (p *parser) rsHandler(toks []string) {
	b := p.curVS()
	rs, ok := p.newServer(toks, "real_server", b.method)
	if !ok {
		p.skip = -1
		return
	}
	b.rs = append(b.rs, rs)
}

// rsEnd follows rs_end_handler(), run at the real server's closing brace: a real server of the other
// address family is dropped unless tunnelled; the first one settles an unknown family.
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

// rsWeightHandler follows rs_weight_handler(): 0-2147483647; other values are ignored.
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

// rsMethodHandler follows rs_forwarding_handler() (`lvs_method` in a real server).
func (p *parser) rsMethodHandler(toks []string) {
	b := p.curVS()
	rs := b.rs[len(b.rs)-1]
	rs.Method = p.forwarding(toks, rs.Method, "real")
}

// sorryHandler follows ssvr_handler() and alloc_ssvr(): a sorry server keepalived cannot read is
// skipped (there is no block to skip).
func (p *parser) sorryHandler(toks []string) {
	b := p.curVS()
	s, ok := p.newServer(toks, "sorry_server", b.method)
	if !ok {
		return
	}
	s.Weight, s.weightSet = 1, true
	b.sorry = s
}

// sorryMethodHandler follows ss_forwarding_handler() (`sorry_server_lvs_method`).
func (p *parser) sorryMethodHandler(toks []string) {
	b := p.curVS()
	if b.sorry == nil {
		p.warnf("sorry_server_lvs_method used without (or before) sorry_server; keepalived ignores it")
		return
	}
	b.sorry.Method = p.forwarding(toks, b.sorry.Method, "sorry")
}

// sorryInhibitHandler follows ssvri_handler(); it changes nothing the reader returns.
func (p *parser) sorryInhibitHandler([]string) {
	if p.curVS().sorry == nil {
		p.warnf("sorry_server_inhibit used before or without sorry_server; keepalived ignores it")
	}
}
