package lab

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestLockTurnOrder: a process that queued earlier goes first; a dead process's ticket does not
// block anyone.
func TestLockTurnOrder(t *testing.T) {
	cache := t.TempDir()
	queue := filepath.Join(cache, "queue")
	if err := os.MkdirAll(queue, 0o755); err != nil {
		t.Fatal(err)
	}
	// A ticket of this (live) process that is older than any new one, and one of a dead pid.
	older := filepath.Join(queue, "00000000000000000001-1")
	if err := os.WriteFile(older, nil, 0o644); err != nil { // pid 1 is alive
		t.Fatal(err)
	}
	dead := filepath.Join(queue, "00000000000000000000-999999999")
	if err := os.WriteFile(dead, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	var ahead []int
	_, err := lockTurn(ctx, cache, func(_ string, n int) { ahead = append(ahead, n) })
	if err == nil {
		t.Fatal("got the turn while an older live ticket is queued")
	}
	if len(ahead) == 0 || ahead[0] != 2 {
		t.Errorf("waiting reported %v, want first 2 (the older ticket and its run)", ahead)
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("the dead process's ticket is still there: %v", err)
	}
	os.Remove(older)
	unlock, err := lockTurn(context.Background(), cache, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel2()
	if _, err := lockTurn(ctx2, cache, nil); err == nil {
		t.Fatal("two turns at once")
	}
	unlock()
	unlock2, err := lockTurn(context.Background(), cache, nil)
	if err != nil {
		t.Fatal(err)
	}
	unlock2()
	if left, _ := os.ReadDir(queue); len(left) != 0 {
		t.Errorf("tickets left behind: %v", left)
	}
}
