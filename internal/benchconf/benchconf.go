// Package benchconf writes the generated keepalived.conf that the scale benchmarks read: N
// virtual servers with R real servers each, every real server with a TCP_CHECK block, the
// shape of a large LVS site (10,000 x 10 is about 21 MB). Every virtual server and every real
// server has its own address, so the result has N services and N x R real servers.
package benchconf

import (
	"bufio"
	"fmt"
	"io"
	"os"
)

// Write writes the configuration of virtualServers x realServers to w.
func Write(w io.Writer, virtualServers, realServers int) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	fmt.Fprintf(bw, "! generated: %d virtual servers x %d real servers\nglobal_defs {\n    router_id LVS_BENCH\n}\n\n",
		virtualServers, realServers)
	for v := 0; v < virtualServers; v++ {
		fmt.Fprintf(bw, "virtual_server %s 80 {\n    delay_loop 6\n    lb_algo wrr\n    lb_kind DR\n    persistence_timeout 50\n    protocol TCP\n\n",
			VirtualAddress(v))
		for r := 0; r < realServers; r++ {
			fmt.Fprintf(bw, "    real_server %s 80 {\n        weight %d\n        TCP_CHECK {\n            connect_port 80\n"+
				"            connect_timeout 3\n            retry 3\n            delay_before_retry 3\n        }\n    }\n",
				RealAddress(v*realServers+r), 1+r%5)
		}
		if _, err := bw.WriteString("}\n\n"); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// WriteFile writes the configuration to path and returns its size.
func WriteFile(path string, virtualServers, realServers int) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	if err := Write(f, virtualServers, realServers); err != nil {
		f.Close()
		return 0, fmt.Errorf("writing %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return 0, err
	}
	return st.Size(), f.Close()
}

// VirtualAddress is the VIP of the i-th virtual server (10.0.0.0/8: up to 16M of them).
func VirtualAddress(i int) string {
	return fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
}

// RealAddress is the address of the i-th real server (172.16.0.0/12: up to 1M of them).
func RealAddress(i int) string {
	return fmt.Sprintf("172.%d.%d.%d", 16+i>>16&15, i>>8&255, i&255)
}
