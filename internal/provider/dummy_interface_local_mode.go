package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

var _ resource.ResourceWithModifyPlan = (*dummyInterfaceResource)(nil)

// ModifyPlan rejects local mode (no host) where it cannot work, at plan rather than at apply: on
// a laptop running macOS or Windows a forgotten host would otherwise plan an interface that the
// apply can never create. An unknown host (known only after apply) passes; a destroy plan always
// passes, so that state written elsewhere can still be removed.
// It also catches two resources that name one interface (see claimInterface), and persist = true
// on a host that was last seen without systemd (see checkPersistPlan).
func (r *dummyInterfaceResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	r.claimInterface(ctx, req, resp)
	r.checkPersistPlan(ctx, req, resp)
	if r.localMode == nil {
		return
	}
	var host types.String
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("host"), &host)...)
	if resp.Diagnostics.HasError() || !host.IsNull() {
		return
	}
	resp.Diagnostics.AddAttributeError(path.Root("host"), "Local mode needs Linux",
		r.localMode.Error()+". Without host, a vip_dummy_interface manages the machine that runs Terraform; "+
			"host takes host, host:port or [v6]:port.")
}
