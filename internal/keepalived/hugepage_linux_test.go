package keepalived

import "testing"

// adviseHugePages only ever touches the buffer it is given, whatever its length and alignment.
func TestAdviseHugePagesStaysInside(t *testing.T) {
	const huge = 2 << 20
	big := make([]byte, 4*huge)
	for _, off := range []int{0, 1, 4095, huge - 1} {
		for _, n := range []int{0, 1, huge, 2*huge - 1, 2 * huge, 2*huge + 1, 3 * huge} {
			b := big[off : off+n : off+n]
			adviseHugePages(b)
			for i := range b {
				b[i] = byte(i)
			}
		}
	}
}
