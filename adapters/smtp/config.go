package smtp

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultTimeout bounds one Send: connecting, the SMTP dialogue and QUIT.
const DefaultTimeout = 30 * time.Second

// Default ports per connection security.
const (
	defaultPortSubmission = 587 // STARTTLS and plain relays
	defaultPortImplicit   = 465 // SMTPS
)

// Config configures a Sender.
type Config struct {
	// URL is SMTP_URL: where to submit mail and how. The forms are
	//
	//	smtp://user:pass@host:587          STARTTLS, required before AUTH
	//	smtps://user:pass@host:465         implicit TLS
	//	smtp://host:25?tls=none            plain SMTP to a trusted local relay
	//
	// Port 587 is the default for smtp, 465 for smtps. The query may set
	// tls=none|starttls|implicit and helo=name (the EHLO name). User names
	// and passwords with special characters must be percent-encoded.
	URL string
	// From is EMAIL_FROM, the bare address every reminder is sent from,
	// e.g. "reminders@shop-mailer.example". Its domain also names the
	// Message-IDs. The display name of each message is the shop's.
	From string
	// Timeout bounds one Send; zero means DefaultTimeout.
	Timeout time.Duration
	// RootCAs verifies the server's certificate instead of the system
	// roots. It is meant for tests and private CAs; verification itself
	// can never be turned off.
	RootCAs *x509.CertPool
	// Logger receives warnings; nil means slog.Default().
	Logger *slog.Logger
}

// tlsMode is how the connection to the server is protected.
type tlsMode int

const (
	tlsStartTLS tlsMode = iota
	tlsImplicit
	tlsNone
)

func (m tlsMode) String() string {
	switch m {
	case tlsImplicit:
		return "implicit"
	case tlsNone:
		return "none"
	default:
		return "starttls"
	}
}

// endpoint is a parsed SMTP_URL.
type endpoint struct {
	host     string
	port     int
	mode     tlsMode
	user     string
	password string
	helo     string
}

// parseURL validates SMTP_URL. Its errors never repeat the URL: it may
// hold a password, and the error ends up in logs.
func parseURL(raw string) (endpoint, error) {
	var ep endpoint
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return ep, errors.New("SMTP_URL: must be set, e.g. smtp://user:pass@smtp.example.com:587")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ep, errors.New("SMTP_URL: not a valid URL (percent-encode special characters in the user name and password)")
	}
	switch u.Scheme {
	case "smtp":
		ep.mode = tlsStartTLS
	case "smtps":
		ep.mode = tlsImplicit
	default:
		return ep, fmt.Errorf("SMTP_URL: scheme must be smtp or smtps, not %q", u.Scheme)
	}
	if u.Opaque != "" || (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return ep, errors.New("SMTP_URL: must be scheme://[user:pass@]host[:port][?options] without a path")
	}
	ep.host = u.Hostname()
	if ep.host == "" {
		return ep, errors.New("SMTP_URL: host is missing")
	}

	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return ep, errors.New("SMTP_URL: the query is not valid")
	}
	for key, vals := range q {
		if len(vals) != 1 {
			return ep, fmt.Errorf("SMTP_URL: option %q given more than once", key)
		}
		val := vals[0]
		switch key {
		case "tls":
			switch val {
			case "starttls":
				if u.Scheme == "smtps" {
					return ep, errors.New("SMTP_URL: smtps is implicit TLS; use smtp:// for tls=starttls")
				}
				ep.mode = tlsStartTLS
			case "implicit":
				ep.mode = tlsImplicit
			case "none":
				if u.Scheme == "smtps" {
					return ep, errors.New("SMTP_URL: smtps is implicit TLS; use smtp:// for tls=none")
				}
				ep.mode = tlsNone
			default:
				return ep, fmt.Errorf("SMTP_URL: tls must be none, starttls or implicit, not %q", val)
			}
		case "helo":
			if !validHELO(val) {
				return ep, fmt.Errorf("SMTP_URL: helo must be a host name, not %q", val)
			}
			ep.helo = val
		case "insecure_skip_verify":
			// Skipping verification would let anyone on the path read the
			// SMTP password; a private CA belongs in the system roots.
			return ep, errors.New("SMTP_URL: insecure_skip_verify is not supported; certificates are always verified")
		default:
			return ep, fmt.Errorf("SMTP_URL: unknown option %q (known: tls, helo)", key)
		}
	}

	switch p := u.Port(); {
	case p != "":
		ep.port, err = strconv.Atoi(p)
		if err != nil || ep.port < 1 || ep.port > 65535 {
			return ep, fmt.Errorf("SMTP_URL: port %q is not valid", p)
		}
	case ep.mode == tlsImplicit:
		ep.port = defaultPortImplicit
	default:
		ep.port = defaultPortSubmission
	}

	if u.User != nil {
		ep.user = u.User.Username()
		pass, hasPass := u.User.Password()
		switch {
		case ep.mode == tlsNone:
			// Refuse rather than send the password where anyone on the
			// path can read it.
			return ep, errors.New("SMTP_URL: user and password need TLS; remove them or drop tls=none")
		case ep.user == "":
			return ep, errors.New("SMTP_URL: user name is empty")
		case !hasPass || pass == "":
			return ep, errors.New("SMTP_URL: password is missing (smtp://user:pass@host)")
		}
		ep.password = pass
	}
	return ep, nil
}

// validHELO reports whether s can be sent as the EHLO name: a host name
// or an address literal, nothing that could break the command line.
func validHELO(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune(".-[]:", r):
		default:
			return false
		}
	}
	return true
}

// sender is a parsed EMAIL_FROM.
type sender struct {
	address string
	// name is EMAIL_FROM's display name, if it had one; shops' names come
	// first.
	name   string
	domain string
}

// parseFrom validates EMAIL_FROM.
func parseFrom(raw string) (sender, error) {
	var s sender
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return s, errors.New("EMAIL_FROM: must be set, e.g. reminders@shop-mailer.example")
	}
	a, err := mail.ParseAddress(raw)
	if err != nil {
		return s, fmt.Errorf("EMAIL_FROM: %q is not an email address", raw)
	}
	at := strings.LastIndexByte(a.Address, '@')
	if at < 1 {
		return s, fmt.Errorf("EMAIL_FROM: %q is not an email address", raw)
	}
	domain := strings.ToLower(a.Address[at+1:])
	// The domain becomes the right-hand side of every Message-ID, which
	// must be plain ASCII (RFC 5322 msg-id); SPF and DKIM work on the
	// ASCII form too.
	if !validDomain(domain) {
		return s, fmt.Errorf("EMAIL_FROM: domain %q must be an ASCII host name such as shop-mailer.example (use the punycode form)", domain)
	}
	return sender{address: a.Address, name: a.Name, domain: domain}, nil
}

// validDomain reports whether d is a dotted ASCII host name.
func validDomain(d string) bool {
	if d == "" || len(d) > 253 || !strings.Contains(d, ".") {
		return false
	}
	for label := range strings.SplitSeq(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}
