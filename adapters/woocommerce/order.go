package woocommerce

import (
	"net/url"
	"strings"

	"github.com/cartback/cartback/internal/payload"
	"github.com/cartback/cartback/recovery"
)

// gmtLayout is how WooCommerce writes its *_gmt dates: UTC, without a zone.
const gmtLayout = "2006-01-02T15:04:05"

// Order meta_data keys written by cartback's companion plugin at checkout.
const (
	metaCartKey = "_cartback_cart_key"
	// metaUnpaidTimeout marks an order WooCommerce cancelled because it
	// stayed unpaid past the hold-stock time (the plugin sets it).
	metaUnpaidTimeout = "_cartback_unpaid_timeout"
	metaEmailConsent  = "_cartback_email_consent"
	metaSMSConsent    = "_cartback_sms_consent"
	metaLocale        = "_cartback_locale"
)

// Consent sources recorded on carts built from orders.
const (
	// sourceOrder is recorded when the order carries no opt-in: WooCommerce
	// itself asks for none.
	sourceOrder = "woocommerce:order"
	// sourceCheckoutCheckbox is the plugin's opt-in box at checkout.
	sourceCheckoutCheckbox = "woocommerce:checkout_checkbox"
)

// What an order's status means for its cart.
var (
	// An order not yet paid for is a cart that may still be recovered.
	// Block checkout keeps the cart as a checkout-draft order.
	cartStatuses = map[string]bool{"checkout-draft": true, "pending": true, "failed": true}
	// Paid orders, or orders the merchant will fulfil, convert their cart.
	orderStatuses = map[string]bool{"processing": true, "completed": true, "on-hold": true}
	// Cancelled and trashed orders are carts nobody will come back to.
	deletedStatuses = map[string]bool{"cancelled": true, "trash": true}
)

// decodeOrder reads an order.created or order.updated body into the event
// its status calls for.
func decodeOrder(body []byte, storeURL, region string) (recovery.Event, error) {
	// The status is read first, so that an order in a status cartback
	// ignores is not rejected over fields it would never use. A body the
	// single-pass reader accepts is one json.Unmarshal reads whole, and to
	// the same values, so one pass serves for both steps; any other body
	// is decoded in the two steps.
	var p orderPayload
	r := payload.NewReader(body)
	readOrder(&r, &p)
	fast := r.Done()
	rawStatus := p.Status
	if !fast {
		var head orderStatusPayload
		if err := payload.Decode(body, &head); err != nil {
			return recovery.Event{}, err
		}
		rawStatus = head.Status
	}
	status := strings.TrimSpace(rawStatus)
	known := cartStatuses[status] || orderStatuses[status] || deletedStatuses[status]
	if !known && (status == "refunded" || status == "") {
		return recovery.Event{Kind: recovery.EventIgnored}, nil
	}
	if !fast {
		p = orderPayload{}
		if err := payload.Decode(body, &p); err != nil {
			if !known {
				return recovery.Event{Kind: recovery.EventIgnored}, nil
			}
			return recovery.Event{}, err
		}
	}
	if !known {
		// A status of a plugin's own (a deposit's "partially-paid", a
		// gateway's choice) on an order that was paid still means bought.
		if strings.TrimSpace(p.DatePaidGMT) == "" {
			return recovery.Event{Kind: recovery.EventIgnored}, nil
		}
		status = "processing"
	}
	if p.ID == "" {
		return recovery.Event{}, recovery.Errorf(recovery.EINVALID, "order has no id")
	}
	switch {
	case cartStatuses[status]:
		cart, err := orderCart(&p, status, storeURL, region)
		if err != nil {
			return recovery.Event{}, err
		}
		return recovery.Event{Kind: recovery.EventCartUpdated, Cart: cart}, nil
	case orderStatuses[status]:
		order, err := placedOrder(&p)
		if err != nil {
			return recovery.Event{}, err
		}
		return recovery.Event{Kind: recovery.EventOrder, Order: order}, nil
	}
	if status == "cancelled" && p.MetaData.value(metaUnpaidTimeout) == "yes" {
		// Not the shopper's doing: WooCommerce frees the stock of an order
		// left unpaid at the payment step, an hour in by default, before
		// the first reminder. The cart stays; the plugin rebuilds it.
		return recovery.Event{Kind: recovery.EventIgnored}, nil
	}
	// The order's last change is when it was cancelled: a pending update
	// from before it that arrives later must not reopen it, and a cancel
	// from before the order was set back to pending is stale.
	var conv payload.Converter
	at := conv.Time("date_modified_gmt", p.DateModifiedGMT, gmtLayout)
	if err := conv.Err(); err != nil {
		return recovery.Event{}, err
	}
	return recovery.Event{Kind: recovery.EventCartDeleted, Cart: &recovery.Cart{
		Keys: recovery.CartKeys{OrderID: string(p.ID)}, LastActivityAt: at,
	}}, nil
}

// orderKeys are the keys of the cart an order came from.
func orderKeys(p *orderPayload) recovery.CartKeys {
	return recovery.CartKeys{OrderID: string(p.ID), CartKey: p.MetaData.value(metaCartKey)}
}

// orderCart reads an unpaid order as the cart it still is.
func orderCart(p *orderPayload, status, storeURL, region string) (*recovery.Cart, error) {
	b := p.Billing
	cart := &recovery.Cart{
		Keys:       orderKeys(p),
		Contact:    contact(b.Email, b.Phone, b.FirstName, b.LastName, b.Country, p.MetaData.value(metaLocale), region),
		Consent:    recovery.Consent{Email: orderConsent(p.MetaData, metaEmailConsent), SMS: orderConsent(p.MetaData, metaSMSConsent)},
		Currency:   strings.TrimSpace(p.Currency),
		RestoreURL: orderRestoreURL(p, status, storeURL),
	}
	conv := payload.Converter{Currency: cart.Currency}
	subtotals := make([]int64, len(p.LineItems))
	if len(p.LineItems) > 0 {
		// Sized once; an order without items keeps a nil Items.
		cart.Items = make([]recovery.LineItem, 0, len(p.LineItems))
	}
	for i, item := range p.LineItems {
		subtotals[i] = conv.Money("line_items.subtotal", item.Subtotal)
		// price is a JSON number in WooCommerce (3, 21.99); its literal
		// text is parsed, never a float64.
		unit, line := conv.Money("line_items.price", item.Price), subtotals[i]
		if p.PricesIncludeTax && item.SubtotalTax != "" {
			// The shop shows prices with tax: so do its reminders, or the
			// lines would differ from what the shopper saw by the tax.
			subtotals[i] = conv.Sum("line_items.subtotal_tax", subtotals[i], conv.Money("line_items.subtotal_tax", item.SubtotalTax))
			line = subtotals[i]
			if q := int64(item.Quantity); q > 0 {
				unit = (line + q/2) / q // rounded, as WooCommerce shows it
			}
		}
		cart.Items = append(cart.Items, recovery.LineItem{
			Title:      text(item.Name),
			SKU:        strings.TrimSpace(item.SKU),
			Quantity:   item.Quantity,
			UnitPrice:  unit,
			LinePrice:  line,
			ProductID:  item.ProductID.NonZero(),
			VariantID:  item.VariationID.NonZero(),
			ImageURL:   imageSource(item.Image),
			Attributes: lineAttributes(item.MetaData),
		})
	}
	cart.Totals = recovery.Totals{
		// WooCommerce has no order subtotal field; its own "Subtotal" line
		// is the sum of the line subtotals, before discounts (with tax in
		// a shop that shows prices with tax).
		Subtotal:  conv.Sum("line_items.subtotal", subtotals...),
		Discounts: conv.Money("discount_total", p.DiscountTotal),
		Shipping:  conv.Money("shipping_total", p.ShippingTotal),
		Tax:       conv.Money("total_tax", p.TotalTax),
		Total:     conv.Money("total", p.Total),
	}
	if p.PricesIncludeTax {
		// As the lines: with the tax in them, so that the rows add up to
		// the total the shopper saw.
		if p.DiscountTax != "" {
			cart.Totals.Discounts = conv.Sum("discount_tax", cart.Totals.Discounts, conv.Money("discount_tax", p.DiscountTax))
		}
		if p.ShippingTax != "" {
			cart.Totals.Shipping = conv.Sum("shipping_tax", cart.Totals.Shipping, conv.Money("shipping_tax", p.ShippingTax))
		}
	}
	cart.LastActivityAt = conv.Time("date_modified_gmt", p.DateModifiedGMT, gmtLayout)
	cart.CreatedAt = conv.Time("date_created_gmt", p.DateCreatedGMT, gmtLayout)
	if err := conv.Err(); err != nil {
		return nil, err
	}
	return cart, nil
}

// orderConsent reads the plugin's opt-in meta; without it, the order is
// no consent, since WooCommerce asks for none.
func orderConsent(meta metaData, key string) recovery.ConsentGrant {
	if meta.value(key) == "yes" {
		return recovery.ConsentGrant{Granted: true, Source: sourceCheckoutCheckbox}
	}
	return recovery.ConsentGrant{Granted: false, Source: sourceOrder}
}

// orderRestoreURL links back to where the shopper can finish paying. A
// pending or failed order has a pay page, opened for guests by the order
// key; a checkout-draft is the shopper's live cart, so the link is the
// checkout page, which their session restores.
func orderRestoreURL(p *orderPayload, status, storeURL string) string {
	switch {
	case storeURL == "":
		return ""
	case status == "checkout-draft":
		return storeURL + "/checkout/"
	case p.OrderKey == "":
		return "" // without the key the pay page refuses guests
	}
	return storeURL + "/checkout/order-pay/" + url.PathEscape(string(p.ID)) +
		"/?pay_for_order=true&key=" + url.QueryEscape(p.OrderKey)
}

// lineAttributes returns a line item's visible options, such as a chosen
// colour. Keys starting with "_" are WooCommerce's and plugins' private
// bookkeeping; values that are not text (serialised arrays) are skipped.
func lineAttributes(meta metaData) []recovery.Attribute {
	var attrs []recovery.Attribute
	for _, entry := range meta {
		if entry.Key == "" || strings.HasPrefix(entry.Key, "_") {
			continue
		}
		name := payload.FirstNonEmpty(entry.DisplayKey, entry.Key)
		value, ok := payload.ScalarText(entry.DisplayValue)
		if !ok || value == "" {
			value, ok = payload.ScalarText(entry.Value)
		}
		if !ok || value == "" {
			continue
		}
		attrs = append(attrs, recovery.Attribute{Name: text(name), Value: text(value)})
	}
	return attrs
}

// placedOrder reads a paid or accepted order.
func placedOrder(p *orderPayload) (*recovery.Order, error) {
	conv := payload.Converter{Currency: strings.TrimSpace(p.Currency)}
	order := &recovery.Order{
		ID:       string(p.ID),
		Number:   string(p.Number),
		Keys:     orderKeys(p),
		Email:    strings.TrimSpace(p.Billing.Email),
		Currency: conv.Currency,
		Total:    conv.Money("total", p.Total),
		// An order on hold or paid by bank transfer has no date_paid.
		At: conv.Time("date_paid_gmt", p.DatePaidGMT, gmtLayout),
	}
	if order.At.IsZero() {
		order.At = conv.Time("date_modified_gmt", p.DateModifiedGMT, gmtLayout)
	}
	if err := conv.Err(); err != nil {
		return nil, err
	}
	return order, nil
}
