package provider

import (
	"errors"

	"github.com/vip-manager/terraform-provider-vip/internal/target"
	"github.com/vip-manager/terraform-provider-vip/internal/target/netlinkhost"
	"github.com/vip-manager/terraform-provider-vip/internal/target/sshhost"
)

// targetFor returns the Target for a resource's host: this machine through netlink when host is
// empty, the real server over SSH otherwise.
func (d *providerData) targetFor(host string) (target.Target, error) {
	if host == "" {
		return netlinkhost.New(), nil
	}
	if d.pool == nil {
		return nil, errors.New("the provider is not configured: SSH is not available")
	}
	return sshhost.New(d.pool, host)
}
