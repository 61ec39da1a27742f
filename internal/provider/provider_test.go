package provider

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
)

// testAccProtoV6ProviderFactories serves the provider in-process to terraform-plugin-testing.
var testAccProtoV6ProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"vip": NewProtocol6Server("test"),
}

// TestMain points terraform-plugin-testing at the terraform on PATH unless TF_ACC_TERRAFORM_PATH
// names a CLI already (Terraform or OpenTofu): nothing can be downloaded on the machines this runs
// on, and a pinned binary keeps runs reproducible.
func TestMain(m *testing.M) {
	if os.Getenv("TF_ACC_TERRAFORM_PATH") == "" {
		if tf, err := exec.LookPath("terraform"); err == nil {
			_ = os.Setenv("TF_ACC_TERRAFORM_PATH", tf)
		}
	}
	if err := providerHostForCLI(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// openTofuRegistry is where OpenTofu resolves a provider named without a host (the test
// configurations name just "vip"), as Terraform resolves it to registry.terraform.io.
const openTofuRegistry = "registry.opentofu.org"

// providerHostForCLI sets TF_ACC_PROVIDER_HOST to OpenTofu's registry when TF_ACC_TERRAFORM_PATH
// is OpenTofu and the variable is unset: terraform-plugin-testing serves the provider in-process
// under registry.terraform.io/hashicorp/vip by default, an address tofu never looks up, so it
// would try to download "vip" and fail.
func providerHostForCLI() error {
	cli := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if cli == "" || os.Getenv("TF_ACC_PROVIDER_HOST") != "" {
		return nil
	}
	cmd := exec.Command(cli, "version")
	cmd.Env = append(os.Environ(), "CHECKPOINT_DISABLE=1")
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("TF_ACC_TERRAFORM_PATH=%s: `version` failed: %w", cli, err)
	}
	if bytes.HasPrefix(out, []byte("OpenTofu ")) {
		return os.Setenv("TF_ACC_PROVIDER_HOST", openTofuRegistry)
	}
	return nil
}
