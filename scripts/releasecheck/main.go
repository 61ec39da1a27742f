// Command releasecheck checks the release that goreleaser left in a dist directory, as the
// Terraform Registry will take it: one zip per platform and no other, each holding the provider
// binary built for exactly that platform (read from its ELF, Mach-O or PE header, not from its
// name); a SHA256SUMS file listing every zip and the registry manifest, with the right sums; and
// the manifest itself, the repository's terraform-registry-manifest.json.
//
//	go run ./scripts/releasecheck -dist dist -manifest terraform-registry-manifest.json
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	dist := flag.String("dist", "dist", "goreleaser's output directory")
	manifest := flag.String("manifest", "terraform-registry-manifest.json", "the repository's registry manifest")
	flag.Parse()
	rep, err := check(*dist, *manifest, releasePlatforms())
	for _, line := range rep {
		fmt.Println(line)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "releasecheck:", err)
		os.Exit(1)
	}
}

// platform is one GOOS/GOARCH pair of the release.
type platform struct{ goos, goarch string }

func (p platform) String() string { return p.goos + "_" + p.goarch }

// releasePlatforms are the platforms .goreleaser.yml builds (its targets list).
func releasePlatforms() []platform {
	return []platform{
		{"darwin", "amd64"}, {"darwin", "arm64"},
		{"windows", "amd64"}, {"windows", "arm64"},
		{"linux", "386"}, {"linux", "amd64"}, {"linux", "arm"}, {"linux", "arm64"},
		{"freebsd", "amd64"}, {"freebsd", "arm64"},
	}
}
