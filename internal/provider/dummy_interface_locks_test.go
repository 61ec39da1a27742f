package provider

import (
	"testing"
	"time"

	"github.com/vip-manager/terraform-provider-vip/internal/sshconn"
)

// TestHostLocksCanonical: `rs1` and `rs1:22` are one host, so they share one lock.
func TestHostLocksCanonical(t *testing.T) {
	l := hostLocks{canonical: sshconn.NewPool(sshconn.Config{}).Address}
	unlock := l.lock("rs1")
	got := make(chan struct{})
	go func() {
		l.lock("rs1:22")()
		close(got)
	}()
	select {
	case <-got:
		t.Fatal("rs1:22 was locked while rs1 was held")
	case <-time.After(100 * time.Millisecond):
	}
	l.lock("rs2")() // another host is not blocked
	unlock()
	<-got
}
