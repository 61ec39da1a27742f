//go:build linux

package provider

import (
	"context"
	"fmt"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vip-manager/terraform-provider-vip/internal/sshconn"
	"github.com/vip-manager/terraform-provider-vip/internal/target"
	"github.com/vip-manager/terraform-provider-vip/internal/target/sshhost"
)

// fleetProfile splits what one plan's refresh costs per host into its parts, measured from Go with
// the provider's own connection code over the fleet, fleetParallelism hosts at a time as
// Terraform's walk does: the connection (TCP, key exchange, host-key check, public-key login),
// an empty session over it (`sh -c :`: the session channel, sshd forking the command), and the
// helper's observe request over it (a session running the helper, which reads the links and the
// ARP sysctls). Each part is timed on its own, over the connections of the part before, with the
// CPU time it cost on both ends: this process (the provider's share) and the sshds (the real
// servers' share, which no provider change removes).
func fleetProfile(b *testing.B, fleet *fleetSite) {
	b.Helper()
	key, err := os.ReadFile(fleet.key)
	if err != nil {
		b.Fatal(err)
	}
	signer, err := sshconn.ParseSigner(fleet.key, key, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	pool := sshconn.NewPool(sshconn.Config{User: "root", Signers: []ssh.Signer{signer}, KnownHostsFiles: []string{fleet.knownHosts},
		Timeout: 300 * time.Second})
	defer func() { _ = pool.Close() }()
	ctx := context.Background()
	sysctls := target.ARPSysctls([]target.IfName{"vip0"})
	parts := []struct {
		name string
		run  func(host string) error
	}{
		{"connection (handshake, login)", func(host string) error { _, err := pool.Get(ctx, host); return err }},
		{"empty session (sh -c :)", func(host string) error {
			res, err := pool.Run(ctx, host, ":", nil)
			if err == nil && res.ExitStatus != 0 {
				err = fmt.Errorf("exit %d: %s", res.ExitStatus, res.Stderr)
			}
			return err
		}},
		{"helper observe session", func(host string) error {
			h, err := sshhost.New(pool, host)
			if err == nil {
				_, err = h.Observe(ctx, "vip0", sysctls)
			}
			return err
		}},
	}
	n := len(fleet.hosts)
	for _, part := range parts {
		sshdBefore, selfBefore := fleet.sshdCPU(), rusageCPU(b, syscall.RUSAGE_SELF)
		start := time.Now()
		work := make(chan string)
		errs := make(chan error, n)
		var wg sync.WaitGroup
		for w := 0; w < fleetParallelism; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for host := range work {
					if err := part.run(host); err != nil {
						errs <- fmt.Errorf("%s: %w", host, err)
					}
				}
			}()
		}
		for _, h := range fleet.hosts {
			work <- h
		}
		close(work)
		wg.Wait()
		wall := time.Since(start)
		self := rusageCPU(b, syscall.RUSAGE_SELF) - selfBefore
		close(errs)
		for err := range errs {
			b.Fatalf("profile, %s: %v", part.name, err)
		}
		sshd := fleet.sshdCPU() - sshdBefore
		per := func(d time.Duration) string { return (d / time.Duration(n)).Round(time.Millisecond).String() }
		line := fmt.Sprintf("profile: %-30s %d hosts, %d at a time: %s (%s per host); CPU per host: provider side %s, sshd side %s",
			part.name, n, fleetParallelism, wall.Round(10*time.Millisecond), per(wall), per(self), per(sshd))
		fmt.Fprintln(os.Stderr, "fleet: "+line)
		b.Log(line)
	}
}

// BenchmarkSSHFleetProfile50 runs fleetProfile on the machine itself, outside the lab: 50 sshds
// in network namespaces on real CPUs, the same parts of a host's refresh as in
// BenchmarkSSHLabFleet50 (whose sshds run under emulation), so that the two show what the
// emulation costs. No interface exists here (the machine may have no dummy driver): the helper
// reads all links and finds no vip0, which is the same work. Needs root and sshd:
//
//	go test ./internal/provider -run '^$' -bench SSHFleetProfile50 -benchtime 1x
func BenchmarkSSHFleetProfile50(b *testing.B) {
	fleet := newFleetSite(b, fleetHosts)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fleetProfile(b, fleet)
	}
}
