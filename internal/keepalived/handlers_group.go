package keepalived

import (
	"net/netip"
	"strings"
)

// virtual_server_group blocks (keepalived's vsg_handler() and its entry parsing).

type vsgBuild struct {
	g              *Group
	haveV4, haveV6 bool
	fwmarkNoFamily bool
}

// vsgHandler follows vsg_handler() and alloc_value_block(): a virtual_server_group block, whose lines
// are values, not keywords. A group left without entries is removed.
func (p *parser) vsgHandler(toks []string) {
	g := &vsgBuild{g: &Group{Pos: p.linePos(), Name: strings.Clone(toks[1])}} // (see vsHandler)
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
		if ref, word := unexpandedRef(etoks, p.lineCls); ref != "" {
			p.warnd(undefinedFix, "%s is not defined (or cannot be substituted here) in virtual_server_group %s; keepalived uses the text %q literally", ref, g.g.Name, word)
		}
		p.vsgEntry(g, etoks)
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

// vsgEntry follows alloc_vsg_entry(): `fwmark N [inet|inet6]`, or an address, range
// (ADDRESS-LAST or ADDRESS-ADDRESS) or prefix with a port. An entry keepalived cannot use is
// skipped with a warning; the group keeps the others.
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
			e.FwmarkFamily = strings.Clone(toks[2])
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
		p.warnd(fix, "invalid virtual server group %s address %q %q; keepalived skips the entry", g.g.Name, addrStr, port)
		return
	}
	if msg := portComplaint(port); msg != "" {
		p.warnf("virtual server group %s port: %s; keepalived uses %d", g.g.Name, msg, pn)
	}
	e.First, e.Last, e.Port = first, first, pn
	if i := strings.IndexByte(addrStr, '/'); i >= 0 {
		mask, rest, digits, _ := strtoul(addrStr[i+1:], 10)
		bits := first.BitLen()
		if rest != "" || !digits || mask == 0 || mask > uint64(bits) {
			p.warnd(fix, "invalid netmask in virtual server group %s entry %q; keepalived skips the entry", g.g.Name, addrStr)
			return
		}
		pfx := netip.PrefixFrom(first, int(mask))
		if pfx.Masked().Addr() != first {
			p.warnd("Give the network address of the prefix.", "address mask bits not empty in virtual server group %s entry %q; keepalived skips the entry", g.g.Name, addrStr)
			return
		}
		e.Last = lastOfPrefix(pfx)
	} else if i := strings.IndexByte(addrStr, '-'); i >= 0 {
		endStr := addrStr[i+1:]
		if (first.Is4() && strings.IndexByte(endStr, '.') >= 0) || (first.Is6() && strings.IndexByte(endStr, ':') >= 0) {
			last, _, _, ok := parseAddress(endStr, port)
			if !ok {
				p.warnd(fix, "invalid range end in virtual server group %s entry %q; keepalived skips the entry", g.g.Name, addrStr)
				return
			}
			if last.Is6() != first.Is6() {
				p.warnd(fix, "range address families do not match in virtual server group %s entry %q; keepalived skips the entry", g.g.Name, addrStr)
				return
			}
			if last.Less(first) {
				p.warnd(fix, "address range end is less than its start in virtual server group %s entry %q; keepalived skips the entry", g.g.Name, addrStr)
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
				p.warnd(fix, "virtual server group range %q: end %q too large; keepalived skips the entry", addrStr, endStr)
				return
			}
			r32 := uint32(rng)
			if first.Is4() {
				b := first.As4()
				start := uint32(b[3])
				v := (uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8) | r32
				e.Last = netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
				if start >= r32 {
					p.warnd(fix, "address range end is not greater than its start in virtual server group %s entry %q; keepalived skips the entry", g.g.Name, addrStr)
					return
				}
			} else {
				b := first.As16()
				start := uint32(b[14])<<8 | uint32(b[15])
				b[14], b[15] = byte(r32>>8), byte(r32)
				e.Last = netip.AddrFrom16(b)
				if start >= r32 {
					p.warnd(fix, "address range end is not greater than its start in virtual server group %s entry %q; keepalived skips the entry", g.g.Name, addrStr)
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

// lastOfPrefix is the last address of a prefix (the end of a CIDR group entry).
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
