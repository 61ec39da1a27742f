// Command labrun runs a shell script as root inside the kernel lab guest (see package lab) and
// exits with its status: `go run ./internal/lab/cmd/labrun 'ip link add x type dummy'`, or the
// script on stdin with `-`. The guest's console streams to stderr with -console.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/vip-manager/terraform-provider-vip/internal/lab"
)

func main() {
	console := flag.Bool("console", false, "stream the guest's serial console to stderr")
	timeout := flag.Duration("timeout", 30*time.Minute, "kill the guest after this long")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: labrun [-console] [-timeout D] SCRIPT|-\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	script := flag.Arg(0)
	if script == "-" {
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			fmt.Fprintln(os.Stderr, "labrun:", err)
			os.Exit(1)
		}
		script = string(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	cfg := lab.Config{Script: script, Log: func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }}
	if *console {
		cfg.Console = os.Stderr
	}
	start := time.Now()
	out, err := cfg.Run(ctx)
	os.Stdout.Write(out)
	fmt.Fprintf(os.Stderr, "labrun: %s\n", time.Since(start).Round(time.Millisecond))
	var exit *lab.ExitError
	switch {
	case errors.As(err, &exit):
		os.Exit(exit.Code)
	case err != nil:
		fmt.Fprintln(os.Stderr, "labrun:", err)
		os.Exit(125)
	}
}
