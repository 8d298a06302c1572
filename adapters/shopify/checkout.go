package shopify

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/cartback/cartback/internal/payload"
	"github.com/cartback/cartback/recovery"
)

// Consent sources recorded on carts built from checkouts.
const (
	sourceBuyerAcceptsMarketing    = "shopify:buyer_accepts_marketing"
	sourceBuyerAcceptsSMSMarketing = "shopify:buyer_accepts_sms_marketing"
	sourceEmailMarketingConsent    = "shopify:email_marketing_consent"
	sourceSMSMarketingConsent      = "shopify:sms_marketing_consent"
)

// decodeCheckout reads a checkouts/create or checkouts/update body.
func decodeCheckout(body []byte, region string) (*recovery.Cart, error) {
	var p checkoutPayload
	if err := payload.DecodeWith(body, &p, readCheckout); err != nil {
		return nil, err
	}
	keys := recovery.CartKeys{CheckoutToken: strings.TrimSpace(p.Token), CartToken: strings.TrimSpace(p.CartToken)}
	if keys.CheckoutToken == "" && keys.CartToken == "" {
		return nil, recovery.Errorf(recovery.EINVALID, "checkout has no token")
	}
	customer := p.Customer
	if customer == nil {
		customer = &customerPayload{}
	}
	billing := p.Billing
	if billing == nil {
		billing = &addressPayload{}
	}

	cart := &recovery.Cart{
		Keys:     keys,
		Contact:  checkoutContact(&p, customer, billing, region),
		Consent:  checkoutConsent(&p, customer),
		Currency: payload.FirstNonEmpty(p.PresentmentCurrency, p.Currency),
		// The recovery link carries its own key; it is used as given.
		RestoreURL: strings.TrimSpace(p.AbandonedCheckoutURL),
	}

	// Checkout amounts are in the presentment currency, the one the
	// shopper sees.
	conv := payload.Converter{Currency: cart.Currency}
	if len(p.LineItems) > 0 {
		// Sized once; a checkout without items keeps a nil Items.
		cart.Items = make([]recovery.LineItem, 0, len(p.LineItems))
	}
	for _, item := range p.LineItems {
		cart.Items = append(cart.Items, lineItem(&conv, item))
	}
	shipping := make([]int64, len(p.ShippingLines))
	for i, line := range p.ShippingLines {
		shipping[i] = conv.Money("shipping_lines.price", line.Price)
	}
	cart.Totals = recovery.Totals{
		Subtotal:  conv.Money("subtotal_price", p.SubtotalPrice),
		Discounts: conv.Money("total_discounts", p.TotalDiscounts),
		Shipping:  conv.Sum("shipping_lines.price", shipping...),
		Tax:       conv.Money("total_tax", p.TotalTax),
		Total:     conv.Money("total_price", p.TotalPrice),
	}
	cart.LastActivityAt = conv.Time("updated_at", p.UpdatedAt, time.RFC3339)
	cart.CreatedAt = conv.Time("created_at", p.CreatedAt, time.RFC3339)

	// A completed checkout is an order already; saying so here keeps a
	// reminder from going out if the order webhook is late or lost.
	if completedAt := conv.Time("completed_at", p.CompletedAt, time.RFC3339); !completedAt.IsZero() {
		cart.State = recovery.CartConverted
		cart.Conversion = &recovery.Conversion{
			OrderID:  string(p.OrderID),
			Total:    cart.Totals.Total,
			Currency: cart.Currency,
			At:       completedAt,
		}
	}
	if err := conv.Err(); err != nil {
		return nil, err
	}
	return cart, nil
}

func checkoutContact(p *checkoutPayload, customer *customerPayload, billing *addressPayload, region string) recovery.Contact {
	country := strings.ToUpper(strings.TrimSpace(billing.CountryCode))
	phoneRegion := region
	if country != "" {
		phoneRegion = country
	}
	// sms_marketing_phone comes first: it is the number the shopper agreed
	// to receive texts on.
	e164, raw := contactPhone(payload.FirstNonEmpty(p.SMSPhone, p.Phone, customer.Phone, billing.Phone), phoneRegion)
	return recovery.Contact{
		Email:     payload.FirstNonEmpty(p.Email, customer.Email),
		Phone:     e164,
		PhoneRaw:  raw,
		FirstName: payload.FirstNonEmpty(customer.FirstName, billing.FirstName),
		LastName:  payload.FirstNonEmpty(customer.LastName, billing.LastName),
		Locale:    payload.Locale(p.Locale),
		Country:   country,
	}
}

// checkoutConsent reads the opt-ins ticked at checkout, and the customer
// record's standing consent, which a returning subscriber has even when
// the checkout box was left alone.
func checkoutConsent(p *checkoutPayload, customer *customerPayload) recovery.Consent {
	grant := func(atCheckout bool, checkoutSource string, onRecord bool, recordSource string) recovery.ConsentGrant {
		switch {
		case atCheckout:
			return recovery.ConsentGrant{Granted: true, Source: checkoutSource}
		case onRecord:
			return recovery.ConsentGrant{Granted: true, Source: recordSource}
		}
		return recovery.ConsentGrant{Granted: false, Source: checkoutSource}
	}
	return recovery.Consent{
		Email: grant(p.EmailOptIn, sourceBuyerAcceptsMarketing, customer.EmailConsent.subscribed(), sourceEmailMarketingConsent),
		SMS:   grant(p.SMSOptIn, sourceBuyerAcceptsSMSMarketing, customer.SMSConsent.subscribed(), sourceSMSMarketingConsent),
	}
}

// lineItem converts one line item, reading its amounts with conv.
func lineItem(conv *payload.Converter, item lineItemPayload) recovery.LineItem {
	unit := conv.Money("line_items.price", item.Price)
	var line int64
	if item.LinePrice != "" {
		line = conv.Money("line_items.line_price", item.LinePrice)
	} else {
		line = conv.Product("line_items.price", unit, item.Quantity)
	}
	return recovery.LineItem{
		Title:        strings.TrimSpace(item.Title),
		VariantTitle: strings.TrimSpace(item.VariantTitle),
		SKU:          strings.TrimSpace(item.SKU),
		Quantity:     item.Quantity,
		UnitPrice:    unit,
		LinePrice:    line,
		ProductID:    string(item.ProductID),
		VariantID:    string(item.VariantID),
		ImageURL:     strings.TrimSpace(item.ImageURL),
		ProductURL:   strings.TrimSpace(item.ProductURL),
		Attributes:   properties(item.Properties),
	}
}

// properties reads a line item's custom properties, such as an engraving
// text. Shopify has sent them both as [{"name":…,"value":…}] and as
// {"name": value}; since they only decorate a reminder, any other shape is
// skipped rather than failing the checkout. Names starting with "_" are
// hidden from shoppers by Shopify convention and are left out.
func properties(raw json.RawMessage) []recovery.Attribute {
	if len(raw) == 0 || string(raw) == "null" {
		// Most line items have none. Returning here also saves allocating
		// list and object below, which escape to the heap.
		return nil
	}
	var attrs []recovery.Attribute
	add := func(name string, value json.RawMessage) {
		name = strings.TrimSpace(name)
		text, ok := payload.ScalarText(value)
		if name == "" || strings.HasPrefix(name, "_") || !ok || text == "" {
			return
		}
		attrs = append(attrs, recovery.Attribute{Name: name, Value: text})
	}

	var list []struct {
		Name  string          `json:"name"`
		Value json.RawMessage `json:"value"`
	}
	var object map[string]json.RawMessage
	switch {
	case json.Unmarshal(raw, &list) == nil:
		for _, p := range list {
			add(p.Name, p.Value)
		}
	case json.Unmarshal(raw, &object) == nil:
		// Map order is random; sorting keeps equal carts equal.
		for _, name := range slices.Sorted(maps.Keys(object)) {
			add(name, object[name])
		}
	}
	return attrs
}
