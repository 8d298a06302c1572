package app

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultScopes are the access scopes cartback asks a shop for:
// abandoned checkouts and orders (read_orders), the shopper's contact
// details (read_customers), the product and variant of each line item
// (read_products), and single-use discount codes (write_discounts).
var DefaultScopes = []string{"read_orders", "read_customers", "read_products", "write_discounts"}

// Limits of the install flow.
const (
	// MaxTimestampAge is how old a signed Shopify query may be.
	MaxTimestampAge = 24 * time.Hour
	// MaxTimestampSkew is how far in the future a signed query's timestamp
	// may be, to allow for clocks that disagree a little.
	MaxTimestampSkew = 5 * time.Minute
	// StateTTL is how long an install's state cookie stays valid.
	StateTTL = 10 * time.Minute
)

var shopDomain = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9-]*\.myshopify\.com$`)

// ValidShopDomain reports whether s is a shop's permanent domain, such as
// "demo-shop.myshopify.com". Only such names may be put in front of an
// OAuth or Admin API path: anything else could send the app's secret or a
// token to a host of the caller's choosing.
func ValidShopDomain(s string) bool { return shopDomain.MatchString(s) }

// VerifyQuery reports whether q carries a valid Shopify hmac parameter
// under any of secrets (the current app secret and, during a rotation, the
// previous one; empty secrets are skipped).
//
// The signed message is every parameter but hmac and the legacy signature,
// sorted by key, written k=v and joined with '&'. Values are used decoded,
// as received. A parameter given more than once (Shopify's ids[]=1&ids[]=2)
// is written with the brackets dropped from its key and its values as
// ids=["1", "2"].
func VerifyQuery(q url.Values, secrets ...string) bool {
	got, err := hex.DecodeString(strings.TrimSpace(q.Get("hmac")))
	if err != nil || len(got) != sha256.Size {
		return false
	}
	message := []byte(queryMessage(q))
	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(message)
		// hmac.Equal takes the same time wherever the first difference is.
		if hmac.Equal(got, mac.Sum(nil)) {
			return true
		}
	}
	return false
}

// SignQuery returns the hex hmac Shopify would add to q, computed as
// VerifyQuery checks it. Tests and the fake Shopify in apptest use it.
func SignQuery(q url.Values, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(queryMessage(q)))
	return hex.EncodeToString(mac.Sum(nil))
}

// queryMessage builds the string Shopify signs for a query.
func queryMessage(q url.Values) string {
	parts := make([]string, 0, len(q))
	for key, values := range q {
		if key == "hmac" || key == "signature" {
			continue
		}
		name := strings.TrimSuffix(key, "[]")
		if len(values) == 1 && name == key {
			parts = append(parts, name+"="+values[0])
			continue
		}
		quoted := make([]string, len(values))
		for i, v := range values {
			quoted[i] = `"` + v + `"`
		}
		parts = append(parts, name+"=["+strings.Join(quoted, ", ")+"]")
	}
	// Sorting whole "k=v" strings sorts by key: keys hold no '='.
	slices.Sort(parts)
	return strings.Join(parts, "&")
}

// FreshTimestamp reports whether ts, the Unix seconds of a signed Shopify
// query, is no older than MaxTimestampAge and no further than
// MaxTimestampSkew in the future. It keeps an old signed link from being
// replayed indefinitely.
func FreshTimestamp(ts string, now time.Time) bool {
	sec, err := strconv.ParseInt(strings.TrimSpace(ts), 10, 64)
	if err != nil {
		return false
	}
	t := time.Unix(sec, 0)
	return !t.Before(now.Add(-MaxTimestampAge)) && !t.After(now.Add(MaxTimestampSkew))
}

// CheckCallback checks the query Shopify redirects the merchant back with
// after the install: a valid hmac under one of secrets, a shop domain that
// is a *.myshopify.com name, a fresh timestamp and a code. It returns the
// shop and the authorization code. The caller must still compare the
// state parameter with the install's cookie (CheckState).
func CheckCallback(q url.Values, now time.Time, secrets ...string) (shop, code string, err error) {
	shop = q.Get("shop")
	switch {
	case !VerifyQuery(q, secrets...):
		return "", "", errors.New("shopify callback: hmac does not match")
	case !ValidShopDomain(shop):
		return "", "", errors.New("shopify callback: shop is not a myshopify.com domain")
	case !FreshTimestamp(q.Get("timestamp"), now):
		return "", "", errors.New("shopify callback: timestamp is missing, too old or in the future")
	case q.Get("code") == "":
		return "", "", errors.New("shopify callback: no authorization code")
	}
	return shop, q.Get("code"), nil
}

// AuthorizeURL returns the address the merchant is sent to to approve the
// app: {base}/admin/oauth/authorize with the app's client id, the scopes
// joined by commas, the redirect URI and the state. base is the shop's own
// https://{shop} when empty; Config.ShopBaseURL gives the right one,
// including the override used in tests and local development.
//
// No grant_options[] is sent, so the token issued is an offline one.
func AuthorizeURL(base, shop, clientID string, scopes []string, redirectURI, state string) string {
	if base == "" {
		base = "https://" + shop
	}
	escaped := make([]string, len(scopes))
	for i, s := range scopes {
		escaped[i] = url.QueryEscape(s)
	}
	return strings.TrimSuffix(base, "/") + "/admin/oauth/authorize" +
		"?client_id=" + url.QueryEscape(clientID) +
		"&scope=" + strings.Join(escaped, ",") +
		"&redirect_uri=" + url.QueryEscape(redirectURI) +
		"&state=" + url.QueryEscape(state)
}

// NewState starts an install for shop. It returns state, a random value
// for the authorize URL, and cookieValue, to be set in a short-lived,
// HttpOnly, Secure, SameSite=Lax cookie. cookieValue carries the state,
// the time it was issued and an HMAC under key binding both to the shop,
// so nothing needs to be stored on the server. key should be at least 32
// random bytes.
func NewState(key []byte, shop string, now time.Time) (state, cookieValue string) {
	nonce := make([]byte, 18)
	if _, err := rand.Read(nonce); err != nil {
		// crypto/rand does not fail on supported platforms.
		panic("shopify state: reading random bytes: " + err.Error())
	}
	state = base64.RawURLEncoding.EncodeToString(nonce)
	issued := strconv.FormatInt(now.Unix(), 10)
	return state, state + "." + issued + "." + stateMAC(key, state, shop, issued)
}

// CheckState reports whether cookieValue, as made by NewState under key,
// was issued for this state and shop no more than StateTTL ago.
func CheckState(key []byte, cookieValue, state, shop string, now time.Time) bool {
	if len(key) == 0 || state == "" {
		return false
	}
	cookieState, rest, ok := strings.Cut(cookieValue, ".")
	if !ok {
		return false
	}
	issued, sig, ok := strings.Cut(rest, ".")
	if !ok {
		return false
	}
	sec, err := strconv.ParseInt(issued, 10, 64)
	if err != nil {
		return false
	}
	at := time.Unix(sec, 0)
	if now.Sub(at) > StateTTL || at.Sub(now) > MaxTimestampSkew {
		return false
	}
	wantSig := stateMAC(key, cookieState, shop, issued)
	return hmac.Equal([]byte(sig), []byte(wantSig)) &&
		hmac.Equal([]byte(cookieState), []byte(state))
}

// stateMAC signs an install's state for one shop and issue time.
func stateMAC(key []byte, state, shop, issued string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("cartback shopify install state\x00" + state + "\x00" + strings.ToLower(shop) + "\x00" + issued))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}
