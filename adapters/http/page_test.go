package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	cbhttp "github.com/cartback/cartback/adapters/http"
	"github.com/cartback/cartback/internal/signature"
	"github.com/cartback/cartback/recovery"
	"github.com/cartback/cartback/templates"
)

// adminPages are GET pages that need a session.
var adminPages = []string{
	"/admin/",
	"/admin/shops",
	"/admin/shops/" + wooDomain,
	"/admin/shops/" + wooDomain + "/dashboard",
	"/admin/shops/" + wooDomain + "/templates",
	"/admin/shops/" + wooDomain + "/carts",
	"/admin/shops/" + wooDomain + "/carts/1",
	"/admin/shops/" + wooDomain + "/outbox",
}

// adminPosts are the forms, each with a harmless valid body.
var adminPosts = map[string]url.Values{
	"/admin/logout": {},
	"/admin/shops":  {"domain": {"new.example.com"}},
	"/admin/shops/" + wooDomain + "/settings":          {"holdout_percent": {"10"}},
	"/admin/shops/" + wooDomain + "/status":            {"status": {"paused"}},
	"/admin/shops/" + wooDomain + "/templates":         {"action": {"save"}, "subject": {"Hi {{.FirstName}}"}},
	"/admin/shops/" + wooDomain + "/templates/preview": {"subject": {"Hi"}},
}

func TestAdminPagesRequireSession(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	for _, path := range adminPages {
		p := b.get(path)
		want := "/admin/login?next=" + url.QueryEscape(path)
		if p.status != http.StatusSeeOther || p.header.Get("Location") != want {
			t.Errorf("GET %s without a session: %d → %q, want 303 → %q", path, p.status, p.header.Get("Location"), want)
		}
	}
	for path, form := range adminPosts {
		if p := b.post(path, form); p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/admin/login") {
			t.Errorf("POST %s without a session: %d → %q", path, p.status, p.header.Get("Location"))
		}
	}
	// A forged or altered session cookie is no session either.
	u, _ := url.Parse(e.srv.URL + "/admin")
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: "cartback_session", Value: "9999999999.abc.forged", Path: "/admin"}})
	if p := b.get("/admin/shops"); p.status != http.StatusSeeOther {
		t.Errorf("forged session: %d", p.status)
	}

	// The API wants its bearer token: 401 without it, a session or not.
	b.signIn()
	for _, path := range []string{"/admin/api/shops", "/admin/api/shops/" + wooDomain + "/carts"} {
		if p := b.get(path); p.status != http.StatusUnauthorized {
			t.Errorf("GET %s with a session but no token: %d", path, p.status)
		}
	}
	if r := e.do(mustRequest(t, http.MethodGet, e.srv.URL+"/admin/api/shops")); r.status != http.StatusUnauthorized {
		t.Errorf("API without token: %d", r.status)
	}
	// The live preview, called by script, answers 401 rather than a page.
	req := mustRequest(t, http.MethodPost, e.srv.URL+"/admin/shops/"+wooDomain+"/templates/preview")
	req.Header.Set("X-CSRF-Token", "x")
	if r := e.do(req); r.status != http.StatusUnauthorized {
		t.Errorf("preview without session: %d", r.status)
	}
}

func mustRequest(t *testing.T, method, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestAdminPostsRequireCSRF(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn()
	other := e.browser()
	other.signIn() // another session's token must not do either

	for path, form := range adminPosts {
		for name, token := range map[string]string{"missing": "", "wrong": "AAAA" + b.csrf[4:], "another session's": other.csrf} {
			f := url.Values{}
			for k, v := range form {
				f[k] = v
			}
			if token != "" {
				f.Set("_csrf", token)
			}
			if p := b.post(path, f); p.status != http.StatusForbidden {
				t.Errorf("POST %s with a %s CSRF token: %d, want 403", path, name, p.status)
			}
		}
	}
	// Nothing changed.
	shop, err := e.svc.ShopByDomain(context.Background(), wooDomain)
	if err != nil {
		t.Fatal(err)
	}
	if shop.Status != recovery.ShopActive || shop.Settings.HoldoutPercent != 0 {
		t.Errorf("shop changed by refused posts: %+v", shop)
	}
	if c, _ := (cbhttp.TemplateStore{Store: e.db}).Template(context.Background(), shop.ID, "reminder", "email", "en", ""); c != nil {
		t.Errorf("template saved by a refused post: %+v", c)
	}
	if _, err := e.svc.ShopByDomain(context.Background(), "new.example.com"); recovery.ErrorCode(err) != recovery.ENOTFOUND {
		t.Errorf("shop created by a refused post: %v", err)
	}
	// The session's own token works.
	if p := b.post("/admin/shops/"+wooDomain+"/status", b.withCSRF(url.Values{"status": {"paused"}})); p.status != http.StatusSeeOther {
		t.Errorf("pause with the token: %d %s", p.status, p.body)
	}

	// The sign-in form is double-submit: without its cookie it is refused.
	fresh := e.browser()
	if p := fresh.post("/admin/login", url.Values{"_csrf": {"abc"}, "token": {adminToken}}); p.status != http.StatusForbidden || cookie(p.header, "cartback_session") != nil {
		t.Errorf("sign-in without the form's cookie: %d", p.status)
	}
}

func TestAdminSignIn(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.get("/admin/login")
	// A wrong token is refused and sets no session.
	p := b.post("/admin/login", b.withCSRF(url.Values{"token": {"not-the-token-0123456789"}}))
	if p.status != http.StatusUnauthorized || cookie(p.header, "cartback_session") != nil || !strings.Contains(p.body, "not the admin token") {
		t.Errorf("wrong token: %d %s", p.status, p.body)
	}

	p = b.post("/admin/login", b.withCSRF(url.Values{"token": {adminToken}, "next": {"https://evil.example/"}}))
	ck := cookie(p.header, "cartback_session")
	switch {
	case p.status != http.StatusSeeOther || p.header.Get("Location") != "/admin/":
		t.Errorf("sign in: %d → %q (an outside next must not be followed)", p.status, p.header.Get("Location"))
	case ck == nil:
		t.Fatal("no session cookie")
	case !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/admin" || ck.MaxAge <= 0:
		t.Errorf("session cookie: %+v", ck)
	case ck.Secure:
		t.Errorf("session cookie Secure over plain HTTP: the browser would never send it back")
	}
	if p := b.get("/admin/shops"); p.status != http.StatusOK || !strings.Contains(p.body, wooDomain) {
		t.Errorf("shops page after sign-in: %d", p.status)
	}

	// Behind a TLS-terminating proxy the cookie is Secure.
	tls := e.browser()
	tls.get("/admin/login")
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/admin/login", strings.NewReader(tls.withCSRF(url.Values{"token": {adminToken}}).Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-Proto", "https")
	if ck := cookie(tls.do(req).header, "cartback_session"); ck == nil || !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
		t.Errorf("session cookie over HTTPS: %+v", ck)
	}

	// Sign out ends the session in the browser.
	p = b.post("/admin/logout", b.withCSRF(nil))
	if ck := cookie(p.header, "cartback_session"); p.status != http.StatusSeeOther || ck == nil || ck.MaxAge >= 0 {
		t.Errorf("sign out: %d %+v", p.status, ck)
	}
	if p := b.get("/admin/shops"); p.status != http.StatusSeeOther {
		t.Errorf("after sign out: %d", p.status)
	}
}

var nonceAttr = regexp.MustCompile(`<script nonce="([^"]+)">`)

func TestAdminSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	check := func(what string, p page) {
		t.Helper()
		h := p.header
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "img-src 'self' https: data:", "style-src 'self' 'unsafe-inline'", "script-src 'self' 'nonce-", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: Content-Security-Policy %q lacks %q", what, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "script-src 'self' 'unsafe-inline'") {
			t.Errorf("%s: scripts too loose: %q", what, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "same-origin" {
			t.Errorf("%s: headers %v", what, h)
		}
	}
	check("redirect to sign-in", b.get("/admin/"))
	check("sign-in page", b.get("/admin/login"))
	b.signIn()
	check("shops page", b.get("/admin/shops"))
	check("refused post", b.post("/admin/shops", url.Values{}))
	check("not found", b.get("/admin/shops/nowhere.example.com/carts"))
	if p := b.get("/admin/no/such/page"); p.status != http.StatusNotFound || !strings.Contains(p.header.Get("Content-Type"), "text/html") {
		t.Errorf("unknown admin page: %d %s", p.status, p.header.Get("Content-Type"))
	} else {
		check("unknown admin page", p)
	}
	if p := b.get("/admin/api/no/such/thing"); p.status != http.StatusUnauthorized || !strings.Contains(p.body, `"error"`) {
		t.Errorf("unknown API path without a token: %d %s", p.status, p.body)
	}

	// The editor's one inline script runs by the page's own nonce.
	p := b.get("/admin/shops/" + wooDomain + "/templates")
	check("template editor", p)
	m := nonceAttr.FindStringSubmatch(p.body)
	if m == nil || !strings.Contains(p.header.Get("Content-Security-Policy"), "'nonce-"+m[1]+"'") {
		t.Errorf("script nonce does not match the policy")
	}
	if n := strings.Count(p.body, "<script"); n != 1 {
		t.Errorf("%d scripts on the editor, want 1", n)
	}
}

func TestAdminTemplateEditor(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn()
	base := "/admin/shops/" + wooDomain + "/templates"
	if p := b.get(base + "?kind=reminder&channel=email&locale=en"); p.status != 200 || !strings.Contains(p.body, "Default template") || !strings.Contains(p.body, "srcdoc=") {
		t.Fatalf("editor: %d %s", p.status, p.body)
	}

	// The live preview renders what is typed, without saving it.
	preview := func(form url.Values) map[string]any {
		t.Helper()
		p := b.post(base+"/preview", b.withCSRF(form))
		var out map[string]any
		if err := json.Unmarshal([]byte(p.body), &out); p.status != 200 || err != nil {
			t.Fatalf("preview: %d %s", p.status, p.body)
		}
		return out
	}
	got := preview(url.Values{"kind": {"reminder"}, "channel": {"email"}, "locale": {"en"}, "subject": {"MARK-1 for {{.FirstName}}"}})
	if got["subject"] != "MARK-1 for Kari" || got["error"] != "" || !strings.Contains(got["html"].(string), "<") {
		t.Errorf("preview: %v", got)
	}
	got = preview(url.Values{"kind": {"reminder"}, "channel": {"email"}, "locale": {"en"}, "subject": {"{{.Nope"}})
	if got["error"] == "" {
		t.Errorf("broken template previewed without an error: %v", got)
	}
	got = preview(url.Values{"kind": {"incentive"}, "channel": {"sms"}, "locale": {"de"}, "sms": {"Hallo {{.FirstName}}, Ihr Warenkorb: {{.RestoreURL}} 🛒"}})
	if got["encoding"] != recovery.EncodingUCS2 || got["segments"].(float64) < 1 || got["chars"].(float64) < 20 {
		t.Errorf("SMS preview counter: %v", got)
	}

	// The no-script preview re-renders the page.
	if p := b.post(base, b.withCSRF(url.Values{"action": {"preview"}, "subject": {"MARK-2"}})); p.status != 200 || !strings.Contains(p.body, `id="preview-subject">MARK-2<`) {
		t.Errorf("form preview: %d", p.status)
	}

	// Save refuses a broken template and shows why.
	p := b.post(base, b.withCSRF(url.Values{"action": {"save"}, "kind": {"reminder"}, "channel": {"email"}, "locale": {"en"}, "text": {"{{range .Items}}"}}))
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "Not saved: text:") {
		t.Errorf("broken save: %d %s", p.status, p.body)
	}
	store := cbhttp.TemplateStore{Store: e.db}
	ctx := context.Background()
	if c, err := store.Template(ctx, e.woo.ID, "reminder", "email", "en", ""); c != nil || err != nil {
		t.Fatalf("broken template stored: %+v %v", c, err)
	}

	// A good one is saved and used by a renderer on the same store.
	p = b.post(base, b.withCSRF(url.Values{"action": {"save"}, "kind": {"reminder"}, "channel": {"email"}, "locale": {"en"}, "subject": {"MARK-3 {{.ShopName}}"}}))
	if p.status != http.StatusSeeOther || !strings.Contains(p.header.Get("Location"), "done=saved") {
		t.Fatalf("save: %d %s", p.status, p.body)
	}
	if p := b.get(p.header.Get("Location")); !strings.Contains(p.body, "This shop's own template") || !strings.Contains(p.body, `value="MARK-3 {{.ShopName}}"`) {
		t.Errorf("editor after save: %s", p.body)
	}
	r, err := templates.New(templates.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	shop, _ := e.svc.ShopByDomain(ctx, wooDomain)
	out, err := r.Render(ctx, recovery.RenderInput{
		Shop: shop, Cart: &recovery.Cart{ShopID: shop.ID, Currency: "EUR", Items: []recovery.LineItem{{Title: "Socks", Quantity: 1, UnitPrice: 100, LinePrice: 100}}, Totals: recovery.Totals{Total: 100}},
		Locale: "en", Step: recovery.StepRun{Channel: recovery.ChannelEmail, Template: "reminder"}, RestoreURL: "https://cb.example.com/r/x",
	})
	if err != nil || out.Subject != "MARK-3 "+wooDomain {
		t.Errorf("render with the saved template: %q %v", out.Subject, err)
	}

	// Back to default: the first click asks, keeping the template and
	// the editor's content; the second deletes it.
	ask := url.Values{"action": {"reset"}, "kind": {"reminder"}, "channel": {"email"}, "locale": {"en"}, "subject": {"EDITED-NOT-SAVED"}}
	if p := b.post(base, b.withCSRF(ask)); p.status != http.StatusOK || !strings.Contains(p.body, `value="reset-confirmed"`) || !strings.Contains(p.body, "EDITED-NOT-SAVED") {
		t.Errorf("reset, first click: %d", p.status)
	}
	if c, _ := store.Template(ctx, e.woo.ID, "reminder", "email", "en", ""); c == nil {
		t.Errorf("the template went at the first click")
	}
	if p := b.post(base, b.withCSRF(url.Values{"action": {"reset-confirmed"}, "kind": {"reminder"}, "channel": {"email"}, "locale": {"en"}})); p.status != http.StatusSeeOther {
		t.Errorf("reset: %d", p.status)
	}
	if c, _ := store.Template(ctx, e.woo.ID, "reminder", "email", "en", ""); c != nil {
		t.Errorf("after reset: %+v", c)
	}
	// An unknown language is refused.
	if p := b.get(base + "?locale=xx"); p.status != http.StatusBadRequest {
		t.Errorf("unknown locale: %d", p.status)
	}
}

func TestTemplateStoreKeepsShopsApart(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	s := cbhttp.TemplateStore{Store: e.db}
	a := templates.Custom{Subject: "A"}
	if err := s.PutTemplate(ctx, 1, "reminder", "email", "nb", "", a); err != nil {
		t.Fatal(err)
	}
	if err := s.PutTemplate(ctx, 1, "reminder", "email", "nb", "B", templates.Custom{Subject: "variant B"}); err != nil {
		t.Fatal(err)
	}
	if c, err := s.Template(ctx, 1, "reminder", "email", "nb", ""); err != nil || c == nil || *c != a {
		t.Errorf("shop 1: %+v %v", c, err)
	}
	if c, _ := s.Template(ctx, 1, "reminder", "email", "nb", "B"); c == nil || c.Subject != "variant B" {
		t.Errorf("variant B: %+v", c)
	}
	for _, k := range [][5]any{{uint64(2), "reminder", "email", "nb", ""}, {uint64(1), "reminder", "sms", "nb", ""}, {uint64(1), "reminder", "email", "sv", ""}} {
		if c, _ := s.Template(ctx, k[0].(uint64), k[1].(string), k[2].(string), k[3].(string), k[4].(string)); c != nil {
			t.Errorf("%v: %+v", k, c)
		}
	}
}

func TestAdminPagesShowShopData(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn()
	ctx := context.Background()

	// A captured Shopify cart, with a step and an outbox message.
	r := e.shopifyWebhook("checkouts/create", "p-1", mustJSON(t, fixture(t, "shopify_checkout.json")), shopifySecret)
	id := cartID(t, r)
	err := e.db.Update(ctx, func(tx recovery.Tx) error {
		c, err := tx.Cart(id)
		if err != nil {
			return err
		}
		m := &recovery.Message{ShopID: c.ShopID, CartID: c.ID, Channel: recovery.ChannelEmail, Template: "reminder", To: c.Contact.Email,
			Subject: "You left something behind", Text: "OUTBOX-TEXT", Status: recovery.MessageOutbox, CreatedAt: time.Now(),
			History: []recovery.MessageEvent{{At: time.Now(), Status: recovery.MessageClaimed}, {At: time.Now(), Status: recovery.MessageOutbox},
				// As a provider words a refusal, naming the recipient.
				{At: time.Now(), Status: recovery.MessageFailed, Detail: "550 5.1.1 affected recipient(s): " + c.Contact.Email}}}
		if err := tx.PutMessage(m); err != nil {
			return err
		}
		c.State = recovery.CartAbandoned
		c.AbandonedAt = time.Now()
		c.Steps = []recovery.StepRun{
			{Index: 0, Channel: recovery.ChannelEmail, Template: "reminder", DueAt: time.Now(), State: recovery.StepOutbox, MessageID: m.ID, FinishedAt: time.Now()},
			{Index: 1, Channel: recovery.ChannelSMS, Template: "reminder", DueAt: time.Now(), State: recovery.StepSkipped, Reason: "no_sms_consent", FinishedAt: time.Now()},
			{Index: 2, Channel: recovery.ChannelEmail, Template: "follow-up", DueAt: time.Now(), State: recovery.StepFailed, Reason: "smtp: 550 mailbox " + c.Contact.Email + " unknown", FinishedAt: time.Now()},
		}
		return tx.PutCart(c)
	})
	if err != nil {
		t.Fatal(err)
	}
	shop := "/admin/shops/" + shopifyDomain
	const email = "bob.norman@mail.example.com"

	p := b.get(shop + "/carts")
	if p.status != 200 || !strings.Contains(p.body, "b***@mail.example.com") || strings.Contains(p.body, email) || !strings.Contains(p.body, "379.69 USD") {
		t.Errorf("carts page: %d %s", p.status, p.body)
	}
	for _, q := range []string{email, "2a1ace52255252df566af0faaedfbfa7", "bob.nor"} {
		if p := b.get(shop + "/carts?q=" + url.QueryEscape(q)); !strings.Contains(p.body, "b***@mail.example.com") {
			t.Errorf("search %q found nothing", q)
		}
	}
	if p := b.get(shop + "/carts?q=nobody%40example.com"); !strings.Contains(p.body, "No cart matches") {
		t.Errorf("search for a stranger: %s", p.body)
	}
	p = b.get(shop + "/carts/" + itoa(id))
	for _, want := range []string{"no_sms_consent", "NOT SENT", "claimed → outbox", "captured", "abandoned", "affected recipient(s): b***@mail.example.com", "mailbox b***@mail.example.com unknown"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("cart page lacks %q", want)
		}
	}
	if strings.Contains(p.body, email) {
		t.Errorf("cart page shows the full address")
	}
	if p := b.get("/admin/shops/" + wooDomain + "/carts/" + itoa(id)); p.status != http.StatusNotFound {
		t.Errorf("another shop's cart: %d", p.status)
	}
	p = b.get(shop + "/outbox")
	if !strings.Contains(p.body, "OUTBOX-TEXT") || !strings.Contains(p.body, "NOT SENT") || !strings.Contains(p.body, "You left something behind") {
		t.Errorf("outbox page: %s", p.body)
	}
	p = b.get(shop + "/dashboard?days=7")
	if p.status != 200 || !strings.Contains(p.body, `<svg id="chart"`) || !strings.Contains(p.body, "Abandoned") {
		t.Errorf("dashboard: %d %s", p.status, p.body)
	}
	if p := b.get(shop + "/dashboard?from=2026-02-01&to=2025-01-01"); p.status != http.StatusBadRequest {
		t.Errorf("backwards period: %d", p.status)
	}
	if p := b.get("/admin/"); p.status != http.StatusSeeOther || !strings.HasSuffix(p.header.Get("Location"), "/dashboard") {
		t.Errorf("home: %d %q", p.status, p.header.Get("Location"))
	}

	// Adding a WooCommerce store shows the webhook address and the secret.
	p = b.post("/admin/shops", b.withCSRF(url.Values{"domain": {"added.example.com"}, "default_locale": {"nb"}, "time_zone": {"Europe/Oslo"}}))
	added, err := e.svc.ShopByDomain(ctx, "added.example.com")
	if err != nil || p.status != http.StatusCreated {
		t.Fatalf("add store: %d %v %s", p.status, err, p.body)
	}
	if !strings.Contains(p.body, e.srv.URL+"/webhooks/woocommerce") || !strings.Contains(p.body, added.WebhookSecret) {
		t.Errorf("add store page lacks the webhook URL or secret")
	}
	if p := b.get("/admin/shops"); strings.Contains(p.body, added.WebhookSecret) {
		t.Errorf("the secret is shown again")
	}
	if p := b.post("/admin/shops", b.withCSRF(url.Values{"domain": {"added.example.com"}})); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "already exists") {
		t.Errorf("duplicate store: %d", p.status)
	}

	// Settings: the sequence and the shop's choices.
	settings := url.Values{
		"abandon_after": {"10m"}, "step0_after": {"30m"}, "step0_channel": {"email"}, "step0_template": {"reminder"},
		"step1_after": {"2h"}, "step1_channel": {"sms"}, "step1_template": {"incentive"}, "step1_discount_code": {"SMS5"},
		"email_consent": {"marketing"}, "quiet_start": {"22:00"}, "quiet_end": {"08:00"}, "discount_code": {"BACK10"},
		"unique_discount_percent": {"15"}, "default_locale": {"nb"}, "time_zone": {"Europe/Oslo"}, "holdout_percent": {"10"},
		"max_messages": {"2"}, "frequency_cap": {"3"}, "frequency_window": {"12h"},
	}
	// A setting only the API sets must survive a save of the form.
	sh, _ := e.svc.ShopByDomain(ctx, shopifyDomain)
	hold := sh.Settings
	hold.HoldIfUnverified = true
	if _, err := e.svc.UpdateSettings(ctx, sh.ID, hold); err != nil {
		t.Fatal(err)
	}
	if p := b.post(shop+"/settings", b.withCSRF(settings)); p.status != http.StatusSeeOther {
		t.Fatalf("settings: %d %s", p.status, p.body)
	}
	sh, _ = e.svc.ShopByDomain(ctx, shopifyDomain)
	if !sh.Settings.HoldIfUnverified {
		t.Errorf("saving the settings form cleared hold_if_unverified")
	}
	seq := sh.Settings.SequenceOrDefault()
	if len(seq.Steps) != 2 || seq.Steps[1].Channel != recovery.ChannelSMS || seq.Steps[1].DiscountCode != "SMS5" || time.Duration(seq.AbandonAfter) != 10*time.Minute ||
		seq.MaxMessages != 2 || seq.FrequencyCap != 3 || sh.Settings.HoldoutPercent != 10 || sh.Settings.EmailConsent != "marketing" ||
		sh.Settings.QuietHours == nil || sh.Settings.QuietHours.Start != "22:00" || sh.Settings.UniqueDiscountPercent != 15 {
		t.Errorf("settings stored: %+v %+v", sh.Settings, seq)
	}
	if p := b.get(shop); !strings.Contains(p.body, `value="30m"`) || !strings.Contains(p.body, `value="BACK10"`) {
		t.Errorf("settings page does not show what was saved")
	}
	settings.Set("step1_after", "5m")
	if p := b.post(shop+"/settings", b.withCSRF(settings)); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "steps[1].after") || !strings.Contains(p.body, `value="5m"`) {
		t.Errorf("bad settings: %d %s", p.status, p.body)
	}
	settings.Set("step1_after", "soon")
	if p := b.post(shop+"/settings", b.withCSRF(settings)); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "step 2 delay") {
		t.Errorf("unreadable delay: %d", p.status)
	}
	// Pause and resume.
	for _, st := range []recovery.ShopStatus{recovery.ShopPaused, recovery.ShopActive} {
		if p := b.post(shop+"/status", b.withCSRF(url.Values{"status": {string(st)}})); p.status != http.StatusSeeOther {
			t.Errorf("status %s: %d", st, p.status)
		}
		if sh, _ := e.svc.ShopByDomain(ctx, shopifyDomain); sh.Status != st {
			t.Errorf("status %s: shop is %s", st, sh.Status)
		}
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// TestWrongAdminTokensAreThrottled: ten wrong tokens from one address,
// by the API or the sign-in form, and that address waits before the
// token is looked at again; other addresses are not held up.
func TestWrongAdminTokensAreThrottled(t *testing.T) {
	s, now := clockedServer(t)
	h := s.Handler()
	api := func(from, token string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/admin/api/shops", nil)
		req.RemoteAddr = from + ":40000"
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	form := func(from, token string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/admin/login", nil))
		login := cookie(rec.Header(), "cartback_login")
		m := csrfInput.FindStringSubmatch(rec.Body.String())
		req := httptest.NewRequest(http.MethodPost, "/admin/login", strings.NewReader(url.Values{"_csrf": {m[1]}, "token": {token}}.Encode()))
		req.RemoteAddr = from + ":40000"
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(login)
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for i := range 10 {
		guess := fmt.Sprintf("guess-%02d-0123456789", i)
		if i%2 == 0 {
			if r := api("203.0.113.9", guess); r.Code != http.StatusUnauthorized {
				t.Fatalf("wrong token %d by the API: %d", i+1, r.Code)
			}
		} else if r := form("203.0.113.9", guess); r.Code != http.StatusUnauthorized {
			t.Fatalf("wrong token %d by the form: %d", i+1, r.Code)
		}
	}
	// Now even the right token waits: otherwise guessing would go on.
	if r := api("203.0.113.9", adminToken); r.Code != http.StatusTooManyRequests || r.Header().Get("Retry-After") != "6" {
		t.Errorf("11th try by the API: %d, Retry-After %q", r.Code, r.Header().Get("Retry-After"))
	}
	if r := form("203.0.113.9", adminToken); r.Code != http.StatusTooManyRequests || cookie(r.Header(), "cartback_session") != nil {
		t.Errorf("11th try by the form: %d", r.Code)
	}
	if r := api("198.51.100.7", adminToken); r.Code != http.StatusOK {
		t.Errorf("another address: %d", r.Code)
	}
	*now = now.Add(6 * time.Second)
	if r := api("203.0.113.9", adminToken); r.Code != http.StatusOK {
		t.Errorf("after the wait: %d", r.Code)
	}
	if r := api("203.0.113.9", "one-more-guess-0123456789"); r.Code != http.StatusUnauthorized {
		t.Errorf("the one attempt earned by waiting: %d", r.Code)
	}
	if r := api("203.0.113.9", adminToken); r.Code != http.StatusTooManyRequests {
		t.Errorf("after spending it: %d", r.Code)
	}
}

// clockedServer is a server over a new environment whose clock the test
// moves by hand through the returned pointer.
func clockedServer(t *testing.T) (*cbhttp.Server, *time.Time) {
	e := newEnv(t)
	now := time.Now()
	s := cbhttp.NewServer(prometheus.NewRegistry())
	s.Service, s.AdminToken, s.Now = e.svc, adminToken, func() time.Time { return now }
	return s, &now
}

func TestAdminSessionExpires(t *testing.T) {
	s, now := clockedServer(t)
	h := s.Handler()
	session := signInHandler(t, h)
	get := func() int {
		req := httptest.NewRequest(http.MethodGet, "/admin/shops", nil)
		req.AddCookie(session)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	if code := get(); code != http.StatusOK {
		t.Fatalf("fresh session: %d", code)
	}
	*now = now.Add(13 * time.Hour)
	if code := get(); code != http.StatusSeeOther {
		t.Errorf("session after 13 hours: %d, want a redirect to sign in", code)
	}
	// A new admin token ends every session.
	*now = now.Add(-13 * time.Hour)
	s.AdminToken = adminToken + "-rotated"
	if code := get(); code != http.StatusSeeOther {
		t.Errorf("session after the token changed: %d", code)
	}
}

func TestSettingsPageRotatesWebhookSecret(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := e.browser()
	b.signIn()
	settings := "/admin/shops/" + wooDomain
	stored := func() *recovery.Shop {
		t.Helper()
		sh, err := e.svc.ShopByDomain(ctx, wooDomain)
		if err != nil {
			t.Fatal(err)
		}
		return sh
	}

	if p := b.get(settings); p.status != 200 || !strings.Contains(p.body, "Make a new secret") || strings.Contains(p.body, wooSecret) {
		t.Fatalf("settings page: %d %s", p.status, p.body)
	}
	if p := b.post(settings+"/webhook-secret", url.Values{"keep_previous": {"on"}}); p.status != http.StatusForbidden || stored().WebhookSecret != wooSecret {
		t.Errorf("rotate without the CSRF token: %d", p.status)
	}
	// The answer sends the browser on to the page that shows the secret:
	// reloading that page makes no new secret.
	p := b.post(settings+"/webhook-secret", b.withCSRF(url.Values{"keep_previous": {"on"}}))
	sh := stored()
	if p.status != http.StatusSeeOther || sh.WebhookSecret == wooSecret || sh.PreviousWebhookSecret != wooSecret {
		t.Fatalf("rotate: %d, stored %q / %q\n%s", p.status, sh.WebhookSecret, sh.PreviousWebhookSecret, p.body)
	}
	fresh := sh.WebhookSecret
	shown := p.header.Get("Location")
	if p := b.get(shown); p.status != 200 || !strings.Contains(p.body, `id="new-webhook-secret" type="text" readonly value="`+fresh+`"`) || !strings.Contains(p.body, "still accepted") {
		t.Fatalf("the page after rotating: %d\n%s", p.status, p.body)
	}
	if p := b.get(shown); strings.Contains(p.body, fresh) || !strings.Contains(p.body, "shown once") || stored().WebhookSecret != fresh {
		t.Errorf("that page reloaded: shows the secret again, or made another")
	}
	// Another browser's session never sees it.
	other := e.browser()
	other.signIn()
	b.post(settings+"/webhook-secret", b.withCSRF(url.Values{"keep_previous": {"on"}}))
	if p := other.get(shown); strings.Contains(p.body, stored().WebhookSecret) {
		t.Errorf("another session was shown the secret")
	}
	fresh = stored().WebhookSecret
	// Shown once: the page afterwards tells the rotation is on, not the secret.
	p = b.get(settings)
	if strings.Contains(p.body, fresh) || !strings.Contains(p.body, "Stop accepting the previous secret") {
		t.Errorf("settings page during the rotation: %s", p.body)
	}
	p = b.post(settings+"/webhook-secret/end", b.withCSRF(nil))
	if sh := stored(); p.status != http.StatusSeeOther || sh.PreviousWebhookSecret != "" || sh.WebhookSecret != fresh {
		t.Fatalf("end rotation: %d, stored %q / %q", p.status, sh.WebhookSecret, sh.PreviousWebhookSecret)
	}
	if p := b.get(p.header.Get("Location")); !strings.Contains(p.body, "no longer accepted") || strings.Contains(p.body, "Stop accepting") {
		t.Errorf("after ending the rotation: %s", p.body)
	}
	// Unticked: the current secret stops at once, for one that leaked.
	b.post(settings+"/webhook-secret", b.withCSRF(nil))
	if sh := stored(); sh.WebhookSecret == fresh || sh.PreviousWebhookSecret != "" {
		t.Errorf("rotate without keeping: stored %q / %q", sh.WebhookSecret, sh.PreviousWebhookSecret)
	}

	// A shop installed through the Shopify app has nothing to rotate here.
	if _, err := e.svc.CreateShop(ctx, &recovery.Shop{Platform: recovery.PlatformShopify, Domain: "app.myshopify.com"}); err != nil {
		t.Fatal(err)
	}
	if p := b.get("/admin/shops/app.myshopify.com"); !strings.Contains(p.body, "Verified with the Shopify app's secret") || strings.Contains(p.body, "Make a new secret") {
		t.Errorf("app-installed shop's settings: %s", p.body)
	}
	if p := b.post("/admin/shops/app.myshopify.com/webhook-secret", b.withCSRF(url.Values{"keep_previous": {"on"}})); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "Not changed") {
		t.Errorf("rotate an app-installed shop: %d %s", p.status, p.body)
	}

	// A merchant signed in to their own shop (one with a secret of its
	// own, which the operator could rotate) cannot change its secret.
	m := e.browser()
	if p := m.shopSignIn(shopifyDomain); p.status != http.StatusOK || !strings.Contains(p.body, "/dashboard\"") {
		t.Fatalf("shop sign-in: %d %s", p.status, p.body)
	}
	if p := m.get("/admin/shops/" + shopifyDomain); p.status != 200 || strings.Contains(p.body, "Make a new secret") || !strings.Contains(p.body, `id="webhook-secret"`) {
		t.Errorf("merchant's settings page: %d", p.status)
	}
	if p := m.post("/admin/shops/"+shopifyDomain+"/webhook-secret", m.withCSRF(nil)); p.status != http.StatusForbidden {
		t.Errorf("merchant rotating: %d %s", p.status, p.body)
	}
	if sh, _ := e.svc.ShopByDomain(ctx, shopifyDomain); sh.WebhookSecret != shopifySecret {
		t.Errorf("the merchant changed the secret")
	}
}

func TestSettingsPageErasesShop(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn()
	if r := e.wooWebhook("order.created", "p1", wooOrder(t, "pending", "2017-03-22T19:28:02"), wooSecret); r.status != 200 {
		t.Fatalf("woo cart: %d %s", r.status, r.raw)
	}
	settings := "/admin/shops/" + wooDomain
	if p := b.get(settings); !strings.Contains(p.body, "Erase all data of this shop") {
		t.Fatalf("settings page lacks the erase form: %s", p.body)
	}
	// The domain must be typed to confirm; a wrong one erases nothing.
	for _, typed := range []string{"", "other.example.com"} {
		p := b.post(settings+"/erase", b.withCSRF(url.Values{"confirm_domain": {typed}}))
		if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "Not erased") || len(e.carts(e.woo)) != 1 {
			t.Errorf("confirmed with %q: %d, %d carts", typed, p.status, len(e.carts(e.woo)))
		}
	}
	p := b.post(settings+"/erase", b.withCSRF(url.Values{"confirm_domain": {" WOO.example.com "}}))
	if p.status != http.StatusSeeOther || len(e.carts(e.woo)) != 0 {
		t.Fatalf("erase: %d, %d carts left", p.status, len(e.carts(e.woo)))
	}
	if p := b.get(p.header.Get("Location")); !strings.Contains(p.body, "The data of "+wooDomain+" was erased.") || !strings.Contains(p.body, "redacted") {
		t.Errorf("shop list after erasing: %s", p.body)
	}
	if p := b.get(settings); strings.Contains(p.body, "Erase all data of this shop") || strings.Contains(p.body, "Make a new secret") || !strings.Contains(p.body, "This shop was erased") {
		t.Errorf("an erased shop's settings page: %s", p.body)
	}
	// Nothing is saved on it: not settings, not templates.
	if p := b.post(settings+"/settings", b.withCSRF(url.Values{"abandon_after": {"15m"}})); p.status != http.StatusConflict {
		t.Errorf("settings saved on an erased shop: %d", p.status)
	}
	if p := b.post(settings+"/templates", b.withCSRF(url.Values{"action": {"save"}, "kind": {"reminder"}, "channel": {"email"}, "locale": {"en"}, "subject": {"X"}})); p.status != http.StatusConflict {
		t.Errorf("template saved on an erased shop: %d", p.status)
	}

	// A merchant signed in to their own shop cannot erase it.
	m := e.browser()
	if p := m.shopSignIn(shopifyDomain); p.status != http.StatusOK || !strings.Contains(p.body, "/dashboard\"") {
		t.Fatalf("shop sign-in: %d", p.status)
	}
	if p := m.get("/admin/shops/" + shopifyDomain); strings.Contains(p.body, "Erase all data of this shop") {
		t.Errorf("the merchant's settings page offers erasing")
	}
	if p := m.post("/admin/shops/"+shopifyDomain+"/erase", m.withCSRF(url.Values{"confirm_domain": {shopifyDomain}})); p.status != http.StatusForbidden {
		t.Errorf("merchant erasing: %d", p.status)
	}
	if sh, _ := e.svc.ShopByDomain(context.Background(), shopifyDomain); sh.Status == recovery.ShopRedacted {
		t.Errorf("the merchant erased the shop")
	}
}

// TestUninstalledShopStaysClosed: once the app is uninstalled, neither the
// operator nor the merchant's old sign-in can set the shop sending again
// (the platform no longer tells of orders), and the sign-in ends.
func TestUninstalledShopStaysClosed(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const domain = "app.myshopify.com"
	if _, err := e.svc.InstallShopify(ctx, domain, recovery.ShopifyAccess{SealedToken: []byte("sealed")}); err != nil {
		t.Fatal(err)
	}
	m := e.browser()
	if p := m.shopSignIn(domain); p.status != http.StatusOK || !strings.Contains(p.body, "/dashboard\"") {
		t.Fatalf("shop sign-in: %d", p.status)
	}
	if p := m.get("/admin/shops/" + domain); p.status != 200 {
		t.Fatalf("merchant's settings page while installed: %d", p.status)
	}
	csrf := m.csrf
	body := []byte(`{"id":1,"domain":"` + domain + `"}`)
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/webhooks/shopify", bytes.NewReader(body))
	req.Header.Set("X-Shopify-Topic", "app/uninstalled")
	req.Header.Set("X-Shopify-Shop-Domain", domain)
	req.Header.Set("X-Shopify-Hmac-Sha256", signature.Sign(body, appSecret))
	if r := e.do(req); r.status != http.StatusOK {
		t.Fatalf("app/uninstalled: %d %s", r.status, r.raw)
	}
	if p := m.post("/admin/shops/"+domain+"/status", url.Values{"_csrf": {csrf}, "status": {"active"}}); p.status != http.StatusUnauthorized {
		t.Errorf("merchant resuming an uninstalled shop: %d", p.status)
	}
	// The refused request ended the sign-in too.
	if p := m.get("/admin/shops/" + domain + "/dashboard"); p.status != http.StatusSeeOther || !strings.Contains(p.header.Get("Location"), "/admin/login") {
		t.Errorf("merchant's sign-in after the uninstall: %d %s", p.status, p.header.Get("Location"))
	}
	if r := e.admin(http.MethodPut, "/admin/api/shops/"+domain+"/status", []byte(`{"status":"active"}`)); r.status != http.StatusConflict {
		t.Errorf("operator resuming an uninstalled shop: %d %s", r.status, r.raw)
	}
	if sh, _ := e.svc.ShopByDomain(ctx, domain); sh.Status != recovery.ShopUninstalled {
		t.Errorf("status %s, want uninstalled", sh.Status)
	}
}

// TestShopSignInLinkIsBoundToItsBrowser: the link the app's install ends
// with signs in the browser that installed, once; copied to another
// browser (an operator's, another merchant's) it does nothing.
func TestShopSignInLinkIsBoundToItsBrowser(t *testing.T) {
	e := newEnv(t)
	operator := e.browser()
	operator.signIn()
	path, cookies := e.shopSignInLink(shopifyDomain)
	if p := operator.get(path); p.status != http.StatusUnauthorized {
		t.Errorf("the link in another browser: %d", p.status)
	}
	if p := operator.get("/admin/shops"); p.status != 200 || !strings.Contains(p.body, wooDomain) {
		t.Errorf("the operator's session after the refused link: %d", p.status)
	}
	installer := e.browser()
	installer.keep(cookies)
	// A page of cartback's own moves on to the dashboard, not a redirect:
	// the link comes at the end of redirects that began on Shopify, along
	// which browsers send no SameSite=Strict cookie.
	dashboard := "/admin/shops/" + shopifyDomain + "/dashboard"
	if p := installer.get(path); p.status != http.StatusOK || !strings.Contains(p.body, `http-equiv="refresh" content="0;url=`+dashboard+`"`) {
		t.Fatalf("the link in its browser: %d %s", p.status, p.body)
	}
	if p := installer.get(dashboard); p.status != http.StatusOK {
		t.Errorf("the dashboard after the link: %d", p.status)
	}
	if p := installer.get(path); p.status != http.StatusUnauthorized {
		t.Errorf("the link used twice: %d", p.status)
	}
}
