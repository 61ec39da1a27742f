package keepalived

import "net/netip"

// Method is an LVS forwarding method (keepalived's lb_kind / lvs_method).
type Method uint8

const (
	methodUnset Method = iota // keepalived's IP_VS_CONN_F_FWD_MASK: not configured yet
	// MethodNAT is masquerading: the director rewrites the destination; real servers need no VIP.
	MethodNAT
	// MethodDR is direct routing: real servers must hold the VIP.
	MethodDR
	// MethodTUN is IP tunnelling: real servers must hold the VIP.
	MethodTUN
)

func (m Method) String() string {
	switch m {
	case MethodNAT:
		return "NAT"
	case MethodDR:
		return "DR"
	case MethodTUN:
		return "TUN"
	}
	return ""
}

// ParseMethod parses NAT, DR or TUN, spelled as keepalived requires (upper case).
func ParseMethod(s string) (Method, bool) {
	switch s {
	case "NAT":
		return MethodNAT, true
	case "DR":
		return MethodDR, true
	case "TUN":
		return MethodTUN, true
	}
	return methodUnset, false
}

// Protocol of a virtual server.
type Protocol uint8

const (
	// ProtocolNone is used by fwmark services, where keepalived ignores any protocol.
	ProtocolNone Protocol = iota
	ProtocolTCP
	ProtocolUDP
	ProtocolSCTP
)

func (p Protocol) String() string {
	switch p {
	case ProtocolTCP:
		return "TCP"
	case ProtocolUDP:
		return "UDP"
	case ProtocolSCTP:
		return "SCTP"
	}
	return "NONE"
}

// Config is the LVS part of a keepalived configuration, after keepalived's own checks: every
// virtual server and real server in it is one keepalived would install.
type Config struct {
	VirtualServers []*VirtualServer
	// Groups holds every virtual_server_group keepalived kept, in file order. When two groups
	// share a name, keepalived uses the first; so does GroupByName.
	Groups []*Group
	// Files lists every file read, in the order they were opened.
	Files []string
	// SHA256 is the hex SHA-256 of the expanded configuration text (one line per logical line,
	// after includes, definitions, conditionals and sequences).
	SHA256 string
}

// GroupByName returns the group keepalived links a `virtual_server group NAME` to.
func (c *Config) GroupByName(name string) *Group {
	for _, g := range c.Groups {
		if g.Name == name {
			return g
		}
	}
	return nil
}

// VirtualServer is one virtual_server block. Exactly one of Address (with Port), Fwmark
// (HasFwmark) or Group is set.
type VirtualServer struct {
	Pos       Pos
	Address   netip.Addr
	Port      uint16
	HasFwmark bool
	Fwmark    uint32
	Group     string
	// GroupMember is keepalived's sequence number of this virtual server among those naming
	// the same group (it shows as the port in keepalived's "[group]:N" notation).
	GroupMember int
	Protocol    Protocol
	// IPv6 is the address family keepalived settled on.
	IPv6 bool
	// Method is the virtual server's default forwarding method (NAT when none was given).
	Method      Method
	RealServers []*RealServer
	SorryServer *RealServer
}

// RealServer is a real_server (or the sorry_server) of a virtual server, with keepalived's
// defaults applied: its port is the one keepalived installs, Weight the initial weight.
type RealServer struct {
	Pos     Pos
	Address netip.Addr
	Port    uint16
	Weight  uint32
	Method  Method
	Sorry   bool

	weightSet bool
}

// Group is a virtual_server_group.
type Group struct {
	Pos     Pos
	Name    string
	Entries []GroupEntry
}

// GroupEntry is one line of a virtual_server_group: an address range (First..Last inclusive,
// equal for a single address) with a port, or a fwmark.
type GroupEntry struct {
	Pos      Pos
	First    netip.Addr
	Last     netip.Addr
	Port     uint16
	IsFwmark bool
	Fwmark   uint32
	// FwmarkFamily is "inet", "inet6" or "" for a fwmark entry.
	FwmarkFamily string
}
