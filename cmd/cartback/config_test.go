package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadConfigDefaults(t *testing.T) {
	c, err := LoadConfig(env(nil), nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8080" || c.DBPath != "data/cartback.db" || c.PublicURL != "http://localhost:8080" || c.LogLevel != "info" {
		t.Errorf("defaults: %+v", c)
	}
	if c.DBMappedMB != "32" || c.EmailRate != "10" || c.SMSRate != "1" || c.ShopifyReconcileEvery != "15m" {
		t.Errorf("defaults: %+v", c)
	}
	c, err = LoadConfig(env(map[string]string{"CARTBACK_ADDR": ":9000", "CARTBACK_PUBLIC_URL": "https://cb.example.com/", "CARTBACK_DB": "/tmp/env.db"}), []string{"-db", "/tmp/x.db"}, io.Discard)
	if err != nil || c.Addr != ":9000" || c.DBPath != "/tmp/x.db" || c.PublicURL != "https://cb.example.com" {
		t.Errorf("env and flags (the flag wins): %+v %v", c, err)
	}
	// A secret read from a file keeps its newline; the service must not.
	c, err = LoadConfig(env(map[string]string{"TWILIO_ACCOUNT_SID": "AC123\n", "TWILIO_AUTH_TOKEN": " secret\n", "CARTBACK_PUBLIC_URL": "https://cb.example.com"}), nil, io.Discard)
	if err != nil || c.TwilioAccountSID != "AC123" || c.TwilioAuthToken != "secret" {
		t.Errorf("values are not trimmed: %q %q %v", c.TwilioAccountSID, c.TwilioAuthToken, err)
	}
}

func TestLoadConfigNamesBadVariable(t *testing.T) {
	for name, vars := range map[string]map[string]string{
		"CARTBACK_ADDR":                   {"CARTBACK_ADDR": "8080"},
		"CARTBACK_PUBLIC_URL":             {"CARTBACK_PUBLIC_URL": "ftp://x"},
		"CARTBACK_ADMIN_TOKEN":            {"CARTBACK_ADMIN_TOKEN": "short"},
		"SHOPIFY_API_SECRET":              {"SHOPIFY_API_KEY": "key"},
		"SHOPIFY_API_SECRET_PREVIOUS":     {"SHOPIFY_API_SECRET_PREVIOUS": "old"},
		"CARTBACK_LOG_LEVEL":              {"CARTBACK_LOG_LEVEL": "loud"},
		"CARTBACK_DB_MAPPED_MB":           {"CARTBACK_DB_MAPPED_MB": "-1"},
		"EMAIL_RATE":                      {"EMAIL_RATE": "NaN"},
		"EMAIL_RATE ":                     {"EMAIL_RATE": "+Inf"},
		"SMS_RATE":                        {"SMS_RATE": "1e-9"},
		"CARTBACK_LOG_LEVEL ":             {"CARTBACK_LOG_LEVEL": "info+2"},
		"CARTBACK_LOG_LEVEL  ":            {"CARTBACK_LOG_LEVEL": "warning"},
		"TWILIO_ACCOUNT_SID":              {"TWILIO_AUTH_TOKEN": "secret"},
		"TWILIO_ACCOUNT_SID ":             {"TWILIO_FROM": "+15005550006"},
		"TWILIO_ACCOUNT_SID  ":            {"TWILIO_API_URL": "http://127.0.0.1:9"},
		"TWILIO_ACCOUNT_SID   ":           {"TWILIO_MESSAGING_SERVICE_SID": "MG123"},
		"CARTBACK_SHOPIFY_BASE_URL":       {"CARTBACK_SHOPIFY_BASE_URL": "127.0.0.1:8081"},
		"CARTBACK_SHOPIFY_BASE_URL ":      {"CARTBACK_SHOPIFY_BASE_URL": "ftp://shopify.example"},
		"CARTBACK_SHOPIFY_BASE_URL  ":     {"CARTBACK_SHOPIFY_BASE_URL": "/admin"},
		"CARTBACK_TRUSTED_PROXIES":        {"CARTBACK_TRUSTED_PROXIES": "10.0.0.0/33"},
		"CARTBACK_TRUSTED_PROXIES ":       {"CARTBACK_TRUSTED_PROXIES": "10.0.0.0/8, proxy.internal"},
		"CARTBACK_TRUSTED_PROXIES  ":      {"CARTBACK_TRUSTED_PROXIES": "0.0.0.0/0"},
		"CARTBACK_TRUSTED_PROXIES   ":     {"CARTBACK_TRUSTED_PROXIES": "10.0.0.0/8,::/0"},
		"CARTBACK_ALLOW_LOCAL_PUBLIC_URL": {"CARTBACK_ALLOW_LOCAL_PUBLIC_URL": "maybe"},
	} {
		_, err := LoadConfig(env(vars), nil, io.Discard)
		if err == nil || !strings.HasPrefix(err.Error(), strings.TrimSpace(name)+":") { // (a trailing space tells two cases of one variable apart)
			t.Errorf("%v: error %v does not name %s", vars, err, name)
		}
	}
}

// The log level is one of four names, in any case.
func TestLogLevelNames(t *testing.T) {
	for _, l := range []string{"debug", "INFO", "Warn", "error"} {
		if _, err := LoadConfig(env(map[string]string{"CARTBACK_LOG_LEVEL": l}), nil, io.Discard); err != nil {
			t.Errorf("%s: %v", l, err)
		}
	}
}

// Links and callbacks built on a local address reach nobody: with a
// provider or the Shopify app configured, a local CARTBACK_PUBLIC_URL
// (or none) fails the start unless development is said out loud.
func TestPublicURLRequiredToReachOutside(t *testing.T) {
	providers := map[string]map[string]string{
		"SMTP_URL":           {"SMTP_URL": "smtp://mail.example.com:587", "EMAIL_FROM": "shop@example.com"},
		"TWILIO_ACCOUNT_SID": {"TWILIO_ACCOUNT_SID": "AC123", "TWILIO_AUTH_TOKEN": "secret", "TWILIO_FROM": "+15005550006"},
		"SHOPIFY_API_KEY":    {"SHOPIFY_API_KEY": "key", "SHOPIFY_API_SECRET": "secret", "CARTBACK_ENCRYPTION_KEY": strings.Repeat("ab", 32)},
	}
	with := func(vars map[string]string, more ...string) map[string]string {
		out := map[string]string{}
		for k, v := range vars {
			out[k] = v
		}
		for i := 0; i < len(more); i += 2 {
			out[more[i]] = more[i+1]
		}
		return out
	}
	for name, vars := range providers {
		for _, local := range []string{"", "http://localhost:8080", "http://127.0.0.1:9000/", "http://[::1]:8080"} {
			_, err := LoadConfig(env(with(vars, "CARTBACK_PUBLIC_URL", local)), nil, io.Discard)
			if err == nil || !strings.HasPrefix(err.Error(), "CARTBACK_PUBLIC_URL:") || !strings.Contains(err.Error(), name) {
				t.Errorf("%s with public URL %q: %v", name, local, err)
			}
			if _, err := LoadConfig(env(with(vars, "CARTBACK_PUBLIC_URL", local, "CARTBACK_ALLOW_LOCAL_PUBLIC_URL", "true")), nil, io.Discard); err != nil {
				t.Errorf("%s with public URL %q, allowed: %v", name, local, err)
			}
		}
		if _, err := LoadConfig(env(with(vars, "CARTBACK_PUBLIC_URL", "https://cb.example.com")), nil, io.Discard); err != nil {
			t.Errorf("%s with a public URL: %v", name, err)
		}
	}
	// Outbox mode sends nothing: local is fine.
	if _, err := LoadConfig(env(nil), nil, io.Discard); err != nil {
		t.Errorf("outbox mode with the default URL: %v", err)
	}
}

func TestPublicURLValidation(t *testing.T) {
	for _, bad := range []string{
		"https://", "https:///", "http:x.example.com", "x.example.com", "ftp://x.example.com",
		"https://x.example.com#", "https://x.example.com#top", "https://x.example.com/#top",
		"https://x.example.com?", "https://x.example.com/?a=1",
		"https://user@x.example.com", "https://user:pw@x.example.com",
		"https://x.example.com:0", "https://x.example.com:65536", "https://x.example.com:",
		"https://x.example.com/app", "https://x.example.com/app/", "https://x.example.com/%2F",
	} {
		_, err := LoadConfig(env(map[string]string{"CARTBACK_PUBLIC_URL": bad}), nil, io.Discard)
		if err == nil || !strings.HasPrefix(err.Error(), "CARTBACK_PUBLIC_URL: "+strconv.Quote(bad)+" ") {
			t.Errorf("%q: %v, want an error quoting it as given", bad, err)
		}
	}
	for given, want := range map[string]string{
		"https://x.example.com//":      "https://x.example.com",
		"https://x.example.com:8443/":  "https://x.example.com:8443",
		"http://[2001:db8::1]:65535":   "http://[2001:db8::1]:65535",
		"HTTPS://X.Example.com":        "HTTPS://X.Example.com",
		"http://cartback.internal:1/":  "http://cartback.internal:1",
		"https://x.example.com:443///": "https://x.example.com:443",
	} {
		c, err := LoadConfig(env(map[string]string{"CARTBACK_PUBLIC_URL": given}), nil, io.Discard)
		if err != nil || c.PublicURL != want {
			t.Errorf("%q: %q %v, want %q", given, c.PublicURL, err, want)
		}
	}
}

func TestTrustedProxies(t *testing.T) {
	c, err := LoadConfig(env(map[string]string{"CARTBACK_TRUSTED_PROXIES": " 10.0.0.0/8, 192.0.2.7,fd00::/8 ,10.1.2.3/16"}), nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.trustedProxies()
	if err != nil || fmt.Sprint(got) != "[10.0.0.0/8 192.0.2.7/32 fd00::/8 10.1.0.0/16]" {
		t.Errorf("trusted proxies: %v %v", got, err)
	}
	if got, _ := (Config{}).trustedProxies(); len(got) != 0 {
		t.Errorf("none configured: %v", got)
	}
}
