// Package shopify translates Shopify webhook payloads into cartback's
// platform-neutral recovery events. It reads only the body; the HTTP layer
// verifies the signature and sets the event's de-duplication key.
package shopify

import (
	"strings"

	"github.com/cartback/cartback/internal/payload"
	"github.com/cartback/cartback/internal/phone"
	"github.com/cartback/cartback/recovery"
)

// Webhook topics cartback subscribes to, as sent in X-Shopify-Topic.
const (
	TopicCheckoutCreate = "checkouts/create"
	TopicCheckoutUpdate = "checkouts/update"
	TopicCheckoutDelete = "checkouts/delete"
	TopicOrderCreate    = "orders/create"
	TopicOrderPaid      = "orders/paid"
	TopicAppUninstalled = "app/uninstalled"
)

// DecodeWebhook turns the body of a Shopify webhook with the given topic
// into an event. region is the ISO 3166-1 alpha-2 country assumed for phone
// numbers written without a country code when the checkout has no billing
// country, normally the shop's own country.
//
// Topics cartback has no use for give an EventIgnored without the body
// being read. A body that cannot be read gives a recovery.EINVALID error
// whose message says why.
func DecodeWebhook(topic string, body []byte, region string) (recovery.Event, error) {
	switch topic {
	case TopicCheckoutCreate, TopicCheckoutUpdate:
		cart, err := decodeCheckout(body, region)
		if err != nil {
			return recovery.Event{}, err
		}
		return recovery.Event{Kind: recovery.EventCartUpdated, Cart: cart}, nil
	case TopicCheckoutDelete:
		keys, err := decodeCheckoutDelete(body)
		if err != nil {
			return recovery.Event{}, err
		}
		return recovery.Event{Kind: recovery.EventCartDeleted, Cart: &recovery.Cart{Keys: keys}}, nil
	case TopicOrderCreate, TopicOrderPaid:
		order, err := decodeOrder(body)
		if err != nil {
			return recovery.Event{}, err
		}
		return recovery.Event{Kind: recovery.EventOrder, Order: order}, nil
	case TopicAppUninstalled:
		return recovery.Event{Kind: recovery.EventShopUninstalled}, nil
	case TopicCustomersRedact, TopicCustomersDataRequest:
		return decodeCompliance(topic, body, region)
	case TopicShopRedact:
		return recovery.Event{Kind: recovery.EventShopRedact}, nil
	}
	return recovery.Event{Kind: recovery.EventIgnored}, nil
}

// decodeCheckoutDelete returns the keys of a deleted checkout.
func decodeCheckoutDelete(body []byte) (recovery.CartKeys, error) {
	var p checkoutDeletePayload
	if err := payload.DecodeWith(body, &p, readCheckoutDelete); err != nil {
		return recovery.CartKeys{}, err
	}
	// Only the checkout token is used: a cart token can outlive one
	// checkout and start another, which this delete must not touch. The
	// checkout id is not one of cartback's keys, since newer payloads omit
	// it from checkouts/create and checkouts/update.
	token := strings.TrimSpace(p.Token)
	if token == "" {
		return recovery.CartKeys{}, recovery.Errorf(recovery.EINVALID, "checkout has no token")
	}
	return recovery.CartKeys{CheckoutToken: token}, nil
}

// contactPhone returns the first phone number given in E.164 form, or,
// when it cannot be read, as typed in Contact.PhoneRaw only.
func contactPhone(raw, region string) (e164, unreadable string) {
	if raw == "" {
		return "", ""
	}
	if n, ok := phone.Normalize(raw, region); ok {
		return n, ""
	}
	return "", raw
}
