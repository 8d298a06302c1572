package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	cbhttp "github.com/cartback/cartback/adapters/http"
	"github.com/cartback/cartback/internal/signature"
	"github.com/cartback/cartback/recovery"
	"github.com/cartback/cartback/store"
	tmpl "github.com/cartback/cartback/templates"
)

const (
	adminToken    = "test-admin-token-0123456789"
	shopifySecret = "shopify-shop-secret-0123"
	appSecret     = "shopify-app-secret-0123456"
	wooSecret     = "woo-shop-secret-0123456789"
	shopifyDomain = "demo.myshopify.com"
	wooDomain     = "woo.example.com"
)

var testSigner, _ = recovery.NewSigner([]byte("http-test-signing-key-0123456789abcdef"))

// env is a running HTTP server over a real database in a temp directory.
type env struct {
	t       *testing.T
	db      *store.DB
	svc     *recovery.Service
	srv     *httptest.Server
	server  *cbhttp.Server
	shopify *recovery.Shop
	woo     *recovery.Shop
	// triggeredAt is the X-Shopify-Triggered-At of every Shopify event the
	// test sends: like Shopify's, the same on each redelivery.
	triggeredAt time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "cartback.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc := recovery.NewService(db)
	s := cbhttp.NewServer(prometheus.NewRegistry())
	s.Service, s.AdminToken, s.ShopifyAppSecrets = svc, adminToken, []string{appSecret}
	s.Backup = db.WriteBackup
	s.Signer = testSigner
	s.DecodeShopify, s.DecodeWooCommerce = decodeShopify, decodeWooCommerce
	e := &env{t: t, db: db, svc: svc, srv: httptest.NewServer(s.Handler()), server: s, triggeredAt: time.Now().UTC().Add(-time.Minute).Truncate(time.Microsecond)}
	t.Cleanup(func() {
		e.srv.Close()
		if err := db.CheckIndexes(); err != nil {
			t.Errorf("CheckIndexes: %v", err)
		}
		db.Close()
	})
	ctx := context.Background()
	if e.shopify, err = svc.CreateShop(ctx, &recovery.Shop{Platform: recovery.PlatformShopify, Domain: shopifyDomain, WebhookSecret: shopifySecret, Settings: recovery.ShopSettings{Country: "US"}}); err != nil {
		t.Fatal(err)
	}
	if e.woo, err = svc.CreateShop(ctx, &recovery.Shop{Platform: recovery.PlatformWooCommerce, Domain: wooDomain, WebhookSecret: wooSecret}); err != nil {
		t.Fatal(err)
	}
	return e
}

func fixture(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type response struct {
	status int
	body   map[string]any
	raw    string
}

func (e *env) do(req *http.Request) response {
	e.t.Helper()
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

// shopifyWebhook posts body as a Shopify webhook signed with secret.
func (e *env) shopifyWebhook(topic, eventID string, body []byte, secret string) response {
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/webhooks/shopify", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Shopify-Topic", topic)
	req.Header.Set("X-Shopify-Shop-Domain", shopifyDomain)
	req.Header.Set("X-Shopify-Event-Id", eventID)
	req.Header.Set("X-Shopify-Webhook-Id", "delivery-"+eventID)
	req.Header.Set("X-Shopify-Triggered-At", e.triggeredAt.Format(time.RFC3339Nano))
	if secret != "" {
		req.Header.Set("X-Shopify-Hmac-Sha256", signature.Sign(body, secret))
	}
	return e.do(req)
}

// wooWebhook posts body as a WooCommerce webhook signed with secret.
func (e *env) wooWebhook(topic, deliveryID string, body []byte, secret string) response {
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/webhooks/woocommerce", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-WC-Webhook-Topic", topic)
	req.Header.Set("X-WC-Webhook-Source", "https://"+wooDomain+"/")
	req.Header.Set("X-WC-Webhook-ID", "12")
	req.Header.Set("X-WC-Webhook-Delivery-ID", deliveryID)
	if secret != "" {
		req.Header.Set("X-WC-Webhook-Signature", signature.Sign(body, secret))
	}
	return e.do(req)
}

func (e *env) admin(method, path string, body []byte) response {
	req, _ := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	return e.do(req)
}

func (e *env) carts(shop *recovery.Shop) []*recovery.Cart {
	e.t.Helper()
	carts, err := e.svc.Carts(context.Background(), shop.ID, 0, 100)
	if err != nil {
		e.t.Fatal(err)
	}
	return carts
}

func (e *env) cart(shop *recovery.Shop, id uint64) *recovery.Cart {
	e.t.Helper()
	c, err := e.svc.Cart(context.Background(), shop.ID, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// stored returns the cart as stored, without the view's settling.
func (e *env) stored(id uint64) *recovery.Cart {
	e.t.Helper()
	var c *recovery.Cart
	if err := e.db.View(context.Background(), func(tx recovery.Tx) (err error) { c, err = tx.Cart(id); return err }); err != nil {
		e.t.Fatal(err)
	}
	return c
}

// assertNothingStored checks that the shop has no carts and that no
// de-duplication record was written for the event key.
func (e *env) assertNothingStored(shop *recovery.Shop, dedupKey string) {
	e.t.Helper()
	if n := len(e.carts(shop)); n != 0 {
		e.t.Errorf("%d carts stored, want none", n)
	}
	var seen bool
	err := e.db.View(context.Background(), func(tx recovery.Tx) error {
		for _, at := range []time.Time{{}, e.triggeredAt} {
			s, err := tx.EventSeen(shop.ID, dedupKey, at, time.Now())
			if err != nil {
				return err
			}
			seen = seen || s
		}
		return nil
	})
	if err != nil {
		e.t.Fatalf("reading de-duplication records: %v", err)
	}
	if seen {
		e.t.Errorf("event %q recorded, want nothing", dedupKey)
	}
}

func cartID(t *testing.T, r response) uint64 {
	t.Helper()
	ids, _ := r.body["cart_ids"].([]any)
	if len(ids) != 1 {
		t.Fatalf("response %d %s: want one cart id", r.status, r.raw)
	}
	return uint64(ids[0].(float64))
}

func TestShopifyCheckoutLifecycle(t *testing.T) {
	e := newEnv(t)
	checkout := fixture(t, "shopify_checkout.json")
	body := mustJSON(t, checkout)

	r := e.shopifyWebhook("checkouts/create", "ev-1", body, shopifySecret)
	if r.status != http.StatusOK || r.body["outcome"] != "created" {
		t.Fatalf("checkouts/create: %d %s", r.status, r.raw)
	}
	id := cartID(t, r)
	c := e.cart(e.shopify, id)
	if c.Keys.CheckoutToken != "2a1ace52255252df566af0faaedfbfa7" || c.Keys.CartToken != "68778783ad298f1c80c3bafcddeea02f" {
		t.Errorf("keys: %+v", c.Keys)
	}
	if c.Contact.Email != "bob.norman@mail.example.com" || c.Contact.FirstName != "Bob" || c.Contact.LastName != "Norman" {
		t.Errorf("contact: %+v", c.Contact)
	}
	if !strings.HasPrefix(c.Contact.Phone, "+1") {
		t.Errorf("phone not E.164: %+v", c.Contact)
	}
	if c.Currency != "USD" || c.Totals.Total != 37969 || c.Totals.Subtotal != 35820 || c.Totals.Tax != 2149 || c.Totals.Discounts != 3980 {
		t.Errorf("totals: %s %+v", c.Currency, c.Totals)
	}
	if len(c.Items) != 2 || c.Items[0].UnitPrice != 19900 || c.Items[0].Title != "IPod Nano - 8GB" || c.Items[0].VariantTitle != "Red" || c.Items[1].VariantTitle != "Pink" {
		t.Errorf("items: %+v", c.Items)
	}
	if c.RestoreURL != "https://checkout.local/548380009/checkouts/2a1ace52255252df566af0faaedfbfa7/recover" {
		t.Errorf("restore URL: %s", c.RestoreURL)
	}
	if c.Contact.Locale != "en" {
		t.Errorf("locale %q", c.Contact.Locale)
	}
	// Stored as captured; the fixture's checkout was last touched long ago,
	// so seen now it has been abandoned since then, before any reminder
	// was due to write that down.
	if stored := e.stored(id); stored.State != recovery.CartActive {
		t.Errorf("stored cart: %+v", stored)
	}
	if want := c.LastActivityAt.Add(recovery.DefaultAbandonAfter); c.State != recovery.CartAbandoned || !c.AbandonedAt.Equal(want) {
		t.Errorf("seen now: state %s abandoned at %v, want abandoned at %v", c.State, c.AbandonedAt, want)
	}

	// The same event again (a redelivery) changes nothing.
	r = e.shopifyWebhook("checkouts/create", "ev-1", body, shopifySecret)
	if r.status != http.StatusOK || r.body["outcome"] != "duplicate" {
		t.Errorf("redelivery: %d %s", r.status, r.raw)
	}
	if again := e.cart(e.shopify, id); !again.UpdatedAt.Equal(c.UpdatedAt) {
		t.Errorf("redelivery changed the cart")
	}

	// An update with an older updated_at is ignored.
	older := fixture(t, "shopify_checkout.json")
	older["updated_at"] = "2012-10-12T06:05:27-04:00"
	older["email"] = "someone.else@example.com"
	r = e.shopifyWebhook("checkouts/update", "ev-0", mustJSON(t, older), shopifySecret)
	if r.status != http.StatusOK || r.body["outcome"] != "stale" {
		t.Errorf("stale update: %d %s", r.status, r.raw)
	}
	if got := e.cart(e.shopify, id).Contact.Email; got != "bob.norman@mail.example.com" {
		t.Errorf("stale update overwrote email: %s", got)
	}

	// orders/create carrying the checkout's token converts it with the order's total.
	order := fixture(t, "shopify_order.json")
	order["checkout_token"] = checkout["token"]
	r = e.shopifyWebhook("orders/create", "ev-2", mustJSON(t, order), shopifySecret)
	if r.status != http.StatusOK || r.body["outcome"] != "converted" {
		t.Fatalf("orders/create: %d %s", r.status, r.raw)
	}
	c = e.cart(e.shopify, id)
	if c.State != recovery.CartConverted || c.Conversion == nil || c.Conversion.Total != 1000 || c.Conversion.Currency != "USD" || c.Conversion.OrderID != "123456" {
		t.Errorf("conversion: %s %+v", c.State, c.Conversion)
	}
	// orders/paid for the same order keeps the first conversion.
	r = e.shopifyWebhook("orders/paid", "ev-3", mustJSON(t, order), shopifySecret)
	if r.status != http.StatusOK || r.body["outcome"] != "unchanged" {
		t.Errorf("orders/paid: %d %s", r.status, r.raw)
	}
}

func TestShopifyCompletedCheckoutAndDelete(t *testing.T) {
	e := newEnv(t)
	co := fixture(t, "shopify_checkout.json")
	r := e.shopifyWebhook("checkouts/create", "a", mustJSON(t, co), shopifySecret)
	id := cartID(t, r)
	del := map[string]any{"id": co["id"], "token": co["token"]}
	if r := e.shopifyWebhook("checkouts/delete", "b", mustJSON(t, del), shopifySecret); r.body["outcome"] != "deleted" {
		t.Errorf("delete: %s", r.raw)
	}
	if c := e.cart(e.shopify, id); c.State != recovery.CartDeleted {
		t.Errorf("state after delete: %s", c.State)
	}

	co2 := fixture(t, "shopify_checkout.json")
	co2["token"], co2["cart_token"] = "completed-token", "completed-cart"
	co2["completed_at"] = "2012-10-12T07:15:27-04:00"
	r = e.shopifyWebhook("checkouts/update", "c", mustJSON(t, co2), shopifySecret)
	if c := e.cart(e.shopify, cartID(t, r)); c.State != recovery.CartConverted {
		t.Errorf("completed checkout state: %s", c.State)
	}
}

func TestShopifyAppSecretAndUninstall(t *testing.T) {
	e := newEnv(t)
	// A shop installed through the app has no secret of its own.
	if _, err := e.svc.CreateShop(context.Background(), &recovery.Shop{Platform: recovery.PlatformShopify, Domain: "app.myshopify.com"}); err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"id":1,"name":"App shop","domain":"app.myshopify.com"}`)
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/webhooks/shopify", bytes.NewReader(body))
	req.Header.Set("X-Shopify-Topic", "app/uninstalled")
	req.Header.Set("X-Shopify-Shop-Domain", "app.myshopify.com")
	req.Header.Set("X-Shopify-Hmac-Sha256", signature.Sign(body, appSecret))
	if r := e.do(req); r.status != http.StatusOK || r.body["outcome"] != "updated" {
		t.Fatalf("app/uninstalled: %d %s", r.status, r.raw)
	}
	s, _ := e.svc.ShopByDomain(context.Background(), "app.myshopify.com")
	if s.Status != recovery.ShopUninstalled {
		t.Errorf("status %s", s.Status)
	}
	// Other topics are acknowledged and ignored.
	if r := e.shopifyWebhook("products/update", "p", []byte(`{"id":5}`), shopifySecret); r.status != http.StatusOK || r.body["outcome"] != "ignored" {
		t.Errorf("other topic: %d %s", r.status, r.raw)
	}
}

func wooOrder(t *testing.T, status string, modified string) []byte {
	o := fixture(t, "woocommerce_order.json")
	o["status"] = status
	o["date_modified_gmt"] = modified
	return mustJSON(t, o)
}

func TestWooCommerceOrderLifecycle(t *testing.T) {
	e := newEnv(t)
	// The creation ping: unsigned form body, 200, nothing stored.
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/webhooks/woocommerce", strings.NewReader("webhook_id=12"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if r := e.do(req); r.status != http.StatusOK {
		t.Fatalf("ping: %d %s", r.status, r.raw)
	}
	e.assertNothingStored(e.woo, "woocommerce:order.created:12:d1")

	r := e.wooWebhook("order.created", "d1", wooOrder(t, "pending", "2017-03-22T19:28:02"), wooSecret)
	if r.status != http.StatusOK || r.body["outcome"] != "created" {
		t.Fatalf("pending order: %d %s", r.status, r.raw)
	}
	id := cartID(t, r)
	c := e.cart(e.woo, id)
	if c.Keys.OrderID != "727" || c.Contact.Email != "john.doe@example.com" || c.Totals.Total != 2935 || c.Currency != "USD" || len(c.Items) != 2 {
		t.Errorf("woo cart: keys %+v contact %+v totals %+v items %d", c.Keys, c.Contact, c.Totals, len(c.Items))
	}
	if want := "https://woo.example.com/checkout/order-pay/727/?pay_for_order=true&key=wc_order_58d2d042d1d"; c.RestoreURL != want {
		t.Errorf("restore URL %q, want %q", c.RestoreURL, want)
	}
	if c.Contact.Phone != "+15555555555" && c.Contact.PhoneRaw == "" {
		t.Errorf("phone neither normalised nor kept raw: %+v", c.Contact)
	}

	r = e.wooWebhook("order.updated", "d2", wooOrder(t, "processing", "2017-03-22T19:30:08"), wooSecret)
	if r.status != http.StatusOK || r.body["outcome"] != "converted" {
		t.Fatalf("processing order: %d %s", r.status, r.raw)
	}
	c = e.cart(e.woo, id)
	if c.State != recovery.CartConverted || c.Conversion.Total != 2935 || c.Conversion.OrderID != "727" {
		t.Errorf("woo conversion: %s %+v", c.State, c.Conversion)
	}
}

func TestBadInputStoresNothing(t *testing.T) {
	checkout := func(t *testing.T) []byte { return mustJSON(t, fixture(t, "shopify_checkout.json")) }
	huge := append([]byte(`{"token":"x","note":"`), bytes.Repeat([]byte("a"), cbhttp.MaxBodyBytes)...)
	huge = append(huge, `"}`...)
	tests := []struct {
		name       string
		send       func(e *env) response
		shop       func(e *env) *recovery.Shop
		dedupKey   string
		wantStatus int
		wantReason string
	}{
		{"shopify wrong signature", func(e *env) response {
			return e.shopifyWebhook("checkouts/create", "x", checkout(t), "not-the-secret-at-all")
		}, func(e *env) *recovery.Shop { return e.shopify }, "shopify:checkouts/create:event:x", 401, "invalid webhook signature"},
		{"shopify missing signature", func(e *env) response {
			return e.shopifyWebhook("checkouts/create", "x", checkout(t), "")
		}, func(e *env) *recovery.Shop { return e.shopify }, "shopify:checkouts/create:event:x", 401, "invalid webhook signature"},
		{"shopify body altered after signing", func(e *env) response {
			b := checkout(t)
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/webhooks/shopify", bytes.NewReader(append(b, ' ')))
			req.Header.Set("X-Shopify-Topic", "checkouts/create")
			req.Header.Set("X-Shopify-Shop-Domain", shopifyDomain)
			req.Header.Set("X-Shopify-Event-Id", "x")
			req.Header.Set("X-Shopify-Hmac-Sha256", signature.Sign(b, shopifySecret))
			return e.do(req)
		}, func(e *env) *recovery.Shop { return e.shopify }, "shopify:checkouts/create:event:x", 401, "invalid webhook signature"},
		{"shopify unknown shop", func(e *env) response {
			b := checkout(t)
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/webhooks/shopify", bytes.NewReader(b))
			req.Header.Set("X-Shopify-Topic", "checkouts/create")
			req.Header.Set("X-Shopify-Shop-Domain", "stranger.myshopify.com")
			req.Header.Set("X-Shopify-Hmac-Sha256", signature.Sign(b, shopifySecret))
			return e.do(req)
		}, func(e *env) *recovery.Shop { return e.shopify }, "", 401, "invalid webhook signature"},
		{"shopify malformed JSON", func(e *env) response {
			return e.shopifyWebhook("checkouts/create", "x", []byte(`{"token": "abc", "line_items": [`), shopifySecret)
		}, func(e *env) *recovery.Shop { return e.shopify }, "shopify:checkouts/create:event:x", 400, "JSON"},
		{"shopify wrong types", func(e *env) response {
			return e.shopifyWebhook("checkouts/create", "x", []byte(`{"token": "abc", "line_items": "none"}`), shopifySecret)
		}, func(e *env) *recovery.Shop { return e.shopify }, "shopify:checkouts/create:event:x", 400, "line_items"},
		{"shopify checkout without token", func(e *env) response {
			return e.shopifyWebhook("checkouts/create", "x", []byte(`{"id": 1, "email": "a@example.com"}`), shopifySecret)
		}, func(e *env) *recovery.Shop { return e.shopify }, "shopify:checkouts/create:event:x", 400, "token"},
		{"shopify oversized body", func(e *env) response {
			return e.shopifyWebhook("checkouts/create", "x", huge, shopifySecret)
		}, func(e *env) *recovery.Shop { return e.shopify }, "shopify:checkouts/create:event:x", 413, "exceeds"},
		{"woocommerce wrong signature", func(e *env) response {
			return e.wooWebhook("order.created", "x", wooOrder(t, "pending", "2017-03-22T19:28:02"), shopifySecret)
		}, func(e *env) *recovery.Shop { return e.woo }, "woocommerce:order.created:12:x", 401, "invalid webhook signature"},
		{"woocommerce missing signature", func(e *env) response {
			return e.wooWebhook("order.created", "x", wooOrder(t, "pending", "2017-03-22T19:28:02"), "")
		}, func(e *env) *recovery.Shop { return e.woo }, "woocommerce:order.created:12:x", 401, "invalid webhook signature"},
		{"woocommerce form body that is not a ping", func(e *env) response {
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/webhooks/woocommerce", strings.NewReader("status=pending"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return e.do(req)
		}, func(e *env) *recovery.Shop { return e.woo }, "", 401, "invalid webhook signature"},
		{"woocommerce malformed JSON", func(e *env) response {
			return e.wooWebhook("order.created", "x", []byte(`{"id": 727, "status": "pending", `), wooSecret)
		}, func(e *env) *recovery.Shop { return e.woo }, "woocommerce:order.created:12:x", 400, "JSON"},
		{"woocommerce oversized body", func(e *env) response {
			return e.wooWebhook("order.created", "x", huge, wooSecret)
		}, func(e *env) *recovery.Shop { return e.woo }, "woocommerce:order.created:12:x", 413, "exceeds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			r := tt.send(e)
			if r.status != tt.wantStatus {
				t.Errorf("status %d, want %d (%s)", r.status, tt.wantStatus, r.raw)
			}
			if reason, _ := r.body["error"].(string); !strings.Contains(reason, tt.wantReason) {
				t.Errorf("error %q does not say %q", reason, tt.wantReason)
			}
			e.assertNothingStored(tt.shop(e), tt.dedupKey)
		})
	}
}

func TestAdminAPI(t *testing.T) {
	e := newEnv(t)
	// No token, or a wrong one: 401 on every admin route.
	for _, path := range []string{"/admin/api/shops", "/admin/api/shops/" + shopifyDomain, "/admin/api/shops/" + shopifyDomain + "/carts", "/admin/api/backup"} {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
		if r := e.do(req); r.status != http.StatusUnauthorized {
			t.Errorf("GET %s without token: %d", path, r.status)
		}
		req.Header.Set("Authorization", "Bearer wrong-token-0123456789")
		if r := e.do(req); r.status != http.StatusUnauthorized {
			t.Errorf("GET %s with wrong token: %d", path, r.status)
		}
	}

	r := e.admin(http.MethodPost, "/admin/api/shops", []byte(`{"platform":"woocommerce","domain":"https://New.Example.com/"}`))
	if r.status != http.StatusCreated || r.body["domain"] != "new.example.com" || len(r.body["webhook_secret"].(string)) < 32 {
		t.Fatalf("create shop: %d %s", r.status, r.raw)
	}
	if r := e.admin(http.MethodPost, "/admin/api/shops", []byte(`{"platform":"woocommerce","domain":"new.example.com"}`)); r.status != http.StatusConflict {
		t.Errorf("duplicate shop: %d %s", r.status, r.raw)
	}
	for body, field := range map[string]string{
		`{"platform":"magento","domain":"x.example.com"}`:                                     "platform",
		`{"platform":"woocommerce","domain":"x.example.com","settings":{"country":"Norway"}}`: "settings.country",
		`{"platform":"woocommerce","domain":"x.example.com","colour":"red"}`:                  "colour",
		`{"platform":"woocommerce","domain":1}`:                                               "domain",
		`{"platform":`:                                                                        "JSON",
	} {
		r := e.admin(http.MethodPost, "/admin/api/shops", []byte(body))
		if reason, _ := r.body["error"].(string); r.status != http.StatusBadRequest || !strings.Contains(reason, field) {
			t.Errorf("create %s: %d %s; want 400 naming %q", body, r.status, r.raw, field)
		}
	}

	r = e.admin(http.MethodGet, "/admin/api/shops", nil)
	if shops, _ := r.body["shops"].([]any); r.status != 200 || len(shops) != 3 || strings.Contains(r.raw, wooSecret) {
		t.Errorf("list shops: %d %s", r.status, r.raw)
	}
	if r := e.admin(http.MethodGet, "/admin/api/shops/nope.example.com", nil); r.status != http.StatusNotFound {
		t.Errorf("unknown shop: %d", r.status)
	}

	// Carts: newest first, paginated through "next".
	for i := range 5 {
		co := fixture(t, "shopify_checkout.json")
		co["token"], co["cart_token"] = fmt.Sprint("tok", i), fmt.Sprint("cart", i)
		if r := e.shopifyWebhook("checkouts/create", fmt.Sprint("e", i), mustJSON(t, co), shopifySecret); r.status != 200 {
			t.Fatalf("webhook %d: %s", i, r.raw)
		}
	}
	var ids []float64
	next := "/admin/api/shops/" + shopifyDomain + "/carts?limit=2"
	for next != "" {
		r := e.admin(http.MethodGet, next, nil)
		if r.status != 200 {
			t.Fatalf("GET %s: %d %s", next, r.status, r.raw)
		}
		for _, c := range r.body["carts"].([]any) {
			ids = append(ids, c.(map[string]any)["id"].(float64))
		}
		next, _ = r.body["next"].(string)
	}
	if len(ids) != 5 || ids[0] < ids[4] {
		t.Errorf("paged ids %v, want 5 newest first", ids)
	}
	r = e.admin(http.MethodGet, fmt.Sprintf("/admin/api/shops/%s/carts/%d", shopifyDomain, int(ids[0])), nil)
	if r.status != 200 || r.body["currency"] != "USD" {
		t.Errorf("get cart: %d %s", r.status, r.raw)
	}
	// A cart is only visible under its own shop.
	if r := e.admin(http.MethodGet, fmt.Sprintf("/admin/api/shops/%s/carts/%d", wooDomain, int(ids[0])), nil); r.status != http.StatusNotFound {
		t.Errorf("cart under another shop: %d", r.status)
	}
	if r := e.admin(http.MethodGet, "/admin/api/shops/"+shopifyDomain+"/carts?limit=abc", nil); r.status != http.StatusBadRequest {
		t.Errorf("bad limit: %d", r.status)
	}
}

func TestHealthMetricsAndBackup(t *testing.T) {
	e := newEnv(t)
	e.shopifyWebhook("checkouts/create", "m1", mustJSON(t, fixture(t, "shopify_checkout.json")), shopifySecret)
	e.shopifyWebhook("checkouts/create", "m2", []byte(`{}`), "bad-secret-0123456789")

	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/healthz", nil)
	// No scheduler runs here, so the stored checkout (last active in 2012)
	// shows as overdue; health is about the database, not the backlog.
	if r := e.do(req); r.status != 200 || r.body["status"] != "ok" || r.body["reminders_overdue_seconds"] == nil || r.body["reminders_overdue_seconds"].(float64) < 3600*24*365 {
		t.Errorf("healthz: %d %s", r.status, r.raw)
	}
	req, _ = http.NewRequest(http.MethodGet, e.srv.URL+"/metrics", nil)
	r := e.do(req)
	for _, want := range []string{
		`cartback_webhooks_total{outcome="created",platform="shopify",topic="checkouts/create"} 1`,
		`cartback_webhooks_total{outcome="unauthorized",platform="shopify",topic="unverified"} 1`,
		`cartback_webhook_ingest_seconds_count{platform="shopify"} 2`,
	} {
		if !strings.Contains(r.raw, want) {
			t.Errorf("metrics lack %s in\n%s", want, r.raw)
		}
	}

	req, _ = http.NewRequest(http.MethodGet, e.srv.URL+"/admin/api/backup", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	path := filepath.Join(t.TempDir(), "copy.db")
	f, _ := os.Create(path)
	n, _ := io.Copy(f, resp.Body)
	f.Close()
	if resp.ContentLength != n || n == 0 {
		t.Fatalf("backup: %d bytes, Content-Length %d", n, resp.ContentLength)
	}
	cp, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	if err := cp.CheckIndexes(); err != nil {
		t.Error(err)
	}
}

func TestWebhookSecretRotation(t *testing.T) {
	e := newEnv(t)
	now := time.Now()
	path := "/admin/api/shops/" + wooDomain + "/webhook-secret"
	order := func(n int) []byte { return wooOrder(t, "pending", fmt.Sprintf("2017-03-22T19:%02d:00", n)) }
	delivered := func(label, secret string, n int, want int) {
		t.Helper()
		if r := e.wooWebhook("order.updated", fmt.Sprint("rot", n), order(n), secret); r.status != want {
			t.Errorf("%s: webhook %d %s, want %d", label, r.status, r.raw, want)
		}
	}

	// A generated secret, shown once; the old one keeps verifying webhooks
	// and the plugin's requests until the rotation ends.
	r := e.admin(http.MethodPost, path, []byte(`{}`))
	fresh, _ := r.body["webhook_secret"].(string)
	if r.status != http.StatusOK || len(fresh) < 32 || fresh == wooSecret || r.body["accepts_previous_webhook_secret"] != true {
		t.Fatalf("rotate: %d %s", r.status, r.raw)
	}
	delivered("old secret during the rotation", wooSecret, 1, http.StatusOK)
	delivered("new secret", fresh, 2, http.StatusOK)
	delivered("another secret", shopifySecret, 3, http.StatusUnauthorized)
	if r := e.pluginGet("/api/woocommerce/ping", "https://"+wooDomain+"/", wooSecret, now); r.status != http.StatusOK {
		t.Errorf("plugin with the old secret during the rotation: %d %s", r.status, r.raw)
	}
	r = e.admin(http.MethodGet, "/admin/api/shops/"+wooDomain, nil)
	if strings.Contains(r.raw, fresh) || strings.Contains(r.raw, wooSecret) || r.body["accepts_previous_webhook_secret"] != true {
		t.Errorf("shop during the rotation: %s", r.raw)
	}

	// Asked again during the rotation (a form sent twice, a secret lost):
	// the store's secret still verifies, the unused new one is replaced.
	r = e.admin(http.MethodPost, path, []byte(`{}`))
	again, _ := r.body["webhook_secret"].(string)
	if r.status != http.StatusOK || again == "" || again == fresh {
		t.Fatalf("rotate during the rotation: %d %s", r.status, r.raw)
	}
	delivered("old secret after a second rotation", wooSecret, 11, http.StatusOK)
	delivered("replaced new secret", fresh, 12, http.StatusUnauthorized)
	fresh = again
	delivered("newest secret", fresh, 13, http.StatusOK)

	r = e.admin(http.MethodDelete, path+"/previous", nil)
	if r.status != http.StatusOK || r.body["accepts_previous_webhook_secret"] != false || strings.Contains(r.raw, fresh) {
		t.Fatalf("end rotation: %d %s", r.status, r.raw)
	}
	delivered("old secret after the rotation", wooSecret, 4, http.StatusUnauthorized)
	delivered("new secret after the rotation", fresh, 5, http.StatusOK)
	if r := e.pluginGet("/api/woocommerce/ping", "https://"+wooDomain+"/", wooSecret, now); r.status != http.StatusUnauthorized {
		t.Errorf("plugin with the old secret after the rotation: %d %s", r.status, r.raw)
	}

	// A leaked secret: replaced by a chosen one, and refused at once.
	chosen := "chosen-secret-0123456789"
	r = e.admin(http.MethodPost, path, mustJSON(t, map[string]any{"webhook_secret": chosen, "keep_previous": false}))
	if r.status != http.StatusOK || r.body["webhook_secret"] != chosen || r.body["accepts_previous_webhook_secret"] != false {
		t.Fatalf("rotate without keeping: %d %s", r.status, r.raw)
	}
	delivered("leaked secret", fresh, 6, http.StatusUnauthorized)
	delivered("chosen secret", chosen, 7, http.StatusOK)

	// Refusals change nothing.
	for _, tc := range []struct {
		path, body string
		status     int
		reason     string
	}{
		{path, `{"webhook_secret":"short"}`, http.StatusBadRequest, "webhook_secret"},
		{path, `{"webhook_secret":"` + chosen + `"}`, http.StatusBadRequest, "same as the current"},
		{path, `{"keep":true}`, http.StatusBadRequest, "keep"},
		{path, ``, http.StatusBadRequest, "empty body"},
		{"/admin/api/shops/nope.example.com/webhook-secret", `{}`, http.StatusNotFound, ""},
	} {
		r := e.admin(http.MethodPost, tc.path, []byte(tc.body))
		if reason, _ := r.body["error"].(string); r.status != tc.status || !strings.Contains(reason, tc.reason) {
			t.Errorf("POST %s %s: %d %s; want %d naming %q", tc.path, tc.body, r.status, r.raw, tc.status, tc.reason)
		}
	}
	delivered("chosen secret after refusals", chosen, 8, http.StatusOK)

	// A shop installed through the Shopify app is verified with the app's
	// secret: giving it one of its own would refuse Shopify's deliveries.
	if _, err := e.svc.CreateShop(context.Background(), &recovery.Shop{Platform: recovery.PlatformShopify, Domain: "app.myshopify.com"}); err != nil {
		t.Fatal(err)
	}
	r = e.admin(http.MethodPost, "/admin/api/shops/app.myshopify.com/webhook-secret", []byte(`{}`))
	if reason, _ := r.body["error"].(string); r.status != http.StatusBadRequest || !strings.Contains(reason, "SHOPIFY_API_SECRET_PREVIOUS") {
		t.Errorf("rotate an app-installed shop: %d %s", r.status, r.raw)
	}
	if sh, _ := e.svc.ShopByDomain(context.Background(), "app.myshopify.com"); !sh.UsesShopifyAppSecret() {
		t.Errorf("app-installed shop now has a secret of its own")
	}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(`{}`))
	if r := e.do(req); r.status != http.StatusUnauthorized {
		t.Errorf("rotate without the admin token: %d", r.status)
	}
}

func TestEraseShopAndReconnect(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.svc.ShopMetaPrefixes = func(id uint64) []string { return []string{cbhttp.TemplatePrefix(id)} }
	templates := cbhttp.TemplateStore{Store: e.db}
	if r := e.wooWebhook("order.created", "before", wooOrder(t, "pending", "2017-03-22T19:28:02"), wooSecret); r.status != 200 || r.body["outcome"] != "created" {
		t.Fatalf("woo cart: %d %s", r.status, r.raw)
	}
	if r := e.shopifyWebhook("checkouts/create", "keep", mustJSON(t, fixture(t, "shopify_checkout.json")), shopifySecret); r.status != 200 {
		t.Fatalf("shopify cart: %d %s", r.status, r.raw)
	}
	own := tmpl.Custom{Subject: "WOO-OWN"}
	if err := templates.PutTemplate(ctx, e.woo.ID, "reminder", "email", "en", "B", own); err != nil {
		t.Fatal(err)
	}
	if err := templates.PutTemplate(ctx, e.shopify.ID, "reminder", "email", "en", "", own); err != nil {
		t.Fatal(err)
	}

	r := e.admin(http.MethodDelete, "/admin/api/shops/"+wooDomain, nil)
	if r.status != http.StatusOK || r.body["status"] != string(recovery.ShopRedacted) {
		t.Fatalf("erase: %d %s", r.status, r.raw)
	}
	if n := len(e.carts(e.woo)); n != 0 {
		t.Errorf("%d carts left after the erasure", n)
	}
	if c, _ := templates.Template(ctx, e.woo.ID, "reminder", "email", "en", "B"); c != nil {
		t.Errorf("the erased shop's template is left: %+v", c)
	}
	// Another shop keeps everything.
	if n := len(e.carts(e.shopify)); n != 1 {
		t.Errorf("the other shop has %d carts, want 1", n)
	}
	if c, _ := templates.Template(ctx, e.shopify.ID, "reminder", "email", "en", ""); c == nil || *c != own {
		t.Errorf("the other shop's template: %+v", c)
	}
	// A store that still sends is answered, and nothing comes back.
	if r := e.wooWebhook("order.updated", "after", wooOrder(t, "pending", "2017-03-22T19:40:00"), wooSecret); r.status != 200 || r.body["outcome"] != "ignored" {
		t.Errorf("webhook for the erased shop: %d %s", r.status, r.raw)
	}
	if n := len(e.carts(e.woo)); n != 0 {
		t.Errorf("%d carts stored for the erased shop", n)
	}

	// Nothing lands on the tombstone but connecting it again.
	if r := e.admin(http.MethodPut, "/admin/api/shops/"+wooDomain+"/status", []byte(`{"status":"active"}`)); r.status != http.StatusConflict {
		t.Errorf("resume an erased shop: %d %s", r.status, r.raw)
	}
	if r := e.admin(http.MethodPut, "/admin/api/shops/"+wooDomain+"/settings", []byte(`{"country":"NO"}`)); r.status != http.StatusConflict {
		t.Errorf("settings of an erased shop: %d %s", r.status, r.raw)
	}
	if r := e.admin(http.MethodPost, "/admin/api/shops/"+wooDomain+"/webhook-secret", []byte(`{}`)); r.status != http.StatusConflict {
		t.Errorf("new secret for an erased shop: %d %s", r.status, r.raw)
	}
	if r := e.wooWebhook("order.updated", "after-2", wooOrder(t, "pending", "2017-03-22T19:45:00"), wooSecret); r.body["outcome"] != "ignored" {
		t.Errorf("webhook for the erased shop after the refusals: %d %s", r.status, r.raw)
	}

	// Connected again: a fresh shop under the same domain.
	r = e.admin(http.MethodPost, "/admin/api/shops", []byte(`{"platform":"woocommerce","domain":"`+wooDomain+`"}`))
	fresh, _ := r.body["webhook_secret"].(string)
	if r.status != http.StatusCreated || r.body["status"] != string(recovery.ShopActive) || fresh == "" || fresh == wooSecret {
		t.Fatalf("reconnect: %d %s", r.status, r.raw)
	}
	if r := e.wooWebhook("order.updated", "again", wooOrder(t, "pending", "2017-03-22T19:50:00"), fresh); r.status != 200 || r.body["outcome"] != "created" {
		t.Errorf("webhook after reconnecting: %d %s", r.status, r.raw)
	}
	if r := e.wooWebhook("order.updated", "old-secret", wooOrder(t, "pending", "2017-03-22T19:55:00"), wooSecret); r.status != http.StatusUnauthorized {
		t.Errorf("the erased shop's secret after reconnecting: %d", r.status)
	}
	if r := e.admin(http.MethodPost, "/admin/api/shops", []byte(`{"platform":"woocommerce","domain":"`+wooDomain+`"}`)); r.status != http.StatusConflict {
		t.Errorf("connecting a connected shop again: %d", r.status)
	}

	if r := e.admin(http.MethodDelete, "/admin/api/shops/nope.example.com", nil); r.status != http.StatusNotFound {
		t.Errorf("erase an unknown shop: %d", r.status)
	}
	req, _ := http.NewRequest(http.MethodDelete, e.srv.URL+"/admin/api/shops/"+shopifyDomain, nil)
	if r := e.do(req); r.status != http.StatusUnauthorized || len(e.carts(e.shopify)) != 1 {
		t.Errorf("erase without the admin token: %d", r.status)
	}
}

// TestInterruptedErasureFinishes: an erasure cut short (a crash between
// its transactions) keeps the shop closed to webhooks and to reconnecting
// until it is finished, at the next start or by erasing again.
func TestInterruptedErasureFinishes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if r := e.wooWebhook("order.created", "before", wooOrder(t, "pending", "2017-03-22T19:28:02"), wooSecret); r.status != 200 {
		t.Fatalf("woo cart: %d %s", r.status, r.raw)
	}
	// What the first of the erasure's transactions leaves.
	err := e.db.Update(ctx, func(tx recovery.Tx) error {
		sh, err := tx.Shop(e.woo.ID)
		if err != nil {
			return err
		}
		sh.Status, sh.Erasing = recovery.ShopRedacted, true
		return tx.PutShop(sh)
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := e.wooWebhook("order.updated", "during", wooOrder(t, "pending", "2017-03-22T19:40:00"), wooSecret); r.body["outcome"] != "ignored" {
		t.Errorf("webhook during the erasure: %d %s", r.status, r.raw)
	}
	if r := e.admin(http.MethodPost, "/admin/api/shops", []byte(`{"platform":"woocommerce","domain":"`+wooDomain+`"}`)); r.status != http.StatusConflict {
		t.Errorf("reconnect during the erasure: %d %s", r.status, r.raw)
	}
	if err := e.svc.ResumeErasures(ctx); err != nil {
		t.Fatal(err)
	}
	sh, err := e.svc.ShopByDomain(ctx, wooDomain)
	if err != nil || sh.Erasing || sh.Status != recovery.ShopRedacted || len(e.carts(e.woo)) != 0 {
		t.Fatalf("after resuming: %+v %v, %d carts", sh, err, len(e.carts(e.woo)))
	}
	if r := e.admin(http.MethodPost, "/admin/api/shops", []byte(`{"platform":"woocommerce","domain":"`+wooDomain+`"}`)); r.status != http.StatusCreated {
		t.Errorf("reconnect after the erasure: %d %s", r.status, r.raw)
	}
}

// TestOwnSecretThenAppInstall: a shop connected with a secret of its own
// and then installed through the app takes webhooks signed either way
// (the app's carry the app's secret), compliance topics included.
func TestOwnSecretThenAppInstall(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	body := mustJSON(t, fixture(t, "shopify_checkout.json"))
	if r := e.shopifyWebhook("checkouts/create", "own-1", body, appSecret); r.status != http.StatusUnauthorized {
		t.Fatalf("app-signed webhook before the install: %d", r.status)
	}
	if _, err := e.svc.InstallShopify(ctx, shopifyDomain, recovery.ShopifyAccess{SealedToken: []byte("sealed")}); err != nil {
		t.Fatal(err)
	}
	if r := e.shopifyWebhook("checkouts/create", "own-2", body, appSecret); r.status != http.StatusOK {
		t.Errorf("app-signed webhook after the install: %d %s", r.status, r.raw)
	}
	if r := e.shopifyWebhook("customers/redact", "own-3", []byte(`{"shop_domain":"`+shopifyDomain+`","customer":{"email":"x@example.com"}}`), appSecret); r.status != http.StatusOK {
		t.Errorf("app-signed compliance webhook after the install: %d %s", r.status, r.raw)
	}
	if r := e.shopifyWebhook("checkouts/update", "own-4", body, shopifySecret); r.status != http.StatusOK {
		t.Errorf("webhook signed with the shop's own secret: %d %s", r.status, r.raw)
	}
	if r := e.shopifyWebhook("checkouts/update", "own-5", body, "another-secret-0123456789"); r.status != http.StatusUnauthorized {
		t.Errorf("webhook signed with another secret: %d", r.status)
	}
}
