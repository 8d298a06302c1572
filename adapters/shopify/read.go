package shopify

import "github.com/cartback/cartback/internal/payload"

// The functions below read the payload types of schema.go with a
// payload.Reader, in one pass over the body, for payload.DecodeWith. Each
// reads exactly the keys named by its type's json tags; any other key is
// skipped with Unknown.

func readCheckout(r *payload.Reader, p *checkoutPayload) {
	if !r.Object() {
		return
	}
	for key, ok := r.Key(); ok; key, ok = r.Key() {
		switch string(key) {
		case "token":
			r.String(&p.Token)
		case "cart_token":
			r.String(&p.CartToken)
		case "email":
			r.String(&p.Email)
		case "phone":
			r.String(&p.Phone)
		case "sms_marketing_phone":
			r.String(&p.SMSPhone)
		case "customer_locale":
			r.String(&p.Locale)
		case "customer":
			payload.Struct(r, &p.Customer, readCustomer)
		case "billing_address":
			payload.Struct(r, &p.Billing, readAddress)
		case "buyer_accepts_marketing":
			r.Bool(&p.EmailOptIn)
		case "buyer_accepts_sms_marketing":
			r.Bool(&p.SMSOptIn)
		case "currency":
			r.String(&p.Currency)
		case "presentment_currency":
			r.String(&p.PresentmentCurrency)
		case "line_items":
			payload.Slice(r, &p.LineItems, readLineItem)
		case "shipping_lines":
			payload.Slice(r, &p.ShippingLines, readShippingLine)
		case "subtotal_price":
			r.Decimal(&p.SubtotalPrice)
		case "total_discounts":
			r.Decimal(&p.TotalDiscounts)
		case "total_tax":
			r.Decimal(&p.TotalTax)
		case "total_price":
			r.Decimal(&p.TotalPrice)
		case "abandoned_checkout_url":
			r.String(&p.AbandonedCheckoutURL)
		case "created_at":
			r.String(&p.CreatedAt)
		case "updated_at":
			r.String(&p.UpdatedAt)
		case "completed_at":
			r.String(&p.CompletedAt)
		case "order_id":
			r.ID(&p.OrderID)
		default:
			r.Unknown(key)
		}
	}
}

func readCheckoutDelete(r *payload.Reader, p *checkoutDeletePayload) {
	if !r.Object() {
		return
	}
	for key, ok := r.Key(); ok; key, ok = r.Key() {
		switch string(key) {
		case "token":
			r.String(&p.Token)
		default:
			r.Unknown(key)
		}
	}
}

func readCustomer(r *payload.Reader, c *customerPayload) {
	if !r.Object() {
		return
	}
	for key, ok := r.Key(); ok; key, ok = r.Key() {
		switch string(key) {
		case "email":
			r.String(&c.Email)
		case "phone":
			r.String(&c.Phone)
		case "first_name":
			r.String(&c.FirstName)
		case "last_name":
			r.String(&c.LastName)
		case "email_marketing_consent":
			payload.Struct(r, &c.EmailConsent, readConsent)
		case "sms_marketing_consent":
			payload.Struct(r, &c.SMSConsent, readConsent)
		default:
			r.Unknown(key)
		}
	}
}

func readConsent(r *payload.Reader, c *consentPayload) {
	if !r.Object() {
		return
	}
	for key, ok := r.Key(); ok; key, ok = r.Key() {
		switch string(key) {
		case "state":
			r.String(&c.State)
		default:
			r.Unknown(key)
		}
	}
}

func readAddress(r *payload.Reader, a *addressPayload) {
	if !r.Object() {
		return
	}
	for key, ok := r.Key(); ok; key, ok = r.Key() {
		switch string(key) {
		case "first_name":
			r.String(&a.FirstName)
		case "last_name":
			r.String(&a.LastName)
		case "phone":
			r.String(&a.Phone)
		case "country_code":
			r.String(&a.CountryCode)
		default:
			r.Unknown(key)
		}
	}
}

func readLineItem(r *payload.Reader, item *lineItemPayload) {
	if !r.Object() {
		return
	}
	for key, ok := r.Key(); ok; key, ok = r.Key() {
		switch string(key) {
		case "title":
			r.String(&item.Title)
		case "variant_title":
			r.String(&item.VariantTitle)
		case "sku":
			r.String(&item.SKU)
		case "quantity":
			r.Int(&item.Quantity)
		case "price":
			r.Decimal(&item.Price)
		case "line_price":
			r.Decimal(&item.LinePrice)
		case "product_id":
			r.ID(&item.ProductID)
		case "variant_id":
			r.ID(&item.VariantID)
		case "image_url":
			r.String(&item.ImageURL)
		case "url":
			r.String(&item.ProductURL)
		case "properties":
			// Raw shares the body's memory; properties reads it before
			// decodeCheckout returns, and keeps only copies.
			item.Properties = r.Raw()
		default:
			r.Unknown(key)
		}
	}
}

func readShippingLine(r *payload.Reader, line *shippingLinePayload) {
	if !r.Object() {
		return
	}
	for key, ok := r.Key(); ok; key, ok = r.Key() {
		switch string(key) {
		case "price":
			r.Decimal(&line.Price)
		default:
			r.Unknown(key)
		}
	}
}

func readOrder(r *payload.Reader, p *orderPayload) {
	if !r.Object() {
		return
	}
	for key, ok := r.Key(); ok; key, ok = r.Key() {
		switch string(key) {
		case "id":
			r.ID(&p.ID)
		case "order_number":
			r.ID(&p.OrderNumber)
		case "name":
			r.String(&p.Name)
		case "checkout_token":
			r.String(&p.CheckoutToken)
		case "cart_token":
			r.String(&p.CartToken)
		case "email":
			r.String(&p.Email)
		case "contact_email":
			r.String(&p.ContactEmail)
		case "customer":
			payload.Struct(r, &p.Customer, readCustomer)
		case "currency":
			r.String(&p.Currency)
		case "presentment_currency":
			r.String(&p.PresentmentCurrency)
		case "total_price":
			r.Decimal(&p.TotalPrice)
		case "total_price_set":
			payload.Struct(r, &p.TotalPriceSet, readMoneySet)
		case "processed_at":
			r.String(&p.ProcessedAt)
		case "created_at":
			r.String(&p.CreatedAt)
		default:
			r.Unknown(key)
		}
	}
}

func readMoneySet(r *payload.Reader, m *moneySetPayload) {
	if !r.Object() {
		return
	}
	for key, ok := r.Key(); ok; key, ok = r.Key() {
		switch string(key) {
		case "presentment_money":
			payload.Struct(r, &m.PresentmentMoney, readMoney)
		default:
			r.Unknown(key)
		}
	}
}

func readMoney(r *payload.Reader, m *moneyPayload) {
	if !r.Object() {
		return
	}
	for key, ok := r.Key(); ok; key, ok = r.Key() {
		switch string(key) {
		case "amount":
			r.Decimal(&m.Amount)
		case "currency_code":
			r.String(&m.CurrencyCode)
		default:
			r.Unknown(key)
		}
	}
}
