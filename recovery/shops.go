package recovery

import (
	"context"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// CreateShop validates and stores a new shop. A WooCommerce shop without a
// webhook secret gets a generated one, returned in the stored shop.
// ECONFLICT is returned when the domain is already connected; the domain
// of an erased shop (EraseShop) can be connected again.
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
	sh.Name = strings.TrimSpace(sh.Name)
	if err := sh.Validate(); err != nil {
		return nil, err
	}
	// Checked here and on renaming, not in Validate: shops named before
	// the check must stay usable.
	if err := ValidateShopName(sh.Name); err != nil {
		return nil, err
	}
	now := s.Now().UTC()
	sh.CreatedAt, sh.UpdatedAt = now, now
	err := s.Store.Update(ctx, func(tx Tx) error {
		sh.ID = 0 // may run again inside a batch
		if old, err := tx.ShopByDomain(sh.Domain); err == nil {
			if old.Status != ShopRedacted {
				return Errorf(ECONFLICT, "domain: shop %q already exists", sh.Domain)
			} else if old.Erasing {
				return Errorf(ECONFLICT, "domain: shop %q is being erased; connect it again once that is done", sh.Domain)
			}
			// An erased shop connected again starts afresh under its id.
			sh.ID = old.ID
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
	now := s.Now().UTC()
	err := s.Store.View(ctx, func(tx Tx) (err error) {
		if carts, err = tx.Carts(shopID, before, limit); err != nil {
			return err
		}
		return settleAll(tx, shopID, carts, now)
	})
	return carts, err
}

// SearchCarts finds up to limit of a shop's carts, as they stand now, by
// email address, phone number, cart id or any of the platform's cart keys,
// through the indexes; failing that, by part of an email address, phone
// number or key among the newest scan carts.
func (s *Service) SearchCarts(ctx context.Context, shopID uint64, q string, limit, scan int) ([]*Cart, error) {
	var found []*Cart
	now := s.Now().UTC()
	err := s.Store.View(ctx, func(tx Tx) (err error) {
		if found, err = searchCarts(tx, shopID, q, limit, scan); err != nil {
			return err
		}
		return settleAll(tx, shopID, found, now)
	})
	return found, err
}

// settleAll replaces each of a shop's carts with the cart as it stands at
// now (see settled).
func settleAll(tx Tx, shopID uint64, carts []*Cart, now time.Time) error {
	if len(carts) == 0 {
		return nil
	}
	shop, err := tx.Shop(shopID)
	if err != nil {
		return err
	}
	for i, c := range carts {
		carts[i] = settled(c, shop, now)
	}
	return nil
}

func searchCarts(tx Tx, shopID uint64, q string, limit, scan int) ([]*Cart, error) {
	var found []*Cart
	if strings.Contains(q, "@") || strings.HasPrefix(q, "+") {
		contact := Contact{Email: q}
		if strings.HasPrefix(q, "+") {
			contact = Contact{Phone: strings.ReplaceAll(q, " ", "")}
		}
		carts, err := tx.CartsByContact(shopID, contact.Index()[0], limit)
		if err != nil || len(carts) > 0 {
			return carts, err
		}
	}
	if id, err := strconv.ParseUint(q, 10, 64); err == nil {
		if cart, err := tx.Cart(id); err == nil && cart.ShopID == shopID {
			found = append(found, cart)
		}
	}
	for _, key := range (CartKeys{CheckoutToken: q, CartToken: q, OrderID: q, CartKey: q}).Index() {
		cart, err := tx.CartByKey(shopID, key)
		if err == nil && (len(found) == 0 || found[len(found)-1].ID != cart.ID) {
			found = append(found, cart)
		} else if err != nil && ErrorCode(err) != ENOTFOUND {
			return nil, err
		}
	}
	if len(found) > 0 {
		return found, nil
	}
	needle := strings.ToLower(q)
	var before uint64
	for scanned := 0; scanned < scan && len(found) < limit; {
		carts, err := tx.Carts(shopID, before, MaxPageSize)
		if err != nil || len(carts) == 0 {
			return found, err
		}
		for _, cart := range carts {
			before = cart.ID
			scanned++
			k := cart.Keys
			if strings.Contains(strings.ToLower(cart.Contact.Email), needle) || strings.Contains(cart.Contact.Phone, needle) ||
				strings.Contains(strings.ToLower(k.CheckoutToken+" "+k.CartToken+" "+k.OrderID+" "+k.CartKey), needle) {
				found = append(found, cart)
				if len(found) == limit {
					break
				}
			}
		}
	}
	return found, nil
}

// settled returns the cart as it stands at now (see Cart.settle), without
// changing the stored version.
func settled(c *Cart, shop *Shop, now time.Time) *Cart {
	if c.State != CartActive {
		return c
	}
	c = c.clone()
	c.settle(shop, now)
	return c
}

// Cart returns one of a shop's carts. ENOTFOUND is returned when the shop
// has no cart with that id.
func (s *Service) Cart(ctx context.Context, shopID, cartID uint64) (*Cart, error) {
	var cart *Cart
	now := s.Now().UTC()
	err := s.Store.View(ctx, func(tx Tx) (err error) {
		cart, err = shopCart(tx, shopID, cartID, now)
		return err
	})
	return cart, err
}

// shopCart reads one of a shop's carts as it stands at now. ENOTFOUND is
// returned when the shop has no cart with that id.
func shopCart(tx Tx, shopID, cartID uint64, now time.Time) (*Cart, error) {
	cart, err := tx.Cart(cartID)
	if err != nil {
		return nil, err
	}
	if cart.ShopID != shopID {
		return nil, Errorf(ENOTFOUND, "cart %d not found", cartID)
	}
	shop, err := tx.Shop(shopID)
	if err != nil {
		return nil, err
	}
	return settled(cart, shop, now), nil
}

// UpdateSettings replaces a shop's settings after validating them. Settings
// without a sequence keep the stored one (it has an update of its own),
// read in the same transaction so that a concurrent UpdateSequence is not
// undone.
func (s *Service) UpdateSettings(ctx context.Context, shopID uint64, settings ShopSettings) (*Shop, error) {
	if err := settings.Validate(); err != nil {
		return nil, err
	}
	return s.updateSequenceWith(ctx, shopID, func(sh *Shop) {
		st := settings // the update may run again: leave settings as given
		if st.Sequence == nil {
			st.Sequence = sh.Settings.Sequence
		}
		sh.Settings = st
	})
}

// UpdateSequence replaces a shop's reminder sequence. Carts already in an
// episode keep the steps they were planned with; new episodes use it,
// including those of carts already waiting for their first step.
func (s *Service) UpdateSequence(ctx context.Context, shopID uint64, seq Sequence) (*Shop, error) {
	if err := seq.Validate(); err != nil {
		return nil, err
	}
	return s.updateSequenceWith(ctx, shopID, func(sh *Shop) { sh.Settings.Sequence = &seq })
}

// updateSequenceWith changes the shop and, when that changed its sequence,
// re-times the carts waiting for their first step.
func (s *Service) updateSequenceWith(ctx context.Context, shopID uint64, change func(*Shop)) (*Shop, error) {
	var before Sequence
	shop, err := s.updateShop(ctx, shopID, func(sh *Shop) error {
		before = sh.Settings.SequenceOrDefault()
		change(sh)
		return nil
	})
	if err != nil || jsonEqual(before, shop.Settings.SequenceOrDefault()) {
		return shop, err
	}
	return shop, s.retimeWaiting(ctx, shopID)
}

// retimeWaitingBatch bounds the carts one look of retimeWaiting reads.
const retimeWaitingBatch = 500

// retimeWaiting gives the shop's carts that wait for their first step the
// due time of its current sequence: they are due when that step is (see
// Cart.firstWrite), so without this a shortened sequence would reach them
// only at the time the old one set. Carts are read outside the writer and
// only those that change are written.
func (s *Service) retimeWaiting(ctx context.Context, shopID uint64) error {
	now := s.Now().UTC()
	var before uint64
	for {
		var ids []uint64
		var last uint64
		done := false
		err := s.Store.View(ctx, func(tx Tx) error {
			shop, err := tx.Shop(shopID)
			if err != nil {
				return err
			}
			horizon := now.Add(-2 * time.Duration(shop.Settings.SequenceOrDefault().MaxAge))
			carts, err := tx.CartOutcomes(shopID, before, retimeWaitingBatch)
			if err != nil {
				return err
			}
			done = len(carts) < retimeWaitingBatch
			for _, c := range carts {
				last = c.ID
				if c.CapturedAt.Before(horizon) {
					done = true // ids grow with capture time: the rest is older
					break
				}
				if waiting(c) && !c.retimed(shop).Equal(c.NextDueAt) {
					ids = append(ids, c.ID)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(ids) > 0 {
			var earliest time.Time
			err := s.Store.Update(ctx, func(tx Tx) error {
				earliest = time.Time{}
				shop, err := tx.Shop(shopID)
				if err != nil {
					return err
				}
				for _, id := range ids {
					c, err := tx.Cart(id)
					if ErrorCode(err) == ENOTFOUND {
						continue
					} else if err != nil {
						return err
					}
					if !waiting(c) {
						continue // changed since it was read
					}
					was := c.NextDueAt
					c = c.clone()
					c.schedule(shop)
					if c.NextDueAt.Equal(was) {
						continue // re-timed meanwhile
					}
					if err := tx.PutCart(c); err != nil {
						return err
					}
					if earliest.IsZero() || c.NextDueAt.Before(earliest) {
						earliest = c.NextDueAt
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
			s.notifyDue(earliest)
		}
		if done || last == 0 {
			return nil
		}
		before = last
	}
}

// waiting reports whether a cart waits for its episode's first step.
func waiting(c *Cart) bool {
	return c.State == CartActive && !c.Empty() && len(c.Steps) == 0
}

// retimed is when the cart would be due under shop's current settings.
func (c *Cart) retimed(shop *Shop) time.Time {
	cp := *c
	cp.schedule(shop)
	return cp.NextDueAt
}

// SetShopStatus pauses or resumes a shop.
func (s *Service) SetShopStatus(ctx context.Context, shopID uint64, status ShopStatus) (*Shop, error) {
	if status != ShopActive && status != ShopPaused {
		return nil, Errorf(EINVALID, "status: must be %q or %q", ShopActive, ShopPaused)
	}
	return s.updateShop(ctx, shopID, func(sh *Shop) error {
		if sh.Status == ShopUninstalled {
			// The platform no longer tells cartback of orders: resuming
			// would remind shoppers who already bought.
			return Errorf(ECONFLICT, "status: %s was uninstalled; it is resumed by installing it again", sh.Domain)
		}
		sh.Status = status
		return nil
	})
}

// RotateWebhookSecret gives a shop a new webhook secret: secret, or a
// generated one when secret is empty. With keepPrevious the old secret
// keeps verifying until EndWebhookSecretRotation, so that the store (and
// deliveries it already signed and will retry) can move over without a
// refused webhook; without it the old secret stops at once, as it should
// when it leaked. Asked again before the rotation is ended, it replaces
// the new secret and keeps the previous one. EINVALID is returned for a
// Shopify shop installed
// through the app, whose webhooks are signed with the app's secret
// (rotated with SHOPIFY_API_SECRET_PREVIOUS), and for a secret that is
// too short or the same as the current one.
func (s *Service) RotateWebhookSecret(ctx context.Context, shopID uint64, secret string, keepPrevious bool) (*Shop, error) {
	if secret == "" {
		secret = NewSecret(32)
	}
	return s.updateShop(ctx, shopID, func(sh *Shop) error {
		switch {
		case sh.UsesShopifyAppSecret():
			return Errorf(EINVALID, "webhook_secret: %s is verified with the Shopify app's secret; rotate that with SHOPIFY_API_SECRET and SHOPIFY_API_SECRET_PREVIOUS", sh.Domain)
		case secret == sh.WebhookSecret:
			return Errorf(EINVALID, "webhook_secret: same as the current secret")
		}
		switch {
		case !keepPrevious:
			sh.PreviousWebhookSecret = ""
		case sh.PreviousWebhookSecret == "":
			sh.PreviousWebhookSecret = sh.WebhookSecret
		default:
			// A rotation is under way: the store still signs with the
			// previous secret, and the new one it has not taken up yet is
			// what this replaces (a form sent twice, a secret lost).
		}
		sh.WebhookSecret = secret
		return sh.Validate()
	})
}

// EndWebhookSecretRotation stops accepting a shop's previous webhook
// secret. It does nothing when there is none.
func (s *Service) EndWebhookSecretRotation(ctx context.Context, shopID uint64) (*Shop, error) {
	return s.updateShop(ctx, shopID, func(sh *Shop) error {
		sh.PreviousWebhookSecret = ""
		return nil
	})
}

func (s *Service) updateShop(ctx context.Context, shopID uint64, change func(*Shop) error) (*Shop, error) {
	var shop *Shop
	now := s.Now().UTC()
	err := s.Store.Update(ctx, func(tx Tx) error {
		sh, err := tx.Shop(shopID)
		if err != nil {
			return err
		}
		if sh.Status == ShopRedacted {
			// Only connecting it again (CreateShop, InstallShopify) may
			// bring an erased shop back; nothing may land on its tombstone.
			return Errorf(ECONFLICT, "shop %q was erased; connect it again first", sh.Domain)
		}
		if err := change(sh); err != nil {
			return err // nothing written
		}
		sh.UpdatedAt = now
		shop = sh
		return tx.PutShop(sh)
	})
	return shop, err
}

// Outbox returns a page of the shop's messages held because no provider is
// configured, newest first.
func (s *Service) Outbox(ctx context.Context, shopID, before uint64, limit int) ([]*Message, error) {
	if limit <= 0 || limit > MaxPageSize {
		limit = MaxPageSize
	}
	var msgs []*Message
	err := s.Store.View(ctx, func(tx Tx) (err error) {
		msgs, err = tx.Messages(shopID, before, limit, func(m *Message) bool { return m.Status == MessageOutbox })
		return err
	})
	return msgs, err
}

// CartTimeline returns a cart with its messages and clicks.
func (s *Service) CartTimeline(ctx context.Context, shopID, cartID uint64) (*Cart, []*Message, []Click, error) {
	var (
		cart   *Cart
		msgs   []*Message
		clicks []Click
	)
	err := s.Store.View(ctx, func(tx Tx) (err error) {
		if cart, err = shopCart(tx, shopID, cartID, s.Now().UTC()); err != nil {
			return err
		}
		if msgs, err = tx.CartMessages(cartID); err != nil {
			return err
		}
		clicks, err = tx.Clicks(cartID)
		return err
	})
	return cart, msgs, clicks, err
}

// RecordDelivery applies a provider's report on a message it delivered:
// the message's status and path, and an opt-out when the provider says the
// address must not be used again. ENOTFOUND is returned for an unknown id.
func (s *Service) RecordDelivery(ctx context.Context, r DeliveryReport) (*Message, error) {
	now := s.Now().UTC()
	var msg *Message
	err := s.Store.Update(ctx, func(tx Tx) error {
		m, err := tx.MessageByProvider(r.Provider, r.ProviderID)
		if err != nil {
			return err
		}
		detail := r.ErrorCode
		if detail != "" {
			detail = "error " + detail
		}
		m.History = append(m.History, MessageEvent{At: now, Status: r.Status, Detail: detail})
		// A late "sent" must not overwrite "delivered"; final reports win.
		if r.Status != MessageSent || m.Status == MessageSent {
			m.Status = r.Status
		}
		if r.ErrorCode != "" {
			m.ErrorCode = r.ErrorCode
		}
		if r.StopContact {
			if err := tx.PutOptOut(&OptOut{ShopID: m.ShopID, Channel: m.Channel, Contact: optOutContact(m.Channel, m.To), At: now, Source: r.Provider + ":" + r.ErrorCode}); err != nil {
				return err
			}
		}
		msg = m
		return tx.PutMessage(m)
	})
	return msg, err
}

// EveryShop is the ShopID of an opt-out that holds for every shop: a STOP
// to the sending number, which all shops text from.
const EveryShop uint64 = 0

// SetOptOut opts a contact (an email address or E.164 number) out of a
// channel, or back in, for every shop that has a cart of theirs, and
// returns how many shops that was. Inbound STOP replies come this way: the
// reply names the number, not the shop. For texts it also records the
// opt-out for every shop (EveryShop), including those that have no cart
// of the number yet: every shop texts from the same number.
func (s *Service) SetOptOut(ctx context.Context, channel Channel, contact string, optOut bool, source string) (int, error) {
	contact = optOutContact(channel, contact)
	key := "e:" + contact
	if channel == ChannelSMS {
		key = "p:" + contact
	}
	now := s.Now().UTC()
	var n int
	err := s.Store.Update(ctx, func(tx Tx) error {
		n = 0
		if channel == ChannelSMS {
			var err error
			if optOut {
				err = tx.PutOptOut(&OptOut{ShopID: EveryShop, Channel: channel, Contact: contact, At: now, Source: source})
			} else {
				err = tx.DeleteOptOut(EveryShop, channel, contact)
			}
			if err != nil {
				return err
			}
		}
		shops, err := tx.Shops()
		if err != nil {
			return err
		}
		for _, shop := range shops {
			carts, err := tx.CartsByContact(shop.ID, key, 1)
			if err != nil {
				return err
			}
			if len(carts) == 0 {
				if !optOut && channel == ChannelSMS {
					// START undoes a STOP of every shop, also where
					// retention has erased the carts since.
					if err := tx.DeleteOptOut(shop.ID, channel, contact); err != nil {
						return err
					}
				}
				continue
			}
			n++
			if optOut {
				err = tx.PutOptOut(&OptOut{ShopID: shop.ID, Channel: channel, Contact: contact, At: now, Source: source})
			} else {
				err = tx.DeleteOptOut(shop.ID, channel, contact)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// InstallShopify records a shop installed through the Shopify app: it is
// created, or (re)activated, with its sealed access.
func (s *Service) InstallShopify(ctx context.Context, domain string, access ShopifyAccess) (*Shop, error) {
	domain = NormalizeDomain(domain)
	now := s.Now().UTC()
	access.InstalledAt = now
	var shop *Shop
	err := s.Store.Update(ctx, func(tx Tx) error {
		sh, err := tx.ShopByDomain(domain)
		if ErrorCode(err) == ENOTFOUND {
			sh = &Shop{Platform: PlatformShopify, Domain: domain, CreatedAt: now}
			if err := sh.Validate(); err != nil {
				return err
			}
		} else if err != nil {
			return err
		} else if sh.Status == ShopRedacted {
			if sh.Erasing {
				return Errorf(ECONFLICT, "domain: %q is being erased; install again once that is done", domain)
			}
			// An erased shop installed again starts afresh under its id,
			// verified with the app's secret.
			sh = &Shop{ID: sh.ID, Platform: PlatformShopify, Domain: domain, CreatedAt: now}
		} else if sh.Platform != PlatformShopify {
			return Errorf(ECONFLICT, "domain: %q is connected as a %s shop", domain, sh.Platform)
		}
		a := access
		if sh.Shopify != nil {
			a.SyncedUntil = sh.Shopify.SyncedUntil
		} else if a.SyncedUntil.IsZero() {
			// A new installation reads back checkouts from now on, not the
			// shop's whole history: reminders for carts left days before
			// the app was there, minutes after installing, before the
			// merchant has set anything up, would surprise everyone.
			a.SyncedUntil = now
		}
		// UninstalledAt stays: the last uninstall, which a late shop/redact
		// is measured against.
		sh.Shopify, sh.Status, sh.UpdatedAt = &a, ShopActive, now
		shop = sh
		return tx.PutShop(sh)
	})
	return shop, err
}

// ShopDetails is what a platform says of a shop in its own settings.
type ShopDetails struct {
	// Name is the shop's name as shoppers know it.
	Name string
	// TimeZone is an IANA zone name.
	TimeZone string
	// Country is an ISO 3166-1 alpha-2 code.
	Country string
}

// maxShopName bounds a shop name taken from a platform: it opens every
// subject line and text.
const maxShopName = 100

// AdoptShopDetails fills in what a shop's record lacks from its platform's
// settings: without a name its messages would greet shoppers with its
// myshopify.com domain, and without a time zone its days would be UTC's.
// What the merchant or the operator set is kept, and a value that is not
// valid is left out.
func (s *Service) AdoptShopDetails(ctx context.Context, shopID uint64, d ShopDetails) (*Shop, error) {
	return s.updateShop(ctx, shopID, func(sh *Shop) error {
		if name := strings.TrimSpace(d.Name); sh.Name == "" && name != "" && ValidateShopName(name) == nil {
			sh.Name = name
		}
		try := sh.Settings
		if try.TimeZone == "" {
			try.TimeZone = d.TimeZone
			if try.Validate() == nil {
				sh.Settings = try
			}
		}
		try = sh.Settings
		if try.Country == "" {
			try.Country = strings.ToUpper(d.Country)
			if try.Validate() == nil {
				sh.Settings = try
			}
		}
		return nil
	})
}

// RenameShop sets the name the shop's messages and pages show shoppers;
// empty shows its domain.
func (s *Service) RenameShop(ctx context.Context, shopID uint64, name string) (*Shop, error) {
	name = strings.TrimSpace(name)
	if err := ValidateShopName(name); err != nil {
		return nil, err
	}
	return s.updateShop(ctx, shopID, func(sh *Shop) error {
		sh.Name = name
		return nil
	})
}

// ValidateShopName returns an EINVALID error when name cannot open a
// subject line: too long, or holding control characters.
func ValidateShopName(name string) error {
	if utf8.RuneCountInString(name) > maxShopName {
		return Errorf(EINVALID, "name: at most %d characters", maxShopName)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return Errorf(EINVALID, "name: must not hold control characters such as line breaks")
		}
	}
	return nil
}

// UpdateShopifyAccess changes a Shopify shop's access record in one
// transaction (a refreshed token pair must replace the old one at once:
// refresh tokens are single use).
func (s *Service) UpdateShopifyAccess(ctx context.Context, shopID uint64, change func(*ShopifyAccess)) (*Shop, error) {
	return s.updateShop(ctx, shopID, func(sh *Shop) error {
		a := ShopifyAccess{}
		if sh.Shopify != nil {
			a = *sh.Shopify
		}
		change(&a)
		sh.Shopify = &a
		return nil
	})
}
