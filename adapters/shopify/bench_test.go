package shopify

import (
	"encoding/json"
	"fmt"
	"testing"
)

// largeCheckout returns checkout.json with its line items replaced by n
// generated ones, each carrying the fields a storefront usually sends. With
// n = 20 the body is about 7 KB, the size of a typical checkouts/update.
func largeCheckout(b *testing.B, n int) []byte {
	b.Helper()
	var body map[string]json.RawMessage
	if err := json.Unmarshal(readTestdata(b, "checkout.json"), &body); err != nil {
		b.Fatal(err)
	}
	items := make([]map[string]any, n)
	for i := range items {
		items[i] = map[string]any{
			"key": fmt.Sprintf("f32827a8d00b%04x", i), "product_id": 632910392 + i, "variant_id": 49148385 + i,
			"title": "IPod Nano - 8GB", "variant_title": "Red", "sku": fmt.Sprintf("IPOD2008RED%d", i),
			"quantity": 1 + i%3, "price": "199.00", "line_price": fmt.Sprintf("%d.00", 199*(1+i%3)),
			"properties": nil, "vendor": "Apple", "requires_shipping": true,
		}
	}
	raw, err := json.Marshal(items)
	if err != nil {
		b.Fatal(err)
	}
	body["line_items"] = raw
	out, err := json.Marshal(body)
	if err != nil {
		b.Fatal(err)
	}
	return out
}

func BenchmarkDecodeCheckout(b *testing.B) {
	bodies := []struct {
		name string
		body []byte
	}{
		{"fixture", readTestdata(b, "checkout.json")},
		{"20items", largeCheckout(b, 20)},
	}
	for _, bb := range bodies {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bb.body)))
			for b.Loop() {
				if _, err := DecodeWebhook(TopicCheckoutUpdate, bb.body, "US"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeOrder(b *testing.B) {
	body := readTestdata(b, "order_from_checkout.json")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := DecodeWebhook(TopicOrderPaid, body, "US"); err != nil {
			b.Fatal(err)
		}
	}
}
