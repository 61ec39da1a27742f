package provider

import (
	"context"
	"fmt"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// interfaceClaims records, for one Terraform graph walk (one provider configuration), which
// vip_dummy_interface creates name which interface on which host, so that two new resources that
// would fight over one interface (each removing the other's addresses, one deleting it on
// destroy) are an error at plan time. Only creates claim (a plan without prior state: a new
// resource, or the create half of a replacement): Terraform plans a replacement twice in one walk,
// first with its prior state, then as a create, so an update's plan cannot tell itself from a
// second resource. A new resource that names an interface an existing resource manages is
// refused at apply instead (target.ExistsError). Configure builds new claims for every walk.
// The zero value is ready to use.
type interfaceClaims struct {
	canonical func(host string) (string, error) // as hostLocks.canonical

	mu     sync.Mutex
	claims map[string]string // canonical host + "/" + name -> the host as the first resource wrote it
}

// claim records host/name; it returns the host as the first claimer wrote it when another
// resource of this walk has claimed the same interface already.
func (c *interfaceClaims) claim(host, name string) (first string, taken bool) {
	key := "local"
	if host != "" {
		key = host
		if c.canonical != nil {
			if a, err := c.canonical(host); err == nil {
				key = a
			}
		}
	}
	key += "/" + name
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.claims == nil {
		c.claims = map[string]string{}
	}
	if first, taken := c.claims[key]; taken {
		return first, true
	}
	c.claims[key] = host
	return "", false
}

// claimInterface is the part of ModifyPlan that catches two resources naming one interface.
func (r *dummyInterfaceResource) claimInterface(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if r.data == nil || !req.State.Raw.IsNull() {
		return
	}
	var host, name types.String
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("host"), &host)...)
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("name"), &name)...)
	if resp.Diagnostics.HasError() || host.IsUnknown() || name.IsUnknown() {
		return
	}
	first, taken := r.data.interfaceClaims.claim(host.ValueString(), name.ValueString())
	if !taken {
		return
	}
	where := "this machine"
	if h := host.ValueString(); h != "" {
		where = fmt.Sprintf("host %q", h)
		if first != h {
			where += fmt.Sprintf(" (the same host as %q)", first)
		}
	}
	resp.Diagnostics.AddAttributeError(path.Root("name"), "Interface managed by two resources",
		fmt.Sprintf("Another vip_dummy_interface in this configuration also manages interface %q on %s. Two resources would undo each "+
			"other's changes, and destroying one would delete the other's interface. Give each interface on a host exactly one resource "+
			"(put all its addresses in one addresses set), or choose another name.", name.ValueString(), where))
}
