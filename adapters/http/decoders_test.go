package http_test

import (
	"github.com/cartback/cartback/adapters/shopify"
	"github.com/cartback/cartback/adapters/woocommerce"
	"github.com/cartback/cartback/recovery"
)

// The server under test decodes with the real platform adapters, as the
// service does.
func decodeShopify(topic string, body []byte, _, region string) (recovery.Event, error) {
	return shopify.DecodeWebhook(topic, body, region)
}

var decodeWooCommerce = woocommerce.DecodeWebhook
