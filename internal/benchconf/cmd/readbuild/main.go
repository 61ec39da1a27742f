// Command readbuild is the data source's read+build pipeline as a whole process: it reads a
// keepalived.conf as vip_keepalived_config does (keepalived.ParseFile, then vipset.Build) and
// prints what it found. The scale benchmark times it against `keepalived -t -f` on the same file:
//
//	go run ./internal/benchconf/cmd/readbuild /etc/keepalived/keepalived.conf
package main

import (
	"fmt"
	"os"

	"github.com/vip-manager/terraform-provider-vip/internal/keepalived"
	"github.com/vip-manager/terraform-provider-vip/internal/vipset"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: readbuild KEEPALIVED.CONF")
		os.Exit(2)
	}
	cfg, diags := keepalived.ParseFile(os.Args[1], keepalived.Options{})
	if diags.HasError() {
		for _, d := range diags.Errors() {
			fmt.Fprintf(os.Stderr, "%s: %s\n", d.Pos, d.Summary)
		}
		os.Exit(1)
	}
	res, err := vipset.Build(cfg, vipset.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("%d virtual servers, %d services, %d real servers, %d warnings\n",
		len(cfg.VirtualServers), len(res.Services), len(res.RealServers), len(diags)+len(res.Notices)+len(res.Conflicts))
}
