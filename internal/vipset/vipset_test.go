package vipset

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/vip-manager/terraform-provider-vip/internal/keepalived"
)

func build(t *testing.T, conf string, opts Options) *Result {
	t.Helper()
	cfg, diags := keepalived.Parse("test.conf", conf, keepalived.Options{})
	if diags.HasError() {
		t.Fatalf("parse: %v", diags)
	}
	res, err := Build(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func vips(rs *RealServer) []string {
	var out []string
	for _, v := range rs.VIPs {
		out = append(out, v.String())
	}
	return out
}

func TestVIPsSortedDedupedPerMethod(t *testing.T) {
	res := build(t, `
virtual_server 2001:db8::1 80 {
  protocol TCP
  lb_kind DR
  real_server 2001:db8:1::1 80 { }
}
virtual_server 10.0.0.10 80 {
  protocol TCP
  lb_kind DR
  real_server 192.168.0.1 80 { }
  real_server 192.168.0.2 80 { lvs_method NAT }
}
virtual_server 10.0.0.9 443 {
  protocol TCP
  lb_kind TUN
  real_server 192.168.0.1 443 { }
  sorry_server 192.168.0.3 443
}
virtual_server 10.0.0.10 443 {
  protocol TCP
  lb_kind DR
  real_server 192.168.0.1 443 { }
}
virtual_server_group G { 10.0.1.1-2 53 }
virtual_server group G {
  protocol UDP
  lb_kind DR
  real_server 192.168.0.1 53 { }
}
`, Options{})
	var got []string
	for _, rs := range res.RealServers {
		got = append(got, rs.Address.String()+"="+strings.Join(vips(rs), ","))
	}
	want := []string{
		"192.168.0.1=10.0.0.9,10.0.0.10,10.0.1.1,10.0.1.2",
		"192.168.0.3=10.0.0.9",
		"2001:db8:1::1=2001:db8::1",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	if len(res.Services) != 6 {
		t.Fatalf("services: %d", len(res.Services))
	}
	res = build(t, `virtual_server 10.0.0.1 80 {
  protocol TCP
  lb_kind NAT
  real_server 192.168.0.1 80 { } }`, Options{Methods: []keepalived.Method{keepalived.MethodNAT}})
	if len(res.RealServers) != 1 || res.RealServers[0].VIPs[0] != netip.MustParseAddr("10.0.0.1") {
		t.Fatalf("NAT selection: %+v", res.RealServers)
	}
}

func TestPortConflict(t *testing.T) {
	res := build(t, `
virtual_server 10.0.0.1 80 {
  protocol TCP
  lb_kind DR
  real_server 192.168.0.1 80 { }
  real_server 192.168.0.2 80 { }
}
virtual_server 10.0.0.1 443 {
  protocol TCP
  lb_kind DR
  real_server 192.168.0.2 443 { }
}
virtual_server 10.0.0.2 0 {
  protocol TCP
  lb_kind DR
  persistence_timeout 60
  real_server 192.168.0.3 { }
}
virtual_server 10.0.0.2 22 {
  protocol TCP
  lb_kind DR
  real_server 192.168.0.4 22 { }
}
`, Options{})
	if len(res.Conflicts) != 2 {
		t.Fatalf("conflicts: %+v", res.Conflicts)
	}
	c := res.Conflicts[0]
	if c.RealServer.String() != "192.168.0.1" || c.VIP.String() != "10.0.0.1" ||
		!slices.Equal(c.Served, []string{"TCP/80"}) || !slices.Equal(c.NotServed, []string{"TCP/443"}) || c.Pos.Line != 8 {
		t.Fatalf("conflict: %+v", c)
	}
	if !strings.Contains(c.Message(), "test.conf:8") {
		t.Fatal(c.Message())
	}
	// 192.168.0.3 serves all ports of 10.0.0.2 (port 0): no conflict for it; 192.168.0.4 lacks port 0.
	if c := res.Conflicts[1]; c.RealServer.String() != "192.168.0.4" || !slices.Equal(c.NotServed, []string{"TCP/0"}) {
		t.Fatalf("conflict: %+v", c)
	}
}

func TestHugeRangeRefused(t *testing.T) {
	cfg, diags := keepalived.Parse("t.conf", `virtual_server_group G { 2001:db8::/64 80 }
virtual_server group G {
  protocol TCP
  lb_kind DR
  real_server 2001:db8:1::1 80 { }
}`, keepalived.Options{})
	if diags.HasError() {
		t.Fatal(diags)
	}
	if _, err := Build(cfg, Options{}); err == nil || !strings.Contains(err.Error(), "t.conf:1") {
		t.Fatalf("want an error naming t.conf:1, got %v", err)
	}
}
