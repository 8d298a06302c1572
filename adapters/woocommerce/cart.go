package woocommerce

import (
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cartback/cartback/internal/payload"
	"github.com/cartback/cartback/recovery"
)

// sourcePlugin is the consent source of carts reported by the companion
// plugin, which asks for consent itself.
const sourcePlugin = "woocommerce:plugin"

// decodeCart reads the plugin's cart.updated body.
func decodeCart(body []byte, storeURL, region string) (*recovery.Cart, error) {
	var p cartPayload
	if err := payload.DecodeWith(body, &p, readCart); err != nil {
		return nil, err
	}
	cartKey := strings.TrimSpace(p.CartKey)
	if cartKey == "" {
		return nil, recovery.Errorf(recovery.EINVALID, "cart has no cart_key")
	}
	c := p.Customer
	cart := &recovery.Cart{
		Keys:    recovery.CartKeys{CartKey: cartKey},
		Contact: contact(c.Email, c.Phone, c.FirstName, c.LastName, c.Country, p.Locale, region),
		Consent: recovery.Consent{
			Email: recovery.ConsentGrant{Granted: p.Consent.EmailMarketing, Source: sourcePlugin},
			SMS:   recovery.ConsentGrant{Granted: p.Consent.SMSMarketing, Source: sourcePlugin},
		},
		Currency:   strings.TrimSpace(p.Currency),
		RestoreURL: strings.TrimSpace(p.RestoreURL),
	}
	if cart.RestoreURL == "" && storeURL != "" {
		// The cart page shows the cart when the shopper's session is still
		// in their browser, the common case for a reminder opened on the
		// same device.
		cart.RestoreURL = storeURL + "/cart/"
	}

	conv := payload.Converter{Currency: cart.Currency}
	if len(p.Items) > 0 {
		// Sized once; a cart without items keeps a nil Items.
		cart.Items = make([]recovery.LineItem, 0, len(p.Items))
	}
	for _, item := range p.Items {
		unit := conv.Money("items.price", item.Price)
		var line int64
		if item.LineTotal != "" {
			line = conv.Money("items.line_total", item.LineTotal)
		} else {
			line = conv.Product("items.price", unit, item.Quantity)
		}
		title := text(item.Name)
		cart.Items = append(cart.Items, recovery.LineItem{
			Title:        title,
			VariantTitle: variantTitle(title, item),
			SKU:          strings.TrimSpace(item.SKU),
			Quantity:     item.Quantity,
			UnitPrice:    unit,
			LinePrice:    line,
			ProductID:    item.ProductID.NonZero(),
			VariantID:    item.VariationID.NonZero(),
			ImageURL:     strings.TrimSpace(item.ImageURL),
			ProductURL:   strings.TrimSpace(item.ProductURL),
			Attributes:   sortedAttributes(item.Attributes),
		})
	}
	cart.Totals = recovery.Totals{
		Subtotal:  conv.Money("totals.subtotal", p.Totals.Subtotal),
		Discounts: conv.Money("totals.discount", p.Totals.Discount),
		Shipping:  conv.Money("totals.shipping", p.Totals.Shipping),
		Tax:       conv.Money("totals.tax", p.Totals.Tax),
		Total:     conv.Money("totals.total", p.Totals.Total),
	}
	cart.LastActivityAt = conv.Time("updated_at", p.UpdatedAt, time.RFC3339)
	cart.CreatedAt = conv.Time("created_at", p.CreatedAt, time.RFC3339)
	if err := conv.Err(); err != nil {
		return nil, err
	}
	return cart, nil
}

// decodeCartDeleted reads the plugin's cart.deleted body.
func decodeCartDeleted(body []byte) (*recovery.Cart, error) {
	var p cartDeletedPayload
	if err := payload.DecodeWith(body, &p, readCartDeleted); err != nil {
		return nil, err
	}
	cartKey := strings.TrimSpace(p.CartKey)
	if cartKey == "" {
		return nil, recovery.Errorf(recovery.EINVALID, "cart has no cart_key")
	}
	// When the cart was emptied: an update from before it that arrives
	// later must not bring the cart back.
	var conv payload.Converter
	at := conv.Time("updated_at", p.UpdatedAt, time.RFC3339)
	if err := conv.Err(); err != nil {
		return nil, err
	}
	return &recovery.Cart{Keys: recovery.CartKeys{CartKey: cartKey}, LastActivityAt: at}, nil
}

// sortedAttributes turns the plugin's attribute object into a list sorted
// by name: JSON objects have no order, and the same cart must always give
// the same list so that an unchanged cart compares equal.
func sortedAttributes(m attributeMap) []recovery.Attribute {
	var attrs []recovery.Attribute
	for name, value := range m {
		if name, value = text(name), text(value); name != "" && value != "" {
			attrs = append(attrs, recovery.Attribute{Name: name, Value: value})
		}
	}
	slices.SortFunc(attrs, func(a, b recovery.Attribute) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Value, b.Value)
	})
	return attrs
}

// variantTitle is how a reminder names the line's variation: the plugin's
// label, written by WooCommerce from the attributes' labels and term names,
// or, from plugins before 1.1.2, which send only the attribute keys and
// slugs the cart is restored from, a readable version of those.
func variantTitle(name string, item cartItemPayload) string {
	if item.VariantTitle != nil {
		return text(*item.VariantTitle)
	}
	var parts []string
	for _, a := range sortedAttributes(item.Attributes) {
		label, value := attributeLabel(a.Name), attributeValue(a.Name, a.Value)
		if label == "" || value == "" || inProductName(name, value) || inProductName(name, a.Value) {
			continue
		}
		parts = append(parts, label+": "+value)
	}
	return strings.Join(parts, ", ")
}

// attributeLabel turns a variation key into a label: attribute_pa_color
// (a global attribute's taxonomy) is "Color", attribute_frame-size (a
// product's own attribute, sanitised by WordPress) "Frame size".
func attributeLabel(key string) string {
	key = strings.TrimPrefix(key, "attribute_")
	key = strings.TrimPrefix(key, "pa_")
	return words(unescapeSlug(key))
}

// attributeValue is the shopper's word for a chosen value: a global
// attribute's value is its term's slug ("dark-blue" is "Dark blue"); a
// product's own attribute already holds the option as the shop wrote it
// ("39-42" stays as it is).
func attributeValue(key, value string) string {
	if strings.HasPrefix(key, "attribute_pa_") || strings.HasPrefix(key, "pa_") {
		return words(unescapeSlug(value))
	}
	return value
}

// unescapeSlug decodes the percent-encoding WordPress slugs carry for
// letters outside ASCII ("bl%c3%a5" is "blå").
func unescapeSlug(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// words turns a slug into words with a capital first letter: "dark-blue"
// is "Dark blue".
func words(slug string) string {
	s := strings.Join(strings.FieldsFunc(slug, func(r rune) bool { return r == '-' || r == '_' || unicode.IsSpace(r) }), " ")
	r, size := utf8.DecodeRuneInString(s)
	if size == 0 {
		return ""
	}
	return string(unicode.ToUpper(r)) + s[size:]
}

// inProductName reports whether a variation's name already shows value,
// as WooCommerce decides it (wc_is_attribute_in_product_name): variations
// of up to two attributes are named "Ship Your Idea – Black, M".
func inProductName(name, value string) bool {
	name, value = strings.ToLower(name), strings.ToLower(value)
	return value != "" && (strings.Contains(name, " "+value+",") || strings.HasSuffix(name, " "+value))
}
