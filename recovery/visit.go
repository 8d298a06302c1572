package recovery

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"
)

// VisitOutcome says what a restore link visit led to.
type VisitOutcome string

// Visit outcomes.
const (
	// VisitRestored: the shopper goes back into the cart.
	VisitRestored VisitOutcome = "restored"
	// VisitConverted: the cart was already bought; the shopper goes to the shop.
	VisitConverted VisitOutcome = "converted"
	// VisitExpired: an authentic link past its expiry.
	VisitExpired VisitOutcome = "expired"
	// VisitInvalid: forged, malformed, or naming nothing cartback holds.
	VisitInvalid VisitOutcome = "invalid"
)

// Visit is where a restore link visit goes.
type Visit struct {
	Outcome VisitOutcome
	// Redirect is the address to send the shopper to (empty for invalid).
	Redirect string
	// ShopURL is the shop's home page (empty for invalid).
	ShopURL  string
	ShopName string
}

// Visit resolves a restore link. A valid visit of an open cart is recorded
// as a click and redirected to the platform's restore URL, with the step's
// discount code applied where the platform allows it. It never changes the
// cart and never signs anyone in.
func (s *Service) Visit(ctx context.Context, signer *Signer, token, userAgent string) (Visit, error) {
	now := s.Now().UTC()
	t, err := signer.Verify(token, PurposeRestore, now)
	if errors.Is(err, ErrTokenInvalid) {
		return Visit{Outcome: VisitInvalid}, nil
	}
	expired := errors.Is(err, ErrTokenExpired)

	// Everything but the click itself is read in a read-only transaction,
	// which runs in parallel; only the click goes through the writer.
	v := Visit{Outcome: VisitInvalid}
	var click *Click
	err = s.Store.View(ctx, func(tx Tx) error {
		shop, err := tx.Shop(t.ShopID)
		if ErrorCode(err) == ENOTFOUND {
			return nil
		} else if err != nil {
			return err
		}
		c, err := tx.CartLink(t.CartID)
		if ErrorCode(err) == ENOTFOUND || (err == nil && c.ShopID != shop.ID) {
			return nil
		} else if err != nil {
			return err
		}
		v.ShopURL, v.ShopName = ShopURL(shop), shop.Name
		switch {
		case expired:
			v.Outcome = VisitExpired
			return nil
		case c.State == CartConverted:
			v.Outcome, v.Redirect = VisitConverted, v.ShopURL
			return nil
		case shop.Platform == PlatformWooCommerce && c.Keys.CartKey != "":
			// A cart the plugin captured is rebuilt by the plugin, which asks
			// cartback for its contents with this same token.
			v.Outcome, v.Redirect = VisitRestored, pluginRestoreURL(shop, c, token)
		case c.RestoreURL == "":
			v.Outcome, v.Redirect = VisitRestored, v.ShopURL
		default:
			v.Outcome, v.Redirect = VisitRestored, c.RestoreURL
			if t.Step < len(c.DiscountCodes) && c.DiscountCodes[t.Step] != "" {
				v.Redirect = withDiscount(shop, c.RestoreURL, c.DiscountCodes[t.Step])
			}
		}
		if isBot(userAgent) {
			return nil // redirected all the same, but a preview or a scanner is no click
		}
		click = &Click{ShopID: shop.ID, CartID: c.ID, Step: t.Step, Channel: t.Channel, At: now, Mobile: isMobile(userAgent)}
		return nil
	})
	if err != nil || click == nil {
		return v, err
	}
	if s.Clicks != nil && s.Clicks.Record(click) {
		return v, nil
	}
	return v, s.Store.Update(ctx, func(tx Tx) error { return tx.PutClick(click) })
}

// pluginRestoreURL is the WooCommerce plugin's restore route on the store
// the cart came from.
func pluginRestoreURL(shop *Shop, c CartLink, token string) string {
	return storeURL(shop, c.RestoreURL) + "?cartback_restore=" + url.QueryEscape(token)
}

// StoreURL is the home URL of the store a cart came from: the base of the
// cart's restore URL when it is on the shop's host (WordPress may live in a
// sub-directory), else the shop's home page. It ends with a slash.
func StoreURL(shop *Shop, c *Cart) string { return storeURL(shop, c.RestoreURL) }

func storeURL(shop *Shop, restoreURL string) string {
	if u, err := url.Parse(restoreURL); err == nil && u.Host != "" && strings.EqualFold(u.Hostname(), strings.Split(shop.Domain, ":")[0]) {
		u.RawQuery, u.Fragment = "", ""
		if !strings.HasSuffix(u.Path, "/") {
			u.Path += "/"
		}
		return u.String()
	}
	return ShopURL(shop)
}

// PluginRestore is what the WooCommerce plugin needs to rebuild a cart.
type PluginRestore struct {
	CartKey  string              `json:"cart_key"`
	Email    string              `json:"email"`
	Coupon   string              `json:"coupon"`
	Currency string              `json:"currency"`
	Items    []PluginRestoreItem `json:"items"`
}

// PluginRestoreItem is one line to put back into the cart.
type PluginRestoreItem struct {
	ProductID   uint64            `json:"product_id"`
	VariationID uint64            `json:"variation_id"`
	Quantity    int               `json:"quantity"`
	Attributes  map[string]string `json:"attributes"`
}

// RestoreForPlugin answers the WooCommerce plugin's restore call for a
// restore token of shop. ENOTFOUND is returned for a forged token, one of
// another shop or a cart that is gone; ECONFLICT (answered as 410) for an
// expired one.
func (s *Service) RestoreForPlugin(ctx context.Context, signer *Signer, shop *Shop, token string) (*PluginRestore, error) {
	t, err := signer.Verify(token, PurposeRestore, s.Now())
	switch {
	case errors.Is(err, ErrTokenExpired):
		return nil, Errorf(EEXPIRED, "this link has expired")
	case err != nil || t.ShopID != shop.ID:
		return nil, Errorf(ENOTFOUND, "unknown link")
	}
	var c *Cart
	err = s.Store.View(ctx, func(tx Tx) (err error) {
		c, err = tx.Cart(t.CartID)
		return err
	})
	if ErrorCode(err) == ENOTFOUND || (err == nil && (c.ShopID != shop.ID || c.State == CartDeleted)) {
		return nil, Errorf(ENOTFOUND, "unknown link")
	} else if err != nil {
		return nil, err
	} else if c.State == CartConverted {
		// Bought is final: rebuilding it (and taking up its key again)
		// would start a cart nobody asked for.
		return nil, Errorf(ECONFLICT, "this cart was bought")
	}
	r := &PluginRestore{CartKey: c.Keys.CartKey, Email: c.Contact.Email, Currency: c.Currency, Items: []PluginRestoreItem{}}
	if t.Step < len(c.Steps) {
		r.Coupon = c.Steps[t.Step].DiscountCode
	}
	for _, it := range c.Items {
		item := PluginRestoreItem{Quantity: it.Quantity, Attributes: map[string]string{}}
		item.ProductID, _ = strconv.ParseUint(it.ProductID, 10, 64)
		item.VariationID, _ = strconv.ParseUint(it.VariantID, 10, 64)
		for _, a := range it.Attributes {
			item.Attributes[a.Name] = a.Value
		}
		if item.ProductID != 0 {
			r.Items = append(r.Items, item)
		}
	}
	return r, nil
}

// ShopURL is the shop's storefront home page.
func ShopURL(shop *Shop) string { return "https://" + shop.Domain + "/" }

// withDiscount returns a link that applies code on the way to the restore
// URL, where the platform has one. Shopify: /discount/{code}?redirect={path}
// on the shop's domain; a checkout on another host gets the code as its
// "discount" query parameter, which Shopify's checkout also reads. Elsewhere
// the restore URL is returned unchanged: the WooCommerce plugin applies the
// code itself.
func withDiscount(shop *Shop, restoreURL, code string) string {
	u, err := url.Parse(restoreURL)
	if shop.Platform != PlatformShopify || err != nil {
		return restoreURL
	}
	if u.Host != "" && !strings.EqualFold(u.Host, shop.Domain) {
		q := u.Query()
		q.Set("discount", code)
		u.RawQuery = q.Encode()
		return u.String()
	}
	path := u.EscapedPath()
	if u.RawQuery != "" {
		path += "?" + u.RawQuery
	}
	return "https://" + shop.Domain + "/discount/" + url.PathEscape(code) + "?redirect=" + url.QueryEscape(path)
}

// isMobile tells phones and tablets from desktops by the user agent.
func isMobile(ua string) bool {
	for _, marker := range []string{"Mobi", "Android", "iPhone", "iPad", "iPod"} {
		if strings.Contains(ua, marker) {
			return true
		}
	}
	return false
}

// botMarkers are parts of the user agents of link previews (chat apps,
// social sites) and of the crawlers and mail scanners that fetch every
// link they see; lower case.
var botMarkers = []string{
	"bot", "crawler", "spider", "preview", "facebookexternalhit", "slack", "whatsapp",
	"telegram", "discord", "skypeuripreview", "embedly", "proofpoint", "mimecast",
	"barracuda", "python-requests", "go-http-client", "curl/", "wget/", "headlesschrome",
}

// isBot reports whether a user agent is a machine's rather than a
// shopper's, so that its fetch of a restore link is not counted as a
// click (it would credit recoveries to links nobody clicked). An empty
// user agent is a machine's too: every browser sends one.
func isBot(ua string) bool {
	if strings.TrimSpace(ua) == "" {
		return true
	}
	lower := strings.ToLower(ua)
	for _, m := range botMarkers {
		if strings.Contains(lower, m) {
			return true
		}
	}
	return false
}
