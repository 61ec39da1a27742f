package provider

import (
	"errors"

	"github.com/vip-manager/terraform-provider-vip/internal/target"
	"github.com/vip-manager/terraform-provider-vip/internal/target/netlinkhost"
	"github.com/vip-manager/terraform-provider-vip/internal/target/sshhost"
)

// targetFor returns the Target for a resource's host: this machine through netlink when host is
// empty, the real server over SSH otherwise. With refresh (Read: refresh and import), the reads of
// one SSH host share one snapshot of it (see sshhost.Snapshots); otherwise every read sees the
// host as it is now, as convergence must.
func (d *providerData) targetFor(host string, refresh bool) (target.Target, error) {
	if host == "" {
		return netlinkhost.New(), nil
	}
	if d.pool == nil {
		return nil, errors.New("the provider is not configured: SSH is not available")
	}
	h, err := sshhost.New(d.pool, host)
	if err != nil {
		return nil, err
	}
	if d.helperPath != "" {
		h = h.WithInstalledHelper(d.helperPath)
	}
	if refresh {
		return h.Refreshing(d.snapshots), nil
	}
	return h.WithSnapshots(d.snapshots), nil
}
