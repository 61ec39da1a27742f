package sshhost

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vip-manager/terraform-provider-vip/internal/target"
)

// A converge request through every local shell and the real ip, on lo (which nothing may change):
// the observe answer reaches decide; an apply of expectations only runs under the lock and reports
// the link's index; a stale expectation is ErrChanged with nothing done; a decide that returns no
// steps or an error ends the session with nothing applied, and its error is returned unchanged.
func TestHelperConvergeLocal(t *testing.T) {
	ctx := context.Background()
	sc := []target.Sysctl{{Interface: "all", Key: "arp_ignore"}}
	for _, sh := range shells(t, false) {
		h, _ := New(localRunner{shell: sh}, "rs1")
		var seen target.Observation
		applied, err := h.ObserveAndApply(ctx, "lo", sc, func(obs target.Observation) ([]target.Step, error) {
			seen = obs
			return []target.Step{{Op: target.OpExpectLink, Value: 1}, {Op: target.OpExpectSysctl, Sysctl: sc[0], Value: obs.Sysctls[sc[0]]}}, nil
		})
		if err != nil || !applied.Decided || applied.Index != 1 {
			t.Fatalf("%s: %+v %v", sh, applied, err)
		}
		if !seen.Link.Exists || seen.Link.Index != 1 || len(seen.Sysctls) != 1 || !applied.Observation.Link.Exists {
			t.Fatalf("%s: decide saw %+v", sh, seen)
		}

		_, err = h.ObserveAndApply(ctx, "lo", nil, func(target.Observation) ([]target.Step, error) {
			return []target.Step{{Op: target.OpExpectLink, Value: 0}, {Op: target.OpSetUp}}, nil
		})
		if !errors.Is(err, target.ErrChanged) || !errors.Is(err, target.ErrNotApplied) {
			t.Fatalf("%s: stale expectation: %v", sh, err)
		}

		applied, err = h.ObserveAndApply(ctx, "nosuch0", nil, func(target.Observation) ([]target.Step, error) { return nil, nil })
		if err != nil || !applied.Decided || applied.Observation.Link.Exists || applied.Index != 0 {
			t.Fatalf("%s: nothing to do: %+v %v", sh, applied, err)
		}
		refused := errors.New("refused by decide")
		applied, err = h.ObserveAndApply(ctx, "lo", nil, func(target.Observation) ([]target.Step, error) { return nil, refused })
		if err != refused || !applied.Decided { //nolint:errorlint // decide's error comes back unchanged
			t.Fatalf("%s: decide error: %+v %v", sh, applied, err)
		}
	}
}

// With a recording ip: a converge runs the observe's ip, then the apply's ip calls exactly as an
// Apply of the same steps would; a decide that returns nothing or fails runs only the observe.
func TestHelperConvergeRuns(t *testing.T) {
	ctx := context.Background()
	steps := []target.Step{
		{Op: target.OpCreateDummy},
		{Op: target.OpSetUp},
		{Op: target.OpAddAddress, Prefix: netip.MustParsePrefix("192.0.2.1/32")},
	}
	for _, sh := range shells(t, false) {
		dir := t.TempDir()
		record := filepath.Join(dir, "calls")
		fake := "#!/bin/sh\necho \"ip $*\" >> " + record + "\ncase $1 in -batch) cat >> " + record + " ;; -d) echo '[]' ;; esac\nexit 0\n"
		if err := os.WriteFile(filepath.Join(dir, "ip"), []byte(fake), 0o755); err != nil {
			t.Fatal(err)
		}
		h, _ := New(localRunner{shell: sh, path: dir + ":" + os.Getenv("PATH")}, "rs1")
		calls := func() string {
			b, _ := os.ReadFile(record)
			_ = os.Remove(record)
			return string(b)
		}
		applied, err := h.ObserveAndApply(ctx, "vip0", nil, func(obs target.Observation) ([]target.Step, error) {
			if obs.Link.Exists {
				t.Errorf("%s: vip0 observed: %+v", sh, obs.Link)
			}
			return append([]target.Step{{Op: target.OpExpectLink, Value: 0}}, steps...), nil
		})
		if err != nil || !applied.Decided {
			t.Fatalf("%s: %+v %v", sh, applied, err)
		}
		want := "ip -d -j addr show\n" +
			"ip -o link show\n" +
			"ip link add name vip0 type dummy\n" +
			"ip link set dev vip0 addrgenmode none\n" +
			"ip -batch -\n" +
			"link set dev vip0 up\n" +
			"address add 192.0.2.1/32 dev vip0\n"
		if got := calls(); got != want {
			t.Errorf("%s: ip calls:\n%s\nwant:\n%s", sh, got, want)
		}
		for _, decided := range []error{nil, errors.New("no")} {
			if _, err := h.ObserveAndApply(ctx, "vip0", nil, func(target.Observation) ([]target.Step, error) { return nil, decided }); err != decided { //nolint:errorlint // unchanged
				t.Errorf("%s: decide %v: %v", sh, decided, err)
			}
			if got := calls(); got != "ip -d -j addr show\n" {
				t.Errorf("%s: decide %v: ip calls %q, want the observe's only", sh, decided, got)
			}
		}
		// A step that fails is a StepError at its index among the steps decide returned.
		failing := "#!/bin/sh\ncase $1 in -d) echo '[]' ;; -o) ;; *) echo 'RTNETLINK answers: Operation not permitted' >&2; exit 2 ;; esac\n"
		if err := os.WriteFile(filepath.Join(dir, "ip"), []byte(failing), 0o755); err != nil {
			t.Fatal(err)
		}
		_, err = h.ObserveAndApply(ctx, "vip0", nil, func(target.Observation) ([]target.Step, error) {
			return append([]target.Step{{Op: target.OpExpectLink, Value: 0}}, steps...), nil
		})
		var se *target.StepError
		if !errors.As(err, &se) || se.Index != 1 || se.Step.Op != target.OpCreateDummy || !strings.Contains(err.Error(), "needs root") {
			t.Errorf("%s: failing step: %v", sh, err)
		}
	}
}

// TestHelperConvergeRefusesHostileInput: a converge whose first or second request is malformed
// or hostile is refused (exit 3, an error line) with nothing run but the observe's own ip call.
// (A first request without its end line is not among them: the helper waits for the rest of it,
// as the provider's session does for the answer, until the session's timeout.)
func TestHelperConvergeRefusesHostileInput(t *testing.T) {
	canary := filepath.Join(t.TempDir(), "pwned")
	first := "vip-helper 1\nconverge vip0\nsysctl all arp_ignore\nend\n"
	var seconds []string
	for _, v := range []string{"$(touch " + canary + ")", "`touch " + canary + "`", ";touch " + canary, "x;touch\t" + canary} {
		seconds = append(seconds,
			"apply "+v+"\nup\nend\n",
			"apply vip0\nadd "+v+"\nend\n",
			"apply vip0\nalias "+v+"\nend\n",
			"apply vip0\nexpect sysctl all arp_ignore 1"+v+"\nend\n",
			"apply vip0\nwrite /etc/vip-dummy-interfaces/vip0.conf 1\n|"+v+"\x01\nend\n",
		)
	}
	seconds = append(seconds,
		"apply vip1\nup\nend\n",               // another interface than the one observed
		"apply vip0 vip1\nup\nend\n",          // two names
		"apply vip0\nup\n",                    // no end: nothing may run
		"apply vip0\nup\nup now\nend\n",       // extra field
		"apply vip0\nreboot\nend\n",           // unknown op
		"apply vip0\n\nend\n",                 // empty line
		"vip-helper 1\napply vip0\nup\nend\n", // a whole new request
		"observe vip0\nend\n",                 // not an apply
		"converge vip0\nend\n",                // not an apply
		"apply vip0\nsysctl ../../../../tmp arp_ignore 1\nend\n",
		"apply vip0\nwrite /etc/passwd 1\n|x\nend\n",
		"\n", // an empty line is no end of input
	)
	for _, sh := range shells(t, true) {
		path, record := spy(t)
		r := localRunner{shell: sh, path: path}
		check := func(what string, res []byte, exit int, err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			if exit != 3 || !bytes.Contains(res, []byte("\nerror ")) {
				t.Errorf("%s: %s: exit %d, stdout %q; want refusal", sh, what, exit, res)
			}
			if _, err := os.Stat(canary); err == nil {
				t.Fatalf("%s: %s executed an injected command", sh, what)
			}
			calls, _ := os.ReadFile(record)
			_ = os.Remove(record)
			if s := string(calls); s != "" && s != "ip -d -j addr show\n" {
				t.Fatalf("%s: %s ran ip beyond the observe: %s", sh, what, calls)
			}
		}
		for _, second := range seconds {
			res, err := r.Exchange(context.Background(), "", Script, []byte(first), "done", func([]byte) []byte { return []byte(second) })
			check("second request "+quoted(second), res.Stdout, res.ExitStatus, err)
		}
		for _, bad := range []string{
			"vip-helper 1\nconverge vip0 vip1\nend\n", // one name only
			"vip-helper 1\nconverge\nend\n",
			"vip-helper 1\nconverge $(touch " + canary + ")\nend\n",
			"vip-helper 1\nconverge vip0\nadd 192.0.2.1/32\nend\n", // an apply op in its read
			"vip-helper 1\nconverge vip0\nsysctl ../x arp_ignore\nend\n",
		} {
			res, err := r.Exchange(context.Background(), "", Script, []byte(bad), "done", func([]byte) []byte {
				t.Errorf("%s: request %q answered as an observe", sh, bad)
				return nil
			})
			check("request "+quoted(bad), res.Stdout, res.ExitStatus, err)
		}
	}
}

func quoted(s string) string { return strconv.Quote(s) }
