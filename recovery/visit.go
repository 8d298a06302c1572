package recovery

import (
	"context"
	"errors"
	"net/url"
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

	var v Visit
	err = s.Store.Update(ctx, func(tx Tx) error {
		v = Visit{Outcome: VisitInvalid}
		shop, err := tx.Shop(t.ShopID)
		if ErrorCode(err) == ENOTFOUND {
			return nil
		} else if err != nil {
			return err
		}
		c, err := tx.Cart(t.CartID)
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
		case c.RestoreURL == "":
			v.Outcome, v.Redirect = VisitRestored, v.ShopURL
		default:
			v.Outcome, v.Redirect = VisitRestored, c.RestoreURL
			if t.Step < len(c.Steps) && c.Steps[t.Step].DiscountCode != "" {
				v.Redirect = withDiscount(shop, c.RestoreURL, c.Steps[t.Step].DiscountCode)
			}
		}
		return tx.PutClick(&Click{ShopID: shop.ID, CartID: c.ID, Step: t.Step, Channel: t.Channel, At: now, Mobile: isMobile(userAgent)})
	})
	return v, err
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
