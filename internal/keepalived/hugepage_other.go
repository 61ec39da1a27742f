//go:build !linux

package keepalived

func adviseHugePages([]byte) {}
