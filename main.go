// Command terraform-provider-vip serves the vip provider over Terraform's plugin protocol 6.
package main

import (
	"flag"
	"log"
	"os"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"

	"github.com/vip-manager/terraform-provider-vip/internal/provider"
)

// version is set by goreleaser at release time.
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.Parse()

	quietUnlessLogsWanted()
	var opts []tf6server.ServeOpt
	if debug {
		opts = append(opts, tf6server.WithManagedDebug())
	}
	// tf6server rather than providerserver.Serve: the provider's server is the framework's with
	// one call answered directly (provider.NewProtocol6Server says why).
	err := tf6server.Serve("registry.terraform.io/vip-manager/vip", func() tfprotov6.ProviderServer {
		srv, err := provider.NewProtocol6Server(version)()
		if err != nil {
			log.Fatal(err)
		}
		return srv
	}, opts...)
	if err != nil {
		log.Fatal(err)
	}
}

// logSwitches are the variables with which a user asks Terraform, the plugin SDK or the test
// framework for provider logs.
var logSwitches = []string{
	"TF_LOG", "TF_LOG_PROVIDER", "TF_LOG_PROVIDER_VIP",
	"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK",
	"TF_ACC_LOG", "TF_ACC_LOG_PATH",
}

// quietUnlessLogsWanted turns the plugin SDK's and the provider's loggers off when nobody asked
// for logs. Left alone they default to TRACE and write a JSON line for every step of every RPC to
// stderr, which Terraform parses and then throws away: that was 40% of a 100-resource plan's time
// on the host and 58% in the kernel lab's emulated CPU (see also opentofu/opentofu#2969). With any of logSwitches set, the SDK's own defaults apply.
func quietUnlessLogsWanted() {
	for _, v := range logSwitches {
		if os.Getenv(v) != "" {
			return
		}
	}
	// The subsystems too: with their own level unset, the SDK builds every line's fields before
	// the root logger drops it.
	for _, v := range []string{"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK", "TF_LOG_PROVIDER_VIP"} {
		if err := os.Setenv(v, "off"); err != nil {
			log.Printf("[WARN] cannot set %s: %v", v, err)
		}
	}
}
