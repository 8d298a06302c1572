package recovery

import (
	"context"
)

// CreateShop validates and stores a new shop. A WooCommerce shop without a
// webhook secret gets a generated one, returned in the stored shop.
// ECONFLICT is returned when the domain is already connected.
func (s *Service) CreateShop(ctx context.Context, shop *Shop) (*Shop, error) {
	sh := *shop
	sh.ID = 0
	sh.Domain = NormalizeDomain(sh.Domain)
	if sh.Status == "" {
		sh.Status = ShopActive
	}
	if sh.WebhookSecret == "" && sh.Platform == PlatformWooCommerce {
		sh.WebhookSecret = NewSecret(32)
	}
	if err := sh.Validate(); err != nil {
		return nil, err
	}
	now := s.Now().UTC()
	sh.CreatedAt, sh.UpdatedAt = now, now
	err := s.Store.Update(ctx, func(tx Tx) error {
		sh.ID = 0 // may run again inside a batch
		if _, err := tx.ShopByDomain(sh.Domain); err == nil {
			return Errorf(ECONFLICT, "domain: shop %q already exists", sh.Domain)
		} else if ErrorCode(err) != ENOTFOUND {
			return err
		}
		return tx.PutShop(&sh)
	})
	if err != nil {
		return nil, err
	}
	return &sh, nil
}

// ShopByDomain returns the shop with the given domain. ENOTFOUND is returned
// when there is none.
func (s *Service) ShopByDomain(ctx context.Context, domain string) (*Shop, error) {
	var shop *Shop
	err := s.Store.View(ctx, func(tx Tx) (err error) {
		shop, err = tx.ShopByDomain(NormalizeDomain(domain))
		return err
	})
	return shop, err
}

// Shops returns every shop.
func (s *Service) Shops(ctx context.Context) ([]*Shop, error) {
	var shops []*Shop
	err := s.Store.View(ctx, func(tx Tx) (err error) {
		shops, err = tx.Shops()
		return err
	})
	return shops, err
}

// MaxPageSize bounds one page of a listing.
const MaxPageSize = 200

// Carts returns a page of a shop's carts, newest first, starting below the
// cart id before (zero: the newest).
func (s *Service) Carts(ctx context.Context, shopID, before uint64, limit int) ([]*Cart, error) {
	if limit <= 0 || limit > MaxPageSize {
		limit = MaxPageSize
	}
	var carts []*Cart
	err := s.Store.View(ctx, func(tx Tx) (err error) {
		carts, err = tx.Carts(shopID, before, limit)
		return err
	})
	return carts, err
}

// Cart returns one of a shop's carts. ENOTFOUND is returned when the shop
// has no cart with that id.
func (s *Service) Cart(ctx context.Context, shopID, cartID uint64) (*Cart, error) {
	var cart *Cart
	err := s.Store.View(ctx, func(tx Tx) (err error) {
		cart, err = tx.Cart(cartID)
		return err
	})
	if err == nil && cart.ShopID != shopID {
		return nil, Errorf(ENOTFOUND, "cart %d not found", cartID)
	}
	return cart, err
}
