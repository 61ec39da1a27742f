package target

import (
	"context"
	"errors"
	"strings"
)

// Decide computes, from an observation, the steps to apply: none when there is nothing to do, or
// an error to stop with nothing applied.
type Decide func(Observation) ([]Step, error)

// ObservingApplier is a Target that observes and applies what is decided from that observation in
// one round trip. Over SSH each round trip is a helper session, which costs more than the read
// itself on a small host; a converge that reads and changes in one session pays it once. Converge
// uses it when a target has it; a target without it is observed and applied in two round trips
// (ObserveThenApply), with the same outcome.
type ObservingApplier interface {
	Target
	// ObserveAndApply observes ifname and sysctls as Observe does, calls decide with the
	// observation, and applies the steps it returns as Apply does (one round trip for all).
	// When the host could not be read, decide is not called and the error is the read's. When
	// decide fails or returns no steps, nothing is applied and the error is decide's. Otherwise
	// the error is the apply's, with Apply's meaning: ErrNotApplied when nothing was changed, a
	// *StepError naming the step that failed, anything else an unknown outcome.
	ObserveAndApply(ctx context.Context, ifname IfName, sysctls []Sysctl, decide Decide) (Applied, error)
}

// Applied is what ObserveAndApply learned besides the error.
type Applied struct {
	// Decided: the host was read and decide was called with Observation.
	Decided     bool
	Observation Observation
	// Index is the link's ifindex after the steps when the target reported it with the apply's
	// answer (a link the steps created has no index in Observation); 0 when unknown.
	Index int
}

// ObserveThenApply is ObserveAndApply for any Target: Observe, decide, then Apply in a second
// round trip.
func ObserveThenApply(ctx context.Context, t Target, ifname IfName, sysctls []Sysctl, decide Decide) (Applied, error) {
	obs, err := t.Observe(ctx, ifname, sysctls)
	if err != nil {
		return Applied{}, err
	}
	applied := Applied{Decided: true, Observation: obs}
	steps, err := decide(obs)
	if err != nil || len(steps) == 0 {
		return applied, err
	}
	return applied, t.Apply(ctx, ifname, steps)
}

// observeAndApply is ObserveAndApply when t has it, else ObserveThenApply.
func observeAndApply(ctx context.Context, t Target, ifname IfName, sysctls []Sysctl, decide Decide) (Applied, error) {
	if oa, ok := t.(ObservingApplier); ok {
		return oa.ObserveAndApply(ctx, ifname, sysctls, decide)
	}
	return ObserveThenApply(ctx, t, ifname, sysctls, decide)
}

// checkedError maps the error of an apply whose first expected steps were expectations (see
// Expectations): a failed check reported as a step still changed nothing, and a StepError's Index
// is made relative to the steps after the expectations.
func checkedError(err error, expected int) error {
	var se *StepError
	if errors.As(err, &se) {
		if se.Index < expected {
			// A target that reports a failed check as a step: still nothing was changed.
			return ChangedError(strings.TrimSpace(se.Error()))
		}
		se.Index -= expected
	}
	return err
}
