package app

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cartback/cartback/internal/payload"
	"github.com/cartback/cartback/internal/phone"
	"github.com/cartback/cartback/recovery"
)

// Page sizes of AbandonedCheckouts. Each checkout asks for up to
// maxLineItems line items, so that a page stays well under Shopify's
// single-query cost limit of 1000.
const (
	DefaultPageSize = 5
	MaxPageSize     = 10
	maxLineItems    = 20
)

// Consent sources recorded on carts built from abandoned checkouts; they
// match the ones of the webhook decoder.
const (
	sourceEmailMarketingConsent = "shopify:email_marketing_consent"
	sourceSMSMarketingConsent   = "shopify:sms_marketing_consent"
)

var abandonedCheckoutsQuery = `query cartbackAbandonedCheckouts($first: Int!, $after: String, $query: String!) {
  abandonedCheckouts(first: $first, after: $after, query: $query, sortKey: ID) {
    nodes {
      id
      name
      abandonedCheckoutUrl
      createdAt
      updatedAt
      completedAt
      taxesIncluded
      customer {
        firstName
        lastName
        locale
        defaultEmailAddress { emailAddress marketingState }
        defaultPhoneNumber { phoneNumber marketingState }
      }
      billingAddress { firstName lastName phone countryCodeV2 }
      lineItems(first: ` + strconv.Itoa(maxLineItems) + `) {
        nodes {
          id
          title
          variantTitle
          sku
          quantity
          originalUnitPriceSet { presentmentMoney { amount currencyCode } }
          product { id }
          variant { id }
          image { url }
          customAttributes { key value }
        }
      }
      subtotalPriceSet { presentmentMoney { amount currencyCode } }
      totalDiscountSet { presentmentMoney { amount currencyCode } }
      totalTaxSet { presentmentMoney { amount currencyCode } }
      totalPriceSet { presentmentMoney { amount currencyCode } }
    }
    pageInfo { hasNextPage endCursor }
  }
}`

// Money is an amount in a currency, as Shopify writes it: a decimal
// string and an ISO 4217 code.
type Money struct {
	Amount       string `json:"amount"`
	CurrencyCode string `json:"currencyCode"`
}

// MoneyBag is Shopify's pair of amounts; cartback uses the presentment
// one, the currency the shopper sees.
type MoneyBag struct {
	PresentmentMoney Money `json:"presentmentMoney"`
}

// AbandonedCheckout is one node of the abandonedCheckouts connection,
// holding what cartback needs of it.
type AbandonedCheckout struct {
	// ID is the checkout's GraphQL id (gid://shopify/AbandonedCheckout/…).
	ID string `json:"id"`
	// Name is the merchant-facing identifier, such as "#1001".
	Name string `json:"name"`
	// AbandonedCheckoutURL is the shopper's link back into the checkout.
	AbandonedCheckoutURL string     `json:"abandonedCheckoutUrl"`
	CreatedAt            time.Time  `json:"createdAt"`
	UpdatedAt            time.Time  `json:"updatedAt"`
	CompletedAt          *time.Time `json:"completedAt"`
	TaxesIncluded        bool       `json:"taxesIncluded"`
	Customer             *struct {
		FirstName           string `json:"firstName"`
		LastName            string `json:"lastName"`
		Locale              string `json:"locale"`
		DefaultEmailAddress *struct {
			EmailAddress   string `json:"emailAddress"`
			MarketingState string `json:"marketingState"`
		} `json:"defaultEmailAddress"`
		DefaultPhoneNumber *struct {
			PhoneNumber    string `json:"phoneNumber"`
			MarketingState string `json:"marketingState"`
		} `json:"defaultPhoneNumber"`
	} `json:"customer"`
	BillingAddress *struct {
		FirstName     string `json:"firstName"`
		LastName      string `json:"lastName"`
		Phone         string `json:"phone"`
		CountryCodeV2 string `json:"countryCodeV2"`
	} `json:"billingAddress"`
	LineItems struct {
		Nodes []AbandonedCheckoutLineItem `json:"nodes"`
	} `json:"lineItems"`
	SubtotalPriceSet MoneyBag  `json:"subtotalPriceSet"`
	TotalDiscountSet MoneyBag  `json:"totalDiscountSet"`
	TotalTaxSet      *MoneyBag `json:"totalTaxSet"`
	TotalPriceSet    MoneyBag  `json:"totalPriceSet"`
}

// AbandonedCheckoutLineItem is one line of an abandoned checkout.
type AbandonedCheckoutLineItem struct {
	ID                   string   `json:"id"`
	Title                string   `json:"title"`
	VariantTitle         string   `json:"variantTitle"`
	SKU                  string   `json:"sku"`
	Quantity             int      `json:"quantity"`
	OriginalUnitPriceSet MoneyBag `json:"originalUnitPriceSet"`
	Product              *struct {
		ID string `json:"id"`
	} `json:"product"`
	Variant *struct {
		ID string `json:"id"`
	} `json:"variant"`
	Image *struct {
		URL string `json:"url"`
	} `json:"image"`
	CustomAttributes []struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	} `json:"customAttributes"`
}

// AbandonedCheckouts calls fn with every abandoned checkout of the shop
// updated at or after updatedSince, pageSize at a time (DefaultPageSize
// when zero or less, at most MaxPageSize). It returns the greatest
// updatedAt seen, or updatedSince when there was none: the cursor to pass
// next time. Checkouts updated in the cursor's own second are seen again
// on the next call, since Shopify times are to the second; applying the
// same snapshot twice changes nothing. An error from fn stops the walk
// and is returned with the cursor reached so far.
//
// Recovered (completed) checkouts are included; their carts come out
// converted.
func (c *Client) AbandonedCheckouts(ctx context.Context, shop, accessToken string, updatedSince time.Time, pageSize int, fn func(AbandonedCheckout) error) (cursor time.Time, err error) {
	if pageSize <= 0 {
		pageSize = DefaultPageSize
	}
	pageSize = min(pageSize, MaxPageSize)
	cursor = updatedSince
	filter := "updated_at:>='" + updatedSince.UTC().Format(time.RFC3339) + "'"
	var after any
	for {
		var data struct {
			AbandonedCheckouts struct {
				Nodes    []AbandonedCheckout `json:"nodes"`
				PageInfo pageInfo            `json:"pageInfo"`
			} `json:"abandonedCheckouts"`
		}
		vars := map[string]any{"first": pageSize, "after": after, "query": filter}
		if err := c.GraphQL(ctx, shop, accessToken, abandonedCheckoutsQuery, vars, &data); err != nil {
			return cursor, fmt.Errorf("listing abandoned checkouts: %w", err)
		}
		for _, ac := range data.AbandonedCheckouts.Nodes {
			if err := fn(ac); err != nil {
				return cursor, err
			}
			if ac.UpdatedAt.After(cursor) {
				cursor = ac.UpdatedAt
			}
		}
		pi := data.AbandonedCheckouts.PageInfo
		if !pi.HasNextPage || pi.EndCursor == "" {
			return cursor, nil
		}
		after = pi.EndCursor
	}
}

// tokenInPath matches the checkout token in a recovery link's path:
// /{shop id}/checkouts/{token}/recover, or with a kind segment between
// (/checkouts/ac/{token}/recover).
var tokenInPath = regexp.MustCompile(`/checkouts/(?:[a-z]{1,3}/)?([A-Za-z0-9_-]+)/recover\b`)

// Token returns the checkout token, read from the recovery link's path
// since the GraphQL AbandonedCheckout has no token field. It is "" when
// the link has no recognisable token.
func (a AbandonedCheckout) Token() string {
	u, err := url.Parse(strings.TrimSpace(a.AbandonedCheckoutURL))
	if err != nil {
		return ""
	}
	m := tokenInPath.FindStringSubmatch(u.EscapedPath())
	if m == nil {
		return ""
	}
	return m[1]
}

// Cart converts the checkout into cartback's cart. region is the ISO
// 3166-1 alpha-2 country assumed for phone numbers written without a
// country code when the checkout has no billing country, normally the
// shop's own. Amounts are in the presentment currency. Shipping is left
// zero: the GraphQL checkout has no shipping lines.
func (a AbandonedCheckout) Cart(region string) (*recovery.Cart, error) {
	token := a.Token()
	if token == "" {
		return nil, recovery.Errorf(recovery.EINVALID, "abandoned checkout %s has no token in its recovery URL", a.ID)
	}
	currency := a.TotalPriceSet.PresentmentMoney.CurrencyCode
	if currency == "" {
		return nil, recovery.Errorf(recovery.EINVALID, "abandoned checkout %s has no currency", a.ID)
	}
	cart := &recovery.Cart{
		Keys:           recovery.CartKeys{CheckoutToken: token},
		Currency:       currency,
		RestoreURL:     strings.TrimSpace(a.AbandonedCheckoutURL),
		LastActivityAt: a.UpdatedAt,
		CreatedAt:      a.CreatedAt,
	}
	a.fillContact(cart, region)

	conv := payload.Converter{Currency: currency}
	money := func(field string, m Money) int64 {
		if m.CurrencyCode != "" && !strings.EqualFold(m.CurrencyCode, currency) {
			conv.Fail(field, "in %s, not %s", m.CurrencyCode, currency)
			return 0
		}
		return conv.Money(field, payload.Decimal(m.Amount))
	}
	if n := len(a.LineItems.Nodes); n > 0 {
		cart.Items = make([]recovery.LineItem, 0, n)
	}
	for _, li := range a.LineItems.Nodes {
		unit := money("lineItems.originalUnitPriceSet", li.OriginalUnitPriceSet.PresentmentMoney)
		item := recovery.LineItem{
			Title:        strings.TrimSpace(li.Title),
			VariantTitle: strings.TrimSpace(li.VariantTitle),
			SKU:          strings.TrimSpace(li.SKU),
			Quantity:     li.Quantity,
			UnitPrice:    unit,
			LinePrice:    conv.Product("lineItems.quantity", unit, li.Quantity),
		}
		if li.Product != nil {
			item.ProductID = legacyID(li.Product.ID)
		}
		if li.Variant != nil {
			item.VariantID = legacyID(li.Variant.ID)
		}
		if li.Image != nil {
			item.ImageURL = strings.TrimSpace(li.Image.URL)
		}
		for _, attr := range li.CustomAttributes {
			// Keys starting with "_" are hidden from shoppers by Shopify
			// convention.
			key, value := strings.TrimSpace(attr.Key), strings.TrimSpace(attr.Value)
			if key != "" && value != "" && !strings.HasPrefix(key, "_") {
				item.Attributes = append(item.Attributes, recovery.Attribute{Name: key, Value: value})
			}
		}
		cart.Items = append(cart.Items, item)
	}
	cart.Totals = recovery.Totals{
		Subtotal:  money("subtotalPriceSet", a.SubtotalPriceSet.PresentmentMoney),
		Discounts: money("totalDiscountSet", a.TotalDiscountSet.PresentmentMoney),
		Total:     money("totalPriceSet", a.TotalPriceSet.PresentmentMoney),
	}
	if a.TotalTaxSet != nil {
		cart.Totals.Tax = money("totalTaxSet", a.TotalTaxSet.PresentmentMoney)
	}
	if err := conv.Err(); err != nil {
		return nil, recovery.Errorf(recovery.EINVALID, "abandoned checkout %s: %s", a.ID, recovery.ErrorMessage(err))
	}

	// A completed checkout is an order already: saying so keeps a reminder
	// from going out if the order webhook is late or lost.
	if a.CompletedAt != nil && !a.CompletedAt.IsZero() {
		cart.State = recovery.CartConverted
		cart.Conversion = &recovery.Conversion{
			Total:    cart.Totals.Total,
			Currency: cart.Currency,
			At:       *a.CompletedAt,
		}
	}
	return cart, nil
}

// fillContact sets the cart's contact and consent from the customer and
// billing address.
func (a AbandonedCheckout) fillContact(cart *recovery.Cart, region string) {
	var email, emailState, phoneRaw, phoneState string
	if cu := a.Customer; cu != nil {
		cart.Contact.FirstName = strings.TrimSpace(cu.FirstName)
		cart.Contact.LastName = strings.TrimSpace(cu.LastName)
		cart.Contact.Locale = strings.ReplaceAll(strings.TrimSpace(cu.Locale), "_", "-")
		if e := cu.DefaultEmailAddress; e != nil {
			email, emailState = strings.TrimSpace(e.EmailAddress), e.MarketingState
		}
		if p := cu.DefaultPhoneNumber; p != nil {
			phoneRaw, phoneState = strings.TrimSpace(p.PhoneNumber), p.MarketingState
		}
	}
	if b := a.BillingAddress; b != nil {
		cart.Contact.Country = strings.ToUpper(strings.TrimSpace(b.CountryCodeV2))
		if cart.Contact.FirstName == "" {
			cart.Contact.FirstName = strings.TrimSpace(b.FirstName)
		}
		if cart.Contact.LastName == "" {
			cart.Contact.LastName = strings.TrimSpace(b.LastName)
		}
		if phoneRaw == "" {
			phoneRaw = strings.TrimSpace(b.Phone)
		}
	}
	cart.Contact.Email = email
	if phoneRaw != "" {
		phoneRegion := region
		if cart.Contact.Country != "" {
			phoneRegion = cart.Contact.Country
		}
		if n, ok := phone.Normalize(phoneRaw, phoneRegion); ok {
			cart.Contact.Phone = n
		} else {
			cart.Contact.PhoneRaw = phoneRaw
		}
	}
	cart.Consent = recovery.Consent{
		Email: recovery.ConsentGrant{Granted: emailState == "SUBSCRIBED", Source: sourceEmailMarketingConsent},
		SMS:   recovery.ConsentGrant{Granted: phoneState == "SUBSCRIBED", Source: sourceSMSMarketingConsent},
	}
}

// legacyID returns the numeric id at the end of a GraphQL global id
// (gid://shopify/Product/123 gives "123"), the form webhooks carry.
func legacyID(gid string) string {
	gid = strings.TrimSpace(gid)
	if i := strings.LastIndexByte(gid, '/'); i >= 0 {
		return gid[i+1:]
	}
	return gid
}

const checkoutOrderQuery = `query cartbackCheckoutOrder($query: String!) {
  orders(first: 1, query: $query) {
    nodes { id name checkoutToken }
  }
}`

var checkoutTokenChars = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// CheckoutCompleted reports whether the checkout with checkoutToken became
// an order, asking orders(first: 1, query: "checkout_token:'…'"); it is
// cheap enough to run right before each reminder. Shopify's search index
// lags writes by a few seconds, and orders older than 60 days need the
// read_all_orders scope; neither matters for a cart about to be reminded.
func (c *Client) CheckoutCompleted(ctx context.Context, shop, accessToken, checkoutToken string) (completed bool, err error) {
	if !checkoutTokenChars.MatchString(checkoutToken) {
		return false, fmt.Errorf("shopify checkout status for %s: %q is not a checkout token", shop, checkoutToken)
	}
	var data struct {
		Orders struct {
			Nodes []struct {
				ID            string `json:"id"`
				CheckoutToken string `json:"checkoutToken"`
			} `json:"nodes"`
		} `json:"orders"`
	}
	vars := map[string]any{"query": "checkout_token:'" + checkoutToken + "'"}
	if err := c.GraphQL(ctx, shop, accessToken, checkoutOrderQuery, vars, &data); err != nil {
		return false, fmt.Errorf("looking up the order of checkout %s: %w", checkoutToken, err)
	}
	for _, o := range data.Orders.Nodes {
		if o.CheckoutToken == checkoutToken {
			return true, nil
		}
	}
	return false, nil
}
