package woocommerce

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/cartback/cartback/internal/signature"
	"github.com/cartback/cartback/recovery"
)

// CouponPath is the plugin's route for single-use coupons. It is signed as
// this fixed path, wherever WordPress lives under the store's URL.
const CouponPath = "/wp-json/cartback/v1/coupons"

// Coupons asks the companion plugin to create single-use coupons. It
// implements recovery.DiscountIssuer.
type Coupons struct {
	// HTTP sends the requests (default: a client with a 10 s timeout).
	HTTP *http.Client
	// Now returns the current time (default time.Now).
	Now func() time.Time
}

var _ recovery.DiscountIssuer = (*Coupons)(nil)

// couponRequest is the plugin route's body.
type couponRequest struct {
	Code      string `json:"code"`
	Percent   int    `json:"percent"`
	ExpiresAt string `json:"expires_at"`
	Email     string `json:"email,omitempty"`
}

// IssueDiscount creates a coupon of percent for the cart's shopper that
// expires at expires, and returns its code as the store knows it. During a
// secret rotation the plugin may still hold the previous secret, so a
// request it refuses as unsigned is sent again signed with that one.
func (c *Coupons) IssueDiscount(ctx context.Context, shop *recovery.Shop, cart *recovery.Cart, percent int, expires time.Time) (string, error) {
	body, err := json.Marshal(couponRequest{
		Code: newCouponCode(), Percent: percent, ExpiresAt: expires.UTC().Format(time.RFC3339),
		Email: cart.Contact.Email,
	})
	if err != nil {
		return "", err
	}
	store := recovery.StoreURL(shop, cart)
	code, status, err := c.createCoupon(ctx, store, body, shop.WebhookSecret)
	if status == http.StatusUnauthorized && shop.PreviousWebhookSecret != "" {
		code, _, err = c.createCoupon(ctx, store, body, shop.PreviousWebhookSecret)
	}
	return code, err
}

// createCoupon sends one signed coupon request and returns the code, or
// the error with the plugin's HTTP status (0 when there was no answer).
func (c *Coupons) createCoupon(ctx context.Context, store string, body []byte, secret string) (code string, status int, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(store, "/")+CouponPath, bytes.NewReader(body))
	if err != nil {
		return "", 0, err
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	ts, sig := signature.SignRequestBody(http.MethodPost, CouponPath, now(), body, secret)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Cartback-Store", store)
	req.Header.Set("X-Cartback-Timestamp", ts)
	req.Header.Set("X-Cartback-Signature", sig)
	client := c.HTTP
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("create coupon at %s: %w", store, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return "", resp.StatusCode, fmt.Errorf("create coupon at %s: %s: %s", store, resp.Status, bytes.TrimSpace(answer))
	}
	var out struct {
		Code string `json:"code"`
	}
	if err := json.Unmarshal(answer, &out); err != nil || out.Code == "" {
		return "", resp.StatusCode, fmt.Errorf("create coupon at %s: unreadable answer", store)
	}
	return out.Code, resp.StatusCode, nil
}

// newCouponCode returns a code nobody can guess, easy to type: CB- and
// eight characters without look-alikes.
func newCouponCode() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 8)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "CB-" + string(b)
}
