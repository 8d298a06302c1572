package woocommerce

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
	"github.com/cartback/cartback/templates"
)

const storeURL = "https://shop.example.com"

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

func decode(t *testing.T, topic string, body []byte, wantKind recovery.EventKind) recovery.Event {
	t.Helper()
	ev, err := DecodeWebhook(topic, body, storeURL, "NO")
	if err != nil {
		t.Fatalf("DecodeWebhook(%q): %v", topic, err)
	}
	if ev.Kind != wantKind {
		t.Fatalf("DecodeWebhook(%q).Kind = %q, want %q", topic, ev.Kind, wantKind)
	}
	if ev.DedupKey != "" {
		t.Errorf("DedupKey = %q; the HTTP layer sets it", ev.DedupKey)
	}
	return ev
}

func TestDecodePaidOrder(t *testing.T) {
	tests := []struct {
		name, file string
		want       recovery.Order
	}{
		{
			name: "processing",
			file: "order.json",
			want: recovery.Order{
				ID: "727", Number: "727", Keys: recovery.CartKeys{OrderID: "727"},
				Email: "john.doe@example.com", Currency: "USD", Total: 2935,
				At: time.Date(2017, 3, 22, 19, 28, 8, 0, time.UTC),
			},
		},
		{
			name: "completed without date_paid",
			file: "order_723.json",
			want: recovery.Order{
				ID: "723", Number: "723", Keys: recovery.CartKeys{OrderID: "723"},
				Email: "joao.silva@example.com", Currency: "USD", Total: 3900,
				At: time.Date(2017, 3, 21, 19, 54, 51, 0, time.UTC),
			},
		},
	}
	for _, tt := range tests {
		for _, topic := range []string{TopicOrderCreated, TopicOrderUpdated} {
			t.Run(tt.name+"/"+topic, func(t *testing.T) {
				ev := decode(t, topic, readTestdata(t, tt.file), recovery.EventOrder)
				if ev.Cart != nil || ev.Order == nil || !reflect.DeepEqual(*ev.Order, tt.want) {
					t.Errorf("order = %+v\n      want %+v", ev.Order, tt.want)
				}
			})
		}
	}

	t.Run("on-hold, linked to the plugin's cart", func(t *testing.T) {
		body := patched(t, "order.json", map[string]any{
			"status":    "on-hold",
			"meta_data": []any{map[string]any{"key": "_cartback_cart_key", "value": "t_abc"}},
		})
		ev := decode(t, TopicOrderUpdated, body, recovery.EventOrder)
		if want := (recovery.CartKeys{OrderID: "727", CartKey: "t_abc"}); ev.Order.Keys != want {
			t.Errorf("Keys = %+v, want %+v", ev.Order.Keys, want)
		}
	})
}

func TestDecodePendingOrder(t *testing.T) {
	ev := decode(t, TopicOrderCreated, readTestdata(t, "order_pending.json"), recovery.EventCartUpdated)
	want := &recovery.Cart{
		Keys: recovery.CartKeys{OrderID: "727"},
		Contact: recovery.Contact{
			Email: "john.doe@example.com",
			// 555 is no real US area code.
			PhoneRaw:  "(555) 555-5555",
			FirstName: "John", LastName: "Doe", Country: "US",
		},
		Consent: recovery.Consent{
			Email: recovery.ConsentGrant{Granted: false, Source: "woocommerce:order"},
			SMS:   recovery.ConsentGrant{Granted: false, Source: "woocommerce:order"},
		},
		Currency: "USD",
		Items: []recovery.LineItem{
			{Title: "Woo Single #1", Quantity: 2, UnitPrice: 300, LinePrice: 600, ProductID: "93"},
			{
				Title: "Ship Your Idea – Color: Black, Size: M Test", SKU: "Bar3", Quantity: 1,
				UnitPrice: 1200, LinePrice: 1200, ProductID: "22", VariantID: "23",
				Attributes: []recovery.Attribute{{Name: "pa_color", Value: "black"}, {Name: "size", Value: "M Test"}},
			},
		},
		Totals:         recovery.Totals{Subtotal: 1800, Discounts: 0, Shipping: 1000, Tax: 135, Total: 2935},
		RestoreURL:     "https://shop.example.com/checkout/order-pay/727/?pay_for_order=true&key=wc_order_58d2d042d1d",
		LastActivityAt: time.Date(2017, 3, 22, 19, 28, 8, 0, time.UTC),
		CreatedAt:      time.Date(2017, 3, 22, 19, 28, 2, 0, time.UTC),
	}
	if !reflect.DeepEqual(ev.Cart, want) {
		t.Errorf("cart mismatch\n got: %+v\nwant: %+v", ev.Cart, want)
	}
}

func TestDecodeUnpaidOrderVariants(t *testing.T) {
	pluginMeta := []any{
		map[string]any{"id": 1, "key": "_cartback_cart_key", "value": "t_abc"},
		map[string]any{"id": 2, "key": "_cartback_email_consent", "value": "yes"},
		map[string]any{"id": 3, "key": "_cartback_sms_consent", "value": "yes"},
		map[string]any{"id": 4, "key": "_cartback_locale", "value": "nb_NO"},
		map[string]any{"id": 5, "key": "_wc_order_attribution", "value": []any{"a", "b"}},
	}
	norwegian := map[string]any{"first_name": "Kari", "last_name": "Nordmann", "email": "kari@example.no",
		"phone": "912 34 567", "country": "NO"}

	t.Run("checkout-draft with plugin meta", func(t *testing.T) {
		body := patched(t, "order_pending.json", map[string]any{
			"status": "checkout-draft", "meta_data": pluginMeta, "billing": norwegian,
		})
		cart := decode(t, TopicOrderUpdated, body, recovery.EventCartUpdated).Cart
		if want := (recovery.CartKeys{OrderID: "727", CartKey: "t_abc"}); cart.Keys != want {
			t.Errorf("Keys = %+v, want %+v", cart.Keys, want)
		}
		wantContact := recovery.Contact{Email: "kari@example.no", Phone: "+4791234567",
			FirstName: "Kari", LastName: "Nordmann", Locale: "nb-NO", Country: "NO"}
		if cart.Contact != wantContact {
			t.Errorf("Contact = %+v, want %+v", cart.Contact, wantContact)
		}
		granted := recovery.ConsentGrant{Granted: true, Source: "woocommerce:checkout_checkbox"}
		if want := (recovery.Consent{Email: granted, SMS: granted}); cart.Consent != want {
			t.Errorf("Consent = %+v, want %+v", cart.Consent, want)
		}
		if cart.RestoreURL != storeURL+"/checkout/" {
			t.Errorf("RestoreURL = %q, want the checkout page", cart.RestoreURL)
		}
	})

	t.Run("failed, phone read in the shop's region without a billing country", func(t *testing.T) {
		billing := map[string]any{"email": "kari@example.no", "phone": "912 34 567"}
		body := patched(t, "order_pending.json", map[string]any{"status": "failed", "billing": billing})
		cart := decode(t, TopicOrderUpdated, body, recovery.EventCartUpdated).Cart
		if cart.Contact.Phone != "+4791234567" || cart.Contact.Country != "" {
			t.Errorf("Contact = %+v, want the phone read as Norwegian", cart.Contact)
		}
		if !strings.HasPrefix(cart.RestoreURL, storeURL+"/checkout/order-pay/727/") {
			t.Errorf("RestoreURL = %q, want the pay page", cart.RestoreURL)
		}
	})

	t.Run("display key and value, private meta skipped", func(t *testing.T) {
		items := []any{map[string]any{
			"name": "Tee &amp; Co", "product_id": 0, "variation_id": 0, "quantity": 1, "price": 21.99, "subtotal": "21.99",
			"meta_data": []any{
				map[string]any{"key": "pa_color", "value": "black", "display_key": "Color", "display_value": "Black"},
				map[string]any{"key": "_reduced_stock", "value": "1"},
				map[string]any{"key": "gift", "value": map[string]any{"to": "x"}},
			},
			"image": map[string]any{"id": 7, "src": "https://shop.example.com/tee.jpg"},
		}}
		body := patched(t, "order_pending.json", map[string]any{"line_items": items})
		cart := decode(t, TopicOrderCreated, body, recovery.EventCartUpdated).Cart
		want := []recovery.LineItem{{
			Title: "Tee & Co", Quantity: 1, UnitPrice: 2199, LinePrice: 2199,
			ImageURL:   "https://shop.example.com/tee.jpg",
			Attributes: []recovery.Attribute{{Name: "Color", Value: "Black"}},
		}}
		if !reflect.DeepEqual(cart.Items, want) {
			t.Errorf("Items = %+v\n want %+v", cart.Items, want)
		}
		if cart.Totals.Subtotal != 2199 {
			t.Errorf("Subtotal = %d, want the sum of line subtotals", cart.Totals.Subtotal)
		}
	})
}

// A shop that shows prices with tax: its order lines, which WooCommerce
// gives without tax, are shown with it, as the shopper saw them, and so
// they add up to the total with shipping.
func TestDecodeOrderPricesIncludingTax(t *testing.T) {
	items := []any{map[string]any{
		"name": "Tee", "quantity": 3, "price": 66.67, "subtotal": "200.00", "subtotal_tax": "50.00",
		"total": "180.00", "total_tax": "45.00",
	}}
	for _, inclusive := range []bool{false, true} {
		body := patched(t, "order_pending.json", map[string]any{
			"line_items": items, "prices_include_tax": inclusive,
			"discount_total": "20.00", "discount_tax": "5.00", "shipping_total": "40.00", "shipping_tax": "10.00",
			"total_tax": "55.00", "total": "275.00",
		})
		cart := decode(t, TopicOrderCreated, body, recovery.EventCartUpdated).Cart
		want := recovery.Totals{Subtotal: 20000, Discounts: 2000, Shipping: 4000, Tax: 5500, Total: 27500}
		wantUnit := int64(6667)
		if inclusive {
			want.Subtotal, want.Discounts, want.Shipping, wantUnit = 25000, 2500, 5000, 8333
		}
		if it := cart.Items[0]; it.LinePrice != want.Subtotal || it.UnitPrice != wantUnit || cart.Totals != want {
			t.Errorf("inclusive=%v: line %d, unit %d, totals %+v; want unit %d, totals %+v", inclusive, it.LinePrice, it.UnitPrice, cart.Totals, wantUnit, want)
		}
	}
}

func TestDecodeOrderStatuses(t *testing.T) {
	tests := []struct {
		status string
		want   recovery.EventKind
	}{
		{"pending", recovery.EventCartUpdated},
		{"failed", recovery.EventCartUpdated},
		{"checkout-draft", recovery.EventCartUpdated},
		{"processing", recovery.EventOrder},
		{"completed", recovery.EventOrder},
		{"on-hold", recovery.EventOrder},
		{"cancelled", recovery.EventCartDeleted},
		{"trash", recovery.EventCartDeleted},
		{"refunded", recovery.EventIgnored},
		{"", recovery.EventIgnored},
	}
	for _, tt := range tests {
		t.Run(tt.status, func(t *testing.T) {
			ev := decode(t, TopicOrderUpdated, patched(t, "order.json", map[string]any{"status": tt.status}), tt.want)
			if tt.want == recovery.EventCartDeleted {
				// The order id, and the time of the cancel: a pending
				// update from before it, arriving later, must not reopen it.
				want := &recovery.Cart{Keys: recovery.CartKeys{OrderID: "727"}, LastActivityAt: time.Date(2017, 3, 22, 19, 28, 8, 0, time.UTC)}
				if !reflect.DeepEqual(ev.Cart, want) {
					t.Errorf("Cart = %+v, want the order id and the cancel's time", ev.Cart)
				}
			}
		})
	}

	// A status cartback ignores is not rejected over fields it never reads.
	body := []byte(`{"id":727,"status":"refunded","total":{"amount":"29.35"}}`)
	decode(t, TopicOrderUpdated, body, recovery.EventIgnored)
	decode(t, TopicOrderUpdated, []byte(`{"id":727,"status":"wc-shipped","total":{"amount":"29.35"}}`), recovery.EventIgnored)

	// WooCommerce cancelling an order left unpaid past the hold-stock time
	// (the plugin marks it) keeps the cart: that shopper is the one to
	// remind.
	timedOut := patched(t, "order.json", map[string]any{"status": "cancelled", "meta_data": []any{
		map[string]any{"id": 1, "key": "_cartback_unpaid_timeout", "value": "yes"},
	}})
	decode(t, TopicOrderUpdated, timedOut, recovery.EventIgnored)

	// A status of a plugin's own on a paid order means bought; unpaid, it
	// means nothing cartback knows.
	for _, status := range []string{"partially-paid", "wc-shipped"} {
		paid := patched(t, "order.json", map[string]any{"status": status, "date_paid_gmt": "2017-03-22T19:30:08"})
		if ev := decode(t, TopicOrderUpdated, paid, recovery.EventOrder); ev.Order == nil || ev.Order.ID != "727" {
			t.Errorf("%s, paid: %+v", status, ev.Order)
		}
		decode(t, TopicOrderUpdated, patched(t, "order.json", map[string]any{"status": status, "date_paid_gmt": nil}), recovery.EventIgnored)
	}
}

func TestDecodeCartUpdated(t *testing.T) {
	ev := decode(t, TopicCartUpdated, readTestdata(t, "cart_updated.json"), recovery.EventCartUpdated)
	key := "t_5f3c9a1e8d2b47c0a6e4f1b2c3d4e5f6"
	want := &recovery.Cart{
		Keys: recovery.CartKeys{CartKey: key},
		Contact: recovery.Contact{
			Email: "kari.nordmann@example.no", Phone: "+4791234567",
			FirstName: "Kari", LastName: "Nordmann", Locale: "nb-NO", Country: "NO",
		},
		Consent: recovery.Consent{
			Email: recovery.ConsentGrant{Granted: true, Source: "woocommerce:plugin"},
			SMS:   recovery.ConsentGrant{Granted: false, Source: "woocommerce:plugin"},
		},
		Currency: "NOK",
		Items: []recovery.LineItem{
			{
				Title: "Ship Your Idea – Black, M", SKU: "Bar3", Quantity: 2,
				UnitPrice: 24900, LinePrice: 49800, ProductID: "22", VariantID: "23",
				ImageURL:   "https://store.example/wp-content/uploads/2026/01/ship-your-idea-black.jpg",
				ProductURL: "https://store.example/product/ship-your-idea/?attribute_pa_color=black&attribute_size=M",
				// The name shows both options: no variant title. The keys
				// and slugs stay for restoring the cart.
				Attributes: []recovery.Attribute{{Name: "attribute_pa_color", Value: "black"}, {Name: "attribute_size", Value: "M"}},
			},
			{
				Title: "Woo Single #1", Quantity: 1, UnitPrice: 9950, LinePrice: 9950, ProductID: "93",
				ProductURL: "https://store.example/product/woo-single-1/",
			},
		},
		Totals:         recovery.Totals{Subtotal: 59750, Discounts: 5000, Shipping: 7900, Tax: 12530, Total: 62650},
		RestoreURL:     "https://store.example/?cartback_restore=" + key + "&sig=0c8e61f2",
		LastActivityAt: time.Date(2026, 3, 2, 8, 58, 31, 0, time.UTC),
		CreatedAt:      time.Date(2026, 3, 2, 8, 41, 7, 0, time.UTC),
	}
	if !reflect.DeepEqual(ev.Cart, want) {
		t.Errorf("cart mismatch\n got: %+v\nwant: %+v", ev.Cart, want)
	}
}

func TestDecodeCartUpdatedMinimal(t *testing.T) {
	// What PHP's json_encode makes of empty arrays, and no restore_url.
	body := []byte(`{"cart_key":"k1","currency":"JPY","customer":{"phone":"+46 70 123 45 67"},
		"items":[{"name":"Tea","quantity":3,"price":"500","attributes":[]}],"totals":{"total":"1500"}}`)
	cart := decode(t, TopicCartUpdated, body, recovery.EventCartUpdated).Cart
	if cart.RestoreURL != storeURL+"/cart/" {
		t.Errorf("RestoreURL = %q, want the cart page", cart.RestoreURL)
	}
	if cart.Contact.Phone != "+46701234567" {
		t.Errorf("Phone = %q, want +46701234567", cart.Contact.Phone)
	}
	want := []recovery.LineItem{{Title: "Tea", Quantity: 3, UnitPrice: 500, LinePrice: 1500}}
	if !reflect.DeepEqual(cart.Items, want) || cart.Totals.Total != 1500 {
		t.Errorf("Items = %+v, Total = %d; want %+v, 1500", cart.Items, cart.Totals.Total, want)
	}
	if !cart.LastActivityAt.IsZero() {
		t.Errorf("LastActivityAt = %v, want zero without updated_at", cart.LastActivityAt)
	}
}

func TestDecodeCartDeleted(t *testing.T) {
	ev := decode(t, TopicCartDeleted, readTestdata(t, "cart_deleted.json"), recovery.EventCartDeleted)
	// The time it was emptied comes along: an update from before it that
	// arrives later must not bring the cart back.
	want := &recovery.Cart{Keys: recovery.CartKeys{CartKey: "t_5f3c9a1e8d2b47c0a6e4f1b2c3d4e5f6"}, LastActivityAt: time.Date(2026, 3, 2, 9, 12, 45, 0, time.UTC)}
	if !reflect.DeepEqual(ev.Cart, want) {
		t.Errorf("Cart = %+v, want %+v", ev.Cart, want)
	}
}

func TestDecodeIgnoredTopics(t *testing.T) {
	// An ignored topic's body is not read: this is WooCommerce's creation
	// ping, which the HTTP layer answers before it gets here.
	for _, topic := range []string{"product.updated", "order.deleted", "coupon.created", "action.woocommerce_add_to_cart", ""} {
		ev, err := DecodeWebhook(topic, []byte("webhook_id=12"), storeURL, "NO")
		if err != nil || !reflect.DeepEqual(ev, recovery.Event{Kind: recovery.EventIgnored}) {
			t.Errorf("%q = %+v, %v; want ignored", topic, ev, err)
		}
	}
}

func TestDecodeMalformed(t *testing.T) {
	pending := func(fields map[string]any) []byte { return patched(t, "order_pending.json", fields) }
	cart := func(fields map[string]any) []byte { return patched(t, "cart_updated.json", fields) }
	tests := []struct {
		name, topic string
		body        []byte
		wantMessage string
	}{
		{"creation ping", TopicOrderCreated, []byte("webhook_id=12"), "invalid JSON: invalid character 'w' looking for beginning of value at offset 1"},
		{"empty body", TopicOrderUpdated, nil, "invalid JSON: unexpected end of input at offset 0"},
		{"array body", TopicOrderUpdated, []byte(`[{"id":723,"status":"pending"}]`), "expected a JSON object, got array"},
		{"status is a number", TopicOrderUpdated, []byte(`{"status":1}`), "status: expected a string, got number"},
		{"no id", TopicOrderUpdated, pending(map[string]any{"id": nil}), "order has no id"},
		{"negative id", TopicOrderUpdated, pending(map[string]any{"id": -727}), "id: expected an integer id, got number -727"},
		{"price is a string of words", TopicOrderUpdated, pending(map[string]any{"line_items": []any{map[string]any{"price": "three"}}}), `line_items.price: amount "three" is not a decimal number`},
		{"price is a bool", TopicOrderUpdated, pending(map[string]any{"line_items": []any{map[string]any{"price": true}}}), "line_items.price: expected a decimal amount, got bool"},
		{"price in exponent form", TopicOrderUpdated, pending(map[string]any{"line_items": []any{map[string]any{"price": json.Number("1e3")}}}), `line_items.price: amount "1e3" is not a decimal number`},
		{"zoned gmt date", TopicOrderUpdated, pending(map[string]any{"date_modified_gmt": "2017-03-22 19:28:08"}), "date_modified_gmt: not a time like 2006-01-02T15:04:05"},
		{"paid date malformed", TopicOrderCreated, patched(t, "order.json", map[string]any{"date_paid_gmt": "yesterday"}), "date_paid_gmt: not a time like 2006-01-02T15:04:05"},
		{"total malformed", TopicOrderCreated, patched(t, "order.json", map[string]any{"total": "29,35"}), `total: amount "29,35" is not a decimal number`},
		{"billing is a list", TopicOrderCreated, patched(t, "order.json", map[string]any{"billing": []any{}}), "billing: expected an object, got array"},
		{"cart without key", TopicCartUpdated, cart(map[string]any{"cart_key": ""}), "cart has no cart_key"},
		{"cart key is a number", TopicCartUpdated, cart(map[string]any{"cart_key": 5}), "cart_key: expected a string, got number"},
		{"cart time not RFC 3339", TopicCartUpdated, cart(map[string]any{"updated_at": "2026-03-02 09:58:31"}), "updated_at: not an RFC 3339 time"},
		{"cart total malformed", TopicCartUpdated, cart(map[string]any{"totals": map[string]any{"total": "626.50 kr"}}), `totals.total: amount "626.50 kr" is not a decimal number`},
		{"attributes are a list of values", TopicCartUpdated, cart(map[string]any{"items": []any{map[string]any{"attributes": []any{"M"}}}}), "items.attributes: expected an object, got array"},
		{"deleted cart without key", TopicCartDeleted, []byte(`{"updated_at":"2026-03-02T10:12:45+01:00"}`), "cart has no cart_key"},
		{"deleted cart truncated", TopicCartDeleted, []byte(`{"cart_key":"t_`), "invalid JSON: unexpected end of input at offset 15"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := DecodeWebhook(tt.topic, tt.body, storeURL, "NO")
			if code := recovery.ErrorCode(err); code != recovery.EINVALID {
				t.Fatalf("error = %v (code %q), want %s", err, code, recovery.EINVALID)
			}
			if msg := recovery.ErrorMessage(err); msg != tt.wantMessage {
				t.Errorf("message = %q, want %q", msg, tt.wantMessage)
			}
			if !reflect.DeepEqual(ev, recovery.Event{}) {
				t.Errorf("event = %+v, want the zero Event with an error", ev)
			}
		})
	}
}

var fuzzTopics = []string{TopicOrderCreated, TopicOrderUpdated, TopicCartUpdated, TopicCartDeleted, "product.updated"}

func FuzzDecodeWebhook(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no testdata: %v", err)
	}
	for _, file := range files {
		body := readTestdata(f, filepath.Base(file))
		for _, topic := range fuzzTopics {
			f.Add(topic, body, storeURL, "NO")
		}
	}
	f.Fuzz(func(t *testing.T, topic string, body []byte, store, region string) {
		ev, err := DecodeWebhook(topic, body, store, region)
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

func TestDecodeCartVariantTitle(t *testing.T) {
	attrs := `{"attribute_pa_color":"dark-blue","attribute_size":"M","attribute_frame-size":"Large frame"}`
	tests := []struct {
		name, item, want string
	}{
		{"the plugin's label", `"name":"Ship Your Idea","attributes":` + attrs + `,"variant_title":"Color: Navy &amp; white, Size: M"`, "Color: Navy & white, Size: M"},
		{"the plugin found nothing to add to the name", `"name":"Ship Your Idea","attributes":` + attrs + `,"variant_title":""`, ""},
		// Plugins before 1.1.2 send only the keys and slugs.
		{"older plugin", `"name":"Ship Your Idea","attributes":` + attrs, "Frame size: Large frame, Color: Dark blue, Size: M"},
		{"older plugin, null label", `"name":"Ship Your Idea","attributes":` + attrs + `,"variant_title":null`, "Frame size: Large frame, Color: Dark blue, Size: M"},
		{"older plugin, name shows all", `"name":"Ship Your Idea &ndash; Black, M","attributes":{"attribute_pa_color":"black","attribute_size":"M"}`, ""},
		{"older plugin, name shows one", `"name":"Ship Your Idea &ndash; Dark Blue","attributes":{"attribute_pa_color":"dark-blue","attribute_size":"M"}`, "Size: M"},
		{"older plugin, encoded slug", `"name":"Genser","attributes":{"attribute_pa_farge":"m%c3%b8rkebl%c3%a5"}`, "Farge: Mørkeblå"},
		{"simple product", `"name":"Woo Single #1","attributes":{}`, ""},
	}
	for _, tt := range tests {
		body := []byte(`{"cart_key":"k1","currency":"NOK","items":[{"quantity":1,"price":"10.00",` + tt.item + `}],"totals":{"total":"10.00"}}`)
		cart := decode(t, TopicCartUpdated, body, recovery.EventCartUpdated).Cart
		if got := cart.Items[0].VariantTitle; got != tt.want {
			t.Errorf("%s: VariantTitle = %q, want %q", tt.name, got, tt.want)
		}
		sameAll(t, body)
	}
}

// TestRemindersShowReadableVariants renders the plugin's own cart.updated
// (the contract file the PHP tests write), in the form older plugins sent
// and in the current one: the shopper sees the product's name and options,
// never the keys and slugs the cart is restored from.
func TestRemindersShowReadableVariants(t *testing.T) {
	r, err := templates.New(templates.Options{})
	if err != nil {
		t.Fatal(err)
	}
	current := readTestdata(t, "contract/cart_updated.json")
	older := bytes.ReplaceAll(current, []byte(`,"variant_title":""`), nil)
	if bytes.Equal(older, current) {
		t.Fatal("the contract cart has no variant_title")
	}
	withoutNames := bytes.ReplaceAll(older, []byte(`Ship Your Idea &ndash; Black, M`), []byte(`Ship Your Idea`))
	for _, tt := range []struct {
		name string
		body []byte
		want string
	}{
		{"plugin 1.1.2", current, "2 x Ship Your Idea – Black, M: "},
		{"older plugin", older, "2 x Ship Your Idea – Black, M: "},
		{"older plugin, name without options", withoutNames, "2 x Ship Your Idea (Color: Black, Size: M): "},
	} {
		cart := decode(t, TopicCartUpdated, tt.body, recovery.EventCartUpdated).Cart
		in := recovery.RenderInput{
			Shop: &recovery.Shop{Domain: "store.example", Name: "Store"}, Cart: cart, Locale: "en",
			Step: recovery.StepRun{Channel: recovery.ChannelEmail, Template: recovery.TemplateReminder},
		}
		out, err := r.Render(t.Context(), in)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.Text, tt.want) {
			t.Errorf("%s: text lacks %q:\n%s", tt.name, tt.want, out.Text)
		}
		for _, part := range []string{out.Text, out.HTML} {
			if strings.Contains(part, "attribute_") || strings.Contains(part, "pa_color") {
				t.Errorf("%s: a restore key reached the shopper:\n%s", tt.name, part)
			}
		}
	}
}
