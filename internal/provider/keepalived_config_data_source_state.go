package provider

import (
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"net/netip"
	"slices"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/vip-manager/terraform-provider-vip/internal/keepalived"
	"github.com/vip-manager/terraform-provider-vip/internal/vipset"
)

// The data source's state is written directly in the plugin protocol's MessagePack encoding,
// the form in which it crosses to Terraform: at 10,000 virtual servers x 10 real servers it holds
// about 1.5 million values, and building them as framework or tftypes values first (a map per
// object, a big.Float per number), then encoding those, cost the provider seconds where writing
// the bytes costs a tenth of one (`make bench`, BenchmarkPlanLarge).

// checkStateTypes verifies that the schema's type is the one the encoder writes.
func checkStateTypes(root tftypes.Object) error {
	elem := func(t tftypes.Type) tftypes.Type {
		switch c := t.(type) {
		case tftypes.Map:
			return c.ElementType
		case tftypes.List:
			return c.ElementType
		}
		return nil
	}
	attrsOf := func(t tftypes.Type) []string {
		o, ok := t.(tftypes.Object)
		if !ok {
			return nil
		}
		return slices.Sorted(maps.Keys(o.AttributeTypes))
	}
	attr := func(t tftypes.Type, name string) tftypes.Type {
		if o, ok := t.(tftypes.Object); ok {
			return o.AttributeTypes[name]
		}
		return nil
	}
	// The attributes of each nested object, as the encoder writes them (sorted, as tftypes
	// writes them too).
	backend := []string{"address", "forwarding_method", "port", "weight"}
	virtualServer := elem(root.AttributeTypes["virtual_servers"])
	for _, c := range []struct {
		what string
		typ  tftypes.Type
		want []string
	}{
		{"virtual_servers", virtualServer, []string{"address", "file", "forwarding_method", "fwmark", "group", "line", "port", "protocol", "real_servers", "sorry_server"}},
		{"virtual_servers.real_servers", elem(attr(virtualServer, "real_servers")), backend},
		{"virtual_servers.sorry_server", attr(virtualServer, "sorry_server"), backend},
		{"port_conflicts", elem(root.AttributeTypes["port_conflicts"]), []string{"file", "line", "message", "real_server", "served_ports", "unserved_ports", "vip"}},
	} {
		if got := attrsOf(c.typ); !slices.Equal(got, c.want) {
			return fmt.Errorf("the schema's %s has attributes %v, the state encoder writes %v", c.what, got, c.want)
		}
	}
	if vips := elem(root.AttributeTypes["real_servers"]); vips == nil || !vips.Equal(tftypes.List{ElementType: tftypes.String}) {
		return fmt.Errorf("the schema's real_servers has elements of type %v, the state encoder writes lists of strings", vips)
	}
	for _, a := range []string{"files", "forwarding_methods", "port_conflicts", "real_servers", "sha256", "virtual_servers"} {
		if _, ok := root.AttributeTypes[a]; !ok {
			return fmt.Errorf("the schema has no attribute %s", a)
		}
	}
	return nil
}

// encodeKeepalivedConfigState returns the state as MessagePack: the configuration's own
// attributes as given, forwarding_methods filled in, and the computed attributes from cfg and res.
func encodeKeepalivedConfigState(config tftypes.Value, methodNames []string, cfg *keepalived.Config, res *vipset.Result) ([]byte, error) {
	root, ok := config.Type().(tftypes.Object)
	if !ok {
		return nil, fmt.Errorf("the data source type is %s, not an object", config.Type())
	}
	if err := checkStateTypes(root); err != nil {
		return nil, err
	}
	var given map[string]tftypes.Value
	if err := config.As(&given); err != nil {
		return nil, fmt.Errorf("reading the configuration: %w", err)
	}
	// About 100 bytes per real server of each virtual server, from the 10,000 x 10 benchmark.
	w := &msgpackWriter{b: make([]byte, 0, 4096+100*countBackends(res))}
	names := slices.Sorted(maps.Keys(root.AttributeTypes))
	w.mapLen(len(names))
	for _, name := range names {
		w.str(name)
		// The computed attributes; every other attribute is the configuration's, as given.
		switch name {
		case "files":
			w.strings(cfg.Files)
		case "forwarding_methods":
			w.strings(methodNames)
		case "port_conflicts":
			w.conflicts(res.Conflicts)
		case "real_servers":
			w.realServers(res.RealServers)
		case "sha256":
			w.str(cfg.SHA256)
		case "virtual_servers":
			w.virtualServers(res.Services)
		default:
			v, err := tfprotov6.NewDynamicValue(root.AttributeTypes[name], given[name])
			if err != nil {
				return nil, fmt.Errorf("encoding %s: %w", name, err)
			}
			w.b = append(w.b, v.MsgPack...)
		}
	}
	return w.b, nil
}

func countBackends(res *vipset.Result) int {
	n := 0
	for _, s := range res.Services {
		n += len(s.Backends)
	}
	return n
}

func (w *msgpackWriter) realServers(servers []*vipset.RealServer) {
	w.mapLen(len(servers))
	for _, rs := range servers {
		w.addr(rs.Address)
		w.arrayLen(len(rs.VIPs))
		for _, v := range rs.VIPs {
			w.addr(v)
		}
	}
}

func (w *msgpackWriter) virtualServers(services []vipset.VirtualService) {
	w.arrayLen(len(services))
	for _, s := range services {
		w.mapLen(10)
		w.str("address")
		w.addr(s.Address)
		w.str("file")
		w.str(s.Pos.File)
		w.str("forwarding_method")
		w.str(s.Method.String())
		w.str("fwmark")
		if s.HasFwmark {
			w.int(int64(s.Fwmark))
		} else {
			w.null()
		}
		w.str("group")
		if s.Group != "" {
			w.str(s.Group)
		} else {
			w.null()
		}
		w.str("line")
		w.int(int64(s.Pos.Line))
		w.str("port")
		w.int(int64(s.Port))
		w.str("protocol")
		w.str(s.Protocol.String())
		w.str("real_servers")
		w.arrayLen(len(s.Backends))
		for _, b := range s.Backends {
			w.backend(b)
		}
		w.str("sorry_server")
		if s.Sorry != nil {
			w.backend(s.Sorry)
		} else {
			w.null()
		}
	}
}

func (w *msgpackWriter) backend(b *vipset.Backend) {
	w.mapLen(4)
	w.str("address")
	w.addr(b.Address)
	w.str("forwarding_method")
	w.str(b.Method.String())
	w.str("port")
	w.int(int64(b.Port))
	w.str("weight")
	w.int(int64(b.Weight))
}

func (w *msgpackWriter) conflicts(cs []vipset.PortConflict) {
	w.arrayLen(len(cs))
	for _, c := range cs {
		w.mapLen(7)
		w.str("file")
		w.str(c.Pos.File)
		w.str("line")
		w.int(int64(c.Pos.Line))
		w.str("message")
		w.str(c.Message())
		w.str("real_server")
		w.addr(c.RealServer)
		w.str("served_ports")
		w.strings(c.Served)
		w.str("unserved_ports")
		w.strings(c.NotServed)
		w.str("vip")
		w.addr(c.VIP)
	}
}

// msgpackWriter appends MessagePack (github.com/msgpack/msgpack/blob/master/spec.md) in the
// forms Terraform's decoder reads for the schema's types: strings, integers, nil
// for null, arrays for lists, maps for maps and objects.
type msgpackWriter struct {
	b []byte
}

func (w *msgpackWriter) null() { w.b = append(w.b, 0xc0) }

func (w *msgpackWriter) int(n int64) {
	switch {
	case n >= 0 && n <= 0x7f:
		w.b = append(w.b, byte(n))
	case n >= -32 && n < 0:
		w.b = append(w.b, byte(n))
	case n >= math.MinInt32 && n <= math.MaxInt32:
		w.b = binary.BigEndian.AppendUint32(append(w.b, 0xd2), uint32(int32(n)))
	default:
		w.b = binary.BigEndian.AppendUint64(append(w.b, 0xd3), uint64(n))
	}
}

// header writes a length in the short form below 16 (32 for strings) or with 16 or 32 bits.
func (w *msgpackWriter) header(n int, fix, fixLimit, code16, code32 byte) {
	switch {
	case n < int(fixLimit):
		w.b = append(w.b, fix|byte(n))
	case n <= math.MaxUint16:
		w.b = binary.BigEndian.AppendUint16(append(w.b, code16), uint16(n))
	default:
		w.b = binary.BigEndian.AppendUint32(append(w.b, code32), uint32(n))
	}
}

func (w *msgpackWriter) str(s string) {
	w.header(len(s), 0xa0, 32, 0xda, 0xdb)
	w.b = append(w.b, s...)
}

func (w *msgpackWriter) arrayLen(n int) { w.header(n, 0x90, 16, 0xdc, 0xdd) }
func (w *msgpackWriter) mapLen(n int)   { w.header(n, 0x80, 16, 0xde, 0xdf) }

// addr writes an address as its canonical string, or null for the zero Addr (fwmark services).
func (w *msgpackWriter) addr(a netip.Addr) {
	if !a.IsValid() {
		w.null()
		return
	}
	// The text is at most 45 bytes (an IPv4-mapped IPv6 address with a zone is longer, but a
	// zone is never part of an LVS address): a fixstr or str8 header, patched after writing.
	at := len(w.b)
	w.b = append(w.b, 0xd9, 0)
	w.b = a.AppendTo(w.b)
	n := len(w.b) - at - 2
	switch {
	case n < 32:
		w.b[at] = 0xa0 | byte(n)
		w.b = append(w.b[:at+1], w.b[at+2:]...)
	case n <= math.MaxUint8:
		w.b[at+1] = byte(n)
	default:
		s := string(w.b[at+2:])
		w.b = w.b[:at]
		w.str(s)
	}
}

func (w *msgpackWriter) strings(ss []string) {
	w.arrayLen(len(ss))
	for _, s := range ss {
		w.str(s)
	}
}
