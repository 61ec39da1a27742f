//go:build linux

package provider

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vip-manager/terraform-provider-vip/internal/sshconn/sshtest"
)

// The fleet benchmark's site: the sshds, what they count, and how a command is measured on them.

// fleetSite is the benchmark's fleet of sshds, a client key they all accept and a known_hosts
// file that trusts them all.
type fleetSite struct {
	b          *testing.B
	dir        string
	hosts      []string
	netns      []*sshtest.Netns
	servers    []*sshtest.Server
	key        string
	knownHosts string
}

func newFleetSite(b *testing.B, n int) *fleetSite {
	b.Helper()
	dir := b.TempDir()
	priv, pub := sshtest.KeyGen(b, dir, "client", "ed25519", "")
	f := &fleetSite{b: b, dir: dir, key: priv, knownHosts: filepath.Join(dir, "known_hosts")}
	authorized := strings.TrimSpace(sshtest.ReadFile(b, pub))
	var kh strings.Builder
	for i := 0; i < n; i++ {
		ns := sshtest.NewNetns(b)
		// Each real server has its own /run/lock, where the helper's apply lock lives.
		srv := sshtest.Start(b, sshtest.Options{Netns: ns.Name, ListenAddr: ns.NsAddr, AuthorizedKeys: []string{authorized},
			PrivateRunLock: true})
		f.hosts = append(f.hosts, ns.NsAddr)
		f.netns = append(f.netns, ns)
		f.servers = append(f.servers, srv)
		fmt.Fprintf(&kh, "%s %s\n", ns.NsAddr, srv.HostKeys[0])
	}
	sshtest.WriteFile(b, f.knownHosts, kh.String(), 0o600)
	return f
}

// sshdCounts are the TCP connections and SSH sessions (shell, exec and subsystem channels) that
// the fleet's sshds logged so far, and the CPU time they used (see sshdCPU).
type sshdCounts struct {
	conns, sessions int
	cpu             time.Duration
}

func (f *fleetSite) counts() sshdCounts {
	var c sshdCounts
	for _, s := range f.servers {
		log := s.Log()
		c.conns += strings.Count(log, "Connection from ")
		c.sessions += strings.Count(log, "ctype session")
	}
	c.cpu = f.sshdCPU()
	return c
}

// measured is one timed command: its wall time, what it cost at the sshds per host, the
// provider process's peak resident memory (VmHWM; 0 when no provider ran) and how many provider
// processes ran; the CPU time of the command with its provider (client: this process's children
// that ended, which are the CLI and the provider processes it started and reaped, or
// ansible-playbook with its ssh clients) and of the sshds' connections (server): both share the
// guest's CPUs, so together they show what a plan waits for.
type measured struct {
	wall                      time.Duration
	connsPerHost, sessPerHost float64
	providerKiB               int
	providerProcs             float64
	clientCPU, sshdCPU        time.Duration
}

// measure times run, counts what it cost at the sshds and prints that at once (b.Log shows only at
// the end of a benchmark, and this one runs for many minutes).
func (f *fleetSite) measure(what string, run func()) measured {
	return f.measureOn(what, len(f.hosts), run)
}

// measureOn is measure for a command that talks to the first hosts hosts of the fleet.
func (f *fleetSite) measureOn(what string, hosts int, run func()) measured {
	before, cpuBefore := f.counts(), rusageCPU(f.b, syscall.RUSAGE_CHILDREN)
	stop, peak, procs := watchProvider(*providerBinary)
	start := time.Now()
	run()
	wall := time.Since(start)
	stop()
	// The sshds reap their connections' processes a moment after the client hangs up.
	time.Sleep(time.Second)
	after := f.counts()
	n := float64(hosts)
	m := measured{wall: wall, connsPerHost: float64(after.conns-before.conns) / n, sessPerHost: float64(after.sessions-before.sessions) / n,
		providerKiB: *peak, providerProcs: float64(len(procs)), clientCPU: rusageCPU(f.b, syscall.RUSAGE_CHILDREN) - cpuBefore, sshdCPU: after.cpu - before.cpu}
	fmt.Fprintf(os.Stderr, "fleet: %-34s %s\n", what, m)
	return m
}

// watchProvider samples, once a second until stop is called, the peak resident memory (VmHWM) of
// every running process whose executable is exe, and keeps the largest in *peak (KiB), and the
// process ids it saw in procs: how many provider processes a command started (each phase of a
// command lasts seconds here, so none is missed). Once a second costs next to nothing next to the
// commands it watches.
func watchProvider(exe string) (stop func(), peak *int, pids map[string]bool) {
	peak, pids = new(int), map[string]bool{}
	done, finished := make(chan struct{}), make(chan struct{})
	sample := func() {
		procs, _ := filepath.Glob("/proc/[0-9]*/exe")
		for _, p := range procs {
			if target, err := os.Readlink(p); err != nil || target != exe {
				continue
			}
			status, err := os.ReadFile(filepath.Join(filepath.Dir(p), "status"))
			if err != nil {
				continue
			}
			pids[filepath.Base(filepath.Dir(p))] = true
			for _, line := range strings.Split(string(status), "\n") {
				if f := strings.Fields(line); len(f) == 3 && f[0] == "VmHWM:" {
					if kib, err := strconv.Atoi(f[1]); err == nil && kib > *peak {
						*peak = kib
					}
				}
			}
		}
	}
	go func() {
		defer close(finished)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				sample()
			}
		}
	}()
	return func() { close(done); <-finished }, peak, pids
}

// mean of the wall times and per-host counts of ms.
func mean(ms []measured) measured {
	var m measured
	for _, x := range ms {
		m.wall += x.wall
		m.connsPerHost += x.connsPerHost
		m.sessPerHost += x.sessPerHost
		m.providerKiB = max(m.providerKiB, x.providerKiB)
		m.providerProcs += x.providerProcs
		m.clientCPU += x.clientCPU
		m.sshdCPU += x.sshdCPU
	}
	n := float64(len(ms))
	m.wall = time.Duration(float64(m.wall) / n)
	m.connsPerHost /= n
	m.sessPerHost /= n
	m.providerProcs /= n
	m.clientCPU = time.Duration(float64(m.clientCPU) / n)
	m.sshdCPU = time.Duration(float64(m.sshdCPU) / n)
	return m
}

func (m measured) String() string {
	s := fmt.Sprintf("%s (%.1f connections, %.1f sessions per host", m.wall.Round(10*time.Millisecond), m.connsPerHost, m.sessPerHost)
	if m.providerKiB > 0 {
		s += fmt.Sprintf("; %.0f provider process(es), peak RSS %d MiB", m.providerProcs, m.providerKiB/1024)
	}
	return s + fmt.Sprintf("; CPU: command %s, sshds %s)", m.clientCPU.Round(10*time.Millisecond), m.sshdCPU.Round(10*time.Millisecond))
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

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

// rusageCPU is the user and system time of who: syscall.RUSAGE_SELF (this process so far) or
// syscall.RUSAGE_CHILDREN (its children that ended and were reaped).
func rusageCPU(b *testing.B, who int) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
