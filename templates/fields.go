package templates

import (
	"cmp"
	"strings"
	"time"

	"github.com/cartback/cartback/recovery"
)

// Fields is the data every template, default or custom, is executed with.
// FIELDS.md describes each field for merchants writing their own templates.
type Fields struct {
	// Locale is the language the message is written in: one of Languages.
	Locale string
	// Kind is the step's template kind: reminder, follow-up, incentive, or
	// a shop's own name.
	Kind string
	// Channel is "email" or "sms".
	Channel string

	// FirstName is the shopper's first name, "" when unknown: templates
	// greet without a name then.
	FirstName string
	// ShopName is the shop's name, or its domain when it has none.
	ShopName string
	// ShopURL is the shop's address, "https://" + its domain.
	ShopURL string

	// Items are the cart's lines, in cart order.
	Items []Item
	// ItemCount is the number of articles: the sum of the quantities.
	ItemCount int
	// Total is what the shopper pays, formatted for the currency and
	// locale, e.g. "$379.69" or "1 499,00 kr".
	Total string
	// Subtotal is the sum of the lines' prices as Items lists them, before
	// discounts, shipping and added tax; "" when zero.
	Subtotal string
	// Discount is what discounts take off the subtotal, without a sign
	// ("$39.80": write the minus yourself); "" when there is none.
	Discount string
	// Shipping is the shipping in Total; "" when there is none or it is
	// unknown (not chosen yet).
	Shipping string
	// Tax is the tax in Total, added or included; "" when zero or unknown.
	Tax string
	// TaxAdded says Tax comes on top of the prices (as in the US) rather
	// than being included in them: only then is it a line of its own
	// between Subtotal and Total.
	TaxAdded bool
	// Breakdown says the lines do not add up to Total (a discount,
	// shipping or added tax is in it): the default email then shows the
	// non-empty Subtotal, Discount, Shipping and added Tax above Total,
	// so that the shopper sees where the difference comes from.
	Breakdown bool
	// Currency is the cart's ISO 4217 code, e.g. "NOK".
	Currency string

	// RestoreURL is the signed link back into the cart: the message's one
	// call to action.
	RestoreURL string
	// UnsubscribeURL is the signed opt-out link (email only).
	UnsubscribeURL string
	// DiscountCode is the step's discount code, "" when it has none.
	DiscountCode string
	// UniqueCode says DiscountCode is a single-use code made for this
	// shopper; false for the shop's shared code, which a template must not
	// call personal.
	UniqueCode bool
	// Expiry is the date the restore link stops working, written for the
	// locale ("2. mars 2026"); "" when unknown.
	Expiry string
	// StopLine is the opt-out line the engine ends every SMS with
	// ("Reply STOP to opt out"). An SMS template that ends with it keeps it
	// where it is; otherwise the engine adds it on a line of its own.
	StopLine string
}

// Item is one cart line as templates see it.
type Item struct {
	Title string
	// Variant is the variant's title ("Red", "M / Blue"), or the line's
	// attributes as "Name: value, Name: value".
	Variant  string
	Quantity int
	// UnitPrice and LinePrice are formatted like Total.
	UnitPrice  string
	LinePrice  string
	ImageURL   string
	ProductURL string
}

// fields builds the template data of one message.
func (r *Renderer) fields(in recovery.RenderInput, l locale) Fields {
	shop, cart := in.Shop, in.Cart
	money := func(minor int64) string { return formatMoney(minor, cart.Currency, l) }
	f := Fields{
		Locale:         l.lang,
		Kind:           in.Step.Template,
		Channel:        string(in.Step.Channel),
		FirstName:      strings.TrimSpace(cart.Contact.FirstName),
		ShopName:       strings.TrimSpace(shop.Name),
		Currency:       strings.ToUpper(cart.Currency),
		RestoreURL:     in.RestoreURL,
		UnsubscribeURL: in.UnsubscribeURL,
		DiscountCode:   strings.TrimSpace(in.DiscountCode),
		StopLine:       recovery.SMSStopLine(in.Locale),
	}
	if f.Kind == "" {
		f.Kind = recovery.TemplateReminder
	}
	if f.Channel == "" {
		f.Channel = string(recovery.ChannelEmail)
	}
	if f.ShopName == "" {
		f.ShopName = shop.Domain
	}
	if shop.Domain != "" {
		f.ShopURL = "https://" + shop.Domain
	}
	if f.DiscountCode == "" {
		f.DiscountCode = strings.TrimSpace(in.Step.DiscountCode)
	}
	// Only a code the platform issued for this step is the shopper's
	// own; when issuing failed the step carries the shop's shared code.
	f.UniqueCode = in.Step.CodeIssued() && f.DiscountCode != "" && f.DiscountCode == strings.TrimSpace(in.Step.DiscountCode)
	var sum int64
	for _, it := range cart.Items {
		line := it.LinePrice
		if line == 0 && it.UnitPrice != 0 {
			line = it.UnitPrice * int64(it.Quantity)
		}
		sum += line
		f.ItemCount += it.Quantity
		f.Items = append(f.Items, Item{
			Title:      strings.TrimSpace(it.Title),
			Variant:    variant(it),
			Quantity:   it.Quantity,
			UnitPrice:  money(it.UnitPrice),
			LinePrice:  money(line),
			ImageURL:   strings.TrimSpace(it.ImageURL),
			ProductURL: strings.TrimSpace(it.ProductURL),
		})
	}
	f.breakdown(cart.Totals, sum, money)
	if r.opts.LinkTTL > 0 {
		f.Expiry = formatDate(r.opts.Now().Add(r.opts.LinkTTL).In(shop.Settings.Location()), l)
	}
	return f
}

// breakdown fills Total and the amounts that explain it. sum is the sum of
// the lines as listed: the platforms' own subtotals differ (Shopify's is
// after discounts, WooCommerce's before), and only the lines' sum makes
// the rows below them add up.
func (f *Fields) breakdown(t recovery.Totals, sum int64, money func(int64) string) {
	subtotal := sum
	if subtotal == 0 {
		subtotal = t.Subtotal
	}
	total := t.Total
	if total == 0 && t.Discounts <= 0 {
		// No total given. With a discount, nothing to pay is a real total
		// (a 100 % coupon).
		total = cmp.Or(t.Subtotal, sum)
	}
	f.Total = money(total)
	nonZero := func(minor int64) string {
		if minor <= 0 {
			return ""
		}
		return money(minor)
	}
	f.Subtotal, f.Discount, f.Shipping, f.Tax = nonZero(subtotal), nonZero(t.Discounts), nonZero(t.Shipping), nonZero(t.Tax)
	f.Breakdown = sum != total
	// Tax counts as added when the rows add up with it; included tax (EU
	// prices) is already in the lines and would be counted twice.
	base := subtotal - max(t.Discounts, 0) + max(t.Shipping, 0)
	f.TaxAdded = t.Tax > 0 && base+t.Tax == total
}

// wooVariationKey starts the attribute names WooCommerce restores a
// variation from (attribute_pa_color: black). They are slugs for putting
// the cart back, not words for the shopper: the WooCommerce adapter gives
// the line a readable VariantTitle instead.
const wooVariationKey = "attribute_"

// variant describes which variant of a product a line is.
func variant(it recovery.LineItem) string {
	if v := strings.TrimSpace(it.VariantTitle); v != "" {
		return v
	}
	var parts []string
	for _, a := range it.Attributes {
		if a.Name == "" || a.Value == "" || strings.HasPrefix(a.Name, wooVariationKey) {
			continue
		}
		parts = append(parts, a.Name+": "+a.Value)
	}
	return strings.Join(parts, ", ")
}

// sample is which sample cart sampleInput builds.
type sample int

const (
	// sampleBare has no name, no code, no images, no variants and no
	// shipping.
	sampleBare sample = iota
	// sampleFull has a name, the shop's shared code, images, variants and
	// shipping.
	sampleFull
	// sampleIssued is sampleFull with a single-use code.
	sampleIssued
)

// samples are the carts Validate and New render every template against, so
// that both sides of a template's conditions are executed.
var samples = []sample{sampleFull, sampleBare, sampleIssued}

// sampleInput is a cart Validate and Preview render templates against.
func sampleInput(kind, channel, lang string, s sample) recovery.RenderInput {
	shop := &recovery.Shop{ID: 1, Domain: "shop.example.com", Name: "Example Shop"}
	cart := &recovery.Cart{
		ID: 1, ShopID: 1, Currency: "EUR",
		Contact: recovery.Contact{Email: "kari@example.com", Locale: lang},
		Items: []recovery.LineItem{
			{Title: "Wool sweater", Quantity: 1, UnitPrice: 8900, LinePrice: 8900},
			{Title: "Hiking socks", Quantity: 2, UnitPrice: 1450, LinePrice: 2900},
		},
		Totals: recovery.Totals{Subtotal: 11800, Total: 11800},
	}
	in := recovery.RenderInput{
		Shop: shop, Cart: cart, Locale: lang,
		Step:           recovery.StepRun{Channel: recovery.Channel(channel), Template: kind},
		RestoreURL:     "https://cartback.example.com/r/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		UnsubscribeURL: "https://cartback.example.com/u/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	}
	if s == sampleBare {
		return in
	}
	cart.Contact.FirstName = "Kari"
	cart.Items[0].VariantTitle = "Grey / M"
	cart.Items[0].ImageURL = "https://shop.example.com/img/sweater.jpg"
	cart.Items[0].ProductURL = "https://shop.example.com/products/wool-sweater"
	cart.Items[1].Attributes = []recovery.Attribute{{Name: "Size", Value: "39-42"}}
	cart.Totals.Shipping, cart.Totals.Total = 490, 12290
	in.DiscountCode = "WELCOME10"
	if s == sampleIssued {
		in.DiscountCode = "CB-7KQ2M9XT"
		in.Step.CodeExpires = time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC)
	}
	in.Step.DiscountCode = in.DiscountCode
	return in
}

// now is the default clock.
func now() time.Time { return time.Now() }
