package main

import (
	"io"
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
	c, err = LoadConfig(env(map[string]string{"TWILIO_ACCOUNT_SID": "AC123\n", "TWILIO_AUTH_TOKEN": " secret\n"}), nil, io.Discard)
	if err != nil || c.TwilioAccountSID != "AC123" || c.TwilioAuthToken != "secret" {
		t.Errorf("values are not trimmed: %q %q %v", c.TwilioAccountSID, c.TwilioAuthToken, err)
	}
}

func TestLoadConfigNamesBadVariable(t *testing.T) {
	for name, vars := range map[string]map[string]string{
		"CARTBACK_ADDR":               {"CARTBACK_ADDR": "8080"},
		"CARTBACK_PUBLIC_URL":         {"CARTBACK_PUBLIC_URL": "ftp://x"},
		"CARTBACK_ADMIN_TOKEN":        {"CARTBACK_ADMIN_TOKEN": "short"},
		"SHOPIFY_API_SECRET":          {"SHOPIFY_API_KEY": "key"},
		"SHOPIFY_API_SECRET_PREVIOUS": {"SHOPIFY_API_SECRET_PREVIOUS": "old"},
		"CARTBACK_LOG_LEVEL":          {"CARTBACK_LOG_LEVEL": "loud"},
		"CARTBACK_DB_MAPPED_MB":       {"CARTBACK_DB_MAPPED_MB": "-1"},
		"EMAIL_RATE":                  {"EMAIL_RATE": "NaN"},
		"EMAIL_RATE ":                 {"EMAIL_RATE": "+Inf"},
		"SMS_RATE":                    {"SMS_RATE": "1e-9"},
	} {
		_, err := LoadConfig(env(vars), nil, io.Discard)
		if err == nil || !strings.HasPrefix(err.Error(), strings.TrimSpace(name)+":") { // (a trailing space tells two cases of one variable apart)
			t.Errorf("%v: error %v does not name %s", vars, err, name)
		}
	}
}
