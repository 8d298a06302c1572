package templates

import (
	"encoding/json"
	"html"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cartback/cartback/recovery"
)

// The carts below are read from the platforms' published samples in
// testdata with a plain field-by-field mapping; the adapters' own readers
// are tested in their packages.

func readJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func money(t *testing.T, s, currency string) int64 {
	t.Helper()
	v, err := recovery.ParseMoney(s, currency)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// shopifyCart is the abandoned checkout of Shopify's REST example. The
// checkout carries no product images; the first line gets one so that
// emails with and without images are both covered.
func shopifyCart(t *testing.T) *recovery.Cart {
	var doc struct {
		Checkouts []struct {
			Token          string `json:"token"`
			Email          string `json:"email"`
			Currency       string `json:"currency"`
			CustomerLocale string `json:"customer_locale"`
			RecoverURL     string `json:"abandoned_checkout_url"`
			Subtotal       string `json:"subtotal_price"`
			Discounts      string `json:"total_discounts"`
			Tax            string `json:"total_tax"`
			Total          string `json:"total_price"`
			DiscountCodes  []struct {
				Code string `json:"code"`
			} `json:"discount_codes"`
			Customer struct {
				FirstName string `json:"first_name"`
				LastName  string `json:"last_name"`
				Phone     string `json:"phone"`
			} `json:"customer"`
			LineItems []struct {
				Title        string `json:"title"`
				VariantTitle string `json:"variant_title"`
				SKU          string `json:"sku"`
				Quantity     int    `json:"quantity"`
				Price        string `json:"price"`
				LinePrice    string `json:"line_price"`
			} `json:"line_items"`
		} `json:"checkouts"`
	}
	readJSON(t, "shopify_rest_checkouts_list_response.json", &doc)
	co := doc.Checkouts[0]
	cart := &recovery.Cart{
		ID: 1, ShopID: 7, Platform: recovery.PlatformShopify,
		Keys: recovery.CartKeys{CheckoutToken: co.Token},
		Contact: recovery.Contact{
			Email: co.Email, Phone: co.Customer.Phone, Locale: co.CustomerLocale,
			FirstName: co.Customer.FirstName, LastName: co.Customer.LastName,
		},
		Currency:   co.Currency,
		RestoreURL: co.RecoverURL,
		Totals: recovery.Totals{
			Subtotal:  money(t, co.Subtotal, co.Currency),
			Discounts: money(t, co.Discounts, co.Currency),
			Tax:       money(t, co.Tax, co.Currency),
			Total:     money(t, co.Total, co.Currency),
		},
		State: recovery.CartAbandoned,
	}
	for _, li := range co.LineItems {
		cart.Items = append(cart.Items, recovery.LineItem{
			Title: li.Title, VariantTitle: li.VariantTitle, SKU: li.SKU, Quantity: li.Quantity,
			UnitPrice: money(t, li.Price, co.Currency), LinePrice: money(t, li.LinePrice, co.Currency),
		})
	}
	cart.Items[0].ImageURL = "https://cdn.shopify.example/products/ipod-nano-red.jpg"
	cart.Items[0].ProductURL = "https://nordic-outdoor.myshopify.com/products/ipod-nano"
	return cart
}

// wooCart is WooCommerce's sample order read as the cart it was before
// payment. Names carry HTML entities, which the adapter decodes.
func wooCart(t *testing.T) *recovery.Cart {
	var o struct {
		Currency string `json:"currency"`
		Total    string `json:"total"`
		Shipping string `json:"shipping_total"`
		Tax      string `json:"total_tax"`
		Billing  struct {
			FirstName string `json:"first_name"`
			LastName  string `json:"last_name"`
			Email     string `json:"email"`
			Country   string `json:"country"`
		} `json:"billing"`
		LineItems []struct {
			Name     string      `json:"name"`
			SKU      string      `json:"sku"`
			Quantity int         `json:"quantity"`
			Subtotal string      `json:"subtotal"`
			Price    json.Number `json:"price"`
			Meta     []struct {
				Key   string `json:"key"`
				Value any    `json:"value"`
			} `json:"meta_data"`
		} `json:"line_items"`
	}
	readJSON(t, "woocommerce_order.json", &o)
	cart := &recovery.Cart{
		ID: 2, ShopID: 7, Platform: recovery.PlatformWooCommerce,
		Contact: recovery.Contact{
			Email: o.Billing.Email, FirstName: o.Billing.FirstName, LastName: o.Billing.LastName,
			Country: o.Billing.Country,
		},
		Currency: o.Currency,
		State:    recovery.CartAbandoned,
	}
	var subtotal int64
	for _, li := range o.LineItems {
		item := recovery.LineItem{
			Title: html.UnescapeString(li.Name), SKU: li.SKU, Quantity: li.Quantity,
			UnitPrice: money(t, li.Price.String(), o.Currency), LinePrice: money(t, li.Subtotal, o.Currency),
		}
		for _, m := range li.Meta {
			if s, ok := m.Value.(string); ok && !strings.HasPrefix(m.Key, "_") {
				item.Attributes = append(item.Attributes, recovery.Attribute{Name: m.Key, Value: s})
			}
		}
		subtotal += item.LinePrice
		cart.Items = append(cart.Items, item)
	}
	cart.Totals = recovery.Totals{
		Subtotal: subtotal,
		Shipping: money(t, o.Shipping, o.Currency),
		Tax:      money(t, o.Tax, o.Currency),
		Total:    money(t, o.Total, o.Currency),
	}
	return cart
}
