package recovery

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// Scheduler sends due reminders. One goroutine sleeps until the earliest
// entry of the store's due index and hands due carts to a bounded pool of
// workers; nothing due lives only in memory, so a restart resumes exactly.
type Scheduler struct {
	Service *Service
	// Senders deliver per channel. A channel without one sends to the
	// outbox: the message is rendered and stored, marked as not sent.
	Senders  map[Channel]Sender
	Renderer Renderer
	Signer   *Signer
	// PublicURL is this service's base URL, for links in messages.
	PublicURL string
	// LinkTTL is how long restore links work (default 30 days).
	LinkTTL time.Duration
	// Workers bounds concurrent sends (default DefaultWorkers).
	Workers int
	Logger  *slog.Logger
	// Purchases check per platform, just before a send, that the cart was
	// not bought meanwhile.
	Purchases map[Platform]PurchaseChecker
	// Discounts issue single-use codes per platform for incentive steps of
	// shops that ask for them.
	Discounts map[Platform]DiscountIssuer
	// OnStep, when set, is told the final state of every step handled.
	OnStep func(channel Channel, state StepState)

	mu       sync.Mutex
	inflight map[uint64]bool
	// paced holds, per rate-limited channel, a slot for each send waiting
	// for its provider (see pacedSlots).
	paced  map[Channel]chan struct{}
	wake   chan struct{}
	done   chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// DefaultWorkers bounds concurrent sends. Most of a send is waiting (on
// the provider, on the disk), and the claims and outcomes of concurrent
// sends share commits, so more workers mean fewer commits per step: with
// 1,000,000 stored carts, 64 workers fell behind 2,000 due steps a second
// (p99 1.8 s late) where 256 kept up (p99 5 ms). Providers are paced by
// their own rate limits, not by this number.
const DefaultWorkers = 256

// DefaultLinkTTL is how long a restore link works.
const DefaultLinkTTL = 30 * 24 * time.Hour

// farFuture bounds a look at the whole due index (year 2116).
var farFuture = time.Unix(0, 1<<62)

// dueBatch bounds how many due carts one look at the index takes.
const dueBatch = 256

func (s *Scheduler) init() {
	if s.inflight == nil {
		s.inflight = map[uint64]bool{}
		s.paced = map[Channel]chan struct{}{}
		s.wake = make(chan struct{}, 1)
		s.done = make(chan struct{}, 1)
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.Renderer == nil {
		s.Renderer = PlainRenderer{}
	}
	if s.LinkTTL <= 0 {
		s.LinkTTL = DefaultLinkTTL
	}
	if s.Workers <= 0 {
		s.Workers = DefaultWorkers
	}
}

// pacedSlots returns the channel's slots for sends waiting for its
// provider: a quarter of the workers.
func (s *Scheduler) pacedSlots(ch Channel) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	slots := s.paced[ch]
	if slots == nil {
		slots = make(chan struct{}, max(1, s.Workers/4))
		s.paced[ch] = slots
	}
	return slots
}

// pacedRetry is how soon a send that found its provider's queue full is
// looked at again.
const pacedRetry = 5 * time.Second

// reasonProviderQueue is the note on a step put back because enough sends
// of its channel already wait for the provider's rate limit.
const reasonProviderQueue = "waiting for the provider's rate limit"

// Open resolves sends a previous run left unfinished and starts the loop.
func (s *Scheduler) Open() error {
	s.init()
	if err := s.Recover(context.Background()); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.Service.OnDue = s.Notify
	jobs := make(chan uint64)
	for range s.Workers {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for id := range jobs {
				s.process(ctx, id)
				s.mu.Lock()
				delete(s.inflight, id)
				s.mu.Unlock()
				select {
				case s.done <- struct{}{}:
				default:
				}
			}
		}()
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(jobs)
		s.loop(ctx, jobs)
	}()
	return nil
}

// Close stops taking due work, lets the sends under way finish, and
// returns when every goroutine has stopped.
func (s *Scheduler) Close() error {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	return nil
}

// Notify tells the scheduler a due time was created; it wakes if that is
// earlier than what it sleeps towards.
func (s *Scheduler) Notify(time.Time) {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// loop sleeps until the earliest due entry, or a wake-up, then dispatches.
func (s *Scheduler) loop(ctx context.Context, jobs chan<- uint64) {
	for {
		now := s.Service.Now()
		var due []Due
		err := s.Service.Store.View(ctx, func(tx Tx) (err error) {
			due, err = tx.DueCarts(now, dueBatch)
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.Logger.Error("scheduler: read due index", "error", err)
		}
		dispatched := 0
		for _, d := range due {
			s.mu.Lock()
			busy := s.inflight[d.CartID]
			if !busy {
				s.inflight[d.CartID] = true
			}
			s.mu.Unlock()
			if busy {
				continue
			}
			select {
			case jobs <- d.CartID:
				dispatched++
			case <-ctx.Done():
				return
			}
		}
		if dispatched > 0 && len(due) == dueBatch {
			continue // more may be due right now
		}

		wait := time.Minute // the longest nap, as a safety net
		// (A full batch that dispatched something looked again above; one
		// that dispatched nothing is all being worked on: wait for a
		// worker rather than look again at once.)
		if len(due) < dueBatch {
			var next []Due
			_ = s.Service.Store.View(ctx, func(tx Tx) (err error) {
				next, err = tx.DueCarts(farFuture, 1+s.inflightCount())
				return err
			})
			for _, d := range next {
				if !s.isInflight(d.CartID) {
					if w := d.At.Sub(s.Service.Now()); w < wait {
						wait = max(w, 0)
					}
					break
				}
			}
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-s.wake:
		case <-s.done:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// Overdue returns how long the earliest entry of the due index has been
// due, zero when nothing is: reminders that should have gone out and have
// not, because the scheduler is behind, stopped, or waiting on a provider.
// Within a second or so of zero is normal; more is worth an alert.
func (s *Service) Overdue(ctx context.Context) (time.Duration, error) {
	var first []Due
	err := s.Store.View(ctx, func(tx Tx) (err error) {
		first, err = tx.DueCarts(farFuture, 1)
		return err
	})
	if err != nil || len(first) == 0 {
		return 0, err
	}
	return max(s.Now().Sub(first[0].At), 0), nil
}

func (s *Scheduler) inflightCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.inflight)
}

func (s *Scheduler) isInflight(id uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inflight[id]
}

// Recover marks every step a previous run left in sending as unknown: it
// may or may not have reached the shopper, so it is never sent again. It
// reads only the index of such carts, never every cart.
func (s *Scheduler) Recover(ctx context.Context) error {
	s.init()
	for {
		var ids []uint64
		err := s.Service.Store.View(ctx, func(tx Tx) (err error) {
			ids, err = tx.SendingCarts(dueBatch)
			return err
		})
		if err != nil || len(ids) == 0 {
			return err
		}
		now := s.Service.Now().UTC()
		for _, id := range ids {
			err := s.Service.Store.Update(ctx, func(tx Tx) error {
				c, err := tx.Cart(id)
				if err != nil {
					return err
				}
				shop, err := tx.Shop(c.ShopID)
				if err != nil {
					return err
				}
				c = c.clone()
				for i := range c.Steps {
					if st := &c.Steps[i]; st.State == StepSending {
						st.State, st.Reason, st.FinishedAt = StepUnknown, ReasonInterrupted, now
						s.Logger.Warn("step interrupted by a restart; not sent again", "cart", c.ID, "step", st.Index, "channel", st.Channel)
					}
				}
				c.schedule(shop)
				return tx.PutCart(c)
			})
			if err != nil {
				return err
			}
		}
	}
}

// RunDue handles, in the calling goroutine, everything due at the
// service's current time, and returns how many carts it looked at. Tests
// drive the engine with it and a hand-moved clock.
func (s *Scheduler) RunDue(ctx context.Context) (int, error) {
	s.init()
	visits := map[uint64]int{}
	for {
		var due []Due
		err := s.Service.Store.View(ctx, func(tx Tx) (err error) {
			due, err = tx.DueCarts(s.Service.Now(), dueBatch)
			return err
		})
		if err != nil {
			return len(visits), err
		}
		progressed := false
		for _, d := range due {
			if visits[d.CartID] > MaxSteps+2 {
				continue // guard: never spin on one cart
			}
			visits[d.CartID]++
			progressed = true
			s.process(ctx, d.CartID)
		}
		if !progressed {
			return len(visits), nil
		}
	}
}

// process advances one cart and sends whatever it claims, one step at a
// time, until nothing more is due now.
func (s *Scheduler) process(ctx context.Context, cartID uint64) {
	for range MaxSteps + 1 {
		claim, err := s.Service.claimNext(ctx, cartID, s.Service.Now().UTC())
		if err != nil {
			if ctx.Err() == nil {
				s.Logger.Error("scheduler: claim", "cart", cartID, "error", err)
			}
			return
		}
		if claim == nil {
			return
		}
		s.send(ctx, claim)
	}
}

// send renders and delivers a claimed step and records the outcome. The
// claim is already committed, so whatever happens here, the step is never
// sent twice.
func (s *Scheduler) send(parent context.Context, cl *Claim) {
	// The send must not be cut short by shutdown: finishing it is how the
	// outcome gets recorded.
	ctx := context.WithoutCancel(parent)
	// content is the cart the message shows and goes to: as claimed, or
	// as a later look found it.
	content := cl.Cart
	// look checks the cart again after time passed since the claim (a
	// provider's queue, a call to the store): an order, a delete or an
	// opt-out that arrived meanwhile still stops the step. It reports
	// whether the step is done with (finished here).
	look := func() bool {
		found, err := s.Service.lateStop(ctx, cl)
		switch {
		case err != nil:
			s.Logger.Error("scheduler: look at the cart before sending", "cart", cl.Cart.ID, "error", err)
		case found.skip != "":
			s.finish(ctx, cl, nil, StepSkipped, found.skip, time.Time{}, false)
			return true
		case !found.retryAt.IsZero():
			s.finish(ctx, cl, nil, StepScheduled, found.retryReason, found.retryAt, false)
			return true
		default:
			content = found.cart
		}
		return false
	}
	if pacer, ok := s.Senders[cl.Step.Channel].(Pacer); ok {
		// At most a quarter of the workers wait for one provider: a burst
		// of texts at one a second must not hold every worker while
		// emails fall due. The rest wait in the due index, not here.
		slots := s.pacedSlots(cl.Step.Channel)
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
		default:
			s.finish(ctx, cl, nil, StepScheduled, reasonProviderQueue, s.Service.Now().UTC().Add(pacedRetry), false)
			return
		}
		if err := pacer.Wait(parent); err != nil {
			// Shutting down: the step goes back to wait for the next start.
			s.finish(ctx, cl, nil, StepScheduled, "waiting for the provider: "+err.Error(), s.Service.Now().UTC(), false)
			return
		}
		// Before asking the store anything: a step stopped meanwhile
		// needs no purchase check and no code of its own.
		if look() {
			return
		}
	}
	now := s.Service.Now().UTC()
	asked, reason := s.checkPurchase(ctx, cl)
	if reason != "" {
		s.finish(ctx, cl, nil, StepSkipped, reason, time.Time{}, false)
		return
	}
	issued := s.issueDiscount(ctx, cl, now)
	// The order webhook may have landed while this worker talked to the
	// store: the look before it is no longer the last word.
	if (asked || issued) && look() {
		return
	}
	msg, err := s.compose(ctx, cl, content, now)
	if err != nil {
		s.finish(ctx, cl, nil, StepFailed, "render: "+err.Error(), time.Time{}, false)
		return
	}
	msg.History = []MessageEvent{{At: cl.Step.ClaimedAt, Status: MessageClaimed}}
	sender := s.Senders[cl.Step.Channel]
	if sender == nil {
		msg.Status = MessageOutbox
		msg.History = append(msg.History, MessageEvent{At: now, Status: MessageOutbox, Detail: "no provider configured for " + string(cl.Step.Channel) + "; not sent"})
		s.finish(ctx, cl, msg, StepOutbox, "", time.Time{}, false)
		return
	}
	if named, ok := sender.(interface{ ProviderName() string }); ok {
		msg.Provider = named.ProviderName()
	}
	id, err := sender.Send(ctx, msg)
	done := s.Service.Now().UTC()
	var se *SendError
	errors.As(err, &se)
	switch {
	case err == nil:
		// The HTML went out; the text, subject and links stay as the record.
		// Keeping every sent page would triple what each send writes.
		msg.HTML = ""
		msg.Status, msg.ProviderID, msg.SentAt = MessageSent, id, done
		msg.History = append(msg.History, MessageEvent{At: done, Status: MessageSent, Detail: msg.Provider + " id " + id})
		s.finish(ctx, cl, msg, StepSent, "", time.Time{}, false)
	case se != nil && se.Unknown:
		msg.Status, msg.Error, msg.ErrorCode = MessageUnknown, err.Error(), se.Code
		msg.History = append(msg.History, MessageEvent{At: done, Status: MessageUnknown, Detail: err.Error()})
		s.finish(ctx, cl, msg, StepUnknown, err.Error(), time.Time{}, false)
	case temporary(err) && now.Before(cl.Step.DeadlineAt()):
		retry := now.Add(backoff(cl.Step))
		s.Logger.Warn("send failed, will retry", "cart", cl.Cart.ID, "step", cl.Step.Index, "retry_at", retry, "error", RedactContacts(err.Error()))
		s.finish(ctx, cl, nil, StepScheduled, err.Error(), retry, false)
	default:
		msg.Status, msg.Error = MessageFailed, err.Error()
		if se != nil {
			msg.ErrorCode = se.Code
		}
		msg.History = append(msg.History, MessageEvent{At: done, Status: MessageFailed, Detail: err.Error()})
		s.finish(ctx, cl, msg, StepFailed, err.Error(), time.Time{}, se != nil && se.StopContact)
	}
}

// checkPurchase asks the platform whether the cart was bought. It reports
// whether it asked, and a skip reason, or "" to send.
func (s *Scheduler) checkPurchase(ctx context.Context, cl *Claim) (asked bool, reason string) {
	checker := s.Purchases[cl.Shop.Platform]
	if checker == nil {
		return false, ""
	}
	bought, err := checker.Purchased(ctx, cl.Shop, cl.Cart)
	switch {
	case err != nil && cl.Shop.Settings.HoldIfUnverified:
		s.Logger.Warn("purchase not verifiable; reminder held per shop setting", "shop", cl.Shop.Domain, "cart", cl.Cart.ID, "error", err)
		return true, ReasonUnverified
	case err != nil:
		s.Logger.Warn("purchase not verifiable; reminder sent per shop setting", "shop", cl.Shop.Domain, "cart", cl.Cart.ID, "error", err)
	case bought:
		return true, ReasonPurchased
	}
	return true, ""
}

// issueDiscount gives an incentive step a single-use code when its shop
// asks for one, and reports whether it asked the platform. A failure
// keeps the static code: the reminder still goes. A step that already has
// its code (issued before a retry or a move out of quiet hours) keeps it
// while the shopper has a good while left to use it.
func (s *Scheduler) issueDiscount(ctx context.Context, cl *Claim, now time.Time) bool {
	pct := cl.Shop.Settings.UniqueDiscountPercent
	issuer := s.Discounts[cl.Shop.Platform]
	if pct <= 0 || issuer == nil || cl.Step.Template != TemplateIncentive {
		return false
	}
	if cl.Step.CodeIssued() && now.Add(UniqueDiscountTTL/3).Before(cl.Step.CodeExpires) {
		return false
	}
	expires := now.Add(UniqueDiscountTTL)
	code, err := issuer.IssueDiscount(ctx, cl.Shop, cl.Cart, pct, expires)
	if err != nil {
		s.Logger.Warn("single-use discount not created; the shop's code is used", "shop", cl.Shop.Domain, "cart", cl.Cart.ID, "error", err)
		if cl.Step.CodeIssued() && !now.Before(cl.Step.CodeExpires) {
			// The old code no longer works: the static code the step was
			// planned with it is.
			cl.Step.DiscountCode, cl.Step.CodeExpires = cl.Step.StaticCode, time.Time{}
		}
		return true
	}
	if !cl.Step.CodeIssued() {
		cl.Step.StaticCode = cl.Step.DiscountCode
	}
	cl.Step.DiscountCode, cl.Step.CodeExpires = code, expires
	return true
}

// backoff grows with the time since the step fell due, with jitter so
// retries of many carts do not arrive together.
func backoff(st StepRun) time.Duration {
	d := 30 * time.Second
	if !st.NotBefore.IsZero() && st.NotBefore.After(st.DueAt) {
		d = 2 * st.NotBefore.Sub(st.DueAt)
	}
	d = min(d, 30*time.Minute)
	return d/2 + rand.N(d/2+1)
}

func (s *Scheduler) finish(ctx context.Context, cl *Claim, msg *Message, state StepState, reason string, retryAt time.Time, stopContact bool) {
	if err := s.Service.finishStep(ctx, cl, msg, state, reason, retryAt, stopContact); err != nil {
		s.Logger.Error("scheduler: record outcome", "cart", cl.Cart.ID, "step", cl.Step.Index, "error", err)
		return
	}
	s.Logger.Info("step handled", "shop", cl.Shop.Domain, "cart", cl.Cart.ID, "step", cl.Step.Index,
		"channel", cl.Step.Channel, "state", state, "reason", RedactContacts(reason))
	if s.OnStep != nil && state != StepScheduled {
		s.OnStep(cl.Step.Channel, state)
	}
}

// compose renders the claimed step into a message with its signed links.
func (s *Scheduler) compose(ctx context.Context, cl *Claim, c *Cart, now time.Time) (*Message, error) {
	st := cl.Step
	token := s.Signer.Sign(LinkToken{Purpose: PurposeRestore, ShopID: cl.Shop.ID, CartID: c.ID, Step: st.Index, Channel: st.Channel, Expires: now.Add(s.LinkTTL)})
	restore := s.PublicURL + "/r/" + token
	var unsubscribe string
	if st.Channel == ChannelEmail {
		unsubscribe = s.PublicURL + "/u/" + UnsubscribeToken(s.Signer, LinkToken{Purpose: PurposeUnsubscribe, ShopID: cl.Shop.ID, CartID: c.ID, Step: st.Index, Channel: st.Channel, Expires: now.Add(365 * 24 * time.Hour)}, c.Contact.Email)
	}
	locale := c.Contact.Locale
	if locale == "" {
		locale = cl.Shop.Settings.DefaultLocale
	}
	if locale == "" {
		locale = "en"
	}
	r, err := s.Renderer.Render(ctx, RenderInput{Shop: cl.Shop, Cart: c, Step: st, Locale: locale, RestoreURL: restore, UnsubscribeURL: unsubscribe, DiscountCode: st.DiscountCode, Variant: st.Variant})
	if err != nil {
		return nil, err
	}
	to := c.Contact.Email
	var encoding string
	var segments int
	if st.Channel == ChannelSMS {
		to = c.Contact.Phone
		r.Text = WithSMSStopLine(r.Text, locale)
		encoding, segments = SMSSegments(r.Text)
	}
	return &Message{
		Encoding: encoding, Segments: segments, ReplyTo: cl.Shop.Settings.EmailReplyTo,
		ShopID: cl.Shop.ID, CartID: c.ID, Step: st.Index, Channel: st.Channel, Template: st.Template, Variant: st.Variant, Locale: locale,
		To: to, Subject: r.Subject, Text: r.Text, HTML: r.HTML, RestoreURL: restore, UnsubscribeURL: unsubscribe,
		DiscountCode: st.DiscountCode, FromName: SenderName(cl.Shop), CreatedAt: now,
	}, nil
}

// SenderName is the display name of the shop's email: its sender name
// setting, else its name, else its domain.
func SenderName(shop *Shop) string {
	if shop.Settings.EmailFromName != "" {
		return shop.Settings.EmailFromName
	}
	if shop.Name != "" {
		return shop.Name
	}
	return shop.Domain
}
