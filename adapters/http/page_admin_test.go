package http_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cartback/cartback/recovery"
)

// TestRenameShop: the name shoppers see, set through the API and the
// Settings page, checked like any other field.
func TestRenameShop(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	path := "/admin/api/shops/" + shopifyDomain
	if r := e.admin(http.MethodPatch, path, []byte(`{"name":"  Nordic Outdoor "}`)); r.status != 200 || r.body["name"] != "Nordic Outdoor" {
		t.Fatalf("rename: %d %s", r.status, r.raw)
	}
	for body, want := range map[string]string{
		`{"name":"Line\nbreak"}`:                      "name",
		`{"name":"` + strings.Repeat("n", 101) + `"}`: "name",
		`{"title":"Nordic"}`:                          "title",
	} {
		if r := e.admin(http.MethodPatch, path, []byte(body)); r.status != http.StatusBadRequest || !strings.Contains(r.raw, want) {
			t.Errorf("PATCH %s: %d %s", body, r.status, r.raw)
		}
	}
	if sh, _ := e.svc.ShopByDomain(ctx, shopifyDomain); sh.Name != "Nordic Outdoor" {
		t.Errorf("name after refused changes: %q", sh.Name)
	}

	b := e.browser()
	b.signIn()
	page := "/admin/shops/" + shopifyDomain
	if p := b.get(page); !strings.Contains(p.body, `name="shop_name"`) || !strings.Contains(p.body, `value="Nordic Outdoor"`) {
		t.Fatalf("settings page lacks the shop name field")
	}
	form := url.Values{"abandon_after": {"15m"}, "step0_after": {"1h"}, "step0_channel": {"email"}, "step0_template": {"reminder"}, "shop_name": {"Nordic Outdoor Norge"}}
	if p := b.post(page+"/settings", b.withCSRF(form)); p.status != http.StatusSeeOther {
		t.Fatalf("save: %d %s", p.status, p.body)
	}
	if sh, _ := e.svc.ShopByDomain(ctx, shopifyDomain); sh.Name != "Nordic Outdoor Norge" {
		t.Errorf("name after the form: %q", sh.Name)
	}
	form.Set("shop_name", "Tab\there")
	if p := b.post(page+"/settings", b.withCSRF(form)); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "control characters") {
		t.Errorf("bad name in the form: %d", p.status)
	}
}

// TestSessionCookieSecureBehindProxy: behind a proxy that ends TLS and
// says nothing of it, an https public URL still makes the cookies Secure.
func TestSessionCookieSecureBehindProxy(t *testing.T) {
	s, _ := clockedServer(t)
	s.PublicURL = "https://cartback.example.com"
	h := s.Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/admin/login", nil))
	login := cookie(rec.Header(), "cartback_login")
	if login == nil || !login.Secure {
		t.Errorf("sign-in form cookie over plain HTTP behind an https public URL: %+v", login)
	}
}

// TestFormAfterSessionEnded: a form sent after the session ended leads,
// once signed in again, back to the page it was on, not to a 404.
func TestFormAfterSessionEnded(t *testing.T) {
	s, _ := clockedServer(t)
	h := s.Handler()
	for _, tc := range []struct{ referer, want string }{
		{"http://example.com/admin/shops/" + shopifyDomain + "?tab=steps", "/admin/shops/" + shopifyDomain + "?tab=steps"},
		{"", "/admin/shops/" + shopifyDomain},                                  // no Referer: the page above
		{"https://elsewhere.example/admin/x", "/admin/shops/" + shopifyDomain}, // another site's: ignored
	} {
		req := httptest.NewRequest(http.MethodPost, "http://example.com/admin/shops/"+shopifyDomain+"/settings", strings.NewReader("abandon_after=15m"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if tc.referer != "" {
			req.Header.Set("Referer", tc.referer)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		loc, _ := url.Parse(rec.Header().Get("Location"))
		if rec.Code != http.StatusSeeOther || loc == nil || loc.Path != "/admin/login" || loc.Query().Get("next") != tc.want {
			t.Errorf("referer %q: %d → %q, want next=%q", tc.referer, rec.Code, rec.Header().Get("Location"), tc.want)
		}
	}
}

// TestMerchantSeesNoOperatorForm: a shop's own sign-in is not offered the
// form that adds stores, which it may not use.
func TestMerchantSeesNoOperatorForm(t *testing.T) {
	e := newEnv(t)
	operator := e.browser()
	operator.signIn()
	if p := operator.get("/admin/shops"); !strings.Contains(p.body, "Add a WooCommerce store") {
		t.Errorf("the operator lacks the form")
	}
	m := e.browser()
	m.shopSignIn(shopifyDomain)
	if p := m.get("/admin/shops"); p.status != http.StatusOK || strings.Contains(p.body, "Add a WooCommerce store") {
		t.Errorf("merchant's shop list: %d, offers the operator's form", p.status)
	}
}

// TestStatsDateIsAWholeDay: the stats API reads a date as to the way the
// dashboard does, through the end of that day.
func TestStatsDateIsAWholeDay(t *testing.T) {
	e := newEnv(t)
	day := time.Now().UTC().Format(time.DateOnly)
	e.shopifyWebhook("checkouts/create", "day1", mustJSON(t, fixture(t, "shopify_checkout.json")), shopifySecret)
	if time.Now().UTC().Format(time.DateOnly) != day {
		t.Skip("the day ended while the cart was captured")
	}
	base := "/admin/api/shops/" + shopifyDomain + "/stats"
	if r := e.admin(http.MethodGet, base+"?from="+day+"&to="+day, nil); r.status != 200 || r.body["captured"] != 1.0 {
		t.Errorf("stats for today: %d %s", r.status, r.raw)
	}
	b := e.browser()
	b.signIn()
	// The dashboard counts the same cart for the same day.
	if p := b.get("/admin/shops/" + shopifyDomain + "/dashboard?from=" + day + "&to=" + day); p.status != 200 || !strings.Contains(p.body, " of 1 carts") {
		t.Errorf("dashboard for today: %d, not the one cart", p.status)
	}
}

// TestSettingsPageShowsAShopifyProblem: a setup problem the app recorded
// (webhook topics Shopify refused) shows on the shop's settings page.
func TestSettingsPageShowsAShopifyProblem(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sh, err := e.svc.InstallShopify(ctx, "app.myshopify.com", recovery.ShopifyAccess{SealedToken: []byte("sealed")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.UpdateShopifyAccess(ctx, sh.ID, func(a *recovery.ShopifyAccess) { a.Problem = "Shopify refused some webhook subscriptions" }); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.signIn()
	if p := b.get("/admin/shops/app.myshopify.com"); p.status != 200 || !strings.Contains(p.body, "Shopify setup incomplete") || !strings.Contains(p.body, "refused some webhook subscriptions") {
		t.Errorf("settings page: %d, the problem not shown", p.status)
	}
}
