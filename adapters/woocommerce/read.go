package woocommerce

import "github.com/cartback/cartback/internal/payload"

// The functions below read the payload types of schema.go with a
// payload.Reader, in one pass over the body. Each reads exactly the keys
// named by its type's json tags; any other key is skipped with Unknown. A
// struct held by value keeps its fields on null, as with json.Unmarshal.

func readOrder(r *payload.Reader, p *orderPayload) {
	if !r.Object() {
		return
	}
	for key, ok := r.Key(); ok; key, ok = r.Key() {
		switch string(key) {
		case "id":
			r.ID(&p.ID)
		case "number":
			r.ID(&p.Number)
		case "order_key":
			r.String(&p.OrderKey)
		case "status":
			r.String(&p.Status)
		case "currency":
			r.String(&p.Currency)
		case "date_created_gmt":
			r.String(&p.DateCreatedGMT)
		case "date_modified_gmt":
			r.String(&p.DateModifiedGMT)
		case "date_paid_gmt":
			r.String(&p.DatePaidGMT)
		case "prices_include_tax":
			r.Bool(&p.PricesIncludeTax)
		case "discount_total":
			r.Decimal(&p.DiscountTotal)
		case "shipping_total":
			r.Decimal(&p.ShippingTotal)
		case "discount_tax":
			r.Decimal(&p.DiscountTax)
		case "shipping_tax":
			r.Decimal(&p.ShippingTax)
		case "total_tax":
			r.Decimal(&p.TotalTax)
		case "total":
			r.Decimal(&p.Total)
		case "billing":
			if !r.Null() {
				readContact(r, &p.Billing)
			}
		case "meta_data":
			payload.Slice(r, (*[]metaEntry)(&p.MetaData), readMetaEntry)
		case "line_items":
			payload.Slice(r, &p.LineItems, readOrderLineItem)
		default:
			r.Unknown(key)
		}
	}
}

func readContact(r *payload.Reader, b *contactPayload) {
	if !r.Object() {
		return
	}
	for key, ok := r.Key(); ok; key, ok = r.Key() {
		switch string(key) {
		case "first_name":
			r.String(&b.FirstName)
		case "last_name":
			r.String(&b.LastName)
		case "email":
			r.String(&b.Email)
		case "phone":
			r.String(&b.Phone)
		case "country":
			r.String(&b.Country)
		default:
			r.Unknown(key)
		}
	}
}

// readMetaEntry keeps values as slices of the body (see payload.Reader.Raw);
// they are read into strings before the webhook is decoded.
func readMetaEntry(r *payload.Reader, m *metaEntry) {
	if !r.Object() {
		return
	}
	for key, ok := r.Key(); ok; key, ok = r.Key() {
		switch string(key) {
		case "key":
			r.String(&m.Key)
		case "value":
			m.Value = r.Raw()
		case "display_key":
			r.String(&m.DisplayKey)
		case "display_value":
			m.DisplayValue = r.Raw()
		default:
			r.Unknown(key)
		}
	}
}

func readOrderLineItem(r *payload.Reader, item *orderLineItemPayload) {
	if !r.Object() {
		return
	}
	for key, ok := r.Key(); ok; key, ok = r.Key() {
		switch string(key) {
		case "name":
			r.String(&item.Name)
		case "sku":
			r.String(&item.SKU)
		case "product_id":
			r.ID(&item.ProductID)
		case "variation_id":
			r.ID(&item.VariationID)
		case "quantity":
			r.Int(&item.Quantity)
		case "price":
			r.Decimal(&item.Price)
		case "subtotal":
			r.Decimal(&item.Subtotal)
		case "subtotal_tax":
			r.Decimal(&item.SubtotalTax)
		case "meta_data":
			payload.Slice(r, (*[]metaEntry)(&item.MetaData), readMetaEntry)
		case "image":
			item.Image = r.Raw()
		default:
			r.Unknown(key)
		}
	}
}

func readCartDeleted(r *payload.Reader, p *cartDeletedPayload) {
	if !r.Object() {
		return
	}
	for key, ok := r.Key(); ok; key, ok = r.Key() {
		switch string(key) {
		case "cart_key":
			r.String(&p.CartKey)
		case "updated_at":
			r.String(&p.UpdatedAt)
		default:
			r.Unknown(key)
		}
	}
}

func readCart(r *payload.Reader, p *cartPayload) {
	if !r.Object() {
		return
	}
	for key, ok := r.Key(); ok; key, ok = r.Key() {
		switch string(key) {
		case "cart_key":
			r.String(&p.CartKey)
		case "created_at":
			r.String(&p.CreatedAt)
		case "updated_at":
			r.String(&p.UpdatedAt)
		case "currency":
			r.String(&p.Currency)
		case "locale":
			r.String(&p.Locale)
		case "customer":
			if !r.Null() {
				readContact(r, &p.Customer)
			}
		case "consent":
			if !r.Null() {
				readCartConsent(r, &p.Consent)
			}
		case "items":
			payload.Slice(r, &p.Items, readCartItem)
		case "totals":
			if !r.Null() {
				readCartTotals(r, &p.Totals)
			}
		case "restore_url":
			r.String(&p.RestoreURL)
		default:
			r.Unknown(key)
		}
	}
}

func readCartConsent(r *payload.Reader, c *cartConsentPayload) {
	if !r.Object() {
		return
	}
	for key, ok := r.Key(); ok; key, ok = r.Key() {
		switch string(key) {
		case "email_marketing":
			r.Bool(&c.EmailMarketing)
		case "sms_marketing":
			r.Bool(&c.SMSMarketing)
		default:
			r.Unknown(key)
		}
	}
}

func readCartItem(r *payload.Reader, item *cartItemPayload) {
	if !r.Object() {
		return
	}
	for key, ok := r.Key(); ok; key, ok = r.Key() {
		switch string(key) {
		case "product_id":
			r.ID(&item.ProductID)
		case "variation_id":
			r.ID(&item.VariationID)
		case "name":
			r.String(&item.Name)
		case "sku":
			r.String(&item.SKU)
		case "quantity":
			r.Int(&item.Quantity)
		case "price":
			r.Decimal(&item.Price)
		case "line_total":
			r.Decimal(&item.LineTotal)
		case "image_url":
			r.String(&item.ImageURL)
		case "product_url":
			r.String(&item.ProductURL)
		case "attributes":
			r.Unmarshaler(&item.Attributes)
		case "variant_title":
			// Whether the field is there matters: "" from a plugin that
			// sends it means there is nothing to add to the name.
			if r.Null() {
				item.VariantTitle = nil
			} else {
				var title string
				r.String(&title)
				item.VariantTitle = &title
			}
		default:
			r.Unknown(key)
		}
	}
}

func readCartTotals(r *payload.Reader, t *cartTotalsPayload) {
	if !r.Object() {
		return
	}
	for key, ok := r.Key(); ok; key, ok = r.Key() {
		switch string(key) {
		case "subtotal":
			r.Decimal(&t.Subtotal)
		case "discount":
			r.Decimal(&t.Discount)
		case "shipping":
			r.Decimal(&t.Shipping)
		case "tax":
			r.Decimal(&t.Tax)
		case "total":
			r.Decimal(&t.Total)
		default:
			r.Unknown(key)
		}
	}
}
