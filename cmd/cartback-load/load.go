package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// preparedBudget caps the memory spent on bodies signed ahead of time when
// -n is given; past it, bodies are made and signed while sending.
const preparedBudget = 256 << 20

// warmupSeq is where warm-up requests number from, so that their ids never
// meet the timed phase's.
const warmupSeq = 1 << 62

// loader sends the requests of one run.
type loader struct {
	cfg      config
	client   *http.Client
	endpoint string
	gen      *bodyGen
	// prepared holds the timed phase's bodies and signatures when they
	// were made before it.
	prepared     [][]byte
	preparedSigs []string
}

// run creates the shop if asked, warms up, then measures.
func run(ctx context.Context, cfg config, log io.Writer) (*result, error) {
	base, err := url.Parse(strings.TrimSuffix(cfg.URL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("-url: %q is not an http(s) URL", cfg.URL)
	}
	if !cfg.AllowRemote {
		if err := checkLoopback(base.Hostname()); err != nil {
			return nil, err
		}
	}

	transport := &http.Transport{
		Proxy:               nil, // straight to the target, whatever the environment says
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        cfg.Concurrency,
		MaxIdleConnsPerHost: cfg.Concurrency,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	defer transport.CloseIdleConnections()
	l := &loader{
		cfg: cfg,
		client: &http.Client{
			Transport: transport,
			Timeout:   cfg.Timeout,
			// A redirect is the answer being measured, not a hop to take.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}

	switch cfg.Target {
	case targetShopify:
		l.endpoint = base.String() + "/webhooks/shopify"
	case targetNoop:
		l.endpoint = base.String() + "/webhooks/noop"
	case targetGet:
		l.endpoint = base.String() + cfg.Path
	}
	if cfg.AdminToken != "" && cfg.Target != targetGet {
		if err := l.createShop(ctx, base.String()); err != nil {
			return nil, err
		}
	}
	if cfg.Target != targetGet {
		seed := rand.Uint64()
		rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		l.gen, err = newBodyGen(cfg.Pool, cfg.Size, cfg.Secret, rng, time.Now().UTC())
		if err != nil {
			return nil, err
		}
		if cfg.N > 0 && cfg.N*(cfg.Size+1024) <= preparedBudget {
			fmt.Fprintf(log, "preparing %d signed bodies\n", cfg.N)
			l.prepared = make([][]byte, cfg.N)
			l.preparedSigs = make([]string, cfg.N)
			for i := range cfg.N {
				l.prepared[i], l.preparedSigs[i] = l.gen.body(uint64(i), nil)
			}
		}
	}

	if cfg.Warmup > 0 {
		w := l.phase(ctx, cfg.Warmup, 0, warmupSeq, false)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		res := l.phase(ctx, cfg.Duration, cfg.N, 0, true)
		res.WarmupFail = len(w.latencies) - w.OK
		return res, nil
	}
	return l.phase(ctx, cfg.Duration, cfg.N, 0, true), nil
}

// phase runs the workers for d, or for n requests when n > 0. Sequence
// numbers, and so body ids, start at firstSeq. Unless timed, only counts
// are kept.
func (l *loader) phase(ctx context.Context, d time.Duration, n int, firstSeq uint64, timed bool) *result {
	var (
		next     atomic.Uint64
		mu       sync.Mutex
		wg       sync.WaitGroup
		res      = &result{Target: l.cfg.Target, URL: l.endpoint, Concurrency: l.cfg.Concurrency, Statuses: map[string]int{}}
		start    = time.Now()
		deadline = start.Add(d)
	)
	if l.gen != nil {
		res.BodyBytes = len(l.gen.templates[0].body)
	}
	for range l.cfg.Concurrency {
		wg.Go(func() {
			var (
				latencies []time.Duration
				statuses  = map[string]int{}
				ok        int
			)
			if timed {
				// Room for a few thousand answers up front keeps growth
				// out of the way of the first measurements.
				latencies = make([]time.Duration, 0, 4096)
			}
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if n > 0 {
					if i >= uint64(n) {
						break
					}
				} else if !time.Now().Before(deadline) {
					break
				}
				var body []byte
				var sig string
				pooled := false
				if timed && i < uint64(len(l.prepared)) {
					body, sig = l.prepared[i], l.preparedSigs[i]
				} else if l.gen != nil {
					body, sig = l.gen.body(firstSeq+i, bodyPool.get())
					pooled = true
				}
				status, success, lat := l.do(ctx, firstSeq+i, body, sig, pooled)
				if status == "" { // cancelled: not a measurement
					break
				}
				latencies = append(latencies, lat)
				statuses[status]++
				if success {
					ok++
				}
			}
			mu.Lock()
			defer mu.Unlock()
			res.latencies = append(res.latencies, latencies...)
			for k, v := range statuses {
				res.Statuses[k] += v
			}
			res.OK += ok
		})
	}
	wg.Wait()
	res.summarize(time.Since(start))
	return res
}

// do sends one request and reads the whole answer. It returns the status
// (or a transport error class), whether it counts as a success, and the
// latency; an empty status means ctx ended the request.
func (l *loader) do(ctx context.Context, seq uint64, body []byte, sig string, pooled bool) (status string, success bool, lat time.Duration) {
	var req *http.Request
	var err error
	if l.cfg.Target == targetGet {
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, l.endpoint, nil)
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, l.endpoint, newRequestBody(body, pooled))
		if req != nil {
			req.ContentLength = int64(len(body))
		}
	}
	if err != nil {
		return "request_error", false, 0
	}
	if l.cfg.Target != targetGet {
		id := l.gen.id(seq)
		h := req.Header
		h["Content-Type"] = []string{"application/json"}
		h["X-Shopify-Topic"] = []string{"checkouts/create"}
		h["X-Shopify-Shop-Domain"] = []string{l.cfg.Shop}
		h["X-Shopify-Api-Version"] = []string{"2025-01"}
		h["X-Shopify-Event-Id"] = []string{string(id[:])}
		h["X-Shopify-Webhook-Id"] = []string{uuid(&id)}
		h["X-Shopify-Triggered-At"] = []string{time.Now().UTC().Format(time.RFC3339Nano)}
		if sig != "" {
			h["X-Shopify-Hmac-Sha256"] = []string{sig}
		}
	}

	start := time.Now()
	resp, err := l.client.Do(req)
	if err == nil {
		// Read to the end so the connection goes back to the pool.
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	lat = time.Since(start)
	if ctx.Err() != nil {
		return "", false, lat
	}
	if err != nil {
		return errorClass(err), false, lat
	}
	code := resp.StatusCode
	success = code >= 200 && code < 300 || (l.cfg.Target == targetGet && code >= 300 && code < 400)
	return strconv.Itoa(code), success, lat
}

// bodyPool recycles the buffers bodies are made in. The transport may
// still be writing a body after Do returns, so a buffer goes back only
// when the transport closes the body.
var bodyPool buffers

type buffers struct{ p sync.Pool }

func (b *buffers) get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return nil
}

func (b *buffers) put(buf []byte) { b.p.Put(&buf) }

// requestBody is a request body that hands its buffer back when closed.
// Bodies from the prepared set are not pooled: they are never written to.
type requestBody struct {
	*bytes.Reader
	buf    []byte
	closed atomic.Bool
}

func newRequestBody(buf []byte, pooled bool) *requestBody {
	b := &requestBody{Reader: bytes.NewReader(buf)}
	if pooled {
		b.buf = buf
	}
	return b
}

func (b *requestBody) Close() error {
	if !b.closed.Swap(true) && b.buf != nil {
		bodyPool.put(b.buf)
	}
	return nil
}

// uuid formats a 32-hex id the way Shopify writes webhook ids.
func uuid(id *[idLen]byte) string {
	var b [36]byte
	copy(b[0:8], id[0:8])
	b[8] = '-'
	copy(b[9:13], id[8:12])
	b[13] = '-'
	copy(b[14:18], id[12:16])
	b[18] = '-'
	copy(b[19:23], id[16:20])
	b[23] = '-'
	copy(b[24:36], id[20:32])
	return string(b[:])
}

// errorClass names a transport error for the report.
func errorClass(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "conn_refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "conn_reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no_local_port"
	}
	return "transport_error"
}

// checkLoopback refuses hosts that are not this machine.
func checkLoopback(host string) error {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil {
		if ip.IsLoopback() {
			return nil
		}
		return fmt.Errorf("-url: %s is not a loopback address; pass -allow-remote to load a remote host", host)
	}
	ips, err := net.LookupIP(host)
	if err != nil {
		return fmt.Errorf("-url: %w", err)
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return fmt.Errorf("-url: %s resolves to %s, not a loopback address; pass -allow-remote to load a remote host", host, ip)
		}
	}
	return nil
}

// createShop registers the shop through the admin API; one that exists
// already is fine.
func (l *loader) createShop(ctx context.Context, base string) error {
	body, err := json.Marshal(map[string]string{
		"platform":       "shopify",
		"domain":         l.cfg.Shop,
		"name":           "Benchmark shop",
		"webhook_secret": l.cfg.Secret,
	})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/admin/api/shops", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+l.cfg.AdminToken)
	resp, err := l.client.Do(req)
	if err != nil {
		return fmt.Errorf("creating shop: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch resp.StatusCode {
	case http.StatusCreated, http.StatusConflict:
		return nil
	}
	return fmt.Errorf("creating shop: %s: %s", resp.Status, bytes.TrimSpace(msg))
}
