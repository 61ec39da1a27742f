package keepalived_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vip-manager/terraform-provider-vip/internal/keepalived"
	"github.com/vip-manager/terraform-provider-vip/internal/vipset"
)

// fuzzLimits are small so that each input finishes in milliseconds; the code paths that
// enforce them are the same as with the defaults.
var fuzzLimits = keepalived.Limits{
	MaxIncludeDepth:      8,
	MaxFiles:             64,
	MaxExpandedBytes:     1 << 20,
	MaxSeqValues:         2000,
	MaxExpansionsPerLine: 200,
}

// fuzzIncludeDir holds files a fuzzed configuration can include: a normal one, one that
// includes itself, a chain, and a group with a huge range.
func fuzzIncludeDir(f *testing.F) string {
	dir := f.TempDir()
	files := map[string]string{
		"a.conf":     "virtual_server 10.0.0.1 80 {\n lb_kind DR\n protocol TCP\n real_server 10.1.0.1 80 {\n }\n}\n",
		"loop.conf":  "include loop.conf\n",
		"ping.conf":  "include pong.conf\n",
		"pong.conf":  "include ping.conf\n",
		"big.conf":   "virtual_server_group BIG {\n 2001:db8::/64 80\n 10.0.0.0/8 80\n}\n",
		"d/x.inc":    "$X=10.9.9.9\ninclude ../a.conf\n",
		"d/seq.inc":  "~SEQ(i, 1, 100000000) virtual_server 10.0.0.$i 80 { }\n",
		"d/defs.inc": "$A=$A$A\n$B=x \\\n  y \\\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			f.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	return dir
}

// FuzzParse feeds arbitrary text to the reader (and the VIP-set logic): no panic, no hang, no
// unbounded memory, and never a result without a diagnostic when something was refused.
func FuzzParse(f *testing.F) {
	dir := fuzzIncludeDir(f)
	confs, _ := filepath.Glob(filepath.Join(corpusDir, "*.conf"))
	for _, c := range confs {
		data, err := os.ReadFile(c)
		if err == nil {
			f.Add(string(data), "lb1")
		}
	}
	for _, s := range []string{
		"include loop.conf\n",
		"include ping.conf\n",
		"include big.conf\nvirtual_server group BIG {\n lb_kind DR\n real_server 10.1.1.1 80 {\n }\n}\n",
		"include d/*.inc\n",
		"virtual_server_group G {\n 10.0.0.0-255 80\n 10.0.1.0-10.255.255.255 80\n}\n",
		"~SEQ(i, 1, 9223372036854775807) x\n",
		"~SEQ(i, -9223372036854775808, 9223372036854775807) x\n",
		"~SEQ(a,1,1000) ~SEQ(b,1,1000) ~SEQ(c,1,1000) x $a $b $c\n",
		"$A=$A\nvirtual_server $A 80 {\n}\n",
		"$A=x$A\n$A\n",
		strings.Repeat("{", 10000) + strings.Repeat("}", 10000),
		strings.Repeat("virtual_server 10.0.0.1 80 {\n", 1000),
		"$M=a \\\n b \\\n c\n~LST({x,y},{1,2},{3,4}) $M $x\n",
		"@lb1 virtual_server 10.0.0.1 80 {\n@^lb1 }\n",
	} {
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, content, configID string) {
		// A hang is a failure too: panic (which the fuzzer records with the input).
		watchdog := time.AfterFunc(10*time.Second, func() {
			panic(fmt.Sprintf("FuzzParse: no result after 10s for config id %q and input %q", configID, content))
		})
		defer watchdog.Stop()
		opts := keepalived.Options{ConfigID: configID, BaseDir: dir, Limits: fuzzLimits}
		cfg, diags := keepalived.Parse("fuzz.conf", content, opts)
		if cfg == nil {
			t.Fatal("nil config")
		}
		for _, d := range diags {
			if d.Pos.File == "" || d.Summary == "" {
				t.Fatalf("diagnostic without position or summary: %+v", d)
			}
		}
		if diags.HasError() {
			return
		}
		if len(cfg.SHA256) != 64 {
			t.Fatalf("sha256 %q", cfg.SHA256)
		}
		res, err := vipset.Build(cfg, vipset.Options{MaxServices: 4096})
		if err != nil {
			return
		}
		for _, rs := range res.RealServers {
			for i := 1; i < len(rs.VIPs); i++ {
				if rs.VIPs[i-1].Compare(rs.VIPs[i]) >= 0 {
					t.Fatalf("VIPs of %s not sorted/unique: %v", rs.Address, rs.VIPs)
				}
			}
		}
	})
}
