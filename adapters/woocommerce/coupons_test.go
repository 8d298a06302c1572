package woocommerce

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cartback/cartback/internal/signature"
	"github.com/cartback/cartback/recovery"
)

func TestIssueDiscountAsksThePlugin(t *testing.T) {
	const secret = "woo-shop-secret-0123456789"
	now := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	var got couponRequest
	requests := 0
	plugin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests++
		h := r.Header
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if r.Method != http.MethodPost || r.URL.Path != "/shop"+CouponPath ||
			!signature.VerifyRequestBody(http.MethodPost, CouponPath, h.Get("X-Cartback-Timestamp"), h.Get("X-Cartback-Signature"), body, now, secret) {
			http.Error(w, `{"error":"bad signature"}`, http.StatusUnauthorized)
			return
		}
		json.NewDecoder(r.Body).Decode(&got)
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]string{"id": "77", "code": strings.ToLower(got.Code), "expires_at": got.ExpiresAt})
	}))
	defer plugin.Close()
	host := strings.TrimPrefix(plugin.URL, "http://")
	shop := &recovery.Shop{Platform: recovery.PlatformWooCommerce, Domain: host, WebhookSecret: secret}
	// WordPress under /shop/: the cart's restore URL tells where.
	cart := &recovery.Cart{RestoreURL: plugin.URL + "/shop/?cartback_restore=x", Contact: recovery.Contact{Email: "kari@example.no"}}
	c := &Coupons{Now: func() time.Time { return now }}
	code, err := c.IssueDiscount(t.Context(), shop, cart, 10, now.Add(72*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^CB-[A-Z2-9]{8}$`).MatchString(got.Code) || code != strings.ToLower(got.Code) {
		t.Errorf("code sent %q, returned %q", got.Code, code)
	}
	if got.Percent != 10 || got.ExpiresAt != "2026-11-05T10:00:00Z" || got.Email != "kari@example.no" {
		t.Errorf("request: %+v", got)
	}
	// A refusal is an error, so the engine falls back to the shop's code.
	shop.WebhookSecret = "another-secret-0123456789"
	requests = 0
	if _, err := c.IssueDiscount(t.Context(), shop, cart, 10, now.Add(time.Hour)); err == nil || !strings.Contains(err.Error(), "401") || requests != 1 {
		t.Errorf("refused request: %v after %d requests, want a 401 after one", err, requests)
	}
	// Mid-rotation the plugin still has the previous secret: the refused
	// request goes again, signed with that one.
	shop.PreviousWebhookSecret = secret
	requests = 0
	if code, err := c.IssueDiscount(t.Context(), shop, cart, 10, now.Add(time.Hour)); err != nil || code != strings.ToLower(got.Code) || requests != 2 {
		t.Errorf("during a rotation: code %q, %v after %d requests", code, err, requests)
	}
}
