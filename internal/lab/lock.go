package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// lockTurn waits for this process's turn to boot a guest: first come, first served among the
// processes queued in cache/queue (one ticket file each, named by arrival time and pid; tickets
// of dead processes are dropped), then an exclusive flock on cache/boot.lock, which holds the
// holder's description. waiting is called whenever the number of runs ahead changes. The returned
// function releases the turn.
func lockTurn(ctx context.Context, cache string, waiting func(holder string, ahead int)) (func(), error) {
	queue := filepath.Join(cache, "queue")
	if err := os.MkdirAll(queue, 0o755); err != nil {
		return nil, err
	}
	me := fmt.Sprintf("%020d-%d", time.Now().UnixNano(), os.Getpid())
	ticket := filepath.Join(queue, me)
	desc := fmt.Sprintf("pid %d: %s", os.Getpid(), strings.Join(os.Args, " "))
	if err := os.WriteFile(ticket, []byte(desc), 0o644); err != nil {
		return nil, err
	}
	path := filepath.Join(cache, "boot.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		os.Remove(ticket)
		return nil, err
	}
	giveUp := func(err error) (func(), error) {
		os.Remove(ticket)
		f.Close()
		return nil, err
	}
	lastAhead := -1
	for {
		ahead, err := ticketsAhead(queue, me)
		if err != nil {
			return giveUp(err)
		}
		if ahead == 0 {
			busy, err := tryLock(f)
			if err != nil {
				return giveUp(fmt.Errorf("lock %s: %w", path, err))
			}
			if !busy {
				os.Remove(ticket)
				if err := f.Truncate(0); err == nil {
					_, _ = f.WriteAt([]byte(desc), 0)
				}
				return func() { _ = f.Truncate(0); f.Close() }, nil
			}
		}
		if ahead != lastAhead && waiting != nil {
			holder, _ := os.ReadFile(path)
			if len(holder) == 0 {
				holder = []byte("(unknown)")
			}
			waiting(string(holder), ahead+1)
			lastAhead = ahead
		}
		select {
		case <-ctx.Done():
			return giveUp(fmt.Errorf("waiting for the lab (%s): %w", path, ctx.Err()))
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// ticketsAhead counts the live tickets in queue older than me, removing those of dead processes.
func ticketsAhead(queue, me string) (int, error) {
	entries, err := os.ReadDir(queue)
	if err != nil {
		return 0, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	ahead := 0
	for _, name := range names {
		if name >= me {
			break
		}
		_, pidText, _ := strings.Cut(name, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || processGone(pid) {
			os.Remove(filepath.Join(queue, name))
			continue
		}
		ahead++
	}
	return ahead, nil
}
