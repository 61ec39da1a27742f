package target

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func prefixes(t *testing.T, ss ...string) []netip.Prefix {
	t.Helper()
	out := make([]netip.Prefix, 0, len(ss))
	for _, s := range ss {
		p, err := ParseAddress(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func spec(t *testing.T, name string, addrs ...string) Spec {
	return Spec{
		Name: IfName(name), Addresses: prefixes(t, addrs...), Exclusive: true,
		ARPIgnore: 1, ARPAnnounce: 2, ARPInterfaces: []IfName{"all"},
	}
}

func ops(steps []Step) []string {
	out := make([]string, len(steps))
	for i, s := range steps {
		out[i] = s.String()
	}
	return out
}

func sameSet(a, b []netip.Prefix) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	cmp := func(x, y netip.Prefix) int { return strings.Compare(x.String(), y.String()) }
	slices.SortFunc(a, cmp)
	slices.SortFunc(b, cmp)
	return slices.Equal(a, b)
}

func TestConvergeCreateOrder(t *testing.T) {
	h := newFakeHost()
	res, err := Converge(context.Background(), h, spec(t, "vip0", "192.0.2.1", "2001:db8::1"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"create dummy link",
		`set link alias "terraform-provider-vip:all=0/0"`,
		"set sysctl net.ipv4.conf.vip0.promote_secondaries=1",
		"set link up",
		"set sysctl net.ipv4.conf.all.arp_ignore=1",
		"set sysctl net.ipv4.conf.all.arp_announce=2",
		"add address 192.0.2.1/32",
		"add address 2001:db8::1/128",
	}
	if got := ops(h.applies[0]); !slices.Equal(got, want) {
		t.Fatalf("steps:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !res.Exists || res.Index == 0 || len(res.Addresses) != 2 {
		t.Fatalf("result %+v", res)
	}
	if res.Originals[Sysctl{"all", KeyARPIgnore}] != 0 || len(res.Originals) != 2 {
		t.Fatalf("originals %v", res.Originals)
	}
	// Converged: a second run does nothing.
	s := spec(t, "vip0", "192.0.2.1", "2001:db8::1")
	s.Originals = res.Originals
	s.Previous = res.Addresses
	if _, err := Converge(context.Background(), h, s); err != nil || len(h.applies) != 1 {
		t.Fatalf("second converge: err %v, applies %d", err, len(h.applies))
	}
}

func TestConvergeAddsBeforeRemoves(t *testing.T) {
	h := newFakeHost()
	ctx := context.Background()
	res, err := Converge(ctx, h, spec(t, "vip0", "192.0.2.1", "192.0.2.2"))
	if err != nil {
		t.Fatal(err)
	}
	h.links["vip0"].addrs = append(h.links["vip0"].addrs, prefixes(t, "198.51.100.9")...) // by hand
	s := spec(t, "vip0", "192.0.2.2", "192.0.2.3")
	s.Previous, s.Originals = res.Addresses, res.Originals
	if res, err = Converge(ctx, h, s); err != nil {
		t.Fatal(err)
	}
	want := []string{"add address 192.0.2.3/32", "remove address 192.0.2.1/32", "remove address 198.51.100.9/32"}
	if got := ops(h.applies[1]); !slices.Equal(got, want) {
		t.Fatalf("steps %q, want %q", got, want)
	}
	if !sameSet(h.links["vip0"].addrs, prefixes(t, "192.0.2.2", "192.0.2.3")) || !sameSet(res.Addresses, h.links["vip0"].addrs) {
		t.Fatalf("link has %v, result %v", h.links["vip0"].addrs, res.Addresses)
	}
}

func TestConvergeNonExclusiveKeepsForeign(t *testing.T) {
	h := newFakeHost()
	ctx := context.Background()
	s := spec(t, "vip0", "192.0.2.1", "192.0.2.2")
	s.Exclusive = false
	res, err := Converge(ctx, h, s)
	if err != nil {
		t.Fatal(err)
	}
	h.links["vip0"].addrs = append(h.links["vip0"].addrs, prefixes(t, "198.51.100.9")...)
	s = spec(t, "vip0", "192.0.2.2")
	s.Exclusive, s.Previous, s.Originals = false, res.Addresses, res.Originals
	if res, err = Converge(ctx, h, s); err != nil {
		t.Fatal(err)
	}
	if !sameSet(h.links["vip0"].addrs, prefixes(t, "192.0.2.2", "198.51.100.9")) {
		t.Fatalf("link has %v", h.links["vip0"].addrs)
	}
	if !sameSet(res.Addresses, prefixes(t, "192.0.2.2")) {
		t.Fatalf("reported %v", res.Addresses)
	}
}

func TestConvergeRefusesNonDummy(t *testing.T) {
	h := newFakeHost()
	_, err := Converge(context.Background(), h, spec(t, "eth0", "192.0.2.1"))
	var nd *NotDummyError
	if !errors.As(err, &nd) || len(h.applies) != 0 {
		t.Fatalf("err %v, applies %d", err, len(h.applies))
	}
	if err := Destroy(context.Background(), h, "eth0", nil); !errors.As(err, &nd) || len(h.applies) != 0 {
		t.Fatalf("destroy err %v, applies %d", err, len(h.applies))
	}
}

func TestConvergeFailsClosed(t *testing.T) {
	h := newFakeHost()
	ctx := context.Background()
	res, err := Converge(ctx, h, spec(t, "vip0", "192.0.2.1", "192.0.2.2"))
	if err != nil {
		t.Fatal(err)
	}
	// A missing interface in arp_interfaces: its sysctl cannot be written.
	s := spec(t, "vip0", "192.0.2.1", "192.0.2.3")
	s.ARPInterfaces = []IfName{"all", "nosuch0"}
	s.Previous, s.Originals = res.Addresses, res.Originals
	res, err = Converge(ctx, h, s)
	if err == nil || !strings.Contains(err.Error(), "net.ipv4.conf.nosuch0.arp_ignore") || !strings.Contains(err.Error(), "fail closed") {
		t.Fatalf("err %v", err)
	}
	if len(h.links["vip0"].addrs) != 0 || len(res.Addresses) != 0 {
		t.Fatalf("VIPs left on link: %v (reported %v)", h.links["vip0"].addrs, res.Addresses)
	}
	// A read-only sysctl on a fresh link: nothing is ever added.
	h.readOnly[Sysctl{"all", KeyARPAnnounce}] = true
	h.sysctls[Sysctl{"all", KeyARPAnnounce}] = 0
	_, err = Converge(ctx, h, spec(t, "vip1", "192.0.2.7"))
	if err == nil || !strings.Contains(err.Error(), "net.ipv4.conf.all.arp_announce") {
		t.Fatalf("err %v", err)
	}
	if len(h.links["vip1"].addrs) != 0 {
		t.Fatalf("VIPs on vip1: %v", h.links["vip1"].addrs)
	}
}

func TestConvergeTransportFailureIsUnknown(t *testing.T) {
	h := newFakeHost()
	h.failAfterN = 5
	res, err := Converge(context.Background(), h, spec(t, "vip0", "192.0.2.1", "192.0.2.2"))
	if !errors.Is(err, errTransport) || !res.Unknown {
		t.Fatalf("err %v, res %+v", err, res)
	}
}

func TestConvergeIPv6PrefixChange(t *testing.T) {
	h := newFakeHost()
	ctx := context.Background()
	res, err := Converge(ctx, h, spec(t, "vip0", "2001:db8::1/64", "192.0.2.1"))
	if err != nil {
		t.Fatal(err)
	}
	s := spec(t, "vip0", "2001:db8::1", "192.0.2.1")
	s.Previous, s.Originals = res.Addresses, res.Originals
	if _, err = Converge(ctx, h, s); err != nil {
		t.Fatal(err)
	}
	want := []string{"remove address 2001:db8::1/64", "add address 2001:db8::1/128"}
	if got := ops(h.applies[1]); !slices.Equal(got, want) {
		t.Fatalf("steps %q, want %q", got, want)
	}
}

func TestSharedSysctlsRestoredByLastDestroy(t *testing.T) {
	h := newFakeHost()
	ctx := context.Background()
	h.sysctls[Sysctl{"all", KeyARPIgnore}] = 0
	h.sysctls[Sysctl{"all", KeyARPAnnounce}] = 1
	a, err := Converge(ctx, h, spec(t, "vip0", "192.0.2.1"))
	if err != nil {
		t.Fatal(err)
	}
	s := spec(t, "vip1", "192.0.2.2")
	s.ARPInterfaces = []IfName{"all", "eth0"}
	b, err := Converge(ctx, h, s)
	if err != nil {
		t.Fatal(err)
	}
	// vip1 found all.* already set by vip0: it must inherit the original values, not record 1/2.
	if b.Originals[Sysctl{"all", KeyARPIgnore}] != 0 || b.Originals[Sysctl{"all", KeyARPAnnounce}] != 1 {
		t.Fatalf("vip1 originals %v", b.Originals)
	}
	if err := Destroy(ctx, h, "vip0", a.Originals); err != nil {
		t.Fatal(err)
	}
	if h.sysctls[Sysctl{"all", KeyARPIgnore}] != 1 || h.sysctls[Sysctl{"all", KeyARPAnnounce}] != 2 {
		t.Fatalf("all.* restored while vip1 still needs it: %v", h.sysctls)
	}
	// Destroy with no private state: the alias tells what to restore.
	if err := Destroy(ctx, h, "vip1", nil); err != nil {
		t.Fatal(err)
	}
	for sc, want := range map[Sysctl]int{{"all", KeyARPIgnore}: 0, {"all", KeyARPAnnounce}: 1, {"eth0", KeyARPIgnore}: 0, {"eth0", KeyARPAnnounce}: 0} {
		if h.sysctls[sc] != want {
			t.Errorf("%s = %d, want %d", sc, h.sysctls[sc], want)
		}
	}
	if _, ok := h.links["vip1"]; ok {
		t.Fatal("vip1 not deleted")
	}
}

func TestDroppedARPInterfaceRestored(t *testing.T) {
	h := newFakeHost()
	ctx := context.Background()
	s := spec(t, "vip0", "192.0.2.1")
	s.ARPInterfaces = []IfName{"all", "eth0"}
	res, err := Converge(ctx, h, s)
	if err != nil {
		t.Fatal(err)
	}
	s = spec(t, "vip0", "192.0.2.1")
	s.Previous, s.Originals = res.Addresses, res.Originals
	if res, err = Converge(ctx, h, s); err != nil {
		t.Fatal(err)
	}
	if h.sysctls[Sysctl{"eth0", KeyARPIgnore}] != 0 || h.sysctls[Sysctl{"all", KeyARPIgnore}] != 1 {
		t.Fatalf("sysctls %v", h.sysctls)
	}
	if _, ok := res.Originals[Sysctl{"eth0", KeyARPIgnore}]; ok || h.links["vip0"].alias != "terraform-provider-vip:all=0/0" {
		t.Fatalf("originals %v alias %q", res.Originals, h.links["vip0"].alias)
	}
}

func TestReportedIgnoresKernelLinkLocal(t *testing.T) {
	on := prefixes(t, "192.0.2.1", "fe80::1/64")
	if got := Reported(on, nil, true); !sameSet(got, prefixes(t, "192.0.2.1")) {
		t.Fatalf("got %v", got)
	}
	if got := Reported(on, prefixes(t, "fe80::1/64"), true); !sameSet(got, on) {
		t.Fatalf("got %v", got)
	}
}

func TestParseAddress(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":        "192.0.2.1",
		"192.0.2.1/32":     "192.0.2.1",
		"192.0.2.1/24":     "192.0.2.1/24",
		"2001:DB8::1":      "2001:db8::1",
		"2001:db8:0::1/64": "2001:db8::1/64",
	} {
		p, err := ParseAddress(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if got := CanonicalString(p); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
	for _, in := range []string{"", "192.0.2", "192.0.2.1/33", "fe80::1%eth0", "::ffff:192.0.2.1", "0.0.0.0", "224.0.0.1", "192.0.2.1/", "x"} {
		if _, err := ParseAddress(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestAliasRoundTrip(t *testing.T) {
	orig := Originals{{"all", KeyARPIgnore}: 0, {"all", KeyARPAnnounce}: 2, {"eth0", KeyARPIgnore}: 1}
	a, err := EncodeAlias([]IfName{"all", "eth0"}, orig)
	if err != nil {
		t.Fatal(err)
	}
	if a != "terraform-provider-vip:all=0/2,eth0=1/-" {
		t.Fatalf("alias %q", a)
	}
	ifs, got, ok := ParseAlias(a)
	if !ok || !slices.Equal(ifs, []IfName{"all", "eth0"}) || len(got) != 3 || got[Sysctl{"all", KeyARPAnnounce}] != 2 {
		t.Fatalf("parsed %v %v %v", ifs, got, ok)
	}
	if _, _, ok := ParseAlias("uplink to rack 3"); ok {
		t.Fatal("foreign alias parsed")
	}
	long := make([]IfName, 20)
	for i := range long {
		long[i] = IfName("eth-very-long" + string(rune('a'+i)))
	}
	if _, err := EncodeAlias(long, nil); err == nil {
		t.Fatal("overlong alias accepted")
	}
}

// An apply refused before it reached the host (sudo refused it, the session did not start, the
// request failed validation) changed nothing: the result is the host as observed, not a partial
// apply of the steps before some index, and not an unknown outcome.
func TestConvergeRefusedBeforeSentIsNotPartial(t *testing.T) {
	h := newFakeHost()
	ctx := context.Background()
	if _, err := Converge(ctx, h, spec(t, "vip0", "192.0.2.1")); err != nil {
		t.Fatal(err)
	}
	h.refuse = fmt.Errorf("sudo refused: %w", &StepError{Index: 2, Step: Step{Op: OpAddAddress}, Err: ErrNotApplied})
	want := spec(t, "vip0", "192.0.2.2", "192.0.2.3")
	want.Previous = spec(t, "vip0", "192.0.2.1").Addresses
	res, err := Converge(ctx, h, want)
	if err == nil || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("err %v", err)
	}
	if res.Unknown || !res.Exists || len(res.Addresses) != 1 || res.Addresses[0] != netip.MustParsePrefix("192.0.2.1/32") {
		t.Fatalf("result %+v, want the host as observed (192.0.2.1 only, outcome known)", res)
	}
}

// ARP values in an alias outside the kernel's documented ranges are not taken as originals, so a
// destroy never writes them back.
func TestParseAliasRangeChecksOriginals(t *testing.T) {
	ifs, orig, ok := ParseAlias(AliasPrefix + "all=999/0,eth0=8/3,eth1=-1/2")
	if !ok || len(ifs) != 3 {
		t.Fatalf("ParseAlias: %v %v %v", ifs, orig, ok)
	}
	want := Originals{
		{Interface: "all", Key: KeyARPAnnounce}:  0,
		{Interface: "eth0", Key: KeyARPIgnore}:   8,
		{Interface: "eth1", Key: KeyARPAnnounce}: 2,
	}
	if len(orig) != len(want) {
		t.Fatalf("originals %v, want %v", orig, want)
	}
	for sc, v := range want {
		if got, ok := orig[sc]; !ok || got != v {
			t.Fatalf("originals %v, want %v", orig, want)
		}
	}
}

// A resource being created refuses an interface that is already there, whoever made it, and
// touches nothing: not its addresses, not its alias, not the ARP sysctls.
func TestConvergeCreateRefusesExisting(t *testing.T) {
	for _, alias := range []string{"", AliasPrefix + "all=0/0"} {
		h := newFakeHost()
		h.links["vip0"] = &fakeLink{kind: "dummy", up: true, index: 42, alias: alias, addrs: []netip.Prefix{netip.MustParsePrefix("198.51.100.9/32")}}
		s := spec(t, "vip0", "192.0.2.1")
		s.Create = true
		_, err := Converge(context.Background(), h, s)
		var exists *ExistsError
		if !errors.As(err, &exists) || exists.Managed != (alias != "") {
			t.Fatalf("alias %q: want ExistsError, got %v", alias, err)
		}
		if len(h.applies) != 0 {
			t.Fatalf("alias %q: applied %v", alias, h.applies)
		}
	}
}
