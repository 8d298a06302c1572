package main

import (
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cartback/cartback/internal/signature"
)

const testSecret = "bench-secret-0123456789"

// fakeCartback checks every webhook the way cartback does and remembers
// what it was sent.
type fakeCartback struct {
	t    *testing.T
	size int

	mu       sync.Mutex
	shops    int
	tokens   map[string]bool
	events   map[string]bool
	received int
}

func (f *fakeCartback) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := f.t
	switch r.URL.Path {
	case "/admin/api/shops":
		if r.Header.Get("Authorization") != "Bearer admin-token" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		f.mu.Lock()
		f.shops++
		first := f.shops == 1
		f.mu.Unlock()
		if first {
			w.WriteHeader(http.StatusCreated)
		} else {
			w.WriteHeader(http.StatusConflict)
		}
		return
	case "/webhooks/shopify":
	case "/redirect":
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
		return
	default:
		t.Errorf("unexpected request %s %s", r.Method, r.URL)
		http.NotFound(w, r)
		return
	}

	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.Errorf("reading body: %v", err)
		return
	}
	if !signature.Verify(body, r.Header.Get("X-Shopify-Hmac-Sha256"), testSecret) {
		t.Errorf("bad signature on a %d-byte body", len(body))
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if got := r.Header.Get("X-Shopify-Topic"); got != "checkouts/create" {
		t.Errorf("topic = %q", got)
	}
	if got := r.Header.Get("X-Shopify-Shop-Domain"); got != "bench.myshopify.com" {
		t.Errorf("shop = %q", got)
	}
	if d := len(body) - f.size; d < -f.size/20 || d > f.size/20 {
		t.Errorf("body is %d bytes, want about %d", len(body), f.size)
	}
	var c struct {
		Token     string `json:"token"`
		CartToken string `json:"cart_token"`
		Email     string `json:"email"`
		UpdatedAt string `json:"updated_at"`
		Currency  string `json:"currency"`
		URL       string `json:"abandoned_checkout_url"`
		Total     string `json:"total_price"`
		LineItems []struct {
			Price string `json:"price"`
		} `json:"line_items"`
	}
	if err := json.Unmarshal(body, &c); err != nil {
		t.Errorf("body is not JSON: %v", err)
		return
	}
	if len(c.Token) != 32 || len(c.CartToken) != 32 || c.Token == c.CartToken {
		t.Errorf("token %q, cart_token %q", c.Token, c.CartToken)
	}
	if !strings.Contains(c.URL, c.Token) || !strings.Contains(c.Email, c.Token) {
		t.Errorf("recovery link %q or email %q does not carry the token %q", c.URL, c.Email, c.Token)
	}
	if _, err := time.Parse(time.RFC3339, c.UpdatedAt); err != nil {
		t.Errorf("updated_at: %v", err)
	}
	if c.Currency != "USD" || !strings.Contains(c.Total, ".") || len(c.LineItems) < 2 {
		t.Errorf("currency %q, total %q, %d line items", c.Currency, c.Total, len(c.LineItems))
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	f.received++
	for _, k := range []string{"token " + c.Token, "cart " + c.CartToken, "email " + c.Email} {
		if f.tokens[k] {
			t.Errorf("%s sent twice", k)
		}
		f.tokens[k] = true
	}
	ev := r.Header.Get("X-Shopify-Event-Id")
	if ev == "" || f.events[ev] {
		t.Errorf("event id %q missing or repeated", ev)
	}
	f.events[ev] = true
	if _, err := time.Parse(time.RFC3339Nano, r.Header.Get("X-Shopify-Triggered-At")); err != nil {
		t.Errorf("X-Shopify-Triggered-At: %v", err)
	}
	w.Write([]byte(`{"outcome":"created"}`))
}

func newFake(t *testing.T, size int) (*fakeCartback, *httptest.Server) {
	f := &fakeCartback{t: t, size: size, tokens: map[string]bool{}, events: map[string]bool{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func TestShopifyWebhooks(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  func(*config)
	}{
		// -n small enough that every body is made and signed up front.
		{"prepared", func(c *config) { c.N = 300 }},
		// A timed run makes and signs bodies as it goes.
		{"timed", func(c *config) { c.Duration = 200 * time.Millisecond }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const size = 7168
			f, srv := newFake(t, size)
			cfg := config{
				URL: srv.URL, Target: targetShopify, Concurrency: 8, Warmup: 50 * time.Millisecond,
				Timeout: 5 * time.Second, Shop: "bench.myshopify.com", Secret: testSecret,
				AdminToken: "admin-token", Size: size, Pool: 16,
			}
			tc.cfg(&cfg)
			if err := cfg.validate(); err != nil {
				t.Fatal(err)
			}
			res, err := run(context.Background(), cfg, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if res.Failed != 0 || res.WarmupFail != 0 || res.Requests == 0 {
				t.Fatalf("requests %d, failed %d, warm-up failed %d: %v", res.Requests, res.Failed, res.WarmupFail, res.Statuses)
			}
			if cfg.N > 0 && res.Requests != cfg.N {
				t.Errorf("sent %d requests, want %d", res.Requests, cfg.N)
			}
			if res.Statuses["200"] != res.Requests {
				t.Errorf("statuses %v", res.Statuses)
			}
			if f.received <= res.Requests { // the warm-up comes on top
				t.Errorf("server saw %d webhooks, timed phase sent %d", f.received, res.Requests)
			}
			if f.shops != 1 {
				t.Errorf("shop created %d times", f.shops)
			}
			if res.P50 <= 0 || res.P50 > res.P99 || res.P99 > res.Max {
				t.Errorf("latencies p50 %v p99 %v max %v", res.P50, res.P99, res.Max)
			}
		})
	}
}

func TestTemplatesNearSize(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{4096, 7168, 32 << 10} {
		g, err := newBodyGen(8, size, testSecret, rng, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		for seq := range uint64(16) {
			body, sig := g.body(seq, nil)
			if d := len(body) - size; d < -size/20 || d > size/20 {
				t.Errorf("size %d: body is %d bytes", size, len(body))
			}
			if !json.Valid(body) {
				t.Errorf("size %d: invalid JSON", size)
			}
			if !signature.Verify(body, sig, testSecret) {
				t.Errorf("size %d: bad signature", size)
			}
		}
	}
}

func TestFailuresExitNonZero(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	var out strings.Builder
	code := realMain([]string{"-url", srv.URL, "-secret", testSecret, "-n", "20", "-warmup", "0", "-concurrency", "4", "-json"}, &out, io.Discard)
	if code == 0 {
		t.Errorf("exit code 0 after failed requests; output:\n%s", out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var res result
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("last line is not JSON: %v", err)
	}
	if res.Failed != 20 || res.Statuses["401"] != 20 {
		t.Errorf("failed %d, statuses %v", res.Failed, res.Statuses)
	}
}

func TestGetDoesNotFollowRedirects(t *testing.T) {
	_, srv := newFake(t, 7168)
	res, err := run(context.Background(), config{
		URL: srv.URL, Target: targetGet, Path: "/redirect", Concurrency: 2, N: 10, Timeout: 5 * time.Second, Size: 7168, Pool: 1,
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != 10 || res.Statuses["302"] != 10 {
		t.Errorf("ok %d, statuses %v", res.OK, res.Statuses)
	}
}

func TestRefusesRemoteHosts(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "::1", "localhost"} {
		if err := checkLoopback(host); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
	for _, host := range []string{"192.0.2.10", "2001:db8::1"} {
		if err := checkLoopback(host); err == nil {
			t.Errorf("%s accepted", host)
		}
	}
	_, err := run(context.Background(), config{URL: "http://192.0.2.10:8080", Target: targetNoop, Concurrency: 1, N: 1, Timeout: time.Second, Size: 4096, Pool: 1}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "allow-remote") {
		t.Errorf("run against a remote host: %v", err)
	}
}

func TestPercentile(t *testing.T) {
	// 1 ms … 1000 ms, shuffled: the nearest-rank percentiles are exact.
	sample := make([]time.Duration, 1000)
	for i := range sample {
		sample[i] = time.Duration(i+1) * time.Millisecond
	}
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(sample), func(i, j int) { sample[i], sample[j] = sample[j], sample[i] })
	r := &result{latencies: sample, OK: 1000}
	r.summarize(2 * time.Second)
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"p50", r.P50, 500}, {"p90", r.P90, 900}, {"p99", r.P99, 990}, {"p99.9", r.P999, 999},
		{"max", r.Max, 1000}, {"mean", r.Mean, 500.5}, {"rate", r.Rate, 500},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}

	small := []time.Duration{10, 20, 30}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{1, 10}, {33.3, 10}, {33.4, 20}, {50, 20}, {66.7, 30}, {99.9, 30}, {100, 30}} {
		if got := percentile(small, c.p); got != c.want {
			t.Errorf("p%v of %v = %v, want %v", c.p, small, got, c.want)
		}
	}
	if got := percentile(nil, 99); got != 0 {
		t.Errorf("percentile of nothing = %v", got)
	}
}

// TestConnAnswers checks the generator's own HTTP/1.1 client against
// answers net/http's server really gives: chunked bodies keep the
// connection, "Connection: close" makes it dial again, and a server that
// hangs up without answering is a failure, not a hang.
func TestConnAnswers(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			for range 3 {
				w.Write([]byte(strings.Repeat("x", 5000)))
				w.(http.Flusher).Flush()
			}
		case "/close":
			w.Header().Set("Connection", "close")
			w.Write([]byte("bye"))
		case "/hangup":
			c, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				c.Close()
			}
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	for _, tc := range []struct {
		path      string
		status    string
		wantConns int64
	}{
		{"/chunked", "200", 2},
		{"/close", "200", 40},
		{"/hangup", "eof", 40},
	} {
		conns.Store(0)
		res, err := run(context.Background(), config{
			URL: srv.URL, Target: targetGet, Path: tc.path, Concurrency: 2, N: 40, Timeout: 5 * time.Second, Size: 4096, Pool: 1,
		}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if res.Statuses[tc.status] != 40 {
			t.Errorf("%s: statuses %v, want 40 × %s", tc.path, res.Statuses, tc.status)
		}
		if got := conns.Load(); got != tc.wantConns {
			t.Errorf("%s: %d connections, want %d", tc.path, got, tc.wantConns)
		}
	}
}

// TestRateTimesFromTheSchedule checks the open loop: requests leave on
// schedule, and one that could not leave on time because the server was
// slow counts its wait, where a closed loop would hide it.
func TestRateTimesFromTheSchedule(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(10 * time.Millisecond)
	}))
	defer srv.Close()
	cfg := config{URL: srv.URL, Target: targetGet, Path: "/", Concurrency: 1, N: 20, Timeout: 5 * time.Second, Size: 4096, Pool: 1}

	closed, err := run(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg.OfferedRate = 1000 // one due every millisecond; the server takes ten
	open, err := run(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if open.OK != 20 || closed.OK != 20 {
		t.Fatalf("ok: open loop %d, closed loop %d", open.OK, closed.OK)
	}
	// The 20th request is due at 19 ms but cannot leave before the 19
	// ahead of it took 190 ms.
	if open.Max < 150 {
		t.Errorf("open loop max latency %.1f ms, want at least 150", open.Max)
	}
	if closed.Max >= 150 {
		t.Errorf("closed loop max latency %.1f ms: each request should take about 10", closed.Max)
	}
	if open.OfferedRate != 1000 {
		t.Errorf("offered rate reported as %v", open.OfferedRate)
	}

	// A fast server is sent requests no faster than the schedule.
	fast := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer fast.Close()
	cfg.URL, cfg.Concurrency, cfg.N, cfg.OfferedRate = fast.URL, 4, 50, 500
	paced, err := run(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if paced.Duration < 0.097 { // the 50th request is due at 98 ms
		t.Errorf("50 requests at 500/s took %.3f s", paced.Duration)
	}
}

// TestWireLatency: on Linux each answer's latency is also taken to the
// kernel's receipt of it, which comes before the worker reads it; a
// server that takes 10 ms shows that in both, the open loop's wait for
// its slot too.
func TestWireLatency(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("receive times come from Linux's SO_TIMESTAMPNS")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(10 * time.Millisecond)
	}))
	defer srv.Close()
	cfg := config{URL: srv.URL, Target: targetGet, Path: "/", Concurrency: 1, N: 20, Timeout: 5 * time.Second, Size: 4096, Pool: 1}
	for _, rate := range []float64{0, 1000} {
		cfg.OfferedRate = rate
		res, err := run(context.Background(), cfg, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		w := res.Wire
		if w == nil || w.Answers != 20 {
			t.Fatalf("rate %v: wire latencies %+v", rate, w)
		}
		if w.P50 < 10 || w.P50 > res.P50 || w.Max > res.Max {
			t.Errorf("rate %v: at the wire p50 %.2f max %.2f; as read p50 %.2f max %.2f", rate, w.P50, w.Max, res.P50, res.Max)
		}
		if rate > 0 && w.Max < 150 {
			t.Errorf("open loop: the wire latency left out the wait for the slot (max %.1f ms)", w.Max)
		}
	}
}
