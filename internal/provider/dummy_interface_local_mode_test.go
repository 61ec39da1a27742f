package provider

import (
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// providerOn serves the provider as built for goos: only the platform check differs, so these
// tests show on Linux what a macOS, Windows or FreeBSD build does at plan.
func providerOn(goos string) map[string]func() (tfprotov6.ProviderServer, error) {
	return map[string]func() (tfprotov6.ProviderServer, error){
		"vip": providerserver.NewProtocol6WithError(&vipProvider{version: "test", goos: goos}),
	}
}

// The data source feeds a resource on a real server reached over SSH, as a laptop user writes it:
// this plans (no connection is made for a create) on every system.
const sshModeOnAnySystem = `
data "vip_keepalived_config" "lb" {
  content = <<-EOT
    virtual_server 192.0.2.80 80 {
      lb_kind DR
      real_server 198.51.100.7 80 {
      }
    }
  EOT
}

resource "vip_dummy_interface" "rs" {
  host      = "198.51.100.7:2222"
  name      = "vip0"
  addresses = data.vip_keepalived_config.lb.real_servers["198.51.100.7"]
}
`

// localModeConfig manages this machine: no host.
const localModeConfig = `
resource "vip_dummy_interface" "local" {
  name      = "vip0"
  addresses = ["192.0.2.80"]
}
`

func TestAccDummyInterfaceLocalModeNeedsLinux(t *testing.T) {
	for _, goos := range []string{"darwin", "windows", "freebsd"} {
		t.Run(goos, func(t *testing.T) {
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: providerOn(goos),
				Steps: []resource.TestStep{
					{
						Config:   localModeConfig,
						PlanOnly: true,
						ExpectError: regexp.MustCompile(`(?s)Local mode needs Linux.*local mode needs Linux: set .host. to reach the real\s+server\s+over\s+SSH.*runs\s+on\s+` +
							goos),
					},
					{ // import of this machine's interface: the same error
						Config:        localModeConfig,
						ResourceName:  "vip_dummy_interface.local",
						ImportState:   true,
						ImportStateId: "local/vip0",
						ExpectError:   regexp.MustCompile(`(?s)Local mode needs Linux.*runs\s+on\s+` + goos + `.*import a real server's\s+interface\s+as\s+<host>/<name>`),
					},
					{ // import of a real server's: gets past import to the SSH transport (which has no credentials here)
						Config:        `provider "vip" {` + "\n" + `ssh = { timeout = "5s" }` + "\n}\n" + strings.Replace(localModeConfig, "name ", "host = \"127.0.0.1:1\"\nname ", 1),
						ResourceName:  "vip_dummy_interface.local",
						ImportState:   true,
						ImportStateId: "127.0.0.1:1/vip0",
						ExpectError:   regexp.MustCompile(`Cannot read 127\.0\.0\.1:1/vip0`),
					},
					{
						Config:             sshModeOnAnySystem,
						PlanOnly:           true,
						ExpectNonEmptyPlan: true,
						ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPreRefresh: []plancheck.PlanCheck{
							plancheck.ExpectResourceAction("vip_dummy_interface.rs", plancheck.ResourceActionCreate),
							plancheck.ExpectKnownValue("vip_dummy_interface.rs", tfjsonpath.New("addresses"),
								knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact("192.0.2.80")})),
						}},
					},
				},
			})
		})
	}
}

// On Linux the same local resource plans a create: the check adds nothing there.
func TestAccDummyInterfaceLocalModeOnLinux(t *testing.T) {
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: providerOn("linux"),
		Steps: []resource.TestStep{{
			Config:             localModeConfig,
			PlanOnly:           true,
			ExpectNonEmptyPlan: true,
			ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPreRefresh: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction("vip_dummy_interface.local", plancheck.ResourceActionCreate),
			}},
		}},
	})
}
