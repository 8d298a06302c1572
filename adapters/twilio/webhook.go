package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/cartback/cartback/recovery"
)

// SignatureHeader carries Twilio's signature of a webhook request.
const SignatureHeader = "X-Twilio-Signature"

// ValidateRequest reports whether signature (the X-Twilio-Signature
// header) signs a form-encoded webhook POST: rawURL is the full URL Twilio
// was configured to call, query string included, and params the form
// fields. Twilio signs the URL followed by each field's name and value,
// fields sorted by name and a repeated field's values sorted too (the SDKs
// that sign only a field's first value refuse such requests). A URL with
// or without its default port both match.
func ValidateRequest(authToken, rawURL string, params url.Values, signature string) bool {
	if authToken == "" || signature == "" {
		return false
	}
	for _, u := range urlVariants(rawURL) {
		for _, dedupe := range []bool{false, true} {
			if hmac.Equal([]byte(sign(authToken, u, params, dedupe)), []byte(signature)) {
				return true
			}
		}
	}
	return false
}

// sign computes Twilio's signature of a form post to u. With dedupe a
// repeated field's equal values count once (as some of Twilio's own
// libraries compute it).
func sign(authToken, u string, params url.Values, dedupe bool) string {
	var b strings.Builder
	b.WriteString(u)
	for _, k := range slices.Sorted(maps.Keys(params)) {
		values := slices.Sorted(slices.Values(params[k]))
		if dedupe {
			values = slices.Compact(values)
		}
		for _, v := range values {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// urlVariants returns u, u without its port, and u with its scheme's
// default port when it names none: Twilio signs the URL as configured,
// which behind a proxy may or may not name a port; its libraries accept
// all three.
func urlVariants(u string) []string {
	parsed, err := url.Parse(u)
	if err != nil || parsed.Host == "" {
		return []string{u}
	}
	out := []string{u}
	if parsed.Port() != "" {
		without := *parsed
		without.Host = parsed.Hostname()
		if strings.Contains(without.Host, ":") {
			without.Host = "[" + without.Host + "]" // IPv6
		}
		out = append(out, without.String())
	} else if port := map[string]string{"https": "443", "http": "80"}[parsed.Scheme]; port != "" {
		with := *parsed
		with.Host = parsed.Host + ":" + port
		out = append(out, with.String())
	}
	return out
}

// Status is a delivery status callback for a message we sent.
type Status struct {
	// MessageSID is the SID Send returned.
	MessageSID string
	// MessageStatus is Twilio's status, lower case: queued, sending,
	// sent, delivered, undelivered, failed, …
	MessageStatus string
	// ErrorCode is Twilio's error code for undelivered and failed
	// messages, e.g. "30003".
	ErrorCode string
	// To is the recipient.
	To string
}

// Twilio message statuses the engine acts on (see Status.Report), and
// queued, the first one a message reports.
const (
	StatusQueued      = "queued"
	StatusSent        = "sent"
	StatusDelivered   = "delivered"
	StatusUndelivered = "undelivered"
	StatusFailed      = "failed"
)

// ParseStatus reads a status callback's form. It needs MessageSid (or the
// older SmsSid) and MessageStatus (or SmsStatus); unknown statuses are
// kept as they are.
func ParseStatus(form url.Values) (Status, error) {
	s := Status{
		MessageSID:    first(form, "MessageSid", "SmsSid"),
		MessageStatus: strings.ToLower(first(form, "MessageStatus", "SmsStatus")),
		ErrorCode:     strings.TrimSpace(form.Get("ErrorCode")),
		To:            strings.TrimSpace(form.Get("To")),
	}
	if s.MessageSID == "" {
		return Status{}, errors.New("twilio: status callback without MessageSid")
	}
	if s.MessageStatus == "" {
		return Status{}, errors.New("twilio: status callback without MessageStatus")
	}
	return s, nil
}

// Report turns the callback into the report the engine records. ok is
// false for intermediate statuses (queued, sending, …) that change
// nothing. StopContact is set for error codes that mean the recipient
// opted out or the number is unusable.
func (s Status) Report() (report recovery.DeliveryReport, ok bool) {
	var status recovery.MessageStatus
	switch s.MessageStatus {
	case StatusSent:
		status = recovery.MessageSent
	case StatusDelivered:
		status = recovery.MessageDelivered
	case StatusUndelivered:
		status = recovery.MessageUndelivered
	case StatusFailed:
		status = recovery.MessageFailed
	default:
		return recovery.DeliveryReport{}, false
	}
	return recovery.DeliveryReport{
		Provider:    Provider,
		ProviderID:  s.MessageSID,
		Status:      status,
		ErrorCode:   s.ErrorCode,
		StopContact: stopContact(s.ErrorCode),
	}, true
}

// Inbound is an SMS a shopper sent to our number.
type Inbound struct {
	// MessageSID identifies the inbound message.
	MessageSID string
	// From is the shopper's number and To ours, both E.164.
	From string
	To   string
	Body string
	// OptOut is set when the shopper asked to stop (STOP, UNSUBSCRIBE,
	// …) and OptIn when they asked to start again (START, UNSTOP, YES).
	OptOut bool
	OptIn  bool
	// Confirm is the reply to send for an opt-out Twilio does not confirm
	// itself (STOPP, which is not one of its keywords); "" otherwise.
	Confirm string
}

// stoppConfirmation answers STOPP, the word the Norwegian and Swedish
// stop lines ask for, in both languages.
const stoppConfirmation = "Du er meldt av og får ingen flere meldinger herfra. / Du är avregistrerad och får inga fler meddelanden härifrån."

// Twilio's default opt-out and opt-in keywords, and the word the
// Norwegian and Swedish stop lines ask for (STOPP, which Twilio does not
// know), matched against the whole trimmed body regardless of case and of
// a closing full stop or exclamation mark.
var (
	optOutWords = map[string]bool{
		"STOP": true, "UNSUBSCRIBE": true, "END": true, "QUIT": true,
		"STOPALL": true, "REVOKE": true, "OPTOUT": true, "CANCEL": true,
		"STOPP": true,
	}
	optInWords = map[string]bool{"START": true, "UNSTOP": true, "YES": true}
)

// ParseInbound reads an incoming message webhook's form. When Twilio's
// Advanced Opt-Out sends OptOutType (STOP or START) it decides; otherwise
// the body is matched against the default keywords.
func ParseInbound(form url.Values) (Inbound, error) {
	in := Inbound{
		MessageSID: first(form, "MessageSid", "SmsSid"),
		From:       strings.TrimSpace(form.Get("From")),
		To:         strings.TrimSpace(form.Get("To")),
		Body:       form.Get("Body"),
	}
	if in.From == "" {
		return Inbound{}, errors.New("twilio: inbound message without From")
	}
	switch strings.ToUpper(strings.TrimSpace(form.Get("OptOutType"))) {
	case "STOP":
		in.OptOut = true
	case "START":
		in.OptIn = true
	default:
		word := strings.ToUpper(strings.TrimRight(strings.TrimSpace(in.Body), ".!"))
		in.OptOut = optOutWords[word]
		in.OptIn = optInWords[word]
		if word == "STOPP" {
			in.Confirm = stoppConfirmation
		}
	}
	return in, nil
}

// first returns the first non-empty value among keys.
func first(form url.Values, keys ...string) string {
	for _, k := range keys {
		if v := strings.TrimSpace(form.Get(k)); v != "" {
			return v
		}
	}
	return ""
}
