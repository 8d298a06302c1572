package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cartback/cartback/recovery"
	"github.com/cartback/cartback/store"
)

type runConfig struct {
	DB         string
	JSON       bool
	Workers    int
	Timeout    time.Duration
	CPUProfile string
	MemProfile string
	Log        string
	MappedMB   int64
}

func parseRun(args []string, stderr io.Writer) (runConfig, error) {
	var c runConfig
	fs := flag.NewFlagSet("cartback-schedbench run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.DB, "db", "", "database written by populate")
	fs.BoolVar(&c.JSON, "json", false, "also print the result as one JSON line")
	fs.IntVar(&c.Workers, "workers", 0, "the scheduler's send workers (0: its default, as the service runs it)")
	fs.DurationVar(&c.Timeout, "timeout", 5*time.Minute, "give up this long after the due window ends")
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write a CPU profile from start-up to the last step to this file")
	fs.StringVar(&c.MemProfile, "memprofile", "", "write a heap profile at the end to this file")
	fs.StringVar(&c.Log, "log", "", "write the scheduler's JSON log here (default: formatted and discarded, as costly as the service's)")
	fs.Int64Var(&c.MappedMB, "mapped-mb", 32, "MiB of the database kept mapped before its pages go back to the page cache, as CARTBACK_DB_MAPPED_MB (0: never)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case c.DB == "":
		return c, fmt.Errorf("-db is required")
	case c.Timeout <= 0:
		return c, fmt.Errorf("-timeout must be positive")
	case c.MappedMB < 0:
		return c, fmt.Errorf("-mapped-mb must not be negative")
	}
	return c, nil
}

// noopSender accepts every message at once.
type noopSender struct{ calls atomic.Int64 }

func (s *noopSender) Send(context.Context, *recovery.Message) (string, error) {
	return "noop-" + strconv.FormatInt(s.calls.Add(1), 10), nil
}

// Targets on 2 cores with 1,000,000 stored carts.
const (
	targetStartup  = 2 * time.Second
	targetRSS      = 150_000_000 // bytes
	targetLateness = time.Second
	targetRate     = 2000.0 // steps/s
)

// report is what run measured; its JSON form is the -json line.
type report struct {
	DB           string         `json:"db"`
	DBBytes      int64          `json:"db_bytes"`
	Carts        int            `json:"carts"`
	Due          int            `json:"due"`
	Workers      int            `json:"workers"`
	MappedMB     int64          `json:"mapped_mb"` // the store's MappedLimit in MiB
	GOMAXPROCS   int            `json:"gomaxprocs"`
	StartupS     float64        `json:"startup_s"`        // exec → scheduler ready, from /proc (10 ms ticks)
	StartupMainS float64        `json:"startup_main_s"`   // first Go code → scheduler ready
	StoreOpenS   float64        `json:"store_open_s"`     // store.Open alone
	SchedOpenS   float64        `json:"scheduler_open_s"` // Scheduler.Open alone
	ReadyBeforeS float64        `json:"ready_before_window_s"`
	RSSStartMB   float64        `json:"rss_startup_mb"`
	RSSEndMB     float64        `json:"rss_end_mb"`
	RSSAnonEndMB float64        `json:"rss_anon_end_mb"`
	RSSFileEndMB float64        `json:"rss_file_end_mb"`
	HWMMB        float64        `json:"rss_peak_mb"`
	States       map[string]int `json:"states"`
	Claimed      int            `json:"claimed"`
	SenderCalls  int64          `json:"sender_calls"`
	LateP50Ms    float64        `json:"lateness_p50_ms"`
	LateP90Ms    float64        `json:"lateness_p90_ms"`
	LateP99Ms    float64        `json:"lateness_p99_ms"`
	LateMaxMs    float64        `json:"lateness_max_ms"`
	DispatchS    float64        `json:"dispatch_s"` // first claim → last finish
	Rate         float64        `json:"steps_per_s"`
	OfferedRate  float64        `json:"offered_steps_per_s"`
	// The burst: steps all due at one instant after the window.
	Burst          int     `json:"burst"`
	BurstClaimed   int     `json:"burst_claimed"`
	BurstDispatchS float64 `json:"burst_dispatch_s"`
	BurstRate      float64 `json:"burst_steps_per_s"`
	BurstLateP99Ms float64 `json:"burst_lateness_p99_ms"`
	CPUUserS       float64 `json:"cpu_user_s"`
	CPUSysS        float64 `json:"cpu_sys_s"`
	WaitS          float64 `json:"wait_s"` // ready → last step final
	StartupMet     bool    `json:"startup_met"`
	RSSMet         bool    `json:"rss_met"`
	LatenessMet    bool    `json:"lateness_met"`
	RateMet        bool    `json:"rate_met"`
}

func runBench(args []string, stdout, stderr io.Writer) error {
	cfg, err := parseRun(args, stderr)
	if err != nil {
		return err
	}
	if _, err := os.Stat(cfg.DB); err != nil {
		return err
	}
	logOut := io.Discard
	if cfg.Log != "" {
		f, err := os.Create(cfg.Log)
		if err != nil {
			return err
		}
		defer f.Close()
		logOut = f
	}
	ctx := context.Background()

	// Start-up: everything the service does before it can dispatch.
	t0 := time.Now()
	db, err := store.Open(cfg.DB, store.Options{MappedLimit: cfg.MappedMB << 20})
	if err != nil {
		return err
	}
	defer db.Close()
	storeOpen := time.Since(t0)
	signer, err := recovery.NewSigner([]byte("bench-signing-key-0123456789abcdef0123456789"))
	if err != nil {
		return err
	}
	svc := recovery.NewService(db)
	sender := &noopSender{}
	var finals atomic.Int64
	sched := &recovery.Scheduler{
		Service:   svc,
		Signer:    signer,
		PublicURL: "https://cartback.example.com",
		Workers:   cfg.Workers,
		Logger:    slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Senders:   map[recovery.Channel]recovery.Sender{recovery.ChannelEmail: sender, recovery.ChannelSMS: sender},
		OnStep:    func(recovery.Channel, recovery.StepState) { finals.Add(1) },
	}
	t1 := time.Now()
	if err := sched.Open(); err != nil {
		return err
	}
	ready := time.Now()
	schedOpen := ready.Sub(t1)
	sinceExec, execErr := sinceProcessStart()
	startRSS := procStatus()
	closed := false
	defer func() {
		if !closed {
			sched.Close()
		}
	}()

	var prof *os.File
	if cfg.CPUProfile != "" {
		if prof, err = os.Create(cfg.CPUProfile); err != nil {
			return err
		}
		defer prof.Close()
		if err := pprof.StartCPUProfile(prof); err != nil {
			return err
		}
	}
	stopProfile := func() {
		if prof != nil {
			pprof.StopCPUProfile()
			prof = nil
		}
	}
	defer stopProfile()

	var meta benchMeta
	err = db.View(ctx, func(tx recovery.Tx) error {
		b, err := tx.Meta(metaKey)
		if err != nil {
			return err
		}
		if b == nil {
			return fmt.Errorf("%s was not written by cartback-schedbench populate", cfg.DB)
		}
		return json.Unmarshal(b, &meta)
	})
	if err != nil {
		return err
	}
	fi, err := os.Stat(cfg.DB)
	if err != nil {
		return err
	}
	r := &report{
		DB: cfg.DB, DBBytes: fi.Size(), Carts: meta.Carts, Due: meta.Due, Workers: cfg.Workers, MappedMB: cfg.MappedMB,
		GOMAXPROCS: runtime.GOMAXPROCS(0), StoreOpenS: storeOpen.Seconds(), SchedOpenS: schedOpen.Seconds(),
		StartupMainS: ready.Sub(processStart).Seconds(), ReadyBeforeS: meta.WindowStart.Sub(ready).Seconds(),
		RSSStartMB: mb(startRSS["VmRSS"]), OfferedRate: offeredRate(meta.Due, meta.WindowEnd.Sub(meta.WindowStart)),
	}
	if r.Workers == 0 {
		r.Workers = recovery.DefaultWorkers
	}
	r.StartupS = r.StartupMainS
	if execErr == nil {
		r.StartupS = max(sinceExec.Seconds(), r.StartupMainS)
	}
	fmt.Fprintf(stderr, "ready %.3fs after exec; due window opens in %.1fs (%s .. %s)\n",
		r.StartupS, r.ReadyBeforeS, meta.WindowStart.Format("15:04:05.000"), meta.WindowEnd.Format("15:04:05.000"))
	if r.ReadyBeforeS < 0 {
		return fmt.Errorf("the scheduler was ready %.1fs after the due window opened; run right after populate or raise -lead", -r.ReadyBeforeS)
	}

	// Wait until every due step is final: the count of final outcomes
	// reaches the due count, or (steps skipped by the rules report no
	// outcome) nothing is left due or being sent once the window is over.
	var ru0 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	lastDue := meta.WindowEnd
	if meta.Burst > 0 {
		lastDue = meta.BurstAt
	}
	deadline := lastDue.Add(cfg.Timeout)
	total := int64(meta.Due + meta.Burst)
	lastNote := time.Now()
	done := false
	for !done {
		time.Sleep(50 * time.Millisecond)
		now := time.Now()
		if finals.Load() >= total {
			break
		}
		if now.After(lastDue) {
			err := db.View(ctx, func(tx recovery.Tx) error {
				due, err := tx.DueCarts(lastDue.Add(time.Minute), 1)
				if err != nil {
					return err
				}
				sending, err := tx.SendingCarts(1)
				done = len(due) == 0 && len(sending) == 0
				return err
			})
			if err != nil {
				return err
			}
		}
		if now.After(deadline) {
			return fmt.Errorf("timed out: %d of %d due steps final %s after the last fell due", finals.Load(), total, cfg.Timeout)
		}
		if now.Sub(lastNote) >= 2*time.Second {
			lastNote = now
			fmt.Fprintf(stderr, "  %s: %d/%d steps final\n", now.Format("15:04:05"), finals.Load(), total)
		}
	}
	end := time.Now()
	var ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	endRSS := procStatus()
	stopProfile()
	if cfg.MemProfile != "" {
		f, err := os.Create(cfg.MemProfile)
		if err != nil {
			return err
		}
		runtime.GC()
		err = pprof.WriteHeapProfile(f)
		f.Close()
		if err != nil {
			return err
		}
	}
	sched.Close()
	closed = true
	r.WaitS = end.Sub(ready).Seconds()
	r.CPUUserS = tv(ru1.Utime) - tv(ru0.Utime)
	r.CPUSysS = tv(ru1.Stime) - tv(ru0.Stime)
	r.RSSEndMB, r.RSSAnonEndMB, r.RSSFileEndMB = mb(endRSS["VmRSS"]), mb(endRSS["RssAnon"]), mb(endRSS["RssFile"])
	r.HWMMB = mb(endRSS["VmHWM"])
	r.SenderCalls = sender.calls.Load()

	// Read the due carts back: the window's for lateness, the burst's for
	// capacity.
	r.States = map[string]int{}
	window, err := readBack(ctx, db, meta.FirstDueID, meta.LastDueID, r.States)
	if err != nil {
		return err
	}
	burst, err := readBack(ctx, db, meta.FirstBurstID, meta.LastBurstID, r.States)
	if err != nil {
		return err
	}
	r.Claimed = len(window.late)
	r.LateP50Ms, r.LateP90Ms, r.LateP99Ms = msOf(pct(window.late, 50)), msOf(pct(window.late, 90)), msOf(pct(window.late, 99))
	if n := len(window.late); n > 0 {
		r.LateMaxMs = msOf(window.late[n-1])
	}
	r.DispatchS, r.Rate = window.span()
	r.Burst, r.BurstClaimed = meta.Burst, len(burst.late)
	r.BurstDispatchS, r.BurstRate = burst.span()
	r.BurstLateP99Ms = msOf(pct(burst.late, 99))
	r.StartupMet = r.StartupS <= targetStartup.Seconds()
	r.RSSMet = max(r.RSSEndMB, r.HWMMB) <= targetRSS/1e6
	r.LatenessMet = r.Claimed > 0 && r.LateP99Ms <= float64(targetLateness.Milliseconds())
	// Capacity shows where there is a backlog to drain; a window that the
	// scheduler keeps up with only shows the offered rate.
	r.RateMet = r.Rate >= targetRate
	if r.Burst > 0 {
		r.RateMet = r.BurstRate >= targetRate
	}

	r.print(stdout)
	if cfg.JSON {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\n", b)
	}
	if open := r.States["unplanned"] + r.States[string(recovery.StepScheduled)] + r.States[string(recovery.StepSending)]; open > 0 {
		return fmt.Errorf("%d due steps are not final", open)
	}
	if r.Claimed == 0 {
		return errors.New("no step was claimed")
	}
	return nil
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "database     %s, %.1f MB, %d carts, %d due, GOMAXPROCS %d, %d workers\n",
		r.DB, float64(r.DBBytes)/1e6, r.Carts, r.Due, r.GOMAXPROCS, r.Workers)
	fmt.Fprintf(w, "start-up     %.3fs from exec to scheduler ready (store.Open %.3fs, Scheduler.Open %.3fs)   target ≤ %s: %s\n",
		r.StartupS, r.StoreOpenS, r.SchedOpenS, targetStartup, met(r.StartupMet))
	fmt.Fprintf(w, "memory       RSS %.1f MB after start-up, %.1f MB at the end (anon %.1f, file-backed %.1f), peak %.1f MB; mapping capped at %d MiB   target ≤ %d MB: %s\n",
		r.RSSStartMB, r.RSSEndMB, r.RSSAnonEndMB, r.RSSFileEndMB, r.HWMMB, r.MappedMB, targetRSS/1_000_000, met(r.RSSMet))
	keys := make([]string, 0, len(r.States))
	for k := range r.States {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, r.States[k]))
	}
	fmt.Fprintf(w, "steps        %d due: %s; %d sender calls\n", r.Due+r.Burst, strings.Join(parts, ", "), r.SenderCalls)
	fmt.Fprintf(w, "lateness     claimed − due: p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  max %.1f ms   target p99 ≤ %s: %s\n",
		r.LateP50Ms, r.LateP90Ms, r.LateP99Ms, r.LateMaxMs, targetLateness, met(r.LatenessMet))
	offered := "all due at once"
	if r.OfferedRate > 0 {
		offered = fmt.Sprintf("offered %.0f/s", r.OfferedRate)
	}
	if r.Burst == 0 {
		fmt.Fprintf(w, "dispatch     %d steps in %.2fs (first claim → last finish) = %.0f steps/s, %s   target ≥ %.0f/s: %s\n",
			r.Claimed, r.DispatchS, r.Rate, offered, targetRate, met(r.RateMet))
	} else {
		fmt.Fprintf(w, "dispatch     window: %d steps in %.2fs (first claim → last finish) = %.0f steps/s, %s\n",
			r.Claimed, r.DispatchS, r.Rate, offered)
		fmt.Fprintf(w, "capacity     burst: %d steps due at once, done in %.2fs = %.0f steps/s (p99 lateness %.0f ms)   target ≥ %.0f/s: %s\n",
			r.BurstClaimed, r.BurstDispatchS, r.BurstRate, r.BurstLateP99Ms, targetRate, met(r.RateMet))
	}
	fmt.Fprintf(w, "cpu          %.2fs user + %.2fs sys over %.2fs from ready to the last step (%.2f cores)\n",
		r.CPUUserS, r.CPUSysS, r.WaitS, (r.CPUUserS+r.CPUSysS)/max(r.WaitS, 1e-9))
}

// pct is the nearest-rank percentile of sorted.
func pct(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(float64(n)*p/100 + 0.999999)
	return sorted[max(1, min(rank, n))-1]
}

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func mb(kib int64) float64 { return float64(kib) * 1024 / 1e6 }

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// procStatus returns the kB figures of /proc/self/status (VmRSS, VmHWM,
// RssAnon, RssFile, …).
func procStatus() map[string]int64 {
	m := map[string]int64{}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return m
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 2 && f[1] == "kB" {
			if v, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				m[name] = v
			}
		}
	}
	return m
}

// sinceProcessStart is the time since exec, from the process's start time
// in /proc/self/stat and the system's uptime, both in clock ticks of
// 10 ms (USER_HZ is 100 on Linux).
func sinceProcessStart() (time.Duration, error) {
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, err
	}
	up, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces; fields are counted after its ')'.
	i := strings.LastIndexByte(string(stat), ')')
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 20 {
		return 0, errors.New("short /proc/self/stat")
	}
	ticks, err := strconv.ParseInt(f[19], 10, 64) // field 22: starttime
	if err != nil {
		return 0, err
	}
	uf := strings.Fields(string(up))
	if len(uf) == 0 {
		return 0, errors.New("empty /proc/uptime")
	}
	uptime, err := strconv.ParseFloat(uf[0], 64)
	if err != nil {
		return 0, err
	}
	return time.Duration((uptime - float64(ticks)/100) * float64(time.Second)), nil
}

// groupResult is what reading one group of due carts back found.
type groupResult struct {
	late        []time.Duration // claimed − due of every claimed step, sorted
	first, last time.Time       // first claim, last finish
}

// span returns the group's first claim → last finish and its rate.
func (g groupResult) span() (seconds, rate float64) {
	if d := g.last.Sub(g.first); d > 0 {
		return d.Seconds(), float64(len(g.late)) / d.Seconds()
	}
	return 0, 0
}

// readBack reads carts first..last and counts their steps' states.
func readBack(ctx context.Context, db *store.DB, first, last uint64, states map[string]int) (groupResult, error) {
	var g groupResult
	for id := first; id <= last && id != 0; {
		hi := min(id+999, last)
		err := db.View(ctx, func(tx recovery.Tx) error {
			for cid := id; cid <= hi; cid++ {
				c, err := tx.Cart(cid)
				if err != nil {
					return err
				}
				if len(c.Steps) == 0 {
					states["unplanned"]++
					continue
				}
				for _, st := range c.Steps {
					states[string(st.State)]++
					if st.ClaimedAt.IsZero() {
						continue
					}
					g.late = append(g.late, st.ClaimedAt.Sub(st.DueAt))
					if g.first.IsZero() || st.ClaimedAt.Before(g.first) {
						g.first = st.ClaimedAt
					}
					if st.FinishedAt.After(g.last) {
						g.last = st.FinishedAt
					}
				}
			}
			return nil
		})
		if err != nil {
			return g, err
		}
		id = hi + 1
	}
	slices.Sort(g.late)
	return g, nil
}
