package provider

import (
	"context"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/vip-manager/terraform-provider-vip/internal/keepalived"
	"github.com/vip-manager/terraform-provider-vip/internal/vipset"
)

// The reference: the data source's first way of building its state, with the framework's
// reflection over these model structs. encodeKeepalivedConfigState writes the same state
// directly; TestEncodedStateMatchesReference proves it.

type refVirtualServer struct {
	Address          types.String `tfsdk:"address"`
	Port             types.Int64  `tfsdk:"port"`
	Protocol         types.String `tfsdk:"protocol"`
	Fwmark           types.Int64  `tfsdk:"fwmark"`
	Group            types.String `tfsdk:"group"`
	ForwardingMethod types.String `tfsdk:"forwarding_method"`
	File             types.String `tfsdk:"file"`
	Line             types.Int64  `tfsdk:"line"`
	RealServers      []refBackend `tfsdk:"real_servers"`
	SorryServer      *refBackend  `tfsdk:"sorry_server"`
}

type refBackend struct {
	Address          types.String `tfsdk:"address"`
	Port             types.Int64  `tfsdk:"port"`
	Weight           types.Int64  `tfsdk:"weight"`
	ForwardingMethod types.String `tfsdk:"forwarding_method"`
}

type refPortConflict struct {
	RealServer    types.String   `tfsdk:"real_server"`
	VIP           types.String   `tfsdk:"vip"`
	ServedPorts   []types.String `tfsdk:"served_ports"`
	UnservedPorts []types.String `tfsdk:"unserved_ports"`
	File          types.String   `tfsdk:"file"`
	Line          types.Int64    `tfsdk:"line"`
	Message       types.String   `tfsdk:"message"`
}

func refBackendOf(b *vipset.Backend) refBackend {
	return refBackend{
		Address:          types.StringValue(b.Address.String()),
		Port:             types.Int64Value(int64(b.Port)),
		Weight:           types.Int64Value(int64(b.Weight)),
		ForwardingMethod: types.StringValue(b.Method.String()),
	}
}

func strValues(ss []string) []types.String {
	out := make([]types.String, 0, len(ss))
	for _, s := range ss {
		out = append(out, types.StringValue(s))
	}
	return out
}

// referenceState sets the computed attributes on the configuration through reflection.
func referenceState(t *testing.T, config tfsdk.Config, methodNames []string, cfg *keepalived.Config, res *vipset.Result) tftypes.Value {
	t.Helper()
	ctx := context.Background()
	realServers := make(map[string][]types.String, len(res.RealServers))
	for _, rs := range res.RealServers {
		vips := make([]types.String, 0, len(rs.VIPs))
		for _, v := range rs.VIPs {
			vips = append(vips, types.StringValue(v.String()))
		}
		realServers[rs.Address.String()] = vips
	}
	virtualServers := make([]refVirtualServer, 0, len(res.Services))
	for _, s := range res.Services {
		vs := refVirtualServer{
			Address:          types.StringNull(),
			Port:             types.Int64Value(int64(s.Port)),
			Protocol:         types.StringValue(s.Protocol.String()),
			Fwmark:           types.Int64Null(),
			Group:            types.StringNull(),
			ForwardingMethod: types.StringValue(s.Method.String()),
			File:             types.StringValue(s.Pos.File),
			Line:             types.Int64Value(int64(s.Pos.Line)),
			RealServers:      make([]refBackend, 0, len(s.Backends)),
		}
		if s.Address.IsValid() {
			vs.Address = types.StringValue(s.Address.String())
		}
		if s.HasFwmark {
			vs.Fwmark = types.Int64Value(int64(s.Fwmark))
		}
		if s.Group != "" {
			vs.Group = types.StringValue(s.Group)
		}
		for _, b := range s.Backends {
			vs.RealServers = append(vs.RealServers, refBackendOf(b))
		}
		if s.Sorry != nil {
			b := refBackendOf(s.Sorry)
			vs.SorryServer = &b
		}
		virtualServers = append(virtualServers, vs)
	}
	conflicts := make([]refPortConflict, 0, len(res.Conflicts))
	for _, c := range res.Conflicts {
		conflicts = append(conflicts, refPortConflict{
			RealServer:    types.StringValue(c.RealServer.String()),
			VIP:           types.StringValue(c.VIP.String()),
			ServedPorts:   strValues(c.Served),
			UnservedPorts: strValues(c.NotServed),
			File:          types.StringValue(c.Pos.File),
			Line:          types.Int64Value(int64(c.Pos.Line)),
			Message:       types.StringValue(c.Message()),
		})
	}
	st := tfsdk.State(config)
	for attr, v := range map[string]any{
		"forwarding_methods": strValues(methodNames),
		"real_servers":       realServers,
		"virtual_servers":    virtualServers,
		"files":              strValues(cfg.Files),
		"sha256":             types.StringValue(cfg.SHA256),
		"port_conflicts":     conflicts,
	} {
		if d := st.SetAttribute(ctx, path.Root(attr), v); d.HasError() {
			t.Fatalf("reference %s: %v", attr, d)
		}
	}
	return st.Raw
}

// TestEncodedStateMatchesReference: for every corpus configuration that gives a result, and
// with other forwarding methods, the state the encoder writes decodes to exactly the state the
// framework's reflection builds from the same result.
func TestEncodedStateMatchesReference(t *testing.T) {
	ctx := context.Background()
	ds := &keepalivedConfigDataSource{}
	var schemaResp datasource.SchemaResponse
	ds.Schema(ctx, datasource.SchemaRequest{}, &schemaResp)
	typ, ok := schemaResp.Schema.Type().TerraformType(ctx).(tftypes.Object)
	if !ok {
		t.Fatal("the data source type is not an object")
	}

	confs, err := filepath.Glob(filepath.Join("..", "keepalived", "testdata", "corpus", "*.conf"))
	if err != nil || len(confs) < 10 {
		t.Fatalf("corpus: %d files, %v", len(confs), err)
	}
	confs = append(confs, kaTestdata(t, "main.conf"))
	compared := 0
	for _, conf := range confs {
		for _, methodNames := range [][]string{{"DR", "TUN"}, {"NAT"}} {
			abs, err := filepath.Abs(conf)
			if err != nil {
				t.Fatal(err)
			}
			vals := map[string]tftypes.Value{}
			for name, at := range typ.AttributeTypes {
				vals[name] = tftypes.NewValue(at, nil)
			}
			vals["path"] = tftypes.NewValue(tftypes.String, abs)
			vals["config_id"] = tftypes.NewValue(tftypes.String, "lb2")
			config := tfsdk.Config{Schema: schemaResp.Schema, Raw: tftypes.NewValue(typ, vals)}

			cfg, diags := keepalived.ParseFile(abs, keepalived.Options{ConfigID: "lb2"})
			if diags.HasError() {
				continue
			}
			methods := make([]keepalived.Method, len(methodNames))
			for i, n := range methodNames {
				methods[i], _ = keepalived.ParseMethod(n)
			}
			res, err := vipset.Build(cfg, vipset.Options{Methods: methods})
			if err != nil {
				continue
			}
			enc, err := encodeKeepalivedConfigState(config.Raw, methodNames, cfg, res)
			if err != nil {
				t.Fatal(err)
			}
			got, err := (&tfprotov6.DynamicValue{MsgPack: enc}).Unmarshal(typ)
			if err != nil {
				t.Fatalf("%s: the encoded state does not decode: %v", conf, err)
			}
			want := referenceState(t, config, methodNames, cfg, res)
			if !got.Equal(want) {
				diffs, _ := got.Diff(want)
				t.Errorf("%s %v: the encoded state differs from the reference at %d places, e.g. %v", conf, methodNames, len(diffs), diffs[0].Path)
			}
			compared++
		}
	}
	if compared < 20 {
		t.Errorf("only %d configurations compared", compared)
	}
}

func TestMsgpackWriterLengths(t *testing.T) {
	typ := tftypes.List{ElementType: tftypes.String}
	for _, n := range []int{0, 15, 16, 65535, 65536} {
		long := make([]byte, n)
		for i := range long {
			long[i] = 'x'
		}
		w := &msgpackWriter{}
		w.arrayLen(2)
		w.str(string(long))
		w.str("")
		got, err := (&tfprotov6.DynamicValue{MsgPack: w.b}).Unmarshal(typ)
		if err != nil {
			t.Fatalf("length %d: %v", n, err)
		}
		want := tftypes.NewValue(typ, []tftypes.Value{tftypes.NewValue(tftypes.String, string(long)), tftypes.NewValue(tftypes.String, "")})
		if !got.Equal(want) {
			t.Errorf("length %d: got %v", n, got)
		}
	}
	for _, a := range []string{"10.0.0.1", "2001:db8::1", "2001:db8:1234:5678:9abc:def0:1234:5678", "::ffff:10.1.2.3", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"} {
		w := &msgpackWriter{}
		w.arrayLen(2)
		w.addr(netip.MustParseAddr(a))
		w.addr(netip.Addr{})
		got, err := (&tfprotov6.DynamicValue{MsgPack: w.b}).Unmarshal(typ)
		if err != nil {
			t.Fatalf("%s: %v", a, err)
		}
		want := tftypes.NewValue(typ, []tftypes.Value{tftypes.NewValue(tftypes.String, a), tftypes.NewValue(tftypes.String, nil)})
		if !got.Equal(want) {
			t.Errorf("%s: got %v", a, got)
		}
	}
	for _, n := range []int64{0, 1, 127, 128, -1, -32, -33, 65535, 1 << 31, -(1 << 31), 1<<31 - 1, 1 << 40} {
		w := &msgpackWriter{}
		w.int(n)
		got, err := (&tfprotov6.DynamicValue{MsgPack: w.b}).Unmarshal(tftypes.Number)
		if err != nil {
			t.Fatalf("%d: %v", n, err)
		}
		if !got.Equal(tftypes.NewValue(tftypes.Number, n)) {
			t.Errorf("%d: got %v", n, got)
		}
	}
}
