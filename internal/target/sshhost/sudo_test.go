package sshhost_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vip-manager/terraform-provider-vip/internal/sshconn"
	"github.com/vip-manager/terraform-provider-vip/internal/sshconn/sshtest"
	"github.com/vip-manager/terraform-provider-vip/internal/target"
)

// TestRemoteSudoNoiseKeepsTheHelperResult: on a real server whose host name does not resolve,
// the real sudo prints "sudo: unable to resolve host ..." on every run. An ARP sysctl that cannot
// be written must still come back as the helper's failed step (which Converge answers by removing
// the VIPs, failing closed), not as "sudo refused", whose unknown outcome skips that.
func TestRemoteSudoNoiseKeepsTheHelperResult(t *testing.T) {
	if _, err := sshtest.LookPath("sudo"); err != nil {
		sshtest.Missing(t, "sudo")
	}
	r := newRemoteWith(t, sshtest.Options{Hostname: "vip-no-such-host.invalid"}, func(c *sshconn.Config) { c.Sudo = true })
	ctx := context.Background()
	bad := target.Sysctl{Interface: "nosuch0", Key: target.KeyARPIgnore}
	err := r.host.Apply(ctx, target.IfName(r.ns.NsIf), []target.Step{{Op: target.OpSetSysctl, Sysctl: bad, Value: 1}})
	var se *target.StepError
	if !errors.As(err, &se) || se.Index != 0 {
		t.Fatalf("want the helper's failed step 0, got %T: %v", err, err)
	}
	if !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("error lacks the helper's reason: %v", err)
	}
	t.Logf("with sudo noise: %v", err)

	// The noise is really there: a run that succeeds shows it on stderr.
	res, err := r.pool.Run(ctx, r.ns.NsAddr, "true", nil)
	if err != nil || res.ExitStatus != 0 || !strings.Contains(string(res.Stderr), "sudo: unable to resolve host") {
		t.Fatalf("sudo noise not reproduced: %v %+v", err, res)
	}
}
