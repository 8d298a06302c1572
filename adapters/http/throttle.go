package http

import (
	"container/list"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// Failed admin sign-ins allowed per client: a burst, then one every
// failedSignInEvery. Enough for typing mistakes, far too few to guess a
// token.
const (
	failedSignInBurst = 10
	failedSignInEvery = 6 * time.Second
	// throttleForget is how long a client that stopped trying is kept
	// (its budget is whole again long before).
	throttleForget = 15 * time.Minute
	// throttleMaxAddrs bounds the table (a flood of addresses must not
	// grow memory); past it, a client that tried long ago goes (evict).
	throttleMaxAddrs = 10000
)

// signInThrottle counts admin sign-in attempts (the API's bearer token and
// the sign-in form alike) per client: the address of the connection, or
// the one a trusted proxy forwards for (Server.TrustedProxies rewrites the
// request's RemoteAddr), an IPv6 client by its /64, which one host
// usually has to itself.
//
// An attempt takes a token from the client's budget before the admin
// token is compared, and one that succeeds gives it back: parallel guesses
// cannot all pass the check before the first failure is counted.
type signInThrottle struct {
	mu      sync.Mutex
	clients map[string]*list.Element // of recent
	// recent orders the clients by their last attempt, latest first.
	recent *list.List
	now    func() time.Time
}

type throttleEntry struct {
	key string
	// tokens is the budget left at time at.
	tokens float64
	at     time.Time
	// last is the client's latest attempt.
	last time.Time
}

func newSignInThrottle(now func() time.Time) *signInThrottle {
	return &signInThrottle{clients: map[string]*list.Element{}, recent: list.New(), now: now}
}

// blocked takes an attempt from remote's budget and reports false; or,
// when none is left, reports true and how long until one is. A caller
// whose attempt then succeeds gives it back with succeeded; a failed one
// calls failed.
func (t *signInThrottle) blocked(remote string) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	e := t.entry(clientKey(remote), now)
	e.refill(now)
	if e.tokens < 1 {
		return true, time.Duration((1 - e.tokens) * float64(failedSignInEvery))
	}
	e.tokens--
	return false, 0
}

// failed records that remote's attempt failed: the token blocked took
// stays spent.
func (t *signInThrottle) failed(remote string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	key := clientKey(remote)
	if _, ok := t.clients[key]; ok {
		return
	}
	// Dropped from a full table since its attempt began: the failure
	// still counts.
	now := t.now()
	e := t.entry(key, now)
	e.refill(now)
	e.tokens = max(0, e.tokens-1)
}

// succeeded gives back the token remote's successful attempt took. A
// client with its whole budget is forgotten.
func (t *signInThrottle) succeeded(remote string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	el, ok := t.clients[clientKey(remote)]
	if !ok {
		return
	}
	e := el.Value.(*throttleEntry)
	e.refill(t.now())
	if e.tokens = min(failedSignInBurst, e.tokens+1); e.tokens >= failedSignInBurst {
		t.remove(el)
	}
}

// entry returns key's entry, marked as the latest to try, adding it with
// a whole budget when there is none.
func (t *signInThrottle) entry(key string, now time.Time) *throttleEntry {
	if el, ok := t.clients[key]; ok {
		t.recent.MoveToFront(el)
		e := el.Value.(*throttleEntry)
		e.last = now
		return e
	}
	// Clients idle this long have their whole budget back.
	for back := t.recent.Back(); back != nil && now.Sub(back.Value.(*throttleEntry).last) > throttleForget; back = t.recent.Back() {
		t.remove(back)
	}
	if len(t.clients) >= throttleMaxAddrs {
		t.evict(now)
	}
	e := &throttleEntry{key: key, tokens: failedSignInBurst, at: now, last: now}
	t.clients[key] = t.recent.PushFront(e)
	return e
}

// evictScan bounds how many of the least recent clients a full table
// looks at for one that is not blocked.
const evictScan = 64

// evict makes room in a full table: the least recent client that still
// has attempts left goes, so that a flood of new addresses does not free
// a blocked one; when the least recent all are blocked, the least recent.
func (t *signInThrottle) evict(now time.Time) {
	el := t.recent.Back()
	for i, cand := 0, el; cand != nil && i < evictScan; i, cand = i+1, cand.Prev() {
		e := cand.Value.(*throttleEntry)
		e.refill(now)
		if e.tokens >= 1 {
			el = cand
			break
		}
	}
	if el != nil {
		t.remove(el)
	}
}

func (t *signInThrottle) remove(el *list.Element) {
	delete(t.clients, el.Value.(*throttleEntry).key)
	t.recent.Remove(el)
}

// refill adds the tokens earned since the budget was last brought up to
// date.
func (e *throttleEntry) refill(now time.Time) {
	if !now.After(e.at) {
		return // a clock that went back earns nothing
	}
	e.tokens = min(failedSignInBurst, e.tokens+float64(now.Sub(e.at))/float64(failedSignInEvery))
	e.at = now
}

// clientKey is the throttle's key for a request's RemoteAddr: the host,
// or for IPv6 its /64.
func clientKey(remote string) string {
	host := remote
	if h, _, err := net.SplitHostPort(remote); err == nil {
		host = h
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.WithZone("").Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// retryAfter is a Retry-After value in whole seconds, at least 1.
func retryAfter(d time.Duration) string {
	return strconv.Itoa(max(1, int((d+time.Second-1)/time.Second)))
}
