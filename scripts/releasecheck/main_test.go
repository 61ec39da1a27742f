package main

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// fakeDist writes a dist directory as goreleaser would for the given platforms, each archive
// holding this test binary (a real executable, of runtime.GOOS/GOARCH), and returns it with the
// manifest path.
func fakeDist(t *testing.T, withManifestCopy bool, platforms ...string) (dist, manifest string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	dist = t.TempDir()
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dist, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("metadata.json", []byte(`{"project_name":"terraform-provider-vip","version":"1.2.3-SNAPSHOT-abc","commit":"abc"}`))
	manifestJSON := []byte(`{"version": 1, "metadata": {"protocol_versions": ["6.0"]}}`)
	manifest = filepath.Join(t.TempDir(), "terraform-registry-manifest.json")
	if err := os.WriteFile(manifest, manifestJSON, 0o644); err != nil {
		t.Fatal(err)
	}
	prefix := "terraform-provider-vip_1.2.3-SNAPSHOT-abc"
	if withManifestCopy {
		write(prefix+"_manifest.json", manifestJSON)
	}
	var sums strings.Builder
	for _, p := range platforms {
		name := prefix + "_" + p + ".zip"
		f, err := os.Create(filepath.Join(dist, name))
		if err != nil {
			t.Fatal(err)
		}
		zw := zip.NewWriter(f)
		h := &zip.FileHeader{Name: "terraform-provider-vip_v1.2.3-SNAPSHOT-abc", Method: zip.Store}
		h.SetMode(0o755)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(bin); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		sum, err := sha256File(filepath.Join(dist, name))
		if err != nil {
			t.Fatal(err)
		}
		sums.WriteString(sum + "  " + name + "\n")
	}
	ms := sha256.Sum256(manifestJSON)
	sums.WriteString(hex.EncodeToString(ms[:]) + "  " + prefix + "_manifest.json\n")
	write(prefix+"_SHA256SUMS", []byte(sums.String()))
	return dist, manifest
}

func TestReleaseCheck(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the fixtures are this test binary, read as a Linux ELF")
	}
	self := platform{runtime.GOOS, runtime.GOARCH}
	other := platform{"linux", "arm64"}
	if runtime.GOARCH == "arm64" {
		other.goarch = "amd64"
	}

	for _, copied := range []bool{false, true} { // goreleaser leaves the manifest out of dist
		dist, manifest := fakeDist(t, copied, self.String())
		if rep, err := check(dist, manifest, []platform{self}); err != nil || len(rep) != 2 {
			t.Fatalf("a good release (manifest in dist: %v): %v %q", copied, err, rep)
		}
	}

	for _, tc := range []struct {
		name  string
		dist  []string
		want  []platform
		spoil func(dist, manifest string)
		err   string
	}{
		{name: "missing archive", dist: []string{self.String()}, want: []platform{self, {"freebsd", "arm64"}},
			err: "_freebsd_arm64.zip: missing"},
		{name: "extra archive", dist: []string{self.String(), "plan9_386"}, want: []platform{self},
			err: "unexpected archive terraform-provider-vip_1.2.3-SNAPSHOT-abc_plan9_386.zip"},
		{name: "binary of another platform", dist: []string{other.String()}, want: []platform{other},
			err: "is built for " + self.String() + ", not " + other.String()},
		{name: "wrong sum", dist: []string{self.String()}, want: []platform{self},
			spoil: func(dist, _ string) {
				f := filepath.Join(dist, "terraform-provider-vip_1.2.3-SNAPSHOT-abc_manifest.json")
				if err := os.WriteFile(f, []byte(`{"metadata":{"protocol_versions":["6.0"]},"version":1}`), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			err: "_manifest.json has sha256"},
		{name: "manifest differs", dist: []string{self.String()}, want: []platform{self},
			spoil: func(dist, _ string) {
				f := filepath.Join(dist, "terraform-provider-vip_1.2.3-SNAPSHOT-abc_manifest.json")
				if err := os.WriteFile(f, []byte(`{"version":1,"metadata":{"protocol_versions":["5.0"]}}`), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			err: "_manifest.json: differs from"},
		{name: "manifest for protocol 5", dist: []string{self.String()}, want: []platform{self},
			spoil: func(dist, manifest string) {
				proto5 := []byte(`{"version":1,"metadata":{"protocol_versions":["5.0"]}}`)
				for _, f := range []string{filepath.Join(dist, "terraform-provider-vip_1.2.3-SNAPSHOT-abc_manifest.json"), manifest} {
					if err := os.WriteFile(f, proto5, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			},
			err: "protocol_versions [5.0]"},
		{name: "sums miss a file", dist: []string{self.String()}, want: []platform{self},
			spoil: func(dist, _ string) {
				f := filepath.Join(dist, "terraform-provider-vip_1.2.3-SNAPSHOT-abc_SHA256SUMS")
				b, _ := os.ReadFile(f)
				lines := strings.SplitAfter(string(b), "\n")
				if err := os.WriteFile(f, []byte(lines[0]), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			err: "_SHA256SUMS lists"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dist, manifest := fakeDist(t, true, tc.dist...)
			if tc.spoil != nil {
				tc.spoil(dist, manifest)
			}
			_, err := check(dist, manifest, tc.want)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("got %v, want an error containing %q", err, tc.err)
			}
		})
	}
}
