package recovery

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"time"
)

// EventKind says what a platform event means for cartback.
type EventKind string

// Event kinds.
const (
	// EventCartUpdated carries a full snapshot of a cart or checkout.
	EventCartUpdated EventKind = "cart_updated"
	// EventCartDeleted says the platform deleted the cart named by Cart.Keys.
	EventCartDeleted EventKind = "cart_deleted"
	// EventOrder carries a placed (or paid) order.
	EventOrder EventKind = "order"
	// EventShopUninstalled says the merchant removed cartback.
	EventShopUninstalled EventKind = "shop_uninstalled"
	// EventIgnored is a verified event cartback has no use for.
	EventIgnored EventKind = "ignored"
	// EventCustomerRedact asks to erase everything held on Customer.
	EventCustomerRedact EventKind = "customer_redact"
	// EventCustomerDataRequest asks for an export of everything held on
	// Customer, for the merchant to hand over.
	EventCustomerDataRequest EventKind = "customer_data_request"
	// EventShopRedact asks to erase the shop entirely.
	EventShopRedact EventKind = "shop_redact"
)

// Event is a verified, decoded platform webhook.
type Event struct {
	Kind EventKind
	// DedupKey identifies the platform event across redeliveries; empty
	// disables de-duplication.
	DedupKey string
	// At is when the platform says the event happened, the same on every
	// redelivery (Shopify's X-Shopify-Triggered-At), or zero. It lets the
	// store keep de-duplication records in time order.
	At    time.Time
	Cart  *Cart
	Order *Order
	// Customer names the person of a redact or data request.
	Customer *Contact
	// RequestID is the platform's id of a data request.
	RequestID string
	// Backfill marks a cart read back from the platform's list rather
	// than pushed by a webhook: it only creates a cart that is not stored
	// yet. A stored one came from webhooks, which carry more than the list
	// (the checkout's marketing consent, shipping, every item), so the
	// list's thinner copy must not overwrite it.
	Backfill bool
}

// Outcome says what applying an event did.
type Outcome string

// Outcomes of Service.Apply.
const (
	OutcomeCreated   Outcome = "created"
	OutcomeUpdated   Outcome = "updated"
	OutcomeUnchanged Outcome = "unchanged"
	OutcomeStale     Outcome = "stale"
	OutcomeDuplicate Outcome = "duplicate"
	OutcomeConverted Outcome = "converted"
	OutcomeUnmatched Outcome = "unmatched"
	OutcomeDeleted   Outcome = "deleted"
	OutcomeIgnored   Outcome = "ignored"
)

// Defaults for Service.
const (
	// DefaultDedupTTL outlives Shopify's retry schedule (8 tries in 4 hours)
	// with a wide margin.
	DefaultDedupTTL = 72 * time.Hour
	// DefaultMatchWindow is how far back an order is matched to a cart by
	// email alone.
	DefaultMatchWindow = 7 * 24 * time.Hour
	// DefaultAttributionWindow is how long a reminder or click gets the
	// credit for an order.
	DefaultAttributionWindow = 7 * 24 * time.Hour
)

// Service applies the domain's rules to the store.
type Service struct {
	Store Store
	// Now returns the current time; tests move it by hand.
	Now func() time.Time
	// DedupTTL is how long an applied event's key is remembered.
	DedupTTL time.Duration
	// MatchWindow is how far back an order matches a cart by email.
	MatchWindow time.Duration
	// AttributionWindow is how long after a reminder or click an order
	// still counts as recovered by it.
	AttributionWindow time.Duration
	// OnDue, when set, is told of each new due time a committed change
	// created, so the scheduler can wake earlier than it planned.
	OnDue func(at time.Time)
	// Clicks, when set, records restore-link clicks in the background, so
	// the shopper's redirect never waits for a disk write.
	Clicks *ClickRecorder
	// OnErase, when set, is called after personal data was erased
	// (redacts, retention), so the store can scrub it from disk.
	OnErase func()
	// ShopMetaPrefixes, when set, names the prefixes of the service-wide
	// values a shop owns (such as its own templates), which are erased
	// with the shop.
	ShopMetaPrefixes func(shopID uint64) []string
	// PhoneZones, when set, returns the IANA time zones an E.164 number's
	// owner may be in (nil when unknown): quiet hours are kept in the
	// recipient's time, in every zone the number leaves open.
	PhoneZones func(e164 string) []string
	// Uninstallers remove cartback's app from a store, per platform, when
	// an operator erases a shop installed through it (EraseShopAndApp).
	Uninstallers map[Platform]AppUninstaller
}

// NewService returns a Service with default settings over store.
func NewService(store Store) *Service {
	return &Service{Store: store, Now: time.Now, DedupTTL: DefaultDedupTTL, MatchWindow: DefaultMatchWindow, AttributionWindow: DefaultAttributionWindow}
}

// Result reports what Apply did.
type Result struct {
	Outcome Outcome
	// CartIDs are the carts the event created or changed.
	CartIDs []uint64
	// NextDueAt is the earliest due time among the carts written, or zero.
	NextDueAt time.Time
}

// wrote notes a written cart's due time in the result.
func (r *Result) wrote(c *Cart) {
	if !c.NextDueAt.IsZero() && (r.NextDueAt.IsZero() || c.NextDueAt.Before(r.NextDueAt)) {
		r.NextDueAt = c.NextDueAt
	}
}

// Apply applies a verified event for a shop in one transaction, together
// with the event's de-duplication record, and returns once that transaction
// is durable. Applying the same event twice changes nothing.
func (s *Service) Apply(ctx context.Context, shopID uint64, ev Event) (Result, error) {
	if err := ev.validate(); err != nil {
		return Result{}, err
	}
	if ev.Kind == EventShopRedact {
		// The platform asks 48 hours after an uninstall; a shop installed
		// again since is the merchant's live shop, not one that left.
		var shop *Shop
		if err := s.Store.View(ctx, func(tx Tx) (err error) {
			shop, err = tx.Shop(shopID)
			return err
		}); err != nil {
			return Result{}, err
		}
		// Only an uninstall cartback saw, followed by a new installation:
		// one it never heard of (its webhook lost) must not keep the data.
		if shop.Status == ShopActive && shop.Shopify != nil && !shop.UninstalledAt.IsZero() && shop.Shopify.InstalledAt.After(shop.UninstalledAt) {
			return Result{Outcome: OutcomeIgnored}, nil
		}
		// Too big for one transaction, and idempotent: no record needed.
		if err := s.EraseShop(ctx, shopID); err != nil {
			return Result{}, err
		}
		return Result{Outcome: OutcomeDeleted}, nil
	}
	now := s.Now().UTC()
	eventAt := ev.At
	if eventAt.After(now.Add(time.Hour)) || eventAt.Before(now.Add(-s.dedupTTL())) {
		// A clock that far off cannot be trusted to repeat on redelivery.
		eventAt = time.Time{}
	}
	var res Result
	err := s.Store.Update(ctx, func(tx Tx) error {
		res = Result{} // the function may run again inside a batch
		shop, err := tx.Shop(shopID)
		if err != nil {
			return err
		}
		if shop.Status == ShopRedacted {
			// Erased: nothing may come back until the shop is connected
			// again (a store that still sends is answered, not stored).
			res.Outcome = OutcomeIgnored
			return nil
		}
		if ev.DedupKey != "" {
			seen, err := tx.EventSeen(shopID, ev.DedupKey, eventAt, now)
			if err == nil && !seen && eventAt.IsZero() && !ev.At.IsZero() && ev.At.Before(now) {
				// The event's time fell out of the window since its first
				// delivery, which was recorded under that time.
				seen, err = tx.EventSeen(shopID, ev.DedupKey, ev.At.UTC(), now)
			}
			if err != nil {
				return err
			} else if seen {
				res.Outcome = OutcomeDuplicate
				return nil
			}
		}
		switch ev.Kind {
		case EventCartUpdated:
			res, err = s.applyCart(tx, shop, ev.Cart, now, ev.Backfill)
		case EventCartDeleted:
			res, err = s.applyDelete(tx, shop, ev.Cart.Keys, ev.Cart.LastActivityAt, now)
		case EventOrder:
			res, err = s.applyOrder(tx, shop, ev.Order, now)
		case EventShopUninstalled:
			res, err = s.applyUninstall(tx, shop, eventAt, now)
		case EventCustomerRedact:
			res, err = s.redactCustomer(tx, shop, *ev.Customer, now)
		case EventCustomerDataRequest:
			res, err = s.exportCustomer(tx, shop, *ev.Customer, ev.RequestID, now)
		default:
			res.Outcome = OutcomeIgnored
		}
		if err != nil {
			return err
		}
		if ev.DedupKey != "" {
			return tx.RecordEvent(shopID, ev.DedupKey, eventAt, now.Add(s.dedupTTL()))
		}
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	s.notifyDue(res.NextDueAt)
	if ev.Kind == EventCustomerRedact {
		s.erased()
	}
	return res, nil
}

// orderOnlyCart is the bought cart an order's keys are kept on while its
// checkout has not been seen; creditedTo names the cart the order was
// credited to instead, if any.
func orderOnlyCart(shop *Shop, o *Order, conv *Conversion, at, now time.Time, creditedTo uint64) *Cart {
	return &Cart{
		ShopID: shop.ID, Platform: shop.Platform, Keys: o.Keys,
		Contact:  Contact{Email: o.Email},
		Currency: o.Currency, Totals: Totals{Total: o.Total},
		State: CartConverted, OrderOnly: true, CreditedTo: creditedTo, Conversion: conv,
		LastActivityAt: at, CapturedAt: now, UpdatedAt: now,
	}
}

func (s *Service) erased() {
	if s.OnErase != nil {
		s.OnErase()
	}
}

func (s *Service) notifyDue(at time.Time) {
	if s.OnDue != nil && !at.IsZero() {
		s.OnDue(at)
	}
}

func (ev Event) validate() error {
	switch ev.Kind {
	case EventCustomerRedact, EventCustomerDataRequest:
		if ev.Customer == nil || len(ev.Customer.Index()) == 0 {
			return Errorf(EINVALID, "customer has neither email nor phone")
		}
	case EventCartUpdated, EventCartDeleted:
		if ev.Cart == nil || len(ev.Cart.Keys.Index()) == 0 {
			return Errorf(EINVALID, "cart has no identifying key")
		}
	case EventOrder:
		if ev.Order == nil {
			return Errorf(EINVALID, "order missing")
		}
	}
	return nil
}

func (s *Service) dedupTTL() time.Duration {
	if s.DedupTTL > 0 {
		return s.DedupTTL
	}
	return DefaultDedupTTL
}

func (s *Service) matchWindow() time.Duration {
	if s.MatchWindow > 0 {
		return s.MatchWindow
	}
	return DefaultMatchWindow
}

// findCart returns the shop's first cart found under any of keys.
func findCart(tx Tx, shopID uint64, keys CartKeys) (*Cart, error) {
	for _, k := range keys.Index() {
		c, err := tx.CartByKey(shopID, k)
		if err == nil {
			return c, nil
		} else if ErrorCode(err) != ENOTFOUND {
			return nil, err
		}
	}
	return nil, nil
}

// applyCart merges a cart snapshot into the stored cart, or creates it.
func (s *Service) applyCart(tx Tx, shop *Shop, in *Cart, now time.Time, backfill bool) (Result, error) {
	existing, err := findCart(tx, shop.ID, in.Keys)
	if err != nil {
		return Result{}, err
	}
	if existing != nil && backfill {
		return Result{Outcome: OutcomeUnchanged, CartIDs: []uint64{existing.ID}}, nil
	}
	if in.RestoreURL != "" && !shop.RestoreURLAllowed(in.RestoreURL) {
		// Not the shop's: reminders link to the shop instead.
		in = in.clone()
		in.RestoreURL = ""
	}
	if existing == nil {
		c := in.clone()
		c.ID, c.ShopID, c.Platform = 0, shop.ID, shop.Platform
		c.CapturedAt, c.UpdatedAt = now, now
		if c.State != CartConverted {
			c.State = CartActive
		}
		if c.LastActivityAt.IsZero() {
			c.LastActivityAt = now
		}
		c.Steps, c.Holdout = nil, false
		c.schedule(shop)
		if err := tx.PutCart(c); err != nil {
			return Result{}, err
		}
		res := Result{Outcome: OutcomeCreated, CartIDs: []uint64{c.ID}}
		res.wrote(c)
		return res, nil
	}
	// An update older than what is stored arrived late; it must not win. An
	// order-only cart holds no checkout data yet, so any checkout fills it.
	if !existing.OrderOnly && !in.LastActivityAt.IsZero() && in.LastActivityAt.Before(existing.LastActivityAt) {
		return Result{Outcome: OutcomeStale, CartIDs: []uint64{existing.ID}}, nil
	}
	// Nor may an update from before the cart was deleted bring it back:
	// the events of one browser can arrive in another order than they
	// happened.
	if existing.State == CartDeleted && !in.LastActivityAt.IsZero() && !existing.DeletedAt.IsZero() && !in.LastActivityAt.After(existing.DeletedAt) {
		return Result{Outcome: OutcomeStale, CartIDs: []uint64{existing.ID}}, nil
	}

	c := existing.clone()
	// Whatever the cart was when this update happened comes first: an
	// abandonment the scheduler has not written yet is part of its story.
	activity := in.LastActivityAt
	if activity.IsZero() {
		activity = now
	}
	c.settle(shop, activity)
	c.Keys.merge(in.Keys)
	contact := in.Contact
	contact.merge(existing.Contact)
	c.Contact = contact
	c.Consent = in.Consent
	c.Currency = in.Currency
	c.Items = in.Items
	c.Totals = in.Totals
	if in.RestoreURL != "" {
		c.RestoreURL = in.RestoreURL
	}
	if !in.LastActivityAt.IsZero() {
		c.LastActivityAt = in.LastActivityAt
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = in.CreatedAt
	}
	c.OrderOnly = false
	switch {
	case existing.State == CartConverted:
		// Bought is final: a late or repeated checkout update never reopens it.
	case in.State == CartConverted:
		conv := in.Conversion
		if conv == nil {
			conv = &Conversion{Total: c.Totals.Total, Currency: c.Currency, At: c.LastActivityAt}
		}
		if err := s.convert(tx, c, conv, now); err != nil {
			return Result{}, err
		}
	case !sameContents(existing, c) || !existing.State.Open():
		// The shopper is back and changed the cart: the episode goes on
		// from this visit; what was sent stays sent.
		c.State, c.DeletedAt, c.AbandonedAt = CartActive, time.Time{}, time.Time{}
		c.retime()
	}
	c.schedule(shop)
	if sameCart(existing, c) {
		return Result{Outcome: OutcomeUnchanged, CartIDs: []uint64{c.ID}}, nil
	}
	c.UpdatedAt = now
	if err := tx.PutCart(c); err != nil {
		return Result{}, err
	}
	outcome := OutcomeUpdated
	if c.State == CartConverted && existing.State != CartConverted {
		outcome = OutcomeConverted
	}
	res := Result{Outcome: outcome, CartIDs: []uint64{c.ID}}
	res.wrote(c)
	return res, nil
}

// sameContents reports whether an update left what the shopper chose
// untouched: a platform re-sending the same checkout is not activity.
func sameContents(a, b *Cart) bool {
	return a.LastActivityAt.Equal(b.LastActivityAt) && jsonEqual(a.Items, b.Items) && a.Totals == b.Totals
}

// convert ends the cart's episode with an order and credits what brought
// the shopper back.
func (s *Service) convert(tx Tx, c *Cart, conv *Conversion, now time.Time) error {
	cv := *conv
	cv.Attribution, cv.AttributedStep = "", -1
	window := s.AttributionWindow
	if window <= 0 {
		window = DefaultAttributionWindow
	}
	// Platforms stamp orders to the second: a click in the order's own
	// second happened before it.
	credited := func(t time.Time) bool {
		return !t.IsZero() && t.Before(cv.At.Add(time.Second)) && cv.At.Sub(t) <= window
	}
	clicks, err := tx.Clicks(c.ID)
	if err != nil {
		return err
	}
	for _, cl := range clicks {
		if credited(cl.At) {
			cv.Attribution, cv.AttributedStep = AttributionLink, cl.Step
		}
	}
	if cv.Attribution == "" {
		for _, st := range c.Steps {
			if st.Delivered() && credited(st.FinishedAt) {
				cv.Attribution, cv.AttributedStep = AttributionReminder, st.Index
			}
		}
	}
	c.State, c.Conversion = CartConverted, &cv
	c.closeSteps(ReasonConverted, now)
	return nil
}

// applyDelete marks the cart deleted so that nothing more is sent for it.
func (s *Service) applyDelete(tx Tx, shop *Shop, keys CartKeys, at, now time.Time) (Result, error) {
	c, err := findCart(tx, shop.ID, keys)
	if err != nil {
		return Result{}, err
	} else if c == nil {
		return Result{Outcome: OutcomeIgnored}, nil
	} else if c.State == CartConverted || c.State == CartDeleted {
		return Result{Outcome: OutcomeUnchanged, CartIDs: []uint64{c.ID}}, nil
	} else if !at.IsZero() && at.Before(c.LastActivityAt) {
		// A delete from before the cart's latest change arrived late.
		return Result{Outcome: OutcomeStale, CartIDs: []uint64{c.ID}}, nil
	}
	deletedAt := at // the platform's time, as updates are compared by theirs
	if deletedAt.IsZero() {
		// A delete without a time of its own (Shopify's checkouts/delete):
		// its arrival stands in. A deleted checkout gets no genuine update
		// after it, so an update stamped before the arrival is a late one.
		deletedAt = now
	}
	c = c.clone()
	c.settle(shop, now)
	c.State, c.DeletedAt, c.UpdatedAt = CartDeleted, deletedAt, now
	c.closeSteps(ReasonDeleted, now)
	c.schedule(shop)
	if err := tx.PutCart(c); err != nil {
		return Result{}, err
	}
	return Result{Outcome: OutcomeDeleted, CartIDs: []uint64{c.ID}}, nil
}

// applyOrder converts every cart the order names by key; failing that, the
// contact's newest open cart active within the match window. An order that
// names a cart cartback has not seen yet is kept as an order-only cart, so a
// checkout webhook delivered after it finds the cart already bought.
func (s *Service) applyOrder(tx Tx, shop *Shop, o *Order, now time.Time) (Result, error) {
	at := o.At
	if at.IsZero() {
		at = now
	}
	conv := &Conversion{OrderID: o.ID, OrderNumber: o.Number, Total: o.Total, Currency: o.Currency, At: at}

	var matched []*Cart
	seen := map[uint64]bool{}
	for _, k := range o.Keys.Index() {
		c, err := tx.CartByKey(shop.ID, k)
		if ErrorCode(err) == ENOTFOUND {
			continue
		} else if err != nil {
			return Result{}, err
		}
		if !seen[c.ID] {
			seen[c.ID] = true
			matched = append(matched, c)
		}
	}
	byEmail := false
	if len(matched) == 0 && o.Email != "" {
		carts, err := tx.CartsByContact(shop.ID, "e:"+NormalizeEmail(o.Email), contactCarts)
		if err != nil {
			return Result{}, err
		}
		for _, c := range carts {
			if c.State.Open() && !c.LastActivityAt.After(at) && at.Sub(c.LastActivityAt) <= s.matchWindow() {
				matched, byEmail = append(matched, c), true
				break // newest first: only the cart the shopper most likely bought
			}
		}
	}

	if len(matched) == 0 {
		if len(o.Keys.Index()) == 0 {
			return Result{Outcome: OutcomeIgnored}, nil
		}
		c := orderOnlyCart(shop, o, conv, at, now, 0)
		if err := tx.PutCart(c); err != nil {
			return Result{}, err
		}
		return Result{Outcome: OutcomeUnmatched, CartIDs: []uint64{c.ID}}, nil
	}

	res := Result{Outcome: OutcomeUnchanged}
	if byEmail && len(o.Keys.Index()) > 0 {
		// The order names a checkout not seen yet: keep its keys, so that
		// when that checkout arrives it finds itself bought (no reminder)
		// and credited to the cart matched here (counted once).
		if err := tx.PutCart(orderOnlyCart(shop, o, conv, at, now, matched[0].ID)); err != nil {
			return Result{}, err
		}
	}
	for _, c := range matched {
		res.CartIDs = append(res.CartIDs, c.ID)
		if c.State == CartConverted && c.Conversion != nil && c.Conversion.OrderID != "" {
			continue // the first order to convert a cart keeps the credit
		}
		c = c.clone()
		c.settle(shop, at) // abandoned before the order, or not
		if !byEmail {
			// (Matched by email, the order's keys went to the placeholder
			// above; a key names one cart.)
			c.Keys.merge(o.Keys)
		}
		c.UpdatedAt = now
		if err := s.convert(tx, c, conv, now); err != nil {
			return Result{}, err
		}
		c.schedule(shop)
		if err := tx.PutCart(c); err != nil {
			return Result{}, err
		}
		res.Outcome = OutcomeConverted
	}
	return res, nil
}

// applyUninstall marks the shop uninstalled; nothing is sent for it again
// until it is installed anew.
func (s *Service) applyUninstall(tx Tx, shop *Shop, at, now time.Time) (Result, error) {
	if shop.Status == ShopUninstalled {
		return Result{Outcome: OutcomeUnchanged}, nil
	}
	if !at.IsZero() && shop.Shopify != nil && at.Before(shop.Shopify.InstalledAt) {
		// An uninstall delivered late, after the merchant installed the
		// app again: the new installation stands.
		return Result{Outcome: OutcomeStale}, nil
	}
	sh := *shop
	sh.Status, sh.UninstalledAt, sh.UpdatedAt = ShopUninstalled, now, now
	sh.Shopify = nil // the token is revoked with the app; keep nothing of it
	if err := tx.PutShop(&sh); err != nil {
		return Result{}, err
	}
	return Result{Outcome: OutcomeUpdated}, nil
}

// sameCart reports whether two versions of a cart hold the same data, apart
// from cartback's own bookkeeping time.
func sameCart(a, b *Cart) bool {
	x, y := *a, *b
	x.UpdatedAt, y.UpdatedAt = time.Time{}, time.Time{}
	return jsonEqual(x, y)
}

// NewSecret returns n random bytes, base64url encoded without padding.
func NewSecret(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported systems
	return base64.RawURLEncoding.EncodeToString(b)
}
