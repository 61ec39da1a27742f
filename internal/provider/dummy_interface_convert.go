package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vip-manager/terraform-provider-vip/internal/target"
)

// privateOriginals is the private-state key of the ARP sysctl values found before this provider
// changed them: {"net.ipv4.conf.all.arp_ignore": 0, ...}.
const privateOriginals = "arp_originals"

func dummyID(host types.String, name string) string {
	if h := host.ValueString(); h != "" {
		return h + "/" + name
	}
	return "local/" + name
}

// spec builds the convergence spec from a planned model. Values were validated at plan time;
// errors here mean unknown or corrupt values.
func specFrom(ctx context.Context, m dummyInterfaceModel) (target.Spec, diag.Diagnostics) {
	var diags diag.Diagnostics
	spec := target.Spec{
		Name:        target.IfName(m.Name.ValueString()),
		Exclusive:   m.Exclusive.ValueBool(),
		Persist:     m.Persist.ValueBool(),
		ARPIgnore:   int(m.ARPIgnore.ValueInt64()),
		ARPAnnounce: int(m.ARPAnnounce.ValueInt64()),
	}
	var err error
	if spec.Addresses, err = parseAddressSet(ctx, m.Addresses.SetValue); err != nil {
		diags.AddAttributeError(path.Root("addresses"), "Invalid address", err.Error())
	}
	ifs, err := arpInterfaces(ctx, m.ARPInterfaces)
	if err != nil {
		diags.AddAttributeError(path.Root("arp_interfaces"), "Invalid interface name", err.Error())
	}
	spec.ARPInterfaces = ifs
	return spec, diags
}

func stringsOf(ctx context.Context, s types.Set) ([]string, error) {
	if s.IsNull() || s.IsUnknown() {
		return nil, nil
	}
	var out []string
	if d := s.ElementsAs(ctx, &out, false); d.HasError() {
		return nil, fmt.Errorf("reading set: %v", d)
	}
	return out, nil
}

func parseAddressSet(ctx context.Context, s types.Set) ([]netip.Prefix, error) {
	ss, err := stringsOf(ctx, s)
	if err != nil {
		return nil, err
	}
	out := make([]netip.Prefix, 0, len(ss))
	seen := map[netip.Prefix]bool{}
	for _, v := range ss {
		p, err := target.ParseAddress(v)
		if err != nil {
			return nil, err
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out, nil
}

// arpInterfaces returns the set sorted, so that the alias recording them does not change with
// the order Terraform hands a set over in.
func arpInterfaces(ctx context.Context, s types.Set) ([]target.IfName, error) {
	ss, err := stringsOf(ctx, s)
	if err != nil {
		return nil, err
	}
	sort.Strings(ss)
	out := make([]target.IfName, 0, len(ss))
	for _, v := range ss {
		n, err := target.ParseIfName(v)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// addressValues writes prefixes into a set, each spelled as in the first of spellings that has
// it (so that what the user wrote stays as written), else canonically.
func addressValues(ctx context.Context, ps []netip.Prefix, spellings ...types.Set) types.Set {
	spelled := map[netip.Prefix]string{}
	for _, s := range spellings {
		ss, _ := stringsOf(ctx, s)
		for _, v := range ss {
			if p, err := target.ParseAddress(v); err == nil {
				if _, ok := spelled[p]; !ok {
					spelled[p] = v
				}
			}
		}
	}
	vals := make([]attr.Value, 0, len(ps))
	for _, p := range ps {
		v, ok := spelled[p]
		if !ok {
			v = target.CanonicalString(p)
		}
		vals = append(vals, types.StringValue(v))
	}
	return types.SetValueMust(types.StringType, vals)
}

func getOriginals(ctx context.Context, get func(context.Context, string) ([]byte, diag.Diagnostics)) (target.Originals, diag.Diagnostics) {
	b, diags := get(ctx, privateOriginals)
	orig := target.Originals{}
	if diags.HasError() || len(b) == 0 {
		return orig, diags
	}
	var m map[string]int
	if err := json.Unmarshal(b, &m); err != nil {
		diags.AddWarning("Unreadable private state", "The ARP sysctl values recorded before this resource changed them cannot be read ("+err.Error()+"); the interface's alias is used instead.")
		return orig, diags
	}
	for k, v := range m {
		// net.ipv4.conf.<if>.<key>; an interface name may contain dots, the key cannot.
		rest, ok := strings.CutPrefix(k, "net.ipv4.conf.")
		i := strings.LastIndexByte(rest, '.')
		if !ok || i < 0 {
			continue
		}
		sc := target.Sysctl{Interface: rest[:i], Key: rest[i+1:]}
		if sc.Validate() == nil && validOriginal(sc.Key, v) {
			orig[sc] = v
		}
	}
	return orig, diags
}

// validOriginal range-checks a value about to be written back to a sysctl on destroy.
func validOriginal(key string, v int) bool {
	switch key {
	case target.KeyARPIgnore:
		return target.ValidARPIgnore(v) == nil
	case target.KeyARPAnnounce:
		return target.ValidARPAnnounce(v) == nil
	}
	return v == 0 || v == 1
}

func setOriginals(ctx context.Context, set func(context.Context, string, []byte) diag.Diagnostics, orig target.Originals) diag.Diagnostics {
	m := make(map[string]int, len(orig))
	for sc, v := range orig {
		m[sc.String()] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		var d diag.Diagnostics
		d.AddError("Cannot record ARP sysctls", err.Error())
		return d
	}
	return set(ctx, privateOriginals, b)
}

func observedARP(obs target.Observation, ifs []target.IfName, key string, inState types.Int64) types.Int64 {
	for _, ifn := range ifs {
		v, ok := obs.Sysctls[target.Sysctl{Interface: string(ifn), Key: key}]
		if ok && (inState.IsNull() || int64(v) != inState.ValueInt64()) {
			return types.Int64Value(int64(v))
		}
	}
	return inState
}
