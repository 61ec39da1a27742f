package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// privateNoSystemd is the private-state key by which Read, Create and Update tell the next plan
// whether the host runs systemd ("true": it does not), so that persist = true fails at plan there
// rather than at apply. Create and Update record it too, because a plan without refresh (and the
// follow-up plan of `terraform apply`) sees only what the last apply stored.
const privateNoSystemd = "no_systemd"

// recordSystemd keeps what the host was seen to run as init, for checkPersistPlan.
func recordSystemd(ctx context.Context, set func(context.Context, string, []byte) diag.Diagnostics, systemd bool) diag.Diagnostics {
	return set(ctx, privateNoSystemd, []byte(fmt.Sprint(!systemd)))
}

// noSystemdDiag is the error of persist = true on a host without systemd, at plan (seenBy "the
// refresh") or at apply ("this apply"): what is wrong, how it was seen, where, how to fix it.
func noSystemdDiag(host types.String, name, seenBy string) diag.Diagnostic {
	where := "This machine (" + dummyID(host, name) + ")"
	if !host.IsNull() && host.ValueString() != "" {
		where = "The host " + host.ValueString() + " (" + dummyID(host, name) + ")"
	}
	return diag.NewAttributeErrorDiagnostic(path.Root("persist"), "persist = true needs systemd",
		fmt.Sprintf("%s does not run systemd as its init: /run/systemd/system, which systemd creates when it runs as PID 1, "+
			"does not exist there (seen by %s). persist = true writes a systemd unit that recreates the interface at boot, "+
			"and nothing would start it on this host. Nothing was changed: the interface, its addresses and the ARP sysctls "+
			"are as they were, and no boot file was written. Set persist = false for this interface (its VIPs then stay "+
			"runtime state, gone after a reboot until the next apply), or recreate them at boot by other means.", where, seenBy))
}

// checkPersistPlan is the part of ModifyPlan that refuses persist = true for an interface whose
// host, as the refresh (or the last apply) saw it, runs no systemd. A new resource, or one moving
// to another host, has not been read there: its apply fails instead, before it changes anything.
func (r *dummyInterfaceResource) checkPersistPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.State.Raw.IsNull() || req.Private == nil {
		return
	}
	var persist types.Bool
	var name, planHost, stateHost types.String
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("persist"), &persist)...)
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("name"), &name)...)
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("host"), &planHost)...)
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("host"), &stateHost)...)
	if resp.Diagnostics.HasError() || !persist.ValueBool() || planHost.IsUnknown() || planHost.ValueString() != stateHost.ValueString() {
		return
	}
	noSystemd, diags := req.Private.GetKey(ctx, privateNoSystemd)
	resp.Diagnostics.Append(diags...)
	if string(noSystemd) == "true" {
		resp.Diagnostics.Append(noSystemdDiag(planHost, name.ValueString(), "the last read of the host: the refresh before this plan, or the last apply"))
	}
}
