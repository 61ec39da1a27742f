//go:build linux

package netlinkhost

import (
	"context"
	"errors"
	"os/exec"
	"testing"
	"time"

	"github.com/vip-manager/terraform-provider-vip/internal/target"
)

// An apply checks, under the host's lock, what its plan was computed from: a sysctl that another
// writer changed in between refuses the apply (target.ErrChanged) and nothing is written. And the
// lock is the one flock(1) takes, as the SSH helper does: an apply waits for another holder.
func TestHostApplyLockedAndChecked(t *testing.T) {
	if _, err := exec.LookPath("flock"); err != nil {
		t.Skip("flock (util-linux) is missing")
	}
	inNamedNetns(t, func(string) {
		addVeth(t, "veth0")
		ctx := context.Background()
		h := New()
		ign := target.Sysctl{Interface: "veth0", Key: target.KeyARPIgnore}
		obs, err := h.Observe(ctx, "veth0", []target.Sysctl{ign})
		if err != nil {
			t.Fatal(err)
		}
		expect := target.Expectations(obs, "veth0", []target.Sysctl{ign})
		set := func(v int) []target.Step {
			return append(append([]target.Step(nil), expect...), target.Step{Op: target.OpSetSysctl, Sysctl: ign, Value: v})
		}
		if err := h.Apply(ctx, "veth0", set(1)); err != nil {
			t.Fatal(err)
		}
		// The same expectations are stale now: the sysctl is 1.
		err = h.Apply(ctx, "veth0", set(2))
		if !errors.Is(err, target.ErrChanged) || !errors.Is(err, target.ErrNotApplied) {
			t.Fatalf("stale apply: %v", err)
		}
		if obs, _ := h.Observe(ctx, "veth0", []target.Sysctl{ign}); obs.Sysctls[ign] != 1 {
			t.Fatalf("stale apply wrote: %v", obs.Sysctls)
		}

		// Another process holds the lock for 2 s (flock(1), as the helper takes it).
		holder := exec.Command("flock", lockPath(), "sleep", "2")
		if err := holder.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = holder.Wait() }()
		for i := 0; exec.Command("flock", "-n", lockPath(), "true").Run() == nil; i++ {
			if i > 100 {
				t.Fatal("the holder never took the lock")
			}
			time.Sleep(10 * time.Millisecond)
		}
		start := time.Now()
		if err := h.Apply(ctx, "veth0", []target.Step{{Op: target.OpSetSysctl, Sysctl: ign, Value: 1}}); err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(start); waited < time.Second {
			t.Fatalf("the apply did not wait for the lock (%s)", waited)
		} else {
			t.Logf("waited %s for the other holder of %s", waited.Round(time.Millisecond), lockPath())
		}
	})
}
