// Package twilio sends SMS reminders through Twilio's Programmable
// Messaging API and reads the webhooks Twilio sends back: delivery status
// callbacks and inbound replies (STOP, START, …).
//
// The Sender classifies every failure as a *recovery.SendError so the
// engine knows whether trying again is safe: it must never deliver the
// same reminder twice.
package twilio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/cartback/cartback/recovery"
)

// Environment variables the service reads a Config from; New's errors
// name them.
const (
	EnvAccountSID          = "TWILIO_ACCOUNT_SID"
	EnvAuthToken           = "TWILIO_AUTH_TOKEN"
	EnvFrom                = "TWILIO_FROM"
	EnvMessagingServiceSID = "TWILIO_MESSAGING_SERVICE_SID"
	EnvAPIURL              = "TWILIO_API_URL"
)

// Provider names Twilio in messages' Provider field and delivery reports.
const Provider = "twilio"

// StatusCallbackPath is where the HTTP layer receives delivery status
// callbacks, below CARTBACK_PUBLIC_URL.
const StatusCallbackPath = "/webhooks/twilio/status"

// DefaultTimeout bounds one API request when Config.HTTPClient is nil.
const DefaultTimeout = 10 * time.Second

// CodeUnknownOutcome is the SendError code for a request that reached the
// network but whose answer never arrived (or could not be read): Twilio
// may have created the message, so sending again could deliver a second
// copy.
const CodeUnknownOutcome = "unknown-outcome"

// Config is what the Sender needs to reach Twilio.
type Config struct {
	// AccountSID ("AC…") and AuthToken authenticate every request.
	AccountSID string
	AuthToken  string
	// From is the sending number (E.164), short code or alphanumeric
	// sender ID. Exactly one of From and MessagingServiceSID is set.
	From string
	// MessagingServiceSID ("MG…") lets a Messaging Service pick the
	// sender.
	MessagingServiceSID string
	// APIURL, when set, replaces https://api.twilio.com (scheme, host and
	// a path prefix), for tests and Twilio-compatible gateways.
	APIURL string
	// StatusCallbackURL receives delivery reports; see StatusCallbackURL.
	// Empty means no status callbacks.
	StatusCallbackURL string
	// HTTPClient supplies the transport, cookie jar, redirect policy and
	// timeout (zero: none beyond the caller's context). Nil means
	// http.DefaultTransport with DefaultTimeout and no redirects.
	HTTPClient *http.Client
}

// StatusCallbackURL is the status callback address for a deployment
// reachable at publicURL (CARTBACK_PUBLIC_URL).
func StatusCallbackURL(publicURL string) string {
	return strings.TrimRight(publicURL, "/") + StatusCallbackPath
}

var (
	// twilio-go refuses credentials with anything but letters and digits.
	alphanumeric = regexp.MustCompile(`^[A-Za-z0-9]+$`)
	e164         = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	shortCode    = regexp.MustCompile(`^[0-9]{3,8}$`)
	// Alphanumeric sender IDs: up to 11 letters, digits and spaces, at
	// least one letter.
	senderID = regexp.MustCompile(`^[A-Za-z0-9 ]{1,11}$`)
	letter   = regexp.MustCompile(`[A-Za-z]`)
)

// validate checks c and returns the parsed APIURL (nil when unset).
func (c *Config) validate() (*url.URL, error) {
	switch {
	case c.AccountSID == "":
		return nil, fmt.Errorf("%s: required", EnvAccountSID)
	case !strings.HasPrefix(c.AccountSID, "AC") || !alphanumeric.MatchString(c.AccountSID):
		return nil, fmt.Errorf("%s: %q is not an account SID (AC followed by letters and digits)", EnvAccountSID, c.AccountSID)
	case c.AuthToken == "":
		return nil, fmt.Errorf("%s: required", EnvAuthToken)
	case !alphanumeric.MatchString(c.AuthToken):
		return nil, fmt.Errorf("%s: may hold only letters and digits", EnvAuthToken)
	case c.From == "" && c.MessagingServiceSID == "":
		return nil, fmt.Errorf("%s: required (or set %s)", EnvFrom, EnvMessagingServiceSID)
	case c.From != "" && c.MessagingServiceSID != "":
		return nil, fmt.Errorf("%s: set only one of %s and %s", EnvMessagingServiceSID, EnvFrom, EnvMessagingServiceSID)
	case c.From != "" && !validFrom(c.From):
		return nil, fmt.Errorf("%s: %q is neither an E.164 number (+4791234567), a short code nor an alphanumeric sender ID", EnvFrom, c.From)
	case c.MessagingServiceSID != "" && (!strings.HasPrefix(c.MessagingServiceSID, "MG") || !alphanumeric.MatchString(c.MessagingServiceSID)):
		return nil, fmt.Errorf("%s: %q is not a messaging service SID (MG followed by letters and digits)", EnvMessagingServiceSID, c.MessagingServiceSID)
	}
	if c.StatusCallbackURL != "" {
		if _, err := absoluteURL(c.StatusCallbackURL); err != nil {
			return nil, fmt.Errorf("CARTBACK_PUBLIC_URL: status callback %s", err)
		}
	}
	if c.APIURL == "" {
		return nil, nil
	}
	u, err := absoluteURL(c.APIURL)
	if err != nil {
		return nil, fmt.Errorf("%s: %s", EnvAPIURL, err)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%s: %q may not have a query or fragment", EnvAPIURL, c.APIURL)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

func validFrom(s string) bool {
	return e164.MatchString(s) || shortCode.MatchString(s) ||
		(senderID.MatchString(s) && letter.MatchString(s))
}

func absoluteURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return u, nil
}

// Sender sends SMS through Twilio. It implements recovery.Sender and is
// safe for concurrent use.
type Sender struct {
	cfg     Config
	apiURL  *url.URL
	base    http.RoundTripper
	jar     http.CookieJar
	timeout time.Duration
	// redirect is the redirect policy; Twilio never redirects a create.
	redirect func(*http.Request, []*http.Request) error
}

var _ recovery.Sender = (*Sender)(nil)

// ProviderName tells the engine which provider sent a message (Provider).
func (s *Sender) ProviderName() string { return Provider }

// New checks cfg and returns a Sender. Errors name the environment
// variable at fault, e.g. "TWILIO_FROM: …".
func New(cfg Config) (*Sender, error) {
	apiURL, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	s := &Sender{
		cfg:      cfg,
		apiURL:   apiURL,
		base:     http.DefaultTransport,
		timeout:  DefaultTimeout,
		redirect: noRedirect,
	}
	if hc := cfg.HTTPClient; hc != nil {
		if hc.Transport != nil {
			s.base = hc.Transport
		}
		if hc.CheckRedirect != nil {
			s.redirect = hc.CheckRedirect
		}
		s.jar = hc.Jar
		s.timeout = hc.Timeout
	}
	return s, nil
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Send creates the message m.Text for m.To and returns its SID. The body
// is sent as is: the engine has already added the opt-out line.
//
// A failure is always a *recovery.SendError:
//   - Temporary: HTTP 429 or 5xx, or a network error before the request
//     was written. Code is Twilio's error code when it gave one.
//   - Permanent with Twilio's error code, or "http-NNN" when a 4xx came
//     without one. StopContact is set when the code says the recipient
//     opted out or the number is unusable (OptOutCode,
//     UnusableNumberCode).
//   - Permanent with Code CodeUnknownOutcome when the request was written
//     but no usable answer came back (timeout, reset, unreadable 2xx):
//     the message may exist, so it must not be sent again.
func (s *Sender) Send(ctx context.Context, m *recovery.Message) (string, error) {
	if m == nil || m.To == "" {
		return "", &recovery.SendError{Message: "twilio: message has no recipient"}
	}
	if s.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.timeout)
		defer cancel()
	}
	t := &transport{ctx: ctx, base: s.base, apiURL: s.apiURL}
	c := &client.Client{
		Credentials: client.NewCredentials(s.cfg.AccountSID, s.cfg.AuthToken),
		// No Timeout here: ctx carries it, and http.Client would
		// otherwise replace the request's context with its own.
		HTTPClient: &http.Client{
			Transport:     t,
			CheckRedirect: s.redirect,
			Jar:           s.jar,
		},
		UserAgentExtensions: []string{"cartback"},
	}
	c.SetAccountSid(s.cfg.AccountSID)

	params := &api.CreateMessageParams{}
	params.SetTo(m.To)
	params.SetBody(m.Text)
	if s.cfg.MessagingServiceSID != "" {
		params.SetMessagingServiceSid(s.cfg.MessagingServiceSID)
	} else {
		params.SetFrom(s.cfg.From)
	}
	if s.cfg.StatusCallbackURL != "" {
		params.SetStatusCallback(s.cfg.StatusCallbackURL)
	}

	msg, err := api.NewApiServiceWithClient(c).CreateMessage(params)
	status := t.responseStatus()
	if err != nil {
		return "", classify(err, status, t.wrote.Load())
	}
	if msg.Sid == nil || *msg.Sid == "" {
		if status >= 200 && status < 300 {
			return "", &recovery.SendError{Code: CodeUnknownOutcome, Unknown: true, Message: fmt.Sprintf("twilio: HTTP %d without a message SID", status)}
		}
		return "", &recovery.SendError{Code: httpCode(status), Message: fmt.Sprintf("twilio: unexpected HTTP %d", status)}
	}
	return *msg.Sid, nil
}

// classify turns a failed create into a SendError. status is the HTTP
// status received (0: none) and wrote whether the request was written.
func classify(err error, status int, wrote bool) *recovery.SendError {
	var restErr *client.TwilioRestError
	var v1Err *client.RestErrorV1
	code := 0
	msg := err.Error()
	switch {
	case errors.As(err, &restErr):
		code, msg = restErr.Code, restErr.Message
		if status == 0 {
			// Raised before any request, e.g. credentials refused.
			status = restErr.Status
		}
	case errors.As(err, &v1Err):
		code, msg = v1Err.Code, v1Err.Message
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	se := &recovery.SendError{Message: "twilio: " + msg}
	if code != 0 {
		se.Code = fmt.Sprint(code)
	}
	switch {
	case status == 0 && !wrote:
		// Dial, DNS or TLS failure, or the context ended first:
		// Twilio never saw the request.
		se.Temporary = true
	case status == 0:
		se.Code, se.Unknown = CodeUnknownOutcome, true
		se.Message = "twilio: request sent but no answer, the message may exist: " + msg
	case status == http.StatusBadGateway || status == http.StatusGatewayTimeout:
		// A gateway between us and Twilio gave up waiting: Twilio may
		// well have made the message. Trying again could text twice.
		se.Code, se.Unknown = CodeUnknownOutcome, true
		se.Message = fmt.Sprintf("twilio: HTTP %d from a gateway, the message may exist: %s", status, msg)
	case status == http.StatusTooManyRequests || status >= 500:
		se.Temporary = true
	case configurationCode(se.Code):
		// The account, not the number: every text fails until the
		// operator fixes it, so reminders wait (until their deadline)
		// instead of failing one by one.
		se.Temporary = true
	case status < 300:
		// A 2xx whose body could not be read or decoded: the message
		// was most likely created.
		se.Code, se.Unknown = CodeUnknownOutcome, true
		se.Message = fmt.Sprintf("twilio: HTTP %d with an unreadable answer, the message may exist: %s", status, msg)
	case se.Code == "":
		se.Code = httpCode(status)
	default:
		se.StopContact = stopContact(se.Code)
	}
	return se
}

func httpCode(status int) string { return fmt.Sprintf("http-%d", status) }

// OptOutCode reports whether a Twilio error code means the recipient has
// opted out of messages from this sender (21610).
func OptOutCode(code string) bool { return code == "21610" }

// stopContact reports whether code means the number must not be used
// again for the shop.
func stopContact(code string) bool { return OptOutCode(code) || UnusableNumberCode(code) }

// UnusableNumberCode reports whether a Twilio error code means the number
// can never receive SMS from us: invalid (21211), not a mobile number
// (21614), unreachable from this sender (21612), not a valid mobile
// number for this sender (21635), and, from delivery reports, a number
// the carrier does not know (30005) or a landline (30006).
func UnusableNumberCode(code string) bool {
	switch code {
	case "21211", "21614", "21612", "21635", "30005", "30006":
		return true
	}
	return false
}

// configurationCode reports whether a Twilio error code is about the
// account's setup rather than the message: credentials refused (20003),
// sending to the recipient's region not enabled (21408), or a sender that
// cannot send SMS (21606).
func configurationCode(code string) bool {
	switch code {
	case "20003", "21408", "21606":
		return true
	}
	return false
}
