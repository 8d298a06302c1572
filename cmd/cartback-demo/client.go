package main

import (
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cartback/cartback/internal/signature"
)

// sampleCheckout is a Shopify checkout webhook body from Shopify's docs.
//
//go:embed testdata/checkout.json
var sampleCheckout []byte

// client speaks to cartback's admin API and webhook endpoint.
type client struct {
	base, token, shop string
	// secret signs the demo shop's webhooks.
	secret string
	http   http.Client
}

// do sends a request and decodes a JSON answer into into (when not nil);
// an answer outside 2xx and 3xx is an error with cartback's reason.
func (c *client) do(ctx context.Context, method, path string, body []byte, header http.Header, into any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if strings.HasPrefix(path, "/admin/") {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("is cartback running at %s? %w", c.base, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if resp.StatusCode >= 400 {
		var e struct {
			Error string `json:"error"`
		}
		json.Unmarshal(raw, &e)
		if resp.StatusCode == http.StatusUnauthorized && strings.HasPrefix(path, "/admin/") {
			e.Error = "the admin token was refused"
		}
		return resp.StatusCode, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, e.Error)
	}
	if into != nil {
		if err := json.Unmarshal(raw, into); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: unreadable answer: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// demoShopName marks the shops this command made: it only ever changes
// those, never a real shop that happens to have the domain asked for.
const demoShopName = "cartback demo"

// connectShop creates the demo shop, or gives the one it made before a
// new secret (and resumes it), and returns the secret its webhooks are
// signed with.
func (c *client) connectShop(ctx context.Context) (secret string, created bool, err error) {
	secret = randomHex(16)
	shopPath := "/admin/api/shops/" + url.PathEscape(c.shop)
	var shop struct {
		Name   string `json:"name"`
		Status string `json:"status"`
	}
	status, err := c.do(ctx, http.MethodGet, shopPath, nil, nil, &shop)
	if status == http.StatusNotFound {
		body, _ := json.Marshal(map[string]any{"platform": "shopify", "domain": c.shop, "name": demoShopName, "webhook_secret": secret})
		_, err = c.do(ctx, http.MethodPost, "/admin/api/shops", body, nil, nil)
		return secret, true, err
	} else if err != nil {
		return "", false, err
	}
	switch {
	case shop.Status == "redacted":
		return "", false, fmt.Errorf("the shop %s was erased, and nothing tells whether the demo made it; choose another domain with -shop", c.shop)
	case shop.Name != demoShopName:
		return "", false, fmt.Errorf("the shop %s was not made by this demo, which would replace its webhook secret; choose another domain with -shop", c.shop)
	case shop.Status != "active" && shop.Status != "paused":
		return "", false, fmt.Errorf("the shop %s is %s; choose another domain with -shop", c.shop, shop.Status)
	}
	body, _ := json.Marshal(map[string]any{"webhook_secret": secret, "keep_previous": false})
	if _, err := c.do(ctx, http.MethodPost, shopPath+"/webhook-secret", body, nil, nil); err != nil {
		return "", false, err
	}
	if shop.Status == "paused" {
		if _, err := c.do(ctx, http.MethodPut, shopPath+"/status", []byte(`{"status":"active"}`), nil, nil); err != nil {
			return "", false, err
		}
	}
	return secret, false, nil
}

// putSequence gives the shop a two-step sequence measured in seconds.
func (c *client) putSequence(ctx context.Context, abandon, after time.Duration) error {
	seq := map[string]any{
		"abandon_after": abandon.String(),
		"steps": []map[string]any{
			{"channel": "email", "after": after.String(), "template": "reminder"},
			{"channel": "email", "after": (2 * after).String(), "template": "incentive", "discount_code": "WELCOME10"},
		},
	}
	body, _ := json.Marshal(seq)
	_, err := c.do(ctx, http.MethodPut, "/admin/api/shops/"+url.PathEscape(c.shop)+"/sequence", body, nil, nil)
	return err
}

// checkout is one demo checkout webhook.
type checkout struct {
	body                          []byte
	token, email, total, currency string
}

// newCheckout makes the sample checkout a new one, updated at now, of a
// new shopper who gave an email address and no phone number (so the
// demo stays with email, whatever the time of day).
func newCheckout(now time.Time) (checkout, error) {
	var co map[string]any
	if err := json.Unmarshal(sampleCheckout, &co); err != nil {
		return checkout{}, err
	}
	oldToken, _ := co["token"].(string)
	token := randomHex(16)
	email := "demo-" + randomHex(3) + "@example.com"
	co["id"] = randomInt(1 << 40)
	co["token"], co["cart_token"], co["email"] = token, randomHex(16), email
	co["created_at"], co["updated_at"] = now.Format(time.RFC3339), now.Format(time.RFC3339)
	co["phone"], co["sms_marketing_phone"], co["buyer_accepts_sms_marketing"] = nil, nil, false
	if u, ok := co["abandoned_checkout_url"].(string); ok && oldToken != "" {
		co["abandoned_checkout_url"] = strings.ReplaceAll(u, oldToken, token)
	}
	for _, k := range []string{"customer", "billing_address", "shipping_address"} {
		if m, ok := co[k].(map[string]any); ok {
			m["phone"] = nil
			if k == "customer" {
				m["email"] = email
			}
		}
	}
	body, err := json.Marshal(co)
	total, _ := co["total_price"].(string)
	currency, _ := co["currency"].(string)
	return checkout{body: body, token: token, email: email, total: total, currency: currency}, err
}

// webhook sends body as a signed Shopify webhook of topic.
func (c *client) webhook(ctx context.Context, topic string, body []byte, into any) error {
	h := http.Header{}
	h.Set("X-Shopify-Topic", topic)
	h.Set("X-Shopify-Shop-Domain", c.shop)
	h.Set("X-Shopify-Event-Id", randomHex(16))
	h.Set("X-Shopify-Triggered-At", time.Now().UTC().Format(time.RFC3339Nano))
	h.Set("X-Shopify-Hmac-Sha256", signature.Sign(body, c.secret))
	_, err := c.do(ctx, http.MethodPost, "/webhooks/shopify", body, h, into)
	return err
}

func (c *client) sendCheckout(ctx context.Context, co checkout) (uint64, error) {
	var res struct {
		Outcome string   `json:"outcome"`
		CartIDs []uint64 `json:"cart_ids"`
	}
	if err := c.webhook(ctx, "checkouts/create", co.body, &res); err != nil {
		return 0, err
	}
	if len(res.CartIDs) != 1 {
		return 0, fmt.Errorf("checkout webhook answered %q without a cart", res.Outcome)
	}
	return res.CartIDs[0], nil
}

func (c *client) sendOrder(ctx context.Context, co checkout) error {
	now := time.Now().Format(time.RFC3339)
	body, _ := json.Marshal(map[string]any{
		"id": randomInt(1 << 40), "name": "#D" + fmt.Sprint(randomInt(100000)), "email": co.email,
		"checkout_token": co.token, "currency": co.currency, "total_price": co.total,
		"created_at": now, "updated_at": now,
	})
	return c.webhook(ctx, "orders/create", body, nil)
}

// message is the part of a cart's message the demo shows.
type message struct {
	Step       int    `json:"step"`
	To         string `json:"to"`
	Subject    string `json:"subject"`
	RestoreURL string `json:"restore_url"`
	Status     string `json:"status"`
}

// waitForReminder polls the cart until its first step is handled and
// returns that step's message: in the outbox when no mail provider is
// configured, else sent. A step that was skipped or failed is an error
// saying why.
func (c *client) waitForReminder(ctx context.Context, cartID uint64) (message, error) {
	for {
		v, err := c.cart(ctx, cartID)
		if err != nil {
			return message{}, err
		}
		if len(v.Steps) > 0 {
			switch st := v.Steps[0]; st.State {
			case "outbox", "sent":
				for _, m := range v.Messages {
					if m.Step == 0 {
						return m, nil
					}
				}
			case "skipped", "failed", "unknown":
				return message{}, fmt.Errorf("the reminder was %s (%s)", st.State, st.Reason)
			}
		}
		if err := pause(ctx, "the reminder"); err != nil {
			return message{}, err
		}
	}
}

// click follows a restore link the way a shopper's browser starts to:
// one request, the redirect shown instead of followed.
func (c *client) click(ctx context.Context, link string) (int, string, error) {
	u, err := url.Parse(link)
	if err != nil {
		return 0, "", fmt.Errorf("restore link %q: %w", link, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+u.Path, nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Mobile/15E148")
	noFollow := http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Do(req)
	if err != nil {
		return 0, "", err
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location"), nil
}

// cartView is the part of the admin API's cart the demo shows.
type cartView struct {
	State      string `json:"state"`
	Currency   string `json:"currency"`
	Conversion struct {
		Total       int64  `json:"total"`
		Attribution string `json:"attribution"`
	} `json:"conversion"`
	Steps []struct {
		Channel  string `json:"channel"`
		Template string `json:"template"`
		State    string `json:"state"`
		Reason   string `json:"reason"`
	} `json:"steps"`
	Messages []message         `json:"messages"`
	Clicks   []json.RawMessage `json:"clicks"`
}

func (c *client) cart(ctx context.Context, cartID uint64) (cartView, error) {
	var v cartView
	_, err := c.do(ctx, http.MethodGet, fmt.Sprintf("/admin/api/shops/%s/carts/%d", url.PathEscape(c.shop), cartID), nil, nil, &v)
	return v, err
}

// waitForClick polls until the cart's click is recorded (just behind the
// redirect), so that the order after it is credited to the link.
func (c *client) waitForClick(ctx context.Context, cartID uint64) error {
	for {
		v, err := c.cart(ctx, cartID)
		if err != nil || len(v.Clicks) > 0 {
			return err
		}
		if err := pause(ctx, "the click to be recorded"); err != nil {
			return err
		}
	}
}

// pause waits a moment between polls, or says what was being waited for
// when the time is up.
func pause(ctx context.Context, what string) error {
	select {
	case <-ctx.Done():
		return fmt.Errorf("gave up waiting for %s: %w", what, context.Cause(ctx))
	case <-time.After(250 * time.Millisecond):
		return nil
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func randomInt(limit int64) int64 {
	n, err := rand.Int(rand.Reader, big.NewInt(limit))
	if err != nil {
		panic(errors.New("crypto/rand failed")) // never on supported systems
	}
	return n.Int64() + 1
}
