// Package woocommerce translates WooCommerce webhook payloads, and the cart
// events of cartback's companion WordPress plugin, into cartback's
// platform-neutral recovery events. It reads only the body; the HTTP layer
// verifies the signature, answers WooCommerce's creation ping and sets the
// event's de-duplication key.
package woocommerce

import (
	"strings"

	"github.com/cartback/cartback/internal/payload"
	"github.com/cartback/cartback/internal/phone"
	"github.com/cartback/cartback/recovery"
)

// Webhook topics cartback reads, as sent in X-WC-Webhook-Topic.
const (
	TopicOrderCreated = "order.created"
	TopicOrderUpdated = "order.updated"
	// TopicCartUpdated and TopicCartDeleted are sent by the companion
	// plugin; WooCommerce itself has no cart webhook.
	TopicCartUpdated = "cart.updated"
	TopicCartDeleted = "cart.deleted"
)

// DecodeWebhook turns the body of a WooCommerce webhook with the given topic
// into an event. storeURL is the shop's address without a trailing slash
// ("https://shop.example.com"), used to build links back into the cart.
// region is the ISO 3166-1 alpha-2 country assumed for phone numbers
// written without a country code when the billing country is unknown,
// normally the shop's own country.
//
// Topics cartback has no use for give an EventIgnored without the body
// being read, and so do orders in a status that says nothing about a cart
// (refunded, or one a plugin invented). A body that cannot be read gives a
// recovery.EINVALID error whose message says why.
func DecodeWebhook(topic string, body []byte, storeURL, region string) (recovery.Event, error) {
	storeURL = strings.TrimRight(strings.TrimSpace(storeURL), "/")
	switch topic {
	case TopicOrderCreated, TopicOrderUpdated:
		return decodeOrder(body, storeURL, region)
	case TopicCartUpdated:
		cart, err := decodeCart(body, storeURL, region)
		if err != nil {
			return recovery.Event{}, err
		}
		return recovery.Event{Kind: recovery.EventCartUpdated, Cart: cart}, nil
	case TopicCartDeleted:
		cart, err := decodeCartDeleted(body)
		if err != nil {
			return recovery.Event{}, err
		}
		return recovery.Event{Kind: recovery.EventCartDeleted, Cart: cart}, nil
	}
	return recovery.Event{Kind: recovery.EventIgnored}, nil
}

// contact builds a Contact, reading a phone number without a country code
// as one of country, or failing that of region. A number that cannot be
// read is kept as typed in PhoneRaw only, so it is never sent to.
func contact(email, rawPhone, firstName, lastName, country, locale, region string) recovery.Contact {
	country = strings.ToUpper(strings.TrimSpace(country))
	c := recovery.Contact{
		Email:     strings.TrimSpace(email),
		FirstName: text(firstName),
		LastName:  text(lastName),
		Locale:    payload.Locale(locale),
		Country:   country,
	}
	rawPhone = strings.TrimSpace(rawPhone)
	if rawPhone == "" {
		return c
	}
	if e164, ok := phone.Normalize(rawPhone, payload.FirstNonEmpty(country, region)); ok {
		c.Phone = e164
	} else {
		c.PhoneRaw = rawPhone
	}
	return c
}
