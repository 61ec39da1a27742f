package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
)

var _ datasource.DataSource = (*keepalivedConfigDataSource)(nil)

// NewKeepalivedConfigDataSource returns the vip_keepalived_config data source.
func NewKeepalivedConfigDataSource() datasource.DataSource { return &keepalivedConfigDataSource{} }

type keepalivedConfigDataSource struct{}

func (d *keepalivedConfigDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_keepalived_config"
}

func (d *keepalivedConfigDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads keepalived.conf into per-real-server VIP lists.",
		Attributes: map[string]schema.Attribute{
			"path": schema.StringAttribute{Optional: true},
		},
	}
}

func (d *keepalivedConfigDataSource) Read(_ context.Context, _ datasource.ReadRequest, resp *datasource.ReadResponse) {
	resp.Diagnostics.AddError("Not implemented", "vip_keepalived_config is not implemented yet.")
}
