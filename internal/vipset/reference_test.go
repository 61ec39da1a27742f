package vipset

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/vip-manager/terraform-provider-vip/internal/keepalived"
)

// The reference below is the first, plainly written grouping and conflict search (a map of
// servers, a map of ports per server and VIP). Build replaced it with sorted slices for speed;
// TestBuildMatchesReference proves both give the same result.

// refServer is a RealServer with its services built: what the reference computes and what
// TestBuildMatchesReference compares.
type refServer struct {
	Address  netip.Addr
	VIPs     []netip.Addr
	Services []Service
}

func flatten(servers []*RealServer) []refServer {
	out := make([]refServer, len(servers))
	for i, rs := range servers {
		out[i] = refServer{Address: rs.Address, VIPs: rs.VIPs, Services: rs.Services()}
	}
	return out
}

func referenceRealServers(res *Result, methods []keepalived.Method) []refServer {
	byAddr := map[netip.Addr]*refServer{}
	add := func(b *Backend, s *VirtualService) {
		if !slices.Contains(methods, b.Method) || s.HasFwmark {
			return
		}
		rs := byAddr[b.Address]
		if rs == nil {
			rs = &refServer{Address: b.Address}
			byAddr[b.Address] = rs
		}
		rs.Services = append(rs.Services, Service{VIP: s.Address, Port: s.Port, Protocol: s.Protocol, Method: b.Method, Sorry: b.Sorry, Pos: s.Pos})
	}
	for i := range res.Services {
		s := &res.Services[i]
		for _, b := range s.Backends {
			add(b, s)
		}
		if s.Sorry != nil {
			add(s.Sorry, s)
		}
	}
	var out []refServer
	for _, rs := range byAddr {
		sort.SliceStable(rs.Services, func(i, j int) bool { return serviceCompare(rs.Services[i], rs.Services[j]) < 0 })
		rs.Services = slices.CompactFunc(rs.Services, func(a, b Service) bool { return serviceCompare(a, b) == 0 })
		for _, sv := range rs.Services {
			if len(rs.VIPs) == 0 || rs.VIPs[len(rs.VIPs)-1] != sv.VIP {
				rs.VIPs = append(rs.VIPs, sv.VIP)
			}
		}
		out = append(out, *rs)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address.Less(out[j].Address) })
	return out
}

func referenceConflicts(res *Result) []PortConflict {
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
	sortKeys := func(ks []portKey) { slices.SortFunc(ks, portKey.compare) }
	var out []PortConflict
	for _, rs := range res.RealServers {
		served := map[netip.Addr]map[portKey]bool{}
		for _, sv := range rs.Services() {
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
				if !mine[k] && !mine[portKey{k.proto, 0}] {
					missing = append(missing, k)
				}
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

// randomConfig writes a configuration where VIPs, ports, protocols, real servers and methods
// collide often: shared real servers, several ports per VIP, port 0, sorry servers, groups,
// fwmarks, IPv6.
func randomConfig(r *rand.Rand) string {
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	vip := func() string { return pick("10.0.0.1", "10.0.0.2", "10.0.0.3", "2001:db8::1", "2001:db8::2") }
	rs := func() string {
		return pick("192.168.0.1", "192.168.0.2", "192.168.0.3", "192.168.0.4", "2001:db8:1::1", "2001:db8:1::2")
	}
	port := func() string { return pick("0", "80", "443", "53") }
	var b strings.Builder
	b.WriteString("virtual_server_group G {\n  10.0.1.1-3 80\n  10.0.0.1 443\n  fwmark 7\n}\n")
	for v, n := 0, 1+r.IntN(12); v < n; v++ {
		switch r.IntN(8) {
		case 0:
			b.WriteString("virtual_server fwmark 5 {\n")
		case 1:
			b.WriteString("virtual_server group G {\n")
		default:
			fmt.Fprintf(&b, "virtual_server %s %s {\n", vip(), port())
		}
		fmt.Fprintf(&b, "  protocol %s\n  lb_kind %s\n", pick("TCP", "UDP"), pick("DR", "TUN", "NAT"))
		for i, m := 0, r.IntN(5); i < m; i++ {
			fmt.Fprintf(&b, "  real_server %s %s {\n", rs(), port())
			if r.IntN(3) == 0 {
				fmt.Fprintf(&b, "    lvs_method %s\n", pick("DR", "TUN", "NAT"))
			}
			b.WriteString("  }\n")
		}
		if r.IntN(3) == 0 {
			fmt.Fprintf(&b, "  sorry_server %s %s\n", rs(), port())
		}
		b.WriteString("}\n")
	}
	return b.String()
}

func TestBuildMatchesReference(t *testing.T) {
	check := func(t *testing.T, name, conf string, methods []keepalived.Method) {
		t.Helper()
		cfg, diags := keepalived.Parse(name, conf, keepalived.Options{})
		if diags.HasError() {
			return
		}
		res, err := Build(cfg, Options{Methods: methods})
		if err != nil {
			return
		}
		if methods == nil {
			methods = DefaultMethods()
		}
		wantRS := referenceRealServers(res, methods)
		if got := flatten(res.RealServers); len(got) != len(wantRS) || (len(wantRS) > 0 && !reflect.DeepEqual(got, wantRS)) {
			t.Fatalf("%s: real servers differ from the reference:\n got %+v\nwant %+v\n%s", name, got, wantRS, conf)
		}
		if want := referenceConflicts(res); !reflect.DeepEqual(res.Conflicts, want) {
			t.Fatalf("%s: conflicts differ from the reference:\n got %+v\nwant %+v\n%s", name, res.Conflicts, want, conf)
		}
	}
	r := rand.New(rand.NewPCG(10, 2))
	conflicts := 0
	for i := 0; i < 2000; i++ {
		conf := randomConfig(r)
		var methods []keepalived.Method
		if i%3 == 0 {
			methods = []keepalived.Method{keepalived.MethodNAT, keepalived.MethodTUN}
		}
		check(t, fmt.Sprintf("random-%d", i), conf, methods)
		if cfg, d := keepalived.Parse("x", conf, keepalived.Options{}); !d.HasError() {
			if res, err := Build(cfg, Options{}); err == nil {
				conflicts += len(res.Conflicts)
			}
		}
	}
	if conflicts < 100 {
		t.Errorf("the random configurations produced only %d port conflicts: they test too little", conflicts)
	}
	confs, _ := filepath.Glob(filepath.Join("..", "keepalived", "testdata", "corpus", "*.conf"))
	for _, c := range confs {
		cfg, diags := keepalived.ParseFile(c, keepalived.Options{})
		if diags.HasError() {
			continue
		}
		res, err := Build(cfg, Options{})
		if err != nil {
			continue
		}
		if want := referenceRealServers(res, DefaultMethods()); len(want) > 0 && !reflect.DeepEqual(flatten(res.RealServers), want) {
			t.Errorf("%s: real servers differ from the reference", c)
		}
		if want := referenceConflicts(res); !reflect.DeepEqual(res.Conflicts, want) {
			t.Errorf("%s: conflicts differ from the reference", c)
		}
	}
}
