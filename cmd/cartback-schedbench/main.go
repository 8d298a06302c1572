// Command cartback-schedbench measures the reminder scheduler against a
// large database: how long the service takes to become ready, how much
// memory it holds, how late due steps go out and how many it dispatches
// per second.
//
//	cartback-schedbench populate -db FILE [-carts 1000000] [-due 20000] [-lead 30s] [-spread 10s]
//	cartback-schedbench run -db FILE [-json] [-cpuprofile FILE]
//
// populate writes one shop and its carts straight into a new database:
// mostly finished carts (converted, expired, deleted, reminded earlier)
// that the scheduler never has to look at, and -due active carts whose
// first reminder falls due between -lead and -lead+-spread from the end
// of populating. run, started right after in a fresh process, opens the
// database and the real recovery.Scheduler with no-op senders, waits until
// every due step is final and reports. See scripts/bench-scheduler.sh and
// BENCHMARKS.md.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"
)

// processStart is taken as early as Go code runs; /proc gives the exec
// time itself, to the clock tick.
var processStart = time.Now()

// metaKey is where populate leaves what it wrote, for run to read.
const metaKey = "schedbench"

func main() {
	// The garbage collector runs as in the service (cmd/cartback sets 400
	// unless GOGC is set), so memory and speed are the service's.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

func realMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	var err error
	switch args[0] {
	case "populate":
		err = populate(args[1:], stdout, stderr)
	case "run":
		err = runBench(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return 0
	default:
		usage(stderr)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	} else if errors.Is(err, errUsage) {
		return 2
	} else if err != nil {
		fmt.Fprintln(stderr, "cartback-schedbench:", err)
		return 1
	}
	return 0
}

var errUsage = errors.New("usage")

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  cartback-schedbench populate -db FILE [-carts N] [-due N] [-lead D] [-spread D] [-batch N]
  cartback-schedbench run -db FILE [-json] [-workers N] [-timeout D] [-cpuprofile FILE]

Run a command with -h for its flags.
`)
}

// benchMeta is what populate wrote, kept in the database's meta bucket.
type benchMeta struct {
	ShopID       uint64    `json:"shop_id"`
	Domain       string    `json:"domain"`
	Carts        int       `json:"carts"`
	Due          int       `json:"due"`
	FirstDueID   uint64    `json:"first_due_id"`
	LastDueID    uint64    `json:"last_due_id"`
	WindowStart  time.Time `json:"window_start"`
	WindowEnd    time.Time `json:"window_end"`
	Burst        int       `json:"burst"`
	BurstAt      time.Time `json:"burst_at"`
	FirstBurstID uint64    `json:"first_burst_id"`
	LastBurstID  uint64    `json:"last_burst_id"`
	AbandonAfter string    `json:"abandon_after"`
	StepAfter    string    `json:"step_after"`
	PopulatedAt  time.Time `json:"populated_at"`
}
