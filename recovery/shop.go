package recovery

import (
	"encoding/json"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"time"
)

// Platform names the store platform a shop runs on.
type Platform string

// Supported platforms.
const (
	PlatformShopify     Platform = "shopify"
	PlatformWooCommerce Platform = "woocommerce"
)

// Valid reports whether p is a supported platform.
func (p Platform) Valid() bool {
	return p == PlatformShopify || p == PlatformWooCommerce
}

// ShopStatus says whether cartback may act for a shop.
type ShopStatus string

// Shop statuses.
const (
	ShopActive      ShopStatus = "active"
	ShopPaused      ShopStatus = "paused"
	ShopUninstalled ShopStatus = "uninstalled"
	// ShopRedacted: the platform asked to erase the shop; only a tombstone
	// remains.
	ShopRedacted ShopStatus = "redacted"
)

// Shop is one merchant store connected to cartback.
type Shop struct {
	ID       uint64     `json:"id"`
	Platform Platform   `json:"platform"`
	Domain   string     `json:"domain"`
	Name     string     `json:"name,omitempty"`
	Status   ShopStatus `json:"status"`

	// WebhookSecret verifies webhook signatures. For a Shopify shop installed
	// through the app it is empty and the app's secret is used instead.
	WebhookSecret string `json:"webhook_secret,omitempty"`
	// PreviousWebhookSecret keeps verifying during a secret rotation (see
	// Service.RotateWebhookSecret).
	PreviousWebhookSecret string `json:"previous_webhook_secret,omitempty"`

	Settings ShopSettings `json:"settings"`

	// Shopify holds the access of a shop installed through the Shopify app.
	Shopify *ShopifyAccess `json:"shopify,omitempty"`

	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
	UninstalledAt time.Time `json:"uninstalled_at,omitzero"`
	// Erasing is set while EraseShop runs (status redacted already) and
	// cleared when only the tombstone is left; a shop found with it set
	// after a crash is erased again at start.
	Erasing bool `json:"erasing,omitempty"`
}

// ShopifyAccess is what cartback keeps to call a shop's Shopify Admin API.
type ShopifyAccess struct {
	// SealedToken is the access and refresh token, encrypted with the
	// service's key and bound to the shop; the raw token is never stored.
	SealedToken      []byte    `json:"sealed_token,omitempty"`
	ExpiresAt        time.Time `json:"expires_at,omitzero"`
	RefreshExpiresAt time.Time `json:"refresh_expires_at,omitzero"`
	// NeedsReinstall is set when the token can no longer be refreshed; the
	// merchant must open the app again.
	NeedsReinstall bool   `json:"needs_reinstall,omitempty"`
	Problem        string `json:"problem,omitempty"`
	// SyncedUntil is the reconciliation cursor: checkouts updated after it
	// are read again.
	SyncedUntil time.Time `json:"synced_until,omitzero"`
	InstalledAt time.Time `json:"installed_at,omitzero"`
}

// ShopSettings are the merchant's choices for one shop.
type ShopSettings struct {
	// Country is the ISO 3166-1 alpha-2 code used to read national phone
	// numbers that carry no country prefix.
	Country string `json:"country,omitempty"`
	// DefaultLocale is used for shoppers whose locale is unknown.
	DefaultLocale string `json:"default_locale,omitempty"`
	// TimeZone is an IANA zone name, used for quiet hours and daily figures.
	TimeZone string `json:"time_zone,omitempty"`
	// Sequence is the shop's reminder plan; nil means DefaultSequence.
	Sequence *Sequence `json:"sequence,omitempty"`
	// DiscountCode is the shop's static code, shown in incentive steps that
	// name no code of their own.
	DiscountCode string `json:"discount_code,omitempty"`
	// UniqueDiscountPercent, when set (1-90), gives every incentive step a
	// single-use code of this percentage, created on the shop's platform
	// when the step is claimed; the static code is the fallback.
	UniqueDiscountPercent int `json:"unique_discount_percent,omitempty"`
	// HoldoutPercent of carts (0-50) get no reminders, so the true lift of
	// reminding can be measured against them.
	HoldoutPercent int `json:"holdout_percent,omitempty"`
	// RetentionDays is how long carts, messages and clicks are kept
	// (default 90); older ones survive only as anonymous daily figures.
	RetentionDays int `json:"retention_days,omitempty"`
	// EmailConsent is EmailConsentAll (default) or EmailConsentMarketing.
	EmailConsent string `json:"email_consent,omitempty"`
	// QuietHours for SMS in the recipient's local time; nil means
	// DefaultQuietHours, equal start and end switch them off.
	QuietHours *QuietHours `json:"quiet_hours,omitempty"`
	// HoldIfUnverified skips a Shopify reminder when Shopify cannot be asked
	// whether the checkout was completed; by default it is sent.
	HoldIfUnverified bool `json:"hold_if_unverified,omitempty"`
	// EmailFromName and EmailReplyTo are the shop's sender identity.
	EmailFromName string `json:"email_from_name,omitempty"`
	EmailReplyTo  string `json:"email_reply_to,omitempty"`
}

// QuietHoursOrDefault returns the shop's SMS quiet hours.
func (s ShopSettings) QuietHoursOrDefault() QuietHours {
	if s.QuietHours != nil {
		return *s.QuietHours
	}
	return DefaultQuietHours
}

// Location returns the shop's time zone, UTC when it has none.
func (s ShopSettings) Location() *time.Location {
	if s.TimeZone == "" {
		return time.UTC
	}
	if loc, err := loadLocation(s.TimeZone); err == nil {
		return loc
	}
	return time.UTC
}

// DefaultRetentionDays is how long a shop's records are kept unless it says.
const DefaultRetentionDays = 90

// SequenceOrDefault returns the shop's reminder plan.
func (s ShopSettings) SequenceOrDefault() Sequence {
	if s.Sequence != nil {
		return s.Sequence.withDefaults()
	}
	return DefaultSequence()
}

// Retention returns how long the shop's records are kept.
func (s ShopSettings) Retention() time.Duration {
	days := s.RetentionDays
	if days <= 0 {
		days = DefaultRetentionDays
	}
	return time.Duration(days) * 24 * time.Hour
}

var (
	domainPattern  = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+(:[0-9]{1,5})?$`)
	countryPattern = regexp.MustCompile(`^[A-Z]{2}$`)
)

// NormalizeDomain lower-cases a shop domain and strips a scheme, path and
// trailing dot so that "https://Shop.example.com/" and "shop.example.com"
// name the same shop.
func NormalizeDomain(s string) string {
	s = strings.TrimSpace(strings.ToLower(s))
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSuffix(s, ".")
}

// RestoreURLAllowed reports whether a restore URL that came with a cart
// may be where cartback sends a shopper, so that no store can turn
// cartback's links into a redirect to someone else's site: https (http
// only for a loopback or .localhost/.test host), and for a WooCommerce
// store its own host, a host under it, or its www. twin. A Shopify
// checkout URL may be on the shop's own custom domain, which cartback does
// not know, so for Shopify any https address is taken.
func (s *Shop) RestoreURLAllowed(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.Opaque != "" {
		return false
	}
	host := strings.ToLower(u.Hostname())
	switch u.Scheme {
	case "https":
	case "http":
		if ip := net.ParseIP(host); !(ip != nil && ip.IsLoopback()) && host != "localhost" &&
			!strings.HasSuffix(host, ".localhost") && !strings.HasSuffix(host, ".test") {
			return false
		}
	default:
		return false
	}
	if s.Platform == PlatformShopify {
		return true
	}
	own := strings.ToLower(s.Domain)
	if h, _, err := net.SplitHostPort(own); err == nil {
		own = h
	}
	own = strings.TrimPrefix(own, "www.")
	return host == own || strings.HasSuffix(host, "."+own)
}

// UsesShopifyAppSecret reports whether the shop's webhooks are verified
// with the Shopify app's secret: a Shopify shop without a secret of its own.
func (s *Shop) UsesShopifyAppSecret() bool {
	return s.Platform == PlatformShopify && s.WebhookSecret == "" && s.PreviousWebhookSecret == ""
}

// Validate returns an EINVALID error naming the first bad field.
func (s *Shop) Validate() error {
	switch {
	case !s.Platform.Valid():
		return Errorf(EINVALID, "platform: must be %q or %q", PlatformShopify, PlatformWooCommerce)
	case !domainPattern.MatchString(s.Domain):
		return Errorf(EINVALID, "domain: %q is not a host name", s.Domain)
	case s.Platform == PlatformShopify && !strings.HasSuffix(s.Domain, ".myshopify.com"):
		return Errorf(EINVALID, "domain: a Shopify shop is named by its *.myshopify.com domain")
	case s.WebhookSecret != "" && len(s.WebhookSecret) < 16:
		return Errorf(EINVALID, "webhook_secret: must be at least 16 characters")
	}
	return s.Settings.Validate()
}

// Validate returns an EINVALID error naming the first bad setting.
func (s ShopSettings) Validate() error {
	if s.Country != "" && !countryPattern.MatchString(s.Country) {
		return Errorf(EINVALID, "settings.country: %q is not an ISO 3166 alpha-2 code", s.Country)
	}
	if s.TimeZone != "" {
		if _, err := time.LoadLocation(s.TimeZone); err != nil {
			return Errorf(EINVALID, "settings.time_zone: %q is not a known time zone", s.TimeZone)
		}
	}
	if s.UniqueDiscountPercent < 0 || s.UniqueDiscountPercent > 90 {
		return Errorf(EINVALID, "settings.unique_discount_percent: must be between 0 and 90")
	}
	if s.HoldoutPercent < 0 || s.HoldoutPercent > 50 {
		return Errorf(EINVALID, "settings.holdout_percent: must be between 0 and 50")
	}
	if s.RetentionDays < 0 || s.RetentionDays > 3650 {
		return Errorf(EINVALID, "settings.retention_days: must be between 1 and 3650 (0 for the default)")
	}
	if s.EmailConsent != "" && s.EmailConsent != EmailConsentAll && s.EmailConsent != EmailConsentMarketing {
		return Errorf(EINVALID, "settings.email_consent: must be %q or %q", EmailConsentAll, EmailConsentMarketing)
	}
	if s.QuietHours != nil {
		if err := s.QuietHours.Validate(); err != nil {
			return Errorf(EINVALID, "settings.quiet_hours.%s", ErrorMessage(err))
		}
	}
	if a, err := mail.ParseAddress(s.EmailReplyTo); s.EmailReplyTo != "" && (err != nil || a.Name != "" || a.Address != strings.TrimSpace(s.EmailReplyTo)) {
		return Errorf(EINVALID, "settings.email_reply_to: %q is not an email address", s.EmailReplyTo)
	}
	if len(s.DiscountCode) > 64 {
		return Errorf(EINVALID, "settings.discount_code: at most 64 characters")
	}
	if s.Sequence != nil {
		if err := s.Sequence.Validate(); err != nil {
			return Errorf(EINVALID, "settings.sequence.%s", ErrorMessage(err))
		}
	}
	return nil
}

// Duration is a time.Duration that reads and writes JSON as "15m", "1h30m".
type Duration time.Duration

// MarshalJSON writes d in time.Duration's string form.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON accepts a duration string such as "90s" or "24h". Its
// error is a *json.UnmarshalTypeError so that the decoder names the field.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return &json.UnmarshalTypeError{Value: string(b), Type: reflect.TypeFor[Duration]()}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return &json.UnmarshalTypeError{Value: fmt.Sprintf("%q", s), Type: reflect.TypeFor[Duration]()}
	}
	*d = Duration(v)
	return nil
}
