package app

import (
	"net/http"
	"strings"
	"time"
)

// Config is the Shopify app's configuration.
type Config struct {
	// APIKey is the app's client id.
	APIKey string
	// APISecret is the app's client secret. It signs install and callback
	// queries and webhooks, and authenticates token requests.
	APISecret string
	// APISecretPrevious keeps verifying signatures during a rotation.
	APISecretPrevious string
	// BaseURL, when set, replaces https://{shop} for every shop
	// (CARTBACK_SHOPIFY_BASE_URL); it is meant for tests and local
	// development against a fake Shopify.
	BaseURL string
	// Scopes are the access scopes requested at install; DefaultScopes
	// when empty.
	Scopes []string
}

// ShopBaseURL returns where the shop's OAuth and Admin API endpoints live:
// BaseURL when set, else https://{shop}.
func (c Config) ShopBaseURL(shop string) string {
	if c.BaseURL != "" {
		return strings.TrimSuffix(c.BaseURL, "/")
	}
	return "https://" + shop
}

// ScopeList returns the scopes to request: Scopes, or DefaultScopes.
func (c Config) ScopeList() []string {
	if len(c.Scopes) > 0 {
		return c.Scopes
	}
	return DefaultScopes
}

// Secrets returns the secrets signatures are checked against: the current
// one, then the previous one when set.
func (c Config) Secrets() []string {
	if c.APISecretPrevious == "" {
		return []string{c.APISecret}
	}
	return []string{c.APISecret, c.APISecretPrevious}
}

// AuthorizeURL returns the install address for shop under this
// configuration; see the package function AuthorizeURL.
func (c Config) AuthorizeURL(shop, redirectURI, state string) string {
	return AuthorizeURL(c.ShopBaseURL(shop), shop, c.APIKey, c.ScopeList(), redirectURI, state)
}

// Client returns an Admin API client for this configuration. A nil
// httpClient gets one with a 30 second timeout.
func (c Config) Client(httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{
		BaseURL:      c.ShopBaseURL,
		HTTP:         httpClient,
		ClientID:     c.APIKey,
		ClientSecret: c.APISecret,
		Now:          time.Now,
	}
}
