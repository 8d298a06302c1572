package shopify

import (
	"encoding/json"

	"github.com/cartback/cartback/internal/payload"
)

// The types below mirror the parts of Shopify's REST webhook payloads that
// cartback reads. Everything else in a payload is skipped, so a change to a
// field cartback does not read cannot make a delivery fail.
//
// Each type is read by a read* function (read.go) on the hot path, and by
// json.Unmarshal through its tags when that gives up; the two must name the
// same fields, which TestReadersMatchTags and FuzzReaders check.

// checkoutPayload is the body of checkouts/create and checkouts/update.
// Newer payload versions may omit the top-level id, so it is not read.
type checkoutPayload struct {
	Token      string           `json:"token"`
	CartToken  string           `json:"cart_token"`
	Email      string           `json:"email"`
	Phone      string           `json:"phone"`
	SMSPhone   string           `json:"sms_marketing_phone"`
	Locale     string           `json:"customer_locale"`
	Customer   *customerPayload `json:"customer"`
	Billing    *addressPayload  `json:"billing_address"`
	EmailOptIn bool             `json:"buyer_accepts_marketing"`
	SMSOptIn   bool             `json:"buyer_accepts_sms_marketing"`

	Currency            string                `json:"currency"`
	PresentmentCurrency string                `json:"presentment_currency"`
	LineItems           []lineItemPayload     `json:"line_items"`
	ShippingLines       []shippingLinePayload `json:"shipping_lines"`
	SubtotalPrice       payload.Decimal       `json:"subtotal_price"`
	TotalDiscounts      payload.Decimal       `json:"total_discounts"`
	TotalTax            payload.Decimal       `json:"total_tax"`
	TotalPrice          payload.Decimal       `json:"total_price"`

	AbandonedCheckoutURL string     `json:"abandoned_checkout_url"`
	CreatedAt            string     `json:"created_at"`
	UpdatedAt            string     `json:"updated_at"`
	CompletedAt          string     `json:"completed_at"`
	OrderID              payload.ID `json:"order_id"`
}

type shippingLinePayload struct {
	Price payload.Decimal `json:"price"`
}

// checkoutDeletePayload is the body of checkouts/delete. Shopify sends
// little more than the checkout's id and token.
type checkoutDeletePayload struct {
	Token string `json:"token"`
}

type customerPayload struct {
	Email        string          `json:"email"`
	Phone        string          `json:"phone"`
	FirstName    string          `json:"first_name"`
	LastName     string          `json:"last_name"`
	EmailConsent *consentPayload `json:"email_marketing_consent"`
	SMSConsent   *consentPayload `json:"sms_marketing_consent"`
}

// consentPayload is a customer's marketing consent on one channel.
type consentPayload struct {
	State string `json:"state"`
}

// subscribed reports whether the customer opted in; a nil consent (older
// payloads) is no opt-in.
func (c *consentPayload) subscribed() bool { return c != nil && c.State == "subscribed" }

type addressPayload struct {
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name"`
	Phone       string `json:"phone"`
	CountryCode string `json:"country_code"`
}

type lineItemPayload struct {
	Title        string          `json:"title"`
	VariantTitle string          `json:"variant_title"`
	SKU          string          `json:"sku"`
	Quantity     int             `json:"quantity"`
	Price        payload.Decimal `json:"price"`
	LinePrice    payload.Decimal `json:"line_price"`
	ProductID    payload.ID      `json:"product_id"`
	VariantID    payload.ID      `json:"variant_id"`
	// The REST checkout does not carry these, but some payload versions
	// do; they are used when present.
	ImageURL   string          `json:"image_url"`
	ProductURL string          `json:"url"`
	Properties json.RawMessage `json:"properties"`
}

// orderPayload is the body of orders/create and orders/paid.
type orderPayload struct {
	ID                  payload.ID       `json:"id"`
	OrderNumber         payload.ID       `json:"order_number"`
	Name                string           `json:"name"`
	CheckoutToken       string           `json:"checkout_token"`
	CartToken           string           `json:"cart_token"`
	Email               string           `json:"email"`
	ContactEmail        string           `json:"contact_email"`
	Customer            *customerPayload `json:"customer"`
	Currency            string           `json:"currency"`
	PresentmentCurrency string           `json:"presentment_currency"`
	TotalPrice          payload.Decimal  `json:"total_price"`
	TotalPriceSet       *moneySetPayload `json:"total_price_set"`
	ProcessedAt         string           `json:"processed_at"`
	CreatedAt           string           `json:"created_at"`
}

// moneySetPayload is an order amount in both the shop's currency and the
// currency the shopper paid in.
type moneySetPayload struct {
	PresentmentMoney *moneyPayload `json:"presentment_money"`
}

type moneyPayload struct {
	Amount       payload.Decimal `json:"amount"`
	CurrencyCode string          `json:"currency_code"`
}
