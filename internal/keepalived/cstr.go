package keepalived

// Helpers that reproduce the C library functions keepalived's parser relies on, so that odd
// input is read the same way (strtol/strtoul accept leading blanks, a sign and a base prefix,
// and stop at the first character that does not fit).

func isSpaceC(c byte) bool { // isspace() in the C locale
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlpha(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }

func isAlnum(c byte) bool { return isAlpha(c) || isDigit(c) }

func skipBlanks(s string) string {
	i := 0
	for i < len(s) && isBlank(s[i]) {
		i++
	}
	return s[i:]
}

func trimRightBlanks(s string) string {
	n := len(s)
	for n > 0 && isBlank(s[n-1]) {
		n--
	}
	return s[:n]
}

// strcspn returns the length of the prefix of s made of bytes not in set.
func strcspn(s, set string) int {
	for i := 0; i < len(s); i++ {
		for j := 0; j < len(set); j++ {
			if s[i] == set[j] {
				return i
			}
		}
	}
	return len(s)
}

func digitVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return 99
}

// strtoul parses like C strtoul: it returns the value, the unparsed rest, whether any digit was
// read, and whether the value overflowed (then the value is the maximum). A leading '-' negates
// the result modulo 2^64, as in C.
func strtoul(s string, base int) (val uint64, rest string, digits bool, overflow bool) {
	i := 0
	for i < len(s) && isSpaceC(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	if (base == 0 || base == 16) && i+1 < len(s) && s[i] == '0' && (s[i+1]|0x20) == 'x' && i+2 < len(s) && digitVal(s[i+2]) < 16 {
		i += 2
		base = 16
	} else if base == 0 {
		if i < len(s) && s[i] == '0' {
			base = 8
		} else {
			base = 10
		}
	}
	start := i
	const maxU = ^uint64(0)
	for i < len(s) {
		d := digitVal(s[i])
		if d >= base {
			break
		}
		if !overflow {
			if val > (maxU-uint64(d))/uint64(base) {
				overflow = true
			} else {
				val = val*uint64(base) + uint64(d)
			}
		}
		i++
	}
	if i == start {
		return 0, s, false, false
	}
	if overflow {
		return maxU, s[i:], true, true
	}
	if neg {
		val = -val
	}
	return val, s[i:], true, false
}

// strtol parses like C strtol with a 64-bit long: out-of-range values are clamped. Without
// digits it returns 0 and s unchanged.
func strtol(s string, base int) (int64, string) {
	i := 0
	for i < len(s) && isSpaceC(s[i]) {
		i++
	}
	neg := i < len(s) && s[i] == '-'
	u, rest, digits, overflow := strtoul(s[i:], base)
	if !digits {
		return 0, s
	}
	if neg {
		// strtoul negated it; undo to get the magnitude.
		u = -u
		if overflow || u > 1<<63 {
			return -1 << 63, rest
		}
		return -int64(u), rest
	}
	if overflow || u > 1<<63-1 {
		return 1<<63 - 1, rest
	}
	return int64(u), rest
}

// readUnsigned reproduces keepalived's read_unsigned_func in the daemon (not -t) mode that
// `keepalived -C` runs in: trailing garbage is reported but, when ignoreError is set, the
// leading number is still used if it is in range. It returns the value, whether keepalived uses
// it, and the complaint keepalived logs ("" when none).
func readUnsigned(s string, minV, maxV uint64, ignoreError bool) (uint64, bool, string) {
	if v, ok := plainDecimal(s); ok && v >= minV && v <= maxV {
		return v, true, "" // what readUnsignedC gives such a word
	}
	return readUnsignedC(s, minV, maxV, ignoreError)
}

// readUnsignedC is readUnsigned for any word, through strtoul as keepalived reads it.
func readUnsignedC(s string, minV, maxV uint64, ignoreError bool) (uint64, bool, string) {
	off := 0
	for off < len(s) && isSpaceC(s[off]) {
		off++
	}
	v, rest, _, overflow := strtoul(s[off:], 10)
	switch {
	case off < len(s) && s[off] == '-':
		return v, ignoreError && v >= minV && v <= maxV, "negative number '" + s + "'"
	case rest != "":
		return v, ignoreError && v >= minV && v <= maxV, "invalid number '" + s + "'"
	case overflow || v > 1<<32-1:
		return v, false, "number '" + s + "' outside unsigned integer range"
	case v < minV || v > maxV:
		return v, false, "number '" + s + "' outside range"
	}
	return v, true, ""
}

// plainDecimal reads a word of one to nine decimal digits and nothing else (ports, weights,
// timers: nearly every number of a large configuration), which strtoul reads without sign,
// overflow or rest.
func plainDecimal(s string) (uint64, bool) {
	if len(s) == 0 || len(s) > 9 {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		d := s[i] - '0'
		if d > 9 {
			return 0, false
		}
		v = v*10 + uint64(d)
	}
	return v, true
}
