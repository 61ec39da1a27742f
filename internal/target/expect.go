package target

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// One writer per host, across processes: Terraform runs of other states, other provider aliases
// (or `rs1` and its IP address) and other machines change the same host's ARP sysctls and managed
// dummies. A plan is computed from an observation taken in one round trip and applied in another,
// so each Apply holds a lock on the host itself (LockPath, flock) and first checks, under it, that
// what the plan was computed from is still true: these expectation steps lead the steps Converge
// and Destroy send. If one fails, nothing was changed (ErrChanged), and Converge and Destroy
// observe and plan again.
const (
	// OpExpectLink: the link exists (Value 1) or does not (Value 0).
	OpExpectLink Op = iota + 100
	// OpExpectManaged: the link Peer carries exactly the alias Alias (this provider's marker).
	OpExpectManaged
	// OpExpectManagedCount: exactly Value links carry this provider's alias.
	OpExpectManagedCount
	// OpExpectSysctl: Sysctl has the value Value, -1 for a sysctl that does not exist.
	OpExpectSysctl
)

// LockPath is the file every apply on a host locks (flock, exclusive) for its whole duration,
// from the expectation checks to the last step. /run/lock is a tmpfs on current distributions:
// the lock never outlives a reboot, and the kernel drops it when its holder dies.
const LockPath = "/run/lock/terraform-provider-vip.lock"

// LockWait bounds how long an apply waits for another apply on the same host.
const LockWait = 20

// ErrChanged marks an apply refused because the host changed since it was observed (another run
// applied in between). Nothing was changed; observe and plan again.
var ErrChanged = errors.New("the host changed since it was read")

// changeRetries bounds how often Converge and Destroy observe and plan again after ErrChanged.
const changeRetries = 3

// IsExpectation reports whether s checks the host rather than changing it.
func IsExpectation(s Step) bool { return s.Op >= OpExpectLink && s.Op <= OpExpectSysctl }

// Expectations lists the facts about the host a plan for name was computed from: whether the link
// exists, every link that carries this provider's alias and that alias (whose ARP sysctls they
// need and what those were before), and the sysctls read.
func Expectations(obs Observation, name IfName, sysctls []Sysctl) []Step {
	out := []Step{{Op: OpExpectLink, Value: boolInt(obs.Link.Exists)}}
	var names []IfName
	for n, a := range obs.Managed {
		if ValidAlias(a) == nil {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		out = append(out, Step{Op: OpExpectManaged, Peer: n, Alias: obs.Managed[n]})
	}
	out = append(out, Step{Op: OpExpectManagedCount, Value: len(names)})
	for _, sc := range sysctls {
		v, ok := obs.Sysctls[sc]
		if !ok {
			v = -1
		}
		out = append(out, Step{Op: OpExpectSysctl, Sysctl: sc, Value: v})
	}
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// CheckExpectations checks the leading expectation steps of steps against obs (an observation of
// name with at least the sysctls they name, taken under the host's lock) and returns the steps
// after them. A failed check is an error wrapping ErrChanged and ErrNotApplied.
func CheckExpectations(obs Observation, steps []Step) ([]Step, error) {
	n := 0
	for n < len(steps) && IsExpectation(steps[n]) {
		n++
	}
	managed := 0
	for _, a := range obs.Managed {
		if ValidAlias(a) == nil {
			managed++
		}
	}
	for _, s := range steps[:n] {
		var what string
		switch s.Op {
		case OpExpectLink:
			if boolInt(obs.Link.Exists) != s.Value {
				what = "the interface was created or deleted"
			}
		case OpExpectManaged:
			if obs.Managed[s.Peer] != s.Alias {
				what = fmt.Sprintf("managed interface %s changed", s.Peer)
			}
		case OpExpectManagedCount:
			if managed != s.Value {
				what = fmt.Sprintf("%d interfaces are managed by this provider now, %d were", managed, s.Value)
			}
		case OpExpectSysctl:
			v, ok := obs.Sysctls[s.Sysctl]
			if !ok {
				v = -1
			}
			if v != s.Value {
				what = fmt.Sprintf("%s is %s now, was %s", s.Sysctl, sysctlText(v), sysctlText(s.Value))
			}
		}
		if what != "" {
			return nil, ChangedError(what)
		}
	}
	return steps[n:], nil
}

// ChangedError is the error of a failed expectation: what changed.
func ChangedError(what string) error {
	return fmt.Errorf("%w (%s; another Terraform run or tool applied in between): %w", ErrChanged, what, ErrNotApplied)
}

func sysctlText(v int) string {
	if v < 0 {
		return "absent"
	}
	return fmt.Sprint(v)
}

// ExpectedSysctls lists the sysctls the expectation steps name, for the observation that checks them.
func ExpectedSysctls(steps []Step) []Sysctl {
	var out []Sysctl
	for _, s := range steps {
		if s.Op == OpExpectSysctl {
			out = append(out, s.Sysctl)
		}
	}
	return out
}

// applyChecked sends the expectations of obs, then steps, in one Apply. A StepError's Index is
// made relative to steps.
func applyChecked(ctx context.Context, t Target, name IfName, obs Observation, sysctls []Sysctl, steps []Step) error {
	expect := Expectations(obs, name, sysctls)
	return checkedError(t.Apply(ctx, name, append(expect, steps...)), len(expect))
}
