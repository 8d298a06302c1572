package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
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
}

// LoadConfig reads the environment through getenv, then flags from args
// (flags win), fills defaults and validates the result.
func LoadConfig(getenv func(string) string, args []string, stderr io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("cartback", flag.ContinueOnError)
	fs.SetOutput(stderr)
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
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://localhost:" + portOf(c.Addr)
	}
	c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
	return c, c.Validate()
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
	u, err := url.Parse(c.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return fmt.Errorf("CARTBACK_PUBLIC_URL: %q must be an http(s) URL with no path, e.g. https://cartback.example.com", c.PublicURL)
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
	return nil
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
	return h == "localhost" || h == "127.0.0.1" || h == "::1"
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

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	err := l.UnmarshalText([]byte(s))
	if err != nil {
		return l, fmt.Errorf("%q is not one of debug, info, warn, error", s)
	}
	return l, nil
}
