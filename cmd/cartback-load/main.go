// Command cartback-load drives load at a running cartback and reports
// throughput and latency. It sends signed Shopify checkouts/create webhooks
// (-target shopify), the same bodies to the no-op endpoint (-target noop)
// to measure the HTTP stack alone, or GETs one path (-target get).
//
// By default each of -concurrency workers sends its next request as soon as
// the last one is answered (a closed loop: the measured rate is the
// server's capacity). With -rate it sends at a fixed rate instead and
// times each request from when it was due, so that a stalled server shows
// in the latencies rather than lowering the rate (an open loop: latency at
// a given load).
//
// On Linux it also times each answer to when the kernel received it
// (SO_TIMESTAMPNS), before its own goroutine was scheduled to read it, and
// prints those latencies "at the wire" beside the ones it reads.
//
// It is a benchmarking tool: it stops by itself after -duration or -n
// requests, and it refuses non-loopback hosts unless -allow-remote is given.
// It exits 1 if any request failed, so scripts notice.
//
//	cartback-load -target shopify -secret "$SECRET" -admin-token "$TOKEN" -duration 10s
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"
)

// config is the command line.
type config struct {
	URL         string
	Target      string
	Path        string
	Concurrency int
	OfferedRate float64
	Duration    time.Duration
	N           int
	Warmup      time.Duration
	Timeout     time.Duration
	Shop        string
	Secret      string
	AdminToken  string
	Size        int
	Pool        int
	JSON        bool
	AllowRemote bool
	CPUProfile  string
}

const (
	targetShopify = "shopify"
	targetNoop    = "noop"
	targetGet     = "get"
)

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("cartback-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.URL, "url", "http://127.0.0.1:8080", "base URL of the cartback under test")
	fs.StringVar(&c.Target, "target", targetShopify, "what to send: shopify (signed checkouts/create webhooks), noop (the same bodies to /webhooks/noop), get (GET -path)")
	fs.StringVar(&c.Path, "path", "", "path to GET with -target get; redirects are not followed and 2xx/3xx count as success")
	fs.IntVar(&c.Concurrency, "concurrency", 64, "requests in flight (with -rate: at most)")
	fs.Float64Var(&c.OfferedRate, "rate", 0, "send at this many requests per second, evenly spaced, whatever the answers' speed, and time each request from when it was due (0: each of -concurrency workers sends as soon as its last answer is in)")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "length of the timed phase (ignored when -n is set)")
	fs.IntVar(&c.N, "n", 0, "total requests in the timed phase (0: run for -duration)")
	fs.DurationVar(&c.Warmup, "warmup", time.Second, "load before the timed phase, not counted")
	fs.DurationVar(&c.Timeout, "timeout", 30*time.Second, "timeout of one request")
	fs.StringVar(&c.Shop, "shop", "bench.myshopify.com", "shop domain the webhooks come from")
	fs.StringVar(&c.Secret, "secret", "", "the shop's webhook secret (at least 16 characters; required for -target shopify)")
	fs.StringVar(&c.AdminToken, "admin-token", "", "when set, create the shop through the admin API first (an existing shop is fine)")
	fs.IntVar(&c.Size, "size", 7168, "approximate body size in bytes")
	fs.IntVar(&c.Pool, "pool", 256, "distinct checkout templates to rotate through")
	fs.BoolVar(&c.JSON, "json", false, "also print the result as one JSON line")
	fs.BoolVar(&c.AllowRemote, "allow-remote", false, "allow a non-loopback -url")
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write a CPU profile of the load generator to this file")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return c, c.validate()
}

func (c *config) validate() error {
	switch c.Target {
	case targetShopify:
		if len(c.Secret) < 16 {
			return errors.New("-target shopify needs -secret of at least 16 characters")
		}
	case targetNoop:
	case targetGet:
		if c.Path == "" || c.Path[0] != '/' {
			return errors.New("-target get needs -path starting with /")
		}
	default:
		return fmt.Errorf("-target: %q is not shopify, noop or get", c.Target)
	}
	switch {
	case c.Concurrency < 1:
		return errors.New("-concurrency must be at least 1")
	case c.OfferedRate < 0 || math.IsInf(c.OfferedRate, 0) || math.IsNaN(c.OfferedRate):
		return errors.New("-rate must be a number of requests per second, or 0")
	case c.N < 0:
		return errors.New("-n must not be negative")
	case c.N == 0 && c.Duration <= 0:
		return errors.New("-duration must be positive when -n is not set")
	case c.Warmup < 0:
		return errors.New("-warmup must not be negative")
	case c.Timeout <= 0:
		return errors.New("-timeout must be positive")
	case c.Size < 4096 || c.Size > 1<<20:
		return errors.New("-size must be between 4096 and 1048576: a checkout with one line item is about 3 KB")
	case c.Pool < 1:
		return errors.New("-pool must be at least 1")
	}
	return nil
}

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

func realMain(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	} else if err != nil {
		fmt.Fprintln(stderr, "cartback-load:", err)
		return 2
	}
	if cfg.CPUProfile != "" {
		f, err := os.Create(cfg.CPUProfile)
		if err != nil {
			fmt.Fprintln(stderr, "cartback-load:", err)
			return 2
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "cartback-load:", err)
			return 2
		}
		defer pprof.StopCPUProfile()
	}

	// Ctrl-C ends the run early; what was measured so far is reported.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, cfg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "cartback-load:", err)
		return 1
	}
	res.print(stdout)
	if cfg.JSON {
		if err := res.printJSON(stdout); err != nil {
			fmt.Fprintln(stderr, "cartback-load:", err)
			return 1
		}
	}
	if res.Failed > 0 || res.WarmupFail > 0 || res.Requests == 0 {
		return 1
	}
	return 0
}
