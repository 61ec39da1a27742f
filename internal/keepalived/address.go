package keepalived

import (
	"net/netip"
)

// Address and port words, read as keepalived's inet_stosockaddr() reads them.

// parseAddress reproduces keepalived's inet_stosockaddr(): the family follows from a ':' in
// the text, anything from the first '-' (or else '/') on is ignored, and the rest must be a
// plain numeric address. The port, when given, must be 1-65535.
func parseAddress(ip, port string) (addr netip.Addr, portNum uint16, ignored string, ok bool) {
	// One pass over the (short) text: family, and where a '-' or else a '/' starts.
	v6, dash, slash := false, -1, -1
	for i := 0; i < len(ip); i++ {
		switch ip[i] {
		case ':':
			v6 = true
		case '-':
			if dash < 0 {
				dash = i
			}
		case '/':
			if slash < 0 {
				slash = i
			}
		}
	}
	if port != "" {
		v, good, _ := readUnsigned(port, 1, 65535, true)
		if !good {
			return netip.Addr{}, 0, "", false
		}
		portNum = uint16(v)
	}
	s := ip
	if dash >= 0 {
		s, ignored = s[:dash], s[dash:]
	} else if slash >= 0 {
		s, ignored = s[:slash], s[slash:]
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" || a.Is6() != v6 {
		return netip.Addr{}, 0, "", false
	}
	return a, portNum, ignored, true
}

// portComplaint is what keepalived logs about a port it still uses (trailing text after the
// number), "" when nothing.
func portComplaint(port string) string {
	if port == "" {
		return ""
	}
	if v, ok := plainDecimal(port); ok && v >= 1 && v <= 65535 {
		return "" // the common case, without a second full read
	}
	_, good, msg := readUnsigned(port, 1, 65535, true)
	if !good {
		return ""
	}
	return msg
}

// portArg returns the port argument keepalived passes on: none when absent or all zeros.
func portArg(toks []string, i int) string {
	if len(toks) <= i {
		return ""
	}
	for j := 0; j < len(toks[i]); j++ {
		if toks[i][j] != '0' {
			return toks[i]
		}
	}
	return "" // all zeros
}

// afOf is the address family of an address: 4 or 6.
func afOf(a netip.Addr) int {
	if a.Is6() {
		return 6
	}
	return 4
}
