package smtp

import (
	"strings"
	"testing"
)

func TestConfigValid(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want endpoint
	}{
		{"smtp://user:pass@mail.example.com:587", endpoint{host: "mail.example.com", port: 587, mode: tlsStartTLS, user: "user", password: "pass"}},
		{"smtp://user:pass@mail.example.com", endpoint{host: "mail.example.com", port: 587, mode: tlsStartTLS, user: "user", password: "pass"}},
		{"smtps://user:pass@mail.example.com", endpoint{host: "mail.example.com", port: 465, mode: tlsImplicit, user: "user", password: "pass"}},
		{"smtps://user:pass@mail.example.com:2465", endpoint{host: "mail.example.com", port: 2465, mode: tlsImplicit, user: "user", password: "pass"}},
		{"smtp://user:pass@mail.example.com?tls=implicit", endpoint{host: "mail.example.com", port: 465, mode: tlsImplicit, user: "user", password: "pass"}},
		{"smtp://relay:25?tls=none", endpoint{host: "relay", port: 25, mode: tlsNone}},
		{"smtp://relay?tls=none&helo=app.shop-mailer.example", endpoint{host: "relay", port: 587, mode: tlsNone, helo: "app.shop-mailer.example"}},
		{"smtp://apikey:p%40ss%2Fw%3Ard@[::1]:587/", endpoint{host: "::1", port: 587, mode: tlsStartTLS, user: "apikey", password: "p@ss/w:rd"}},
	} {
		got, err := parseURL(tc.url)
		if err != nil || got != tc.want {
			t.Errorf("parseURL(%q) = %+v, %v; want %+v", tc.url, got, err, tc.want)
		}
	}
}

func TestConfigInvalid(t *testing.T) {
	for _, tc := range []struct {
		url, from string
		want      string
	}{
		{"", from, "SMTP_URL: must be set"},
		{"mail.example.com:587", from, "SMTP_URL: scheme must be smtp or smtps"},
		{"http://mail.example.com", from, "SMTP_URL: scheme"},
		{"smtp://", from, "SMTP_URL: host is missing"},
		{"smtp://mail.example.com/inbox", from, "SMTP_URL: must be scheme://"},
		{"smtp://mail.example.com:99999", from, "SMTP_URL: port"},
		{"smtp://mail.example.com?tls=maybe", from, "SMTP_URL: tls must be"},
		{"smtps://mail.example.com?tls=none", from, "SMTP_URL: smtps is implicit TLS"},
		{"smtps://mail.example.com?tls=starttls", from, "SMTP_URL: smtps is implicit TLS"},
		{"smtp://user:pass@relay:25?tls=none", from, "SMTP_URL: user and password need TLS"},
		{"smtp://user@mail.example.com", from, "SMTP_URL: password is missing"},
		{"smtp://:pass@mail.example.com", from, "SMTP_URL: user name is empty"},
		{"smtp://user:pass@mail.example.com?insecure_skip_verify=true", from, "SMTP_URL: insecure_skip_verify is not supported"},
		{"smtp://mail.example.com?verify=no", from, "SMTP_URL: unknown option"},
		{"smtp://mail.example.com?tls=none&tls=starttls", from, "SMTP_URL: option"},
		{"smtp://mail.example.com?helo=bad%20name", from, "SMTP_URL: helo"},
		{"smtp://mail.example.com", "", "EMAIL_FROM: must be set"},
		{"smtp://mail.example.com", "reminders", "EMAIL_FROM: "},
		{"smtp://mail.example.com", "reminders@localhost", "EMAIL_FROM: domain"},
		{"smtp://mail.example.com", "reminders@bücher.example", "EMAIL_FROM: domain"},
	} {
		_, err := New(Config{URL: tc.url, From: tc.from})
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("New(%q, %q) = %v, want an error starting %q", tc.url, tc.from, err, tc.want)
		}
	}
}

func TestConfigErrorsHidePassword(t *testing.T) {
	for _, url := range []string{
		"smtp://user:hunter2 x@mail.example.com",
		"smtp://user:hunter2@mail.example.com:port",
		"smtp://user:hunter2@relay?tls=none",
		"ftp://user:hunter2@mail.example.com",
	} {
		_, err := New(Config{URL: url, From: from})
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("New(%q) = %v, want an error without the password", url, err)
		}
	}
}

func TestFromAddress(t *testing.T) {
	s, err := New(Config{URL: "smtp://relay?tls=none", From: "Shop Mailer <Reminders@Shop-Mailer.Example>"})
	if err != nil {
		t.Fatal(err)
	}
	if s.from.address != "Reminders@Shop-Mailer.Example" || s.from.name != "Shop Mailer" || s.from.domain != "shop-mailer.example" {
		t.Errorf("from = %+v", s.from)
	}
	if got := s.String(); strings.Contains(got, "pass") || !strings.Contains(got, "relay:587") {
		t.Errorf("String() = %q", got)
	}
}
