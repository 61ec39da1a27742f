package sshhost

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vip-manager/terraform-provider-vip/internal/target"
)

// DefaultSnapshotAge is how long a host's snapshot may answer reads. Terraform refreshes every
// resource of a plan in one burst; a snapshot younger than that burst is no staler than reading
// each resource in turn would be.
const DefaultSnapshotAge = 10 * time.Second

// Snapshots keeps, per host, the helper's latest observe answer, which holds every link of the
// host (and the ARP sysctls that were asked), so that the reads of one refresh cost one helper
// session per host instead of one per resource. Only Hosts made with Refreshing answer from it;
// every Apply on a host drops the host's snapshot, and an answer fetched while an Apply ran is
// not kept. The provider keeps one Snapshots per configured provider instance, that is per
// Terraform graph walk: a plan's reads never see another command's snapshot.
type Snapshots struct {
	maxAge time.Duration

	mu    sync.Mutex
	hosts map[string]*snapshot // key: the host's canonical address
}

type snapshot struct {
	view     *hostView              // a successful observe answer; nil when there is none
	sysctls  map[target.Sysctl]bool // the sysctls the answer holds (present or absent on the host)
	taken    time.Time
	gen      uint64        // bumped by every Apply: an answer fetched across one is not kept
	fetching chan struct{} // closed when the fetch in flight ends; nil when none
}

// NewSnapshots returns an empty store whose snapshots answer reads for maxAge.
func NewSnapshots(maxAge time.Duration) *Snapshots {
	return &Snapshots{maxAge: maxAge, hosts: map[string]*snapshot{}}
}

func (s *Snapshots) entry(key string) *snapshot {
	e := s.hosts[key]
	if e == nil {
		e = &snapshot{}
		s.hosts[key] = e
	}
	return e
}

// covering returns the snapshot's answer if it is fresh and holds every sysctl in want.
func (e *snapshot) covering(want []target.Sysctl, now time.Time, maxAge time.Duration) *hostView {
	if e.view == nil || now.Sub(e.taken) > maxAge {
		return nil
	}
	for _, sc := range want {
		if !e.sysctls[sc] {
			return nil
		}
	}
	return e.view
}

// invalidate drops key's snapshot before and after a change to the host.
func (s *Snapshots) invalidate(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entry(key)
	e.view, e.sysctls = nil, nil
	e.gen++
}

// observe returns an observe answer for key that holds want: the snapshot's when it is fresh and
// covers want, else a new one from fetch (asked for want and the sysctls the snapshot held, so
// that resources with different arp_interfaces keep sharing it), which then becomes the snapshot.
// Concurrent callers wait for one fetch rather than start their own.
func (s *Snapshots) observe(ctx context.Context, key string, want []target.Sysctl,
	fetch func(ctx context.Context, sysctls []target.Sysctl) (*hostView, error)) (*hostView, error) {
	waited := false
	for {
		s.mu.Lock()
		e := s.entry(key)
		if view := e.covering(want, time.Now(), s.maxAge); view != nil {
			s.mu.Unlock()
			return view, nil
		}
		if e.fetching != nil && !waited {
			ch := e.fetching
			s.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			waited = true // once: if that answer did not cover want, fetch for want
			continue
		}
		ask := map[target.Sysctl]bool{}
		for _, sc := range want {
			ask[sc] = true
		}
		if e.view != nil {
			maps.Copy(ask, e.sysctls)
		}
		gen := e.gen
		done := make(chan struct{})
		if e.fetching == nil {
			e.fetching = done
		}
		s.mu.Unlock()

		sysctls := slices.SortedFunc(maps.Keys(ask), func(a, b target.Sysctl) int {
			return cmp.Or(strings.Compare(a.Interface, b.Interface), strings.Compare(a.Key, b.Key))
		})
		started := time.Now()
		view, err := fetch(ctx, sysctls)

		s.mu.Lock()
		if err == nil && e.gen == gen {
			e.view, e.sysctls, e.taken = view, ask, started
		}
		if e.fetching == done {
			e.fetching = nil
			close(done)
		}
		s.mu.Unlock()
		return view, err
	}
}
