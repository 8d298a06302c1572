package http

import (
	"net"
	"strconv"
	"sync"
	"time"

	xrate "golang.org/x/time/rate"
)

// Failed admin sign-ins allowed per client address: a burst, then one
// every failedSignInEvery. Enough for typing mistakes, far too few to
// guess a token.
const (
	failedSignInBurst = 10
	failedSignInEvery = 6 * time.Second
	// throttleForget is how long an address that stopped failing is kept.
	throttleForget = 15 * time.Minute
	// throttleMaxAddrs bounds the table; past it, idle entries go first,
	// then the whole table (a flood of addresses must not grow memory).
	throttleMaxAddrs = 10000
)

// signInThrottle counts failed admin sign-ins (the API's bearer token and
// the sign-in form alike) per client address. It keys on the connection's
// own address, not on forwarded headers, which the client could vary at
// will; behind a reverse proxy every client shares the proxy's budget.
type signInThrottle struct {
	mu    sync.Mutex
	addrs map[string]*throttleEntry
	now   func() time.Time
}

type throttleEntry struct {
	limiter *xrate.Limiter
	last    time.Time
}

func newSignInThrottle(now func() time.Time) *signInThrottle {
	return &signInThrottle{addrs: map[string]*throttleEntry{}, now: now}
}

// blocked reports whether remote has used up its failed attempts, and how
// long until it may try again.
func (t *signInThrottle) blocked(remote string) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.addrs[clientHost(remote)]
	if e == nil {
		return false, 0
	}
	now := t.now()
	if e.limiter.TokensAt(now) >= 1 {
		return false, 0
	}
	r := e.limiter.ReserveN(now, 1)
	wait := r.DelayFrom(now)
	r.CancelAt(now)
	return true, wait
}

// failed records a failed attempt from remote.
func (t *signInThrottle) failed(remote string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	host := clientHost(remote)
	e := t.addrs[host]
	if e == nil {
		if len(t.addrs) >= throttleMaxAddrs {
			t.forget(now)
		}
		e = &throttleEntry{limiter: xrate.NewLimiter(xrate.Every(failedSignInEvery), failedSignInBurst)}
		t.addrs[host] = e
	}
	e.last = now
	e.limiter.AllowN(now, 1)
}

// forget drops the addresses idle for throttleForget, or all when none is.
func (t *signInThrottle) forget(now time.Time) {
	for host, e := range t.addrs {
		if now.Sub(e.last) > throttleForget {
			delete(t.addrs, host)
		}
	}
	if len(t.addrs) >= throttleMaxAddrs {
		clear(t.addrs)
	}
}

// clientHost is the host part of a request's RemoteAddr.
func clientHost(remote string) string {
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}

// retryAfter is a Retry-After value in whole seconds, at least 1.
func retryAfter(d time.Duration) string {
	return strconv.Itoa(max(1, int((d+time.Second-1)/time.Second)))
}
