package recovery

import (
	"context"
	"errors"
	"strings"
)

// retentionBatch bounds one retention transaction, so webhooks never wait
// long behind it.
const retentionBatch = 100

// Expire erases, for every shop, the carts (with their messages and clicks)
// whose last change is older than the shop's retention period, folding each
// into its day's anonymous figures first so the dashboard's history
// survives. Opt-outs are kept: they are the shopper's standing instruction.
// It returns how many carts it erased.
func (s *Service) Expire(ctx context.Context) (int, error) {
	shops, err := s.Shops(ctx)
	if err != nil {
		return 0, err
	}
	now := s.Now().UTC()
	total := 0
	for _, shop := range shops {
		cutoff := now.Add(-shop.Settings.Retention())
		var after uint64
		for {
			var erased int
			var done bool
			next, start := after, after
			err := s.Store.Update(ctx, func(tx Tx) error {
				// May run again within a batch: derive everything from start.
				erased, done, next = 0, false, start
				carts, err := tx.OldestCarts(shop.ID, start, retentionBatch)
				if err != nil {
					return err
				}
				done = len(carts) < retentionBatch
				var old []*Cart
				for _, c := range carts {
					if !c.CapturedAt.Before(cutoff) {
						done = true // ids grow with capture time: the rest is newer
						break
					}
					next = c.ID
					if c.UpdatedAt.Before(cutoff) && c.LastActivityAt.Before(cutoff) {
						old = append(old, c)
					}
				}
				erased = len(old)
				return foldAndDelete(tx, shop, old, now)
			})
			after = next
			if err != nil {
				return total, err
			}
			total += erased
			if done {
				break
			}
		}
	}
	if total > 0 {
		s.erased()
	}
	return total, nil
}

// UnsubscribeToken is the path element of an unsubscribe link: the signed
// token, then the address the email goes to, sealed, so that the link
// keeps working once retention has erased the cart and its messages.
func UnsubscribeToken(signer *Signer, t LinkToken, address string) string {
	if len(address) > maxEmailLength {
		// Not an address any server delivers to; the link falls back to
		// the cart's record of it.
		return signer.Sign(t)
	}
	return signer.Sign(t) + "." + signer.SealAddress(t.ShopID, t.CartID, address)
}

// maxEmailLength is the longest deliverable email address (RFC 5321's
// 254-octet path less its angle brackets).
const maxEmailLength = 254

// Unsubscribe honours a signed unsubscribe link: the address the linked
// email went to (and the cart's current one, while the cart is kept) is
// opted out of the shop's email, for every cart, at once.
func (s *Service) Unsubscribe(ctx context.Context, signer *Signer, token string, apply bool) (*Shop, error) {
	token, sealed, _ := strings.Cut(token, ".")
	t, err := signer.Verify(token, PurposeUnsubscribe, s.Now())
	if err != nil && !errors.Is(err, ErrTokenExpired) {
		// An old unsubscribe link must still work: expiry only limits restore.
		return nil, Errorf(ENOTFOUND, "unknown link")
	}
	// Links made before addresses were sealed in them have none.
	var sentTo string
	if sealed != "" {
		address, err := signer.OpenAddress(t.ShopID, t.CartID, sealed)
		if err != nil {
			return nil, Errorf(ENOTFOUND, "unknown link")
		}
		sentTo = optOutContact(ChannelEmail, address)
	}
	var shop *Shop
	// The confirmation page (apply false), which mail scanners also fetch,
	// only reads: it need not wait for the writer.
	run := s.Store.View
	if apply {
		run = s.Store.Update
	}
	err = run(ctx, func(tx Tx) error {
		var err error
		if shop, err = tx.Shop(t.ShopID); err != nil {
			return err
		}
		c, err := tx.Cart(t.CartID)
		switch {
		case ErrorCode(err) == ENOTFOUND && sentTo != "":
			// Erased by retention or with the shop: the link still knows
			// where the email went. Kept even for an erased shop: it is the
			// shopper's instruction, should the shop be connected again.
			c = nil
		case err != nil:
			return err
		}
		if !apply || shop.Erasing {
			// While the shop is being erased an opt-out written now might
			// or might not be swept away with the rest: the shop sends
			// nothing more either way.
			return nil
		}
		// The address the email went to, which the cart may since have
		// replaced; the cart's current one too, since it is the same
		// shopper's cart.
		var current string
		if c != nil {
			current = c.address(ChannelEmail)
			if sentTo == "" && t.Step < len(c.Steps) && c.Steps[t.Step].MessageID != 0 {
				m, err := tx.Message(c.Steps[t.Step].MessageID)
				if err != nil && ErrorCode(err) != ENOTFOUND {
					return err
				} else if err == nil && m.Channel == ChannelEmail {
					sentTo = optOutContact(ChannelEmail, m.To)
				}
			}
		}
		if sentTo == current {
			sentTo = ""
		}
		for _, email := range []string{current, sentTo} {
			if email == "" {
				continue
			}
			if err := tx.PutOptOut(&OptOut{ShopID: shop.ID, Channel: ChannelEmail, Contact: email, At: s.Now().UTC(), Source: "unsubscribe_link"}); err != nil {
				return err
			}
		}
		return nil
	})
	if ErrorCode(err) == ENOTFOUND {
		return nil, Errorf(ENOTFOUND, "unknown link")
	}
	return shop, err
}
