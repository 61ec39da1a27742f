package main

import (
	"strings"
	"testing"
)

// A trimmed `terraform show -json` of a plan in which terraform found 192.0.2.100 added by hand on
// rs3 and plans to remove it again; rs1 is unchanged.
const driftPlan = `{
  "format_version": "1.2",
  "resource_drift": [
    {"address": "vip_dummy_interface.rs[\"192.0.2.13\"]", "mode": "managed",
     "change": {"actions": ["update"],
       "before": {"addresses": ["192.0.2.101/32", "192.0.2.102/32"]},
       "after": {"addresses": ["192.0.2.100/32", "192.0.2.101/32", "192.0.2.102/32"]}}}
  ],
  "resource_changes": [
    {"address": "data.vip_keepalived_config.director", "mode": "data",
     "change": {"actions": ["read"], "before": null, "after": {}}},
    {"address": "vip_dummy_interface.rs[\"192.0.2.11\"]", "mode": "managed",
     "change": {"actions": ["no-op"],
       "before": {"addresses": ["192.0.2.100/32", "192.0.2.102/32"]},
       "after": {"addresses": ["192.0.2.100/32", "192.0.2.102/32"]}}},
    {"address": "vip_dummy_interface.rs[\"192.0.2.13\"]", "mode": "managed",
     "change": {"actions": ["update"],
       "before": {"addresses": ["192.0.2.100/32", "192.0.2.101/32", "192.0.2.102/32"]},
       "after": {"addresses": ["192.0.2.102", "192.0.2.101"]}}}
  ]
}`

func TestRun(t *testing.T) {
	rs3 := `vip_dummy_interface.rs["192.0.2.13"]`
	rs1 := `vip_dummy_interface.rs["192.0.2.11"]`
	for _, tc := range []struct {
		name    string
		expects []string
		drifts  []string
		want    []string // substrings of the problems, in order; none means the plan matches
	}{
		{name: "matches", expects: []string{rs3 + "=update:192.0.2.101/32,192.0.2.102"}, drifts: []string{rs3 + "=192.0.2.100,192.0.2.101,192.0.2.102"}},
		{name: "action only", expects: []string{rs3 + "=update"}},
		{name: "wrong addresses", expects: []string{rs3 + "=update:192.0.2.101"}, want: []string{"planned addresses 192.0.2.101/32 192.0.2.102/32, expected 192.0.2.101/32"}},
		{name: "unexpected change", want: []string{rs3 + ": planned update, expected no change"}},
		{name: "missing change", expects: []string{rs3 + "=update", `vip_dummy_interface.rs["192.0.2.12"]=create`}, want: []string{`rs["192.0.2.12"]: not in the plan`}},
		{name: "wrong action", expects: []string{rs3 + "=update", rs1 + "=update"}, want: []string{rs1 + ": planned no-op, expected update"}},
		{name: "no drift", expects: []string{rs3 + "=update"}, drifts: []string{rs1 + "=192.0.2.100"}, want: []string{rs1 + ": no drift reported"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			problems, err := run(strings.NewReader(driftPlan), tc.expects, tc.drifts, &out)
			if err != nil {
				t.Fatal(err)
			}
			if len(problems) != len(tc.want) {
				t.Fatalf("problems = %q, want %d matching %q", problems, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(problems[i], w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, problems[i], w)
				}
			}
			if !strings.Contains(out.String(), "-192.0.2.100/32") {
				t.Errorf("output does not show the removed address:\n%s", out.String())
			}
		})
	}
}

func TestParseExpectationErrors(t *testing.T) {
	for _, s := range []string{"no-equals", "x=", "x=update:10.0.0.300"} {
		if _, err := parseExpectation(s, true); err == nil {
			t.Errorf("parseExpectation(%q) accepted it", s)
		}
	}
}
