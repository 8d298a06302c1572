package http

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/cartback/cartback/internal/signature"
	"github.com/cartback/cartback/recovery"
)

var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// readBody returns a copy of the whole request body, at most MaxBodyBytes.
func readBody(c *echo.Context) (body []byte, err error) {
	body, release, err := readPooledBody(c)
	if err != nil {
		return nil, err
	}
	body = bytes.Clone(body)
	release()
	return body, nil
}

// readPooledBody reads the whole request body, at most MaxBodyBytes, into
// a pooled buffer; the caller must not keep body after calling release.
func readPooledBody(c *echo.Context) (body []byte, release func(), err error) {
	buf := bodyPool.Get().(*bytes.Buffer)
	buf.Reset()
	release = func() {
		if buf.Cap() <= 4*MaxBodyBytes {
			bodyPool.Put(buf)
		}
	}
	r := http.MaxBytesReader(c.Response(), c.Request().Body, MaxBodyBytes)
	if _, err := buf.ReadFrom(r); err != nil {
		release()
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, nil, recovery.Errorf(recovery.ETOOLARGE, "body exceeds %d bytes", MaxBodyBytes)
		}
		return nil, nil, recovery.Errorf(recovery.EINVALID, "could not read body")
	}
	return buf.Bytes(), release, nil
}

// errUnverified is the one answer to a bad signature, a missing one and an
// unknown shop alike, so that a caller learns nothing about which it was.
var errUnverified = recovery.Errorf(recovery.EUNAUTHORIZED, "invalid webhook signature")

// webhook is one platform's way of naming the shop, verifying and decoding.
type webhook struct {
	platform recovery.Platform
	// shop returns the shop's domain from the request headers.
	shop func(h http.Header) string
	// topic returns the event topic from the request headers.
	topic func(h http.Header) string
	// signature returns the signature header's value.
	signature func(h http.Header) string
	// dedupKey returns the platform's identity of the event, or "".
	dedupKey func(topic string, h http.Header) string
	// eventTime, when set, returns when the platform says the event
	// happened, or zero.
	eventTime func(h http.Header) time.Time
	// decode turns a verified body into an event.
	decode func(shop *recovery.Shop, topic string, h http.Header, body []byte) (recovery.Event, error)
	// secrets returns the secrets that may have signed the shop's webhooks.
	secrets func(shop *recovery.Shop) []string
}

// ingest runs the one path every webhook takes: read, verify, decode,
// commit, answer. Nothing is stored unless every step succeeds.
func (s *Server) ingest(c *echo.Context, wh webhook) (err error) {
	start := time.Now()
	topic, outcome := "unverified", "error"
	defer func() {
		if err != nil {
			outcome = recovery.ErrorCode(err)
			if he := (*echo.HTTPError)(nil); errors.As(err, &he) {
				outcome = strings.ToLower(strings.ReplaceAll(http.StatusText(he.Code), " ", "_"))
			}
		}
		s.metrics.webhooks.WithLabelValues(string(wh.platform), topicLabel(topic), outcome).Inc()
		s.metrics.latency.WithLabelValues(string(wh.platform)).Observe(time.Since(start).Seconds())
	}()

	h := c.Request().Header
	body, release, err := readPooledBody(c)
	if err != nil {
		return err
	}
	defer release()

	domain := recovery.NormalizeDomain(wh.shop(h))
	if domain == "" {
		return errUnverified
	}
	shop, err := s.Service.ShopByDomain(c.Request().Context(), domain)
	if recovery.ErrorCode(err) == recovery.ENOTFOUND {
		return errUnverified
	} else if err != nil {
		return err
	}
	if !signature.Verify(body, wh.signature(h), wh.secrets(shop)...) {
		return errUnverified
	}

	topic = wh.topic(h)
	ev, err := wh.decode(shop, topic, h, body)
	if err != nil {
		return err
	}
	if ev.Kind == recovery.EventIgnored {
		outcome = string(recovery.OutcomeIgnored)
		return c.JSON(http.StatusOK, map[string]string{"outcome": outcome})
	}
	ev.DedupKey = wh.dedupKey(topic, h)
	if wh.eventTime != nil {
		ev.At = wh.eventTime(h)
	}
	res, err := s.Service.Apply(c.Request().Context(), shop.ID, ev)
	if err != nil {
		return err
	}
	outcome = string(res.Outcome)
	return c.JSON(http.StatusOK, map[string]any{"outcome": res.Outcome, "cart_ids": res.CartIDs})
}

func (s *Server) handleShopifyWebhook(c *echo.Context) error {
	return s.ingest(c, webhook{
		platform:  recovery.PlatformShopify,
		shop:      func(h http.Header) string { return h.Get("X-Shopify-Shop-Domain") },
		topic:     func(h http.Header) string { return h.Get("X-Shopify-Topic") },
		signature: func(h http.Header) string { return h.Get("X-Shopify-Hmac-Sha256") },
		dedupKey: func(topic string, h http.Header) string {
			// One merchant action shares an event id across deliveries; the
			// webhook id identifies a single delivery and is the fallback.
			if id := h.Get("X-Shopify-Event-Id"); id != "" {
				return "shopify:" + topic + ":event:" + id
			}
			if id := h.Get("X-Shopify-Webhook-Id"); id != "" {
				return "shopify:" + topic + ":webhook:" + id
			}
			return ""
		},
		eventTime: func(h http.Header) time.Time {
			// The same on every delivery of one event (retries resend it).
			t, err := time.Parse(time.RFC3339Nano, h.Get("X-Shopify-Triggered-At"))
			if err != nil {
				return time.Time{}
			}
			return t.UTC()
		},
		decode: func(shop *recovery.Shop, topic string, _ http.Header, body []byte) (recovery.Event, error) {
			return s.DecodeShopify(topic, body, "https://"+shop.Domain, shop.Settings.Country)
		},
		secrets: func(shop *recovery.Shop) []string {
			if shop.UsesShopifyAppSecret() {
				return s.ShopifyAppSecrets
			}
			secrets := []string{shop.WebhookSecret, shop.PreviousWebhookSecret}
			if shop.Shopify != nil {
				// Connected with a secret of its own first, then installed
				// through the app: the app's webhooks carry its secret.
				secrets = append(secrets, s.ShopifyAppSecrets...)
			}
			return secrets
		},
	})
}

func (s *Server) handleWooCommerceWebhook(c *echo.Context) error {
	h := c.Request().Header
	// WooCommerce proves a new webhook's URL with an unsigned form post
	// "webhook_id=N" and disables the webhook unless it gets a 200.
	if h.Get("X-WC-Webhook-Signature") == "" && strings.HasPrefix(h.Get("Content-Type"), "application/x-www-form-urlencoded") {
		body, err := readBody(c)
		if err != nil {
			return err
		}
		if v, err := url.ParseQuery(string(body)); err == nil && v.Get("webhook_id") != "" {
			s.metrics.webhooks.WithLabelValues(string(recovery.PlatformWooCommerce), "ping", "ping").Inc()
			return c.JSON(http.StatusOK, map[string]string{"outcome": "ping"})
		}
		return errUnverified
	}
	return s.ingest(c, webhook{
		platform:  recovery.PlatformWooCommerce,
		shop:      func(h http.Header) string { return h.Get("X-WC-Webhook-Source") },
		topic:     func(h http.Header) string { return h.Get("X-WC-Webhook-Topic") },
		signature: func(h http.Header) string { return h.Get("X-WC-Webhook-Signature") },
		dedupKey: func(topic string, h http.Header) string {
			if id := h.Get("X-WC-Webhook-Delivery-ID"); id != "" {
				return "woocommerce:" + topic + ":" + h.Get("X-WC-Webhook-ID") + ":" + id
			}
			return ""
		},
		decode: func(shop *recovery.Shop, topic string, h http.Header, body []byte) (recovery.Event, error) {
			storeURL := strings.TrimSuffix(h.Get("X-WC-Webhook-Source"), "/")
			return s.DecodeWooCommerce(topic, body, storeURL, shop.Settings.Country)
		},
		secrets: func(shop *recovery.Shop) []string {
			return []string{shop.WebhookSecret, shop.PreviousWebhookSecret}
		},
	})
}
