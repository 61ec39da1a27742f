package sshhost

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vip-manager/terraform-provider-vip/internal/target"
)

var (
	allIgnore     = target.Sysctl{Interface: "all", Key: target.KeyARPIgnore}
	allAnnounce   = target.Sysctl{Interface: "all", Key: target.KeyARPAnnounce}
	eth0Announce  = target.Sysctl{Interface: "eth0", Key: target.KeyARPAnnounce}
	errHostIsDown = errors.New("host is down")
)

// countingFetch answers with a new view per call and records what each call asked.
type countingFetch struct {
	mu    sync.Mutex
	calls int
	views []*hostView
	asked [][]target.Sysctl
	hold  chan struct{} // when set, each fetch waits on it
	err   error
}

func (f *countingFetch) fetch(_ context.Context, sysctls []target.Sysctl) (*hostView, error) {
	if f.hold != nil {
		<-f.hold
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.asked = append(f.asked, sysctls)
	if f.err != nil {
		return nil, f.err
	}
	v := &hostView{}
	f.views = append(f.views, v)
	return v, nil
}

// nth is the number (from 1) of the fetch that produced v, 0 if none did.
func (f *countingFetch) nth(v *hostView) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Index(f.views, v) + 1
}

func TestSnapshotsShareOneFetchAcrossConcurrentReads(t *testing.T) {
	s := NewSnapshots(time.Minute, time.Minute)
	f := &countingFetch{hold: make(chan struct{})}
	var wg sync.WaitGroup
	var answered atomic.Int32
	for range 20 {
		wg.Go(func() {
			out, err := s.observe(context.Background(), "rs1:22", []target.Sysctl{allIgnore, allAnnounce}, f.fetch)
			if err != nil || f.nth(out) != 1 {
				t.Errorf("observe = %v, %v; want the first fetch's answer", out, err)
			}
			answered.Add(1)
		})
	}
	time.Sleep(50 * time.Millisecond) // let them all queue behind the first fetch
	close(f.hold)
	wg.Wait()
	if f.calls != 1 || answered.Load() != 20 {
		t.Fatalf("20 concurrent reads took %d fetches (%d answered); want 1", f.calls, answered.Load())
	}
}

func TestSnapshotsFetchAgainWhenNotCovered(t *testing.T) {
	s := NewSnapshots(time.Minute, time.Minute)
	f := &countingFetch{}
	ctx := context.Background()
	mustObserve := func(want ...target.Sysctl) int {
		t.Helper()
		out, err := s.observe(ctx, "rs1:22", want, f.fetch)
		if err != nil {
			t.Fatal(err)
		}
		return f.nth(out)
	}
	if got := mustObserve(allIgnore); got != 1 {
		t.Fatalf("first read: answer %d", got)
	}
	if got := mustObserve(allIgnore); got != 1 {
		t.Errorf("covered read fetched again (answer %d)", got)
	}
	// A sysctl the snapshot lacks: one more fetch, asking for it and for what the snapshot held.
	if got := mustObserve(eth0Announce); got != 2 {
		t.Errorf("uncovered read: answer %d, want a new fetch", got)
	}
	if want := []target.Sysctl{allIgnore, eth0Announce}; !slices.Equal(f.asked[1], want) {
		t.Errorf("second fetch asked %v, want %v", f.asked[1], want)
	}
	if got := mustObserve(allIgnore); got != 2 {
		t.Errorf("read covered by the merged snapshot: answer %d, want 2", got)
	}
	// Another host has its own snapshot.
	if out, _ := s.observe(ctx, "rs2:22", []target.Sysctl{allIgnore}, f.fetch); f.nth(out) != 3 {
		t.Errorf("other host: answer %d, want a new fetch", f.nth(out))
	}
}

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// snapshotsOnClock is NewSnapshots(idle, maxAge) on a clock the test moves.
func snapshotsOnClock(idle, maxAge time.Duration) (*Snapshots, *fakeClock) {
	clock := &fakeClock{now: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	s := NewSnapshots(idle, maxAge)
	s.now = clock.Now
	return s, clock
}

// observeAnswer reads key through s and returns which fetch of f answered (from 1).
func observeAnswer(t *testing.T, s *Snapshots, f *countingFetch, key string) int {
	t.Helper()
	out, err := s.observe(context.Background(), key, []target.Sysctl{allIgnore}, f.fetch)
	if err != nil {
		t.Fatal(err)
	}
	return f.nth(out)
}

// A refresh whose reads keep coming is answered by one fetch per host however long it lasts
// (here 4 minutes, reads 20 s apart, against an idle of 30 s), up to maxAge.
func TestSnapshotsAnswerAWholeBurstOfReads(t *testing.T) {
	s, clock := snapshotsOnClock(30*time.Second, 5*time.Minute)
	f := &countingFetch{}
	if got := observeAnswer(t, s, f, "rs1:22"); got != 1 {
		t.Fatalf("first read: answer %d", got)
	}
	for i := 1; i <= 12; i++ {
		clock.advance(20 * time.Second)
		if got := observeAnswer(t, s, f, "rs1:22"); got != 1 {
			t.Fatalf("read %d, %s into the refresh: answer %d, want the first fetch's", i, time.Duration(i)*20*time.Second, got)
		}
	}
	// Reads of another host keep the burst going too: rs1's snapshot still answers after 40 s
	// without a read of rs1.
	clock.advance(20 * time.Second)
	if got := observeAnswer(t, s, f, "rs2:22"); got != 2 {
		t.Fatalf("other host: answer %d, want its own fetch", got)
	}
	clock.advance(20 * time.Second)
	if got := observeAnswer(t, s, f, "rs1:22"); got != 1 {
		t.Errorf("read of rs1 40 s after its last, 20 s after the refresh's last: answer %d, want 1", got)
	}
	if f.calls != 2 {
		t.Errorf("a 4m40s refresh of two hosts took %d fetches; want 2", f.calls)
	}
	// Past maxAge the snapshot is taken again, even in the same burst.
	for clock.Now().Sub(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)) <= 5*time.Minute {
		clock.advance(10 * time.Second)
		observeAnswer(t, s, f, "rs2:22")
	}
	if got := observeAnswer(t, s, f, "rs1:22"); got != 3 {
		t.Errorf("read of rs1 past maxAge: answer %d, want a new fetch (3)", got)
	}
}

// A pause longer than idle with no read in flight ends the burst: the next read fetches again.
func TestSnapshotsEndWithTheBurst(t *testing.T) {
	s, clock := snapshotsOnClock(30*time.Second, 5*time.Minute)
	f := &countingFetch{}
	observeAnswer(t, s, f, "h")
	clock.advance(29 * time.Second)
	if got := observeAnswer(t, s, f, "h"); got != 1 {
		t.Fatalf("read 29 s after the last: answer %d, want 1", got)
	}
	clock.advance(31 * time.Second)
	if got := observeAnswer(t, s, f, "h"); got != 2 {
		t.Errorf("read 31 s after the last: answer %d, want a new fetch", got)
	}
	if got := observeAnswer(t, s, f, "h"); got != 2 {
		t.Errorf("the new burst's next read: answer %d, want 2", got)
	}
}

// A read in flight keeps the burst going, however long it takes (a slow host): the other hosts'
// snapshots still answer when it ends.
func TestSnapshotsBurstLastsWhileAReadIsInFlight(t *testing.T) {
	s, clock := snapshotsOnClock(30*time.Second, 5*time.Minute)
	f := &countingFetch{}
	observeAnswer(t, s, f, "fast")
	slow := &countingFetch{hold: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := s.observe(context.Background(), "slow", nil, slow.fetch); err != nil {
			t.Error(err)
		}
	}()
	for {
		s.mu.Lock()
		n := s.reading
		s.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	clock.advance(2 * time.Minute)
	if got := observeAnswer(t, s, f, "fast"); got != 1 {
		t.Errorf("read 2 min later, with a read in flight all along: answer %d, want 1", got)
	}
	close(slow.hold)
	<-done
}

func TestSnapshotsDroppedByApply(t *testing.T) {
	ctx := context.Background()
	f := &countingFetch{}
	s := NewSnapshots(time.Minute, time.Minute)
	if _, err := s.observe(ctx, "h", nil, f.fetch); err != nil {
		t.Fatal(err)
	}
	s.invalidate("h")
	if out, _ := s.observe(ctx, "h", nil, f.fetch); f.nth(out) != 2 {
		t.Errorf("read after a change: answer %d, want a new fetch", f.nth(out))
	}
}

// An answer fetched while the host changed is returned to its caller but never kept: it may
// predate the change.
func TestSnapshotsDropAnswerFetchedAcrossAChange(t *testing.T) {
	ctx := context.Background()
	s := NewSnapshots(time.Minute, time.Minute)
	f := &countingFetch{hold: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := s.observe(ctx, "h", nil, f.fetch); err != nil {
			t.Error(err)
		}
	}()
	time.Sleep(20 * time.Millisecond)
	s.invalidate("h") // an Apply starts while the read is in flight
	close(f.hold)
	<-done
	f.hold = nil
	if out, _ := s.observe(ctx, "h", nil, f.fetch); f.nth(out) != 2 {
		t.Errorf("read after the change reused the answer fetched across it")
	}
}

func TestSnapshotsKeepNoError(t *testing.T) {
	ctx := context.Background()
	s := NewSnapshots(time.Minute, time.Minute)
	f := &countingFetch{err: errHostIsDown}
	if _, err := s.observe(ctx, "h", nil, f.fetch); !errors.Is(err, errHostIsDown) {
		t.Fatalf("err = %v", err)
	}
	f.err = nil
	if out, err := s.observe(ctx, "h", nil, f.fetch); err != nil || f.nth(out) != 1 || f.calls != 2 {
		t.Errorf("after a failed fetch: %v, %v; want a new fetch", out, err)
	}
}

func TestSnapshotsWaitHonoursContext(t *testing.T) {
	s := NewSnapshots(time.Minute, time.Minute)
	f := &countingFetch{hold: make(chan struct{})}
	defer close(f.hold)
	go func() { _, _ = s.observe(context.Background(), "h", nil, f.fetch) }()
	time.Sleep(20 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := s.observe(ctx, "h", nil, f.fetch); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting read after its deadline: err = %v", err)
	}
}
