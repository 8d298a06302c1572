package main

import (
	"bytes"
	"context"
	"crypto/tls"
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
	client   *http.Client // for creating the shop
	endpoint string       // the URL loaded, for the report
	addr     string       // host:port the workers connect to
	tls      *tls.Config  // nil for http
	head     []byte       // request line and the headers every request has
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

	l := &loader{
		cfg:  cfg,
		addr: base.Host,
		// Only the shop is created through net/http's client.
		client: &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: cfg.Timeout},
	}
	defer l.client.CloseIdleConnections()
	if base.Port() == "" {
		l.addr = net.JoinHostPort(base.Hostname(), map[string]string{"http": "80", "https": "443"}[base.Scheme])
	}
	if base.Scheme == "https" {
		l.tls = &tls.Config{ServerName: base.Hostname()}
	}

	path := map[string]string{targetShopify: "/webhooks/shopify", targetNoop: "/webhooks/noop", targetGet: cfg.Path}[cfg.Target]
	l.endpoint = base.String() + path
	method := http.MethodPost
	if cfg.Target == targetGet {
		method = http.MethodGet
	}
	l.head = fmt.Appendf(nil, "%s %s%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: cartback-load\r\n", method, base.EscapedPath(), path, base.Host)
	if cfg.Target != targetGet {
		l.head = fmt.Appendf(l.head, "Content-Type: application/json\r\nX-Shopify-Topic: checkouts/create\r\nX-Shopify-Shop-Domain: %s\r\nX-Shopify-Api-Version: 2025-01\r\n", cfg.Shop)
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

	warmupFailed := 0
	if cfg.Warmup > 0 {
		w := l.phase(ctx, cfg.Warmup, 0, warmupSeq, false)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		warmupFailed = w.Failed
	}
	res := l.phase(ctx, cfg.Duration, cfg.N, 0, true)
	res.WarmupFail = warmupFailed
	return res, nil
}

// phase runs the workers for d, or for n requests when n > 0. Sequence
// numbers, and so body ids, start at firstSeq. The timed phase sends the
// bodies prepared for it, when there are any.
func (l *loader) phase(ctx context.Context, d time.Duration, n int, firstSeq uint64, timed bool) *result {
	var (
		next     atomic.Uint64
		mu       sync.Mutex
		wg       sync.WaitGroup
		res      = &result{Target: l.cfg.Target, URL: l.endpoint, Concurrency: l.cfg.Concurrency, OfferedRate: l.cfg.OfferedRate, Statuses: map[string]int{}}
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
				wire      []time.Duration
				statuses  = map[string]int{}
				ok        int
				c         = newConn(l.addr, l.tls, l.cfg.Timeout)
				buf, head []byte
			)
			defer c.close()
			if timed {
				// Room for a few thousand answers up front keeps growth
				// out of the way of the first measurements.
				latencies = make([]time.Duration, 0, 4096)
				wire = make([]time.Duration, 0, 4096)
			}
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				// due is when request i should leave: now in a closed
				// loop, its slot in the schedule with -rate.
				due := time.Now()
				if l.cfg.OfferedRate > 0 {
					due = start.Add(time.Duration(float64(i) / l.cfg.OfferedRate * float64(time.Second)))
				}
				if n > 0 {
					if i >= uint64(n) {
						break
					}
				} else if !due.Before(deadline) {
					break
				}
				if wait := time.Until(due); wait > 0 {
					select {
					case <-time.After(wait):
					case <-ctx.Done():
					}
				}
				var body []byte
				var sig string
				if timed && i < uint64(len(l.prepared)) {
					body, sig = l.prepared[i], l.preparedSigs[i]
				} else if l.gen != nil {
					body, sig = l.gen.body(firstSeq+i, buf)
					buf = body
				}
				var status string
				var success bool
				var lat, atWire time.Duration
				head, status, success, lat, atWire = l.do(ctx, c, head[:0], firstSeq+i, body, sig)
				if l.cfg.OfferedRate > 0 {
					// A request that left late because every worker was
					// busy waited for the server too.
					late := time.Since(due) - lat
					lat += late
					if atWire >= 0 {
						atWire += late
					}
				}
				if status == "" { // cancelled: not a measurement
					break
				}
				latencies = append(latencies, lat)
				if atWire >= 0 {
					wire = append(wire, atWire)
				}
				statuses[status]++
				if success {
					ok++
				}
			}
			mu.Lock()
			defer mu.Unlock()
			res.latencies = append(res.latencies, latencies...)
			res.wire = append(res.wire, wire...)
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

// do sends one request on c, building its head in head, and reads the
// whole answer. It returns head for reuse, the status (or a transport
// error class), whether it counts as a success, the latency, and the
// latency to when the kernel received the answer (-1 when unknown); an
// empty status means ctx ended the request.
func (l *loader) do(ctx context.Context, c *conn, head []byte, seq uint64, body []byte, sig string) (_ []byte, status string, success bool, lat, wire time.Duration) {
	head = append(head, l.head...)
	if l.cfg.Target != targetGet {
		id := l.gen.id(seq)
		head = append(head, "X-Shopify-Event-Id: "...)
		head = append(head, id[:]...)
		head = append(head, "\r\nX-Shopify-Webhook-Id: "...)
		head = append(head, uuid(&id)...)
		head = append(head, "\r\nX-Shopify-Triggered-At: "...)
		head = time.Now().UTC().AppendFormat(head, time.RFC3339Nano)
		if sig != "" {
			head = append(head, "\r\nX-Shopify-Hmac-Sha256: "...)
			head = append(head, sig...)
		}
		head = append(head, "\r\nContent-Length: "...)
		head = strconv.AppendInt(head, int64(len(body)), 10)
		head = append(head, "\r\n"...)
	}
	head = append(head, "\r\n"...)

	start := time.Now()
	code, received, err := c.roundTrip(ctx, head, body)
	lat, wire = time.Since(start), -1
	if !received.IsZero() {
		// The kernel's stamp is wall-clock time, so it is compared with
		// the wall-clock reading of start.
		wire = min(lat, max(0, received.Sub(start.Round(0))))
	}
	if ctx.Err() != nil {
		return head, "", false, lat, wire
	}
	if err != nil {
		return head, errorClass(err), false, lat, wire
	}
	success = code >= 200 && code < 300 || (l.cfg.Target == targetGet && code >= 300 && code < 400)
	return head, strconv.Itoa(code), success, lat, wire
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
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, errClosedByServer):
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
