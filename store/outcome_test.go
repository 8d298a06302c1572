package store

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/cartback/cartback/internal/payload"
	"github.com/cartback/cartback/recovery"
)

// TestOutcomeReaderMatchesJSON guards the one-pass outcome reader against
// drifting from the cart's JSON: both must read the same fields.
func TestOutcomeReaderMatchesJSON(t *testing.T) {
	at := time.Date(2026, 11, 2, 10, 0, 0, 123, time.UTC)
	c := &recovery.Cart{
		ID: 7, ShopID: 3, Platform: recovery.PlatformShopify, State: recovery.CartConverted, OrderOnly: true, Holdout: true,
		Keys:    recovery.CartKeys{CheckoutToken: "t", CartToken: "c"},
		Contact: recovery.Contact{Email: "a\"b@example.com", Phone: "+4791234567"},
		Items: []recovery.LineItem{{Title: "Lamp \u00e9 \"x\"", Quantity: 2, UnitPrice: 100, LinePrice: 200,
			Attributes: []recovery.Attribute{{Name: "Size", Value: "M"}}}},
		CapturedAt: at, AbandonedAt: at.Add(time.Hour), LastActivityAt: at, NextDueAt: at.Add(2 * time.Hour),
		Steps: []recovery.StepRun{{Index: 1, Channel: recovery.ChannelSMS, Template: "follow-up", DiscountCode: "X", Variant: "B",
			After: recovery.Duration(time.Hour), DueAt: at, NotBefore: at, Deadline: at, State: recovery.StepSent, Reason: "r",
			ClaimedAt: at, FinishedAt: at, MessageID: 99}},
		Conversion: &recovery.Conversion{OrderID: "1", OrderNumber: "#1", Total: 12345, Currency: "NOK", At: at, Attribution: "link", AttributedStep: 1},
	}
	active := &recovery.Cart{ID: 2, ShopID: 1, State: recovery.CartActive, LastActivityAt: at, Items: c.Items}
	for _, cart := range []*recovery.Cart{c, {ID: 1, ShopID: 1, State: recovery.CartActive}, active} {
		raw, err := json.Marshal(cart)
		if err != nil {
			t.Fatal(err)
		}
		// The readers themselves, not DecodeHeadWith: it would fall back
		// to encoding/json and hide a reader that fails.
		var fast, slow cartOutcome
		r := payload.NewReader(raw)
		if readOutcome(&r, &fast); r.Failed() {
			t.Fatalf("cart %d: the outcome reader failed on %s", cart.ID, raw)
		}
		if err := json.Unmarshal(raw, &slow); err != nil {
			t.Fatal(err)
		}
		if cart.State != recovery.CartActive {
			if fast.HasItems {
				t.Errorf("cart %d: the reader went on into the contents of a cart no longer active", cart.ID)
			}
			slow.HasItems = false // read only for active carts
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Errorf("one-pass reader differs from encoding/json:\n%+v\n%+v", fast, slow)
		}
		if (cart.State == recovery.CartActive && bool(fast.HasItems) != (len(cart.Items) > 0)) || !fast.LastActivityAt.Equal(cart.LastActivityAt) || !fast.NextDueAt.Equal(cart.NextDueAt) {
			t.Errorf("cart %d: has items %v, last activity %v", cart.ID, fast.HasItems, fast.LastActivityAt)
		}
		var fastLink, slowLink cartLink
		r = payload.NewReader(raw)
		if readLink(&r, &fastLink); r.Failed() {
			t.Fatalf("cart %d: the link reader failed on %s", cart.ID, raw)
		}
		json.Unmarshal(raw, &slowLink)
		if !reflect.DeepEqual(fastLink, slowLink) {
			t.Errorf("link reader differs from encoding/json:\n%+v\n%+v", fastLink, slowLink)
		}
	}
}

// A click reads only the head of a stored cart: the link fields come
// before the contents, and the reader stops once it has them.
func TestLinkReaderStopsAtTheContents(t *testing.T) {
	c := &recovery.Cart{
		ID: 7, ShopID: 3, Keys: recovery.CartKeys{CheckoutToken: "t"}, State: recovery.CartAbandoned,
		RestoreURL: "https://shop.example/r", Steps: []recovery.StepRun{{Index: 0, DiscountCode: "X"}},
		Items: []recovery.LineItem{{Title: "Lamp", Quantity: 1}},
	}
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	contents := bytes.Index(raw, []byte(`"order_only"`))
	if contents < 0 {
		contents = bytes.Index(raw, []byte(`"last_activity_at"`))
	}
	if contents < 0 || contents > bytes.Index(raw, []byte(`"items"`)) {
		t.Fatalf("link fields do not come before the contents: %s", raw)
	}
	// Whatever follows the link fields is never looked at.
	cut := append(bytes.Clone(raw[:contents]), "not json at all"...)
	var l cartLink
	if err := payload.DecodeHeadWith(cut, &l, readLink); err != nil {
		t.Fatal(err)
	}
	if l.ID != 7 || l.ShopID != 3 || l.State != recovery.CartAbandoned || l.RestoreURL != c.RestoreURL || len(l.Steps) != 1 || l.Steps[0].DiscountCode != "X" {
		t.Errorf("head read: %+v", l)
	}
}
