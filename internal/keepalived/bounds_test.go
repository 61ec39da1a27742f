package keepalived

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Bounded reading: every way a configuration (or a file where one is expected) could make the
// reader hang, loop or read without bound ends in an error with a position.

// within fails the test when f does not return within d (a hang is the bug these tests catch).
func within(t *testing.T, d time.Duration, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("no result after %s", d)
	}
}

func TestIncludeLoopDetectedByFileIdentity(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.conf":     "# a\ninclude sub/b.conf\n",
		"sub/b.conf": "include ../link/a.conf\n", // link -> . : a.conf again, by another path
		"c.conf":     "include alias.conf\n",     // alias.conf -> c.conf
	})
	if err := os.Symlink(".", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("c.conf", filepath.Join(dir, "alias.conf")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ main, pos string }{
		{"a.conf", "b.conf:1"},
		{"c.conf", "c.conf:1"},
	} {
		t.Run(tc.main, func(t *testing.T) {
			_, diags := ParseFile(filepath.Join(dir, tc.main), Options{})
			errorAt(t, diags, tc.pos, "include loop")
		})
	}
	// The same file twice in a row is no loop.
	cfg, diags := Parse("t.conf", "include alias.conf\ninclude c.conf\n", Options{BaseDir: writeFiles(t, map[string]string{"c.conf": "# nothing\n", "alias.conf": "# nothing\n"})})
	if diags.HasError() || len(cfg.Files) != 3 {
		t.Fatalf("%v %v", cfg.Files, diags)
	}
}

func TestGlobStopsPastTheFileLimit(t *testing.T) {
	files := map[string]string{}
	for i := range 300 {
		files[filepath.Join("d", strings.Repeat("x", 1+i%7)+itoa(uint64(i))+".conf")] = "# empty\n"
	}
	dir := writeFiles(t, files)
	_, diags := Parse("t.conf", "# many\ninclude d/*.conf\n", Options{BaseDir: dir, Limits: Limits{MaxFiles: 20}})
	errorAt(t, diags, "t.conf:2", "matches more files than the 19 that may still be read")
	// The glob itself gives up once it has more matches than allowed.
	if _, err := globBounded(context.Background(), filepath.Join(dir, "d", "*.conf"), 100000, 10); err != errTooManyMatches {
		t.Fatalf("globBounded: %v, want errTooManyMatches", err)
	}
	if m, err := globBounded(context.Background(), filepath.Join(dir, "d", "*.conf"), 100000, 300); err != nil || len(m) != 300 {
		t.Fatalf("globBounded within the limit: %d matches, %v", len(m), err)
	}
}

func TestCommentsAndNULBytesCountAgainstTheSizeLimit(t *testing.T) {
	limits := Limits{MaxExpandedBytes: 64 << 10}
	comments := strings.Repeat("# a comment line, nothing else\n", 4000)            // ~124 KB
	nul := "virtual_server 10.0.0.1 80 {\x00" + strings.Repeat("z", 100<<10) + "\n" // one line cut at the NUL
	dir := writeFiles(t, map[string]string{"comments.conf": comments, "nul.conf": nul})
	for _, tc := range []struct{ name, conf, pos string }{
		{"comments", comments, "t.conf"},
		{"NUL", nul, "t.conf"},
		{"included comments", "# first\ninclude comments.conf\n", "t.conf:2"},
		{"included NUL", "include nul.conf\n", "t.conf:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := Parse("t.conf", tc.conf, Options{BaseDir: dir, Limits: limits})
			for _, d := range diags.Errors() {
				if strings.HasSuffix(d.Pos.String(), tc.pos) && (strings.Contains(d.Summary, "exceeds") || strings.Contains(d.Summary, "size limit")) {
					return
				}
			}
			t.Fatalf("no size-limit error at %s in:\n%v", tc.pos, diags)
		})
	}
	// Under the limit, the same kind of content reads fine.
	if _, diags := Parse("t.conf", comments[:32<<10], Options{Limits: limits}); diags.HasError() {
		t.Fatal(diags)
	}
}

func TestCancellationStopsARead(t *testing.T) {
	// 10^12 definition lines: without cancellation this would run for days.
	conf := "~SEQ(a, 1, 1000000) ~SEQ(b, 1, 1000000) $X=1\n"
	limits := Limits{MaxSeqValues: 1 << 21, MaxExpandedBytes: 1 << 62}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	within(t, 10*time.Second, func() {
		_, diags := ParseContext(ctx, "t.conf", conf, Options{Limits: limits})
		errorAt(t, diags, "t.conf:1", "reading stopped: context deadline exceeded")
	})
	t.Logf("stopped %s after the read started (deadline 100ms)", time.Since(start).Round(time.Millisecond))

	// A context cancelled before the read: nothing is read.
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	big := strings.Repeat("virtual_server 10.0.0.1 80 {\n}\n", 2000)
	_, diags := ParseContext(ctx, "t.conf", big, Options{})
	errorAt(t, diags, "t.conf", "reading stopped: context canceled")
}

// A definition whose value holds a brace and itself: every piece after the brace substitutes
// again and ends in the definition again (found by FuzzParse). keepalived would read lines for
// ever; the reader counts those substitutions as the line's own.
func TestSelfReferenceThroughABraceStops(t *testing.T) {
	conf := "$OPEN={ virtual_server 10.0.0.1 80 $OPEN\nreal_server 10.0.1.1 80 $OPEN\n"
	within(t, 10*time.Second, func() {
		_, diags := Parse("t.conf", conf, Options{})
		errorAt(t, diags, "t.conf:2", "$NAME substitution does not terminate")
	})
}

// A large configuration's text is garbage once ParseFile returns: no piece of it (a group name,
// a fwmark family, an include path) keeps it in memory, and ParseFile has collected it.
func TestParseFileReleasesTheText(t *testing.T) {
	filler := strings.Repeat("# "+strings.Repeat("x", 78)+"\n", 6<<20/80) // 6 MiB of comments
	dir := writeFiles(t, map[string]string{
		"inc.conf": "virtual_server_group G2 {\n  fwmark 7 inet\n}\n",
		"main.conf": filler + "include inc.conf\nvirtual_server_group G {\n  10.0.0.1 80\n}\n" +
			"virtual_server group G {\n  lb_kind DR\n  protocol TCP\n  real_server 10.0.1.1 80 {\n  }\n}\n" +
			"virtual_server group G2 {\n  lb_kind DR\n  real_server 10.0.1.2 80 {\n  }\n}\n",
	})
	cfg, diags := ParseFile(filepath.Join(dir, "main.conf"), Options{})
	if diags.HasError() || len(cfg.VirtualServers) != 2 || cfg.VirtualServers[0].Group != "G" || len(cfg.Files) != 2 {
		t.Fatalf("%+v %v", cfg, diags)
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	if m.HeapAlloc > uint64(len(filler))/2 {
		t.Errorf("%d bytes of heap in use after reading a %d-byte configuration: its text is still kept", m.HeapAlloc, len(filler))
	}
	runtime.KeepAlive(cfg)
}
