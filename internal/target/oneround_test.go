package target

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// oneTripHost is fakeHost as an ObservingApplier: each ObserveAndApply is one round trip, which
// reports the link's index after the steps, as the SSH helper's converge request does.
type oneTripHost struct {
	*fakeHost
	trips  int
	direct int // Observe and Apply round trips outside ObserveAndApply
}

func (h *oneTripHost) Observe(ctx context.Context, name IfName, sysctls []Sysctl) (Observation, error) {
	h.direct++
	return h.fakeHost.Observe(ctx, name, sysctls)
}

func (h *oneTripHost) Apply(ctx context.Context, name IfName, steps []Step) error {
	h.direct++
	return h.fakeHost.Apply(ctx, name, steps)
}

func (h *oneTripHost) ObserveAndApply(ctx context.Context, name IfName, sysctls []Sysctl, decide Decide) (Applied, error) {
	h.trips++
	obs, err := h.fakeHost.Observe(ctx, name, sysctls)
	if err != nil {
		return Applied{}, err
	}
	applied := Applied{Decided: true, Observation: obs}
	steps, err := decide(obs)
	if err != nil || len(steps) == 0 {
		return applied, err
	}
	err = h.fakeHost.Apply(ctx, name, steps)
	if l := h.links[name]; l != nil && err == nil {
		applied.Index = l.index
	}
	return applied, err
}

// A converge through an ObservingApplier has exactly the outcome of one through Observe and
// Apply — the same steps, Result and error, in every case convergeOnce distinguishes — in one
// round trip: no Observe and no second Apply, except to fail closed.
func TestConvergeOneRoundTripSameOutcome(t *testing.T) {
	ctx := context.Background()
	type outcome struct {
		res     Result
		err     string
		applies [][]Step
	}
	type scenario struct {
		name  string
		setup func(h *fakeHost) // before the converge under test
		spec  func(t *testing.T, prev Result) Spec
		// trips and extra (Observe and Apply round trips besides the trip) expected one-trip
		trips, extra int
	}
	created := func(t *testing.T, prev Result) Spec {
		s := spec(t, "vip0", "192.0.2.1", "192.0.2.2")
		s.Previous, s.Originals = prev.Addresses, prev.Originals
		return s
	}
	scenarios := []scenario{
		{name: "create", spec: func(t *testing.T, _ Result) Spec {
			s := spec(t, "vip1", "192.0.2.7", "2001:db8::7")
			s.Create = true
			return s
		}, trips: 1},
		{name: "no-op", spec: created, trips: 1},
		{name: "update", spec: func(t *testing.T, prev Result) Spec {
			s := created(t, prev)
			s.Addresses = prefixes(t, "192.0.2.2", "192.0.2.3")
			return s
		}, trips: 1},
		{name: "drift", setup: func(h *fakeHost) {
			h.links["vip0"].addrs = append(h.links["vip0"].addrs, prefixes(t, "198.51.100.9")...)
		}, spec: created, trips: 1},
		{name: "create refuses an existing link", spec: func(t *testing.T, prev Result) Spec {
			s := created(t, prev)
			s.Create = true
			return s
		}, trips: 1},
		{name: "not a dummy", spec: func(t *testing.T, _ Result) Spec { return spec(t, "eth0", "192.0.2.1") }, trips: 1},
		{name: "fail closed", spec: func(t *testing.T, prev Result) Spec {
			s := created(t, prev)
			s.ARPInterfaces = []IfName{"all", "nosuch0"}
			return s
		}, trips: 1, extra: 1},
		{name: "refused before it ran", setup: func(h *fakeHost) {
			h.refuse = fmt.Errorf("sudo refused: %w", ErrNotApplied)
		}, spec: func(t *testing.T, prev Result) Spec {
			s := created(t, prev)
			s.Addresses = prefixes(t, "192.0.2.9")
			return s
		}, trips: 1},
		{name: "transport failure", setup: func(h *fakeHost) { h.failAfterN = 1 }, spec: func(t *testing.T, prev Result) Spec {
			s := created(t, prev)
			s.Addresses = prefixes(t, "192.0.2.4", "192.0.2.5")
			return s
		}, trips: 1},
		{name: "changed once, then applied", setup: func(h *fakeHost) {
			h.beforeApply = func() {
				h.beforeApply = nil
				h.sysctls[Sysctl{"eth0", KeyARPIgnore}] = 5 // another writer, between read and apply
			}
		}, spec: func(t *testing.T, prev Result) Spec {
			s := created(t, prev)
			s.ARPInterfaces = []IfName{"all", "eth0"}
			return s
		}, trips: 2},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			run := func(h *fakeHost, target Target) outcome {
				prev, err := Converge(ctx, target, spec(t, "vip0", "192.0.2.1", "192.0.2.2"))
				if err != nil {
					t.Fatal(err)
				}
				if sc.setup != nil {
					sc.setup(h)
				}
				h.applies = nil
				res, err := Converge(ctx, target, sc.spec(t, prev))
				o := outcome{res: res, applies: h.applies}
				if err != nil {
					o.err = err.Error()
				}
				return o
			}
			plain := newFakeHost()
			want := run(plain, plain)
			one := &oneTripHost{fakeHost: newFakeHost()}
			got := run(one.fakeHost, one)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("one round trip:\n%+v\nObserve, then Apply:\n%+v", got, want)
			}
			// The first converge (a create) took one trip and nothing else.
			if trips := one.trips - 1; trips != sc.trips || one.direct != sc.extra {
				t.Errorf("%d trips and %d other round trips, want %d and %d", trips, one.direct, sc.trips, sc.extra)
			}
		})
	}
}

// A decide error stops the trip with nothing applied, and a target that cannot read the host
// never calls decide: converge reports the read's error.
func TestConvergeOneRoundTripErrors(t *testing.T) {
	ctx := context.Background()
	h := &oneTripHost{fakeHost: newFakeHost()}
	s := spec(t, "eth0", "192.0.2.1")
	if _, err := Converge(ctx, h, s); !errors.As(err, new(*NotDummyError)) || len(h.applies) != 0 {
		t.Fatalf("err %v, applies %v", err, h.applies)
	}
	unreadable := errors.New("connection refused")
	_, err := Converge(ctx, failingReader{unreadable}, spec(t, "vip0", "192.0.2.1"))
	if !errors.Is(err, unreadable) || !strings.Contains(err.Error(), "reading interface vip0") {
		t.Fatalf("err %v", err)
	}
}

// failingReader is an ObservingApplier that cannot read the host.
type failingReader struct{ err error }

func (f failingReader) Observe(context.Context, IfName, []Sysctl) (Observation, error) {
	return Observation{}, f.err
}
func (f failingReader) Apply(context.Context, IfName, []Step) error { return f.err }
func (f failingReader) ObserveAndApply(context.Context, IfName, []Sysctl, Decide) (Applied, error) {
	return Applied{}, f.err
}
