package benchconf

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vip-manager/terraform-provider-vip/internal/keepalived"
)

func TestGeneratedConfigReads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	size, err := WriteFile(path, 300, 10)
	if err != nil {
		t.Fatal(err)
	}
	// 21 MB at 10,000 x 10: about 2,100 bytes per virtual server.
	if size < 300*2000 || size > 300*2200 {
		t.Errorf("size %d for 300 virtual servers", size)
	}
	cfg, diags := keepalived.ParseFile(path, keepalived.Options{})
	if len(diags) != 0 {
		t.Fatalf("diagnostics: %v", diags)
	}
	if len(cfg.VirtualServers) != 300 || len(cfg.VirtualServers[299].RealServers) != 10 {
		t.Fatalf("%d virtual servers", len(cfg.VirtualServers))
	}
	last := cfg.VirtualServers[299]
	if last.Address.String() != VirtualAddress(299) || last.RealServers[9].Address.String() != RealAddress(2999) {
		t.Errorf("addresses: %s, %s", last.Address, last.RealServers[9].Address)
	}
}

// TestMeasure runs this test binary as a child that holds 64 MB for a while.
func TestMeasure(t *testing.T) {
	if os.Getenv("BENCHCONF_HOLD") != "" {
		b := make([]byte, 64<<20)
		for i := range b {
			b[i] = 1
		}
		time.Sleep(300 * time.Millisecond)
		os.Stdout.Write(b[:1])
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestMeasure$")
	cmd.Env = append(os.Environ(), "BENCHCONF_HOLD=1")
	var out strings.Builder
	cmd.Stdout = &out
	u, err := Measure(cmd)
	if err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if u.Wall < 300*time.Millisecond || u.CPU <= 0 {
		t.Errorf("wall %v, cpu %v", u.Wall, u.CPU)
	}
	if u.PeakRSS < 64<<20 || u.HWMSum < u.PeakRSS {
		t.Errorf("peak %d, hwm sum %d: want at least 64 MiB", u.PeakRSS, u.HWMSum)
	}
	if _, ok := u.Processes[filepath.Base(os.Args[0])[:min(15, len(filepath.Base(os.Args[0])))]]; !ok {
		t.Errorf("processes %v", u.Processes)
	}
}
