package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/vip-manager/terraform-provider-vip/internal/keepalived"
	"github.com/vip-manager/terraform-provider-vip/internal/vipset"
)

var _ datasource.DataSource = (*keepalivedConfigDataSource)(nil)

// NewKeepalivedConfigDataSource returns the vip_keepalived_config data source.
func NewKeepalivedConfigDataSource() datasource.DataSource { return &keepalivedConfigDataSource{} }

type keepalivedConfigDataSource struct{}

// strictDetail is the detail of a warning that strict = true turned into an error.
func strictDetail(detail string) string {
	const why = "keepalived runs with this configuration; strict = true refuses it."
	if detail == "" {
		return why
	}
	return detail + " " + why
}

// maxWarnings keeps a noisy configuration from burying the plan: the rest are summed up.
const maxWarnings = 25

// keepalivedConfigModel reads the configuration; the computed attributes are written as one
// tftypes.Value (keepalived_config_data_source_state.go), so they stay untyped here.
type keepalivedConfigModel struct {
	Path              types.String `tfsdk:"path"`
	Content           types.String `tfsdk:"content"`
	BaseDir           types.String `tfsdk:"base_dir"`
	ConfigID          types.String `tfsdk:"config_id"`
	ForwardingMethods types.List   `tfsdk:"forwarding_methods"`
	Strict            types.Bool   `tfsdk:"strict"`
	RealServers       types.Map    `tfsdk:"real_servers"`
	VirtualServers    types.List   `tfsdk:"virtual_servers"`
	Files             types.List   `tfsdk:"files"`
	SHA256            types.String `tfsdk:"sha256"`
	PortConflicts     types.List   `tfsdk:"port_conflicts"`
}

func (d *keepalivedConfigDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_keepalived_config"
}

func backendAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"address":           schema.StringAttribute{Computed: true, MarkdownDescription: "Canonical address of the server."},
		"port":              schema.Int64Attribute{Computed: true, MarkdownDescription: "Port keepalived installs (the virtual server's port for DR and TUN, 0 for fwmark services)."},
		"weight":            schema.Int64Attribute{Computed: true, MarkdownDescription: "Initial weight."},
		"forwarding_method": schema.StringAttribute{Computed: true, MarkdownDescription: "Effective forwarding method: `NAT`, `DR` or `TUN`."},
	}
}

func (d *keepalivedConfigDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads a keepalived.conf exactly as keepalived 2.x reads it and tells, per real server, which VIPs it " +
			"must hold locally: the VIPs of the services it is reached by with direct routing or tunnelling. Includes, " +
			"`$NAME` definitions, `@id` conditionals, `~SEQ`/`~LST`, virtual server groups (ranges, CIDR, IPv6, fwmark) and " +
			"keepalived's defaults and dropped entries are all applied. For every configuration keepalived runs with, the " +
			"result is what keepalived installs; what it skips, reinterprets or defaults is a warning with file and line " +
			"saying what keepalived does. Errors are only for what stops keepalived, what cannot be read and resource " +
			"limits, unless `strict` is set.",
		Attributes: map[string]schema.Attribute{
			"path": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Path of the main keepalived.conf. Includes resolve relative to the including file, as in keepalived. Exactly one of `path` and `content` is required.",
				Validators: []validator.String{
					stringvalidator.ExactlyOneOf(path.MatchRoot("path"), path.MatchRoot("content")),
					stringvalidator.LengthAtLeast(1),
				},
			},
			"content": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "The configuration text itself. Includes are only allowed when `base_dir` is set.",
			},
			"base_dir": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Directory that relative includes in `content` resolve against.",
				Validators: []validator.String{
					stringvalidator.ConflictsWith(path.MatchRoot("path")),
					stringvalidator.LengthAtLeast(1),
				},
			},
			"config_id": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "keepalived's config id (`keepalived -i ID`), for `@ID` and `@^ID` lines. Unset, `@ID` lines are dropped " +
					"and `@^ID` lines kept, as with an id no line names.",
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"forwarding_methods": schema.ListAttribute{
				ElementType: types.StringType,
				Optional:    true,
				Computed:    true,
				MarkdownDescription: "Forwarding methods whose real servers must hold the VIP locally. Defaults to `[\"DR\", \"TUN\"]`; " +
					"`NAT` real servers are reached at their own address.",
				Validators: []validator.List{
					listvalidator.SizeAtLeast(1),
					listvalidator.UniqueValues(),
					listvalidator.ValueStringsAre(stringvalidator.OneOf("NAT", "DR", "TUN")),
				},
			},
			"strict": schema.BoolAttribute{
				Optional: true,
				MarkdownDescription: "Turn every warning about what keepalived skips, reinterprets or defaults into an error, so that " +
					"a pipeline refuses a sloppy keepalived.conf before it reaches a director. Default `false`: such a " +
					"configuration is read as keepalived reads it, with warnings.",
			},
			"real_servers": schema.MapAttribute{
				ElementType: types.ListType{ElemType: types.StringType},
				Computed:    true,
				MarkdownDescription: "The VIPs each real or sorry server reached by one of `forwarding_methods` must hold, keyed by " +
					"the server's canonical address: canonical VIPs, IPv4 before IPv6, in numeric order, without duplicates. " +
					"A server missing here needs no VIP. The services behind a server's VIPs (ports, weights, methods, sorry " +
					"servers) are in `virtual_servers`, each with its real servers: they are not repeated here, which keeps " +
					"a large configuration's plan fast.",
			},
			"virtual_servers": schema.ListNestedAttribute{
				Computed: true,
				MarkdownDescription: "Every service keepalived would install, in file order: a virtual server with an address, " +
					"one element per address of a `virtual_server group`, or a fwmark service. Dropped entries are absent.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"address":           schema.StringAttribute{Computed: true, MarkdownDescription: "VIP (null for fwmark services)."},
					"port":              schema.Int64Attribute{Computed: true, MarkdownDescription: "Port (0 for fwmark and all-ports services)."},
					"protocol":          schema.StringAttribute{Computed: true, MarkdownDescription: "`TCP`, `UDP`, `SCTP` or `NONE` (fwmark); keepalived defaults to `UDP`."},
					"fwmark":            schema.Int64Attribute{Computed: true, MarkdownDescription: "Firewall mark (null unless a fwmark service)."},
					"group":             schema.StringAttribute{Computed: true, MarkdownDescription: "virtual_server_group name (null unless from a group)."},
					"forwarding_method": schema.StringAttribute{Computed: true, MarkdownDescription: "Default forwarding method of the virtual server (keepalived defaults to `NAT`)."},
					"file":              schema.StringAttribute{Computed: true, MarkdownDescription: "File of the virtual_server line."},
					"line":              schema.Int64Attribute{Computed: true, MarkdownDescription: "Line of the virtual_server line."},
					"real_servers": schema.ListNestedAttribute{
						Computed:            true,
						MarkdownDescription: "Real servers, in keepalived's order.",
						NestedObject:        schema.NestedAttributeObject{Attributes: backendAttributes()},
					},
					"sorry_server": schema.SingleNestedAttribute{
						Computed:            true,
						MarkdownDescription: "Sorry server, if any.",
						Attributes:          backendAttributes(),
					},
				}},
			},
			"files": schema.ListAttribute{
				ElementType:         types.StringType,
				Computed:            true,
				MarkdownDescription: "Every file read, in the order keepalived opens them.",
			},
			"sha256": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "SHA-256 of the expanded configuration text (after includes, definitions, conditionals and sequences).",
			},
			"port_conflicts": schema.ListNestedAttribute{
				Computed: true,
				MarkdownDescription: "Real servers that hold a VIP for some ports while other ports of that VIP are served only by " +
					"other servers: their own connections to those ports are delivered locally and fail. Each is also a warning. " +
					"Use it in a `check` block or a precondition to refuse such a configuration.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"real_server":    schema.StringAttribute{Computed: true, MarkdownDescription: "Real server address."},
					"vip":            schema.StringAttribute{Computed: true, MarkdownDescription: "VIP it holds."},
					"served_ports":   schema.ListAttribute{ElementType: types.StringType, Computed: true, MarkdownDescription: "Ports of the VIP it serves, as `PROTOCOL/PORT`."},
					"unserved_ports": schema.ListAttribute{ElementType: types.StringType, Computed: true, MarkdownDescription: "Ports of the VIP only other servers serve."},
					"file":           schema.StringAttribute{Computed: true, MarkdownDescription: "File of the first virtual_server serving an unserved port."},
					"line":           schema.Int64Attribute{Computed: true, MarkdownDescription: "Its line."},
					"message":        schema.StringAttribute{Computed: true, MarkdownDescription: "Human-readable description, with every file:line."},
				}},
			},
		},
	}
}

func (d *keepalivedConfigDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	state := d.readState(ctx, req, resp)
	if state == nil {
		return
	}
	raw, err := (&tfprotov6.DynamicValue{MsgPack: state}).Unmarshal(req.Config.Raw.Type())
	if err != nil {
		resp.Diagnostics.AddError("Decoding the result", err.Error())
		return
	}
	resp.State.Raw = raw
}

// readState does Read's work and returns the state in the protocol's encoding (nil after an
// error), for Read and for the provider's server, which sends it as it is (NewProtocol6Server).
func (d *keepalivedConfigDataSource) readState(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) []byte {
	var m keepalivedConfigModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return nil
	}

	methodNames := []string{"DR", "TUN"}
	if !m.ForwardingMethods.IsNull() && !m.ForwardingMethods.IsUnknown() {
		methodNames = nil
		resp.Diagnostics.Append(m.ForwardingMethods.ElementsAs(ctx, &methodNames, false)...)
		if resp.Diagnostics.HasError() {
			return nil
		}
	}
	methods := make([]keepalived.Method, 0, len(methodNames))
	for _, n := range methodNames {
		meth, ok := keepalived.ParseMethod(n)
		if !ok {
			resp.Diagnostics.AddAttributeError(path.Root("forwarding_methods"), "Invalid forwarding method",
				fmt.Sprintf("%q is not one of NAT, DR, TUN.", n))
			return nil
		}
		methods = append(methods, meth)
	}
	opts := keepalived.Options{ConfigID: m.ConfigID.ValueString(), BaseDir: m.BaseDir.ValueString()}
	var (
		cfg   *keepalived.Config
		kdiag keepalived.Diagnostics
	)
	if !m.Path.IsNull() {
		cfg, kdiag = keepalived.ParseFileContext(ctx, m.Path.ValueString(), opts)
	} else {
		cfg, kdiag = keepalived.ParseContext(ctx, "content", m.Content.ValueString(), opts)
	}
	warnings := 0
	warn := func(summary, detail string) {
		warnings++
		if warnings <= maxWarnings {
			resp.Diagnostics.AddWarning(summary, detail)
		}
	}
	// strict = true: keepalived's complaints are errors (as many as warnings would be shown).
	strict := m.Strict.ValueBool()
	for _, kd := range kdiag {
		summary := fmt.Sprintf("keepalived.conf %s: %s", kd.Pos, kd.Summary)
		switch {
		case kd.Severity == keepalived.SeverityError:
			resp.Diagnostics.AddError(summary, kd.Detail)
		case strict:
			warnings++
			if warnings <= maxWarnings {
				resp.Diagnostics.AddError(summary, strictDetail(kd.Detail))
			}
		default:
			warn(summary, kd.Detail)
		}
	}
	if strict && warnings > maxWarnings {
		resp.Diagnostics.AddError(fmt.Sprintf("keepalived.conf: %d more errors (strict)", warnings-maxWarnings), "Only the first are shown.")
	}
	if kdiag.HasError() || (strict && len(kdiag) > 0) {
		// Never a partial result: a resource must not converge to a VIP list read from a
		// configuration keepalived would read differently.
		return nil
	}
	res, err := vipset.Build(cfg, vipset.Options{Methods: methods})
	if err != nil {
		resp.Diagnostics.AddError("keepalived.conf: too many services", err.Error())
		return nil
	}
	for _, n := range res.Notices {
		warn(fmt.Sprintf("keepalived.conf %s: %s", n.Pos, n.Summary), "")
	}
	for _, c := range res.Conflicts {
		warn(fmt.Sprintf("keepalived.conf %s: port conflict: real server %s, VIP %s", c.Pos, c.RealServer, c.VIP), c.Message())
	}
	if warnings > maxWarnings {
		resp.Diagnostics.AddWarning(fmt.Sprintf("keepalived.conf: %d more warnings", warnings-maxWarnings),
			"Only the first warnings are shown.")
	}

	state, err := encodeKeepalivedConfigState(req.Config.Raw, methodNames, cfg, res)
	if err != nil {
		resp.Diagnostics.AddError("Encoding the result", err.Error())
		return nil
	}
	return state
}
