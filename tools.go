//go:build tools

package main

// Documentation generation: `make generate` runs tfplugindocs through `go run`, pinned here.
import (
	_ "github.com/hashicorp/terraform-plugin-docs/cmd/tfplugindocs"
)
