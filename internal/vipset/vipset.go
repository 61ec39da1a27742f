// Package vipset turns the LVS model read from keepalived.conf into what each real server must
// hold locally: the VIPs of the services it is reached by with a forwarding method that leaves
// the destination address alone (DR and TUN by default), in canonical form and order. It also
// finds the per-port conflicts that holding a VIP per IP (not per port) causes.
package vipset

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
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

// Backend is a real or sorry server of one service: the reader's own record, which Build
// shares instead of copying (100,000 of them at 10,000 x 10). Treat it as read-only.
type Backend = keepalived.RealServer

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
	Backends  []*Backend        // real servers, in keepalived's order (the Config's own slice)
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
	Address netip.Addr
	VIPs    []netip.Addr
	// Its services are res.assigned[first:first+n], sorted by serviceCompare without repeats:
	// Services builds the Service values on demand, as the data source needs only the VIPs (at
	// 100,000 real servers, building them took a fifth of Build's time and memory). Indices
	// rather than a slice keep the struct at 64 bytes.
	res      *Result
	first, n int32
}

// services are the server's assignments.
func (rs *RealServer) services() []assignment {
	return rs.res.assigned[rs.first : rs.first+rs.n]
}

// Services returns what the server serves, ordered by VIP, protocol, port, real before sorry,
// and method, without repeats (the first in the configuration is kept).
func (rs *RealServer) Services() []Service {
	mine := rs.services()
	out := make([]Service, len(mine))
	for i := range mine {
		out[i] = mine[i].service(rs.res.Services)
	}
	return out
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

	assigned []assignment // the real servers' services, sorted by server
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
	res := &Result{Services: make([]VirtualService, 0, len(cfg.VirtualServers))}
	for _, vs := range cfg.VirtualServers {
		// The Config's slice as it is; the full slice expression keeps an append by a caller
		// from writing into it.
		backends := vs.RealServers[:len(vs.RealServers):len(vs.RealServers)]
		sorry := vs.SorryServer
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

	need := func(m keepalived.Method) bool { return slices.Contains(methods, m) }
	n := 0
	for i := range res.Services {
		n += len(res.Services[i].Backends) + 1
	}
	assigned := make([]assignment, 0, n)
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
			assigned = assign(assigned, b, i, need)
		}
		if s.Sorry != nil {
			assigned = assign(assigned, s.Sorry, i, need)
		}
	}
	res.assigned, res.RealServers = realServers(assigned, res)
	res.Conflicts = conflicts(res)
	return res, nil
}

// assignment is one service of one real server, numbered in the order of the configuration.
// It names its virtual service by index instead of holding a Service: 40 bytes instead of 88,
// which the sort moves about and a cold process faults in (100,000 of them at 10,000 x 10).
type assignment struct {
	server netip.Addr
	svc    int32 // in Result.Services
	seq    int32
	method keepalived.Method
	sorry  bool
}

func assign(to []assignment, b *Backend, svc int, need func(keepalived.Method) bool) []assignment {
	if !need(b.Method) {
		return to
	}
	return append(to, assignment{server: b.Address, svc: int32(svc), seq: int32(len(to)), method: b.Method, sorry: b.Sorry})
}

// service is what the assignment's server serves.
func (a *assignment) service(services []VirtualService) Service {
	s := &services[a.svc]
	return Service{VIP: s.Address, Port: s.Port, Protocol: s.Protocol, Method: a.method, Sorry: a.sorry, Pos: s.Pos}
}

// realServers groups the assignments by server, in address order, each server's services in
// serviceCompare order without repeats (the first in the configuration is kept). One sort of
// all assignments and shared backing arrays: at 100,000 real servers, a map of servers each
// sorting its own services took most of Build's time. The servers' services are the sorted
// assignments themselves, repeats removed in place.
func realServers(assigned []assignment, res *Result) ([]assignment, []*RealServer) {
	vs := res.Services
	slices.SortFunc(assigned, func(a, b assignment) int {
		if c := a.server.Compare(b.server); c != 0 {
			return c
		}
		if c := a.compareService(&b, vs); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	// Repeats (same server and service) are next to each other, the first in the configuration
	// first.
	kept := 0
	nServers := 0
	for i := range assigned {
		if kept > 0 && assigned[kept-1].server == assigned[i].server && assigned[kept-1].compareService(&assigned[i], vs) == 0 {
			continue
		}
		if kept == 0 || assigned[kept-1].server != assigned[i].server {
			nServers++
		}
		assigned[kept] = assigned[i]
		kept++
	}
	assigned = assigned[:kept]
	servers := make([]RealServer, 0, nServers)
	out := make([]*RealServer, 0, nServers)
	vips := make([]netip.Addr, 0, len(assigned))
	for i := 0; i < len(assigned); {
		addr := assigned[i].server
		first, firstVIP := i, len(vips)
		for ; i < len(assigned) && assigned[i].server == addr; i++ {
			vip := vs[assigned[i].svc].Address
			if len(vips) == firstVIP || vips[len(vips)-1] != vip {
				vips = append(vips, vip)
			}
		}
		// Full slice expressions: appending to one server's slices must not overwrite the next's.
		servers = append(servers, RealServer{Address: addr, VIPs: vips[firstVIP:len(vips):len(vips)],
			res: res, first: int32(first), n: int32(i - first)})
		out = append(out, &servers[len(servers)-1])
	}
	return assigned, out
}

// compareService is serviceCompare of the two assignments' services, read in place rather
// than through built Service values.
func (a *assignment) compareService(b *assignment, vs []VirtualService) int {
	sa, sb := &vs[a.svc], &vs[b.svc]
	return compareServiceKey(sa.Address, sa.Protocol, sa.Port, a.sorry, a.method,
		sb.Address, sb.Protocol, sb.Port, b.sorry, b.method)
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

// serviceCompare orders a server's services: VIP, protocol, port, real before sorry, method.
func serviceCompare(a, b Service) int {
	return compareServiceKey(a.VIP, a.Protocol, a.Port, a.Sorry, a.Method, b.VIP, b.Protocol, b.Port, b.Sorry, b.Method)
}

// compareServiceKey is serviceCompare on the fields themselves, so that Build's sort of
// assignments can order them without building a Service for each comparison.
func compareServiceKey(vipA netip.Addr, protoA keepalived.Protocol, portA uint16, sorryA bool, methodA keepalived.Method,
	vipB netip.Addr, protoB keepalived.Protocol, portB uint16, sorryB bool, methodB keepalived.Method) int {
	if c := vipA.Compare(vipB); c != 0 {
		return c
	}
	if protoA != protoB {
		return cmp.Compare(protoA, protoB)
	}
	if portA != portB {
		return cmp.Compare(portA, portB)
	}
	if sorryA != sorryB {
		if sorryA {
			return 1
		}
		return -1
	}
	return cmp.Compare(methodA, methodB)
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

func (k portKey) compare(o portKey) int {
	if k.proto != o.proto {
		return cmp.Compare(k.proto, o.proto)
	}
	return cmp.Compare(k.port, o.port)
}

// vipPort is a port of a VIP with the first virtual_server line serving it.
type vipPort struct {
	vip netip.Addr
	key portKey
	pos keepalived.Pos
	seq int
}

// conflicts finds, per real server and VIP it holds, the ports of that VIP it does not serve.
// Port 0 (a persistent all-ports service) covers every port of its protocol.
func conflicts(res *Result) []PortConflict {
	// Every VIP's ports, sorted, each with its first virtual_server line.
	all := make([]vipPort, 0, len(res.Services))
	for i, s := range res.Services {
		if !s.HasFwmark {
			all = append(all, vipPort{vip: s.Address, key: portKey{s.Protocol, s.Port}, pos: s.Pos, seq: i})
		}
	}
	slices.SortFunc(all, func(a, b vipPort) int {
		if c := a.vip.Compare(b.vip); c != 0 {
			return c
		}
		if c := a.key.compare(b.key); c != 0 {
			return c
		}
		return a.seq - b.seq
	})
	all = slices.CompactFunc(all, func(a, b vipPort) bool { return a.vip == b.vip && a.key == b.key })
	// A server holding a VIP serves one of its ports: with one port per VIP (the common case)
	// there is no conflict to look for.
	shared := false
	for i := 1; i < len(all) && !shared; i++ {
		shared = all[i].vip == all[i-1].vip
	}
	if !shared {
		return nil
	}
	// Servers next to each other in address order often share VIPs: the last lookup is kept.
	var lastVIP netip.Addr
	var lastPorts []vipPort
	portsOf := func(vip netip.Addr) []vipPort {
		if vip == lastVIP && lastPorts != nil {
			return lastPorts
		}
		i, _ := slices.BinarySearchFunc(all, vip, func(p vipPort, v netip.Addr) int { return p.vip.Compare(v) })
		j := i
		for j < len(all) && all[j].vip == vip {
			j++
		}
		lastVIP, lastPorts = vip, all[i:j:j]
		return lastPorts
	}

	var out []PortConflict
	var mine []portKey    // the ports of one VIP one server serves, reused
	var missing []vipPort // reused likewise
	for _, rs := range res.RealServers {
		// Its services are sorted by VIP, then protocol and port: one run per VIP.
		services := rs.services()
		for i := 0; i < len(services); {
			vip := res.Services[services[i].svc].Address
			j := i
			mine = mine[:0]
			for ; j < len(services); j++ {
				s := &res.Services[services[j].svc]
				if s.Address != vip {
					break
				}
				k := portKey{s.Protocol, s.Port}
				if len(mine) == 0 || mine[len(mine)-1] != k {
					mine = append(mine, k)
				}
			}
			i = j
			serves := func(k portKey) bool {
				_, found := slices.BinarySearchFunc(mine, k, portKey.compare)
				return found
			}
			missing = missing[:0]
			for _, p := range portsOf(vip) {
				if !serves(p.key) && !serves(portKey{p.key.proto, 0}) {
					missing = append(missing, p)
				}
			}
			if len(missing) == 0 {
				continue
			}
			c := PortConflict{RealServer: rs.Address, VIP: vip, Pos: missing[0].pos}
			for _, k := range mine {
				c.Served = append(c.Served, k.String())
			}
			for _, p := range missing {
				c.NotServed = append(c.NotServed, p.key.String())
				c.Positions = append(c.Positions, p.pos)
			}
			out = append(out, c)
		}
	}
	return out
}
