// Package provider is the Terraform glue of the vip provider: schemas, models, CRUD, import and
// diagnostics. The work itself lives in the packages below it (keepalived, vipset, target, sshconn).
package provider

import (
	"context"
	"runtime"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"

	"github.com/vip-manager/terraform-provider-vip/internal/target/netlinkhost"
)

var _ provider.Provider = (*vipProvider)(nil)

// New returns a constructor of the provider, as providerserver expects.
func New(version string) func() provider.Provider {
	return func() provider.Provider { return &vipProvider{version: version, goos: runtime.GOOS} }
}

type vipProvider struct {
	version string
	// goos is the system the provider runs on (runtime.GOOS; tests set others): local mode, a
	// vip_dummy_interface without host, works only on Linux.
	goos string
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
	localMode := netlinkhost.CheckPlatform(p.goos)
	return []func() resource.Resource{
		func() resource.Resource { return &dummyInterfaceResource{localMode: localMode} },
	}
}

func (p *vipProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		NewKeepalivedConfigDataSource,
	}
}
