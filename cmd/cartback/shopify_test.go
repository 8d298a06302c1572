package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cartback/cartback/adapters/shopify/app"
	"github.com/cartback/cartback/adapters/shopify/app/apptest"
	"github.com/cartback/cartback/recovery"
	"github.com/cartback/cartback/store"
)

// TestShopifyAppEndToEnd installs the app on a fake Shopify through the
// real binary, and follows what the app must do from there: sealed tokens,
// webhook subscriptions made once, a token refreshed before it expires,
// reconciliation of a checkout no webhook brought, the purchase check
// before a reminder, and a single-use code in the incentive.
func TestShopifyAppEndToEnd(t *testing.T) {
	fake := apptest.NewServer()
	defer fake.Close()
	// Tokens that expire in two minutes: inside the refresh margin, so the
	// service renews them before using them.
	fake.AccessTTL = 2 * time.Minute

	keyBytes := bytes.Repeat([]byte{7}, 32)
	env := []string{
		"SHOPIFY_API_KEY=" + fake.ClientID, "SHOPIFY_API_SECRET=" + fake.ClientSecret,
		"CARTBACK_SHOPIFY_BASE_URL=" + fake.URL, "CARTBACK_ENCRYPTION_KEY=" + hex.EncodeToString(keyBytes),
		// The fake Shopify and the merchant's browser are on this machine.
		"CARTBACK_ALLOW_LOCAL_PUBLIC_URL=true",
	}
	dbPath := filepath.Join(t.TempDir(), "cartback.db")
	port := freePort(t)
	public := fmt.Sprintf("http://127.0.0.1:%d", port)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	p := startAt(t, dbPath, addr, append(env, "CARTBACK_PUBLIC_URL="+public)...)

	// Install: the merchant's browser goes install → Shopify → callback.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if r.URL.Host == addr && strings.HasPrefix(r.URL.Path, "/admin/shops/") {
			return http.ErrUseLastResponse // landed in the admin page
		}
		return nil
	}}
	// Another shop on the same service, which the merchant must never see.
	p.admin(http.MethodPost, "/admin/api/shops", `{"platform":"shopify","domain":"other-shop.myshopify.com","webhook_secret":"other-shop-secret-0123456789"}`)
	q := url.Values{"shop": {fake.Shop}, "timestamp": {fmt.Sprint(time.Now().Unix())}}
	q.Set("hmac", app.SignQuery(q, fake.ClientSecret))
	resp, err := browser.Get(p.url + "/shopify/install?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	landing, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// The install ends on a page of cartback's own that moves on to the
	// dashboard (TestShopifyInstallInBrowser shows why not a redirect).
	dashboard := "/admin/shops/" + fake.Shop + "/dashboard"
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(landing), "url="+dashboard+`"`) {
		t.Fatalf("install ended with %d: %s\n%s", resp.StatusCode, landing, p.Logs())
	}
	// The merchant is signed in to the admin page, for this shop only.
	page := func(path string) (int, string) {
		r, err := browser.Get(p.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		var b strings.Builder
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return r.StatusCode, b.String()
	}
	if status, body := page(dashboard); status != 200 || !strings.Contains(body, fake.Shop) {
		t.Errorf("own dashboard: %d", status)
	}
	if status, _ := page("/admin/shops/other-shop.myshopify.com/dashboard"); status != http.StatusNotFound {
		t.Errorf("another shop's dashboard: %d, want 404", status)
	}
	if _, body := page("/admin/shops"); strings.Contains(body, "other-shop.myshopify.com") {
		t.Errorf("the shop list shows another shop")
	}
	// A sign-in link for another shop, forged from this one, is refused.
	forged := "/admin/shop-session?shop=other-shop.myshopify.com&exp=" + fmt.Sprint(time.Now().Add(time.Minute).Unix()) + "&sig=AAAA"
	if r, err := http.Get(p.url + forged); err != nil || r.StatusCode != http.StatusUnauthorized {
		t.Errorf("forged shop sign-in: %v %v", r.StatusCode, err)
	}
	// A forged install request and a callback without the state cookie are refused.
	q.Set("hmac", strings.Repeat("0", 64))
	if r, _ := http.Get(p.url + "/shopify/install?" + q.Encode()); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("forged install: %d", r.StatusCode)
	}
	if r, _ := http.Get(p.url + "/shopify/callback?shop=" + fake.Shop + "&code=x&state=y&timestamp=1&hmac=00"); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("forged callback: %d", r.StatusCode)
	}
	if n := len(fake.Webhooks()); n != 5 {
		t.Fatalf("%d webhook subscriptions, want 5", n)
	}
	status, shop := p.admin(http.MethodGet, "/admin/api/shops/"+fake.Shop, "")
	if status != 200 || shop["shopify_app"] == nil || strings.Contains(fmt.Sprint(shop), "sealed") {
		t.Fatalf("installed shop: %d %v", status, shop)
	}
	// Its name and time zone come from its Shopify settings: messages greet
	// shoppers with the shop's name, not its myshopify.com domain.
	if settings, _ := shop["settings"].(map[string]any); shop["name"] != apptest.DefaultShopName || settings["time_zone"] != apptest.DefaultTimeZone || settings["country"] != apptest.DefaultCountry {
		t.Errorf("installed shop's details: name %v, settings %v", shop["name"], settings)
	}

	// Reminders in seconds, with a single-use code in the incentive.
	p.admin(http.MethodPut, "/admin/api/shops/"+fake.Shop+"/sequence", `{"abandon_after":"1s","frequency_cap":9,"steps":[
		{"channel":"email","after":"5s","template":"incentive"}]}`)
	p.admin(http.MethodPut, "/admin/api/shops/"+fake.Shop+"/settings", `{"unique_discount_percent":10}`)

	// Two checkouts whose webhooks never came; one is bought right after.
	now := time.Now().Truncate(time.Second)
	items := []apptest.LineItem{{Title: "Wool socks", Quantity: 2, Price: "12.50", ProductID: 7, VariantID: 8}}
	fake.AddCheckout(apptest.Checkout{Email: "lost@example.com", FirstName: "Lise", Items: items, Currency: "NOK", UpdatedAt: now, CreatedAt: now})
	bought := fake.AddCheckout(apptest.Checkout{Email: "bought@example.com", Items: items, Currency: "NOK", UpdatedAt: now, CreatedAt: now})

	// Restart: the token is about to expire, so maintenance renews it
	// before anything uses it. Subscriptions stay at five; reconciliation
	// imports both checkouts.
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.wait()
	p = startAt(t, dbPath, addr, append(env, "CARTBACK_PUBLIC_URL="+public)...)
	p.shop = fake.Shop
	// Once reconciliation brought the second checkout in, it is bought on
	// Shopify with no webhook to say so.
	waitFor(t, 10*time.Second, "reconciliation", func() bool { return len(allCartsOf(t, p, fake.Shop)) == 2 })
	fake.CompleteCheckout(bought.Token)
	waitFor(t, 20*time.Second, "the reconciled cart's incentive", func() bool { return len(p.outbox()) >= 1 })
	time.Sleep(500 * time.Millisecond) // the bought cart's step is due at the same moment
	if n := len(fake.Webhooks()); n != 5 {
		t.Errorf("%d webhook subscriptions after a restart, want still 5", n)
	}
	if n := fake.Calls("refresh_token"); n < 1 {
		t.Errorf("token about to expire was not refreshed (%d refreshes)", n)
	}
	msgs := p.outbox()
	if len(msgs) != 1 || !strings.Contains(msgs[0].Text, "Lise") {
		t.Fatalf("outbox: %+v (want only the lost checkout's reminder)", msgs)
	}
	discounts := fake.Discounts()
	if len(discounts) != 1 || !strings.Contains(msgs[0].Text, discounts[0].Code) {
		t.Errorf("incentive does not carry the code Shopify created (%+v)", discounts)
	}
	var boughtSteps []map[string]any
	for _, c := range allCartsOf(t, p, fake.Shop) {
		if keys, _ := c["keys"].(map[string]any); keys["checkout_token"] == bought.Token {
			steps, _ := c["steps"].([]any)
			for _, s := range steps {
				boughtSteps = append(boughtSteps, s.(map[string]any))
			}
		}
	}
	if len(boughtSteps) != 1 || boughtSteps[0]["state"] != "skipped" || boughtSteps[0]["reason"] != recovery.ReasonPurchased {
		t.Errorf("bought checkout's step: %v", boughtSteps)
	}

	// The database holds the tokens only sealed.
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.wait()
	db, err := store.Open(dbPath, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var sealed []byte
	db.View(context.Background(), func(tx recovery.Tx) error {
		sh, err := tx.ShopByDomain(fake.Shop)
		if err == nil && sh.Shopify != nil {
			sealed = sh.Shopify.SealedToken
		}
		return err
	})
	db.Close()
	sealer, _ := app.NewSealer(keyBytes)
	tok, err := sealer.OpenToken(sealed, fake.Shop)
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("stored token does not open: %v", err)
	}
	file, _ := os.ReadFile(dbPath)
	for _, secret := range []string{tok.AccessToken, tok.RefreshToken} {
		if bytes.Contains(file, []byte(secret)) {
			t.Errorf("the database file holds a raw token")
		}
	}

	// The operator erases the shop: the app leaves the store first.
	p = startAt(t, dbPath, addr, append(env, "CARTBACK_PUBLIC_URL="+public)...)
	status, erased := p.admin(http.MethodDelete, "/admin/api/shops/"+fake.Shop, "")
	if status != 200 || erased["status"] != "redacted" || erased["app_uninstalled"] != true || !fake.Uninstalled() {
		t.Errorf("erasing the installed shop: %d %v; app removed from the store: %v", status, erased, fake.Uninstalled())
	}
	if n := len(allCartsOf(t, p, fake.Shop)); n != 0 {
		t.Errorf("%d carts after the erasure", n)
	}
}

func allCartsOf(t *testing.T, p *process, domain string) []map[string]any {
	var out []map[string]any
	next := "/admin/api/shops/" + domain + "/carts?limit=200"
	for next != "" {
		_, body := p.admin(http.MethodGet, next, "")
		for _, c := range body["carts"].([]any) {
			out = append(out, c.(map[string]any))
		}
		next, _ = body["next"].(string)
	}
	return out
}
