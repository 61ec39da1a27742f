package keepalived

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/vip-manager/terraform-provider-vip/internal/benchconf"
)

// writeLargeConfig writes the scale benchmarks' generated configuration (internal/benchconf):
// nvs virtual servers with nrs real servers each, every real server with a TCP_CHECK block
// (10,000 x 10 is about 21 MB).
func writeLargeConfig(path string, nvs, nrs int) (int64, error) {
	return benchconf.WriteFile(path, nvs, nrs)
}

// keepalivedTestTime times `keepalived -t -f path` (best of three), or returns 0 when keepalived
// is not installed.
func keepalivedTestTime(b *testing.B, path string) time.Duration {
	bin, err := exec.LookPath("keepalived")
	if err != nil {
		return 0
	}
	best := time.Duration(0)
	for i := 0; i < 3; i++ {
		cmd := exec.Command(bin, "-t", "-f", path)
		start := time.Now()
		out, err := cmd.CombinedOutput()
		d := time.Since(start)
		if cmd.ProcessState == nil {
			b.Fatalf("keepalived -t: %v: %s", err, out)
		}
		if best == 0 || d < best {
			best = d
		}
	}
	return best
}

// BenchmarkParseLarge reads a generated 10,000 x 10 configuration and compares with
// `keepalived -t -f` on the same file in the same run. Metrics: keepalived-ns (its wall time),
// speedup (keepalived time / our time per read), alloc/size (bytes allocated per read divided
// by the file size: an upper bound of the peak memory a read adds).
func BenchmarkParseLarge(b *testing.B) {
	path := filepath.Join(b.TempDir(), "keepalived.conf")
	size, err := writeLargeConfig(path, 10000, 10)
	if err != nil {
		b.Fatal(err)
	}
	ka := keepalivedTestTime(b, path)

	// Check the result once, outside the timing.
	cfg, diags := ParseFile(path, Options{})
	if diags.HasError() || len(cfg.VirtualServers) != 10000 || len(cfg.VirtualServers[9999].RealServers) != 10 {
		b.Fatalf("unexpected result: %d virtual servers, %v", len(cfg.VirtualServers), diags.Errors())
	}
	cfg = nil

	// Peak heap of one read: with the collector off, everything allocated stays live.
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	old := debug.SetGCPercent(-1)
	keep, _ := ParseFile(path, Options{})
	runtime.ReadMemStats(&after)
	debug.SetGCPercent(old)
	runtime.KeepAlive(keep)
	peak := after.HeapAlloc - before.HeapAlloc

	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, d := ParseFile(path, Options{}); d.HasError() {
			b.Fatal(d.Errors())
		}
	}
	b.StopTimer()
	per := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(size), "file-B")
	b.ReportMetric(float64(peak)/float64(size), "peak/size")
	if ka > 0 {
		b.ReportMetric(float64(ka.Nanoseconds()), "keepalived-ns")
		b.ReportMetric(float64(ka)/float64(per), "speedup")
	}
}

// BenchmarkParseSmall is the everyday case: one small configuration from text.
func BenchmarkParseSmall(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("testdata", "corpus", "sample.conf"))
	if err != nil {
		b.Skip(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		Parse("sample.conf", string(data), Options{})
	}
}
