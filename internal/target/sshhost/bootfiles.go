package sshhost

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/vip-manager/terraform-provider-vip/internal/target"
)

// encodeBootStep renders a validated file step as helper request lines: a file's content travels
// as one "|TEXT" line per line of it.
func encodeBootStep(s target.Step) string {
	switch s.Op {
	case target.OpWriteFile:
		lines := strings.Split(strings.TrimSuffix(s.Content, "\n"), "\n")
		return "write " + s.Path + " " + strconv.Itoa(len(lines)) + "\n|" + strings.Join(lines, "\n|")
	case target.OpSymlink:
		return "symlink " + s.Path + " " + s.Content
	case target.OpRemoveFile:
		return "remove " + s.Path
	}
	return "reload"
}

// parseBoot reads the boot-file part of an observe answer (after the ip JSON): "boot systemd",
// "boot nm", "link PATH TARGET", and "file PATH", its lines ("|TEXT", a last one without newline
// as "~TEXT") and "endfile".
func parseBoot(answer string) (target.BootFiles, error) {
	bf := target.BootFiles{Files: map[string]string{}, Links: map[string]string{}}
	var file string
	var content strings.Builder
	inFile := false
	for _, line := range strings.Split(answer, "\n") {
		if inFile {
			switch {
			case strings.HasPrefix(line, "|"):
				content.WriteString(line[1:] + "\n")
			case strings.HasPrefix(line, "~"):
				content.WriteString(line[1:])
			case line == "endfile":
				bf.Files[file] = content.String()
				inFile = false
			default:
				return bf, fmt.Errorf("the helper's answer breaks off in %s: %q", file, line)
			}
			continue
		}
		switch {
		case line == "boot systemd":
			bf.Systemd = true
		case line == "boot nm":
			bf.NetworkManager = true
		case strings.HasPrefix(line, "link "):
			f := strings.SplitN(line, " ", 3)
			if len(f) == 3 && target.BootPathAllowed(f[1]) {
				bf.Links[f[1]] = f[2]
			}
		case strings.HasPrefix(line, "file "):
			file = strings.TrimPrefix(line, "file ")
			if !target.BootPathAllowed(file) {
				return bf, fmt.Errorf("the helper reported the file %q, which is not a boot file", file)
			}
			content.Reset()
			inFile = true
		}
	}
	if inFile {
		return bf, fmt.Errorf("the helper's answer breaks off in %s", file)
	}
	return bf, nil
}
