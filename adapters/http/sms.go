package http

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v5"

	"github.com/cartback/cartback/recovery"
)

// SMSWebhooks verifies and reads what the SMS provider posts back; the
// provider's adapter supplies the functions.
type SMSWebhooks struct {
	// Validate checks a request's signature against the exact public URL
	// the provider called and its form.
	Validate func(publicURL string, form url.Values, signature string) bool
	// SignatureHeader names the header carrying the signature.
	SignatureHeader string
	// Status reads a delivery report; final is false for intermediate
	// statuses that change nothing.
	Status func(form url.Values) (report recovery.DeliveryReport, final bool, err error)
	// Inbound reads a shopper's reply: who sent it, whether it opts out or
	// back in, and the confirmation to answer with when the provider sends
	// none itself ("" when it does).
	Inbound func(form url.Values) (from string, optOut, optIn bool, confirm string, err error)
}

// smsForm reads and verifies a provider callback. Anything that does not
// verify gets 403: the provider retries only on server errors.
func (s *Server) smsForm(c *echo.Context) (url.Values, error) {
	if s.SMS == nil {
		return nil, recovery.Errorf(recovery.ENOTFOUND, "no SMS provider is configured")
	}
	body, err := readBody(c)
	if err != nil {
		return nil, err
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, recovery.Errorf(recovery.EINVALID, "body is not a form")
	}
	// The signature covers the URL the provider called: the public one,
	// not what a proxy in front made of it.
	public := s.PublicURL + c.Request().URL.RequestURI()
	if !s.SMS.Validate(public, form, c.Request().Header.Get(s.SMS.SignatureHeader)) {
		return nil, Error(http.StatusForbidden, "invalid signature")
	}
	return form, nil
}

// handleSMSStatus records a delivery report.
func (s *Server) handleSMSStatus(c *echo.Context) error {
	form, err := s.smsForm(c)
	if err != nil {
		return err
	}
	report, final, err := s.SMS.Status(form)
	if err != nil {
		return recovery.Errorf(recovery.EINVALID, "%v", err)
	}
	if final {
		_, err := s.Service.RecordDelivery(c.Request().Context(), report)
		switch recovery.ErrorCode(err) {
		case "":
			s.metrics.reports.WithLabelValues(string(recovery.ChannelSMS), string(report.Status)).Inc()
		case recovery.ENOTFOUND:
			// Not ours (or erased since): acknowledged so it is not retried.
			s.Logger.Warn("delivery report for an unknown message", "provider_id", report.ProviderID)
		default:
			return err
		}
	}
	return c.NoContent(http.StatusNoContent)
}

// handleSMSInbound honours STOP and START replies.
func (s *Server) handleSMSInbound(c *echo.Context) error {
	form, err := s.smsForm(c)
	if err != nil {
		return err
	}
	from, optOut, optIn, confirm, err := s.SMS.Inbound(form)
	if err != nil {
		return recovery.Errorf(recovery.EINVALID, "%v", err)
	}
	if optOut || optIn {
		n, err := s.Service.SetOptOut(c.Request().Context(), recovery.ChannelSMS, from, optOut, "sms_reply")
		if err != nil {
			return err
		}
		s.Logger.Info("sms reply", "opt_out", optOut, "opt_in", optIn, "shops", n)
	}
	if confirm == "" {
		// An empty TwiML answer: the provider's own STOP handling replies.
		return c.Blob(http.StatusOK, "text/xml", []byte(`<?xml version="1.0" encoding="UTF-8"?><Response></Response>`))
	}
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><Response><Message>`)
	xml.EscapeText(&b, []byte(confirm))
	b.WriteString(`</Message></Response>`)
	return c.Blob(http.StatusOK, "text/xml", b.Bytes())
}
