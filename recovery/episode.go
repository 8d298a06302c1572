package recovery

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"time"
)

// Skip reasons recorded on steps.
const (
	ReasonConverted       = "converted"
	ReasonDeleted         = "deleted"
	ReasonExpired         = "expired"
	ReasonEmpty           = "cart_empty"
	ReasonOptedOut        = "opted_out"
	ReasonShopUninstalled = "shop_uninstalled"
	ReasonShopPaused      = "shop_paused"
	ReasonNoSMSConsent    = "no_sms_consent"
	ReasonNoEmailConsent  = "no_email_consent"
	ReasonNoAddress       = "no_address"
	ReasonNewerCart       = "newer_cart"
	ReasonContactOrdered  = "contact_ordered"
	ReasonFrequencyCap    = "frequency_cap"
	ReasonSMSFrequencyCap = "sms_frequency_cap"
	ReasonQuietHours      = "quiet_hours"
	ReasonEpisodeCap      = "episode_cap"
	// ReasonCartChanged: the shopper came back, or the address changed,
	// while the step was being sent; it was put back to be claimed anew.
	ReasonCartChanged = "cart_changed"
	ReasonHoldout     = "holdout"
	ReasonSuperseded  = "superseded"
	ReasonInterrupted = "interrupted"
	ReasonPurchased   = "purchased_per_platform"
	ReasonUnverified  = "purchase_unverified"
)

// contactCarts bounds how many of a contact's newest carts the stop rules
// look at: only recent ones can be newer or have been messaged recently, and
// a key shared by very many carts (a shop's test address) must stay cheap.
const contactCarts = 20

// SendLease is how long a claimed step may stay in sending before the
// scheduler looks at it again; a live send finishes long before.
const SendLease = 10 * time.Minute

// abandonAt is when an open cart counts as abandoned.
func (c *Cart) abandonAt(seq Sequence) time.Time {
	return c.LastActivityAt.Add(time.Duration(seq.AbandonAfter))
}

// schedule sets NextDueAt: the earliest of the abandonment time of an
// active cart, the ready time of its scheduled steps and the lease end of a
// step being sent. The store indexes it for the scheduler.
func (c *Cart) schedule(shop *Shop) {
	c.NextDueAt = time.Time{}
	earliest := func(t time.Time) {
		if c.NextDueAt.IsZero() || t.Before(c.NextDueAt) {
			c.NextDueAt = t
		}
	}
	if c.State == CartActive && !c.Empty() && len(c.Steps) == 0 {
		earliest(c.firstWrite(shop.Settings.SequenceOrDefault()))
	}
	if !c.State.Open() {
		return
	}
	active := c.State == CartActive
	abandon := c.abandonAt(shop.Settings.SequenceOrDefault())
	for _, st := range c.Steps {
		switch st.State {
		case StepScheduled:
			if active && c.Empty() {
				continue // nothing to remind of until it has items again
			}
			t := st.ReadyAt()
			if active && t.Before(abandon) {
				// The shopper is back: nothing is due before the cart is
				// abandoned again.
				t = abandon
			}
			earliest(t)
		case StepSending:
			earliest(st.ClaimedAt.Add(SendLease))
		}
	}
}

// firstWrite is when the scheduler first needs to write an active cart
// that has no episode yet: when its first step falls due. Abandonment
// itself needs no write of its own (see settle); only a sequence without
// steps records it at the moment it happens.
func (c *Cart) firstWrite(seq Sequence) time.Time {
	at := c.abandonAt(seq)
	if len(seq.Steps) > 0 {
		// Validated sequences never have a step before the abandonment.
		if first := c.LastActivityAt.Add(time.Duration(seq.Steps[0].After)); first.After(at) {
			at = first
		}
	}
	return at
}

// settle applies the abandonment that the scheduler leaves unwritten until
// the first step: a non-empty cart without activity since abandonAt has
// been abandoned since that moment, and its episode planned, whether or
// not anything was written then. Every change to a cart, every figure and
// every view settles the cart first, as of the time it looks at, so
// writing the abandonment late changes nothing anyone sees.
func (c *Cart) settle(shop *Shop, at time.Time) {
	seq := shop.Settings.SequenceOrDefault()
	if c.State != CartActive || c.Empty() || at.Before(c.abandonAt(seq)) {
		return
	}
	c.State, c.AbandonedAt = CartAbandoned, c.abandonAt(seq)
	if len(c.Steps) == 0 {
		c.plan(shop, at)
	}
}

// staticCode is the code a step of the sequence carries without a
// single-use one: its own, or for an incentive the shop's.
func staticCode(shop *Shop, st Step) string {
	if st.DiscountCode == "" && st.Template == TemplateIncentive {
		return shop.Settings.DiscountCode
	}
	return st.DiscountCode
}

// plan creates the episode's steps from the shop's sequence.
func (c *Cart) plan(shop *Shop, now time.Time) {
	seq := shop.Settings.SequenceOrDefault()
	c.Holdout = inHoldout(c.ID, shop.Settings.HoldoutPercent)
	c.Steps = make([]StepRun, 0, len(seq.Steps))
	for i, st := range seq.Steps {
		run := StepRun{
			Index: i, Channel: st.Channel, Template: st.Template, DiscountCode: staticCode(shop, st), Variant: drawVariant(c.ID, i, st.Variants),
			After: st.After, DueAt: c.LastActivityAt.Add(time.Duration(st.After)), State: StepScheduled,
		}
		if c.Holdout {
			run.State, run.Reason, run.FinishedAt = StepSkipped, ReasonHoldout, now
		}
		c.Steps = append(c.Steps, run)
	}
}

// drawVariant assigns a cart's step one of its variants by weight, from a
// hash of cart and step: the same cart always gets the same wording.
func drawVariant(cartID uint64, step int, variants []Variant) string {
	total := 0
	for _, v := range variants {
		total += v.Weight
	}
	if total == 0 {
		return "A"
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "variant\x00%d\x00%d", cartID, step)
	n := int(h.Sum64() % uint64(total))
	for _, v := range variants {
		if n < v.Weight {
			return v.Name
		}
		n -= v.Weight
	}
	return "A"
}

// inHoldout draws a cart into the control group, the same way every time.
func inHoldout(cartID uint64, percent int) bool {
	if percent <= 0 {
		return false
	}
	h := fnv.New64a()
	var b [8]byte
	for i := range b {
		b[i] = byte(cartID >> (8 * i))
	}
	h.Write(b[:])
	return int(h.Sum64()%100) < percent
}

// retime moves the scheduled steps after new activity, so reminders count
// from the shopper's latest visit; steps already sent stay sent.
func (c *Cart) retime() {
	for i := range c.Steps {
		if st := &c.Steps[i]; st.State == StepScheduled {
			st.DueAt = c.LastActivityAt.Add(time.Duration(st.After))
			st.NotBefore, st.Deadline, st.Reason = time.Time{}, time.Time{}, ""
		}
	}
}

// closeSteps skips every scheduled step with reason.
func (c *Cart) closeSteps(reason string, now time.Time) {
	for i := range c.Steps {
		if st := &c.Steps[i]; st.State == StepScheduled {
			st.State, st.Reason, st.FinishedAt = StepSkipped, reason, now
		}
	}
}

// delivered counts the episode's messages handed over or being handed over.
func (c *Cart) delivered() int {
	n := 0
	for _, st := range c.Steps {
		if st.Delivered() || st.State == StepSending || st.State == StepUnknown {
			n++
		}
	}
	return n
}

// lastPending returns the episode's last step when it is still to be
// sent, or nil.
func (c *Cart) lastPending() *StepRun {
	if len(c.Steps) == 0 || c.Steps[len(c.Steps)-1].State != StepScheduled {
		return nil
	}
	return &c.Steps[len(c.Steps)-1]
}

// Claim is a step committed to sending: its state is StepSending, so no
// other worker, webhook or restart can send it again.
type Claim struct {
	Shop *Shop
	Cart *Cart
	Step StepRun
}

// claimNext applies the due transitions of one cart at now and claims the
// step that may go out, if any. Stop rules are checked in this same
// transaction, so an order committed before it always wins.
func (s *Service) claimNext(ctx context.Context, cartID uint64, now time.Time) (*Claim, error) {
	// Most looks find nothing due (the next step is later): a read, which
	// runs in parallel, spares the single writer a transaction.
	var due bool
	err := s.Store.View(ctx, func(tx Tx) error {
		c, err := tx.Cart(cartID)
		if err == nil {
			due = !c.NextDueAt.IsZero() && !c.NextDueAt.After(now)
		} else if ErrorCode(err) == ENOTFOUND {
			err = nil
		}
		return err
	})
	if err != nil || !due {
		return nil, err
	}
	var claim *Claim
	err = s.Store.Update(ctx, func(tx Tx) error {
		claim = nil
		c, err := tx.Cart(cartID)
		if ErrorCode(err) == ENOTFOUND {
			return nil // erased since it was found due
		} else if err != nil {
			return err
		}
		shop, err := tx.Shop(c.ShopID)
		if err != nil {
			return err
		}
		c = c.clone()
		before := c.NextDueAt
		claim, err = s.advance(tx, shop, c, now)
		if err != nil {
			return err
		}
		if claim == nil && c.NextDueAt.Equal(before) && !before.After(now) && !before.IsZero() {
			// Nothing moved: push the entry forward rather than spin on it.
			c.NextDueAt = now.Add(time.Second)
		}
		return tx.PutCart(c)
	})
	return claim, err
}

// advance runs the cart's state machine up to now. It returns a claim when a
// step is to be sent now.
func (s *Service) advance(tx Tx, shop *Shop, c *Cart, now time.Time) (*Claim, error) {
	seq := shop.Settings.SequenceOrDefault()
	defer c.schedule(shop)

	// A send interrupted by a crash: whether it left is unknowable, so it is
	// final and never repeated.
	for i := range c.Steps {
		if st := &c.Steps[i]; st.State == StepSending && !now.Before(st.ClaimedAt.Add(SendLease)) {
			st.State, st.Reason, st.FinishedAt = StepUnknown, ReasonInterrupted, now
		}
	}
	if !c.State.Open() {
		return nil, nil
	}
	c.settle(shop, now)
	if c.State != CartAbandoned {
		return nil, nil
	}
	if now.Sub(c.LastActivityAt) > time.Duration(seq.MaxAge) && !c.movedToMorning(now) && !c.dueAtMaxAge(now, seq) {
		c.State = CartExpired
		c.closeSteps(ReasonExpired, now)
		return nil, nil
	}
	for i := range c.Steps {
		if c.Steps[i].State == StepSending {
			return nil, nil // one message at a time per cart
		}
	}

	// Of the steps ready now, only the last is still sensible: after
	// downtime, three reminders at once would be noise.
	ready := -1
	for i, st := range c.Steps {
		if st.State == StepScheduled && !st.ReadyAt().After(now) {
			if ready >= 0 {
				c.Steps[ready].State, c.Steps[ready].Reason, c.Steps[ready].FinishedAt = StepSkipped, ReasonSuperseded, now
			}
			ready = i
		}
	}
	if ready < 0 {
		return nil, nil
	}
	st := &c.Steps[ready]
	v, err := s.stopRule(tx, shop, seq, c, *st, now)
	if err != nil {
		return nil, err
	}
	switch {
	case v.skip != "":
		st.State, st.Reason, st.FinishedAt = StepSkipped, v.skip, now
	case !v.wait.IsZero() && v.waitReason != ReasonQuietHours && v.wait.After(st.DeadlineAt()):
		// Waiting for a cap would make the reminder too late to matter.
		st.State, st.Reason, st.FinishedAt = StepSkipped, v.waitReason, now
	case !v.wait.IsZero():
		// Quiet hours always wait for the morning: a reminder due at night
		// is moved, never dropped.
		st.NotBefore, st.Reason = v.wait, v.waitReason
		if v.waitReason == ReasonQuietHours {
			st.Deadline = v.wait.Add(StepDeadline)
		}
	default:
		st.State, st.ClaimedAt, st.Reason = StepSending, now, ""
		return &Claim{Shop: shop, Cart: c.clone(), Step: *st}, nil
	}
	return nil, nil
}

// verdict is what the stop rules say of a step that is due.
type verdict struct {
	// skip is the reason the step must never go out.
	skip string
	// wait is when the step may go out instead of now, for waitReason.
	wait       time.Time
	waitReason string
}

// capWait returns when fewer than limit of sends remain within window of
// the time they would go out, or zero when the cap allows now.
func capWait(sends []time.Time, limit int, window time.Duration, now time.Time) time.Time {
	var recent []time.Time
	for _, t := range sends {
		if now.Sub(t) < window {
			recent = append(recent, t)
		}
	}
	if limit <= 0 || len(recent) < limit {
		return time.Time{}
	}
	slices.SortFunc(recent, time.Time.Compare)
	return recent[len(recent)-limit].Add(window)
}

// stopRule decides whether a due step may go out now, must wait, or must
// never go out. It reads only this transaction, so an order or opt-out
// committed before it always wins.
func (s *Service) stopRule(tx Tx, shop *Shop, seq Sequence, c *Cart, st StepRun, now time.Time) (verdict, error) {
	skip := func(reason string) (verdict, error) { return verdict{skip: reason}, nil }
	if reason := shopStop(shop); reason != "" {
		return skip(reason)
	}
	if c.Empty() {
		return skip(ReasonEmpty)
	}
	if c.delivered() >= seq.MaxMessages {
		return skip(ReasonEpisodeCap)
	}
	if reason, err := reachable(tx, shop, c, st.Channel); err != nil || reason != "" {
		return verdict{skip: reason}, err
	}

	// Across the contact's carts in this shop: only the newest is reminded,
	// nobody who ordered since is reminded, and the frequency caps hold.
	var sends, texts []time.Time
	note := func(steps []StepRun) {
		for _, st := range steps {
			if t := sentAt(st); !t.IsZero() {
				sends = append(sends, t)
				if st.Channel == ChannelSMS {
					texts = append(texts, t)
				}
			}
		}
	}
	note(c.Steps)
	seen := map[uint64]bool{c.ID: true}
	for _, key := range c.Contact.Index() {
		others, err := tx.CartsByContact(shop.ID, key, contactCarts)
		if err != nil {
			return verdict{}, err
		}
		for _, o := range others {
			if seen[o.ID] {
				continue
			}
			seen[o.ID] = true
			if o.State == CartConverted && o.Conversion != nil && o.Conversion.At.After(c.LastActivityAt) {
				return skip(ReasonContactOrdered)
			}
			if o.State.Open() && !o.OrderOnly && (o.LastActivityAt.After(c.LastActivityAt) || (o.LastActivityAt.Equal(c.LastActivityAt) && o.ID > c.ID)) {
				return skip(ReasonNewerCart)
			}
			note(o.Steps)
		}
	}
	if w := capWait(sends, seq.FrequencyCap, time.Duration(seq.FrequencyWindow), now); !w.IsZero() {
		return verdict{wait: w, waitReason: ReasonFrequencyCap}, nil
	}
	if st.Channel == ChannelSMS {
		if w := capWait(texts, seq.SMSFrequencyCap, time.Duration(seq.SMSFrequencyWindow), now); !w.IsZero() {
			return verdict{wait: w, waitReason: ReasonSMSFrequencyCap}, nil
		}
	}
	if w := s.quietUntil(shop, c, st.Channel, now); !w.IsZero() {
		return verdict{wait: w, waitReason: ReasonQuietHours}, nil
	}
	if c.delivered()+1 == seq.MaxMessages {
		// The last step (the incentive, in the defaults) keeps its place
		// under the cap: the step that would take that place gives way,
		// when the last one can go out to this shopper.
		if last := c.lastPending(); last != nil && last.Index != st.Index {
			keep, err := lastCanGo(tx, shop, seq, c, last, sends, texts)
			if err != nil || keep {
				return verdict{skip: ReasonEpisodeCap}, err
			}
		}
	}
	return verdict{}, nil
}

// lastCanGo reports whether the episode's last step can go out to this
// shopper if the step due now gives way: it reaches them, and neither
// frequency cap, with the sends made so far, holds it past its deadline.
// Where it could not, the step due now goes instead of waiting for it.
func lastCanGo(tx Tx, shop *Shop, seq Sequence, c *Cart, last *StepRun, sends, texts []time.Time) (bool, error) {
	if reason, err := reachable(tx, shop, c, last.Channel); err != nil || reason != "" {
		return false, err
	}
	at, deadline := last.ReadyAt(), last.DeadlineAt()
	if w := capWait(sends, seq.FrequencyCap, time.Duration(seq.FrequencyWindow), at); w.After(deadline) {
		return false, nil
	}
	if last.Channel == ChannelSMS {
		if w := capWait(texts, seq.SMSFrequencyCap, time.Duration(seq.SMSFrequencyWindow), at); w.After(deadline) {
			return false, nil
		}
	}
	return true, nil
}

// reachable checks what the cart's contact must allow for a message on
// channel: consent where it is needed, an address, no opt-out. It returns
// the skip reason, or "".
func reachable(tx Tx, shop *Shop, c *Cart, channel Channel) (string, error) {
	address := c.address(channel)
	switch {
	case address == "":
		return ReasonNoAddress, nil
	case channel == ChannelEmail && shop.Settings.EmailConsent == EmailConsentMarketing && !c.Consent.Email.Granted:
		return ReasonNoEmailConsent, nil
	case channel == ChannelSMS && !c.Consent.SMS.Granted:
		return ReasonNoSMSConsent, nil
	}
	out, err := tx.OptOut(shop.ID, channel, address)
	if err == nil && out == nil && channel == ChannelSMS {
		out, err = tx.OptOut(EveryShop, channel, address)
	}
	if err != nil || out == nil {
		return "", err
	}
	return ReasonOptedOut, nil
}

// quietUntil returns when the recipient's quiet hours end, for a text
// that falls in them; zero when it may go at now.
func (s *Service) quietUntil(shop *Shop, c *Cart, channel Channel, now time.Time) time.Time {
	if channel != ChannelSMS {
		return time.Time{}
	}
	quiet := shop.Settings.QuietHoursOrDefault()
	w, ok := quiet.NextEverywhere(now, s.recipientZones(shop, c.Contact.Phone))
	if !ok {
		// No hour is daytime in all of them (a number that could be
		// anywhere in a very wide country): the shop's zone decides.
		w = quiet.Next(now, shop.Settings.Location())
	}
	if w.After(now) {
		return w
	}
	return time.Time{}
}

// shopStop is the skip reason of a shop that sends nothing, or "".
func shopStop(shop *Shop) string {
	switch shop.Status {
	case ShopUninstalled, ShopRedacted:
		return ReasonShopUninstalled
	case ShopPaused:
		return ReasonShopPaused
	}
	return ""
}

// address is where a message on channel goes for this cart, or "", as
// opt-outs are kept.
func (c *Cart) address(channel Channel) string {
	switch channel {
	case ChannelEmail:
		return optOutContact(channel, c.Contact.Email)
	case ChannelSMS:
		return optOutContact(channel, c.Contact.Phone)
	}
	return ""
}

// optOutContact is how an opt-out names its contact on channel: email
// addresses compared without case, so that one written from a provider's
// report (which names the address as the message had it) is found again.
func optOutContact(channel Channel, contact string) string {
	if channel == ChannelEmail {
		return NormalizeEmail(contact)
	}
	return contact
}

// lateLook is what a last look at a claimed step's cart found: the step
// is done with (skip), goes back to wait (retryAt, for retryReason), or may
// go out showing cart.
type lateLook struct {
	skip        string
	retryAt     time.Time
	retryReason string
	cart        *Cart
}

// lateStop looks at a claimed step's cart once more, just before the send:
// what may have happened since the claim (an order, a delete, an emptied
// cart, an opt-out, consent to texts withdrawn, the shop paused or
// removed) still stops it. A text whose wait for the provider ran into the
// recipient's quiet hours goes back to wait for the morning. A cart the
// shopper came back to, or whose address changed, goes back to be claimed
// anew: the step then moves with the cart, and every rule (the caps, a
// newer cart) is checked for the new address. Otherwise the step may go,
// showing the cart as it is now.
func (s *Service) lateStop(ctx context.Context, cl *Claim) (look lateLook, err error) {
	err = s.Store.View(ctx, func(tx Tx) error {
		shop, err := tx.Shop(cl.Shop.ID)
		if ErrorCode(err) == ENOTFOUND {
			look.skip = ReasonShopUninstalled
			return nil
		} else if err != nil {
			return err
		}
		c, err := tx.Cart(cl.Cart.ID)
		if ErrorCode(err) == ENOTFOUND {
			look.skip = ReasonDeleted
			return nil
		} else if err != nil {
			return err
		}
		now := s.Now().UTC()
		switch {
		case c.State == CartConverted:
			look.skip = ReasonConverted
		case c.State == CartDeleted:
			look.skip = ReasonDeleted
		case shopStop(shop) != "":
			look.skip = shopStop(shop)
		case c.Empty():
			look.skip = ReasonEmpty
		case c.LastActivityAt.After(cl.Cart.LastActivityAt) || c.address(cl.Step.Channel) != cl.Cart.address(cl.Step.Channel):
			look.retryAt, look.retryReason = now, ReasonCartChanged
		default:
			if look.skip, err = reachable(tx, shop, c, cl.Step.Channel); err != nil || look.skip != "" {
				return err
			}
			if w := s.quietUntil(shop, c, cl.Step.Channel, now); !w.IsZero() {
				look.retryAt, look.retryReason = w, ReasonQuietHours
				return nil
			}
			look.cart = c
		}
		return nil
	})
	return look, err
}

// recipientZones are the time zones a phone number's owner may be in: the
// number's own, or those of its country when it says no more; the shop's
// when it says nothing.
func (s *Service) recipientZones(shop *Shop, phone string) []*time.Location {
	var zones []*time.Location
	if s.PhoneZones != nil {
		for _, name := range s.PhoneZones(phone) {
			if loc, err := loadLocation(name); err == nil {
				zones = append(zones, loc)
			}
		}
	}
	if len(zones) == 0 {
		zones = append(zones, shop.Settings.Location())
	}
	return zones
}

var zoneCache sync.Map // name → *time.Location

// loadLocation is time.LoadLocation with a cache: the scheduler asks for
// the same few zones for every text.
func loadLocation(name string) (*time.Location, error) {
	if loc, ok := zoneCache.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	zoneCache.Store(name, loc)
	return loc, nil
}

// sentAt is when a step's message went out (or was claimed), zero if it
// did not.
func sentAt(st StepRun) time.Time {
	switch {
	case st.Delivered(), st.State == StepUnknown:
		if !st.ClaimedAt.IsZero() {
			return st.ClaimedAt
		}
		return st.FinishedAt
	case st.State == StepSending:
		return st.ClaimedAt
	}
	return time.Time{}
}

// finishStep records the outcome of a claimed step, with its message.
//
// stopContact records, in the same transaction, that the provider will not
// deliver to the message's address any more.
func (s *Service) finishStep(ctx context.Context, cl *Claim, msg *Message, state StepState, reason string, retryAt time.Time, stopContact bool) error {
	now := s.Now().UTC()
	return s.Store.Update(ctx, func(tx Tx) error {
		c, err := tx.Cart(cl.Cart.ID)
		if ErrorCode(err) == ENOTFOUND {
			return nil
		} else if err != nil {
			return err
		}
		c = c.clone()
		if cl.Step.Index >= len(c.Steps) || c.Steps[cl.Step.Index].State != StepSending {
			return nil // already resolved (e.g. marked unknown after a lease ran out)
		}
		st := &c.Steps[cl.Step.Index]
		// A code issued for this send is the one its restore link applies.
		st.DiscountCode, st.CodeExpires, st.StaticCode = cl.Step.DiscountCode, cl.Step.CodeExpires, cl.Step.StaticCode
		if msg != nil {
			m := *msg
			m.ID = 0
			if err := tx.PutMessage(&m); err != nil {
				return err
			}
			st.MessageID = m.ID
			if stopContact {
				if err := tx.PutOptOut(&OptOut{ShopID: m.ShopID, Channel: m.Channel, Contact: optOutContact(m.Channel, m.To), At: now, Source: m.Provider + ":" + m.ErrorCode}); err != nil {
					return err
				}
			}
		}
		st.State, st.Reason, st.FinishedAt = state, reason, now
		if state == StepScheduled {
			st.NotBefore, st.FinishedAt, st.ClaimedAt = retryAt, time.Time{}, time.Time{}
			if c.LastActivityAt.After(cl.Cart.LastActivityAt) {
				// The shopper came back while it was being sent: it moves
				// with the cart, as the steps not yet claimed did, and a
				// deadline of its old time goes with it.
				st.DueAt, st.Deadline = c.LastActivityAt.Add(time.Duration(st.After)), time.Time{}
			}
			if reason == ReasonQuietHours {
				st.Deadline = retryAt.Add(StepDeadline) // moved to the morning, never dropped
			}
		}
		c.schedule(cl.Shop)
		return tx.PutCart(c)
	})
}

// maxAgeGrace is how late a step due at the episode's maximum age may
// still go: the scheduler fires within a second, so a step planned for
// that very moment would otherwise find the cart just too old.
const maxAgeGrace = 5 * time.Minute

// dueAtMaxAge reports whether a step planned within the maximum age fell
// due only moments ago: the cart is not expired before it went.
func (c *Cart) dueAtMaxAge(now time.Time, seq Sequence) bool {
	edge := c.LastActivityAt.Add(time.Duration(seq.MaxAge))
	for _, st := range c.Steps {
		if st.State == StepScheduled && !st.DueAt.After(edge) && now.Before(st.DueAt.Add(maxAgeGrace)) {
			return true
		}
	}
	return false
}

// movedToMorning reports whether a step of the cart was moved out of the
// recipient's quiet hours and its morning is now (or hardly past): quiet
// hours move a text, never drop it, even when the morning comes after the
// sequence's max_age. After a long downtime it is dropped all the same.
func (c *Cart) movedToMorning(now time.Time) bool {
	for _, st := range c.Steps {
		if st.State == StepScheduled && st.Reason == ReasonQuietHours && !st.NotBefore.IsZero() && now.Before(st.DeadlineAt()) {
			return true
		}
	}
	return false
}
