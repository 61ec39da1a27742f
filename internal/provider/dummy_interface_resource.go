package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"sort"
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
)

var (
	_ resource.Resource                = (*dummyInterfaceResource)(nil)
	_ resource.ResourceWithConfigure   = (*dummyInterfaceResource)(nil)
	_ resource.ResourceWithImportState = (*dummyInterfaceResource)(nil)
)

// NewDummyInterfaceResource returns the vip_dummy_interface resource.
func NewDummyInterfaceResource() resource.Resource { return &dummyInterfaceResource{} }

type dummyInterfaceResource struct {
	data *providerData
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
	IfIndex       types.Int64     `tfsdk:"ifindex"`
}

// privateOriginals is the private-state key of the ARP sysctl values found before this provider
// changed them: {"net.ipv4.conf.all.arp_ignore": 0, ...}.
const privateOriginals = "arp_originals"

// maxARPInterfaces keeps the alias that records them within Linux's 255 bytes.
const maxARPInterfaces = 8

func (r *dummyInterfaceResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_dummy_interface"
}

func (r *dummyInterfaceResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Puts exactly a set of VIPs on a dummy interface of a real server, with ARP for them " +
			"suppressed, as LVS direct routing (DR) and tunnelling (TUN) need. Creates the dummy if missing, sets the " +
			"ARP sysctls before adding any address, adds new addresses before removing old ones, and fails closed: " +
			"if an ARP sysctl cannot be set, no VIP stays on the interface.\n\n" +
			"The interface is marked with an alias (`terraform-provider-vip:...`) that records which ARP sysctls it " +
			"needs and their values before any dummy of this provider changed them, so that destroying the last " +
			"one restores them.",
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
			"ifindex": schema.Int64Attribute{
				Computed:            true,
				MarkdownDescription: "The interface's index.",
				PlanModifiers:       []planmodifier.Int64{replaceWhenGone{}},
			},
		},
	}
}

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

// handle is what every operation needs: the target and the lock of its host.
func (r *dummyInterfaceResource) handle(host types.String) (target.Target, func(), error) {
	t, err := r.targetOf(host, false)
	if err != nil {
		return nil, nil, err
	}
	return t, r.data.dummyLocks.lock(host.ValueString()), nil
}

func dummyID(host types.String, name string) string {
	if h := host.ValueString(); h != "" {
		return h + "/" + name
	}
	return "local/" + name
}

// spec builds the convergence spec from a planned model. Values were validated at plan time;
// errors here mean unknown or corrupt values.
func specFrom(ctx context.Context, m dummyInterfaceModel) (target.Spec, diag.Diagnostics) {
	var diags diag.Diagnostics
	spec := target.Spec{
		Name:        target.IfName(m.Name.ValueString()),
		Exclusive:   m.Exclusive.ValueBool(),
		ARPIgnore:   int(m.ARPIgnore.ValueInt64()),
		ARPAnnounce: int(m.ARPAnnounce.ValueInt64()),
	}
	var err error
	if spec.Addresses, err = parseAddressSet(ctx, m.Addresses.SetValue); err != nil {
		diags.AddAttributeError(path.Root("addresses"), "Invalid address", err.Error())
	}
	ifs, err := arpInterfaces(ctx, m.ARPInterfaces)
	if err != nil {
		diags.AddAttributeError(path.Root("arp_interfaces"), "Invalid interface name", err.Error())
	}
	spec.ARPInterfaces = ifs
	return spec, diags
}

func stringsOf(ctx context.Context, s types.Set) ([]string, error) {
	if s.IsNull() || s.IsUnknown() {
		return nil, nil
	}
	var out []string
	if d := s.ElementsAs(ctx, &out, false); d.HasError() {
		return nil, fmt.Errorf("reading set: %v", d)
	}
	return out, nil
}

func parseAddressSet(ctx context.Context, s types.Set) ([]netip.Prefix, error) {
	ss, err := stringsOf(ctx, s)
	if err != nil {
		return nil, err
	}
	out := make([]netip.Prefix, 0, len(ss))
	seen := map[netip.Prefix]bool{}
	for _, v := range ss {
		p, err := target.ParseAddress(v)
		if err != nil {
			return nil, err
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out, nil
}

// arpInterfaces returns the set sorted, so that the alias recording them does not change with
// the order Terraform hands a set over in.
func arpInterfaces(ctx context.Context, s types.Set) ([]target.IfName, error) {
	ss, err := stringsOf(ctx, s)
	if err != nil {
		return nil, err
	}
	sort.Strings(ss)
	out := make([]target.IfName, 0, len(ss))
	for _, v := range ss {
		n, err := target.ParseIfName(v)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// addressValues writes prefixes into a set, each spelled as in the first of spellings that has
// it (so that what the user wrote stays as written), else canonically.
func addressValues(ctx context.Context, ps []netip.Prefix, spellings ...types.Set) types.Set {
	spelled := map[netip.Prefix]string{}
	for _, s := range spellings {
		ss, _ := stringsOf(ctx, s)
		for _, v := range ss {
			if p, err := target.ParseAddress(v); err == nil {
				if _, ok := spelled[p]; !ok {
					spelled[p] = v
				}
			}
		}
	}
	vals := make([]attr.Value, 0, len(ps))
	for _, p := range ps {
		v, ok := spelled[p]
		if !ok {
			v = target.CanonicalString(p)
		}
		vals = append(vals, types.StringValue(v))
	}
	return types.SetValueMust(types.StringType, vals)
}

func getOriginals(ctx context.Context, get func(context.Context, string) ([]byte, diag.Diagnostics)) (target.Originals, diag.Diagnostics) {
	b, diags := get(ctx, privateOriginals)
	orig := target.Originals{}
	if diags.HasError() || len(b) == 0 {
		return orig, diags
	}
	var m map[string]int
	if err := json.Unmarshal(b, &m); err != nil {
		diags.AddWarning("Unreadable private state", "The ARP sysctl values recorded before this resource changed them cannot be read ("+err.Error()+"); the interface's alias is used instead.")
		return orig, diags
	}
	for k, v := range m {
		// net.ipv4.conf.<if>.<key>; an interface name may contain dots, the key cannot.
		rest, ok := strings.CutPrefix(k, "net.ipv4.conf.")
		i := strings.LastIndexByte(rest, '.')
		if !ok || i < 0 {
			continue
		}
		sc := target.Sysctl{Interface: rest[:i], Key: rest[i+1:]}
		if sc.Validate() == nil {
			orig[sc] = v
		}
	}
	return orig, diags
}

func setOriginals(ctx context.Context, set func(context.Context, string, []byte) diag.Diagnostics, orig target.Originals) diag.Diagnostics {
	m := make(map[string]int, len(orig))
	for sc, v := range orig {
		m[sc.String()] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		var d diag.Diagnostics
		d.AddError("Cannot record ARP sysctls", err.Error())
		return d
	}
	return set(ctx, privateOriginals, b)
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
	t, unlock, err := r.handle(plan.Host)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("host"), "Cannot reach host", err.Error())
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
	t, unlock, err := r.handle(plan.Host)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("host"), "Cannot reach host", err.Error())
		return
	}
	defer unlock()
	res, err := target.Converge(ctx, t, spec)
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
	if err != nil {
		var nd *target.NotDummyError
		switch {
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
	diags.Append(setOriginals(ctx, setPrivate, res.Originals)...)
	diags.Append(state.Set(ctx, &plan)...)
}

func (r *dummyInterfaceResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var st dummyInterfaceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &st)...)
	if resp.Diagnostics.HasError() {
		return
	}
	t, err := r.targetOf(st.Host, true)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("host"), "Cannot reach host", err.Error())
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
	// ARP drift: a value that differs from what state says on any of the interfaces shows as a
	// change of arp_ignore / arp_announce, which apply repairs.
	st.ARPIgnore = observedARP(obs, ifs, target.KeyARPIgnore, st.ARPIgnore)
	st.ARPAnnounce = observedARP(obs, ifs, target.KeyARPAnnounce, st.ARPAnnounce)
	resp.Diagnostics.Append(resp.State.Set(ctx, &st)...)
}

func observedARP(obs target.Observation, ifs []target.IfName, key string, inState types.Int64) types.Int64 {
	for _, ifn := range ifs {
		v, ok := obs.Sysctls[target.Sysctl{Interface: string(ifn), Key: key}]
		if ok && (inState.IsNull() || int64(v) != inState.ValueInt64()) {
			return types.Int64Value(int64(v))
		}
	}
	return inState
}

// targetOf is the target of host (see providerData.targetFor). Read passes refresh: it changes
// nothing and may share a host snapshot with the other reads of the same refresh.
func (r *dummyInterfaceResource) targetOf(host types.String, refresh bool) (target.Target, error) {
	if r.data == nil {
		return nil, errors.New("the provider is not configured")
	}
	return r.data.targetFor(host.ValueString(), refresh)
}

func (r *dummyInterfaceResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var st dummyInterfaceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &st)...)
	orig, diags := getOriginals(ctx, req.Private.GetKey)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	t, unlock, err := r.handle(st.Host)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("host"), "Cannot reach host", err.Error())
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
		hostVal = types.StringNull()
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("host"), hostVal)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), dummyID(hostVal, name))...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("addresses"), addressSet(types.SetValueMust(types.StringType, nil)))...)
}

// ifNameValidator checks interface names at plan time with the same rules the targets use.
type ifNameValidator struct {
	dummy bool // the dummy's own name: "all" and "default" are taken by the sysctl tree
}

func (v ifNameValidator) Description(context.Context) string {
	return "a Linux interface name: 1 to 15 bytes of letters, digits and -_.@+"
}

func (v ifNameValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v ifNameValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	s := req.ConfigValue.ValueString()
	if _, err := target.ParseIfName(s); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid interface name", err.Error()+".")
		return
	}
	if v.dummy && (s == "all" || s == "default") {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid interface name",
			fmt.Sprintf("%q names the kernel's sysctl defaults (net.ipv4.conf.%s), not an interface; choose another name.", s, s))
	}
}

// addressesValidator checks each address at plan time: an error for what is not an address or
// names one address twice, a warning for a prefix that makes a whole subnet local.
type addressesValidator struct{}

func (addressesValidator) Description(context.Context) string {
	return "IPv4 or IPv6 addresses, bare (a /32 or /128) or with a prefix length"
}

func (v addressesValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (addressesValidator) ValidateSet(ctx context.Context, req validator.SetRequest, resp *validator.SetResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	seen := map[netip.Prefix]string{}
	for _, e := range req.ConfigValue.Elements() {
		s, ok := e.(types.String)
		if !ok || s.IsUnknown() {
			continue
		}
		at := req.Path.AtSetValue(e)
		if s.IsNull() {
			resp.Diagnostics.AddAttributeError(at, "Invalid address", "An address cannot be null.")
			continue
		}
		p, err := target.ParseAddress(s.ValueString())
		if err != nil {
			resp.Diagnostics.AddAttributeError(at, "Invalid address", err.Error()+". Write an IPv4 or IPv6 address, optionally with /prefix-length.")
			continue
		}
		if other, dup := seen[p]; dup {
			resp.Diagnostics.AddAttributeError(at, "Duplicate address",
				fmt.Sprintf("%q and %q are the same address (%s); list it once.", other, s.ValueString(), target.CanonicalString(p)))
			continue
		}
		seen[p] = s.ValueString()
		if p.Bits() < p.Addr().BitLen() {
			resp.Diagnostics.AddAttributeWarning(at, "Address with a subnet prefix",
				fmt.Sprintf("%s makes the whole subnet %s local on this server: it will answer for every address in it, not only for the VIP. "+
					"VIPs are normally /32 or /128 (write the bare address).", s.ValueString(), p.Masked()))
		}
	}
}
