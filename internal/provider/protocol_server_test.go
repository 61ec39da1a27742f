package provider

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// readKeepalivedConfigWith reads the data source through srv with the given attributes set.
func readKeepalivedConfigWith(t *testing.T, srv tfprotov6.ProviderServer, set map[string]tftypes.Value) (tftypes.Value, []*tfprotov6.Diagnostic) {
	t.Helper()
	ctx := context.Background()
	schemaResp, err := srv.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	typ, ok := schemaResp.DataSourceSchemas[keepalivedConfigTypeName].ValueType().(tftypes.Object)
	if !ok {
		t.Fatal("the data source schema is not an object")
	}
	vals := map[string]tftypes.Value{}
	for name, at := range typ.AttributeTypes {
		vals[name] = tftypes.NewValue(at, nil)
	}
	for name, v := range set {
		vals[name] = v
	}
	cfg, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, vals))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.ReadDataSource(ctx, &tfprotov6.ReadDataSourceRequest{TypeName: keepalivedConfigTypeName, Config: &cfg})
	if err != nil {
		t.Fatal(err)
	}
	if resp.State == nil {
		return tftypes.Value{}, resp.Diagnostics
	}
	state, err := resp.State.Unmarshal(typ)
	if err != nil {
		t.Fatal(err)
	}
	return state, resp.Diagnostics
}

func diagText(ds []*tfprotov6.Diagnostic) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.Severity.String() + ": " + d.Summary + " | " + d.Detail)
		if d.Attribute != nil {
			b.WriteString(" @" + d.Attribute.String())
		}
		b.WriteString("\n")
	}
	return b.String()
}

// TestProtocolServerReadMatchesFramework proves that answering ReadDataSource without the
// framework's post-processing changes nothing: for every corpus configuration (results,
// warnings and errors) and for each input attribute, the provider's server returns exactly
// what the framework's own server returns.
func TestProtocolServerReadMatchesFramework(t *testing.T) {
	fast, err := NewProtocol6Server("test")()
	if err != nil {
		t.Fatal(err)
	}
	framework, err := providerserver.NewProtocol6WithError(New("test")())()
	if err != nil {
		t.Fatal(err)
	}
	confs, err := filepath.Glob(filepath.Join("..", "keepalived", "testdata", "corpus", "*.conf"))
	if err != nil || len(confs) < 10 {
		t.Fatalf("corpus: %d files, %v", len(confs), err)
	}
	cases := map[string]map[string]tftypes.Value{
		"content with port conflict": {"content": tftypes.NewValue(tftypes.String, conflictConf)},
		"config_id and NAT": {
			"path":      tftypes.NewValue(tftypes.String, kaTestdata(t, "main.conf")),
			"config_id": tftypes.NewValue(tftypes.String, "lb2"),
			"forwarding_methods": tftypes.NewValue(tftypes.List{ElementType: tftypes.String},
				[]tftypes.Value{tftypes.NewValue(tftypes.String, "NAT"), tftypes.NewValue(tftypes.String, "TUN")}),
		},
		"bad forwarding method": {
			"content": tftypes.NewValue(tftypes.String, conflictConf),
			"forwarding_methods": tftypes.NewValue(tftypes.List{ElementType: tftypes.String},
				[]tftypes.Value{tftypes.NewValue(tftypes.String, "DSR")}),
		},
	}
	for _, c := range confs {
		abs, err := filepath.Abs(c)
		if err != nil {
			t.Fatal(err)
		}
		cases[filepath.Base(c)] = map[string]tftypes.Value{"path": tftypes.NewValue(tftypes.String, abs)}
	}
	results := 0
	for name, set := range cases {
		t.Run(name, func(t *testing.T) {
			got, gotDiags := readKeepalivedConfigWith(t, fast, set)
			want, wantDiags := readKeepalivedConfigWith(t, framework, set)
			if g, w := diagText(gotDiags), diagText(wantDiags); g != w {
				t.Errorf("diagnostics differ:\n got: %s\nwant: %s", g, w)
			}
			switch {
			case want.Type() == nil || got.Type() == nil:
				if want.Type() != nil || got.Type() != nil {
					t.Errorf("state: got %v, want %v", got, want)
				}
			case !got.Equal(want):
				diffs, err := got.Diff(want)
				t.Errorf("state differs from the framework's: %v %v", diffs, err)
			default:
				results++
			}
		})
	}
	if results < 10 {
		t.Errorf("only %d cases produced a result", results)
	}
}
