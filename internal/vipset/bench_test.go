package vipset

import (
	"path/filepath"
	"testing"

	"github.com/vip-manager/terraform-provider-vip/internal/benchconf"
	"github.com/vip-manager/terraform-provider-vip/internal/keepalived"
)

// BenchmarkBuildLarge builds the VIP sets of the scale benchmark's configuration (10,000
// virtual servers x 10 real servers, internal/benchconf): half of the data source's own work.
func BenchmarkBuildLarge(b *testing.B) {
	path := filepath.Join(b.TempDir(), "keepalived.conf")
	if _, err := benchconf.WriteFile(path, 10000, 10); err != nil {
		b.Fatal(err)
	}
	cfg, diags := keepalived.ParseFile(path, keepalived.Options{})
	if diags.HasError() {
		b.Fatal(diags.Errors())
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := Build(cfg, Options{})
		if err != nil || len(res.RealServers) != 100000 {
			b.Fatalf("%v, %d real servers", err, len(res.RealServers))
		}
	}
}
