package app

import (
	"context"
	"fmt"
)

const appUninstallMutation = `mutation cartbackAppUninstall {
  appUninstall {
    app { id }
    userErrors { field message }
  }
}`

// UninstallApp removes the app from the shop with appUninstall. Shopify
// then revokes the access token, deletes the app's webhook subscriptions
// and sends app/uninstalled.
func (c *Client) UninstallApp(ctx context.Context, shop, accessToken string) error {
	var data struct {
		AppUninstall struct {
			App *struct {
				ID string `json:"id"`
			} `json:"app"`
			UserErrors UserErrors `json:"userErrors"`
		} `json:"appUninstall"`
	}
	if err := c.GraphQL(ctx, shop, accessToken, appUninstallMutation, nil, &data); err != nil {
		return fmt.Errorf("uninstalling the app from %s: %w", shop, err)
	}
	if errs := data.AppUninstall.UserErrors; len(errs) > 0 {
		return fmt.Errorf("uninstalling the app from %s: %w", shop, errs)
	}
	return nil
}
