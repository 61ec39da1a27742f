package provider

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// The configurations live with the reader's test data.
func kaTestdata(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "keepalived", "testdata", "provider", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func strList(vs ...string) knownvalue.Check {
	cs := make([]knownvalue.Check, len(vs))
	for i, v := range vs {
		cs[i] = knownvalue.StringExact(v)
	}
	return knownvalue.ListExact(cs)
}

func TestAccKeepalivedConfig_pathWithIncludes(t *testing.T) {
	main := kaTestdata(t, "main.conf")
	ds := "data.vip_keepalived_config.lb"
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: `data "vip_keepalived_config" "lb" { path = "` + main + `" }`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("files"), strList(
					main, kaTestdata(t, "conf.d/dns.conf"), kaTestdata(t, "conf.d/web.conf"))),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("forwarding_methods"), strList("DR", "TUN")),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("real_servers").AtMapKey("192.168.10.2"),
					strList("10.10.0.53", "10.10.0.54", "10.10.0.80")),
				// Without config_id, the @lb2 virtual server (TUN) does not exist.
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("real_servers").AtMapKey("192.168.10.1"),
					strList("10.10.0.80")),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("virtual_servers").AtSliceIndex(2), knownvalue.ObjectExact(map[string]knownvalue.Check{
					"address":           knownvalue.StringExact("10.10.0.80"),
					"port":              knownvalue.Int64Exact(80),
					"protocol":          knownvalue.StringExact("TCP"),
					"fwmark":            knownvalue.Null(),
					"group":             knownvalue.Null(),
					"forwarding_method": knownvalue.StringExact("DR"),
					"file":              knownvalue.StringExact(kaTestdata(t, "conf.d/web.conf")),
					"line":              knownvalue.Int64Exact(1),
					"sorry_server":      knownvalue.Null(),
					"real_servers": knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"address": knownvalue.StringExact("192.168.10.2"), "port": knownvalue.Int64Exact(80),
							"weight": knownvalue.Int64Exact(1), "forwarding_method": knownvalue.StringExact("DR"),
						}),
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"address": knownvalue.StringExact("192.168.10.1"), "port": knownvalue.Int64Exact(80),
							"weight": knownvalue.Int64Exact(3), "forwarding_method": knownvalue.StringExact("DR"),
						}),
					}),
				})),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("virtual_servers").AtSliceIndex(0).AtMapKey("group"), knownvalue.StringExact("DNS")),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("port_conflicts"), knownvalue.ListSizeExact(0)),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("sha256"), knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f]{64}$`))),
			},
		}},
	})
}

func TestAccKeepalivedConfig_configID(t *testing.T) {
	main := kaTestdata(t, "main.conf")
	ds := "data.vip_keepalived_config.lb"
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: `data "vip_keepalived_config" "lb" {
  path      = "` + main + `"
  config_id = "lb2"
}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("real_servers").AtMapKey("192.168.10.1"),
					strList("10.10.0.80", "10.10.0.81")),
				// The @lb2 service: 192.168.10.1 reached by TUN.
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("virtual_servers").AtSliceIndex(3), knownvalue.ObjectPartial(map[string]knownvalue.Check{
					"address": knownvalue.StringExact("10.10.0.81"), "port": knownvalue.Int64Exact(80), "protocol": knownvalue.StringExact("TCP"),
					"forwarding_method": knownvalue.StringExact("TUN"), "sorry_server": knownvalue.Null(),
					"real_servers": knownvalue.ListExact([]knownvalue.Check{knownvalue.ObjectExact(map[string]knownvalue.Check{
						"address": knownvalue.StringExact("192.168.10.1"), "port": knownvalue.Int64Exact(80),
						"weight": knownvalue.Int64Exact(1), "forwarding_method": knownvalue.StringExact("TUN"),
					})}),
				})),
			},
		}, {
			// Only DR: the TUN service no longer needs the VIP locally.
			Config: `data "vip_keepalived_config" "lb" {
  path               = "` + main + `"
  config_id          = "lb2"
  forwarding_methods = ["DR"]
}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("real_servers").AtMapKey("192.168.10.1"), strList("10.10.0.80")),
			},
		}},
	})
}

const conflictConf = `virtual_server 10.20.0.1 80 {
    protocol TCP
    lb_kind DR
    real_server 192.168.20.1 80 {
    }
    real_server 192.168.20.2 80 {
    }
}
virtual_server 10.20.0.1 443 {
    protocol TCP
    lb_kind DR
    real_server 192.168.20.2 443 {
    }
    sorry_server 192.168.20.9 443
}
`

func TestAccKeepalivedConfig_contentAndPortConflict(t *testing.T) {
	ds := "data.vip_keepalived_config.lb"
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: `data "vip_keepalived_config" "lb" {
  content = <<-EOT
` + conflictConf + `EOT
}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("files"), strList("content")),
				// The sorry server holds the VIP of the service it stands in for.
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("real_servers").AtMapKey("192.168.20.9"), strList("10.20.0.1")),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("virtual_servers").AtSliceIndex(1).AtMapKey("sorry_server").AtMapKey("address"),
					knownvalue.StringExact("192.168.20.9")),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("port_conflicts"), knownvalue.ListExact([]knownvalue.Check{
					knownvalue.ObjectPartial(map[string]knownvalue.Check{
						"real_server":    knownvalue.StringExact("192.168.20.1"),
						"vip":            knownvalue.StringExact("10.20.0.1"),
						"served_ports":   strList("TCP/80"),
						"unserved_ports": strList("TCP/443"),
						"file":           knownvalue.StringExact("content"),
						"line":           knownvalue.Int64Exact(9),
					}),
					knownvalue.ObjectPartial(map[string]knownvalue.Check{
						"real_server":    knownvalue.StringExact("192.168.20.9"),
						"unserved_ports": strList("TCP/80"),
						"line":           knownvalue.Int64Exact(1),
					}),
				})),
			},
		}, {
			// The attribute lets a precondition refuse such a configuration.
			Config: `data "vip_keepalived_config" "lb" {
  content = <<-EOT
` + conflictConf + `EOT
}
output "vips" {
  value = data.vip_keepalived_config.lb.real_servers
  precondition {
    condition     = length(data.vip_keepalived_config.lb.port_conflicts) == 0
    error_message = join("; ", data.vip_keepalived_config.lb.port_conflicts[*].message)
  }
}`,
			ExpectError: regexp.MustCompile(`(?s)real server 192\.168\.20\.1 holds VIP 10\.20\.0\.1.*TCP/443.*content:9`),
		}},
	})
}

func TestAccKeepalivedConfig_errors(t *testing.T) {
	cases := []struct {
		name, config string
		want         string
	}{
		{"missing value", `content = "virtual_server 10.0.0.1 80 {\n  lb_kind\n}\n"`, `content:2: "lb_kind" is missing its value; keepalived refuses to start`},
		{"include loop", `path = "` + kaTestdata(t, "broken/include-loop.conf") + `"`, `include-loop.conf:2: include loop`},
		{"directory", `path = "` + t.TempDir() + `"`, `cannot read .*: not a regular file \(a directory\)`},
		{"include without base_dir", `content = "include x.conf\n"`, `content:1: relative include "x.conf"`},
		{"path and content", `path = "x"
content = "y"`, `(?i)invalid attribute combination`},
		{"bad method", `content = "x"
forwarding_methods = ["DSR"]`, `value must be one of`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      "data \"vip_keepalived_config\" \"lb\" {\n" + tc.config + "\n}",
					ExpectError: regexp.MustCompile(tc.want),
				}},
			})
		})
	}
}

// skippedCases are configurations keepalived runs with while it skips or reinterprets an entry:
// without strict, the rest of the result is there; with strict = true, the warning is an error.
type skippedCase struct {
	name, config string
	// rs and vip: a pair of the rest of the configuration, which must be in the result.
	rs, vip string
	want    string // the diagnostic, with file:line
}

func skippedCases(t *testing.T) []skippedCase {
	return []skippedCase{
		{"bad real server", `content = "virtual_server 10.0.0.1 80 {\n  protocol TCP\n  lb_kind DR\n  real_server 10.0.0.300 80 {\n  }\n  real_server 10.0.1.2 80 {\n  }\n}\n"`,
			"10.0.1.2", "10.0.0.1", `content:4: invalid real_server address/port "10\.0\.0\.300" "80"; keepalived skips this real server and its block`},
		{"bad virtual server", `content = "virtual_server 10.0.0.256 80 {\n  lb_kind DR\n}\nvirtual_server 10.0.0.2 80 {\n  protocol TCP\n  lb_kind DR\n  real_server 10.0.1.2 80 {\n  }\n}\n"`,
			"10.0.1.2", "10.0.0.2", `content:1: invalid virtual server address/port .*keepalived skips this virtual server`},
		{"unknown lb_kind", `content = "virtual_server 10.0.0.1 80 {\n  protocol TCP\n  lb_kind DR\n  lb_kind dr\n  real_server 10.0.1.1 80 {\n  }\n}\n"`,
			"10.0.1.1", "10.0.0.1", `content:4: unknown lb_kind "dr" for virtual server; keepalived keeps the previous method`},
		{"unbalanced", `content = "virtual_server 10.0.0.1 80 {\n  protocol TCP\n  lb_kind DR\n  real_server 10.0.1.1 80 {\n  }\n"`,
			"10.0.1.1", "10.0.0.1", `content: unbalanced braces: 1 block\(s\) not closed at end of input; keepalived closes them`},
		{"missing include", `path = "` + kaTestdata(t, "broken/missing-include.conf") + `"`,
			"192.168.30.1", "10.30.0.1", `missing-include.conf:3: included file .*nowhere.conf does not exist; keepalived skips the include`},
	}
}

// TestAccKeepalivedConfig_skippedEntries: a skipped entry leaves the rest of the result (the
// warning itself is checked in TestKeepalivedConfigWarnings, as terraform-plugin-testing does
// not show warnings); strict = true makes it an error with file:line.
func TestAccKeepalivedConfig_skippedEntries(t *testing.T) {
	for _, tc := range skippedCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			ds := "data.vip_keepalived_config.lb"
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config: "data \"vip_keepalived_config\" \"lb\" {\n" + tc.config + "\n}",
					ConfigStateChecks: []statecheck.StateCheck{
						statecheck.ExpectKnownValue(ds, tfjsonpath.New("real_servers").AtMapKey(tc.rs), strList(tc.vip)),
					},
				}, {
					Config:      "data \"vip_keepalived_config\" \"lb\" {\n" + tc.config + "\nstrict = true\n}",
					ExpectError: regexp.MustCompile(tc.want + `(?s).*strict = true\s+refuses it`),
				}, {
					Config: "data \"vip_keepalived_config\" \"lb\" {\n" + tc.config + "\nstrict = false\n}",
					ConfigStateChecks: []statecheck.StateCheck{
						statecheck.ExpectKnownValue(ds, tfjsonpath.New("real_servers").AtMapKey(tc.rs), strList(tc.vip)),
					},
				}},
			})
		})
	}
}

// TestKeepalivedConfigWarnings checks the diagnostics themselves (terraform-plugin-testing
// does not expose warnings): the port conflict and keepalived's own complaints arrive as
// warnings naming file and line.
func TestKeepalivedConfigWarnings(t *testing.T) {
	resp := readKeepalivedConfig(t, map[string]tftypes.Value{
		"content": tftypes.NewValue(tftypes.String, conflictConf+"virtual_server 10.20.0.2 80 {\n    real_server 192.168.20.3 {\n    }\n    bogus_keyword 1\n}\n"),
	})
	var got []string
	for _, d := range resp.Diagnostics {
		if d.Severity != tfprotov6.DiagnosticSeverityWarning {
			t.Errorf("unexpected %v: %s: %s", d.Severity, d.Summary, d.Detail)
		}
		got = append(got, d.Summary+" | "+d.Detail)
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{
		"content:9: port conflict: real server 192.168.20.1, VIP 10.20.0.1",
		"content:19: unknown keyword \"bogus_keyword\"",
		"content:16: virtual server 10.20.0.2:80: no protocol set; keepalived defaults to UDP",
		"content:16: virtual server 10.20.0.2:80: no forwarding method set; keepalived defaults to NAT",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("missing warning %q in:\n%s", want, all)
		}
	}
}

// readKeepalivedConfig reads the data source through the provider server with the given
// attributes (the others null), for tests that look at the diagnostics themselves.
func readKeepalivedConfig(t *testing.T, set map[string]tftypes.Value) *tfprotov6.ReadDataSourceResponse {
	t.Helper()
	ctx := context.Background()
	srv, err := testAccProtoV6ProviderFactories["vip"]()
	if err != nil {
		t.Fatal(err)
	}
	schemaResp, err := srv.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	typ, ok := schemaResp.DataSourceSchemas["vip_keepalived_config"].ValueType().(tftypes.Object)
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
	resp, err := srv.ReadDataSource(ctx, &tfprotov6.ReadDataSourceRequest{TypeName: "vip_keepalived_config", Config: &cfg})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestKeepalivedConfigSkippedEntryWarnings: each skipped entry of TestAccKeepalivedConfig_skippedEntries
// is a warning with file:line (and no error) without strict, and an error with strict = true.
func TestKeepalivedConfigSkippedEntryWarnings(t *testing.T) {
	for _, tc := range skippedCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			attr, value, _ := strings.Cut(tc.config, " = ")
			value, err := strconv.Unquote(value)
			if err != nil {
				t.Fatal(err)
			}
			want := regexp.MustCompile(tc.want)
			for _, strict := range []bool{false, true} {
				resp := readKeepalivedConfig(t, map[string]tftypes.Value{
					attr:     tftypes.NewValue(tftypes.String, value),
					"strict": tftypes.NewValue(tftypes.Bool, strict),
				})
				wantSeverity := tfprotov6.DiagnosticSeverityWarning
				if strict {
					wantSeverity = tfprotov6.DiagnosticSeverityError
				}
				found := false
				for _, d := range resp.Diagnostics {
					if d.Severity == tfprotov6.DiagnosticSeverityError && !strict {
						t.Errorf("error without strict: %s: %s", d.Summary, d.Detail)
					}
					if d.Severity == wantSeverity && want.MatchString(d.Summary) {
						found = true
					}
				}
				if !found {
					t.Errorf("strict=%v: no %v matching %q in %+v", strict, wantSeverity, tc.want, resp.Diagnostics)
				}
			}
		})
	}
}

// TestKeepalivedConfigCorpus reads every configuration of the reader's corpus through the data
// source (as Terraform would, without starting it: the corpus has over a hundred configs). Each
// has a golden made by the real keepalived (internal/keepalived/testdata/corpus/GOLDENS.md):
// - where keepalived runs with the config, the data source returns no error without strict;
// - where keepalived also complains about a line of it, strict = true returns an error;
// - where keepalived exits, the data source returns an error.
func TestKeepalivedConfigCorpus(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("..", "keepalived", "testdata", "corpus"))
	if err != nil {
		t.Fatal(err)
	}
	confs, err := filepath.Glob(filepath.Join(dir, "*.conf"))
	if err != nil || len(confs) < 100 {
		t.Fatalf("%d corpus configs, %v", len(confs), err)
	}
	complaint := regexp.MustCompile(`(?m)^\([^:()]+: Line [0-9]+\) `)
	runs, strictErrors := 0, 0
	for _, conf := range confs {
		golden, err := os.ReadFile(conf + ".golden")
		if err != nil {
			continue // the reader's corpus test reports configs without a golden
		}
		data, err := os.ReadFile(conf)
		if err != nil {
			t.Fatal(err)
		}
		id := "vip-lab" // keepalived's config id in the lab unless the config names one
		if first, _, _ := strings.Cut(string(data), "\n"); strings.HasPrefix(first, "# oracle-args:") {
			if f := strings.Fields(first); len(f) > 3 && f[2] == "-i" {
				id = f[3]
			}
		}
		runsWith := regexp.MustCompile(`(?m)^# result: (started|idle)`).Match(golden)
		for _, strict := range []bool{false, true} {
			resp := readKeepalivedConfig(t, map[string]tftypes.Value{
				"path":      tftypes.NewValue(tftypes.String, conf),
				"config_id": tftypes.NewValue(tftypes.String, id),
				"strict":    tftypes.NewValue(tftypes.Bool, strict),
			})
			var errs []string
			for _, d := range resp.Diagnostics {
				if d.Severity == tfprotov6.DiagnosticSeverityError {
					errs = append(errs, d.Summary)
				}
			}
			switch {
			case !runsWith && len(errs) == 0:
				t.Errorf("%s (strict=%v): keepalived exits on it, the data source returned no error", filepath.Base(conf), strict)
			case runsWith && !strict && len(errs) > 0:
				t.Errorf("%s: keepalived runs with it, the data source returned errors without strict: %q", filepath.Base(conf), errs)
			case runsWith && strict && complaint.Match(golden) && len(errs) == 0:
				t.Errorf("%s: keepalived complains about it, strict = true returned no error", filepath.Base(conf))
			}
			if runsWith && !strict {
				runs++
			}
			if runsWith && strict && len(errs) > 0 {
				strictErrors++
			}
		}
	}
	t.Logf("%d corpus configs keepalived runs with, all read without error; %d of them refused with strict = true", runs, strictErrors)
}
