package main

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cartback/cartback/adapters/shopify/app"
	"github.com/cartback/cartback/adapters/shopify/app/apptest"
)

// TestShopifyInstallInBrowser installs the app in a real browser the way a
// merchant does, with Shopify on another site than cartback (127.0.0.1
// against localhost): the redirects pass through Shopify, and a browser
// sends no SameSite=Strict cookie along a chain that crossed sites. The
// merchant must land on their dashboard, signed in, not on the sign-in
// page that asks for the operator's token.
func TestShopifyInstallInBrowser(t *testing.T) {
	ctx := newBrowser(t, 45*time.Second)
	fake := apptest.NewServer()
	defer fake.Close()

	port := freePort(t)
	public := fmt.Sprintf("http://localhost:%d", port)
	env := []string{
		"SHOPIFY_API_KEY=" + fake.ClientID, "SHOPIFY_API_SECRET=" + fake.ClientSecret,
		"CARTBACK_SHOPIFY_BASE_URL=" + fake.URL, "CARTBACK_ENCRYPTION_KEY=" + hex.EncodeToString(bytes.Repeat([]byte{9}, 32)),
		"CARTBACK_PUBLIC_URL=" + public, "CARTBACK_ALLOW_LOCAL_PUBLIC_URL=true",
	}
	startAt(t, filepath.Join(t.TempDir(), "cartback.db"), fmt.Sprintf("127.0.0.1:%d", port), env...)

	q := url.Values{"shop": {fake.Shop}, "timestamp": {fmt.Sprint(time.Now().Unix())}}
	q.Set("hmac", app.SignQuery(q, fake.ClientSecret))
	// The merchant starts in Shopify's admin (here a page on 127.0.0.1)
	// and follows its link to the app: the navigation is cross-site from
	// its first request on.
	admin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><a id="open-app" href="%s">Open cartback</a>`, html.EscapeString(public+"/shopify/install?"+q.Encode()))
	}))
	defer admin.Close()
	dashboard := "/admin/shops/" + fake.Shop + "/dashboard"
	err := chromedp.Do(ctx,
		chromedp.Navigate(admin.URL),
		chromedp.Click(chromedp.ID("open-app")),
		// The shop's dashboard, or the sign-in page's token field.
		chromedp.WaitVisible(chromedp.CSS("#chart, #token")),
	)
	location, _ := chromedp.Run(ctx, chromedp.Location())
	if err != nil || !strings.HasSuffix(location, dashboard) {
		screenshot(t, ctx, "shopify-install-failed.png")
		t.Fatalf("after installing: at %q (%v), want the dashboard", location, err)
	}
	screenshot(t, ctx, "shopify-install-dashboard.png")
}
