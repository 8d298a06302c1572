package shopify

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cartback/cartback/recovery"
)

const fixtureToken = "2a1ace52255252df566af0faaedfbfa7"

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// patched returns the testdata file with top-level fields replaced; a nil
// value removes the field.
func patched(t *testing.T, name string, fields map[string]any) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(readTestdata(t, name)))
	dec.UseNumber()
	var body map[string]any
	if err := dec.Decode(&body); err != nil {
		t.Fatal(err)
	}
	for k, v := range fields {
		if v == nil {
			delete(body, k)
		} else {
			body[k] = v
		}
	}
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeCart(t *testing.T, topic string, body []byte, region string) *recovery.Cart {
	t.Helper()
	ev, err := DecodeWebhook(topic, body, region)
	if err != nil {
		t.Fatalf("DecodeWebhook(%q): %v", topic, err)
	}
	if ev.Kind != recovery.EventCartUpdated || ev.Cart == nil || ev.Order != nil {
		t.Fatalf("DecodeWebhook(%q) = %+v, want a cart update", topic, ev)
	}
	if ev.DedupKey != "" {
		t.Errorf("DedupKey = %q; the HTTP layer sets it", ev.DedupKey)
	}
	return ev.Cart
}

func TestDecodeCheckout(t *testing.T) {
	for _, topic := range []string{TopicCheckoutCreate, TopicCheckoutUpdate} {
		t.Run(topic, func(t *testing.T) {
			got := decodeCart(t, topic, readTestdata(t, "checkout.json"), "NO")
			want := &recovery.Cart{
				Keys: recovery.CartKeys{CheckoutToken: fixtureToken, CartToken: "68778783ad298f1c80c3bafcddeea02f"},
				Contact: recovery.Contact{
					Email: "bob.norman@mail.example.com",
					// customer.phone: the checkout has no phone of its own.
					Phone:     "+16136120707",
					FirstName: "Bob", LastName: "Norman",
					Locale: "en", Country: "US",
				},
				Consent: recovery.Consent{
					Email: recovery.ConsentGrant{Granted: false, Source: "shopify:buyer_accepts_marketing"},
					SMS:   recovery.ConsentGrant{Granted: false, Source: "shopify:buyer_accepts_sms_marketing"},
				},
				Currency: "USD",
				Items: []recovery.LineItem{
					{Title: "IPod Nano - 8GB", VariantTitle: "Red", SKU: "IPOD2008RED", Quantity: 1,
						UnitPrice: 19900, LinePrice: 19900, ProductID: "632910392", VariantID: "49148385"},
					{Title: "IPod Nano - 8GB", VariantTitle: "Pink", SKU: "IPOD2008PINK", Quantity: 1,
						UnitPrice: 19900, LinePrice: 19900, ProductID: "632910392", VariantID: "808950810"},
				},
				Totals:         recovery.Totals{Subtotal: 35820, Discounts: 3980, Shipping: 0, Tax: 2149, Total: 37969},
				RestoreURL:     "https://checkout.local/548380009/checkouts/2a1ace52255252df566af0faaedfbfa7/recover",
				LastActivityAt: time.Date(2012, 10, 12, 11, 5, 27, 0, time.UTC),
				CreatedAt:      time.Date(2012, 10, 12, 11, 5, 27, 0, time.UTC),
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("cart mismatch\n got: %+v\nwant: %+v", got, want)
			}
			if got.LastActivityAt.Location() != time.UTC {
				t.Errorf("LastActivityAt is in %v, want UTC", got.LastActivityAt.Location())
			}
		})
	}
}

func TestDecodeCheckoutContact(t *testing.T) {
	tests := []struct {
		name   string
		fields map[string]any
		region string
		want   recovery.Contact
	}{
		{
			name: "sms marketing phone wins, national number read in billing country",
			fields: map[string]any{
				"sms_marketing_phone": "912 34 567", "phone": "+46701234567",
				"billing_address": map[string]any{"first_name": "Kari", "last_name": "Nordmann", "country_code": "NO", "phone": "+4722222222"},
			},
			region: "US",
			want: recovery.Contact{Email: "bob.norman@mail.example.com", Phone: "+4791234567",
				FirstName: "Bob", LastName: "Norman", Locale: "en", Country: "NO"},
		},
		{
			name: "no billing country: national number read in the shop's region",
			fields: map[string]any{
				"phone": "0412 345 678", "billing_address": nil, "customer": nil, "customer_locale": "en_AU",
			},
			region: "AU",
			want:   recovery.Contact{Email: "bob.norman@mail.example.com", Phone: "+61412345678", Locale: "en-AU"},
		},
		{
			name:   "names and phone from billing address without a customer",
			fields: map[string]any{"customer": nil, "email": nil},
			region: "NO",
			want: recovery.Contact{Phone: "+15024592181", FirstName: "Bob", LastName: "Norman",
				Locale: "en", Country: "US"},
		},
		{
			name: "email from customer; unreadable phone kept raw only",
			fields: map[string]any{"email": "", "phone": "call after 5",
				"customer": map[string]any{"email": "kari@example.no", "first_name": "Kari"}},
			region: "NO",
			want: recovery.Contact{Email: "kari@example.no", PhoneRaw: "call after 5",
				FirstName: "Kari", LastName: "Norman", Locale: "en", Country: "US"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decodeCart(t, TopicCheckoutUpdate, patched(t, "checkout.json", tt.fields), tt.region)
			if got.Contact != tt.want {
				t.Errorf("Contact = %+v\n          want %+v", got.Contact, tt.want)
			}
		})
	}
}

func TestDecodeCheckoutConsent(t *testing.T) {
	subscribed := map[string]any{"state": "subscribed"}
	tests := []struct {
		name   string
		fields map[string]any
		want   recovery.Consent
	}{
		{
			name:   "ticked at checkout",
			fields: map[string]any{"buyer_accepts_marketing": true, "buyer_accepts_sms_marketing": true},
			want: recovery.Consent{
				Email: recovery.ConsentGrant{Granted: true, Source: "shopify:buyer_accepts_marketing"},
				SMS:   recovery.ConsentGrant{Granted: true, Source: "shopify:buyer_accepts_sms_marketing"},
			},
		},
		{
			name: "subscribed on the customer record",
			fields: map[string]any{"customer": map[string]any{
				"email_marketing_consent": subscribed, "sms_marketing_consent": subscribed}},
			want: recovery.Consent{
				Email: recovery.ConsentGrant{Granted: true, Source: "shopify:email_marketing_consent"},
				SMS:   recovery.ConsentGrant{Granted: true, Source: "shopify:sms_marketing_consent"},
			},
		},
		{
			name: "not subscribed anywhere",
			fields: map[string]any{"customer": map[string]any{
				"email_marketing_consent": map[string]any{"state": "not_subscribed"},
				"sms_marketing_consent":   map[string]any{"state": "unsubscribed"}}},
			want: recovery.Consent{
				Email: recovery.ConsentGrant{Source: "shopify:buyer_accepts_marketing"},
				SMS:   recovery.ConsentGrant{Source: "shopify:buyer_accepts_sms_marketing"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decodeCart(t, TopicCheckoutUpdate, patched(t, "checkout.json", tt.fields), "US")
			if got.Consent != tt.want {
				t.Errorf("Consent = %+v, want %+v", got.Consent, tt.want)
			}
		})
	}
}

func TestDecodeCheckoutMoney(t *testing.T) {
	t.Run("presentment currency and zero-decimal amounts", func(t *testing.T) {
		body := patched(t, "checkout.json", map[string]any{
			"currency": "USD", "presentment_currency": "JPY",
			"total_price": "4150", "subtotal_price": "3800", "total_discounts": "0", "total_tax": "350",
			"shipping_lines": []any{map[string]any{"price": "500"}, map[string]any{"price": "0"}},
			"line_items":     []any{map[string]any{"title": "Tea", "quantity": 2, "price": "1900"}},
		})
		got := decodeCart(t, TopicCheckoutUpdate, body, "JP")
		if got.Currency != "JPY" {
			t.Errorf("Currency = %q, want JPY", got.Currency)
		}
		wantTotals := recovery.Totals{Subtotal: 3800, Shipping: 500, Tax: 350, Total: 4150}
		if got.Totals != wantTotals {
			t.Errorf("Totals = %+v, want %+v", got.Totals, wantTotals)
		}
		// Without line_price, the line is price × quantity.
		if it := got.Items[0]; it.UnitPrice != 1900 || it.LinePrice != 3800 {
			t.Errorf("item prices = %d, %d; want 1900, 3800", it.UnitPrice, it.LinePrice)
		}
	})
	t.Run("numbers instead of strings are read from their literal text", func(t *testing.T) {
		body := []byte(`{"token":"t1","currency":"EUR","total_price":1234.565,
			"line_items":[{"title":"Mug","quantity":3,"price":0.1,"product_id":9007199254740993,"variant_id":null}]}`)
		got := decodeCart(t, TopicCheckoutCreate, body, "DE")
		if got.Totals.Total != 123457 {
			t.Errorf("Total = %d, want 123457", got.Totals.Total)
		}
		want := recovery.LineItem{Title: "Mug", Quantity: 3, UnitPrice: 10, LinePrice: 30, ProductID: "9007199254740993"}
		if !reflect.DeepEqual(got.Items[0], want) {
			t.Errorf("item = %+v, want %+v", got.Items[0], want)
		}
	})
	t.Run("line item properties become attributes", func(t *testing.T) {
		body := []byte(`{"token":"t1","currency":"EUR","line_items":[
			{"title":"Ring","quantity":1,"price":"10","properties":[{"name":"Engraving","value":"Happy Birthday"},{"name":"_hidden","value":"x"},{"name":"Size","value":7}]},
			{"title":"Mug","quantity":1,"price":"10","properties":{"Colour":"green","Gift":"yes"}},
			{"title":"Cup","quantity":1,"price":"10","properties":"unexpected"}]}`)
		got := decodeCart(t, TopicCheckoutCreate, body, "DE")
		want := [][]recovery.Attribute{
			{{Name: "Engraving", Value: "Happy Birthday"}, {Name: "Size", Value: "7"}},
			{{Name: "Colour", Value: "green"}, {Name: "Gift", Value: "yes"}},
			nil,
		}
		for i, item := range got.Items {
			if !reflect.DeepEqual(item.Attributes, want[i]) {
				t.Errorf("item %d attributes = %+v, want %+v", i, item.Attributes, want[i])
			}
		}
	})
}

func TestDecodeCompletedCheckout(t *testing.T) {
	got := decodeCart(t, TopicCheckoutUpdate, readTestdata(t, "checkout_completed.json"), "US")
	if got.State != recovery.CartConverted {
		t.Errorf("State = %q, want %q", got.State, recovery.CartConverted)
	}
	want := &recovery.Conversion{
		OrderID: "450789470", Total: 37969, Currency: "USD",
		At: time.Date(2012, 10, 12, 11, 15, 2, 0, time.UTC),
	}
	if !reflect.DeepEqual(got.Conversion, want) {
		t.Errorf("Conversion = %+v, want %+v", got.Conversion, want)
	}

	open := decodeCart(t, TopicCheckoutUpdate, readTestdata(t, "checkout.json"), "US")
	if open.State != "" || open.Conversion != nil {
		t.Errorf("open checkout: State = %q, Conversion = %+v; want neither set", open.State, open.Conversion)
	}
}

func TestDecodeCheckoutDelete(t *testing.T) {
	ev, err := DecodeWebhook(TopicCheckoutDelete, readTestdata(t, "checkout_delete.json"), "US")
	if err != nil {
		t.Fatal(err)
	}
	want := recovery.Event{Kind: recovery.EventCartDeleted, Cart: &recovery.Cart{Keys: recovery.CartKeys{CheckoutToken: fixtureToken}}}
	if !reflect.DeepEqual(ev, want) {
		t.Errorf("event = %+v, want %+v", ev, want)
	}

	_, err = DecodeWebhook(TopicCheckoutDelete, []byte(`{"id":450789469}`), "US")
	assertInvalid(t, err, "checkout has no token")
}

func TestDecodeOrder(t *testing.T) {
	tests := []struct {
		name, file string
		want       recovery.Order
	}{
		{
			name: "order without checkout",
			file: "order.json",
			want: recovery.Order{
				ID: "123456", Number: "1234", Email: "jon@doe.ca", Currency: "USD", Total: 1000,
				// processed_at is null, so created_at.
				At: time.Date(2016, 5, 17, 4, 14, 36, 0, time.UTC),
			},
		},
		{
			name: "order from a checkout, paid in another currency",
			file: "order_from_checkout.json",
			want: recovery.Order{
				ID: "5678901234567890123", Number: "1234",
				Keys:  recovery.CartKeys{CheckoutToken: fixtureToken, CartToken: "68778783ad298f1c80c3bafcddeea02f"},
				Email: "jon@doe.ca", Currency: "EUR", Total: 921,
				At: time.Date(2012, 10, 12, 11, 15, 2, 0, time.UTC),
			},
		},
	}
	for _, tt := range tests {
		for _, topic := range []string{TopicOrderCreate, TopicOrderPaid} {
			t.Run(tt.name+"/"+topic, func(t *testing.T) {
				ev, err := DecodeWebhook(topic, readTestdata(t, tt.file), "US")
				if err != nil {
					t.Fatal(err)
				}
				if ev.Kind != recovery.EventOrder || ev.Order == nil || ev.Cart != nil {
					t.Fatalf("event = %+v, want an order", ev)
				}
				if !reflect.DeepEqual(*ev.Order, tt.want) {
					t.Errorf("order = %+v\n      want %+v", *ev.Order, tt.want)
				}
			})
		}
	}
}

func TestDecodeOrderFallbacks(t *testing.T) {
	body := patched(t, "order.json", map[string]any{
		"order_number": nil, "email": "", "contact_email": nil,
	})
	ev, err := DecodeWebhook(TopicOrderCreate, body, "US")
	if err != nil {
		t.Fatal(err)
	}
	if o := ev.Order; o.Number != "#9999" || o.Email != "john@test.com" {
		t.Errorf("Number, Email = %q, %q; want name and customer email", o.Number, o.Email)
	}

	_, err = DecodeWebhook(TopicOrderCreate, patched(t, "order.json", map[string]any{"id": nil}), "US")
	assertInvalid(t, err, "order has no id")
}

func TestDecodeOtherTopics(t *testing.T) {
	ev, err := DecodeWebhook(TopicAppUninstalled, nil, "US")
	if err != nil || !reflect.DeepEqual(ev, recovery.Event{Kind: recovery.EventShopUninstalled}) {
		t.Errorf("app/uninstalled = %+v, %v", ev, err)
	}
	// An ignored topic's body is not read, so even garbage is fine.
	for _, topic := range []string{"products/update", "carts/update", "", "orders/create "} {
		ev, err := DecodeWebhook(topic, []byte("{not json"), "US")
		if err != nil || !reflect.DeepEqual(ev, recovery.Event{Kind: recovery.EventIgnored}) {
			t.Errorf("%q = %+v, %v; want ignored", topic, ev, err)
		}
	}
}

func TestDecodeMalformed(t *testing.T) {
	checkout := func(fields map[string]any) []byte { return patched(t, "checkout.json", fields) }
	tests := []struct {
		name, topic string
		body        []byte
		wantMessage string
	}{
		{"empty body", TopicCheckoutUpdate, nil, "invalid JSON: unexpected end of input at offset 0"},
		{"truncated", TopicCheckoutUpdate, []byte(`{"token":"abc`), "invalid JSON: unexpected end of input at offset 13"},
		{"trailing garbage", TopicOrderCreate, []byte(`{"id":1} x`), "invalid JSON: invalid character 'x' after top-level value at offset 10"},
		{"not an object", TopicCheckoutCreate, []byte(`["token"]`), "expected a JSON object, got array"},
		{"null body", TopicCheckoutCreate, []byte(`null`), "checkout has no token"},
		{"no token", TopicCheckoutUpdate, checkout(map[string]any{"token": nil, "cart_token": ""}), "checkout has no token"},
		{"token is a number", TopicCheckoutUpdate, checkout(map[string]any{"token": 12}), "token: expected a string, got number"},
		{"price is an object", TopicCheckoutUpdate, checkout(map[string]any{"total_price": map[string]any{}}), "total_price: expected a decimal amount, got object"},
		{"price is not a number", TopicCheckoutUpdate, checkout(map[string]any{"total_tax": "1,50"}), `total_tax: amount "1,50" is not a decimal number`},
		{"quantity is a string", TopicCheckoutUpdate, checkout(map[string]any{"line_items": []any{map[string]any{"quantity": "2"}}}), "line_items.quantity: expected an integer, got string"},
		{"id is a fraction", TopicCheckoutUpdate, checkout(map[string]any{"line_items": []any{map[string]any{"product_id": 1.5}}}), "line_items.product_id: expected an integer id, got number 1.5"},
		{"bad updated_at", TopicCheckoutUpdate, checkout(map[string]any{"updated_at": "12 Oct 2012"}), "updated_at: not an RFC 3339 time"},
		{"bad completed_at", TopicCheckoutUpdate, checkout(map[string]any{"completed_at": "yesterday"}), "completed_at: not an RFC 3339 time"},
		{"line price overflows", TopicCheckoutUpdate, checkout(map[string]any{"line_items": []any{map[string]any{"price": "9999999999999", "quantity": 100000000}}}), "line_items.price: amount out of range"},
		{"delete body not JSON", TopicCheckoutDelete, []byte(`token=abc`), "invalid JSON: invalid character 'o' in literal true (expecting 'r') at offset 2"},
		{"order total malformed", TopicOrderPaid, patched(t, "order.json", map[string]any{"total_price": "ten"}), `total_price: amount "ten" is not a decimal number`},
		{"order date malformed", TopicOrderPaid, patched(t, "order.json", map[string]any{"created_at": "2016-05-17"}), "created_at: not an RFC 3339 time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := DecodeWebhook(tt.topic, tt.body, "US")
			assertInvalid(t, err, tt.wantMessage)
			if !reflect.DeepEqual(ev, recovery.Event{}) {
				t.Errorf("event = %+v, want the zero Event with an error", ev)
			}
		})
	}
}

func assertInvalid(t *testing.T, err error, wantMessage string) {
	t.Helper()
	if code := recovery.ErrorCode(err); code != recovery.EINVALID {
		t.Fatalf("error = %v (code %q), want %s", err, code, recovery.EINVALID)
	}
	if msg := recovery.ErrorMessage(err); msg != wantMessage {
		t.Errorf("message = %q, want %q", msg, wantMessage)
	}
}

var fuzzTopics = []string{
	TopicCheckoutCreate, TopicCheckoutUpdate, TopicCheckoutDelete,
	TopicOrderCreate, TopicOrderPaid, TopicAppUninstalled, "products/update",
}

func FuzzDecodeWebhook(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no testdata: %v", err)
	}
	for _, file := range files {
		body := readTestdata(f, filepath.Base(file))
		for _, topic := range fuzzTopics {
			f.Add(topic, body, "US")
		}
	}
	f.Fuzz(func(t *testing.T, topic string, body []byte, region string) {
		ev, err := DecodeWebhook(topic, body, region)
		if err != nil {
			if code := recovery.ErrorCode(err); code != recovery.EINVALID {
				t.Fatalf("error code %q, want %s: %v", code, recovery.EINVALID, err)
			}
			if strings.TrimSpace(recovery.ErrorMessage(err)) == "" {
				t.Fatal("error without a message")
			}
			return
		}
		switch ev.Kind {
		case recovery.EventCartUpdated, recovery.EventCartDeleted:
			if ev.Cart == nil || len(ev.Cart.Keys.Index()) == 0 {
				t.Fatalf("%s event without a cart key: %+v", ev.Kind, ev.Cart)
			}
		case recovery.EventOrder:
			if ev.Order == nil || ev.Order.ID == "" {
				t.Fatalf("order event without an order id: %+v", ev.Order)
			}
		}
	})
}
