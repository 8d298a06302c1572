package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cartback/cartback/adapters/shopify/app"
	"github.com/cartback/cartback/recovery"
)

// Config is everything cartback reads from its environment and flags.
type Config struct {
	// Addr is the HTTP listen address (CARTBACK_ADDR).
	Addr string
	// DBPath is the bbolt database file (CARTBACK_DB).
	DBPath string
	// DBMappedMB caps in MiB how much of the database file stays mapped
	// in the process (CARTBACK_DB_MAPPED_MB) before the mapping's pages
	// are handed back to the kernel's page cache; 0 never does.
	DBMappedMB string
	// PublicURL is how shops and shoppers reach this service
	// (CARTBACK_PUBLIC_URL); links and webhook addresses are built from it.
	PublicURL string
	// AdminToken authorises the admin API (CARTBACK_ADMIN_TOKEN); when empty
	// one is generated on first start and kept in the database.
	AdminToken string
	// ShopifyAPIKey and ShopifyAPISecret are the Shopify app's credentials;
	// ShopifyAPISecretPrevious keeps verifying during a secret rotation.
	ShopifyAPIKey            string
	ShopifyAPISecret         string
	ShopifyAPISecretPrevious string
	// EncryptionKey seals Shopify access tokens at rest
	// (CARTBACK_ENCRYPTION_KEY: 32 bytes, hex or base64).
	EncryptionKey string
	// ShopifyBaseURL replaces https://{shop} for OAuth and Admin API calls
	// (CARTBACK_SHOPIFY_BASE_URL), for tests and local development.
	ShopifyBaseURL string
	// ShopifyReconcileEvery is how often abandoned checkouts are read back
	// from Shopify (CARTBACK_SHOPIFY_RECONCILE_EVERY).
	ShopifyReconcileEvery string
	// SigningKey signs restore and unsubscribe links (CARTBACK_SIGNING_KEY);
	// when empty one is generated once and kept in the database.
	SigningKey string
	// PreviousSigningKeys (comma-separated) keep verifying links signed
	// before a rotation (CARTBACK_SIGNING_KEY_PREVIOUS).
	PreviousSigningKeys string
	// SMTPURL and EmailFrom configure email delivery (SMTP_URL,
	// EMAIL_FROM); without them email goes to the outbox.
	SMTPURL   string
	EmailFrom string
	// EmailRate is the most emails sent per second (EMAIL_RATE).
	EmailRate string
	// Twilio configures SMS delivery; without an account SID SMS goes to
	// the outbox.
	TwilioAccountSID          string
	TwilioAuthToken           string
	TwilioFrom                string
	TwilioMessagingServiceSID string
	TwilioAPIURL              string
	// SMSRate is the most texts sent per second (SMS_RATE); Twilio allows
	// one per second per long-code sender number.
	SMSRate string
	// LogLevel is debug, info, warn or error (CARTBACK_LOG_LEVEL).
	LogLevel string
	// AllowLocalPublicURL lets a local PublicURL stand while messages go
	// out through a provider or the Shopify app is configured
	// (CARTBACK_ALLOW_LOCAL_PUBLIC_URL): development against fakes, where
	// nobody outside this machine follows the links.
	AllowLocalPublicURL string
	// TrustedProxies are the comma-separated networks (CIDR) of reverse
	// proxies whose X-Forwarded-For names the client
	// (CARTBACK_TRUSTED_PROXIES); empty trusts none.
	TrustedProxies string
}

// envVar describes one configuration variable, for flags and the README.
type envVar struct {
	name, flag, def, usage string
	field                  func(*Config) *string
}

var envVars = []envVar{
	{"CARTBACK_ADDR", "addr", ":8080", "HTTP listen address", func(c *Config) *string { return &c.Addr }},
	{"CARTBACK_DB", "db", "data/cartback.db", "bbolt database file", func(c *Config) *string { return &c.DBPath }},
	{"CARTBACK_DB_MAPPED_MB", "", "32", "MiB of the database file kept mapped in the process (Linux); past it the pages go back to the kernel's page cache, 0: never", func(c *Config) *string { return &c.DBMappedMB }},
	{"CARTBACK_PUBLIC_URL", "public-url", "", "public base URL (default http://localhost:PORT)", func(c *Config) *string { return &c.PublicURL }},
	{"CARTBACK_ADMIN_TOKEN", "", "", "admin API token (generated and stored when empty)", func(c *Config) *string { return &c.AdminToken }},
	{"SHOPIFY_API_KEY", "", "", "Shopify app client id", func(c *Config) *string { return &c.ShopifyAPIKey }},
	{"SHOPIFY_API_SECRET", "", "", "Shopify app client secret", func(c *Config) *string { return &c.ShopifyAPISecret }},
	{"CARTBACK_ENCRYPTION_KEY", "", "", "32-byte key (hex or base64) sealing Shopify tokens at rest", func(c *Config) *string { return &c.EncryptionKey }},
	{"CARTBACK_SHOPIFY_BASE_URL", "", "", "replaces https://{shop} for Shopify OAuth and API calls (tests, development)", func(c *Config) *string { return &c.ShopifyBaseURL }},
	{"CARTBACK_SHOPIFY_RECONCILE_EVERY", "", "15m", "how often abandoned checkouts are reconciled with Shopify", func(c *Config) *string { return &c.ShopifyReconcileEvery }},
	{"SHOPIFY_API_SECRET_PREVIOUS", "", "", "previous Shopify app secret, during a rotation", func(c *Config) *string { return &c.ShopifyAPISecretPrevious }},
	{"CARTBACK_SIGNING_KEY", "", "", "key signing restore links, at least 32 bytes (generated and stored when empty)", func(c *Config) *string { return &c.SigningKey }},
	{"CARTBACK_SIGNING_KEY_PREVIOUS", "", "", "comma-separated earlier signing keys, still accepted", func(c *Config) *string { return &c.PreviousSigningKeys }},
	{"SMTP_URL", "", "", "SMTP server: smtp://user:pass@host:587 (STARTTLS), smtps://user:pass@host:465, smtp://host:25?tls=none", func(c *Config) *string { return &c.SMTPURL }},
	{"EMAIL_FROM", "", "", "sender address of reminder emails", func(c *Config) *string { return &c.EmailFrom }},
	{"EMAIL_RATE", "", "10", "most emails per second", func(c *Config) *string { return &c.EmailRate }},
	{"TWILIO_ACCOUNT_SID", "", "", "Twilio account SID", func(c *Config) *string { return &c.TwilioAccountSID }},
	{"TWILIO_AUTH_TOKEN", "", "", "Twilio auth token", func(c *Config) *string { return &c.TwilioAuthToken }},
	{"TWILIO_FROM", "", "", "Twilio sender number (E.164)", func(c *Config) *string { return &c.TwilioFrom }},
	{"TWILIO_MESSAGING_SERVICE_SID", "", "", "Twilio messaging service, instead of TWILIO_FROM", func(c *Config) *string { return &c.TwilioMessagingServiceSID }},
	{"TWILIO_API_URL", "", "", "replaces Twilio's API base URL (tests, compatible gateways)", func(c *Config) *string { return &c.TwilioAPIURL }},
	{"SMS_RATE", "", "1", "most texts per second", func(c *Config) *string { return &c.SMSRate }},
	{"CARTBACK_LOG_LEVEL", "log-level", "info", "log level: debug, info, warn, error", func(c *Config) *string { return &c.LogLevel }},
	{"CARTBACK_ALLOW_LOCAL_PUBLIC_URL", "", "false", "true: keep a local CARTBACK_PUBLIC_URL with a provider or the Shopify app configured (development against fakes)", func(c *Config) *string { return &c.AllowLocalPublicURL }},
	{"CARTBACK_TRUSTED_PROXIES", "", "", "comma-separated networks (CIDR) of reverse proxies whose X-Forwarded-For names the client", func(c *Config) *string { return &c.TrustedProxies }},
}

// LoadConfig reads the environment through getenv, then flags from args
// (flags win), fills defaults and validates the result. -h prints the
// flags to stderr and returns flag.ErrHelp.
func LoadConfig(getenv func(string) string, args []string, stderr io.Writer) (Config, error) {
	c, rest, err := loadConfig(getenv, args, stderr, "cartback", "")
	if err == nil && len(rest) > 0 {
		return c, fmt.Errorf("unexpected argument %q", rest[0])
	}
	return c, err
}

// loadConfig is LoadConfig for a command that takes arguments after its
// flags (usage shows them); it returns them.
func loadConfig(getenv func(string) string, args []string, stderr io.Writer, name, usage string) (Config, []string, error) {
	var c Config
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: %s [flags]%s\n", name, usage)
		fs.PrintDefaults()
	}
	for _, v := range envVars {
		p := v.field(&c)
		*p = v.def
		// Secrets are often read from files that end with a newline.
		if e := strings.TrimSpace(getenv(v.name)); e != "" {
			*p = e
		}
		if v.flag != "" {
			fs.StringVar(p, v.flag, *p, v.usage+" ("+v.name+")")
		}
	}
	if err := fs.Parse(args); err != nil {
		return c, nil, err
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://localhost:" + portOf(c.Addr)
	}
	// Trailing slashes go; a URL that is bad anyway is kept as given, for
	// Validate to quote.
	if u, err := checkPublicURL(c.PublicURL); err == nil {
		c.PublicURL = u
	}
	return c, fs.Args(), c.Validate()
}

func portOf(addr string) string {
	if _, port, err := net.SplitHostPort(addr); err == nil && port != "" && port != "0" {
		return port
	}
	return "8080"
}

// Validate returns an error naming the first bad variable.
func (c Config) Validate() error {
	if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
		return fmt.Errorf("CARTBACK_ADDR: %q is not host:port (e.g. \":8080\")", c.Addr)
	}
	if strings.TrimSpace(c.DBPath) == "" {
		return fmt.Errorf("CARTBACK_DB: must name a file")
	}
	if _, err := c.dbMappedLimit(); err != nil {
		return err
	}
	if _, err := checkPublicURL(c.PublicURL); err != nil {
		return err
	}
	if c.AdminToken != "" && len(c.AdminToken) < 16 {
		return fmt.Errorf("CARTBACK_ADMIN_TOKEN: must be at least 16 characters")
	}
	if (c.ShopifyAPIKey == "") != (c.ShopifyAPISecret == "") {
		return fmt.Errorf("SHOPIFY_API_SECRET: SHOPIFY_API_KEY and SHOPIFY_API_SECRET must be set together")
	}
	if c.EncryptionKey != "" {
		if _, err := app.ParseKey(c.EncryptionKey); err != nil {
			return fmt.Errorf("CARTBACK_ENCRYPTION_KEY: %v", err)
		}
	}
	if c.ShopifyAPIKey != "" && c.EncryptionKey == "" && !c.development() {
		return fmt.Errorf("CARTBACK_ENCRYPTION_KEY: required with the Shopify app outside development (a local CARTBACK_PUBLIC_URL)")
	}
	if c.ShopifyBaseURL != "" {
		if u, err := url.Parse(c.ShopifyBaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || strings.ContainsAny(c.ShopifyBaseURL, "?#") {
			return fmt.Errorf("CARTBACK_SHOPIFY_BASE_URL: %q is not an absolute http(s) URL, e.g. http://127.0.0.1:8081", c.ShopifyBaseURL)
		}
	}
	if d, err := time.ParseDuration(c.ShopifyReconcileEvery); err != nil || d < time.Minute {
		return fmt.Errorf("CARTBACK_SHOPIFY_RECONCILE_EVERY: %q is not a duration of at least 1m", c.ShopifyReconcileEvery)
	}
	if c.ShopifyAPISecretPrevious != "" && c.ShopifyAPISecret == "" {
		return fmt.Errorf("SHOPIFY_API_SECRET_PREVIOUS: set only alongside SHOPIFY_API_SECRET")
	}
	if c.SigningKey != "" && len(c.SigningKey) < recovery.MinSigningKeyBytes {
		return fmt.Errorf("CARTBACK_SIGNING_KEY: must be at least %d bytes", recovery.MinSigningKeyBytes)
	}
	for _, k := range c.previousSigningKeys() {
		if len(k) < recovery.MinSigningKeyBytes {
			return fmt.Errorf("CARTBACK_SIGNING_KEY_PREVIOUS: every key must be at least %d bytes", recovery.MinSigningKeyBytes)
		}
	}
	if c.PreviousSigningKeys != "" && c.SigningKey == "" {
		return fmt.Errorf("CARTBACK_SIGNING_KEY_PREVIOUS: set only alongside CARTBACK_SIGNING_KEY")
	}
	if (c.SMTPURL == "") != (c.EmailFrom == "") {
		return fmt.Errorf("EMAIL_FROM: SMTP_URL and EMAIL_FROM must be set together")
	}
	if c.TwilioAccountSID == "" {
		// Without the SID the other settings would be ignored and texts
		// would quietly stay in the outbox.
		for _, v := range []struct{ name, value string }{
			{"TWILIO_AUTH_TOKEN", c.TwilioAuthToken}, {"TWILIO_FROM", c.TwilioFrom},
			{"TWILIO_MESSAGING_SERVICE_SID", c.TwilioMessagingServiceSID}, {"TWILIO_API_URL", c.TwilioAPIURL},
		} {
			if v.value != "" {
				return fmt.Errorf("TWILIO_ACCOUNT_SID: required when %s is set (without it texts stay in the outbox)", v.name)
			}
		}
	}
	for name, v := range map[string]string{"EMAIL_RATE": c.EmailRate, "SMS_RATE": c.SMSRate} {
		// NaN and infinities parse but pace nothing; below one message an
		// hour, sending would as good as stop.
		if r, err := strconv.ParseFloat(v, 64); err != nil || !(r >= 1.0/3600 && r <= 10000) {
			return fmt.Errorf("%s: %q is not a number of messages per second from 0.0003 (one an hour) to 10000", name, v)
		}
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		return fmt.Errorf("CARTBACK_LOG_LEVEL: %v", err)
	}
	if _, err := c.trustedProxies(); err != nil {
		return err
	}
	allowLocal, err := strconv.ParseBool(c.AllowLocalPublicURL)
	if err != nil {
		return fmt.Errorf("CARTBACK_ALLOW_LOCAL_PUBLIC_URL: %q is not true or false", c.AllowLocalPublicURL)
	}
	// Last, so that a provider's own settings are reported first.
	if used := c.reachesOutside(); used != "" && c.development() && !allowLocal {
		return fmt.Errorf("CARTBACK_PUBLIC_URL: %q is local (unset, it defaults to http://localhost:PORT), but with %s set links and callbacks must reach this service from outside; set the address shoppers reach it at, e.g. https://cartback.example.com (or CARTBACK_ALLOW_LOCAL_PUBLIC_URL=true for development)", c.PublicURL, used)
	}
	return nil
}

// checkPublicURL validates CARTBACK_PUBLIC_URL and returns it without
// trailing slashes: links are built by appending paths to it.
func checkPublicURL(raw string) (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("CARTBACK_PUBLIC_URL: %q %s; it must be an http(s) URL with only a host and port, e.g. https://cartback.example.com", raw, why)
	}
	trimmed := strings.TrimRight(raw, "/")
	u, err := url.Parse(trimmed)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "":
		return bad("is not an absolute http(s) URL")
	case strings.Contains(raw, "#"):
		return bad("has a fragment")
	case strings.Contains(raw, "?"):
		return bad("has a query")
	case u.User != nil:
		return bad("has a user name or password")
	case u.Path != "" || u.RawPath != "":
		return bad("has a path")
	case u.Hostname() == "":
		return bad("has no host")
	}
	if strings.HasSuffix(u.Host, ":") {
		return bad("has an empty port")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return bad("has a port outside 1-65535")
		}
	}
	return trimmed, nil
}

// reachesOutside names the first setting through which cartback sends
// links or takes callbacks from outside this machine, or returns "".
func (c Config) reachesOutside() string {
	switch {
	case c.SMTPURL != "":
		return "SMTP_URL"
	case c.TwilioAccountSID != "":
		return "TWILIO_ACCOUNT_SID"
	case c.ShopifyAPIKey != "":
		return "SHOPIFY_API_KEY"
	}
	return ""
}

// trustedProxies parses CARTBACK_TRUSTED_PROXIES; a bare address is a
// network of that one host.
func (c Config) trustedProxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(c.TrustedProxies, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil || a.Zone() != "" {
				return nil, fmt.Errorf("CARTBACK_TRUSTED_PROXIES: %q is not a network such as 10.0.0.0/8 or fd00::/8", s)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		if p.Bits() == 0 {
			// Every address: any client could then name itself in
			// X-Forwarded-For.
			return nil, fmt.Errorf("CARTBACK_TRUSTED_PROXIES: %q trusts every address; list the proxies' own addresses or networks", s)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// dbMappedLimit returns CARTBACK_DB_MAPPED_MB in bytes.
func (c Config) dbMappedLimit() (int64, error) {
	mb, err := strconv.ParseInt(c.DBMappedMB, 10, 64)
	if err != nil || mb < 0 || mb > 1<<20 {
		return 0, fmt.Errorf("CARTBACK_DB_MAPPED_MB: %q is not a whole number of MiB from 0 to 1048576", c.DBMappedMB)
	}
	return mb << 20, nil
}

// development reports whether the service only serves this machine, where
// generated keys are acceptable.
func (c Config) development() bool {
	u, err := url.Parse(c.PublicURL)
	if err != nil {
		return false
	}
	h := u.Hostname()
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Unmap().IsLoopback()
	}
	return strings.EqualFold(h, "localhost")
}

func (c Config) previousSigningKeys() []string {
	var keys []string
	for _, k := range strings.Split(c.PreviousSigningKeys, ",") {
		if k = strings.TrimSpace(k); k != "" {
			keys = append(keys, k)
		}
	}
	return keys
}

// parseLevel reads CARTBACK_LOG_LEVEL: one of the four names, in any case
// (slog's own syntax would also take offsets such as "info+2").
func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("%q is not one of debug, info, warn, error", s)
}
