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

// How long a host's snapshot answers the reads of a refresh (see Snapshots): while the refresh
// goes on, that is while its reads keep coming (a read in flight, or one that began or ended less
// than DefaultSnapshotIdle ago), and never past DefaultSnapshotMaxAge from the fetch's start.
//
//   - 30 s of idle: a refresh makes no longer pause between reads of the store. Its reads
//     overlap (Terraform runs -parallelism of them at once, and a read in flight keeps the
//     refresh going), and what runs between them (planning a resource, a data source) takes
//     seconds at most even under emulation. A refresh that did pause longer pays one more helper
//     session per host, nothing more.
//   - 5 min at most: bounds how far behind the host the last answers of a very long refresh (of
//     thousands of resources) can be, at the cost of one helper session per host every 5 minutes.
const (
	DefaultSnapshotIdle   = 30 * time.Second
	DefaultSnapshotMaxAge = 5 * time.Minute
)

// Snapshots keeps, per host, the helper's latest observe answer, which holds every link of the
// host (and the ARP sysctls that were asked), so that the reads of one refresh cost one helper
// session per host instead of one per resource, however long the refresh takes. Only Hosts made
// with Refreshing answer from it; every Apply on a host drops the host's snapshot, and an answer
// fetched while an Apply ran is not kept. The provider keeps one Snapshots per configured
// provider instance, that is per Terraform graph walk: a plan's reads never see another
// command's snapshot.
//
// A snapshot answers only the reads of the refresh (burst of reads) it was taken in, for at most
// maxAge. A burst starts with a read that finds no read in flight and none for idle; it lasts as
// long as reads keep coming. Why such an answer is no staler than reading each resource in turn
// would be: Terraform reads the resources of a refresh in no set order, -parallelism at a time,
// and plans from all the answers together, so the plan is only as fresh as its oldest read,
// made when the burst began. A host's snapshot is taken at the host's first read in the burst,
// no earlier than that oldest read, and gives each of the host's resources what reading it
// would have given had the walk reached the host's resources first, which it may as well have
// done. What a later read could see and the snapshot cannot is a change made during the
// refresh: one by this provider drops the snapshot (every Apply does, and an answer fetched
// across an Apply is not kept), and one made by anyone else is one a refresh never orders
// itself against.
type Snapshots struct {
	idle, maxAge time.Duration
	now          func() time.Time // time.Now; tests set a clock they control

	mu       sync.Mutex
	hosts    map[string]*snapshot // key: the host's canonical address
	burst    uint64               // the current burst of reads; 0 before the first read
	reading  int                  // observe calls in progress
	lastRead time.Time            // when the latest observe call began or ended
}

type snapshot struct {
	view     *hostView              // a successful observe answer; nil when there is none
	sysctls  map[target.Sysctl]bool // the sysctls the answer holds (present or absent on the host)
	taken    time.Time              // when the fetch of view started
	burst    uint64                 // the burst of reads that took view: it answers no other
	gen      uint64                 // bumped by every Apply: an answer fetched across one is not kept
	fetching chan struct{}          // closed when the fetch in flight ends; nil when none
}

// NewSnapshots returns an empty store whose snapshots answer the reads of the burst that took
// them, a burst ending after idle without reads, for at most maxAge (DefaultSnapshotIdle and
// DefaultSnapshotMaxAge in the provider).
func NewSnapshots(idle, maxAge time.Duration) *Snapshots {
	return &Snapshots{idle: idle, maxAge: maxAge, now: time.Now, hosts: map[string]*snapshot{}}
}

// beginRead counts a read in, and starts a new burst when the last one has ended: no read in
// flight and none for idle (before the first read, lastRead is long ago).
func (s *Snapshots) beginRead() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.reading == 0 && now.Sub(s.lastRead) > s.idle {
		s.burst++
	}
	s.reading++
	s.lastRead = now
}

// endRead counts a read out.
func (s *Snapshots) endRead() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reading--
	s.lastRead = s.now()
}

func (s *Snapshots) entry(key string) *snapshot {
	e := s.hosts[key]
	if e == nil {
		e = &snapshot{}
		s.hosts[key] = e
	}
	return e
}

// covering returns the snapshot's answer if it was taken in the current burst, is younger than
// maxAge and holds every sysctl in want. s.mu must be held.
func (s *Snapshots) covering(e *snapshot, want []target.Sysctl) *hostView {
	if e.view == nil || e.burst != s.burst || s.now().Sub(e.taken) > s.maxAge {
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

// observe returns an observe answer for key that holds want: the snapshot's when it answers this
// burst and covers want, else a new one from fetch (asked for want and the sysctls the snapshot
// held, so that resources with different arp_interfaces keep sharing it), which then becomes the
// snapshot.
// Concurrent callers wait for one fetch rather than start their own.
func (s *Snapshots) observe(ctx context.Context, key string, want []target.Sysctl,
	fetch func(ctx context.Context, sysctls []target.Sysctl) (*hostView, error)) (*hostView, error) {
	s.beginRead()
	defer s.endRead()
	waited := false
	for {
		s.mu.Lock()
		e := s.entry(key)
		if view := s.covering(e, want); view != nil {
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
		gen, burst := e.gen, s.burst
		done := make(chan struct{})
		if e.fetching == nil {
			e.fetching = done
		}
		s.mu.Unlock()

		sysctls := slices.SortedFunc(maps.Keys(ask), func(a, b target.Sysctl) int {
			return cmp.Or(strings.Compare(a.Interface, b.Interface), strings.Compare(a.Key, b.Key))
		})
		started := s.now()
		view, err := fetch(ctx, sysctls)

		s.mu.Lock()
		if err == nil && e.gen == gen {
			e.view, e.sysctls, e.taken, e.burst = view, ask, started, burst
		}
		if e.fetching == done {
			e.fetching = nil
			close(done)
		}
		s.mu.Unlock()
		return view, err
	}
}
