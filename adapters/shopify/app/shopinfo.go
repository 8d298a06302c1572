package app

import (
	"context"
	"fmt"

	"github.com/cartback/cartback/recovery"
)

const shopDetailsQuery = `query cartbackShopDetails {
  shop {
    name
    ianaTimezone
    billingAddress { countryCodeV2 }
  }
}`

// ShopDetails reads the shop's name, time zone and country from its
// settings in Shopify.
func (c *Client) ShopDetails(ctx context.Context, shop, accessToken string) (recovery.ShopDetails, error) {
	var data struct {
		Shop *struct {
			Name           string `json:"name"`
			IANATimezone   string `json:"ianaTimezone"`
			BillingAddress struct {
				CountryCodeV2 string `json:"countryCodeV2"`
			} `json:"billingAddress"`
		} `json:"shop"`
	}
	if err := c.GraphQL(ctx, shop, accessToken, shopDetailsQuery, nil, &data); err != nil {
		return recovery.ShopDetails{}, fmt.Errorf("reading the settings of %s: %w", shop, err)
	}
	if data.Shop == nil {
		return recovery.ShopDetails{}, fmt.Errorf("reading the settings of %s: no shop in the response", shop)
	}
	return recovery.ShopDetails{Name: data.Shop.Name, TimeZone: data.Shop.IANATimezone, Country: data.Shop.BillingAddress.CountryCodeV2}, nil
}
