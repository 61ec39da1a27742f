package provider

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vip-manager/terraform-provider-vip/internal/target"
)

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
