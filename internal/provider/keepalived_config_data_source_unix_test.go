//go:build unix

package provider

import (
	"path/filepath"
	"regexp"
	"syscall"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// TestAccKeepalivedConfig_fifo: a FIFO where keepalived.conf is expected is a clear error at
// once, never a plan that hangs waiting for a writer.
func TestAccKeepalivedConfig_fifo(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      `data "vip_keepalived_config" "lb" { path = "` + fifo + `" }`,
			ExpectError: regexp.MustCompile(`cannot read .*keepalived.conf: not a regular file \(a FIFO\)`),
		}},
	})
}
