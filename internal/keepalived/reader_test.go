package keepalived

import (
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// errorAt asserts an error whose position and summary contain the given texts.
func errorAt(t *testing.T, diags Diagnostics, pos, summary string) {
	t.Helper()
	for _, d := range diags.Errors() {
		if strings.HasSuffix(d.Pos.String(), pos) && strings.Contains(d.Summary, summary) {
			return
		}
	}
	t.Fatalf("no error at %s containing %q in:\n%v", pos, summary, diags)
}

func TestBadInputIsAnErrorWithPosition(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"loop.conf":     "# loop\ninclude loop.conf\n",
		"ping.conf":     "include sub/pong.conf\n",
		"sub/pong.conf": "\ninclude ../ping.conf\n",
		"deep.conf":     "include deep2.conf\n",
		"deep2.conf":    "include deep.conf\n",
	})
	for _, tc := range []struct {
		name, conf, pos, summary string
	}{
		{"include loop", "include loop.conf\n", "loop.conf:2", "include loop"},
		{"indirect loop", "include ping.conf\n", "pong.conf:2", "include loop"},
		{"missing value", "virtual_server 10.0.0.1 80 {\n real_server\n}\n", "t.conf:2", "missing its value"},
		{"seq limit", "~SEQ(i, 1, 5000000) x\n", "t.conf:1", "~SEQ would produce 5000000 lines"},
		{"self reference", "$A=$A\n$A\n", "t.conf:2", "does not terminate"},
		{"expansion limit", "~SEQ(i, 1, 100000) virtual_server 10.0.0.1 80 { }\n", "t.conf:1", "exceeds"},
		{"two-file loop", "include deep.conf\n", "deep2.conf:1", "include loop"},
		{"no base_dir", "include x.conf\n", "t.conf:1", "no base_dir"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{BaseDir: dir}
			if tc.name == "no base_dir" {
				opts.BaseDir = ""
			}
			if tc.name == "expansion limit" {
				opts.Limits.MaxExpandedBytes = 1 << 16
			}
			_, diags := Parse("t.conf", tc.conf, opts)
			errorAt(t, diags, tc.pos, tc.summary)
		})
	}
}

// warningAt asserts a warning whose position and summary contain the given texts, and no error.
func warningAt(t *testing.T, diags Diagnostics, pos, summary string) {
	t.Helper()
	if diags.HasError() {
		t.Fatalf("errors where keepalived only complains:\n%v", diags)
	}
	for _, d := range diags {
		if strings.HasSuffix(d.Pos.String(), pos) && strings.Contains(d.Summary, summary) {
			return
		}
	}
	t.Fatalf("no warning at %s containing %q in:\n%v", pos, summary, diags)
}

// TestSkippedInputIsAWarningWithPosition: what keepalived logs and skips (or reinterprets)
// while installing the rest is a warning at the line, saying what keepalived does, and the rest
// of the configuration is read.
func TestSkippedInputIsAWarningWithPosition(t *testing.T) {
	const rest = "virtual_server 10.9.9.9 80 {\n protocol TCP\n lb_kind DR\n real_server 10.8.8.8 80 {\n }\n}\n"
	for _, tc := range []struct {
		name, conf, pos, summary string
	}{
		{"missing include", "\ninclude nope/*.conf\ninclude nope.conf\n" + rest, "t.conf:3", "does not exist; keepalived skips"},
		{"unbalanced", rest + "virtual_server 10.0.0.1 80 {\n", "t.conf", "keepalived closes them"},
		{"extra brace", "}\n" + rest, "t.conf:1", "extra '}'; keepalived ignores it"},
		{"bad vs address", "virtual_server 10.0.0.256 80 {\n real_server 10.8.8.7 80 {\n }\n}\n" + rest, "t.conf:1", "keepalived skips this virtual server"},
		{"bad vs port", "virtual_server 10.0.0.1 http {\n}\n" + rest, "t.conf:1", "keepalived skips this virtual server"},
		{"bad rs address", "virtual_server 10.0.0.1 80 {\n real_server fe80::1%eth0 80 {\n }\n}\n" + rest, "t.conf:2", "keepalived skips this real server"},
		{"bad group entry", "virtual_server_group G {\n 10.0.0.1-0 80\n}\n" + rest, "t.conf:2", "keepalived skips the entry"},
		{"unknown lb_kind", "virtual_server 10.0.0.1 80 {\n lb_kind DSR\n}\n" + rest, "t.conf:2", `unknown lb_kind "DSR"`},
		{"undefined name", "$A=1\nvirtual_server $VIP 80 {\n}\n" + rest, "t.conf:2", `$VIP is not defined (or cannot be substituted here); keepalived uses the text "$VIP" literally`},
		{"bad ~SEQ", "~SEQ(i) x\n" + rest, "t.conf:1", "keepalived drops the line"},
		{"unknown tunnel type", "virtual_server 10.0.0.1 80 {\n lb_kind TUN type vxlan\n}\n" + rest, "t.conf:2", "unknown tunnel type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, diags := Parse("t.conf", tc.conf, Options{BaseDir: t.TempDir()})
			warningAt(t, diags, tc.pos, tc.summary)
			found := false
			for _, vs := range cfg.VirtualServers {
				if vs.Address.String() == "10.9.9.9" && len(vs.RealServers) == 1 && vs.RealServers[0].Address.String() == "10.8.8.8" {
					found = true
				}
			}
			if !found {
				t.Fatalf("the rest of the configuration was not read: %+v", cfg.VirtualServers)
			}
		})
	}
}

func TestDepthLimit(t *testing.T) {
	files := map[string]string{}
	for i := 0; i < 40; i++ {
		files[filepath.Join("d", strings.Repeat("x", i+1)+".conf")] = "include " + strings.Repeat("x", i+2) + ".conf\n"
	}
	dir := writeFiles(t, files)
	_, diags := Parse("t.conf", "include d/x.conf\n", Options{BaseDir: dir})
	errorAt(t, diags, ".conf:1", "nested deeper than 32")
}

func TestKeepalivedQuirks(t *testing.T) {
	dir := writeFiles(t, map[string]string{"inc/a.inc": "$X=10.1.1.1\n", "inc/.hidden.inc": "$X=bad\n"})
	cfg, diags := Parse("t.conf", `include inc/*.inc
$LINES=real_server $X 80 { \
   weight 4 \
}
virtual_server $X 80 {
    protocol tcp
    lb_kind DR
    $LINES
    real_server 10.2.2.2 {
    }
    real_server 10.2.2.2 80 {
    }
    sorry_server 10.3.3.3 8080
}
`, Options{BaseDir: dir})
	if diags.HasError() {
		t.Fatal(diags)
	}
	vs := cfg.VirtualServers[0]
	if vs.Address.String() != "10.1.1.1" || vs.Protocol != ProtocolTCP || len(vs.RealServers) != 3 {
		t.Fatalf("%+v", vs)
	}
	// The two 10.2.2.2 entries differ before keepalived fills in the port, so both stay.
	if rs := vs.RealServers[1]; rs.Port != 80 || rs.Weight != 1 || rs.Method != MethodDR || rs.Pos.Line != 9 {
		t.Fatalf("%+v", rs)
	}
	if rs := vs.RealServers[0]; rs.Address.String() != "10.1.1.1" || rs.Weight != 4 || rs.Pos.Line != 8 {
		t.Fatalf("%+v", rs)
	}
	if s := vs.SorryServer; s == nil || s.Port != 80 || s.Method != MethodDR {
		t.Fatalf("sorry %+v", s)
	}
	if len(cfg.Files) != 2 || !strings.HasSuffix(cfg.Files[1], "inc/a.inc") {
		t.Fatalf("files %v (dot files must not match a wildcard)", cfg.Files)
	}
}

// TestPipelineMatchesSequential: the concurrent reader/dispatcher (large inputs, several CPUs)
// gives exactly the sequential result, diagnostics in the same order.
func TestPipelineMatchesSequential(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.conf")
	if _, err := writeLargeConfig(path, 800, 10); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString("bogus_root 1\nvirtual_server 10.99.0.1 80 {\n  what ever\n  real_server 10.99.1.1 80 {\n    lvs_method DR\n  }\n}\nvirtual_server 10.99.0.2 80 {\n}\n")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	seqCfg, seqDiags := func() (*Config, Diagnostics) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
		return ParseFile(path, Options{})
	}()
	old := runtime.GOMAXPROCS(pipelineCPUs)
	defer runtime.GOMAXPROCS(old)
	cfg, diags := ParseFile(path, Options{})
	if !reflect.DeepEqual(cfg, seqCfg) {
		t.Fatal("pipelined and sequential results differ")
	}
	if !reflect.DeepEqual(diags, seqDiags) || len(diags) < 4 {
		t.Fatalf("diagnostics differ:\n%v\n%v", diags, seqDiags)
	}
}
