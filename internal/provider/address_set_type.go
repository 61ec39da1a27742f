package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// addressSetType is the type of `addresses`: a set of strings whose duplicate check is linear.
// The framework's own set type compares every pair of elements each time it reads the value
// (several times per plan): with 3,000 VIPs that was 55% of a plan's CPU time, and several
// minutes per plan under the kernel lab's emulation.
type addressSetType struct {
	basetypes.SetType
}

var (
	_ basetypes.SetTypable  = addressSetType{}
	_ basetypes.SetValuable = addressSetValue{}
)

func newAddressSetType() addressSetType {
	return addressSetType{SetType: basetypes.SetType{ElemType: types.StringType}}
}

func (t addressSetType) Equal(o attr.Type) bool {
	other, ok := o.(addressSetType)
	return ok && t.SetType.Equal(other.SetType)
}

func (t addressSetType) String() string { return "addressSetType" }

func (t addressSetType) ValueFromSet(_ context.Context, in basetypes.SetValue) (basetypes.SetValuable, diag.Diagnostics) {
	return addressSetValue{SetValue: in}, nil
}

func (t addressSetType) ValueFromTerraform(ctx context.Context, in tftypes.Value) (attr.Value, error) {
	v, err := t.SetType.ValueFromTerraform(ctx, in)
	if err != nil {
		return nil, err
	}
	set, ok := v.(basetypes.SetValue)
	if !ok {
		return nil, fmt.Errorf("unexpected value type %T", v)
	}
	return addressSetValue{SetValue: set}, nil
}

func (t addressSetType) ValueType(context.Context) attr.Value {
	return addressSetValue{SetValue: basetypes.NewSetNull(types.StringType)}
}

// Validate reports duplicate elements, as the framework's set type does, in one pass. Terraform
// never sends a set with duplicates; the check guards values a provider bug would build.
func (t addressSetType) Validate(_ context.Context, in tftypes.Value, p path.Path) diag.Diagnostics {
	var diags diag.Diagnostics
	if in.Type() == nil || !in.IsKnown() || in.IsNull() {
		return diags
	}
	var elems []tftypes.Value
	if err := in.As(&elems); err != nil {
		diags.AddAttributeError(p, "Invalid address set", "Cannot read the set of addresses: "+err.Error()+". This is a bug in the provider.")
		return diags
	}
	seen := make(map[string]bool, len(elems))
	for _, e := range elems {
		if !e.IsKnown() || e.IsNull() {
			continue
		}
		var s string
		if err := e.As(&s); err != nil {
			diags.AddAttributeError(p, "Invalid address set", "An element is not a string: "+err.Error()+". This is a bug in the provider.")
			return diags
		}
		if seen[s] {
			diags.AddAttributeError(p, "Duplicate Set Element", fmt.Sprintf("This attribute contains duplicate values of: %q", s))
		}
		seen[s] = true
	}
	return diags
}

// addressSetValue is a value of addressSetType.
type addressSetValue struct {
	basetypes.SetValue
}

// addressSet wraps a set of strings.
func addressSet(s types.Set) addressSetValue { return addressSetValue{SetValue: s} }

func (v addressSetValue) Type(context.Context) attr.Type { return newAddressSetType() }

func (v addressSetValue) Equal(o attr.Value) bool {
	other, ok := o.(addressSetValue)
	return ok && v.SetValue.Equal(other.SetValue)
}
