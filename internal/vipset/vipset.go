// Package vipset turns the LVS model read from keepalived.conf into what each real server must
// hold locally: the VIPs of the services it is reached by with a forwarding method that leaves
// the destination address alone (DR and TUN by default), in canonical form and order. It also
// finds the per-port conflicts that holding a VIP per IP (not per port) causes.
package vipset

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/vip-manager/terraform-provider-vip/internal/keepalived"
)

// DefaultMethods returns the forwarding methods whose real servers need the VIP locally: DR
// and TUN leave the destination address alone, NAT rewrites it.
func DefaultMethods() []keepalived.Method {
	return []keepalived.Method{keepalived.MethodDR, keepalived.MethodTUN}
}

// DefaultMaxServices bounds the services a configuration may expand to (a group entry like
// 2001:db8::/64 would otherwise expand forever; keepalived itself would try).
const DefaultMaxServices = 1 << 16

// Options select what counts.
type Options struct {
	// Methods are the forwarding methods that need the VIP on the real server. Nil means
	// DefaultMethods().
	Methods []keepalived.Method
	// MaxServices bounds the number of (address, port) services after expanding groups; 0
	// means DefaultMaxServices.
	MaxServices int
}

// Backend is a real or sorry server of one service.
type Backend struct {
	Address netip.Addr
	Port    uint16
	Weight  uint32
	Method  keepalived.Method
	Sorry   bool
	Pos     keepalived.Pos
}

// VirtualService is one service keepalived installs: a virtual server with an address, or one
// address of a virtual_server_group entry, or a fwmark.
type VirtualService struct {
	Address   netip.Addr // invalid for fwmark services
	Port      uint16
	Protocol  keepalived.Protocol
	HasFwmark bool
	Fwmark    uint32
	Group     string
	Method    keepalived.Method // the virtual server's default method
	Pos       keepalived.Pos    // the virtual_server line
	EntryPos  keepalived.Pos    // the group entry line, for group services
	Backends  []Backend         // real servers, in keepalived's order
	Sorry     *Backend
}

// Service is what a real server serves: VIP, port, protocol and method.
type Service struct {
	VIP      netip.Addr
	Port     uint16
	Protocol keepalived.Protocol
	Method   keepalived.Method
	Sorry    bool
	Pos      keepalived.Pos // the virtual_server line
}

// RealServer is one real (or sorry) server with the VIPs it must hold.
type RealServer struct {
	Address  netip.Addr
	VIPs     []netip.Addr
	Services []Service
}

// PortConflict is a VIP a real server must hold for some ports while other ports of the same
// VIP are served only by other servers: the real server's own connections to those ports are
// delivered locally and fail.
type PortConflict struct {
	RealServer netip.Addr
	VIP        netip.Addr
	Served     []string // "TCP/80"
	NotServed  []string
	Pos        keepalived.Pos   // the first virtual_server line serving a port this server does not
	Positions  []keepalived.Pos // every virtual_server line serving a port this server does not
}

// Message describes the conflict for a user.
func (c PortConflict) Message() string {
	pos := make([]string, len(c.Positions))
	for i, p := range c.Positions {
		pos[i] = p.String()
	}
	return fmt.Sprintf("real server %s holds VIP %s because it serves %s, but %s of that VIP are served only by other servers (%s): "+
		"connections from %s to those ports are delivered locally and fail",
		c.RealServer, c.VIP, strings.Join(c.Served, ", "), strings.Join(c.NotServed, ", "), strings.Join(pos, ", "), c.RealServer)
}

// Notice is something the caller should show as a warning.
type Notice struct {
	Pos     keepalived.Pos
	Summary string
}

// Result is the VIP assignment of a configuration.
type Result struct {
	Services []VirtualService
	// RealServers holds the servers that need at least one VIP, sorted by address.
	RealServers []*RealServer
	Conflicts   []PortConflict
	Notices     []Notice
}

// Build computes the assignment. It fails only when the configuration expands to more
// services than allowed.
func Build(cfg *keepalived.Config, opts Options) (*Result, error) {
	methods := opts.Methods
	if methods == nil {
		methods = DefaultMethods()
	}
	limit := opts.MaxServices
	if limit <= 0 {
		limit = DefaultMaxServices
	}
	res := &Result{}
	for _, vs := range cfg.VirtualServers {
		backends := make([]Backend, len(vs.RealServers))
		for i, rs := range vs.RealServers {
			backends[i] = backend(rs)
		}
		var sorry *Backend
		if vs.SorryServer != nil {
			b := backend(vs.SorryServer)
			sorry = &b
		}
		base := VirtualService{Port: vs.Port, Protocol: vs.Protocol, Group: vs.Group, Method: vs.Method, Pos: vs.Pos, Backends: backends, Sorry: sorry}
		switch {
		case vs.HasFwmark:
			s := base
			s.HasFwmark, s.Fwmark = true, vs.Fwmark
			res.Services = append(res.Services, s)
		case vs.Group != "":
			g := cfg.GroupByName(vs.Group)
			if g == nil {
				continue
			}
			for _, e := range g.Entries {
				s := base
				s.EntryPos = e.Pos
				if e.IsFwmark {
					s.HasFwmark, s.Fwmark, s.Port = true, e.Fwmark, 0
					res.Services = append(res.Services, s)
					continue
				}
				s.Port = e.Port
				n, ok := rangeSize(e.First, e.Last, uint64(limit))
				if !ok || len(res.Services)+int(n) > limit {
					return nil, fmt.Errorf("%s: virtual_server_group %s entry %s-%s expands to more than %d services; "+
						"list the addresses keepalived really serves", e.Pos, g.Name, e.First, e.Last, limit)
				}
				for a := e.First; ; a = a.Next() {
					s.Address = a
					res.Services = append(res.Services, s)
					if a == e.Last {
						break
					}
				}
			}
		default:
			s := base
			s.Address = vs.Address
			res.Services = append(res.Services, s)
		}
		if len(res.Services) > limit {
			return nil, fmt.Errorf("%s: the configuration expands to more than %d services", vs.Pos, limit)
		}
	}

	byAddr := map[netip.Addr]*RealServer{}
	need := func(m keepalived.Method) bool { return slices.Contains(methods, m) }
	add := func(b Backend, s *VirtualService) {
		if !need(b.Method) {
			return
		}
		if s.HasFwmark {
			return // reported once per service below
		}
		rs := byAddr[b.Address]
		if rs == nil {
			rs = &RealServer{Address: b.Address}
			byAddr[b.Address] = rs
		}
		rs.Services = append(rs.Services, Service{VIP: s.Address, Port: s.Port, Protocol: s.Protocol, Method: b.Method, Sorry: b.Sorry, Pos: s.Pos})
	}
	for i := range res.Services {
		s := &res.Services[i]
		if s.HasFwmark {
			if hasNeed(s, need) {
				res.Notices = append(res.Notices, Notice{Pos: firstPos(s), Summary: fmt.Sprintf(
					"fwmark %d: the VIPs of a firewall-mark service are chosen by packet-filter rules, not by keepalived.conf, "+
						"so its real servers get no VIP from it", s.Fwmark)})
			}
			continue
		}
		for _, b := range s.Backends {
			add(b, s)
		}
		if s.Sorry != nil {
			add(*s.Sorry, s)
		}
	}
	for _, rs := range byAddr {
		sort.Slice(rs.Services, func(i, j int) bool { return serviceLess(rs.Services[i], rs.Services[j]) })
		rs.Services = slices.CompactFunc(rs.Services, func(a, b Service) bool {
			return a.VIP == b.VIP && a.Port == b.Port && a.Protocol == b.Protocol && a.Method == b.Method && a.Sorry == b.Sorry
		})
		for _, sv := range rs.Services {
			if len(rs.VIPs) == 0 || rs.VIPs[len(rs.VIPs)-1] != sv.VIP {
				rs.VIPs = append(rs.VIPs, sv.VIP)
			}
		}
		res.RealServers = append(res.RealServers, rs)
	}
	sort.Slice(res.RealServers, func(i, j int) bool { return res.RealServers[i].Address.Less(res.RealServers[j].Address) })
	res.Conflicts = conflicts(res)
	return res, nil
}

func hasNeed(s *VirtualService, need func(keepalived.Method) bool) bool {
	for _, b := range s.Backends {
		if need(b.Method) {
			return true
		}
	}
	return s.Sorry != nil && need(s.Sorry.Method)
}

func firstPos(s *VirtualService) keepalived.Pos {
	if s.EntryPos.File != "" {
		return s.EntryPos
	}
	return s.Pos
}

func backend(rs *keepalived.RealServer) Backend {
	return Backend{Address: rs.Address, Port: rs.Port, Weight: rs.Weight, Method: rs.Method, Sorry: rs.Sorry, Pos: rs.Pos}
}

func serviceLess(a, b Service) bool {
	if c := a.VIP.Compare(b.VIP); c != 0 {
		return c < 0
	}
	if a.Protocol != b.Protocol {
		return a.Protocol < b.Protocol
	}
	if a.Port != b.Port {
		return a.Port < b.Port
	}
	if a.Sorry != b.Sorry {
		return !a.Sorry
	}
	return a.Method < b.Method
}

// rangeSize returns the number of addresses in first..last, or false when above max.
func rangeSize(first, last netip.Addr, limit uint64) (uint64, bool) {
	a, b := first.As16(), last.As16()
	for i := 0; i < 8; i++ {
		if a[i] != b[i] {
			return 0, false
		}
	}
	var x, y uint64
	for i := 8; i < 16; i++ {
		x = x<<8 | uint64(a[i])
		y = y<<8 | uint64(b[i])
	}
	if y < x || y-x >= limit {
		return 0, false
	}
	return y - x + 1, true
}

type portKey struct {
	proto keepalived.Protocol
	port  uint16
}

func (k portKey) String() string { return k.proto.String() + "/" + strconv.Itoa(int(k.port)) }

// conflicts finds, per real server and VIP it holds, the ports of that VIP it does not serve.
// Port 0 (a persistent all-ports service) covers every port of its protocol.
func conflicts(res *Result) []PortConflict {
	all := map[netip.Addr]map[portKey]keepalived.Pos{}
	for _, s := range res.Services {
		if s.HasFwmark {
			continue
		}
		m := all[s.Address]
		if m == nil {
			m = map[portKey]keepalived.Pos{}
			all[s.Address] = m
		}
		k := portKey{s.Protocol, s.Port}
		if _, ok := m[k]; !ok {
			m[k] = s.Pos
		}
	}
	var out []PortConflict
	for _, rs := range res.RealServers {
		served := map[netip.Addr]map[portKey]bool{}
		for _, sv := range rs.Services {
			m := served[sv.VIP]
			if m == nil {
				m = map[portKey]bool{}
				served[sv.VIP] = m
			}
			m[portKey{sv.Protocol, sv.Port}] = true
		}
		for _, vip := range rs.VIPs {
			mine := served[vip]
			var missing []portKey
			for k := range all[vip] {
				if mine[k] || mine[portKey{k.proto, 0}] {
					continue
				}
				missing = append(missing, k)
			}
			if len(missing) == 0 {
				continue
			}
			sortKeys(missing)
			var mineKeys []portKey
			for k := range mine {
				mineKeys = append(mineKeys, k)
			}
			sortKeys(mineKeys)
			c := PortConflict{RealServer: rs.Address, VIP: vip}
			for _, k := range mineKeys {
				c.Served = append(c.Served, k.String())
			}
			for _, k := range missing {
				c.NotServed = append(c.NotServed, k.String())
				c.Positions = append(c.Positions, all[vip][k])
			}
			c.Pos = c.Positions[0]
			out = append(out, c)
		}
	}
	return out
}

func sortKeys(ks []portKey) {
	sort.Slice(ks, func(i, j int) bool {
		if ks[i].proto != ks[j].proto {
			return ks[i].proto < ks[j].proto
		}
		return ks[i].port < ks[j].port
	})
}
