//go:build linux

package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
		sshdBefore, selfBefore := fleet.sshdCPU(), selfCPU(b)
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
		self := selfCPU(b) - selfBefore
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

// sshdCPU is the CPU time the fleet's sshds used so far, with every process they started: the
// user and system time, and that of their reaped children, of every process in their trees (a
// process that ended is counted once, in the parent that reaped it).
func (f *fleetSite) sshdCPU() time.Duration {
	f.b.Helper()
	type proc struct {
		ppid  int
		ticks int64
	}
	procs := map[int]proc{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			continue // ended meanwhile: its time is in its parent's children's time
		}
		// After the command name in parentheses (which may hold spaces): state (field 3), ppid
		// (4), ..., utime, stime, cutime, cstime (14-17), in clock ticks of 1/100 s on Linux.
		i := strings.LastIndex(string(raw), ") ")
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(raw)[i+2:])
		if len(fields) < 15 {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		var ticks int64
		for _, v := range fields[11:15] {
			t, _ := strconv.ParseInt(v, 10, 64)
			ticks += t
		}
		procs[pid] = proc{ppid: ppid, ticks: ticks}
	}
	roots := map[int]bool{}
	for _, s := range f.servers {
		roots[s.PID()] = true
	}
	inFleet := func(pid int) bool {
		for depth := 0; pid > 1 && depth < 64; depth++ {
			if roots[pid] {
				return true
			}
			pid = procs[pid].ppid
		}
		return false
	}
	var ticks int64
	for pid, p := range procs {
		if inFleet(pid) {
			ticks += p.ticks
		}
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

// selfCPU is the user and system time this process used so far.
func selfCPU(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
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
