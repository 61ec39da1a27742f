package provider

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/setdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vip-manager/terraform-provider-vip/internal/target"
	"github.com/vip-manager/terraform-provider-vip/internal/target/netlinkhost"
)

var (
	_ resource.Resource                = (*dummyInterfaceResource)(nil)
	_ resource.ResourceWithConfigure   = (*dummyInterfaceResource)(nil)
	_ resource.ResourceWithImportState = (*dummyInterfaceResource)(nil)
)

// NewDummyInterfaceResource returns the vip_dummy_interface resource.
func NewDummyInterfaceResource() resource.Resource {
	return &dummyInterfaceResource{localMode: netlinkhost.CheckPlatform(runtime.GOOS)}
}

type dummyInterfaceResource struct {
	data *providerData
	// localMode is nil where a resource without host can manage this machine (Linux), else the
	// error its plan fails with (see ModifyPlan).
	localMode error
}

type dummyInterfaceModel struct {
	ID            types.String    `tfsdk:"id"`
	Name          types.String    `tfsdk:"name"`
	Host          types.String    `tfsdk:"host"`
	Addresses     addressSetValue `tfsdk:"addresses"`
	ARPIgnore     types.Int64     `tfsdk:"arp_ignore"`
	ARPAnnounce   types.Int64     `tfsdk:"arp_announce"`
	ARPInterfaces types.Set       `tfsdk:"arp_interfaces"`
	Exclusive     types.Bool      `tfsdk:"exclusive"`
	Persist       types.Bool      `tfsdk:"persist"`
	IfIndex       types.Int64     `tfsdk:"ifindex"`
}

// maxARPInterfaces keeps the alias that records them within Linux's 255 bytes.
const maxARPInterfaces = 8

func (r *dummyInterfaceResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_dummy_interface"
}

func (r *dummyInterfaceResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Puts exactly a set of VIPs on a dummy interface of a real server, with ARP for them " +
			"suppressed, as LVS direct routing (DR) and tunnelling (TUN) need. Creates the dummy, sets the " +
			"ARP sysctls before adding any address, adds new addresses before removing old ones, and fails closed: " +
			"if an ARP sysctl cannot be set, no VIP stays on the interface.\n\n" +
			"The interface is marked with an alias (`terraform-provider-vip:...`) that records which ARP sysctls it " +
			"needs and their values before any dummy of this provider changed them, so that destroying the last " +
			"one restores them.\n\n" +
			"**No takeover.** Creating the resource fails, changing nothing, when an interface of that name already " +
			"exists on the host (made by hand, by another tool, by a resource of another state, or by an interrupted " +
			"apply): it may hold someone else's addresses. Adopt it with `terraform import` (ID `<host>/<name>` or " +
			"`local/<name>`) and the plan shows what would change. Two new resources of one configuration that name the same " +
			"interface on the same host (`rs1` and `rs1:22` count as one) are an error at plan time; a new resource that names " +
			"an interface another resource manages fails at apply, as above.\n\n" +
			"**One writer per host.** Terraform runs of other states, other provider aliases or other machines may " +
			"manage dummies on the same host, which share its ARP sysctls. Every apply holds an exclusive `flock` on " +
			"`/run/lock/terraform-provider-vip.lock` on the host (over SSH through the helper, which needs `flock` from " +
			"util-linux; locally through the same file) and first checks, under the lock, that what the plan was " +
			"computed from still holds (the interface, the other managed dummies and their aliases, the ARP sysctls). If " +
			"another run changed them in between, nothing is changed and the resource reads the host and plans again " +
			"(up to three times). An apply waits at most 20 s for another one on the same host.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "`local/<name>` for this machine, `<host>/<name>` for a host reached over SSH. Also the import ID.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "Interface name: 1 to 15 bytes of letters, digits and `-_.@+`. Changing it replaces the interface.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:          []validator.String{ifNameValidator{dummy: true}},
			},
			"host": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "The real server, reached over SSH (see the provider's `ssh` block): `host`, `host:port` or " +
					"`[v6]:port`. Unset: this machine, through netlink. Changing it replaces the interface.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{SSHHostValidator{}},
			},
			"addresses": schema.SetAttribute{
				CustomType:  newAddressSetType(),
				ElementType: types.StringType,
				Required:    true,
				MarkdownDescription: "The VIPs: IPv4 or IPv6 addresses, a bare address meaning /32 or /128. Written the way " +
					"the kernel reports them (`2001:db8::1`, not `2001:DB8::1`) they never show a diff; other spellings of " +
					"the same address are kept as written. A shorter prefix makes the whole subnet local and is warned about.",
				Validators: []validator.Set{addressesValidator{}},
			},
			"arp_ignore": schema.Int64Attribute{
				Optional: true, Computed: true,
				Default:             int64default.StaticInt64(1),
				MarkdownDescription: "Value of `net.ipv4.conf.<if>.arp_ignore` for each of `arp_interfaces`: 1 answers ARP only for addresses on the receiving interface. Default 1.",
				Validators:          []validator.Int64{int64validator.OneOf(0, 1, 2, 3, 8)},
			},
			"arp_announce": schema.Int64Attribute{
				Optional: true, Computed: true,
				Default:             int64default.StaticInt64(2),
				MarkdownDescription: "Value of `net.ipv4.conf.<if>.arp_announce` for each of `arp_interfaces`: 2 never uses a VIP as ARP source. Default 2.",
				Validators:          []validator.Int64{int64validator.Between(0, 2)},
			},
			"arp_interfaces": schema.SetAttribute{
				ElementType: types.StringType,
				Optional:    true, Computed: true,
				Default: setdefault.StaticValue(types.SetValueMust(types.StringType, []attr.Value{types.StringValue("all")})),
				MarkdownDescription: "Interfaces whose ARP sysctls are set; `all` included. The kernel applies the larger of " +
					"`all` and the per-interface value. Default `[\"all\"]`. At most 8.",
				Validators: []validator.Set{
					setvalidator.SizeAtMost(maxARPInterfaces),
					setvalidator.ValueStringsAre(ifNameValidator{}),
				},
			},
			"exclusive": schema.BoolAttribute{
				Optional: true, Computed: true,
				Default:             booldefault.StaticBool(true),
				MarkdownDescription: "Addresses on the interface that are not in `addresses` are drift, shown by plan and removed by apply. Default true. When false, only addresses this resource added are managed.",
			},
			"persist": schema.BoolAttribute{
				Optional: true, Computed: true,
				Default: booldefault.StaticBool(false),
				MarkdownDescription: "Also write what the host needs to recreate exactly this interface, its `addresses` and its ARP " +
					"sysctls at boot, ARP sysctls first: the systemd unit `" + target.BootUnitName + "` (enabled in sysinit.target, " +
					"ordered after systemd-sysctl and before network-pre.target and sysinit.target), the state file `" + target.BootDir + "/<name>.conf`, " +
					"`" + target.SysctlDPath + "`, and files that keep systemd-networkd and NetworkManager off the dummy. Needs " +
					"systemd on the host: where `/run/systemd/system` is missing, true is an error that changes nothing, at plan " +
					"for an interface the provider has read there, else at apply. Read reports true only when those files match this resource exactly, so an edited, " +
					"deleted or disabled file shows as drift. Default false; setting it back to false removes the files.",
			},
			"ifindex": schema.Int64Attribute{
				Computed:            true,
				MarkdownDescription: "The interface's index.",
				PlanModifiers:       []planmodifier.Int64{replaceWhenGone{}},
			},
		},
	}
}

func (r *dummyInterfaceResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if req.ProviderData == nil {
		return
	}
	data, ok := req.ProviderData.(*providerData)
	if !ok {
		resp.Diagnostics.AddError("Unexpected provider data", fmt.Sprintf("Expected *providerData, got %T. This is a bug in the provider.", req.ProviderData))
		return
	}
	r.data = data
}

func (r *dummyInterfaceResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan dummyInterfaceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	spec, diags := specFrom(ctx, plan)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	spec.Create = true // an interface that is already there is not this resource's
	t, unlock, ok := r.hostTarget(plan.Host, false, &resp.Diagnostics)
	if !ok {
		return
	}
	defer unlock()
	res, err := target.Converge(ctx, t, spec)
	r.finish(ctx, plan, plan.Addresses.SetValue, res, err, &resp.State, resp.Private.SetKey, &resp.Diagnostics)
}

func (r *dummyInterfaceResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, prior dummyInterfaceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &prior)...)
	if resp.Diagnostics.HasError() {
		return
	}
	spec, diags := specFrom(ctx, plan)
	resp.Diagnostics.Append(diags...)
	orig, diags := getOriginals(ctx, req.Private.GetKey)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	spec.Originals = orig
	spec.Previous, _ = parseAddressSet(ctx, prior.Addresses.SetValue)
	t, unlock, ok := r.hostTarget(plan.Host, false, &resp.Diagnostics)
	if !ok {
		return
	}
	defer unlock()
	res, err := target.Converge(ctx, t, spec)
	if errors.As(err, new(target.NoSystemdError)) {
		// Refused before any change: the state stays as it was (persist included), so that the
		// next plan shows the same change, and fails at plan, as the host is now recorded.
		resp.Diagnostics.Append(noSystemdDiag(plan.Host, plan.Name.ValueString(), "this apply"))
		resp.Diagnostics.Append(recordSystemd(ctx, resp.Private.SetKey, false)...)
		resp.Diagnostics.Append(resp.State.Set(ctx, &prior)...)
		return
	}
	r.finish(ctx, plan, prior.Addresses.SetValue, res, err, &resp.State, resp.Private.SetKey, &resp.Diagnostics)
}

type stateSetter interface {
	Set(context.Context, any) diag.Diagnostics
}

// finish records the outcome of Converge. On success the state is the plan. On failure it is what
// the host has now, as far as known, so that the next plan shows exactly what is left to do; and
// the original ARP values are kept whatever happened, so that a destroy can restore them.
func (r *dummyInterfaceResource) finish(ctx context.Context, plan dummyInterfaceModel, prior types.Set, res target.Result,
	err error, state stateSetter, setPrivate func(context.Context, string, []byte) diag.Diagnostics, diags *diag.Diagnostics) {
	plan.ID = types.StringValue(dummyID(plan.Host, plan.Name.ValueString()))
	plan.IfIndex = types.Int64Value(int64(res.Index))
	if res.SystemdKnown {
		diags.Append(recordSystemd(ctx, setPrivate, res.Systemd)...)
	}
	if err != nil {
		var nd *target.NotDummyError
		var exists *target.ExistsError
		switch {
		case errors.As(err, new(target.NoSystemdError)):
			// Only a create gets here (Update keeps its prior state): nothing was created.
			diags.Append(noSystemdDiag(plan.Host, plan.Name.ValueString(), "this apply"))
			return
		case errors.As(err, &exists):
			id := plan.ID.ValueString()
			diags.AddAttributeError(path.Root("name"), "Interface already exists",
				fmt.Sprintf("On %s: %v. Nothing was changed. To manage this interface with this resource, import it: "+
					"`terraform import <resource address> %s` (or an import block with id = %q); its addresses then show in the plan before anything changes. "+
					"Otherwise choose another name.", hostOrLocal(plan.Host), exists, id, id))
			return
		case errors.As(err, &nd):
			diags.AddAttributeError(path.Root("name"), "Not a dummy interface", err.Error())
			return
		case res.Unknown || !res.Exists:
			diags.AddError("Cannot converge "+plan.ID.ValueString(), err.Error())
			return
		}
		diags.AddError("Cannot converge "+plan.ID.ValueString(), err.Error())
		plan.Addresses = addressSet(addressValues(ctx, res.Addresses, plan.Addresses.SetValue, prior))
	}
	// False when a boot file could not be written: the next plan shows persist false -> true.
	plan.Persist = types.BoolValue(res.Persisted)
	diags.Append(setOriginals(ctx, setPrivate, res.Originals)...)
	diags.Append(state.Set(ctx, &plan)...)
}

func (r *dummyInterfaceResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var st dummyInterfaceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &st)...)
	if resp.Diagnostics.HasError() {
		return
	}
	t, _, ok := r.hostTarget(st.Host, true, &resp.Diagnostics)
	if !ok {
		return
	}
	name, err := target.ParseIfName(st.Name.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("name"), "Invalid interface name", err.Error())
		return
	}
	ifs, _ := arpInterfaces(ctx, st.ARPInterfaces)
	imported := st.ARPIgnore.IsNull()
	var obs target.Observation
	if imported {
		// Import: the alias says which ARP sysctls a managed interface needs.
		if obs, err = t.Observe(ctx, name, nil); err == nil && obs.Link.Exists {
			if fromAlias, _, ok := target.ParseAlias(obs.Link.Alias); ok && len(fromAlias) > 0 {
				ifs = fromAlias
			}
		}
		if len(ifs) == 0 {
			ifs = []target.IfName{"all"}
		}
	}
	if err == nil {
		obs, err = t.Observe(ctx, name, target.ARPSysctls(ifs))
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot read "+dummyID(st.Host, string(name)), err.Error())
		return
	}
	resp.Diagnostics.Append(recordSystemd(ctx, resp.Private.SetKey, obs.Boot.Systemd)...)
	if !obs.Link.Exists {
		if imported {
			resp.Diagnostics.AddAttributeError(path.Root("name"), "No such interface", fmt.Sprintf("Interface %s does not exist: nothing to import.", name))
			return
		}
		// Gone (deleted by hand): ifindex 0 makes the plan replace the resource (see
		// replaceWhenGone). The resource is kept rather than removed so that its private state
		// still knows the ARP values found before it: the destroy half of the replacement restores
		// them, and the create half records them again instead of recording its own values.
		st.IfIndex = types.Int64Value(0)
		st.Addresses = addressSet(types.SetValueMust(types.StringType, nil))
		resp.Diagnostics.Append(resp.State.Set(ctx, &st)...)
		return
	}
	if obs.Link.Kind != "dummy" {
		nd := &target.NotDummyError{Name: name, Kind: obs.Link.Kind}
		resp.Diagnostics.AddAttributeError(path.Root("name"), "Not a dummy interface", nd.Error())
		return
	}
	st.ID = types.StringValue(dummyID(st.Host, string(name)))
	st.IfIndex = types.Int64Value(int64(obs.Link.Index))
	if imported {
		st.Exclusive = types.BoolValue(true)
		vals := make([]attr.Value, len(ifs))
		for i, ifn := range ifs {
			vals[i] = types.StringValue(string(ifn))
		}
		st.ARPInterfaces = types.SetValueMust(types.StringType, vals)
	}
	prev, _ := parseAddressSet(ctx, st.Addresses.SetValue)
	st.Addresses = addressSet(addressValues(ctx, target.Reported(obs.Link.Addresses, prev, st.Exclusive.ValueBool()), st.Addresses.SetValue))
	if imported {
		// An imported interface persists when its boot files hold what it has now.
		prev, _ = parseAddressSet(ctx, st.Addresses.SetValue)
		st.ARPIgnore = observedARP(obs, ifs, target.KeyARPIgnore, st.ARPIgnore)
		st.ARPAnnounce = observedARP(obs, ifs, target.KeyARPAnnounce, st.ARPAnnounce)
	}
	st.Persist = types.BoolValue(bootMatches(name, prev, st, ifs, obs))
	// ARP drift: a value that differs from what state says on any of the interfaces shows as a
	// change of arp_ignore / arp_announce, which apply repairs.
	st.ARPIgnore = observedARP(obs, ifs, target.KeyARPIgnore, st.ARPIgnore)
	st.ARPAnnounce = observedARP(obs, ifs, target.KeyARPAnnounce, st.ARPAnnounce)
	resp.Diagnostics.Append(resp.State.Set(ctx, &st)...)
}

// bootMatches reports whether the host's boot files recreate exactly what the state says
// (addresses, the ARP values, the link's alias): what Read reports as persist.
func bootMatches(name target.IfName, addrs []netip.Prefix, st dummyInterfaceModel, ifs []target.IfName, obs target.Observation) bool {
	if st.ARPIgnore.IsNull() || st.ARPAnnounce.IsNull() {
		return false
	}
	spec := target.Spec{
		Name: name, Addresses: addrs, ARPInterfaces: ifs, Persist: true,
		ARPIgnore: int(st.ARPIgnore.ValueInt64()), ARPAnnounce: int(st.ARPAnnounce.ValueInt64()),
	}
	return target.BootMatches(spec, obs.Link.Alias, obs.Boot)
}

func (r *dummyInterfaceResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var st dummyInterfaceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &st)...)
	orig, diags := getOriginals(ctx, req.Private.GetKey)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	t, unlock, ok := r.hostTarget(st.Host, false, &resp.Diagnostics)
	if !ok {
		return
	}
	defer unlock()
	if err := target.Destroy(ctx, t, target.IfName(st.Name.ValueString()), orig); err != nil {
		resp.Diagnostics.AddError("Cannot destroy "+dummyID(st.Host, st.Name.ValueString()), err.Error())
	}
}

// ImportState takes `local/<name>` or `<host>/<name>`.
func (r *dummyInterfaceResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	i := strings.LastIndexByte(req.ID, '/')
	if i <= 0 {
		resp.Diagnostics.AddError("Invalid import ID", fmt.Sprintf("%q is not local/<name> or <host>/<name>.", req.ID))
		return
	}
	host, name := req.ID[:i], req.ID[i+1:]
	if _, err := target.ParseIfName(name); err != nil {
		resp.Diagnostics.AddError("Invalid import ID", fmt.Sprintf("%q: %v.", req.ID, err))
		return
	}
	hostVal := types.StringValue(host)
	if host == "local" {
		if r.localMode != nil {
			resp.Diagnostics.AddError("Local mode needs Linux", r.localMode.Error()+": import a real server's interface as <host>/<name>.")
			return
		}
		hostVal = types.StringNull()
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("host"), hostVal)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), dummyID(hostVal, name))...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("addresses"), addressSet(types.SetValueMust(types.StringType, nil)))...)
}
