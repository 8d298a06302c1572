package app_test

import (
	"bufio"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cartback/cartback/adapters/shopify/app"
)

// vector is one line pair of testdata/shopify_oauth_hmac_vectors.txt.
type vector struct {
	query, message, hmac string
}

func readVectors(t *testing.T) (secret string, vectors []vector) {
	t.Helper()
	f, err := os.Open("testdata/shopify_oauth_hmac_vectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cur vector
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), "=")
		if !ok || strings.HasPrefix(key, "#") {
			continue
		}
		value = strings.TrimSpace(value)
		switch strings.TrimSpace(key) {
		case "client_secret":
			secret = value
		case "query":
			cur = vector{query: value}
		case "message":
			cur.message = value
		case "hmac":
			cur.hmac = value
			vectors = append(vectors, cur)
		}
	}
	if secret == "" || len(vectors) == 0 {
		t.Fatal("no vectors read")
	}
	return secret, vectors
}

func TestVerifyQueryVectors(t *testing.T) {
	secret, vectors := readVectors(t)
	for _, v := range vectors {
		q, err := url.ParseQuery(v.query)
		if err != nil {
			t.Fatal(err)
		}
		if !app.VerifyQuery(q, secret) {
			t.Errorf("VerifyQuery(%s) = false, want true", v.query)
		}
		if got := app.SignQuery(q, secret); got != v.hmac {
			t.Errorf("SignQuery = %s, want %s", got, v.hmac)
		}
		// The previous secret of a rotation, and an unset one, still let
		// the current secret through.
		if !app.VerifyQuery(q, "", "not-the-secret", secret) {
			t.Error("VerifyQuery with the secret second = false, want true")
		}
		if app.VerifyQuery(q, "not-the-secret") || app.VerifyQuery(q) || app.VerifyQuery(q, "") {
			t.Error("VerifyQuery accepted a wrong or missing secret")
		}

		// Any change to a signed value, or to the hmac, is refused.
		forged := cloneValues(q)
		forged.Set("shop", "other-shop.myshopify.com")
		if app.VerifyQuery(forged, secret) {
			t.Error("VerifyQuery accepted a changed shop")
		}
		forged = cloneValues(q)
		forged.Set("hmac", strings.Repeat("0", 64))
		if app.VerifyQuery(forged, secret) {
			t.Error("VerifyQuery accepted a forged hmac")
		}
		forged = cloneValues(q)
		forged.Set("extra", "1")
		if app.VerifyQuery(forged, secret) {
			t.Error("VerifyQuery accepted an added parameter")
		}
		forged = cloneValues(q)
		forged.Del("hmac")
		if app.VerifyQuery(forged, secret) {
			t.Error("VerifyQuery accepted a query without hmac")
		}
		// The legacy signature parameter is not part of the message.
		withSignature := cloneValues(q)
		withSignature.Set("signature", "legacy")
		if !app.VerifyQuery(withSignature, secret) {
			t.Error("VerifyQuery refused a query with a legacy signature parameter")
		}
	}
}

func TestVerifyQueryUpperCaseHex(t *testing.T) {
	_, vectors := readVectors(t)
	q, _ := url.ParseQuery(vectors[0].query)
	q.Set("hmac", strings.ToUpper(q.Get("hmac")))
	if !app.VerifyQuery(q, "hush") {
		t.Error("VerifyQuery refused an upper-case hex hmac")
	}
}

func TestVerifyQueryRepeatedParameter(t *testing.T) {
	// Shopify signs ids[]=1&ids[]=2 as ids=["1", "2"]: the order of the
	// values matters, the brackets do not.
	q := url.Values{"shop": {"demo.myshopify.com"}, "ids[]": {"1", "2"}, "timestamp": {"1337178173"}}
	q.Set("hmac", app.SignQuery(q, "hush"))
	if !app.VerifyQuery(q, "hush") {
		t.Fatal("VerifyQuery refused its own signature")
	}
	swapped := cloneValues(q)
	swapped["ids[]"] = []string{"2", "1"}
	if app.VerifyQuery(swapped, "hush") {
		t.Error("VerifyQuery accepted reordered values")
	}
	want := app.SignQuery(url.Values{"ids": {`["1", "2"]`}, "shop": {"demo.myshopify.com"}, "timestamp": {"1337178173"}}, "hush")
	if q.Get("hmac") != want {
		t.Error(`ids[]=1&ids[]=2 is not signed as ids=["1", "2"]`)
	}
}

func cloneValues(q url.Values) url.Values {
	c := url.Values{}
	for k, v := range q {
		c[k] = append([]string(nil), v...)
	}
	return c
}

func TestValidShopDomain(t *testing.T) {
	for s, want := range map[string]bool{
		"some-shop.myshopify.com":             true,
		"Shop1.myshopify.com":                 true,
		"1shop.myshopify.com":                 true,
		"-shop.myshopify.com":                 false,
		"shop.myshopify.com.evil.com":         false,
		"evil.com/shop.myshopify.com":         false,
		"shop.myshopify.com/admin":            false,
		"shop.myshopify.com:8443":             false,
		"sub.shop.myshopify.com":              false,
		"shop_name.myshopify.com":             false,
		"shop.myshopify.co":                   false,
		"shop.myshopifyxcom":                  false,
		"":                                    false,
		".myshopify.com":                      false,
		"shop.myshopify.com\n":                false,
		"https://some-shop.myshopify.com":     false,
		"some-shop.myshopify.com@evil.com":    false,
		"evil.com#some-shop.myshopify.com":    false,
		"some-shop.myshopify.com?x=.evil.com": false,
	} {
		if got := app.ValidShopDomain(s); got != want {
			t.Errorf("ValidShopDomain(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestFreshTimestamp(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	ts := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }
	for _, c := range []struct {
		ts   string
		want bool
	}{
		{ts(0), true},
		{ts(-23 * time.Hour), true},
		{ts(-24 * time.Hour), true},
		{ts(-24*time.Hour - time.Second), false},
		{ts(-30 * 24 * time.Hour), false},
		{ts(2 * time.Minute), true},
		{ts(10 * time.Minute), false},
		{"", false},
		{"yesterday", false},
		{"1.5", false},
	} {
		if got := app.FreshTimestamp(c.ts, now); got != c.want {
			t.Errorf("FreshTimestamp(%q) = %v, want %v", c.ts, got, c.want)
		}
	}
}

func TestCheckCallback(t *testing.T) {
	secret, vectors := readVectors(t)
	q, _ := url.ParseQuery(vectors[0].query)
	signedAt := time.Unix(1337178173, 0)

	shop, code, err := app.CheckCallback(q, signedAt.Add(time.Minute), "previous", secret)
	if err != nil || shop != "some-shop.myshopify.com" || code != "0907a61c0c8d55e99db179b68161bc00" {
		t.Fatalf("CheckCallback = %q, %q, %v", shop, code, err)
	}
	// The same signed query replayed two days later is refused.
	if _, _, err := app.CheckCallback(q, signedAt.Add(48*time.Hour), secret); err == nil || !strings.Contains(err.Error(), "timestamp") {
		t.Errorf("replayed callback: err = %v, want a timestamp error", err)
	}
	if _, _, err := app.CheckCallback(q, signedAt, "wrong"); err == nil || !strings.Contains(err.Error(), "hmac") {
		t.Errorf("wrong secret: err = %v, want an hmac error", err)
	}
	// A correctly signed query naming a host that is not a shop is refused:
	// the code must never be sent there.
	evil := url.Values{"code": {"c"}, "shop": {"evil.example.com"}, "timestamp": {"1337178173"}}
	evil.Set("hmac", app.SignQuery(evil, secret))
	if _, _, err := app.CheckCallback(evil, signedAt, secret); err == nil || !strings.Contains(err.Error(), "domain") {
		t.Errorf("bad shop domain: err = %v, want a domain error", err)
	}
	noCode := url.Values{"shop": {"some-shop.myshopify.com"}, "timestamp": {"1337178173"}}
	noCode.Set("hmac", app.SignQuery(noCode, secret))
	if _, _, err := app.CheckCallback(noCode, signedAt, secret); err == nil {
		t.Error("callback without code accepted")
	}
}

func TestAuthorizeURL(t *testing.T) {
	got := app.AuthorizeURL("", "demo.myshopify.com", "abc123", []string{"read_orders", "read_customers", "write_discounts"}, "https://cartback.example.com/shopify/callback", "st8")
	want := "https://demo.myshopify.com/admin/oauth/authorize?client_id=abc123&scope=read_orders,read_customers,write_discounts&redirect_uri=https%3A%2F%2Fcartback.example.com%2Fshopify%2Fcallback&state=st8"
	if got != want {
		t.Errorf("AuthorizeURL =\n%s\nwant\n%s", got, want)
	}
	cfg := app.Config{APIKey: "abc123", BaseURL: "http://127.0.0.1:9999/"}
	got = cfg.AuthorizeURL("demo.myshopify.com", "http://localhost/cb", "s")
	if !strings.HasPrefix(got, "http://127.0.0.1:9999/admin/oauth/authorize?client_id=abc123&scope=read_orders,read_customers,read_products,write_discounts&") {
		t.Errorf("Config.AuthorizeURL with a base URL = %s", got)
	}
}

func TestConfig(t *testing.T) {
	c := app.Config{APIKey: "key", APISecret: "secret", APISecretPrevious: "old",
		BaseURL: "http://127.0.0.1:8081/", Scopes: []string{"read_orders", "write_discounts"}}
	if c.ShopBaseURL("a.myshopify.com") != "http://127.0.0.1:8081" {
		t.Errorf("ShopBaseURL = %s", c.ShopBaseURL("a.myshopify.com"))
	}
	if strings.Join(c.ScopeList(), ",") != "read_orders,write_discounts" {
		t.Errorf("ScopeList = %v", c.ScopeList())
	}
	if strings.Join(c.Secrets(), ",") != "secret,old" {
		t.Errorf("Secrets = %v", c.Secrets())
	}
	if got := (app.Config{}).ShopBaseURL("a.myshopify.com"); got != "https://a.myshopify.com" {
		t.Errorf("ShopBaseURL without override = %s", got)
	}
}

func TestState(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Unix(1_800_000_000, 0)
	shop := "demo.myshopify.com"
	state, cookie := app.NewState(key, shop, now)
	if state == "" || !strings.HasPrefix(cookie, state+".") {
		t.Fatalf("NewState = %q, %q", state, cookie)
	}
	if !app.CheckState(key, cookie, state, shop, now.Add(9*time.Minute)) {
		t.Fatal("CheckState refused a fresh state")
	}
	other, _ := app.NewState(key, shop, now)
	if other == state {
		t.Error("two states are equal")
	}
	for name, ok := range map[string]bool{
		"wrong state":     app.CheckState(key, cookie, other, shop, now),
		"other shop":      app.CheckState(key, cookie, state, "other.myshopify.com", now),
		"expired":         app.CheckState(key, cookie, state, shop, now.Add(11*time.Minute)),
		"issued later":    app.CheckState(key, cookie, state, shop, now.Add(-time.Hour)),
		"wrong key":       app.CheckState([]byte("another key of thirty-two bytes!"), cookie, state, shop, now),
		"no key":          app.CheckState(nil, cookie, state, shop, now),
		"no cookie":       app.CheckState(key, "", state, shop, now),
		"empty state":     app.CheckState(key, cookie, "", shop, now),
		"tampered time":   app.CheckState(key, strings.Replace(cookie, ".18", ".19", 1), state, shop, now),
		"tampered cookie": app.CheckState(key, cookie+"x", state, shop, now),
	} {
		if ok {
			t.Errorf("CheckState accepted: %s", name)
		}
	}
}
