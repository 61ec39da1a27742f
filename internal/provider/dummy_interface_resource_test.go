package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// Plan-time rejections need no kernel: terraform validates the configuration before anything is
// read, so these run on any machine.
func TestAccDummyInterfaceRejectedAtPlan(t *testing.T) {
	for _, tc := range []struct {
		name, attrs string
		want        string
	}{
		{"colon in name", `name = "eth0:1"` + "\n addresses = []", `(?s)Invalid interface name.*name = "eth0:1"`},
		{"long name", `name = "a-name-of-17-byte"` + "\n addresses = []", `(?s)Invalid interface name.*name = "a-name-of-17-byte".*17 bytes long`},
		{"sysctl default", `name = "all"` + "\n addresses = []", `(?s)Invalid interface name.*name = "all".*net\.ipv4\.conf\.all`},
		{"bad address", `name = "vip0"` + "\n addresses = [\"192.0.2.300\"]", `(?s)Invalid address.*addresses = \["192\.0\.2\.300"\]`},
		{"zone", `name = "vip0"` + "\n addresses = [\"fe80::1%eth0\"]", `(?s)Invalid address.*addresses = \["fe80::1%eth0"\].*has a zone`},
		{"duplicate", `name = "vip0"` + "\n addresses = [\"2001:DB8::1\", \"2001:db8::1/128\"]", `(?s)Duplicate address.*same address \(2001:db8::1\)`},
		{"arp_ignore", `name = "vip0"` + "\n addresses = []\n arp_ignore = 5", `(?s)arp_ignore.*value must be one of`},
		{"arp_interfaces", `name = "vip0"` + "\n addresses = []\n arp_interfaces = [\"eth 0\"]", `(?s)Invalid interface name.*arp_interfaces`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      "resource \"vip_dummy_interface\" \"bad\" {\n " + tc.attrs + "\n}\n",
					PlanOnly:    true,
					ExpectError: regexp.MustCompile(tc.want),
				}},
			})
		})
	}
}

func TestDummyInterfaceSSHNotYet(t *testing.T) {
	r := &dummyInterfaceResource{data: &providerData{}}
	for _, refresh := range []bool{false, true} {
		var diags diag.Diagnostics
		if _, _, ok := r.hostTarget(types.StringValue("rs1.example.net"), refresh, &diags); ok {
			t.Fatalf("refresh=%v: host accepted without an SSH configuration", refresh)
		}
		if len(diags) != 1 || diags[0].Summary() != "Cannot reach host" {
			t.Fatalf("refresh=%v: diagnostics %v, want one \"Cannot reach host\"", refresh, diags)
		}
	}
}

// The validator reports each bad element at its own attribute path, and warns about subnets.
func TestAddressesValidatorPaths(t *testing.T) {
	elems := []attr.Value{types.StringValue("192.0.2.1"), types.StringValue("10.1.0.0/16"), types.StringValue("nonsense")}
	set := types.SetValueMust(types.StringType, elems)
	req := validator.SetRequest{Path: path.Root("addresses"), ConfigValue: set}
	var resp validator.SetResponse
	addressesValidator{}.ValidateSet(context.Background(), req, &resp)
	var errs, warns []diag.Diagnostic
	for _, d := range resp.Diagnostics {
		if d.Severity() == diag.SeverityError {
			errs = append(errs, d)
		} else {
			warns = append(warns, d)
		}
	}
	if len(errs) != 1 || len(warns) != 1 {
		t.Fatalf("diagnostics %v", resp.Diagnostics)
	}
	wantErr := path.Root("addresses").AtSetValue(types.StringValue("nonsense"))
	if p := diagPath(t, errs[0]); !p.Equal(wantErr) {
		t.Errorf("error at %s, want %s", p, wantErr)
	}
	wantWarn := path.Root("addresses").AtSetValue(types.StringValue("10.1.0.0/16"))
	if p := diagPath(t, warns[0]); !p.Equal(wantWarn) || !strings.Contains(warns[0].Detail(), "10.1.0.0/16") {
		t.Errorf("warning %v at %s, want %s", warns[0], p, wantWarn)
	}
}

func TestAddressSpellingKept(t *testing.T) {
	ctx := context.Background()
	prior := types.SetValueMust(types.StringType, []attr.Value{types.StringValue("2001:DB8::1"), types.StringValue("192.0.2.1/32")})
	ps, err := parseAddressSet(ctx, types.SetValueMust(types.StringType, []attr.Value{
		types.StringValue("2001:db8::1"), types.StringValue("192.0.2.1"), types.StringValue("198.51.100.1/24")}))
	if err != nil {
		t.Fatal(err)
	}
	got := addressValues(ctx, ps, prior)
	want := types.SetValueMust(types.StringType, []attr.Value{
		types.StringValue("2001:DB8::1"), types.StringValue("192.0.2.1/32"), types.StringValue("198.51.100.1/24")})
	if !got.Equal(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// diagPath is the attribute path of a diagnostic, which must have one.
func diagPath(t *testing.T, d diag.Diagnostic) path.Path {
	t.Helper()
	withPath, ok := d.(diag.DiagnosticWithPath)
	if !ok {
		t.Fatalf("diagnostic %q has no attribute path", d.Summary())
	}
	return withPath.Path()
}

// Two resources that name one interface on one host (also when one writes the default port) are
// an error at plan time, before anything connects; so are two without host (this machine).
func TestAccDummyInterfaceTwoResourcesOneInterface(t *testing.T) {
	for name, hosts := range map[string][2]string{
		"ssh":   {`host = "rs1.example.net"`, `host = "rs1.example.net:22"`},
		"local": {"", ""},
	} {
		t.Run(name, func(t *testing.T) {
			config := fmt.Sprintf(`
resource "vip_dummy_interface" "a" {
  %s
  name      = "vip0"
  addresses = ["192.0.2.1"]
}
resource "vip_dummy_interface" "b" {
  %s
  name      = "vip0"
  addresses = ["192.0.2.2"]
}
`, hosts[0], hosts[1])
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      config,
					PlanOnly:    true,
					ExpectError: regexp.MustCompile(`(?s)Interface managed by two resources.*"vip0"`),
				}},
			})
		})
	}
}
