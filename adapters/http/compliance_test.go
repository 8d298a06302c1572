package http_test

import (
	"bytes"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cartback/cartback/recovery"
)

func (e *env) fileContains(s string) bool {
	e.t.Helper()
	b, err := os.ReadFile(e.db.Path())
	if err != nil {
		e.t.Fatal(err)
	}
	return bytes.Contains(b, []byte(s))
}

func TestComplianceWebhooks(t *testing.T) {
	e := newEnv(t)
	co := fixture(t, "shopify_checkout.json")
	id := cartID(t, e.shopifyWebhook("checkouts/create", "c1", mustJSON(t, co), shopifySecret))
	// A second, unrelated shopper stays.
	other := fixture(t, "shopify_checkout.json")
	other["token"], other["cart_token"], other["email"] = "other-token", "other-cart", "someone@example.org"
	other["phone"], other["customer"], other["billing_address"], other["shipping_address"] = nil, nil, nil, nil
	otherID := cartID(t, e.shopifyWebhook("checkouts/create", "c2", mustJSON(t, other), shopifySecret))
	token := testSigner.Sign(recovery.LinkToken{Purpose: recovery.PurposeRestore, ShopID: e.shopify.ID, CartID: id, Expires: time.Now().Add(time.Hour)})
	e.get("/r/"+token, "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Mobile/15E148")

	// A bad signature is 401, as the app review requires.
	body := []byte(`{"shop_id":1,"shop_domain":"demo.myshopify.com","customer":{"id":207119551,"email":"bob.norman@mail.example.com","phone":"+16136120707"},"data_request":{"id":9999}}`)
	if r := e.shopifyWebhook("customers/data_request", "d0", body, "wrong-secret-0123456789"); r.status != http.StatusUnauthorized {
		t.Errorf("bad HMAC: %d", r.status)
	}
	if r := e.shopifyWebhook("customers/data_request", "d1", body, shopifySecret); r.status != 200 {
		t.Fatalf("data request: %d %s", r.status, r.raw)
	}
	r := e.admin(http.MethodGet, "/admin/api/shops/"+shopifyDomain+"/data-requests", nil)
	if r.status != 200 || !strings.Contains(r.raw, `"request_id":"9999"`) || !strings.Contains(r.raw, "IPod Nano") || !strings.Contains(r.raw, `"clicks":[{`) {
		t.Errorf("export: %d %s", r.status, r.raw)
	}

	redact := []byte(`{"shop_id":1,"shop_domain":"demo.myshopify.com","customer":{"id":207119551,"email":"bob.norman@mail.example.com","phone":"+16136120707"},"orders_to_redact":[]}`)
	if r := e.shopifyWebhook("customers/redact", "r1", redact, "wrong-secret-0123456789"); r.status != http.StatusUnauthorized {
		t.Errorf("bad HMAC: %d", r.status)
	}
	if r := e.shopifyWebhook("customers/redact", "r2", redact, shopifySecret); r.status != 200 {
		t.Fatalf("redact: %d %s", r.status, r.raw)
	}
	// A customer with neither email nor phone: cartback holds nothing of
	// them, and says so with a 200, or Shopify would keep asking.
	nobody := []byte(`{"shop_id":1,"shop_domain":"demo.myshopify.com","customer":{"id":207119552},"orders_to_redact":[]}`)
	for _, topic := range []string{"customers/redact", "customers/data_request"} {
		if r := e.shopifyWebhook(topic, "n-"+topic, nobody, shopifySecret); r.status != 200 || r.body["outcome"] != "ignored" {
			t.Errorf("%s for a customer with no email or phone: %d %s", topic, r.status, r.raw)
		}
	}
	if _, err := e.svc.Cart(t.Context(), e.shopify.ID, id); recovery.ErrorCode(err) != recovery.ENOTFOUND {
		t.Errorf("redacted cart still there: %v", err)
	}
	if _, err := e.svc.Cart(t.Context(), e.shopify.ID, otherID); err != nil {
		t.Errorf("other shopper's cart erased: %v", err)
	}
	if r := e.admin(http.MethodGet, "/admin/api/shops/"+shopifyDomain+"/data-requests", nil); strings.Contains(r.raw, "9999") {
		t.Errorf("export of a redacted customer kept: %s", r.raw)
	}
	if err := e.db.Compact(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"bob.norman@mail.example.com", "+16136120707", "Chestnut"} {
		if e.fileContains(s) {
			t.Errorf("database file still holds %q", s)
		}
	}
	if !e.fileContains("someone@example.org") {
		t.Errorf("the other shopper's data is gone from the file")
	}
	// The figures survive, anonymously.
	st, _ := e.svc.Stats(t.Context(), e.shopify.ID, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if st.Captured != 2 || st.Clicked != 1 {
		t.Errorf("figures after redact: captured %d clicked %d", st.Captured, st.Clicked)
	}

	// shop/redact erases the shop but keeps a tombstone that still verifies.
	if r := e.shopifyWebhook("shop/redact", "s1", []byte(`{"shop_id":1,"shop_domain":"demo.myshopify.com"}`), shopifySecret); r.status != 200 {
		t.Fatalf("shop redact: %d %s", r.status, r.raw)
	}
	if carts := e.carts(e.shopify); len(carts) != 0 {
		t.Errorf("%d carts after shop redact", len(carts))
	}
	if r := e.shopifyWebhook("shop/redact", "s2", []byte(`{"shop_id":1,"shop_domain":"demo.myshopify.com"}`), shopifySecret); r.status != 200 {
		t.Errorf("redelivered shop redact: %d", r.status)
	}
	if err := e.db.Compact(t.Context()); err != nil {
		t.Fatal(err)
	}
	if e.fileContains("someone@example.org") {
		t.Errorf("database file still holds the shop's customers")
	}
}
