package provider

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

func stringSet(elems ...tftypes.Value) tftypes.Value {
	return tftypes.NewValue(tftypes.Set{ElementType: tftypes.String}, elems)
}

func str(s string) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }

func manyAddresses(n int) tftypes.Value {
	elems := make([]tftypes.Value, n)
	for i := range elems {
		elems[i] = str(fmt.Sprintf("10.99.%d.%d", i/250, i%250+1))
	}
	return stringSet(elems...)
}

func TestAddressSetTypeValidate(t *testing.T) {
	ctx := context.Background()
	p := path.Root("addresses")
	unknown := tftypes.NewValue(tftypes.String, tftypes.UnknownValue)
	for name, tc := range map[string]struct {
		in   tftypes.Value
		want string // "" for no error, else a substring of the error
	}{
		"empty":              {stringSet(), ""},
		"distinct":           {stringSet(str("192.0.2.1"), str("192.0.2.2")), ""},
		"duplicate":          {stringSet(str("192.0.2.1"), str("192.0.2.2"), str("192.0.2.1")), `duplicate values of: "192.0.2.1"`},
		"unknown elements":   {stringSet(unknown, unknown, str("192.0.2.1")), ""},
		"unknown set":        {tftypes.NewValue(tftypes.Set{ElementType: tftypes.String}, tftypes.UnknownValue), ""},
		"null set":           {tftypes.NewValue(tftypes.Set{ElementType: tftypes.String}, nil), ""},
		"large and distinct": {manyAddresses(3000), ""},
	} {
		t.Run(name, func(t *testing.T) {
			diags := newAddressSetType().Validate(ctx, tc.in, p)
			switch {
			case tc.want == "" && diags.HasError():
				t.Errorf("unexpected error: %v", diags)
			case tc.want != "" && (!diags.HasError() || !strings.Contains(diags[0].Detail(), tc.want)):
				t.Errorf("got %v, want an error containing %q", diags, tc.want)
			}
		})
	}
}

// The framework's set type and addressSetType agree on what is a duplicate.
func TestAddressSetTypeMatchesFramework(t *testing.T) {
	ctx := context.Background()
	framework := basetypes.SetType{ElemType: types.StringType}
	for _, in := range []tftypes.Value{
		stringSet(str("a"), str("b")),
		stringSet(str("a"), str("b"), str("a")),
		stringSet(str("a"), str("a"), str("a")),
	} {
		ours, theirs := newAddressSetType().Validate(ctx, in, path.Root("x")), framework.Validate(ctx, in, path.Root("x"))
		if len(ours) != len(theirs) {
			t.Errorf("%v: %d diagnostics, the framework gives %d", in, len(ours), len(theirs))
		}
	}
}

func TestAddressSetValueRoundTrip(t *testing.T) {
	ctx := context.Background()
	in := stringSet(str("192.0.2.1"), str("2001:db8::1"))
	v, err := newAddressSetType().ValueFromTerraform(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	set, ok := v.(addressSetValue)
	if !ok || len(set.Elements()) != 2 || !set.Type(ctx).Equal(newAddressSetType()) {
		t.Fatalf("got %#v", v)
	}
	back, err := set.ToTerraformValue(ctx)
	if err != nil || !back.Equal(in) {
		t.Errorf("round trip: %v, %v", back, err)
	}
	if set.Equal(set.SetValue) {
		t.Error("an addressSetValue equals a plain set value")
	}
}

// BenchmarkAddressSetValidate3000 times the duplicate check of 3,000 addresses, which the
// framework runs several times per plan, against the framework's own set type in the same run.
// Metric: ratio (ours / framework; the point of the type is that it is far below 1).
func BenchmarkAddressSetValidate3000(b *testing.B) {
	ctx := context.Background()
	in := manyAddresses(3000)
	framework := basetypes.SetType{ElemType: types.StringType}
	ours := newAddressSetType()
	measure := func(validate func()) float64 {
		start := b.Elapsed()
		for i := 0; i < b.N; i++ {
			validate()
		}
		return float64(b.Elapsed()-start) / float64(b.N)
	}
	b.ResetTimer()
	o := measure(func() { ours.Validate(ctx, in, path.Root("addresses")) })
	f := measure(func() { framework.Validate(ctx, in, path.Root("addresses")) })
	b.ReportMetric(o/1e6, "ours-ms")
	b.ReportMetric(f/1e6, "framework-ms")
	b.ReportMetric(o/f, "ratio")
}
