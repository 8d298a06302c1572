package recovery

import (
	"context"
	"hash/fnv"
	"slices"
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
	ReasonEpisodeCap      = "episode_cap"
	ReasonHoldout         = "holdout"
	ReasonSuperseded      = "superseded"
	ReasonDeadline        = "deadline_passed"
	ReasonInterrupted     = "interrupted"
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
		earliest(c.abandonAt(shop.Settings.SequenceOrDefault()))
	}
	if !c.State.Open() {
		return
	}
	for _, st := range c.Steps {
		switch st.State {
		case StepScheduled:
			earliest(st.ReadyAt())
		case StepSending:
			earliest(st.ClaimedAt.Add(SendLease))
		}
	}
}

// plan creates the episode's steps from the shop's sequence.
func (c *Cart) plan(shop *Shop, now time.Time) {
	seq := shop.Settings.SequenceOrDefault()
	c.Holdout = inHoldout(c.ID, shop.Settings.HoldoutPercent)
	c.Steps = make([]StepRun, 0, len(seq.Steps))
	for i, st := range seq.Steps {
		code := st.DiscountCode
		if code == "" && st.Template == TemplateIncentive {
			code = shop.Settings.DiscountCode
		}
		run := StepRun{
			Index: i, Channel: st.Channel, Template: st.Template, DiscountCode: code,
			After: st.After, DueAt: c.LastActivityAt.Add(time.Duration(st.After)), State: StepScheduled,
		}
		if c.Holdout {
			run.State, run.Reason, run.FinishedAt = StepSkipped, ReasonHoldout, now
		}
		c.Steps = append(c.Steps, run)
	}
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
			st.NotBefore = time.Time{}
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
	var claim *Claim
	err := s.Store.Update(ctx, func(tx Tx) error {
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
	if c.State == CartActive && !c.Empty() && !now.Before(c.abandonAt(seq)) {
		c.State, c.AbandonedAt = CartAbandoned, now
		if len(c.Steps) == 0 {
			c.plan(shop, now)
		}
	}
	if c.State != CartAbandoned {
		return nil, nil
	}
	if now.Sub(c.LastActivityAt) > time.Duration(seq.MaxAge) {
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
	reason, wait, err := s.stopRule(tx, shop, seq, c, *st, now)
	if err != nil {
		return nil, err
	}
	switch {
	case reason != "":
		st.State, st.Reason, st.FinishedAt = StepSkipped, reason, now
	case !wait.IsZero() && wait.After(st.DueAt.Add(StepDeadline)):
		st.State, st.Reason, st.FinishedAt = StepSkipped, ReasonFrequencyCap, now
	case !wait.IsZero():
		st.NotBefore = wait
	default:
		st.State, st.ClaimedAt = StepSending, now
		return &Claim{Shop: shop, Cart: c.clone(), Step: *st}, nil
	}
	return nil, nil
}

// stopRule returns why the step must not go out, or until when it must
// wait, or neither.
func (s *Service) stopRule(tx Tx, shop *Shop, seq Sequence, c *Cart, st StepRun, now time.Time) (reason string, wait time.Time, err error) {
	switch shop.Status {
	case ShopUninstalled:
		return ReasonShopUninstalled, time.Time{}, nil
	case ShopPaused:
		return ReasonShopPaused, time.Time{}, nil
	}
	if c.Empty() {
		return ReasonEmpty, time.Time{}, nil
	}
	if c.delivered() >= seq.MaxMessages {
		return ReasonEpisodeCap, time.Time{}, nil
	}
	var address string
	switch st.Channel {
	case ChannelEmail:
		address = NormalizeEmail(c.Contact.Email)
	case ChannelSMS:
		address = c.Contact.Phone
		if address != "" && !c.Consent.SMS.Granted {
			return ReasonNoSMSConsent, time.Time{}, nil
		}
	}
	if address == "" {
		return ReasonNoAddress, time.Time{}, nil
	}
	out, err := tx.OptOut(shop.ID, st.Channel, address)
	if err != nil || out != nil {
		return ReasonOptedOut, time.Time{}, err
	}

	// Across the contact's carts in this shop: only the newest is reminded,
	// nobody who ordered since is reminded, and the frequency cap holds.
	var recent []time.Time
	seen := map[uint64]bool{c.ID: true}
	for _, st := range c.Steps {
		if t := sentAt(st); !t.IsZero() && now.Sub(t) < time.Duration(seq.FrequencyWindow) {
			recent = append(recent, t)
		}
	}
	for _, key := range c.Contact.Index() {
		others, err := tx.CartsByContact(shop.ID, key, contactCarts)
		if err != nil {
			return "", time.Time{}, err
		}
		for _, o := range others {
			if seen[o.ID] {
				continue
			}
			seen[o.ID] = true
			if o.State == CartConverted && o.Conversion != nil && o.Conversion.At.After(c.LastActivityAt) {
				return ReasonContactOrdered, time.Time{}, nil
			}
			if o.State.Open() && !o.OrderOnly && (o.LastActivityAt.After(c.LastActivityAt) || (o.LastActivityAt.Equal(c.LastActivityAt) && o.ID > c.ID)) {
				return ReasonNewerCart, time.Time{}, nil
			}
			for _, ost := range o.Steps {
				if t := sentAt(ost); !t.IsZero() && now.Sub(t) < time.Duration(seq.FrequencyWindow) {
					recent = append(recent, t)
				}
			}
		}
	}
	if seq.FrequencyCap > 0 && len(recent) >= seq.FrequencyCap {
		// Wait until enough of the window's messages have aged out of it.
		slices.SortFunc(recent, time.Time.Compare)
		return "", recent[len(recent)-seq.FrequencyCap].Add(time.Duration(seq.FrequencyWindow)), nil
	}
	return "", time.Time{}, nil
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
func (s *Service) finishStep(ctx context.Context, cl *Claim, msg *Message, state StepState, reason string, retryAt time.Time) error {
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
		if msg != nil {
			m := *msg
			m.ID = 0
			if err := tx.PutMessage(&m); err != nil {
				return err
			}
			st.MessageID = m.ID
		}
		st.State, st.Reason, st.FinishedAt = state, reason, now
		if state == StepScheduled {
			st.NotBefore, st.FinishedAt, st.ClaimedAt = retryAt, time.Time{}, time.Time{}
		}
		c.schedule(cl.Shop)
		return tx.PutCart(c)
	})
}
