//go:build linux

package netlinkhost

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vip-manager/terraform-provider-vip/internal/target"
)

// The benchmarks compare converging an interface with what `ip -batch` takes for the same
// changes, in the same run, on the same link. They run in the kernel lab on a dummy (see
// TestLabNetlinkHost); on a kernel without the dummy driver they use a veth, seen as a dummy
// through vethAsDummy, which changes nothing in what is timed.
//
//	go test ./internal/target/netlinkhost -run '^$' -bench . -benchtime 3x
//
// Metrics: ns/op is the provider; ip-ns/op is ip; ratio is provider/ip (the target is <= 2 for
// converging and <= 1 for reading).

const benchLink = "vipbench0"

// vethAsDummy reports the veth benchLink as a dummy, for kernels without the dummy driver.
type vethAsDummy struct{ Host }

func (v vethAsDummy) Observe(ctx context.Context, name target.IfName, sc []target.Sysctl) (target.Observation, error) {
	obs, err := v.Host.Observe(ctx, name, sc)
	if obs.Link.Kind == "veth" {
		obs.Link.Kind = "dummy"
	}
	return obs, err
}

func benchTarget(b *testing.B) target.Target {
	b.Helper()
	err := netlink.LinkAdd(&netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: benchLink}})
	if err == nil {
		_ = netlink.LinkDel(&netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: benchLink}})
		b.Log("on a dummy interface")
		return New()
	}
	if !errors.Is(err, unix.EOPNOTSUPP) {
		b.Fatal(err)
	}
	b.Log("no dummy driver: on a veth")
	addVeth(b, benchLink)
	return vethAsDummy{}
}

// vips returns 1,000 /32 addresses starting at 10.<first/65536>.x.x.
func vips(first int) []netip.Prefix {
	out := make([]netip.Prefix, 1000)
	for i := range out {
		v := uint32(10<<24 + first + i + 1)
		out[i] = netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), 32)
	}
	return out
}

func benchSpec(addrs, previous []netip.Prefix) target.Spec {
	return target.Spec{Name: benchLink, Addresses: addrs, Previous: previous, Exclusive: true,
		ARPIgnore: 1, ARPAnnounce: 2, ARPInterfaces: []target.IfName{"all"}}
}

func converge(b *testing.B, t target.Target, addrs, previous []netip.Prefix) {
	b.Helper()
	if _, err := target.Converge(context.Background(), t, benchSpec(addrs, previous)); err != nil {
		b.Fatal(err)
	}
}

func batch(op string, ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = fmt.Sprintf("address %s %s dev %s", op, p, benchLink)
	}
	return out
}

func report(b *testing.B, ours, ip time.Duration) {
	b.ReportMetric(float64(ip.Nanoseconds())/float64(b.N), "ip-ns/op")
	b.ReportMetric(float64(ours)/float64(ip), "ratio")
}

func BenchmarkConverge0To1000(b *testing.B) {
	inNamedNetns(b, func(ns string) {
		t := benchTarget(b)
		a := vips(0)
		converge(b, t, nil, nil)
		var ours, ip time.Duration
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			start := time.Now()
			converge(b, t, a, nil)
			ours += time.Since(start)
			b.StopTimer()
			converge(b, t, nil, a)
			start = time.Now()
			ipBatch(b, ns, batch("add", a))
			ip += time.Since(start)
			converge(b, t, nil, a)
			b.StartTimer()
		}
		report(b, ours, ip)
	})
}

func BenchmarkConverge1000To1000(b *testing.B) {
	inNamedNetns(b, func(ns string) {
		t := benchTarget(b)
		a, c := vips(0), vips(500) // 500 in common
		converge(b, t, a, nil)
		var ours, ip time.Duration
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			start := time.Now()
			converge(b, t, c, a)
			ours += time.Since(start)
			b.StopTimer()
			converge(b, t, a, c)
			start = time.Now()
			ipBatch(b, ns, append(batch("add", c[500:]), batch("del", a[:500])...))
			ip += time.Since(start)
			converge(b, t, a, c)
			b.StartTimer()
		}
		report(b, ours, ip)
	})
}

func BenchmarkObserve1000(b *testing.B) {
	inNamedNetns(b, func(ns string) {
		t := benchTarget(b)
		converge(b, t, vips(0), nil)
		spec := benchSpec(nil, nil)
		var ours, ip time.Duration
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			start := time.Now()
			obs, err := t.Observe(context.Background(), benchLink, spec.Sysctls())
			if err != nil || len(obs.Link.Addresses) != 1000 {
				b.Fatalf("observed %d addresses, %v", len(obs.Link.Addresses), err)
			}
			ours += time.Since(start)
			b.StopTimer()
			start = time.Now()
			if out, err := exec.Command("ip", "-n", ns, "-j", "addr", "show").CombinedOutput(); err != nil {
				b.Fatalf("ip -j addr show: %v\n%s", err, out)
			}
			ip += time.Since(start)
			b.StartTimer()
		}
		report(b, ours, ip)
	})
}
