package http

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cartback/cartback/recovery"
	"github.com/cartback/cartback/store"
)

const throttleToken = "throttle-admin-token-0123456789"

// throttledServer is a server with a database and a clock the test moves
// through the returned pointer.
func throttledServer(t *testing.T) (*Server, *time.Time) {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "cartback.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	now := time.Now()
	s := NewServer(prometheus.NewRegistry())
	s.Service, s.AdminToken, s.Now = recovery.NewService(db), throttleToken, func() time.Time { return now }
	s.Logger = slog.New(slog.DiscardHandler)
	return s, &now
}

// viaAPI asks for the shop list with token, from the connection peer and,
// when not empty, with an X-Forwarded-For header.
func viaAPI(h http.Handler, peer, forwardedFor, token string) int {
	req := httptest.NewRequest(http.MethodGet, "/admin/api/shops", nil)
	req.RemoteAddr = peer
	if forwardedFor != "" {
		req.Header.Set("X-Forwarded-For", forwardedFor)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

var csrfValue = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// viaForm signs in with token through the sign-in form.
func viaForm(t *testing.T, h http.Handler, peer, token string) int {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/admin/login", nil))
	var login *http.Cookie
	for _, c := range (&http.Response{Header: rec.Header()}).Cookies() {
		if c.Name == loginCookie {
			login = c
		}
	}
	m := csrfValue.FindStringSubmatch(rec.Body.String())
	if login == nil || m == nil {
		t.Fatalf("no sign-in form: %d", rec.Code)
	}
	req := httptest.NewRequest(http.MethodPost, "/admin/login", strings.NewReader(url.Values{csrfField: {m[1]}, "token": {token}}.Encode()))
	req.RemoteAddr = peer
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(login)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

// An attempt is counted when it is let through, not when it has failed:
// guesses let through together cannot outnumber the budget.
func TestThrottleCountsTheAttemptWhenLettingItThrough(t *testing.T) {
	now := time.Now()
	th := newSignInThrottle(func() time.Time { return now })
	for i := range failedSignInBurst {
		if blocked, _ := th.blocked("203.0.113.9:40000"); blocked {
			t.Fatalf("attempt %d blocked", i+1)
		}
	}
	// None of them has failed yet, and still no more go through.
	if blocked, wait := th.blocked("203.0.113.9:40001"); !blocked || wait != failedSignInEvery {
		t.Fatalf("attempt %d with %d under way: blocked %v, wait %v", failedSignInBurst+1, failedSignInBurst, blocked, wait)
	}
	// One that succeeded gives its attempt back.
	th.succeeded("203.0.113.9:40000")
	if blocked, _ := th.blocked("203.0.113.9:40000"); blocked {
		t.Error("an attempt given back is not there to take")
	}

	s, _ := throttledServer(t)
	h := s.Handler()
	var wg sync.WaitGroup
	codes := make(chan int, 40)
	for i := range cap(codes) {
		wg.Go(func() { codes <- viaAPI(h, "198.51.100.4:1234", "", fmt.Sprintf("parallel-guess-%02d-0123456789", i)) })
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	if count[http.StatusUnauthorized] != failedSignInBurst || count[http.StatusTooManyRequests] != cap(codes)-failedSignInBurst {
		t.Errorf("40 guesses at once: %v, want %d looked at", count, failedSignInBurst)
	}
}

// One IPv6 host usually has a /64 to itself: its addresses share a budget.
func TestThrottleKeysIPv6ByPrefix(t *testing.T) {
	s, _ := throttledServer(t)
	h := s.Handler()
	for i := range failedSignInBurst {
		if code := viaAPI(h, fmt.Sprintf("[2001:db8:1:2::%x]:40000", i+1), "", "wrong-token-0123456789"); code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i+1, code)
		}
	}
	if code := viaAPI(h, "[2001:db8:1:2:ffff:ffff:ffff:ffff]:40000", "", throttleToken); code != http.StatusTooManyRequests {
		t.Errorf("another address of the /64: %d, want 429", code)
	}
	if code := viaAPI(h, "[2001:db8:1:3::1]:40000", "", throttleToken); code != http.StatusOK {
		t.Errorf("another /64: %d", code)
	}
	for remote, want := range map[string]string{
		"[2001:db8::1%eth0]:1": "2001:db8::/64", "[::ffff:192.0.2.1]:1": "192.0.2.1", "192.0.2.1:1": "192.0.2.1", "pipe": "pipe",
	} {
		if got := clientKey(remote); got != want {
			t.Errorf("clientKey(%q) = %q, want %q", remote, got, want)
		}
	}
}

// A full table makes room by the client that tried least recently, never
// by forgetting everyone: a flood of addresses must not free a blocked
// one.
func TestThrottleFullTableKeepsBlockedClient(t *testing.T) {
	now := time.Now()
	th := newSignInThrottle(func() time.Time { return now })
	fail := func(remote string) {
		if blocked, _ := th.blocked(remote); !blocked {
			th.failed(remote)
		}
	}
	for i := range throttleMaxAddrs - 1 {
		fail(fmt.Sprintf("10.%d.%d.%d:1", i>>16, i>>8&0xff, i&0xff))
	}
	for range failedSignInBurst {
		fail("203.0.113.9:1")
	}
	// As many new addresses as the table holds, each failing once.
	for i := range throttleMaxAddrs {
		fail(fmt.Sprintf("172.16.%d.%d:1", i>>8, i&0xff))
	}
	if blocked, _ := th.blocked("203.0.113.9:1"); !blocked {
		t.Error("a blocked client was freed by a flood of other addresses")
	}
	if len(th.clients) > throttleMaxAddrs || th.recent.Len() != len(th.clients) {
		t.Errorf("table holds %d clients (list %d), at most %d", len(th.clients), th.recent.Len(), throttleMaxAddrs)
	}
	if _, ok := th.clients["10.0.0.0"]; ok {
		t.Error("the least recent client is still there")
	}
	// Clients idle long enough are dropped as new ones come.
	now = now.Add(throttleForget + time.Minute)
	fail("192.0.2.200:1")
	if len(th.clients) != 1 {
		t.Errorf("%d clients after all but one went idle", len(th.clients))
	}
}

// Behind a trusted proxy the budget is the client's, named by the proxy's
// X-Forwarded-For; from anyone else that header is ignored.
func TestTrustedProxyForwardsClient(t *testing.T) {
	s, _ := throttledServer(t)
	s.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8:ff::/48")}
	h := s.Handler()
	const proxy = "192.0.2.10:50000"
	for i := range failedSignInBurst {
		// What the stranger wrote in the header comes first; the proxy
		// appends the address it saw.
		if code := viaAPI(h, proxy, "10.9.9.9, 203.0.113.66", fmt.Sprintf("stranger-guess-%02d-0123456789", i)); code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i+1, code)
		}
	}
	if code := viaAPI(h, proxy, "203.0.113.66", throttleToken); code != http.StatusTooManyRequests {
		t.Errorf("the stranger after ten guesses: %d, want 429", code)
	}
	if code := viaAPI(h, proxy, "198.51.100.23", throttleToken); code != http.StatusOK {
		t.Errorf("the operator behind the same proxy: %d", code)
	}
	if code := viaForm(t, h, "[2001:db8:ff::1]:443", throttleToken); code != http.StatusSeeOther {
		t.Errorf("the operator by the form, through an IPv6 proxy with no header: %d", code)
	}
	// Two proxies in a row: the nearest untrusted address is the client.
	if code := viaAPI(h, proxy, "203.0.113.66, 192.0.2.99", throttleToken); code != http.StatusTooManyRequests {
		t.Errorf("the stranger through two proxies: %d, want 429", code)
	}

	// A client not in the trusted networks cannot pick its address.
	const direct = "198.51.100.50:40000"
	for i := range failedSignInBurst {
		if code := viaAPI(h, direct, fmt.Sprintf("203.0.113.%d", i+100), "direct-guess-0123456789"); code != http.StatusUnauthorized {
			t.Fatalf("direct guess %d: %d", i+1, code)
		}
	}
	if code := viaAPI(h, direct, "203.0.113.250", throttleToken); code != http.StatusTooManyRequests {
		t.Errorf("a direct client naming another address: %d, want 429", code)
	}
}

// Without trusted proxies the header changes nothing.
func TestForwardedForIgnoredByDefault(t *testing.T) {
	s, _ := throttledServer(t)
	h := s.Handler()
	for i := range failedSignInBurst {
		viaAPI(h, "192.0.2.10:1", fmt.Sprintf("203.0.113.%d", i), "wrong-token-0123456789")
	}
	if code := viaAPI(h, "192.0.2.10:1", "198.51.100.1", throttleToken); code != http.StatusTooManyRequests {
		t.Errorf("a new X-Forwarded-For from a blocked address: %d, want 429", code)
	}
}

// Sign-ins that work, by the API or the form, use up nothing.
func TestSuccessfulSignInsCostNothing(t *testing.T) {
	s, _ := throttledServer(t)
	h := s.Handler()
	const from = "203.0.113.40:1"
	for i := range 3 * failedSignInBurst {
		if code := viaAPI(h, from, "", throttleToken); code != http.StatusOK {
			t.Fatalf("request %d with the right token: %d", i+1, code)
		}
	}
	for range failedSignInBurst - 1 {
		viaAPI(h, from, "", "typo-token-0123456789")
	}
	for i := range 3 {
		if code := viaForm(t, h, from, throttleToken); code != http.StatusSeeOther {
			t.Fatalf("sign-in %d by the form: %d", i+1, code)
		}
	}
	req := httptest.NewRequest(http.MethodGet, "/admin/api/shops", nil)
	req.RemoteAddr = from
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("no token: %d", rec.Code)
	}
	if code := viaAPI(h, from, "", "last-typo-0123456789"); code != http.StatusUnauthorized {
		t.Errorf("the tenth wrong token, after sign-ins that worked: %d, want it looked at", code)
	}
	if code := viaAPI(h, from, "", throttleToken); code != http.StatusTooManyRequests {
		t.Errorf("after ten wrong tokens: %d, want 429", code)
	}
}

// TestForwardedFor: the client is the first address from the right that
// is not a trusted proxy; when the whole chain is trusted, the entry the
// last proxy wrote, which no client can choose.
func TestForwardedFor(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("10.0.0.0/8")}
	for _, tc := range []struct {
		remote string
		xff    []string
		want   string // "" when the header is not used
	}{
		{"192.0.2.1:1", []string{"203.0.113.5"}, "203.0.113.5"},
		{"192.0.2.1:1", []string{"198.51.100.9, 203.0.113.5"}, "203.0.113.5"},
		{"192.0.2.1:1", []string{"198.51.100.9", "203.0.113.5, 10.1.1.1"}, "203.0.113.5"},
		{"192.0.2.1:1", []string{"198.51.100.9, 10.1.1.1, 192.0.2.7"}, "198.51.100.9"},
		// All trusted: the leftmost could be the client's own writing.
		{"192.0.2.1:1", []string{"10.6.6.6, 10.1.1.1"}, "10.1.1.1"},
		{"192.0.2.1:1", []string{"::ffff:203.0.113.5"}, "203.0.113.5"},
		{"192.0.2.1:1", []string{"203.0.113.5, not-an-ip"}, ""},
		// What the client wrote left of the first untrusted address does
		// not matter, garbled or not.
		{"192.0.2.1:1", []string{"junk, 203.0.113.66"}, "203.0.113.66"},
		{"192.0.2.1:1", []string{", 203.0.113.66"}, "203.0.113.66"},
		// Entries as proxies write them: brackets, ports.
		{"192.0.2.1:1", []string{"[2001:db8::5]"}, "2001:db8::5"},
		{"192.0.2.1:1", []string{"203.0.113.7:51234"}, "203.0.113.7"},
		{"192.0.2.1:1", []string{"[2001:db8::5]:443"}, "2001:db8::5"},
		{"192.0.2.1:1", nil, ""},
		{"198.51.100.1:1", []string{"203.0.113.5"}, ""}, // not from a proxy
	} {
		got, ok := forwardedFor(tc.remote, tc.xff, trusted)
		if (tc.want == "") != !ok || (ok && got.String() != tc.want) {
			t.Errorf("forwardedFor(%s, %q) = %v, %v; want %q", tc.remote, tc.xff, got, ok, tc.want)
		}
	}
}
