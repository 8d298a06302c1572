package main

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"golang.org/x/time/rate"

	cbhttp "github.com/cartback/cartback/adapters/http"
	"github.com/cartback/cartback/adapters/smtp"
	"github.com/cartback/cartback/adapters/twilio"
	"github.com/cartback/cartback/recovery"
	"github.com/cartback/cartback/templates"
)

// limitedSender paces a provider, so a burst of due reminders never trips
// the provider's own limits. It is a recovery.Pacer: callers Wait for
// their turn, then Send.
type limitedSender struct {
	sender   recovery.Sender
	limiter  *rate.Limiter
	provider string
}

// Wait implements recovery.Pacer.
func (l limitedSender) Wait(ctx context.Context) error { return l.limiter.Wait(ctx) }

// Send implements recovery.Sender; it does not wait (see Wait).
func (l limitedSender) Send(ctx context.Context, m *recovery.Message) (string, error) {
	return l.sender.Send(ctx, m)
}

// ProviderName names the provider on messages and in delivery reports.
func (l limitedSender) ProviderName() string { return l.provider }

func limited(s recovery.Sender, perSecond, provider string) recovery.Sender {
	r, _ := strconv.ParseFloat(perSecond, 64) // validated with the config
	return limitedSender{sender: s, limiter: rate.NewLimiter(rate.Limit(r), 1), provider: provider}
}

// senders builds the configured providers; a channel without one sends to
// the outbox.
func (m *Main) senders() (map[recovery.Channel]recovery.Sender, error) {
	out := map[recovery.Channel]recovery.Sender{}
	if m.Config.SMTPURL != "" {
		s, err := smtp.New(smtp.Config{URL: m.Config.SMTPURL, From: m.Config.EmailFrom, Logger: m.Logger})
		if err != nil {
			return nil, err
		}
		out[recovery.ChannelEmail] = limited(s, m.Config.EmailRate, "smtp")
		m.Logger.Info("email delivery", "via", fmt.Sprint(s))
	}
	if m.Config.TwilioAccountSID != "" {
		cfg := twilio.Config{
			AccountSID: m.Config.TwilioAccountSID, AuthToken: m.Config.TwilioAuthToken,
			From: m.Config.TwilioFrom, MessagingServiceSID: m.Config.TwilioMessagingServiceSID,
			APIURL: m.Config.TwilioAPIURL, StatusCallbackURL: twilio.StatusCallbackURL(m.Config.PublicURL),
		}
		s, err := twilio.New(cfg)
		if err != nil {
			return nil, err
		}
		out[recovery.ChannelSMS] = limited(s, m.Config.SMSRate, twilio.Provider)
		m.Logger.Info("sms delivery", "via", "twilio", "status_callback", cfg.StatusCallbackURL)
	}
	if len(out) < 2 {
		missing := []string{}
		for _, ch := range []recovery.Channel{recovery.ChannelEmail, recovery.ChannelSMS} {
			if out[ch] == nil {
				missing = append(missing, string(ch))
			}
		}
		m.Logger.Warn("outbox mode: messages are stored, not sent, for channels without a provider", "channels", missing)
	}
	return out, nil
}

// smsWebhooks adapts the Twilio adapter's callback readers for the HTTP
// server.
func smsWebhooks(authToken string) *cbhttp.SMSWebhooks {
	return &cbhttp.SMSWebhooks{
		SignatureHeader: twilio.SignatureHeader,
		Validate: func(publicURL string, form url.Values, signature string) bool {
			return twilio.ValidateRequest(authToken, publicURL, form, signature)
		},
		Status: func(form url.Values) (recovery.DeliveryReport, bool, error) {
			st, err := twilio.ParseStatus(form)
			if err != nil {
				return recovery.DeliveryReport{}, false, err
			}
			r, final := st.Report()
			return r, final, nil
		},
		Inbound: func(form url.Values) (string, bool, bool, string, error) {
			in, err := twilio.ParseInbound(form)
			return in.From, in.OptOut, in.OptIn, in.Confirm, err
		},
	}
}

// sendTest sends a template, rendered on the sample cart, to an address or
// number the merchant typed: the admin page's "send a test".
func (m *Main) sendTest(store cbhttp.TemplateStore, renderer *templates.Renderer) func(ctx context.Context, shop *recovery.Shop, kind, channel, locale, variant, to string) error {
	return func(ctx context.Context, shop *recovery.Shop, kind, channel, locale, variant, to string) error {
		custom, err := store.Template(ctx, shop.ID, kind, channel, locale, variant)
		if err == nil && custom == nil && variant != "A" {
			// A variant without a template of its own sends the plain one.
			custom, err = store.Template(ctx, shop.ID, kind, channel, locale, "")
		}
		if err != nil {
			return err
		}
		out, err := renderer.Preview(kind, channel, locale, custom)
		if err != nil {
			return err
		}
		sender := m.Scheduler.Senders[recovery.Channel(channel)]
		if sender == nil {
			return fmt.Errorf("no provider is configured for %s: the channel is in outbox mode", channel)
		}
		msg := &recovery.Message{
			ShopID: shop.ID, Channel: recovery.Channel(channel), Template: kind, Locale: locale, To: to,
			Subject: "[Test] " + out.Subject, Text: out.Text, HTML: out.HTML,
			FromName: recovery.SenderName(shop), ReplyTo: shop.Settings.EmailReplyTo,
		}
		if msg.Channel == recovery.ChannelSMS {
			msg.Encoding, msg.Segments = recovery.SMSSegments(msg.Text)
		}
		if pacer, ok := sender.(recovery.Pacer); ok {
			if err := pacer.Wait(ctx); err != nil {
				return err
			}
		}
		_, err = sender.Send(ctx, msg)
		return err
	}
}
