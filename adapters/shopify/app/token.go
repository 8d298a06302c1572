package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// DefaultRefreshMargin is how long before its expiry an access token is
// refreshed. Shopify's expiring offline tokens last an hour.
const DefaultRefreshMargin = 5 * time.Minute

// maxResponse bounds how much of a Shopify response is read.
const maxResponse = 16 << 20

// ErrInvalidGrant is wrapped by ExchangeCode and Refresh errors when
// Shopify refused the code or refresh token itself (used, expired or
// revoked, for instance after an uninstall). Retrying will not help: the
// merchant must install again.
var ErrInvalidGrant = errors.New("shopify refused the grant")

// Client calls a shop's OAuth token endpoint and GraphQL Admin API. Its
// zero fields get defaults: https://{shop}, http.DefaultClient and
// time.Now. A Client is safe for concurrent use.
type Client struct {
	// BaseURL returns where a shop's endpoints live; Config.ShopBaseURL.
	BaseURL func(shop string) string
	// HTTP sends the requests.
	HTTP *http.Client
	// ClientID and ClientSecret are the app's credentials.
	ClientID, ClientSecret string
	// Now returns the current time; tests move it by hand.
	Now func() time.Time
}

// Token is a shop's offline access token and, for an expiring one, the
// refresh token that renews it. Zero times mean "does not expire".
type Token struct {
	AccessToken      string    `json:"access_token"`
	RefreshToken     string    `json:"refresh_token,omitempty"`
	ExpiresAt        time.Time `json:"expires_at,omitzero"`
	RefreshExpiresAt time.Time `json:"refresh_expires_at,omitzero"`
	Scopes           []string  `json:"scopes,omitempty"`
}

// NeedsRefresh reports whether the access token expires within margin of
// now and has a refresh token to renew it with.
func (t Token) NeedsRefresh(now time.Time, margin time.Duration) bool {
	return t.RefreshToken != "" && !t.ExpiresAt.IsZero() && !now.Add(margin).Before(t.ExpiresAt)
}

// Expired reports whether the access token can no longer be used at now.
func (t Token) Expired(now time.Time) bool {
	return !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)
}

// RefreshExpired reports whether the refresh token can no longer be used
// at now, so that only a new install gives access again.
func (t Token) RefreshExpired(now time.Time) bool {
	return !t.RefreshExpiresAt.IsZero() && !now.Before(t.RefreshExpiresAt)
}

// HasScope reports whether the token was granted scope. A write scope
// implies its read scope, as Shopify grants them.
func (t Token) HasScope(scope string) bool {
	for _, s := range t.Scopes {
		if s == scope || (strings.HasPrefix(scope, "read_") && s == "write_"+strings.TrimPrefix(scope, "read_")) {
			return true
		}
	}
	return false
}

// ExchangeCode trades the authorization code of an install callback for
// an expiring offline access token:
// POST {base}/admin/oauth/access_token with client_id, client_secret,
// code and expiring=1.
func (c *Client) ExchangeCode(ctx context.Context, shop, code string) (Token, error) {
	if code == "" {
		return Token{}, errors.New("shopify token exchange: empty authorization code")
	}
	return c.tokenRequest(ctx, "token exchange", shop, map[string]any{
		"client_id":     c.ClientID,
		"client_secret": c.ClientSecret,
		"code":          code,
		"expiring":      1,
	})
}

// Refresh trades a refresh token for a new access token and a new refresh
// token. Store both at once, replacing the old pair: the old refresh token
// is retired once the new one is used, and Shopify may refuse it earlier.
func (c *Client) Refresh(ctx context.Context, shop, refreshToken string) (Token, error) {
	if refreshToken == "" {
		return Token{}, errors.New("shopify token refresh: no refresh token")
	}
	return c.tokenRequest(ctx, "token refresh", shop, map[string]any{
		"client_id":     c.ClientID,
		"client_secret": c.ClientSecret,
		"grant_type":    "refresh_token",
		"refresh_token": refreshToken,
	})
}

// tokenResponse is the token endpoint's answer.
type tokenResponse struct {
	AccessToken           string `json:"access_token"`
	Scope                 string `json:"scope"`
	ExpiresIn             int64  `json:"expires_in"`
	RefreshToken          string `json:"refresh_token"`
	RefreshTokenExpiresIn int64  `json:"refresh_token_expires_in"`
	Error                 string `json:"error"`
	ErrorDescription      string `json:"error_description"`
}

// tokenRequest posts body to the shop's token endpoint. what names the
// operation in errors, which never include the secrets sent.
func (c *Client) tokenRequest(ctx context.Context, what, shop string, body map[string]any) (Token, error) {
	if !ValidShopDomain(shop) {
		return Token{}, fmt.Errorf("shopify %s: %q is not a myshopify.com domain", what, shop)
	}
	if c.ClientID == "" || c.ClientSecret == "" {
		return Token{}, fmt.Errorf("shopify %s: app client id or secret not configured", what)
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return Token{}, fmt.Errorf("shopify %s: encoding request: %w", what, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base(shop)+"/admin/oauth/access_token", bytes.NewReader(payload))
	if err != nil {
		return Token{}, fmt.Errorf("shopify %s: %w", what, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	started := c.now()
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return Token{}, fmt.Errorf("shopify %s for %s: %w", what, shop, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return Token{}, fmt.Errorf("shopify %s for %s: reading response: %w", what, shop, err)
	}
	var tr tokenResponse
	jsonErr := json.Unmarshal(raw, &tr)
	if resp.StatusCode != http.StatusOK {
		reason := strings.TrimSpace(tr.Error + " " + tr.ErrorDescription)
		if jsonErr != nil || reason == "" {
			reason = snippet(raw)
		}
		err := fmt.Errorf("shopify %s for %s: HTTP %d: %s", what, shop, resp.StatusCode, reason)
		// 400 is Shopify's answer to a used, expired or revoked code or
		// refresh token; 401 means the app's own credentials are wrong.
		if resp.StatusCode == http.StatusBadRequest {
			err = fmt.Errorf("%w: %w", ErrInvalidGrant, err)
		}
		return Token{}, err
	}
	if jsonErr != nil {
		return Token{}, fmt.Errorf("shopify %s for %s: decoding response: %w", what, shop, jsonErr)
	}
	if tr.AccessToken == "" {
		return Token{}, fmt.Errorf("shopify %s for %s: response has no access_token", what, shop)
	}
	t := Token{AccessToken: tr.AccessToken, RefreshToken: tr.RefreshToken}
	// Lifetimes count from when the request left, so that a slow answer
	// errs towards refreshing early.
	if tr.ExpiresIn > 0 {
		t.ExpiresAt = started.Add(time.Duration(tr.ExpiresIn) * time.Second)
	}
	if tr.RefreshTokenExpiresIn > 0 {
		t.RefreshExpiresAt = started.Add(time.Duration(tr.RefreshTokenExpiresIn) * time.Second)
	}
	for _, s := range strings.Split(tr.Scope, ",") {
		if s = strings.TrimSpace(s); s != "" {
			t.Scopes = append(t.Scopes, s)
		}
	}
	return t, nil
}

func (c *Client) base(shop string) string {
	if c.BaseURL != nil {
		return strings.TrimSuffix(c.BaseURL(shop), "/")
	}
	return "https://" + shop
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// snippet returns the start of a response body for an error message.
func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	if s == "" {
		return "empty body"
	}
	return s
}
