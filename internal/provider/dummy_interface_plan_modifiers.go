package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// replaceWhenGone keeps ifindex from state, except when Read found the interface gone (ifindex
// 0, which the kernel never assigns): then the resource is planned for re-creation.
type replaceWhenGone struct{}

func (replaceWhenGone) Description(context.Context) string {
	return "Keeps the interface index; replaces the resource when the interface was deleted outside Terraform."
}

func (m replaceWhenGone) MarkdownDescription(ctx context.Context) string { return m.Description(ctx) }

func (replaceWhenGone) PlanModifyInt64(_ context.Context, req planmodifier.Int64Request, resp *planmodifier.Int64Response) {
	if req.StateValue.IsNull() || req.Plan.Raw.IsNull() {
		return // create or destroy
	}
	if req.StateValue.ValueInt64() == 0 {
		resp.PlanValue = types.Int64Unknown()
		resp.RequiresReplace = true
		return
	}
	if resp.PlanValue.IsUnknown() {
		resp.PlanValue = req.StateValue
	}
}
