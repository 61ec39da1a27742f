// Command plancheck checks a saved Terraform plan (the output of `terraform show -json PLANFILE`)
// against what the demo expects, so that "the plan shows exactly this change and nothing else" is
// a test rather than something a reader has to eyeball.
//
//	plancheck [-drift EXPECT]... PLAN.json EXPECT...
//
// Each EXPECT is `ADDRESS=ACTION[:VIP,VIP...]`, e.g.
// `vip_dummy_interface.rs["192.0.2.11"]=update:192.0.2.100,192.0.2.101`: the managed resource at
// ADDRESS must be planned with ACTION (create, update, delete, no-op, or delete+create...) and,
// when VIPs are given, with exactly those `addresses` after the change. Every managed resource not
// named must be planned as no-op. A -drift EXPECT names a resource whose refreshed `addresses`
// (the drift terraform found) must be exactly the given VIPs. A bare IP and its /32 or /128 are
// the same address. It prints, per resource, the action and the addresses added and removed.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strings"
)

type plan struct {
	ResourceChanges []resourceChange `json:"resource_changes"`
	ResourceDrift   []resourceChange `json:"resource_drift"`
}

type resourceChange struct {
	Address string `json:"address"`
	Mode    string `json:"mode"`
	Change  struct {
		Actions []string        `json:"actions"`
		Before  json.RawMessage `json:"before"`
		After   json.RawMessage `json:"after"`
	} `json:"change"`
}

type expectation struct {
	address string
	action  string
	vips    []netip.Prefix // nil: not checked
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	var drift multiFlag
	flag.Var(&drift, "drift", "ADDRESS=VIP,...: the refreshed addresses terraform must have found (repeatable)")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: plancheck [-drift ADDRESS=VIP,...]... PLAN.json ADDRESS=ACTION[:VIP,...]...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() < 1 {
		flag.Usage()
		os.Exit(2)
	}
	f, err := os.Open(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "plancheck:", err)
		os.Exit(2)
	}
	defer f.Close()
	problems, err := run(f, flag.Args()[1:], drift, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "plancheck:", err)
		os.Exit(2)
	}
	for _, p := range problems {
		fmt.Println("MISMATCH:", p)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
}

// run reads the plan, prints what it does and returns every way it differs from the expectations.
func run(r io.Reader, expects, drifts []string, w io.Writer) ([]string, error) {
	var p plan
	if err := json.NewDecoder(r).Decode(&p); err != nil {
		return nil, fmt.Errorf("reading the plan JSON: %w", err)
	}
	want := map[string]expectation{}
	for _, s := range expects {
		e, err := parseExpectation(s, true)
		if err != nil {
			return nil, err
		}
		want[e.address] = e
	}
	var problems []string
	seen := map[string]bool{}
	for _, rc := range p.ResourceChanges {
		if rc.Mode != "managed" {
			continue
		}
		seen[rc.Address] = true
		action := strings.Join(rc.Change.Actions, "+")
		before, errB := addresses(rc.Change.Before)
		after, errA := addresses(rc.Change.After)
		if err := errors.Join(errB, errA); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", rc.Address, err))
			continue
		}
		fmt.Fprintf(w, "  %-40s %-8s %s\n", rc.Address, action, describe(before, after))
		e, ok := want[rc.Address]
		if !ok {
			if action != "no-op" {
				problems = append(problems, fmt.Sprintf("%s: planned %s, expected no change", rc.Address, action))
			}
			continue
		}
		if action != e.action {
			problems = append(problems, fmt.Sprintf("%s: planned %s, expected %s", rc.Address, action, e.action))
		}
		if e.vips != nil && !slices.Equal(after, e.vips) {
			problems = append(problems, fmt.Sprintf("%s: planned addresses %s, expected %s", rc.Address, list(after), list(e.vips)))
		}
	}
	for _, a := range sortedKeys(want) {
		if !seen[a] {
			problems = append(problems, fmt.Sprintf("%s: not in the plan, expected %s", a, want[a].action))
		}
	}
	for _, s := range drifts {
		e, err := parseExpectation(s, false)
		if err != nil {
			return nil, err
		}
		found := false
		for _, rc := range p.ResourceDrift {
			if rc.Address != e.address {
				continue
			}
			found = true
			before, errB := addresses(rc.Change.Before)
			after, errA := addresses(rc.Change.After)
			if err := errors.Join(errB, errA); err != nil {
				problems = append(problems, fmt.Sprintf("drift of %s: %v", rc.Address, err))
				continue
			}
			fmt.Fprintf(w, "  drift: %-33s %s\n", rc.Address, describe(before, after))
			if !slices.Equal(after, e.vips) {
				problems = append(problems, fmt.Sprintf("drift of %s: found addresses %s, expected %s", rc.Address, list(after), list(e.vips)))
			}
		}
		if !found {
			problems = append(problems, fmt.Sprintf("%s: no drift reported, expected addresses %s found on the host", e.address, list(e.vips)))
		}
	}
	return problems, nil
}

// parseExpectation reads ADDRESS=ACTION[:VIPS] (withAction) or ADDRESS=VIPS.
func parseExpectation(s string, withAction bool) (expectation, error) {
	i := strings.LastIndex(s, "=")
	if i <= 0 {
		return expectation{}, fmt.Errorf("expectation %q has no '=' after an address", s)
	}
	e := expectation{address: s[:i]}
	rest := s[i+1:]
	if withAction {
		e.action, rest, _ = strings.Cut(rest, ":")
		if e.action == "" {
			return expectation{}, fmt.Errorf("expectation %q: no action after '='", s)
		}
		if rest == "" && !strings.HasSuffix(s, ":") {
			return e, nil
		}
	}
	e.vips = []netip.Prefix{}
	for _, v := range strings.Split(rest, ",") {
		if v == "" {
			continue
		}
		p, err := parseAddress(v)
		if err != nil {
			return expectation{}, fmt.Errorf("expectation %q: %w", s, err)
		}
		e.vips = append(e.vips, p)
	}
	sortPrefixes(e.vips)
	return e, nil
}

// addresses returns the `addresses` attribute of a resource's before or after object, sorted;
// an absent object (create's before, delete's after) has none.
func addresses(raw json.RawMessage) ([]netip.Prefix, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return []netip.Prefix{}, nil
	}
	var obj struct {
		Addresses []string `json:"addresses"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("reading addresses: %w", err)
	}
	out := make([]netip.Prefix, 0, len(obj.Addresses))
	for _, a := range obj.Addresses {
		p, err := parseAddress(a)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	sortPrefixes(out)
	return out, nil
}

// parseAddress reads "IP" or "IP/LEN"; a bare IP is a host prefix.
func parseAddress(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func sortPrefixes(ps []netip.Prefix) {
	sort.Slice(ps, func(i, j int) bool {
		if c := ps[i].Addr().Compare(ps[j].Addr()); c != 0 {
			return c < 0
		}
		return ps[i].Bits() < ps[j].Bits()
	})
}

// describe says what a change does to the addresses: "+a -b", or "= a b" when nothing changes.
func describe(before, after []netip.Prefix) string {
	var parts []string
	for _, p := range after {
		if !slices.Contains(before, p) {
			parts = append(parts, "+"+p.String())
		}
	}
	for _, p := range before {
		if !slices.Contains(after, p) {
			parts = append(parts, "-"+p.String())
		}
	}
	if len(parts) == 0 {
		return "= " + list(after)
	}
	return strings.Join(parts, " ")
}

func list(ps []netip.Prefix) string {
	if len(ps) == 0 {
		return "(none)"
	}
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, " ")
}

func sortedKeys(m map[string]expectation) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
