package target

import (
	"context"
	"errors"
	"testing"
)

// Two writers on one host, as two Terraform runs (two states, two provider aliases) would be:
// each observes, plans, then applies in a later round trip, and the other applies in between.
// The host must never end up holding a VIP with ARP not suppressed.
func TestTwoWritersNeverExposeAVIP(t *testing.T) {
	all := Sysctl{Interface: "all", Key: KeyARPIgnore}
	ctx := context.Background()

	t.Run("destroy observes, a create applies, then the destroy applies", func(t *testing.T) {
		h := newFakeHost()
		first, err := Converge(ctx, h, spec(t, "vip1", "192.0.2.1"))
		if err != nil {
			t.Fatal(err)
		}
		h.beforeApply = func() {
			h.beforeApply = nil // the other run, once, between this run's observe and apply
			s := spec(t, "vip2", "192.0.2.2")
			s.Create = true
			if _, err := Converge(ctx, h, s); err != nil {
				t.Fatal(err)
			}
		}
		if err := Destroy(ctx, h, "vip1", first.Originals); err != nil {
			t.Fatal(err)
		}
		if h.links["vip2"] == nil || len(h.links["vip2"].addrs) != 1 || h.sysctls[all] != 1 {
			t.Fatalf("vip2 %+v holds its VIP with %s = %d", h.links["vip2"], all, h.sysctls[all])
		}
		if h.changed == 0 {
			t.Fatal("no apply was refused as changed: the interleaving did not happen")
		}
	})

	t.Run("create observes, a destroy applies, then the create applies", func(t *testing.T) {
		h := newFakeHost()
		first, err := Converge(ctx, h, spec(t, "vip1", "192.0.2.1"))
		if err != nil {
			t.Fatal(err)
		}
		h.beforeApply = func() {
			h.beforeApply = nil
			if err := Destroy(ctx, h, "vip1", first.Originals); err != nil {
				t.Fatal(err)
			}
		}
		s := spec(t, "vip2", "192.0.2.2")
		s.Create = true
		if _, err := Converge(ctx, h, s); err != nil {
			t.Fatal(err)
		}
		if h.links["vip2"] == nil || len(h.links["vip2"].addrs) != 1 || h.sysctls[all] != 1 {
			t.Fatalf("vip2 %+v holds its VIP with %s = %d", h.links["vip2"], all, h.sysctls[all])
		}
	})

	t.Run("a host that keeps changing is an error, not a loop", func(t *testing.T) {
		h := newFakeHost()
		var hook func()
		n := 0
		hook = func() {
			n++
			h.sysctls[all] = n % 2 // someone else keeps writing it
			h.beforeApply = hook
		}
		h.beforeApply = hook
		_, err := Converge(ctx, h, spec(t, "vip1", "192.0.2.1"))
		if !errors.Is(err, ErrChanged) || h.links["vip1"] != nil {
			t.Fatalf("err %v, vip1 %+v", err, h.links["vip1"])
		}
		if n != changeRetries {
			t.Fatalf("%d applies, want %d", n, changeRetries)
		}
	})
}
