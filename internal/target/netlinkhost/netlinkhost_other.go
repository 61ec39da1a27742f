//go:build !linux

package netlinkhost

import (
	"context"
	"runtime"

	"github.com/vip-manager/terraform-provider-vip/internal/target"
)

// Host is this machine, which is not Linux: every call fails with ErrNeedsLinux. It exists so
// that the provider (data source, SSH transport) builds and runs everywhere.
type Host struct{}

var _ target.Target = Host{}

// New returns the Target for this machine.
func New() Host { return Host{} }

// Observe fails: see ErrNeedsLinux.
func (Host) Observe(context.Context, target.IfName, []target.Sysctl) (target.Observation, error) {
	return target.Observation{}, CheckPlatform(runtime.GOOS)
}

// Apply fails without doing anything: see ErrNeedsLinux.
func (Host) Apply(context.Context, target.IfName, []target.Step) error {
	return CheckPlatform(runtime.GOOS)
}
