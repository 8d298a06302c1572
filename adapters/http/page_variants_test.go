package http_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	cbhttp "github.com/cartback/cartback/adapters/http"
	"github.com/cartback/cartback/recovery"
)

// withServer serves e's database through a new server that configure
// adjusts, in place of the one newEnv started.
func (e *env) withServer(configure func(s *cbhttp.Server)) {
	s := cbhttp.NewServer(prometheus.NewRegistry())
	s.Service, s.AdminToken, s.ShopifyAppSecrets = e.svc, adminToken, []string{appSecret}
	s.Signer = testSigner
	s.DecodeShopify, s.DecodeWooCommerce = decodeShopify, decodeWooCommerce
	configure(s)
	old := e.srv
	e.srv = httptest.NewServer(s.Handler())
	old.Close()
}

func TestAdminTemplateVariants(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn()
	ctx := context.Background()
	store := cbhttp.TemplateStore{Store: e.db}
	base := "/admin/shops/" + wooDomain + "/templates"
	choice := url.Values{"kind": {"reminder"}, "channel": {"email"}, "locale": {"en"}}
	with := func(extra url.Values) url.Values {
		out := url.Values{}
		for k, v := range choice {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return b.withCSRF(out)
	}

	p := b.get(base)
	if p.status != http.StatusOK || !strings.Contains(p.body, `<select id="variant" name="variant">`) || !strings.Contains(p.body, "<option selected>A</option>") ||
		!strings.Contains(p.body, "only sent once the step has variants with weights") {
		t.Fatalf("editor lacks the variant selector or its hint: %d %s", p.status, p.body)
	}

	// Variant A is the plain template, stored where it always was.
	if p := b.post(base, with(url.Values{"action": {"save"}, "variant": {"A"}, "subject": {"PLAIN-A"}})); p.status != http.StatusSeeOther {
		t.Fatalf("save A: %d %s", p.status, p.body)
	}
	// B is saved on its own and leaves A alone.
	p = b.post(base, with(url.Values{"action": {"save"}, "variant": {"B"}, "subject": {"VARIANT-B {{.ShopName}}"}}))
	if p.status != http.StatusSeeOther || !strings.Contains(p.header.Get("Location"), "variant=B") {
		t.Fatalf("save B: %d %q %s", p.status, p.header.Get("Location"), p.body)
	}
	if c, err := store.Template(ctx, e.woo.ID, "reminder", "email", "en", ""); err != nil || c == nil || c.Subject != "PLAIN-A" {
		t.Errorf("plain template: %+v %v", c, err)
	}
	if c, err := store.Template(ctx, e.woo.ID, "reminder", "email", "en", "B"); err != nil || c == nil || c.Subject != "VARIANT-B {{.ShopName}}" {
		t.Errorf("variant B: %+v %v", c, err)
	}
	if p := b.get(base + "?kind=reminder&channel=email&locale=en&variant=B"); !strings.Contains(p.body, `value="VARIANT-B {{.ShopName}}"`) ||
		!strings.Contains(p.body, "<option selected>B</option>") || !strings.Contains(p.body, `name="variant" value="B"`) {
		t.Errorf("editor of B: %s", p.body)
	}
	if p := b.get(base + "?kind=reminder&channel=email&locale=en&variant=A"); !strings.Contains(p.body, `value="PLAIN-A"`) || strings.Contains(p.body, "VARIANT-B") {
		t.Errorf("editor of A: %s", p.body)
	}
	// A variant without a template of its own sends A's, and the editor
	// says so and previews it, live as well; where A has none either, C
	// sends the default.
	if p := b.get(base + "?variant=C"); !strings.Contains(p.body, "Sends variant A's template") || !strings.Contains(p.body, `id="preview-subject">PLAIN-A<`) ||
		strings.Contains(p.body, `value="PLAIN-A"`) {
		t.Errorf("C has no template yet: %s", p.body)
	}
	live := b.post(base+"/preview", with(url.Values{"variant": {"C"}}))
	var preview map[string]any
	if json.Unmarshal([]byte(live.body), &preview); preview["subject"] != "PLAIN-A" {
		t.Errorf("live preview of C: %d %s", live.status, live.body)
	}
	if p := b.get(base + "?kind=reminder&channel=sms&locale=en&variant=C"); !strings.Contains(p.body, "Default template") || strings.Contains(p.body, "Sends variant A's") {
		t.Errorf("C of a text message A has no template for: %s", p.body)
	}

	// Resetting B brings back the default for B only.
	if p := b.post(base, with(url.Values{"action": {"reset-confirmed"}, "variant": {"B"}})); p.status != http.StatusSeeOther {
		t.Errorf("reset B: %d", p.status)
	}
	if c, _ := store.Template(ctx, e.woo.ID, "reminder", "email", "en", "B"); c != nil {
		t.Errorf("B after reset: %+v", c)
	}
	if c, _ := store.Template(ctx, e.woo.ID, "reminder", "email", "en", "A"); c == nil || c.Subject != "PLAIN-A" {
		t.Errorf("A after resetting B: %+v", c)
	}
	if p := b.get(base + "?variant=E"); p.status != http.StatusBadRequest {
		t.Errorf("variant E: %d", p.status)
	}
}

func TestAdminSettingsVariants(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn()
	ctx := context.Background()
	shop := "/admin/shops/" + wooDomain
	settings := url.Values{
		"step0_after": {"1h"}, "step0_channel": {"email"}, "step0_template": {"reminder"}, "step0_variants": {"A:70, B:30"},
		"step1_after": {"24h"}, "step1_channel": {"email"}, "step1_template": {"follow-up"},
	}
	if p := b.post(shop+"/settings", b.withCSRF(settings)); p.status != http.StatusSeeOther {
		t.Fatalf("settings: %d %s", p.status, p.body)
	}
	sh, _ := e.svc.ShopByDomain(ctx, wooDomain)
	seq := sh.Settings.SequenceOrDefault()
	if len(seq.Steps) != 2 || !slices.Equal(seq.Steps[0].Variants, []recovery.Variant{{Name: "A", Weight: 70}, {Name: "B", Weight: 30}}) || seq.Steps[1].Variants != nil {
		t.Fatalf("steps stored: %+v", seq.Steps)
	}
	if p := b.get(shop); !strings.Contains(p.body, `name="step0_variants" type="text" size="14" aria-label="Step 1 variants" placeholder="(no test)" value="A:70, B:30"`) {
		t.Errorf("settings page does not show the variants: %s", p.body)
	}

	for typed, want := range map[string]string{
		"A:0":           "step 1 variants: the weight of A must be between 1 and 100",
		"A:50, E:50":    "step 1 variants: variant &#34;E&#34; must be A, B, C or D",
		"A:50, A:50":    "step 1 variants: variant A appears twice",
		"A50":           "step 1 variants: &#34;A50&#34; is not a variant and weight such as A:50",
		"A:1,B:1,C:1,D": "is not a variant and weight",
	} {
		settings.Set("step0_variants", typed)
		p := b.post(shop+"/settings", b.withCSRF(settings))
		if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, want) || !strings.Contains(p.body, `value="`+typed+`"`) {
			t.Errorf("%q: %d, want %q in %s", typed, p.status, want, p.body)
		}
	}
	if sh, _ := e.svc.ShopByDomain(ctx, wooDomain); !slices.Equal(sh.Settings.SequenceOrDefault().Steps[0].Variants, seq.Steps[0].Variants) {
		t.Errorf("a rejected form changed the variants: %+v", sh.Settings.SequenceOrDefault().Steps[0])
	}
}

func TestAdminDashboardVariants(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn()
	ctx := context.Background()
	now := time.Now()

	// Step 1 tests A against B: 20 carts each, A recovers 1, B 10. Step 2
	// sends one wording only.
	err := e.db.Update(ctx, func(tx recovery.Tx) error {
		for i := range 40 {
			variant := "A"
			if i%2 == 1 {
				variant = "B"
			}
			c := &recovery.Cart{
				ShopID: e.woo.ID, Platform: recovery.PlatformWooCommerce, Keys: recovery.CartKeys{CartKey: fmt.Sprintf("variants-%d", i)},
				Currency: "EUR", State: recovery.CartAbandoned, LastActivityAt: now.Add(-2 * time.Hour),
				CapturedAt: now.Add(-2 * time.Hour), UpdatedAt: now, AbandonedAt: now.Add(-time.Hour),
				Steps: []recovery.StepRun{
					{Index: 0, Channel: recovery.ChannelEmail, Template: "reminder", Variant: variant, State: recovery.StepSent, FinishedAt: now},
					{Index: 1, Channel: recovery.ChannelEmail, Template: "follow-up", Variant: "A", State: recovery.StepSent, FinishedAt: now},
				},
			}
			if variant == "A" && i == 0 || variant == "B" && i < 20 {
				c.State = recovery.CartConverted
				c.Conversion = &recovery.Conversion{Total: 5000, Currency: "EUR", At: now, Attribution: recovery.AttributionReminder, AttributedStep: 0}
			}
			if err := tx.PutCart(c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	p := b.get("/admin/shops/" + wooDomain + "/dashboard?days=7")
	if p.status != http.StatusOK {
		t.Fatalf("dashboard: %d %s", p.status, p.body)
	}
	_, table, ok := strings.Cut(p.body, `<table id="variants">`)
	table, _, _ = strings.Cut(table, "</table>")
	if !ok {
		t.Fatalf("no variant table: %s", p.body)
	}
	for _, want := range []string{
		`<tr><td>1</td><td>email</td><td>A</td><td class="num">20</td><td class="num">0</td><td class="num">0.0%</td><td class="num">1</td><td class="num">5.0%</td><td class="num">50.00 EUR</td><td>baseline</td></tr>`,
		`<tr><td>1</td><td>email</td><td>B</td><td class="num">20</td><td class="num">0</td><td class="num">0.0%</td><td class="num">10</td><td class="num">50.0%</td><td class="num">500.00 EUR</td><td>p = 0.0014 (significant)</td></tr>`,
	} {
		if !strings.Contains(table, want) {
			t.Errorf("variant table lacks %s:\n%s", want, table)
		}
	}
	if strings.Contains(table, "<td>2</td>") {
		t.Errorf("a step without a test is in the variant table:\n%s", table)
	}

	// Without tests there is no variant table.
	if p := b.get("/admin/shops/" + shopifyDomain + "/dashboard?days=7"); p.status != http.StatusOK || strings.Contains(p.body, `id="variants"`) {
		t.Errorf("dashboard without tests: %d", p.status)
	}
}

func TestAdminSendTest(t *testing.T) {
	e := newEnv(t)
	type call struct{ shop, kind, channel, locale, variant, to string }
	var calls []call
	var fail error
	e.withServer(func(s *cbhttp.Server) {
		s.SendTest = func(_ context.Context, shop *recovery.Shop, kind, channel, locale, variant, to string) error {
			calls = append(calls, call{shop.Domain, kind, channel, locale, variant, to})
			return fail
		}
	})
	b := e.browser()
	b.signIn()
	path := "/admin/shops/" + wooDomain + "/templates/test"
	if p := b.get("/admin/shops/" + wooDomain + "/templates?channel=sms"); !strings.Contains(p.body, `action="`+path+`"`) || !strings.Contains(p.body, `type="tel"`) {
		t.Fatalf("editor lacks the test form: %s", p.body)
	}

	form := url.Values{"kind": {"incentive"}, "channel": {"sms"}, "locale": {"de"}, "variant": {"B"}, "to": {"+4791234567"}}
	if p := b.post(path, form); p.status != http.StatusForbidden || len(calls) != 0 {
		t.Fatalf("without a CSRF token: %d, %d calls", p.status, len(calls))
	}
	p := b.post(path, b.withCSRF(form))
	if p.status != http.StatusOK || !strings.Contains(p.body, "Test sent to &#43;4791234567.") {
		t.Errorf("send: %d %s", p.status, p.body)
	}
	if want := (call{wooDomain, "incentive", "sms", "de", "B", "+4791234567"}); len(calls) != 1 || calls[0] != want {
		t.Errorf("calls: %+v, want %+v", calls, want)
	}

	// The address must suit the channel.
	for _, f := range []url.Values{
		{"channel": {"email"}, "to": {"not an address"}},
		{"channel": {"email"}, "to": {"+4791234567"}},
		{"channel": {"sms"}, "to": {"kari@example.com"}},
		{"channel": {"email"}, "to": {""}},
	} {
		if p := b.post(path, b.withCSRF(f)); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "Not sent: to:") {
			t.Errorf("%v: %d %s", f, p.status, p.body)
		}
	}
	if len(calls) != 1 {
		t.Errorf("bad addresses were sent to: %+v", calls[1:])
	}

	// A failed send says why; the default variant is A.
	fail = errors.New("no provider is configured for email: the channel is in outbox mode")
	p = b.post(path, b.withCSRF(url.Values{"to": {"kari@example.com"}}))
	if p.status != http.StatusBadGateway || !strings.Contains(p.body, "The test was not sent: no provider is configured for email") {
		t.Errorf("failed send: %d %s", p.status, p.body)
	}
	if want := (call{wooDomain, "reminder", "email", "en", "A", "kari@example.com"}); len(calls) != 2 || calls[1] != want {
		t.Errorf("calls: %+v, want %+v", calls, want)
	}

	// A merchant's own sign-in sends a bounded number a day (the operator's
	// is not bounded): tests go through the operator's provider to any
	// address typed.
	fail = nil
	m := e.browser()
	if p := m.shopSignIn(shopifyDomain); p.status != http.StatusOK || !strings.Contains(p.body, "/dashboard\"") {
		t.Fatalf("shop sign-in: %d", p.status)
	}
	m.get("/admin/shops/" + shopifyDomain + "/templates")
	merchantPath := "/admin/shops/" + shopifyDomain + "/templates/test"
	before := len(calls)
	for i := range cbhttp.MerchantTestsPerDay + 2 {
		p := m.post(merchantPath, m.withCSRF(url.Values{"to": {fmt.Sprintf("owner%d@example.com", i)}}))
		if want := i < cbhttp.MerchantTestsPerDay; (p.status == http.StatusOK) != want {
			t.Errorf("merchant test %d: %d, want sent %v", i+1, p.status, want)
		}
	}
	if n := len(calls) - before; n != cbhttp.MerchantTestsPerDay {
		t.Errorf("%d merchant tests sent, want %d", n, cbhttp.MerchantTestsPerDay)
	}
	if p := b.post(path, b.withCSRF(url.Values{"to": {"kari@example.com"}})); p.status != http.StatusOK {
		t.Errorf("operator test after the merchant's limit: %d", p.status)
	}
}

func TestAdminSendTestNeedsProvider(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn()
	if p := b.get("/admin/shops/" + wooDomain + "/templates"); !strings.Contains(p.body, "Sending tests needs a configured provider.") {
		t.Errorf("editor does not say tests cannot be sent: %s", p.body)
	}
	p := b.post("/admin/shops/"+wooDomain+"/templates/test", b.withCSRF(url.Values{"to": {"kari@example.com"}}))
	if p.status != http.StatusServiceUnavailable || !strings.Contains(p.body, "Not sent: sending tests needs a configured provider.") {
		t.Errorf("send without SendTest: %d %s", p.status, p.body)
	}
}
