package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
)

var _ resource.Resource = (*dummyInterfaceResource)(nil)

// NewDummyInterfaceResource returns the vip_dummy_interface resource.
func NewDummyInterfaceResource() resource.Resource { return &dummyInterfaceResource{} }

type dummyInterfaceResource struct{}

func (r *dummyInterfaceResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_dummy_interface"
}

func (r *dummyInterfaceResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Puts exactly a set of VIPs, with ARP suppressed, on a dummy interface.",
		Attributes: map[string]schema.Attribute{
			"name": schema.StringAttribute{Required: true},
		},
	}
}

func (r *dummyInterfaceResource) Create(_ context.Context, _ resource.CreateRequest, resp *resource.CreateResponse) {
	resp.Diagnostics.AddError("Not implemented", "vip_dummy_interface is not implemented yet.")
}

func (r *dummyInterfaceResource) Read(context.Context, resource.ReadRequest, *resource.ReadResponse) {
}

func (r *dummyInterfaceResource) Update(_ context.Context, _ resource.UpdateRequest, resp *resource.UpdateResponse) {
	resp.Diagnostics.AddError("Not implemented", "vip_dummy_interface is not implemented yet.")
}

func (r *dummyInterfaceResource) Delete(context.Context, resource.DeleteRequest, *resource.DeleteResponse) {
}
