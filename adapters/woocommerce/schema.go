package woocommerce

import (
	"encoding/json"
	"html"
	"reflect"
	"strings"

	"github.com/cartback/cartback/internal/payload"
)

// The types below mirror the parts of WooCommerce REST v3 order payloads
// and of the companion plugin's cart events (docs/woocommerce-events.md)
// that cartback reads. Everything else is skipped, so a change to a field
// cartback does not read cannot make a delivery fail.
//
// Each type is read by a read* function (read.go) on the hot path, and by
// json.Unmarshal through its tags when that gives up; the two must name the
// same fields, which TestReadersMatchTags and FuzzReaders check.

// orderStatusPayload is read first, so that an order in a status cartback
// ignores is not rejected over fields it would never use.
type orderStatusPayload struct {
	Status string `json:"status"`
}

// orderPayload is the body of order.created and order.updated.
type orderPayload struct {
	ID              payload.ID `json:"id"`
	Number          payload.ID `json:"number"`
	OrderKey        string     `json:"order_key"`
	Status          string     `json:"status"`
	Currency        string     `json:"currency"`
	DateCreatedGMT  string     `json:"date_created_gmt"`
	DateModifiedGMT string     `json:"date_modified_gmt"`
	DatePaidGMT     string     `json:"date_paid_gmt"`
	// PricesIncludeTax: the shop's prices are entered with tax (its usual
	// way to show them too); the line subtotals are without it either way.
	PricesIncludeTax bool            `json:"prices_include_tax"`
	DiscountTotal    payload.Decimal `json:"discount_total"`
	ShippingTotal    payload.Decimal `json:"shipping_total"`
	// DiscountTax and ShippingTax are the tax in the discount and the
	// shipping, added where the shop shows prices with tax.
	DiscountTax payload.Decimal        `json:"discount_tax"`
	ShippingTax payload.Decimal        `json:"shipping_tax"`
	TotalTax    payload.Decimal        `json:"total_tax"`
	Total       payload.Decimal        `json:"total"`
	Billing     contactPayload         `json:"billing"`
	MetaData    metaData               `json:"meta_data"`
	LineItems   []orderLineItemPayload `json:"line_items"`
}

type orderLineItemPayload struct {
	Name        string          `json:"name"`
	SKU         string          `json:"sku"`
	ProductID   payload.ID      `json:"product_id"`
	VariationID payload.ID      `json:"variation_id"`
	Quantity    int             `json:"quantity"`
	Price       payload.Decimal `json:"price"`
	Subtotal    payload.Decimal `json:"subtotal"`
	SubtotalTax payload.Decimal `json:"subtotal_tax"`
	MetaData    metaData        `json:"meta_data"`
	// Image is {"id":…,"src":…} in recent WooCommerce versions and
	// absent in older ones; it is read leniently, see imageSource.
	Image json.RawMessage `json:"image"`
}

// contactPayload is an order's billing block and a plugin cart's customer
// alike.
type contactPayload struct {
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
	Phone     string `json:"phone"`
	Country   string `json:"country"`
}

// metaData is a WooCommerce meta_data list. Values may be any JSON,
// including arrays of serialised PHP data, so they are kept raw.
type metaData []metaEntry

type metaEntry struct {
	Key          string          `json:"key"`
	Value        json.RawMessage `json:"value"`
	DisplayKey   string          `json:"display_key"`
	DisplayValue json.RawMessage `json:"display_value"`
}

// value returns the text of the first entry named key; "" when there is
// none or its value is not a string or number.
func (m metaData) value(key string) string {
	for _, entry := range m {
		if entry.Key == key {
			text, _ := payload.ScalarText(entry.Value)
			return text
		}
	}
	return ""
}

// imageSource returns the src of a line item's image, or "" when the
// payload has none in the expected shape; an image is decoration and never
// a reason to drop an order.
func imageSource(raw json.RawMessage) string {
	var image struct {
		Src string `json:"src"`
	}
	if json.Unmarshal(raw, &image) != nil {
		return ""
	}
	return strings.TrimSpace(image.Src)
}

// cartDeletedPayload is the body of the plugin's cart.deleted event.
type cartDeletedPayload struct {
	CartKey   string `json:"cart_key"`
	UpdatedAt string `json:"updated_at"`
}

// cartPayload is the body of the plugin's cart.updated and cart.deleted
// events; docs/woocommerce-events.md is its specification.
type cartPayload struct {
	CartKey    string             `json:"cart_key"`
	CreatedAt  string             `json:"created_at"`
	UpdatedAt  string             `json:"updated_at"`
	Currency   string             `json:"currency"`
	Locale     string             `json:"locale"`
	Customer   contactPayload     `json:"customer"`
	Consent    cartConsentPayload `json:"consent"`
	Items      []cartItemPayload  `json:"items"`
	Totals     cartTotalsPayload  `json:"totals"`
	RestoreURL string             `json:"restore_url"`
}

type cartConsentPayload struct {
	EmailMarketing bool `json:"email_marketing"`
	SMSMarketing   bool `json:"sms_marketing"`
}

type cartItemPayload struct {
	ProductID   payload.ID      `json:"product_id"`
	VariationID payload.ID      `json:"variation_id"`
	Name        string          `json:"name"`
	SKU         string          `json:"sku"`
	Quantity    int             `json:"quantity"`
	Price       payload.Decimal `json:"price"`
	LineTotal   payload.Decimal `json:"line_total"`
	ImageURL    string          `json:"image_url"`
	ProductURL  string          `json:"product_url"`
	Attributes  attributeMap    `json:"attributes"`
	// VariantTitle is the plugin's label of the variation (1.1.2 and
	// later); nil from older plugins, which send only Attributes.
	VariantTitle *string `json:"variant_title"`
}

type cartTotalsPayload struct {
	Subtotal payload.Decimal `json:"subtotal"`
	Discount payload.Decimal `json:"discount"`
	Shipping payload.Decimal `json:"shipping"`
	Tax      payload.Decimal `json:"tax"`
	Total    payload.Decimal `json:"total"`
}

// attributeMap is an item's chosen options, name to value. PHP's
// json_encode writes an empty array as [] rather than {}, so [] is read as
// no attributes; values that are not strings or numbers are skipped.
type attributeMap map[string]string

// UnmarshalJSON implements json.Unmarshaler.
func (m *attributeMap) UnmarshalJSON(b []byte) error {
	var list []json.RawMessage
	if json.Unmarshal(b, &list) == nil && len(list) == 0 {
		*m = nil
		return nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return &json.UnmarshalTypeError{Value: payload.KindOf(b), Type: reflect.TypeFor[attributeMap]()}
	}
	*m = make(attributeMap, len(raw))
	for name, value := range raw {
		if text, ok := payload.ScalarText(value); ok {
			(*m)[name] = text
		}
	}
	return nil
}

// text decodes the HTML entities WooCommerce stores in names ("&ndash;")
// and trims the result.
func text(s string) string {
	return strings.TrimSpace(html.UnescapeString(s))
}
