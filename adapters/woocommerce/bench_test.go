package woocommerce

import (
	"encoding/json"
	"fmt"
	"testing"
)

// largeOrder returns the given order file with its line items replaced by
// n generated ones shaped like WooCommerce's, each with one visible option.
func largeOrder(b *testing.B, name string, n int) []byte {
	b.Helper()
	var body map[string]json.RawMessage
	if err := json.Unmarshal(readTestdata(b, name), &body); err != nil {
		b.Fatal(err)
	}
	items := make([]map[string]any, n)
	for i := range items {
		items[i] = map[string]any{
			"id": 315 + i, "name": "Ship Your Idea &ndash; Black", "product_id": 22 + i, "variation_id": 23 + i,
			"quantity": 1 + i%3, "tax_class": "", "subtotal": "12.00", "subtotal_tax": "0.90",
			"total": "12.00", "total_tax": "0.90", "sku": fmt.Sprintf("Bar%d", i), "price": 12,
			"taxes":     []any{map[string]any{"id": 75, "total": "0.9", "subtotal": "0.9"}},
			"meta_data": []any{map[string]any{"id": 2095 + i, "key": "pa_color", "value": "black"}},
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

func BenchmarkDecodeOrder(b *testing.B) {
	bodies := []struct {
		name string
		body []byte
	}{
		{"paid", readTestdata(b, "order.json")},
		{"pending", readTestdata(b, "order_pending.json")},
		{"pending20items", largeOrder(b, "order_pending.json", 20)},
	}
	for _, bb := range bodies {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bb.body)))
			for b.Loop() {
				if _, err := DecodeWebhook(TopicOrderUpdated, bb.body, storeURL, "US"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeCart(b *testing.B) {
	body := readTestdata(b, "cart_updated.json")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := DecodeWebhook(TopicCartUpdated, body, storeURL, "US"); err != nil {
			b.Fatal(err)
		}
	}
}
