package sshhost_test

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vip-manager/terraform-provider-vip/internal/target"
)

// Over a real sshd: the helper checks, under the host's lock, what the plan was computed from (a
// stale expectation refuses the apply and nothing is written), the managed-link expectations
// match what observe reports, and an apply waits while another process holds the lock (flock(1)
// on target.LockPath, which the local netlink target takes too).
func TestRemoteApplyLockedAndChecked(t *testing.T) {
	r := newRemote(t)
	ctx := context.Background()
	ifn := target.IfName(r.ns.NsIf)
	ign := target.Sysctl{Interface: string(ifn), Key: target.KeyARPIgnore}
	alias := target.AliasPrefix + "all=0/0"
	if err := r.host.Apply(ctx, ifn, []target.Step{{Op: target.OpSetAlias, Alias: alias}}); err != nil {
		t.Fatal(err)
	}
	obs, err := r.host.Observe(ctx, ifn, []target.Sysctl{ign})
	if err != nil {
		t.Fatal(err)
	}
	expect := target.Expectations(obs, ifn, []target.Sysctl{ign})
	managed := false
	for _, s := range expect {
		managed = managed || (s.Op == target.OpExpectManaged && s.Peer == ifn && s.Alias == alias)
	}
	if !managed {
		t.Fatalf("expectations %v lack the managed link", expect)
	}
	set := func(v int) []target.Step {
		return append(append([]target.Step(nil), expect...), target.Step{Op: target.OpSetSysctl, Sysctl: ign, Value: v})
	}
	if err := r.host.Apply(ctx, ifn, set(1)); err != nil {
		t.Fatalf("fresh expectations refused: %v", err)
	}
	err = r.host.Apply(ctx, ifn, set(2))
	if !errors.Is(err, target.ErrChanged) || !errors.Is(err, target.ErrNotApplied) || !strings.Contains(err.Error(), r.ns.NsAddr) {
		t.Fatalf("stale apply: %v", err)
	}
	if obs, _ := r.host.Observe(ctx, ifn, []target.Sysctl{ign}); obs.Sysctls[ign] != 1 {
		t.Fatalf("stale apply wrote: %v", obs.Sysctls)
	}
	// Each kind of expectation is checked: the link, a managed link's alias, their count.
	for name, stale := range map[string]target.Step{
		"link":    {Op: target.OpExpectLink, Value: 0},
		"managed": {Op: target.OpExpectManaged, Peer: ifn, Alias: target.AliasPrefix + "all=1/1"},
		"count":   {Op: target.OpExpectManagedCount, Value: 2},
	} {
		err := r.host.Apply(ctx, ifn, []target.Step{stale, {Op: target.OpSetSysctl, Sysctl: ign, Value: 2}})
		if !errors.Is(err, target.ErrChanged) {
			t.Errorf("stale %s expectation: %v", name, err)
		}
	}

	holder := exec.Command("flock", target.LockPath, "sleep", "2")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = holder.Wait() }()
	for i := 0; exec.Command("flock", "-n", target.LockPath, "true").Run() == nil; i++ {
		if i > 100 {
			t.Fatal("the holder never took the lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	if err := r.host.Apply(ctx, ifn, []target.Step{{Op: target.OpSetSysctl, Sysctl: ign, Value: 0}}); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Fatalf("the apply did not wait for the lock (%s)", waited)
	} else {
		t.Logf("waited %s for the other holder of %s", waited.Round(time.Millisecond), target.LockPath)
	}
}
