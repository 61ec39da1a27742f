package sshhost_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/vip-manager/terraform-provider-vip/internal/target"
)

// BenchmarkRemoteApplyChecked measures what one writer per host costs an apply over a real sshd:
// the same one-step apply without expectations (the baseline, measured in the same run) and with
// the expectations Converge sends (link, managed links, ARP sysctls), checked under the host lock.
func BenchmarkRemoteApplyChecked(b *testing.B) {
	r := newRemoteTB(b)
	ctx := context.Background()
	ifn := target.IfName(r.ns.NsIf)
	sysctls := target.ARPSysctls([]target.IfName{"all", ifn})
	alias := target.AliasPrefix + "all=0/0"
	step := []target.Step{{Op: target.OpSetAlias, Alias: alias}}
	if err := r.host.Apply(ctx, ifn, step); err != nil {
		b.Fatal(err)
	}
	obs, err := r.host.Observe(ctx, ifn, sysctls)
	if err != nil {
		b.Fatal(err)
	}
	checked := append(target.Expectations(obs, ifn, sysctls), step...)
	// Alternate the two, so that the machine's load (shared, noisy) weighs on both alike, and
	// report medians.
	var base, check []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, run := range []struct {
			steps []target.Step
			into  *[]time.Duration
		}{{step, &base}, {checked, &check}} {
			start := time.Now()
			if err := r.host.Apply(ctx, ifn, run.steps); err != nil {
				b.Fatal(err)
			}
			*run.into = append(*run.into, time.Since(start))
		}
	}
	median := func(d []time.Duration) time.Duration {
		slices.Sort(d)
		return d[len(d)/2]
	}
	mb, mc := median(base), median(check)
	b.ReportMetric(float64(mb.Microseconds())/1000, "baseline-ms/apply")
	b.ReportMetric(float64(mc.Microseconds())/1000, "checked-ms/apply")
	b.ReportMetric(float64(mc)/float64(mb), "ratio")
}
