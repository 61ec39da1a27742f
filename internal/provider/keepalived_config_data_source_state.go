package provider

import (
	"fmt"
	"net/netip"

	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/vip-manager/terraform-provider-vip/internal/keepalived"
	"github.com/vip-manager/terraform-provider-vip/internal/vipset"
)

// The data source's result is built as a tftypes.Value directly rather than through the
// framework's reflection over model structs: at 10,000 virtual servers x 10 real servers the
// result holds about 1.5 million values, and reflection spent seconds on each field name and
// conversion (`make bench`, BenchmarkPlanLarge).

// kaStateTypes are the object types of the data source's nested attributes, taken from the
// schema's own type so that they cannot drift from it.
type kaStateTypes struct {
	root          tftypes.Object
	strings       tftypes.List
	realServer    tftypes.Object
	service       tftypes.Object
	virtualServer tftypes.Object
	backend       tftypes.Object
	conflict      tftypes.Object
}

func newKAStateTypes(root tftypes.Type) (kaStateTypes, error) {
	t := kaStateTypes{strings: tftypes.List{ElementType: tftypes.String}}
	var ok bool
	if t.root, ok = root.(tftypes.Object); !ok {
		return t, fmt.Errorf("the data source type is %s, not an object", root)
	}
	elem := func(attr string) (tftypes.Object, error) {
		var e tftypes.Type
		switch c := t.root.AttributeTypes[attr].(type) {
		case tftypes.Map:
			e = c.ElementType
		case tftypes.List:
			e = c.ElementType
		}
		o, ok := e.(tftypes.Object)
		if !ok {
			return o, fmt.Errorf("attribute %s is not a collection of objects", attr)
		}
		return o, nil
	}
	var err error
	if t.realServer, err = elem("real_servers"); err != nil {
		return t, err
	}
	if t.virtualServer, err = elem("virtual_servers"); err != nil {
		return t, err
	}
	if t.conflict, err = elem("port_conflicts"); err != nil {
		return t, err
	}
	if l, ok := t.realServer.AttributeTypes["services"].(tftypes.List); ok {
		t.service, _ = l.ElementType.(tftypes.Object)
	}
	if l, ok := t.virtualServer.AttributeTypes["real_servers"].(tftypes.List); ok {
		t.backend, _ = l.ElementType.(tftypes.Object)
	}
	if t.service.AttributeTypes == nil || t.backend.AttributeTypes == nil {
		return t, fmt.Errorf("real_servers.services or virtual_servers.real_servers is not a list of objects")
	}
	return t, nil
}

// kaStateBuilder turns the result into values, converting each address to its string once.
type kaStateBuilder struct {
	types kaStateTypes
	addrs map[netip.Addr]tftypes.Value
}

func (b *kaStateBuilder) addr(a netip.Addr) tftypes.Value {
	if !a.IsValid() {
		return tftypes.NewValue(tftypes.String, nil)
	}
	v, ok := b.addrs[a]
	if !ok {
		v = tftypes.NewValue(tftypes.String, a.String())
		b.addrs[a] = v
	}
	return v
}

func tfString(s string) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }
func tfNumber(n int64) tftypes.Value  { return tftypes.NewValue(tftypes.Number, n) }
func tfBool(v bool) tftypes.Value     { return tftypes.NewValue(tftypes.Bool, v) }

func (b *kaStateBuilder) strList(ss []string) tftypes.Value {
	vs := make([]tftypes.Value, len(ss))
	for i, s := range ss {
		vs[i] = tfString(s)
	}
	return tftypes.NewValue(b.types.strings, vs)
}

// keepalivedConfigState returns the state: the configuration's own attributes as given (with
// forwarding_methods filled in), and the computed attributes from cfg and res.
func keepalivedConfigState(config tftypes.Value, methodNames []string, cfg *keepalived.Config, res *vipset.Result) (tftypes.Value, error) {
	types, err := newKAStateTypes(config.Type())
	if err != nil {
		return tftypes.Value{}, err
	}
	attrs := map[string]tftypes.Value{}
	if err := config.As(&attrs); err != nil {
		return tftypes.Value{}, fmt.Errorf("reading the configuration: %w", err)
	}
	b := &kaStateBuilder{types: types, addrs: make(map[netip.Addr]tftypes.Value)}

	attrs["forwarding_methods"] = b.strList(methodNames)
	attrs["real_servers"] = b.realServers(res.RealServers)
	attrs["virtual_servers"] = b.virtualServers(res.Services)
	attrs["files"] = b.strList(cfg.Files)
	attrs["sha256"] = tfString(cfg.SHA256)
	attrs["port_conflicts"] = b.conflicts(res.Conflicts)
	return tftypes.NewValue(types.root, attrs), nil
}

func (b *kaStateBuilder) realServers(servers []*vipset.RealServer) tftypes.Value {
	t := b.types
	out := make(map[string]tftypes.Value, len(servers))
	for _, rs := range servers {
		vips := make([]tftypes.Value, len(rs.VIPs))
		for i, v := range rs.VIPs {
			vips[i] = b.addr(v)
		}
		services := make([]tftypes.Value, len(rs.Services))
		for i, s := range rs.Services {
			services[i] = tftypes.NewValue(t.service, map[string]tftypes.Value{
				"vip":               b.addr(s.VIP),
				"port":              tfNumber(int64(s.Port)),
				"protocol":          tfString(s.Protocol.String()),
				"forwarding_method": tfString(s.Method.String()),
				"sorry":             tfBool(s.Sorry),
			})
		}
		out[rs.Address.String()] = tftypes.NewValue(t.realServer, map[string]tftypes.Value{
			"vips":     tftypes.NewValue(t.strings, vips),
			"services": tftypes.NewValue(t.realServer.AttributeTypes["services"], services),
		})
	}
	return tftypes.NewValue(t.root.AttributeTypes["real_servers"], out)
}

func (b *kaStateBuilder) virtualServers(services []vipset.VirtualService) tftypes.Value {
	t := b.types
	out := make([]tftypes.Value, len(services))
	for i, s := range services {
		backends := make([]tftypes.Value, len(s.Backends))
		for j, be := range s.Backends {
			backends[j] = b.backend(be)
		}
		sorry := tftypes.NewValue(t.backend, nil)
		if s.Sorry != nil {
			sorry = b.backend(*s.Sorry)
		}
		fwmark, group := tftypes.NewValue(tftypes.Number, nil), tftypes.NewValue(tftypes.String, nil)
		if s.HasFwmark {
			fwmark = tfNumber(int64(s.Fwmark))
		}
		if s.Group != "" {
			group = tfString(s.Group)
		}
		out[i] = tftypes.NewValue(t.virtualServer, map[string]tftypes.Value{
			"address":           b.addr(s.Address),
			"port":              tfNumber(int64(s.Port)),
			"protocol":          tfString(s.Protocol.String()),
			"fwmark":            fwmark,
			"group":             group,
			"forwarding_method": tfString(s.Method.String()),
			"file":              tfString(s.Pos.File),
			"line":              tfNumber(int64(s.Pos.Line)),
			"real_servers":      tftypes.NewValue(t.virtualServer.AttributeTypes["real_servers"], backends),
			"sorry_server":      sorry,
		})
	}
	return tftypes.NewValue(t.root.AttributeTypes["virtual_servers"], out)
}

func (b *kaStateBuilder) backend(be vipset.Backend) tftypes.Value {
	return tftypes.NewValue(b.types.backend, map[string]tftypes.Value{
		"address":           b.addr(be.Address),
		"port":              tfNumber(int64(be.Port)),
		"weight":            tfNumber(int64(be.Weight)),
		"forwarding_method": tfString(be.Method.String()),
	})
}

func (b *kaStateBuilder) conflicts(cs []vipset.PortConflict) tftypes.Value {
	t := b.types
	out := make([]tftypes.Value, len(cs))
	for i, c := range cs {
		out[i] = tftypes.NewValue(t.conflict, map[string]tftypes.Value{
			"real_server":    b.addr(c.RealServer),
			"vip":            b.addr(c.VIP),
			"served_ports":   b.strList(c.Served),
			"unserved_ports": b.strList(c.NotServed),
			"file":           tfString(c.Pos.File),
			"line":           tfNumber(int64(c.Pos.Line)),
			"message":        tfString(c.Message()),
		})
	}
	return tftypes.NewValue(t.root.AttributeTypes["port_conflicts"], out)
}
