package http_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cartback/cartback/recovery"
	"github.com/cartback/cartback/templates"
)

func (e *env) get(path, userAgent string) (int, http.Header, string) {
	e.t.Helper()
	return e.fetch(http.MethodGet, path, "User-Agent", userAgent)
}

// fetch makes a request with one header set (when value is not empty)
// and answers without following redirects.
func (e *env) fetch(method, path, header, value string) (int, http.Header, string) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, nil)
	if value != "" {
		req.Header.Set(header, value)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestRestoreLinks(t *testing.T) {
	e := newEnv(t)
	r := e.shopifyWebhook("checkouts/create", "r1", mustJSON(t, fixture(t, "shopify_checkout.json")), shopifySecret)
	id := cartID(t, r)
	token := func(expires time.Time) string {
		return testSigner.Sign(recovery.LinkToken{Purpose: recovery.PurposeRestore, ShopID: e.shopify.ID, CartID: id, Step: 0, Channel: recovery.ChannelSMS, Expires: expires})
	}
	valid := token(time.Now().Add(time.Hour))
	before := e.stored(id)

	status, h, _ := e.get("/r/"+valid, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148")
	if status != http.StatusSeeOther || h.Get("Location") != "https://checkout.local/548380009/checkouts/2a1ace52255252df566af0faaedfbfa7/recover" {
		t.Fatalf("valid link: %d → %q", status, h.Get("Location"))
	}
	_, _, clicks, err := e.svc.CartTimeline(t.Context(), e.shopify.ID, id)
	if err != nil || len(clicks) != 1 || !clicks[0].Mobile || clicks[0].Channel != recovery.ChannelSMS {
		t.Fatalf("click: %+v %v", clicks, err)
	}
	if c := e.stored(id); c.State != before.State || !c.UpdatedAt.Equal(before.UpdatedAt) || !c.LastActivityAt.Equal(before.LastActivityAt) {
		t.Errorf("a click changed the cart: %+v", c)
	}

	status, _, body := e.get("/r/"+token(time.Now().Add(-time.Minute)), "")
	if status != http.StatusGone || !strings.Contains(body, "expired") || !strings.Contains(body, `href="https://demo.myshopify.com/"`) {
		t.Errorf("expired link: %d %s", status, body)
	}
	tampered := []byte(valid)
	tampered[5] = map[bool]byte{true: 'B', false: 'A'}[tampered[5] == 'A'] // still well-formed
	for _, bad := range []string{string(tampered), "not-a-token", strings.Repeat("A", 40), valid + "A"} {
		if status, _, body := e.get("/r/"+bad, ""); status != http.StatusNotFound || !strings.Contains(body, "not valid") {
			t.Errorf("bad link %q: %d", bad, status)
		}
	}
	// A link to a cart of another shop is as good as forged.
	other := testSigner.Sign(recovery.LinkToken{Purpose: recovery.PurposeRestore, ShopID: e.woo.ID, CartID: id, Expires: time.Now().Add(time.Hour)})
	if status, _, _ := e.get("/r/"+other, ""); status != http.StatusNotFound {
		t.Errorf("cross-shop link: %d", status)
	}

	// After the order, the link leads to the shop's home page.
	order := fixture(t, "shopify_order.json")
	order["checkout_token"] = "2a1ace52255252df566af0faaedfbfa7"
	e.shopifyWebhook("orders/create", "r2", mustJSON(t, order), shopifySecret)
	if status, h, _ := e.get("/r/"+valid, ""); status != http.StatusSeeOther || h.Get("Location") != "https://demo.myshopify.com/" {
		t.Errorf("converted cart: %d → %q", status, h.Get("Location"))
	}
}

func TestUnsubscribeLink(t *testing.T) {
	e := newEnv(t)
	id := cartID(t, e.shopifyWebhook("checkouts/create", "u1", mustJSON(t, fixture(t, "shopify_checkout.json")), shopifySecret))
	token := testSigner.Sign(recovery.LinkToken{Purpose: recovery.PurposeUnsubscribe, ShopID: e.shopify.ID, CartID: id, Expires: time.Now().Add(time.Hour)})
	optedOut := func() bool {
		var o *recovery.OptOut
		e.db.View(t.Context(), func(tx recovery.Tx) (err error) {
			o, err = tx.OptOut(e.shopify.ID, recovery.ChannelEmail, "bob.norman@mail.example.com")
			return err
		})
		return o != nil
	}
	status, _, body := e.get("/u/"+token, "")
	if status != 200 || !strings.Contains(body, "<form") || optedOut() {
		t.Fatalf("confirmation page: %d, opted out %v", status, optedOut())
	}
	// The RFC 8058 one-click POST.
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/u/"+token, strings.NewReader("List-Unsubscribe=One-Click"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if r := e.do(req); r.status != 200 || !optedOut() {
		t.Fatalf("one-click: %d, opted out %v", r.status, optedOut())
	}
	// A restore token is no unsubscribe token.
	restore := testSigner.Sign(recovery.LinkToken{Purpose: recovery.PurposeRestore, ShopID: e.shopify.ID, CartID: id, Expires: time.Now().Add(time.Hour)})
	if status, _, _ := e.get("/u/"+restore, ""); status != http.StatusNotFound {
		t.Errorf("restore token as unsubscribe: %d", status)
	}
}

func TestSequenceAndSettingsAPI(t *testing.T) {
	e := newEnv(t)
	base := "/admin/api/shops/" + shopifyDomain
	r := e.admin(http.MethodGet, base+"/sequence", nil)
	steps, _ := r.body["steps"].([]any)
	if r.status != 200 || r.body["abandon_after"] != "15m0s" || len(steps) != 4 || r.body["max_messages"] != 3.0 {
		t.Fatalf("default sequence: %d %s", r.status, r.raw)
	}
	r = e.admin(http.MethodPut, base+"/sequence", []byte(`{"abandon_after":"10s","steps":[{"channel":"email","after":"30s","template":"reminder"},{"channel":"sms","after":"1m","template":"follow-up","discount_code":"SMS5"}]}`))
	if r.status != 200 || r.body["abandon_after"] != "10s" {
		t.Fatalf("put sequence: %d %s", r.status, r.raw)
	}
	if r := e.admin(http.MethodGet, base+"/sequence", nil); !strings.Contains(r.raw, "SMS5") {
		t.Errorf("sequence not stored: %s", r.raw)
	}
	for body, field := range map[string]string{
		`{"abandon_after":"10s","steps":[{"channel":"fax","after":"1m","template":"reminder"}]}`:                                                           "steps[0].channel",
		`{"abandon_after":"10s","steps":[{"channel":"email","after":"5s","template":"reminder"}]}`:                                                         "steps[0].after",
		`{"abandon_after":"10s","steps":[{"channel":"email","after":"1m","template":"reminder"},{"channel":"email","after":"30s","template":"reminder"}]}`: "steps[1].after",
		`{"abandon_after":"10s","steps":[{"channel":"email","after":"1m","template":"Bad Name"}]}`:                                                         "steps[0].template",
		`{"abandon_after":"soon","steps":[]}`:                  "abandon_after",
		`{"abandon_after":"10s","max_messages":99,"steps":[]}`: "max_messages",
	} {
		r := e.admin(http.MethodPut, base+"/sequence", []byte(body))
		if reason, _ := r.body["error"].(string); r.status != 400 || !strings.Contains(reason, field) {
			t.Errorf("PUT %s: %d %s; want 400 naming %s", body, r.status, r.raw, field)
		}
	}
	r = e.admin(http.MethodPut, base+"/settings", []byte(`{"country":"NO","time_zone":"Europe/Oslo","holdout_percent":10,"discount_code":"COMEBACK"}`))
	if r.status != 200 || !strings.Contains(r.raw, `"holdout_percent":10`) || !strings.Contains(r.raw, "SMS5") {
		t.Errorf("put settings (the sequence must survive): %d %s", r.status, r.raw)
	}
	if r := e.admin(http.MethodPut, base+"/settings", []byte(`{"holdout_percent":90}`)); r.status != 400 || !strings.Contains(r.raw, "holdout_percent") {
		t.Errorf("bad holdout: %d %s", r.status, r.raw)
	}
	if r := e.admin(http.MethodPut, base+"/status", []byte(`{"status":"paused"}`)); r.status != 200 || r.body["status"] != "paused" {
		t.Errorf("pause: %d %s", r.status, r.raw)
	}
	// Outbox and stats answer, empty, for a shop with no messages yet.
	if r := e.admin(http.MethodGet, base+"/outbox", nil); r.status != 200 || !strings.Contains(r.raw, "NOT sent") {
		t.Errorf("outbox: %d %s", r.status, r.raw)
	}
	if r := e.admin(http.MethodGet, base+"/stats?from=2026-01-01&to=2026-02-01", nil); r.status != 200 || r.body["captured"] != 0.0 {
		t.Errorf("stats: %d %s", r.status, r.raw)
	}
	if r := e.admin(http.MethodGet, base+"/stats?from=yesterday", nil); r.status != 400 || !strings.Contains(r.raw, "from") {
		t.Errorf("bad stats period: %d %s", r.status, r.raw)
	}
}

// getIn is get with the browser's Accept-Language.
func (e *env) getIn(method, path, acceptLanguage string) (int, http.Header, string) {
	e.t.Helper()
	return e.fetch(method, path, "Accept-Language", acceptLanguage)
}

// TestLinkPagesSpeakTheShoppersLanguage checks that the pages behind a
// reminder's links are written in the browser's language, among those the
// reminders are written in, and in English otherwise.
func TestLinkPagesSpeakTheShoppersLanguage(t *testing.T) {
	e := newEnv(t)
	id := cartID(t, e.shopifyWebhook("checkouts/create", "l1", mustJSON(t, fixture(t, "shopify_checkout.json")), shopifySecret))
	expired := "/r/" + testSigner.Sign(recovery.LinkToken{Purpose: recovery.PurposeRestore, ShopID: e.shopify.ID, CartID: id, Expires: time.Now().Add(-time.Minute)})
	unsubscribe := "/u/" + testSigner.Sign(recovery.LinkToken{Purpose: recovery.PurposeUnsubscribe, ShopID: e.shopify.ID, CartID: id, Expires: time.Now().Add(time.Hour)})
	notFound := "/r/not-a-token"

	tests := []struct {
		acceptLanguage, lang string
		// A phrase of the expired page, the not-found page and the
		// unsubscribe confirmation.
		expired, notFound, unsubscribe string
	}{
		{"", "en", "This link has expired", "Link not found", "Stop cart reminder emails from"},
		{"fr-FR, es;q=0.8", "en", "This link has expired", "Link not found", "Stop cart reminder emails from"},
		{"nb-NO,nb;q=0.9,en;q=0.8", "nb", "Lenken er utløpt", "Fant ikke lenken", "Vil du slutte å få påminnelser"},
		{"nn", "nb", "Lenken er utløpt", "Fant ikke lenken", "Vil du slutte å få påminnelser"},
		{"sv-FI", "sv", "Länken har gått ut", "Länken hittades inte", "Vill du sluta få påminnelser"},
		{"da-DK", "da", "Linket er udløbet", "Linket blev ikke fundet", "Vil du ikke længere have påmindelser"},
		{"fi", "fi", "Linkki on vanhentunut", "Linkkiä ei löytynyt", "Haluatko, ettei demo.myshopify.com lähetä"},
		{"fr-CH, de-CH;q=0.9, en;q=0.5", "de", "Dieser Link ist abgelaufen", "Link nicht gefunden", "Keine Warenkorb-Erinnerungen"},
		{"en-US,en;q=0.9,nb;q=0.5", "en", "This link has expired", "Link not found", "Stop cart reminder emails from"},
	}
	for _, tt := range tests {
		for _, p := range []struct{ path, want string }{{expired, tt.expired}, {notFound, tt.notFound}, {unsubscribe, tt.unsubscribe}} {
			_, h, body := e.getIn(http.MethodGet, p.path, tt.acceptLanguage)
			if !strings.Contains(body, `<html lang="`+tt.lang+`">`) || h.Get("Content-Language") != tt.lang {
				t.Errorf("%q %s: lang %q, want %q:\n%s", tt.acceptLanguage, p.path[:3], h.Get("Content-Language"), tt.lang, body)
			}
			if !strings.Contains(body, p.want) {
				t.Errorf("%q %s: page lacks %q:\n%s", tt.acceptLanguage, p.path[:3], p.want, body)
			}
			if !strings.Contains(h.Get("Vary"), "Accept-Language") {
				t.Errorf("%q %s: Vary %q", tt.acceptLanguage, p.path[:3], h.Get("Vary"))
			}
		}
	}

	// Every language of the reminders has its own words for every page.
	english := map[string]string{}
	for _, lang := range templates.Languages {
		for _, path := range []string{expired, notFound, unsubscribe} {
			_, _, body := e.getIn(http.MethodGet, path, lang)
			if !strings.Contains(body, `<html lang="`+lang+`">`) {
				t.Errorf("%s %s: not served in %s:\n%s", lang, path[:3], lang, body)
			}
			if lang == "en" {
				english[path] = body
			} else if body == english[path] {
				t.Errorf("%s %s: the English page", lang, path[:3])
			}
		}
	}

	// The confirmation after unsubscribing, too.
	status, _, body := e.getIn(http.MethodPost, unsubscribe, "de-AT")
	if status != 200 || !strings.Contains(body, `lang="de"`) || !strings.Contains(body, "Du bist abgemeldet") {
		t.Errorf("unsubscribed, in German: %d\n%s", status, body)
	}
}

// TestExpiredLinkNamesTheShop checks that the way back from an expired
// link names the shop: by its name, or by its domain when it has none (as
// the unsubscribe page does), never "the shop".
func TestExpiredLinkNamesTheShop(t *testing.T) {
	e := newEnv(t)
	id := cartID(t, e.shopifyWebhook("checkouts/create", "n1", mustJSON(t, fixture(t, "shopify_checkout.json")), shopifySecret))
	expired := "/r/" + testSigner.Sign(recovery.LinkToken{Purpose: recovery.PurposeRestore, ShopID: e.shopify.ID, CartID: id, Expires: time.Now().Add(-time.Minute)})

	if _, _, body := e.getIn(http.MethodGet, expired, ""); !strings.Contains(body, ">Continue to "+shopifyDomain+"</a>") {
		t.Errorf("a shop without a name:\n%s", body)
	}
	if _, _, body := e.getIn(http.MethodGet, expired, "sv"); !strings.Contains(body, ">Fortsätt till "+shopifyDomain+"</a>") {
		t.Errorf("a shop without a name, in Swedish:\n%s", body)
	}
	if err := e.db.Update(t.Context(), func(tx recovery.Tx) error {
		shop, err := tx.Shop(e.shopify.ID)
		if err != nil {
			return err
		}
		shop.Name = "Demo & Co"
		return tx.PutShop(shop)
	}); err != nil {
		t.Fatal(err)
	}
	if _, _, body := e.getIn(http.MethodGet, expired, ""); !strings.Contains(body, ">Continue to Demo &amp; Co</a>") {
		t.Errorf("a shop with a name:\n%s", body)
	}
}
