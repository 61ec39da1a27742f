// Package provider is the Terraform glue of the vip provider: schemas, models, CRUD, import and
// diagnostics. The work itself lives in the packages below it (keepalived, vipset, target, sshconn).
package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
)

var _ provider.Provider = (*vipProvider)(nil)

// New returns a constructor of the provider, as providerserver expects.
func New(version string) func() provider.Provider {
	return func() provider.Provider { return &vipProvider{version: version} }
}

type vipProvider struct {
	version string
}

type vipProviderModel struct {
	SSH *sshModel `tfsdk:"ssh"`
}

func (p *vipProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "vip"
	resp.Version = p.version
}

func (p *vipProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Manages the virtual IPs (VIPs) that LVS real servers must hold on a dummy interface, " +
			"as assigned by the directors' keepalived.conf.",
		Attributes: map[string]schema.Attribute{
			"ssh": sshSchemaAttribute(),
		},
	}
}

func (p *vipProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var cfg vipProviderModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	data, diags := newProviderData(ctx, cfg)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.DataSourceData = data
	resp.ResourceData = data
}

func (p *vipProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		NewDummyInterfaceResource,
	}
}

func (p *vipProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		NewKeepalivedConfigDataSource,
	}
}
