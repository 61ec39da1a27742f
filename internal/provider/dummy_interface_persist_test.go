package provider

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// planDummyInterface plans an update of an existing vip_dummy_interface (persist = false in state)
// to the configuration cfg through the provider's protocol server, with the private state that
// Read or the last apply left (noSystemd: the value recorded, "" for none).
func planDummyInterface(t *testing.T, cfg map[string]tftypes.Value, noSystemd string) []*tfprotov6.Diagnostic {
	t.Helper()
	ctx := context.Background()
	srv, err := NewProtocol6Server("test")()
	if err != nil {
		t.Fatal(err)
	}
	schemaResp, err := srv.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	typ, ok := schemaResp.ResourceSchemas["vip_dummy_interface"].ValueType().(tftypes.Object)
	if !ok {
		t.Fatal("the resource schema is not an object")
	}
	strs := func(ss ...string) tftypes.Value {
		vs := make([]tftypes.Value, len(ss))
		for i, s := range ss {
			vs[i] = tftypes.NewValue(tftypes.String, s)
		}
		return tftypes.NewValue(tftypes.Set{ElementType: tftypes.String}, vs)
	}
	prior := map[string]tftypes.Value{
		"id":             tftypes.NewValue(tftypes.String, "local/vip0"),
		"name":           tftypes.NewValue(tftypes.String, "vip0"),
		"host":           tftypes.NewValue(tftypes.String, nil),
		"addresses":      strs("192.0.2.1"),
		"arp_ignore":     tftypes.NewValue(tftypes.Number, 1),
		"arp_announce":   tftypes.NewValue(tftypes.Number, 2),
		"arp_interfaces": strs("all"),
		"exclusive":      tftypes.NewValue(tftypes.Bool, true),
		"persist":        tftypes.NewValue(tftypes.Bool, false),
		"ifindex":        tftypes.NewValue(tftypes.Number, 5),
	}
	config := map[string]tftypes.Value{}
	proposed := map[string]tftypes.Value{}
	for name, at := range typ.AttributeTypes {
		config[name] = tftypes.NewValue(at, nil)
		proposed[name] = prior[name]
	}
	config["name"], config["addresses"] = prior["name"], prior["addresses"]
	for name, v := range cfg {
		config[name], proposed[name] = v, v
	}
	dv := func(m map[string]tftypes.Value) *tfprotov6.DynamicValue {
		v, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, m))
		if err != nil {
			t.Fatal(err)
		}
		return &v
	}
	var private []byte
	if noSystemd != "" {
		if private, err = json.Marshal(map[string][]byte{privateNoSystemd: []byte(noSystemd)}); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := srv.PlanResourceChange(ctx, &tfprotov6.PlanResourceChangeRequest{
		TypeName: "vip_dummy_interface", PriorState: dv(prior), ProposedNewState: dv(proposed), Config: dv(config), PriorPrivate: private,
	})
	if err != nil {
		t.Fatal(err)
	}
	return resp.Diagnostics
}

// TestDummyInterfacePersistRefusedAtPlan: persist = true fails at plan, on the persist
// attribute, exactly when the last read of the same host recorded that it runs no systemd.
func TestDummyInterfacePersistRefusedAtPlan(t *testing.T) {
	on := map[string]tftypes.Value{"persist": tftypes.NewValue(tftypes.Bool, true)}
	refused := func(ds []*tfprotov6.Diagnostic) *tfprotov6.Diagnostic {
		for _, d := range ds {
			if d.Summary == "persist = true needs systemd" {
				return d
			}
		}
		return nil
	}
	d := refused(planDummyInterface(t, on, "true"))
	if d == nil || d.Severity != tfprotov6.DiagnosticSeverityError || d.Attribute.String() != tftypes.NewAttributePath().WithAttributeName("persist").String() {
		t.Fatalf("no error on persist: %+v", d)
	}
	for _, want := range []string{"This machine (local/vip0) does not run systemd", "/run/systemd/system", "refresh before this plan", "Nothing was changed", "Set persist = false"} {
		if !strings.Contains(d.Detail, want) {
			t.Errorf("detail lacks %q: %s", want, d.Detail)
		}
	}
	for _, c := range []struct {
		what      string
		cfg       map[string]tftypes.Value
		noSystemd string
	}{
		{"systemd recorded", on, "false"},
		{"nothing recorded (state of an older provider)", on, ""},
		{"persist = false", map[string]tftypes.Value{"persist": tftypes.NewValue(tftypes.Bool, false)}, "true"},
		{"another host (replaced, not yet read)", map[string]tftypes.Value{"persist": tftypes.NewValue(tftypes.Bool, true), "host": tftypes.NewValue(tftypes.String, "rs1")}, "true"},
	} {
		if d := refused(planDummyInterface(t, c.cfg, c.noSystemd)); d != nil {
			t.Errorf("%s: refused: %s", c.what, d.Detail)
		}
	}
}
