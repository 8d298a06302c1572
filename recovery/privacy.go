package recovery

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// DataExport is everything cartback held on one customer of a shop when
// the platform asked (a GDPR data request), for the merchant to hand over.
type DataExport struct {
	ShopID      uint64    `json:"shop_id"`
	RequestID   string    `json:"request_id"`
	RequestedAt time.Time `json:"requested_at"`
	Customer    Contact   `json:"customer"`
	// Data is the export document (JSON): carts with their messages and
	// clicks, and opt-outs.
	Data json.RawMessage `json:"data"`
}

// customerData is the shape of DataExport.Data.
type customerData struct {
	Carts []struct {
		*Cart
		Messages []*Message `json:"messages"`
		Clicks   []Click    `json:"clicks"`
	} `json:"carts"`
	OptOuts []*OptOut `json:"opt_outs"`
}

// customerCarts returns every cart of the shop filed under any of the
// contact's keys.
func customerCarts(tx Tx, shopID uint64, c Contact) ([]*Cart, error) {
	var carts []*Cart
	seen := map[uint64]bool{}
	for _, key := range c.Index() {
		found, err := tx.CartsByContact(shopID, key, 1<<20)
		if err != nil {
			return nil, err
		}
		for _, cart := range found {
			if !seen[cart.ID] {
				seen[cart.ID] = true
				carts = append(carts, cart)
			}
		}
	}
	return carts, nil
}

// customerOptOuts returns the contact's opt-out records in the shop.
func customerOptOuts(tx Tx, shopID uint64, c Contact) ([]*OptOut, error) {
	var outs []*OptOut
	for _, k := range []struct {
		ch      Channel
		contact string
	}{{ChannelEmail, NormalizeEmail(c.Email)}, {ChannelSMS, c.Phone}} {
		if k.contact == "" {
			continue
		}
		o, err := tx.OptOut(shopID, k.ch, k.contact)
		if err != nil {
			return nil, err
		}
		if o != nil {
			outs = append(outs, o)
		}
	}
	return outs, nil
}

// exportCustomer stores an export of everything held on the customer.
func (s *Service) exportCustomer(tx Tx, shop *Shop, c Contact, requestID string, now time.Time) (Result, error) {
	carts, err := customerCarts(tx, shop.ID, c)
	if err != nil {
		return Result{}, err
	}
	var doc customerData
	res := Result{Outcome: OutcomeCreated}
	for _, cart := range carts {
		msgs, err := tx.CartMessages(cart.ID)
		if err != nil {
			return Result{}, err
		}
		clicks, err := tx.Clicks(cart.ID)
		if err != nil {
			return Result{}, err
		}
		doc.Carts = append(doc.Carts, struct {
			*Cart
			Messages []*Message `json:"messages"`
			Clicks   []Click    `json:"clicks"`
		}{cart, msgs, clicks})
		res.CartIDs = append(res.CartIDs, cart.ID)
	}
	if doc.OptOuts, err = customerOptOuts(tx, shop.ID, c); err != nil {
		return Result{}, err
	}
	data, err := json.Marshal(doc)
	if err != nil {
		return Result{}, err
	}
	if requestID == "" {
		requestID = now.Format("20060102T150405.000000000")
	}
	err = tx.PutExport(&DataExport{ShopID: shop.ID, RequestID: requestID, RequestedAt: now, Customer: c, Data: data})
	return res, err
}

// redactCustomer erases the customer's carts, messages, clicks, opt-outs
// and exports, after counting the carts into the anonymous daily figures.
func (s *Service) redactCustomer(tx Tx, shop *Shop, c Contact, now time.Time) (Result, error) {
	carts, err := customerCarts(tx, shop.ID, c)
	if err != nil {
		return Result{}, err
	}
	res := Result{Outcome: OutcomeDeleted}
	if err := foldAndDelete(tx, shop, carts, now); err != nil {
		return Result{}, err
	}
	for _, cart := range carts {
		res.CartIDs = append(res.CartIDs, cart.ID)
	}
	outs, err := customerOptOuts(tx, shop.ID, c)
	if err != nil {
		return Result{}, err
	}
	for _, o := range outs {
		if err := tx.DeleteOptOut(shop.ID, o.Channel, o.Contact); err != nil {
			return Result{}, err
		}
	}
	exports, err := tx.Exports(shop.ID)
	if err != nil {
		return Result{}, err
	}
	for _, e := range exports {
		if sameContact(e.Customer, c) {
			if err := tx.DeleteExport(shop.ID, e.RequestID); err != nil {
				return Result{}, err
			}
		}
	}
	return res, nil
}

func sameContact(a, b Contact) bool {
	for _, x := range a.Index() {
		for _, y := range b.Index() {
			if x == y {
				return true
			}
		}
	}
	return false
}

// foldAndDelete counts carts, as they stand at now, into their days'
// anonymous figures, then erases them with their messages and clicks.
func foldAndDelete(tx Tx, shop *Shop, carts []*Cart, now time.Time) error {
	shopID := shop.ID
	daily := map[string]*DailyFigures{}
	for _, c := range carts {
		day := c.CapturedAt.UTC().Format(time.DateOnly)
		d, ok := daily[day]
		if !ok {
			agg, err := tx.DailyFigures(shopID, day, day)
			if err != nil {
				return err
			}
			d = &DailyFigures{ShopID: shopID, Day: day}
			if len(agg) == 1 {
				d = agg[0]
			}
			daily[day] = d
		}
		clicks, err := tx.Clicks(c.ID)
		if err != nil {
			return err
		}
		d.Figures.add(settled(c, shop, now), clicks)
		if err := tx.DeleteCart(c.ID); err != nil {
			return err
		}
	}
	for _, d := range daily {
		if err := tx.PutDailyFigures(d); err != nil {
			return err
		}
	}
	return nil
}

// Exports returns the shop's customer data exports, oldest first.
func (s *Service) Exports(ctx context.Context, shopID uint64) ([]*DataExport, error) {
	var out []*DataExport
	err := s.Store.View(ctx, func(tx Tx) (err error) {
		out, err = tx.Exports(shopID)
		return err
	})
	return out, err
}

// ResumeErasures finishes the shop erasures a previous run left cut short.
func (s *Service) ResumeErasures(ctx context.Context) error {
	shops, err := s.Shops(ctx)
	if err != nil {
		return err
	}
	for _, sh := range shops {
		if sh.Erasing {
			if err := s.EraseShop(ctx, sh.ID); err != nil {
				return fmt.Errorf("erase shop %s: %w", sh.Domain, err)
			}
		}
	}
	return nil
}

// ShopErasure reports what erasing a shop at an operator's request did
// besides erasing its data.
type ShopErasure struct {
	// AppUninstalled is true when cartback's app was removed from the store.
	AppUninstalled bool
	// AppError says why the app could not be removed, for the merchant to
	// remove it in the store's admin; the data is erased all the same.
	AppError string
}

// uninstallTimeout bounds the call that removes the app before an erasure.
const uninstallTimeout = 30 * time.Second

// EraseShopAndApp is an operator's erasure of a shop: when the shop was
// installed through cartback's app and still is, the app is removed from
// the store first (it would stay in the store's admin, and the platform
// would keep sending its webhooks), then the data is erased (EraseShop).
// The data is erased even when the app cannot be removed; ShopErasure
// says so.
func (s *Service) EraseShopAndApp(ctx context.Context, shopID uint64) (ShopErasure, error) {
	var res ShopErasure
	var sh *Shop
	err := s.Store.View(ctx, func(tx Tx) (err error) {
		sh, err = tx.Shop(shopID)
		return err
	})
	if err != nil {
		return res, err
	}
	if sh.Shopify != nil && sh.Status != ShopUninstalled && sh.Status != ShopRedacted {
		if uninstaller := s.Uninstallers[sh.Platform]; uninstaller == nil {
			res.AppError = "this service has no app credentials configured to remove the app"
		} else {
			// Not cut short by a client going away: the erasure goes on anyway.
			callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), uninstallTimeout)
			err := uninstaller.UninstallApp(callCtx, sh)
			cancel()
			if err != nil {
				res.AppError = err.Error()
			} else {
				res.AppUninstalled = true
			}
		}
	}
	return res, s.EraseShop(ctx, shopID)
}

// eraseBatch bounds one transaction of a shop erasure.
const eraseBatch = 500

// EraseShop erases a shop's carts, messages, clicks, opt-outs, exports,
// figures, webhook records and own values (ShopMetaPrefixes), in bounded
// transactions, and keeps only a tombstone of the shop (its id, domain,
// platform and secrets, status redacted) so that the platform's
// redelivered requests are still recognised. The shop is marked redacted
// and Erasing first, so that webhooks arriving meanwhile are not stored
// and nothing reconnects it half-erased; it takes events again once
// connected anew (CreateShop, InstallShopify). Running it again finishes
// an erasure that was cut short (ResumeErasures does at start).
func (s *Service) EraseShop(ctx context.Context, shopID uint64) error {
	// Several transactions: a caller that goes away (a client, a webhook
	// timing out) must not leave it half done; a crash does, and the next
	// start finishes it.
	ctx = context.WithoutCancel(ctx)
	now := s.Now().UTC()
	err := s.Store.Update(ctx, func(tx Tx) error {
		sh, err := tx.Shop(shopID)
		if err != nil {
			return err
		}
		sh.Status, sh.Erasing, sh.UpdatedAt = ShopRedacted, true, now
		return tx.PutShop(sh)
	})
	if err != nil {
		return err
	}
	for {
		var done bool
		err := s.Store.Update(ctx, func(tx Tx) error {
			carts, err := tx.OldestCarts(shopID, 0, eraseBatch)
			if err != nil {
				return err
			}
			for _, c := range carts {
				if err := tx.DeleteCart(c.ID); err != nil {
					return err
				}
			}
			if len(carts) == eraseBatch {
				return nil
			}
			done, err = tx.EraseShopRecords(shopID, eraseBatch)
			return err
		})
		if err != nil {
			return err
		}
		if done {
			break
		}
	}
	var owned []string
	if s.ShopMetaPrefixes != nil {
		owned = s.ShopMetaPrefixes(shopID)
	}
	err = s.Store.Update(ctx, func(tx Tx) error {
		sh, err := tx.Shop(shopID)
		if err != nil {
			return err
		}
		for _, prefix := range owned {
			if err := tx.DeleteMetaPrefix(prefix); err != nil {
				return err
			}
		}
		return tx.PutShop(&Shop{ID: sh.ID, Platform: sh.Platform, Domain: sh.Domain, Status: ShopRedacted,
			WebhookSecret: sh.WebhookSecret, PreviousWebhookSecret: sh.PreviousWebhookSecret,
			CreatedAt: sh.CreatedAt, UpdatedAt: now, UninstalledAt: sh.UninstalledAt})
	})
	if err != nil {
		return err
	}
	s.erased()
	return nil
}
