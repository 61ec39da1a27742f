package provider

import (
	"errors"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vip-manager/terraform-provider-vip/internal/target"
)

// hostTarget is the one place every operation finds the target of its host (see
// providerData.targetFor). A write (refresh false) also takes the host's lock, released by the
// returned function; a read (refresh true) changes nothing, takes no lock and may share a host
// snapshot with the other reads of the same refresh. When the host cannot be reached it adds the
// "Cannot reach host" error on `host` and returns ok false.
func (r *dummyInterfaceResource) hostTarget(host types.String, refresh bool, diags *diag.Diagnostics) (t target.Target, unlock func(), ok bool) {
	t, unlock, err := r.lookup(host, refresh)
	if err != nil {
		diags.AddAttributeError(path.Root("host"), "Cannot reach host", err.Error())
		return nil, nil, false
	}
	return t, unlock, true
}

func (r *dummyInterfaceResource) lookup(host types.String, refresh bool) (target.Target, func(), error) {
	if r.data == nil {
		return nil, nil, errors.New("the provider is not configured")
	}
	t, err := r.data.targetFor(host.ValueString(), refresh)
	if err != nil {
		return nil, nil, err
	}
	if refresh {
		return t, func() {}, nil
	}
	return t, r.data.dummyLocks.lock(host.ValueString()), nil
}

// hostOrLocal names a resource's host in messages: the host as written, or this machine.
func hostOrLocal(host types.String) string {
	if h := host.ValueString(); h != "" {
		return h
	}
	return "this machine"
}
