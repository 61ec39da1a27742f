package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
)

// metadata is the part of goreleaser's dist/metadata.json the check needs.
type metadata struct {
	ProjectName string `json:"project_name"`
	Version     string `json:"version"`
}

// check verifies dist against want and returns one report line per archive. Every problem is
// collected, so one run names them all.
func check(dist, manifestPath string, want []platform) ([]string, error) {
	var problems []error
	fail := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }

	var meta metadata
	if b, err := os.ReadFile(filepath.Join(dist, "metadata.json")); err != nil {
		return nil, fmt.Errorf("reading goreleaser's metadata: %w", err)
	} else if err := json.Unmarshal(b, &meta); err != nil || meta.ProjectName == "" || meta.Version == "" {
		return nil, fmt.Errorf("%s: no project_name and version (%v)", filepath.Join(dist, "metadata.json"), err)
	}
	prefix := meta.ProjectName + "_" + meta.Version

	// Exactly one zip per platform.
	found, err := filepath.Glob(filepath.Join(dist, "*.zip"))
	if err != nil {
		return nil, err
	}
	wantZips := map[string]platform{}
	for _, p := range want {
		wantZips[prefix+"_"+p.String()+".zip"] = p
	}
	var report []string
	for _, f := range found {
		if _, ok := wantZips[filepath.Base(f)]; !ok {
			fail("unexpected archive %s (not a platform of the release)", filepath.Base(f))
		}
	}
	var zips []string
	for _, p := range want {
		name := prefix + "_" + p.String() + ".zip"
		zips = append(zips, name)
		line, err := checkArchive(filepath.Join(dist, name), meta, p)
		if err != nil {
			fail("%s: %w", name, err)
			continue
		}
		report = append(report, line)
	}

	// The registry manifest: the release uploads the repository's file under this name (goreleaser
	// puts it in the sums but not in dist); a copy in dist must be the same. The provider speaks
	// protocol 6 only.
	manifest := prefix + "_manifest.json"
	manifestFile := filepath.Join(dist, manifest)
	if _, err := os.Stat(manifestFile); err == nil {
		if err := sameJSON(manifestFile, manifestPath); err != nil {
			fail("%s: %w", manifest, err)
		}
	} else {
		manifestFile = manifestPath
	}
	if err := protocolSix(manifestPath); err != nil {
		fail("%s: %w", manifestPath, err)
	}

	// SHA256SUMS lists the zips and the manifest, nothing else, with their sums.
	sumsName := prefix + "_SHA256SUMS"
	sums, err := readSums(filepath.Join(dist, sumsName))
	if err != nil {
		fail("%s: %w", sumsName, err)
	} else {
		listed := slices.Sorted(maps.Keys(sums))
		wantListed := slices.Sorted(slices.Values(append(slices.Clone(zips), manifest)))
		if !slices.Equal(listed, wantListed) {
			fail("%s lists %v, want %v", sumsName, listed, wantListed)
		}
		for name, sum := range sums {
			file := filepath.Join(dist, name)
			if name == manifest {
				file = manifestFile
			}
			got, err := sha256File(file)
			if err != nil {
				fail("%s: %w", sumsName, err)
			} else if got != sum {
				fail("%s: %s has sha256 %s, the file %s", sumsName, name, sum, got)
			}
		}
		report = append(report, fmt.Sprintf("%s: %d entries, all sums match", sumsName, len(sums)))
	}
	return report, errors.Join(problems...)
}

// checkArchive opens one zip and checks that it holds the provider binary, built for p.
func checkArchive(path string, meta metadata, p platform) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("missing: %w", err)
	}
	zr, err := zip.OpenReader(path)
	if err != nil {
		return "", fmt.Errorf("not a zip: %w", err)
	}
	defer zr.Close()
	binName := meta.ProjectName + "_v" + meta.Version
	if p.goos == "windows" {
		binName += ".exe"
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if f.Name != binName {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return "", err
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return "", fmt.Errorf("reading %s: %w", binName, err)
		}
		got, err := binaryPlatform(data)
		if err != nil {
			return "", fmt.Errorf("%s: %w", binName, err)
		}
		if got != p {
			return "", fmt.Errorf("%s is built for %s, not %s", binName, got, p)
		}
		if p.goos != "windows" && f.Mode()&0o111 == 0 {
			return "", fmt.Errorf("%s is not executable (mode %v)", binName, f.Mode())
		}
		return fmt.Sprintf("%-60s %6.1f MB  %s (%s)", filepath.Base(path), float64(st.Size())/1e6, binName, got), nil
	}
	return "", fmt.Errorf("no %s at the top of the archive (it holds %v)", binName, names)
}

// binaryPlatform reads GOOS/GOARCH from an executable's header. Go marks FreeBSD ELF files with
// the FreeBSD OS ABI and Linux ones with none.
func binaryPlatform(data []byte) (platform, error) {
	r := bytes.NewReader(data)
	if f, err := elf.NewFile(r); err == nil {
		goos := map[elf.OSABI]string{elf.ELFOSABI_NONE: "linux", elf.ELFOSABI_LINUX: "linux", elf.ELFOSABI_FREEBSD: "freebsd"}[f.OSABI]
		goarch := map[elf.Machine]string{elf.EM_386: "386", elf.EM_X86_64: "amd64", elf.EM_ARM: "arm", elf.EM_AARCH64: "arm64"}[f.Machine]
		if goos == "" || goarch == "" {
			return platform{}, fmt.Errorf("ELF for OS ABI %v, machine %v", f.OSABI, f.Machine)
		}
		return platform{goos, goarch}, nil
	}
	if f, err := macho.NewFile(r); err == nil {
		goarch := map[macho.Cpu]string{macho.CpuAmd64: "amd64", macho.CpuArm64: "arm64"}[f.Cpu]
		if goarch == "" || f.Type != macho.TypeExec {
			return platform{}, fmt.Errorf("Mach-O of type %v for %v", f.Type, f.Cpu)
		}
		return platform{"darwin", goarch}, nil
	}
	if f, err := pe.NewFile(r); err == nil {
		goarch := map[uint16]string{pe.IMAGE_FILE_MACHINE_AMD64: "amd64", pe.IMAGE_FILE_MACHINE_ARM64: "arm64", pe.IMAGE_FILE_MACHINE_I386: "386"}[f.Machine]
		if goarch == "" || f.Characteristics&pe.IMAGE_FILE_EXECUTABLE_IMAGE == 0 {
			return platform{}, fmt.Errorf("PE for machine %#x, characteristics %#x", f.Machine, f.Characteristics)
		}
		return platform{"windows", goarch}, nil
	}
	return platform{}, errors.New("not an ELF, Mach-O or PE executable")
}

// readSums parses a SHA256SUMS file: `<64 hex digits>  <name>` per line.
func readSums(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if _, err := hex.DecodeString(sum); !ok || err != nil || len(sum) != 64 || name == "" || strings.ContainsAny(name, `/\`) {
			return nil, fmt.Errorf("line %d is not `<sha256>  <file name>`: %q", n, sc.Text())
		}
		if _, dup := sums[name]; dup {
			return nil, fmt.Errorf("line %d lists %s again", n, name)
		}
		sums[name] = sum
	}
	return sums, sc.Err()
}

func sha256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// sameJSON says whether two files hold the same JSON value.
func sameJSON(got, want string) error {
	var g, w any
	for _, f := range []struct {
		path string
		v    *any
	}{{got, &g}, {want, &w}} {
		b, err := os.ReadFile(f.path)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, f.v); err != nil {
			return fmt.Errorf("%s: %w", f.path, err)
		}
	}
	if !reflect.DeepEqual(g, w) {
		return fmt.Errorf("differs from %s", want)
	}
	return nil
}

// protocolSix checks that a registry manifest declares plugin protocol 6.0 and only it.
func protocolSix(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var m struct {
		Version  int `json:"version"`
		Metadata struct {
			ProtocolVersions []string `json:"protocol_versions"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if m.Version != 1 || !slices.Equal(m.Metadata.ProtocolVersions, []string{"6.0"}) {
		return fmt.Errorf("version %d, protocol_versions %v; want version 1 and [\"6.0\"] (the provider serves protocol 6)", m.Version, m.Metadata.ProtocolVersions)
	}
	return nil
}
