package sshhost_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vip-manager/terraform-provider-vip/internal/lab"
	"github.com/vip-manager/terraform-provider-vip/internal/target"
)

// observeThenApply hides a target's ObserveAndApply: Converge then reads and applies in two
// sessions (and reads a created link's index in a third), as before converges had their own.
type observeThenApply struct{ t target.Target }

func (o observeThenApply) Observe(ctx context.Context, n target.IfName, sc []target.Sysctl) (target.Observation, error) {
	return o.t.Observe(ctx, n, sc)
}

func (o observeThenApply) Apply(ctx context.Context, n target.IfName, steps []target.Step) error {
	return o.t.Apply(ctx, n, steps)
}

// BenchmarkLabSSHConverge times a converge of one dummy over a real sshd in the lab (create, no-op,
// update of one address) in one session (ObserveAndApply) and, as the baseline measured in the
// same run, through Observe then Apply; the two alternate so that the machine's load weighs on
// both alike. Medians, and SSH sessions per converge counted at sshd.
//
//	go test ./internal/target/sshhost -run KernelLabSSHHost -bench LabSSHConverge -benchtime 5x -v
func BenchmarkLabSSHConverge(b *testing.B) {
	lab.Require(b, "TestKernelLabSSHHost")
	r := newRemoteTB(b)
	ctx := context.Background()
	if _, err := r.host.Observe(ctx, "vip5", nil); err != nil { // dial first: only sessions are counted
		b.Fatal(err)
	}
	paths := []struct {
		name string
		t    target.Target
	}{{"one-session", r.host}, {"observe-then-apply", observeThenApply{r.host}}}
	kinds := []string{"create", "no-op", "update"}
	took := map[string][]time.Duration{}
	sessions := map[string]int{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, p := range paths {
			spec := target.Spec{Name: "vip5", Addresses: prefixes("192.0.2.51/32", "192.0.2.52/32"), Exclusive: true,
				ARPIgnore: 1, ARPAnnounce: 2, ARPInterfaces: []target.IfName{"all"}, Create: true}
			var res target.Result
			for _, kind := range kinds {
				switch kind {
				case "no-op":
					spec.Create, spec.Previous, spec.Originals = false, spec.Addresses, res.Originals
				case "update":
					spec.Previous, spec.Originals = spec.Addresses, res.Originals
					spec.Addresses = prefixes("192.0.2.51/32", "192.0.2.53/32")
				}
				before, start := r.sessions(), time.Now()
				var err error
				if res, err = target.Converge(ctx, p.t, spec); err != nil {
					b.Fatalf("%s %s: %v", p.name, kind, err)
				}
				key := p.name + " " + kind
				took[key] = append(took[key], time.Since(start))
				sessions[key] += r.sessions() - before
			}
			b.StopTimer()
			if err := target.Destroy(ctx, r.host, "vip5", res.Originals); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	}
	b.StopTimer()
	for _, kind := range kinds {
		var line string
		for _, p := range paths {
			key := p.name + " " + kind
			d := slices.Clone(took[key])
			slices.Sort(d)
			median := float64(d[len(d)/2].Microseconds()) / 1000
			b.ReportMetric(median, strings.ReplaceAll(key, " ", "-")+"-ms")
			b.ReportMetric(float64(sessions[key])/float64(b.N), strings.ReplaceAll(key, " ", "-")+"-sessions")
			line += fmt.Sprintf("  %s %.0f ms, %.1f sessions", p.name, median, float64(sessions[key])/float64(b.N))
		}
		b.Logf("%s:%s", kind, line)
	}
}
