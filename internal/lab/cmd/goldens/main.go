//go:build linux

// Command goldens regenerates the keepalived oracle's golden files: for every NAME.conf in the
// corpus directory it runs the real keepalived inside the kernel lab (one guest boot for all of
// them, ip_vs loaded, working directory = the corpus directory) and writes NAME.conf.golden.
// The golden format is documented in GOLDENS.md next to the corpus.
//
//	go run ./internal/lab/cmd/goldens [-dir internal/keepalived/testdata/corpus] [NAME.conf ...]
//
// On the host it boots the lab and re-executes itself inside; inside (VIP_LAB=1) it drives
// keepalived.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vip-manager/terraform-provider-vip/internal/lab"
)

func main() {
	dir := flag.String("dir", "internal/keepalived/testdata/corpus", "the corpus directory")
	inside := flag.Bool("inside", false, "internal: run keepalived (inside the lab guest)")
	verbose := flag.Bool("v", false, "stream the guest's console")
	timeout := flag.Duration("timeout", 60*time.Minute, "give up after this long")
	flag.Parse()

	abs, err := filepath.Abs(*dir)
	if err != nil {
		fail(err)
	}
	names := flag.Args()
	if len(names) == 0 {
		if names, err = corpus(abs); err != nil {
			fail(err)
		}
	}
	if len(names) == 0 {
		fail(fmt.Errorf("no *.conf files in %s", abs))
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	if *inside {
		if !lab.Inside() {
			fail(errors.New("-inside is for the lab guest"))
		}
		failed := 0
		start := time.Now()
		defer func() {
			fmt.Fprintf(os.Stderr, "goldens: keepalived on %d configs in %s inside the guest\n", len(names), time.Since(start).Round(time.Millisecond))
		}()
		for _, name := range names {
			if err := generate(ctx, abs, name); err != nil {
				fmt.Fprintf(os.Stderr, "goldens: %s: %v\n", name, err)
				failed++
			}
		}
		if failed > 0 {
			fmt.Fprintf(os.Stderr, "goldens: %d of %d configs failed\n", failed, len(names))
			os.Exit(1)
		}
		return
	}

	exe, err := os.Executable()
	if err != nil {
		fail(err)
	}
	script := []string{"exec", shellQuote(exe), "-inside", "-dir", shellQuote(abs)}
	for _, n := range names {
		script = append(script, shellQuote(n))
	}
	cfg := lab.Config{
		Script: strings.Join(script, " ") + "\n",
		Dir:    abs,
		Log:    func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) },
	}
	if *verbose {
		cfg.Console = os.Stderr
	}
	start := time.Now()
	out, err := cfg.Run(ctx)
	os.Stderr.Write(out)
	if err != nil {
		fail(err)
	}
	fmt.Fprintf(os.Stderr, "goldens: %d golden files in %s, %s\n", len(names), abs, time.Since(start).Round(time.Millisecond))
}

// corpus lists the *.conf files of dir, sorted.
func corpus(dir string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(dir, "*.conf"))
	if err != nil {
		return nil, err
	}
	names := make([]string, len(matches))
	for i, m := range matches {
		names[i] = filepath.Base(m)
	}
	return names, nil
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "goldens:", err)
	os.Exit(1)
}
