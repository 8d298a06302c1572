package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"
)

// DefaultDiscountTTL is how long a reminder's discount code stays valid.
const DefaultDiscountTTL = 72 * time.Hour

// Discount describes a single-use code for one shopper: it can be used
// once in all (usageLimit 1), once per customer, on every item of the
// order. Exactly one of Percentage and Amount is set.
type Discount struct {
	// Code is the code the shopper types; one is generated when empty.
	Code string
	// Title is the name the merchant sees; derived from Code when empty.
	Title string
	// Percentage is the share off, 0.1 for 10 %.
	Percentage float64
	// Amount is a fixed amount off the order, a decimal in the shop's
	// currency such as "5.00".
	Amount string
	// StartsAt is when the code becomes valid; now when zero.
	StartsAt time.Time
	// EndsAt is when it expires; StartsAt + DefaultDiscountTTL when zero.
	EndsAt time.Time
}

const discountCodeBasicCreateMutation = `mutation cartbackDiscountCreate($basicCodeDiscount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $basicCodeDiscount) {
    codeDiscountNode {
      id
      codeDiscount { ... on DiscountCodeBasic { codes(first: 1) { nodes { code } } } }
    }
    userErrors { field code message }
  }
}`

// CreateDiscountCode creates d in the shop with discountCodeBasicCreate
// and returns its code.
func (c *Client) CreateDiscountCode(ctx context.Context, shop, accessToken string, d Discount) (code string, err error) {
	value, err := d.value()
	if err != nil {
		return "", fmt.Errorf("shopify discount for %s: %w", shop, err)
	}
	if d.Code == "" {
		d.Code = newDiscountCode()
	}
	if d.Title == "" {
		d.Title = "cartback " + d.Code
	}
	if d.StartsAt.IsZero() {
		d.StartsAt = c.now()
	}
	if d.EndsAt.IsZero() {
		d.EndsAt = d.StartsAt.Add(DefaultDiscountTTL)
	}
	if !d.EndsAt.After(d.StartsAt) {
		return "", fmt.Errorf("shopify discount for %s: ends at %s, before it starts", shop, d.EndsAt.Format(time.RFC3339))
	}
	input := map[string]any{
		"title":                  d.Title,
		"code":                   d.Code,
		"startsAt":               d.StartsAt.UTC().Format(time.RFC3339),
		"endsAt":                 d.EndsAt.UTC().Format(time.RFC3339),
		"context":                map[string]any{"all": "ALL"},
		"customerGets":           map[string]any{"value": value, "items": map[string]any{"all": true}},
		"usageLimit":             1,
		"appliesOncePerCustomer": true,
		// With the shop's shipping discounts (free shipping over an
		// amount, say): the reminder's code must not cost the shopper
		// those. Not with other order or product discounts, which would
		// stack the merchant's margin away.
		"combinesWith": map[string]any{"orderDiscounts": false, "productDiscounts": false, "shippingDiscounts": true},
	}
	var data struct {
		DiscountCodeBasicCreate struct {
			CodeDiscountNode *struct {
				ID           string `json:"id"`
				CodeDiscount struct {
					Codes struct {
						Nodes []struct {
							Code string `json:"code"`
						} `json:"nodes"`
					} `json:"codes"`
				} `json:"codeDiscount"`
			} `json:"codeDiscountNode"`
			UserErrors UserErrors `json:"userErrors"`
		} `json:"discountCodeBasicCreate"`
	}
	if err := c.GraphQL(ctx, shop, accessToken, discountCodeBasicCreateMutation, map[string]any{"basicCodeDiscount": input}, &data); err != nil {
		return "", fmt.Errorf("creating discount code: %w", err)
	}
	res := data.DiscountCodeBasicCreate
	if len(res.UserErrors) > 0 {
		return "", fmt.Errorf("shopify discount for %s: %w", shop, res.UserErrors)
	}
	if res.CodeDiscountNode == nil {
		return "", fmt.Errorf("shopify discount for %s: no discount in the response", shop)
	}
	if nodes := res.CodeDiscountNode.CodeDiscount.Codes.Nodes; len(nodes) > 0 && nodes[0].Code != "" {
		return nodes[0].Code, nil
	}
	return d.Code, nil
}

// value returns the customerGets.value input of d.
func (d Discount) value() (map[string]any, error) {
	amount := strings.TrimSpace(d.Amount)
	switch {
	case d.Percentage != 0 && amount != "":
		return nil, errors.New("both a percentage and an amount given")
	case d.Percentage != 0:
		if d.Percentage < 0 || d.Percentage > 1 {
			return nil, fmt.Errorf("percentage %g is not between 0 and 1 (0.1 is 10 %%)", d.Percentage)
		}
		return map[string]any{"percentage": d.Percentage}, nil
	case amount != "":
		return map[string]any{"discountAmount": map[string]any{"amount": amount, "appliesOnEachItem": false}}, nil
	}
	return nil, errors.New("neither a percentage nor an amount given")
}

// codeAlphabet leaves out letters and digits shoppers confuse (0/O, 1/I/L).
const codeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// newDiscountCode returns a random code such as CB-7KQ2M9XT.
func newDiscountCode() string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic("discount code: reading random bytes: " + err.Error())
	}
	for i := range b {
		// 256 is not a multiple of the alphabet's size; the slight bias
		// does not matter for a single-use code.
		b[i] = codeAlphabet[int(b[i])%len(codeAlphabet)]
	}
	return "CB-" + string(b)
}
