package provider

import "sync"

// hostLocks serializes, per host, the resources of this provider process that read and write the
// host's shared ARP sysctls and the aliases that record who needs them: without it two
// vip_dummy_interface resources applied in parallel (terraform's default) could both read
// arp_ignore=0, and the second would record the first one's value as the original.
// The zero value is ready to use.
type hostLocks struct {
	// canonical maps a resource's host to the address its connection goes to (the SSH pool's
	// Address), so that `rs1` and `rs1:22` share one lock; nil keeps hosts as written.
	canonical func(host string) (string, error)

	mu    sync.Mutex
	hosts map[string]*sync.Mutex
}

// lock locks host ("" is this machine) and returns the unlock function.
func (l *hostLocks) lock(host string) func() {
	if host != "" && l.canonical != nil {
		if a, err := l.canonical(host); err == nil {
			host = a
		}
	}
	l.mu.Lock()
	if l.hosts == nil {
		l.hosts = map[string]*sync.Mutex{}
	}
	m, ok := l.hosts[host]
	if !ok {
		m = &sync.Mutex{}
		l.hosts[host] = m
	}
	l.mu.Unlock()
	m.Lock()
	return m.Unlock
}
