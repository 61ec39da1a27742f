// Command measure runs a command and prints its wall time, CPU time and the peak resident memory
// of it and every process it starts (sampled from /proc), as the scale benchmarks do:
//
//	go run ./internal/benchconf/cmd/measure terraform plan
package main

import (
	"fmt"
	"os"
	"os/exec"

	"github.com/vip-manager/terraform-provider-vip/internal/benchconf"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: measure COMMAND [ARG...]")
		os.Exit(2)
	}
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	u, err := benchconf.Measure(cmd)
	fmt.Fprintln(os.Stderr, u)
	if err != nil {
		fmt.Fprintln(os.Stderr, "measure:", err)
		os.Exit(1)
	}
}
