package shopify

import (
	"strings"
	"time"

	"github.com/cartback/cartback/internal/payload"
	"github.com/cartback/cartback/recovery"
)

// decodeOrder reads an orders/create or orders/paid body.
func decodeOrder(body []byte) (*recovery.Order, error) {
	var p orderPayload
	if err := payload.DecodeWith(body, &p, readOrder); err != nil {
		return nil, err
	}
	if p.ID == "" {
		return nil, recovery.Errorf(recovery.EINVALID, "order has no id")
	}
	email := payload.FirstNonEmpty(p.Email, p.ContactEmail)
	if email == "" && p.Customer != nil {
		email = strings.TrimSpace(p.Customer.Email)
	}

	// An order's total_price is in the shop's currency, unlike a
	// checkout's. The amount the shopper paid, in the currency of their
	// cart, is in total_price_set when the payload has it.
	total, totalField, currency := p.TotalPrice, "total_price", strings.TrimSpace(p.Currency)
	if set := p.TotalPriceSet; set != nil && set.PresentmentMoney != nil && set.PresentmentMoney.Amount != "" {
		total, totalField = set.PresentmentMoney.Amount, "total_price_set.presentment_money.amount"
		currency = payload.FirstNonEmpty(set.PresentmentMoney.CurrencyCode, p.PresentmentCurrency, p.Currency)
	}
	conv := payload.Converter{Currency: currency}
	order := &recovery.Order{
		ID:       string(p.ID),
		Number:   payload.FirstNonEmpty(string(p.OrderNumber), p.Name),
		Keys:     recovery.CartKeys{CheckoutToken: strings.TrimSpace(p.CheckoutToken), CartToken: strings.TrimSpace(p.CartToken)},
		Email:    email,
		Currency: currency,
		Total:    conv.Money(totalField, total),
		At:       conv.Time("processed_at", p.ProcessedAt, time.RFC3339),
	}
	if order.At.IsZero() {
		order.At = conv.Time("created_at", p.CreatedAt, time.RFC3339)
	}
	if err := conv.Err(); err != nil {
		return nil, err
	}
	return order, nil
}
