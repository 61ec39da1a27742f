// Command benchconf writes the scale benchmarks' generated keepalived.conf to standard output,
// to measure by hand what `make bench` measures:
//
//	go run ./internal/benchconf/cmd/benchconf -virtual-servers 10000 > /tmp/keepalived.conf
//	keepalived -t -f /tmp/keepalived.conf
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/vip-manager/terraform-provider-vip/internal/benchconf"
)

func main() {
	vs := flag.Int("virtual-servers", 1000, "number of virtual servers")
	rs := flag.Int("real-servers", 10, "real servers per virtual server")
	flag.Parse()
	if *vs < 0 || *rs < 0 || *vs > 1<<24 || *vs**rs > 1<<20 {
		fmt.Fprintln(os.Stderr, "benchconf: at most 16M virtual servers and 1M real servers in all")
		os.Exit(2)
	}
	if err := benchconf.Write(os.Stdout, *vs, *rs); err != nil {
		fmt.Fprintln(os.Stderr, "benchconf:", err)
		os.Exit(1)
	}
}
