package keepalived

import "net/netip"

// finish applies what keepalived does after parsing: link_vsg_to_vs() (groups resolved by
// name, address families checked) and validate_check_config() (virtual servers without real
// servers dropped, duplicate real servers dropped, protocol, forwarding method, weight and port
// defaults).
func (p *parser) finish(cfg *Config) {
	d := p.diags
	findGroup := func(name string) *vsgBuild {
		for _, g := range p.vsgs {
			if g.g.Name == name {
				return g
			}
		}
		return nil
	}
	var linked []*vsBuild
	for _, b := range p.vss {
		if b.vs.Group == "" {
			linked = append(linked, b)
			continue
		}
		g := findGroup(b.vs.Group)
		if g == nil {
			d.warnf(b.vs.Pos, "virtual server group %s specified but not configured; keepalived ignores this virtual server", b.vs.Group)
			continue
		}
		vsgAF := 0
		if g.haveV4 != g.haveV6 {
			vsgAF = 4
			if g.haveV6 {
				vsgAF = 6
			}
		}
		switch {
		case g.haveV4 && g.haveV6 && b.af != 0:
			d.warnf(b.vs.Pos, "virtual server group %s has IPv4 and IPv6 entries, which does not match this virtual server; keepalived ignores it", g.g.Name)
			continue
		case (g.haveV4 && b.af == 6) || (g.haveV6 && b.af == 4):
			d.warnf(b.vs.Pos, "virtual server group %s: address family doesn't match this virtual server; keepalived ignores it", g.g.Name)
			continue
		case vsgAF != 0:
			if b.af == 0 {
				b.af = vsgAF
			}
		case b.af == 0 && g.fwmarkNoFamily:
			d.warnf(b.vs.Pos, "virtual server group %s: the address family cannot be determined; keepalived defaults to IPv4", g.g.Name)
		}
		linked = append(linked, b)
	}
	members := map[string]int{}
	for _, b := range linked {
		if b.vs.Group != "" {
			b.vs.GroupMember = members[b.vs.Group]
			members[b.vs.Group]++
		}
	}

	for _, b := range linked {
		vs := b.vs
		if len(b.rs) == 0 {
			d.warnf(vs.Pos, "virtual server %s has no real servers; keepalived ignores it", vsName(vs))
			continue
		}
		var g *vsgBuild
		if vs.Group != "" {
			g = findGroup(vs.Group)
		}
		hasAddrs := vs.Group == "" && !vs.HasFwmark
		hasFwmarks := vs.HasFwmark
		if g != nil {
			for _, e := range g.g.Entries {
				if e.IsFwmark {
					hasFwmarks = true
				} else {
					hasAddrs = true
				}
			}
		}
		if hasAddrs && !b.protoSet {
			d.warnf(vs.Pos, "virtual server %s: no protocol set; keepalived defaults to UDP", vsName(vs))
			vs.Protocol = ProtocolUDP
			b.protoSet = true
		}
		if b.protoSet && !hasAddrs && hasFwmarks {
			d.warnf(vs.Pos, "virtual server %s: protocol specified for fwmark; keepalived ignores it", vsName(vs))
			vs.Protocol = ProtocolNone
		}

		kept := b.rs[:0] // filtered in place: b.rs is not used after this
	rsLoop:
		for _, rs := range b.rs {
			for _, other := range kept {
				if other.Address == rs.Address && other.Port == rs.Port {
					d.warnf(rs.Pos, "virtual server %s: real server %s port %d is duplicated; keepalived removes the second one", vsName(vs), rs.Address, rs.Port)
					continue rsLoop
				}
			}
			if rs.Method == methodUnset {
				if b.method == methodUnset {
					d.warnf(vs.Pos, "virtual server %s: no forwarding method set; keepalived defaults to NAT", vsName(vs))
					b.method = MethodNAT
				}
				rs.Method = b.method
			}
			if !rs.weightSet {
				rs.Weight = b.weight
			}
			kept = append(kept, rs)
		}
		if s := b.sorry; s != nil && s.Method == methodUnset {
			if b.method == methodUnset {
				d.warnf(vs.Pos, "virtual server %s: no forwarding method set; keepalived defaults to NAT", vsName(vs))
				b.method = MethodNAT
			}
			s.Method = b.method
		}

		if vs.Group == "" {
			for _, rs := range kept {
				p.fixPort(vs, rs, "real server")
			}
			if b.sorry != nil {
				p.fixPort(vs, b.sorry, "sorry server")
			}
		} else if g != nil {
			for _, e := range g.g.Entries {
				if e.IsFwmark {
					continue
				}
				for _, rs := range append(kept[:len(kept):len(kept)], b.sorry) {
					if rs != nil && rs.Method != MethodNAT && rs.Port != 0 && rs.Port != e.Port {
						d.warnf(rs.Pos, "virtual server group %s entry port %d and %s %s port %d don't match", vs.Group, e.Port, serverKind(rs), rs.Address, rs.Port)
					}
				}
			}
		}
		vs.Method = b.method
		if vs.Method == methodUnset {
			vs.Method = MethodNAT
		}
		vs.IPv6 = b.af == 6
		vs.RealServers = kept
		vs.SorryServer = b.sorry
		cfg.VirtualServers = append(cfg.VirtualServers, vs)
	}

	// keepalived does not check for duplicate virtual servers; the kernel refuses the second.
	seen := make(map[vsKey]Pos, len(cfg.VirtualServers))
	for _, vs := range cfg.VirtualServers {
		key := keyOf(vs)
		if prev, dup := seen[key]; dup {
			d.warnf(vs.Pos, "virtual server %s is also defined at %s; the kernel refuses the second one", vsName(vs), prev)
			continue
		}
		seen[key] = vs.Pos
	}
}

// vsKey identifies a virtual server as vsName and its protocol do, without formatting a
// string for each of them.
type vsKey struct {
	addr      netip.Addr
	port      uint16
	hasFwmark bool
	fwmark    uint32
	group     string
	proto     Protocol
}

func keyOf(vs *VirtualServer) vsKey {
	switch {
	case vs.Group != "":
		return vsKey{group: vs.Group, proto: vs.Protocol}
	case vs.HasFwmark:
		return vsKey{hasFwmark: true, fwmark: vs.Fwmark, proto: vs.Protocol}
	}
	return vsKey{addr: vs.Address, port: vs.Port, proto: vs.Protocol}
}

// serverKind names a real or sorry server in messages.
func serverKind(rs *RealServer) string {
	if rs.Sorry {
		return "sorry server"
	}
	return "real server"
}

// fixPort follows validate_check_config(): DR and TUN real (and sorry) servers take the virtual
// server's port, NAT ones without a port too, and a fwmark service's servers have none.
func (p *parser) fixPort(vs *VirtualServer, rs *RealServer, what string) {
	if rs.Method == MethodNAT {
		if !vs.HasFwmark && rs.Port == 0 {
			rs.Port = vs.Port
		}
		return
	}
	if vs.HasFwmark {
		if rs.Port != 0 {
			p.diags.warnf(rs.Pos, "fwmark virtual server %s: %s %s has a port; keepalived clears it", vsName(vs), what, rs.Address)
			rs.Port = 0
		}
		return
	}
	if rs.Port == 0 {
		rs.Port = vs.Port
	} else if rs.Port != vs.Port {
		p.diags.warnf(rs.Pos, "virtual server %s and %s %s ports don't match; keepalived uses port %d", vsName(vs), what, rs.Address, vs.Port)
		rs.Port = vs.Port
	}
}

// vsName names a virtual server the way messages refer to it.
func vsName(vs *VirtualServer) string {
	switch {
	case vs.Group != "":
		return "group " + vs.Group
	case vs.HasFwmark:
		return "fwmark " + itoa(uint64(vs.Fwmark))
	}
	if vs.Address.Is6() {
		return "[" + vs.Address.String() + "]:" + itoa(uint64(vs.Port))
	}
	return vs.Address.String() + ":" + itoa(uint64(vs.Port))
}
