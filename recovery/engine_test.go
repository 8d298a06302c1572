package recovery_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cartback/cartback/internal/phone"
	"github.com/cartback/cartback/recovery"
	"github.com/cartback/cartback/store"
)

// recordingSender stands in for a provider in engine tests and remembers
// what it was asked to send.
type recordingSender struct {
	mu   sync.Mutex
	sent []*recovery.Message
	// fail, when set, decides the error for each call.
	fail func(n int) error
}

func (s *recordingSender) Send(_ context.Context, m *recovery.Message) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		if err := s.fail(len(s.sent)); err != nil {
			return "", err
		}
	}
	s.sent = append(s.sent, m)
	return fmt.Sprintf("id-%d", len(s.sent)), nil
}

func (s *recordingSender) messages() []*recovery.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*recovery.Message(nil), s.sent...)
}

// engine is the recovery engine over a real database, with a hand-moved
// clock.
type engine struct {
	t     testing.TB
	db    *store.DB
	svc   *recovery.Service
	sched *recovery.Scheduler
	email *recordingSender
	sms   *recordingSender
	shop  *recovery.Shop
	now   time.Time
}

var start = time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)

func newEngine(t testing.TB, settings recovery.ShopSettings) *engine {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "cartback.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := &engine{t: t, db: db, email: &recordingSender{}, sms: &recordingSender{}, now: start}
	t.Cleanup(func() {
		if err := db.CheckIndexes(); err != nil {
			t.Errorf("CheckIndexes: %v", err)
		}
		db.Close()
	})
	e.svc = recovery.NewService(db)
	e.svc.Now = func() time.Time { return e.now }
	signer, _ := recovery.NewSigner([]byte(strings.Repeat("k", 32)))
	quiet := slog.New(slog.DiscardHandler)
	e.sched = &recovery.Scheduler{
		Service: e.svc, Signer: signer, PublicURL: "https://cb.example.com", Logger: quiet,
		Senders: map[recovery.Channel]recovery.Sender{recovery.ChannelEmail: e.email, recovery.ChannelSMS: e.sms},
	}
	e.shop, err = e.svc.CreateShop(context.Background(), &recovery.Shop{Platform: recovery.PlatformShopify, Domain: "demo.myshopify.com", Name: "Demo", WebhookSecret: "0123456789abcdef", Settings: settings})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// at moves the clock to start+d and runs everything due.
func (e *engine) at(d time.Duration) {
	e.t.Helper()
	if next := start.Add(d); next.Before(e.now) {
		e.t.Fatalf("clock moved backwards to %s", d)
	}
	e.now = start.Add(d)
	if _, err := e.sched.RunDue(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

type cartOpt func(*recovery.Cart)

func withSMSConsent(c *recovery.Cart) {
	c.Consent.SMS = recovery.ConsentGrant{Granted: true, Source: "test"}
}

func withEmail(email string) cartOpt { return func(c *recovery.Cart) { c.Contact.Email = email } }

func withContact(email, phone string) cartOpt {
	return func(c *recovery.Cart) { c.Contact.Email, c.Contact.Phone = email, phone }
}

// checkout applies a checkout update with last activity at start+d.
func (e *engine) checkout(token string, d time.Duration, opts ...cartOpt) uint64 {
	e.t.Helper()
	c := &recovery.Cart{
		Keys:           recovery.CartKeys{CheckoutToken: token},
		Contact:        recovery.Contact{Email: "kari@example.com", Phone: "+4791234567", FirstName: "Kari"},
		Currency:       "NOK",
		Items:          []recovery.LineItem{{Title: "Lamp", Quantity: 1, UnitPrice: 49900, LinePrice: 49900}},
		Totals:         recovery.Totals{Total: 49900},
		RestoreURL:     "https://demo.myshopify.com/checkouts/" + token + "/recover",
		LastActivityAt: start.Add(d),
	}
	for _, o := range opts {
		o(c)
	}
	res, err := e.svc.Apply(context.Background(), e.shop.ID, recovery.Event{Kind: recovery.EventCartUpdated, Cart: c})
	if err != nil {
		e.t.Fatal(err)
	}
	return res.CartIDs[0]
}

func (e *engine) order(token string, at time.Duration) {
	e.t.Helper()
	o := &recovery.Order{ID: "o-" + token, Keys: recovery.CartKeys{CheckoutToken: token}, Currency: "NOK", Total: 52900, At: start.Add(at)}
	if _, err := e.svc.Apply(context.Background(), e.shop.ID, recovery.Event{Kind: recovery.EventOrder, Order: o}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *engine) cart(id uint64) *recovery.Cart {
	e.t.Helper()
	c, err := e.svc.Cart(context.Background(), e.shop.ID, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// steps returns "state/reason" of each step, for compact assertions.
func (e *engine) steps(id uint64) []string {
	var out []string
	for _, st := range e.cart(id).Steps {
		s := string(st.State)
		if st.Reason != "" {
			s += "/" + st.Reason
		}
		out = append(out, s)
	}
	return out
}

func (e *engine) wantSteps(id uint64, want ...string) {
	e.t.Helper()
	if got := e.steps(id); strings.Join(got, " ") != strings.Join(want, " ") {
		e.t.Errorf("steps = %v, want %v", got, want)
	}
}

func TestDefaultSequenceWithoutSMSConsent(t *testing.T) {
	e := newEngine(t, recovery.ShopSettings{DiscountCode: "COMEBACK10"})
	id := e.checkout("a", 0)

	e.at(14 * time.Minute)
	if c := e.cart(id); c.State != recovery.CartActive || len(c.Steps) != 0 {
		t.Fatalf("before the cut-off: %s, %d steps", c.State, len(c.Steps))
	}
	e.at(15 * time.Minute)
	if c := e.cart(id); c.State != recovery.CartAbandoned || len(c.Steps) != 4 {
		t.Fatalf("at the cut-off: %s, %d steps", c.State, len(c.Steps))
	}
	e.at(59 * time.Minute)
	if n := len(e.email.messages()); n != 0 {
		t.Fatalf("%d emails before 1 h", n)
	}
	e.at(time.Hour)
	e.wantSteps(id, "sent", "scheduled", "scheduled", "scheduled")
	e.at(4 * time.Hour)
	e.wantSteps(id, "sent", "skipped/no_sms_consent", "scheduled", "scheduled")
	e.at(24 * time.Hour)
	e.at(72 * time.Hour)
	e.wantSteps(id, "sent", "skipped/no_sms_consent", "sent", "sent")
	msgs := e.email.messages()
	if len(msgs) != 3 {
		t.Fatalf("sent %d emails, want 3", len(msgs))
	}
	if msgs[0].To != "kari@example.com" || !strings.Contains(msgs[0].Text, "Kari") || !strings.Contains(msgs[0].Text, "499.00 NOK") {
		t.Errorf("first email: %+v", msgs[0])
	}
	if !strings.HasPrefix(msgs[0].RestoreURL, "https://cb.example.com/r/") || len(strings.TrimPrefix(msgs[0].RestoreURL, "https://cb.example.com")) > 60 {
		t.Errorf("restore link %q", msgs[0].RestoreURL)
	}
	if strings.Contains(msgs[0].RestoreURL, "kari") {
		t.Errorf("restore link carries personal data: %s", msgs[0].RestoreURL)
	}
	if msgs[2].DiscountCode != "COMEBACK10" || !strings.Contains(msgs[2].Text, "COMEBACK10") || msgs[1].DiscountCode != "" {
		t.Errorf("incentive: %q / follow-up %q", msgs[2].DiscountCode, msgs[1].DiscountCode)
	}
	if c := e.cart(id); !c.NextDueAt.IsZero() {
		t.Errorf("nothing left, yet due at %v", c.NextDueAt)
	}
}

// TestOverdueShowsLateReminders: what the due index holds past its time
// is reported until the scheduler has handled it.
func TestOverdueShowsLateReminders(t *testing.T) {
	e := newEngine(t, recovery.ShopSettings{})
	overdue := func() time.Duration {
		t.Helper()
		d, err := e.svc.Overdue(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if d := overdue(); d != 0 {
		t.Errorf("empty due index: %v overdue", d)
	}
	e.checkout("a", 0)
	if d := overdue(); d != 0 {
		t.Errorf("first step an hour away: %v overdue", d)
	}
	// The scheduler does not run: the first step, due at 1 h, is late.
	e.now = start.Add(90 * time.Minute)
	if d := overdue(); d != 30*time.Minute {
		t.Errorf("a step due 30 minutes ago and not handled: %v overdue, want 30m", d)
	}
	e.at(90 * time.Minute)
	if d := overdue(); d != 0 {
		t.Errorf("after the scheduler ran: %v overdue", d)
	}
}

func TestDefaultSequenceWithSMSConsent(t *testing.T) {
	e := newEngine(t, recovery.ShopSettings{})
	id := e.checkout("a", 0, withSMSConsent)
	for _, d := range []time.Duration{15 * time.Minute, time.Hour, 4 * time.Hour, 24 * time.Hour} {
		e.at(d)
	}
	// Two messages in the last 24 h: the follow-up waits until the first
	// leaves the window, at 25 h. Then two messages went out and the cap
	// is three: the last place is the incentive's, so the follow-up gives
	// way to it.
	e.wantSteps(id, "sent", "sent", "scheduled/frequency_cap", "scheduled")
	e.at(25 * time.Hour)
	e.wantSteps(id, "sent", "sent", "skipped/episode_cap", "scheduled")
	e.at(72 * time.Hour)
	e.wantSteps(id, "sent", "sent", "skipped/episode_cap", "sent")
	if sms := e.sms.messages(); len(sms) != 1 || sms[0].To != "+4791234567" || !strings.Contains(sms[0].Text, "STOP") {
		t.Errorf("sms: %+v", sms)
	}
	if emails := e.email.messages(); len(emails) != 2 || emails[1].Template != recovery.TemplateIncentive {
		t.Errorf("emails: %d, the last %+v", len(emails), emails[len(emails)-1])
	}
}

// The last step keeps its place under the cap only where it can reach the
// shopper: a last text to a shopper without SMS consent takes nothing
// from the emails before it.
func TestEpisodeCapKeepsTheLastPlaceOnlyForAReachableLastStep(t *testing.T) {
	seq := &recovery.Sequence{MaxMessages: 2, FrequencyCap: 9, Steps: []recovery.Step{
		{Channel: recovery.ChannelEmail, After: recovery.Duration(time.Hour), Template: "reminder"},
		{Channel: recovery.ChannelEmail, After: recovery.Duration(24 * time.Hour), Template: "follow-up"},
		{Channel: recovery.ChannelSMS, After: recovery.Duration(48 * time.Hour), Template: "incentive"},
	}}
	e := newEngine(t, recovery.ShopSettings{Sequence: seq})
	// Activity at 10:00 UTC, so the text falls due in the daytime.
	noSMS := e.checkout("a", 2*time.Hour, withContact("a@example.com", "+4790000001"))
	withSMS := e.checkout("b", 2*time.Hour, withContact("b@example.com", "+4790000002"), withSMSConsent)
	for _, d := range []time.Duration{time.Hour, 24 * time.Hour, 48 * time.Hour} {
		e.at(2*time.Hour + d)
	}
	e.wantSteps(noSMS, "sent", "sent", "skipped/episode_cap")
	e.wantSteps(withSMS, "sent", "skipped/episode_cap", "sent")
}

// The last step keeps its place only where it can go out: a last text the
// SMS cap would hold past its deadline, or a last step planned at the
// episode's maximum age, which still goes out when due.
func TestEpisodeCapReservationOnlyForALastStepThatCanGo(t *testing.T) {
	t.Run("sms cap", func(t *testing.T) {
		seq := &recovery.Sequence{MaxMessages: 3, FrequencyCap: 9, Steps: []recovery.Step{
			{Channel: recovery.ChannelEmail, After: recovery.Duration(time.Hour), Template: "reminder"},
			{Channel: recovery.ChannelSMS, After: recovery.Duration(4 * time.Hour), Template: "reminder"},
			{Channel: recovery.ChannelEmail, After: recovery.Duration(24 * time.Hour), Template: "follow-up"},
			{Channel: recovery.ChannelSMS, After: recovery.Duration(30 * time.Hour), Template: "incentive"},
		}}
		e := newEngine(t, recovery.ShopSettings{Sequence: seq})
		id := e.checkout("a", 2*time.Hour, withSMSConsent) // 10:00 UTC: texts in daytime
		for _, d := range []time.Duration{time.Hour, 4 * time.Hour, 24 * time.Hour, 30 * time.Hour} {
			e.at(2*time.Hour + d)
		}
		e.wantSteps(id, "sent", "sent", "sent", "skipped/episode_cap")
	})
	t.Run("last step at max age", func(t *testing.T) {
		seq := &recovery.Sequence{MaxMessages: 2, MaxAge: recovery.Duration(72 * time.Hour), FrequencyCap: 9, Steps: []recovery.Step{
			{Channel: recovery.ChannelEmail, After: recovery.Duration(time.Hour), Template: "reminder"},
			{Channel: recovery.ChannelEmail, After: recovery.Duration(24 * time.Hour), Template: "follow-up"},
			{Channel: recovery.ChannelEmail, After: recovery.Duration(72 * time.Hour), Template: "incentive"},
		}}
		e := newEngine(t, recovery.ShopSettings{Sequence: seq})
		id := e.checkout("a", 0)
		for _, d := range []time.Duration{time.Hour, 24 * time.Hour, 72*time.Hour + time.Second} {
			e.at(d) // the scheduler a second late at the end
		}
		e.wantSteps(id, "sent", "skipped/episode_cap", "sent")
	})
}

// TestLateUpdateDoesNotReviveADeletedCart: the plugin sends a browser's
// events after its pages, so an update can arrive after the delete that
// followed it; the cart stays deleted. A delete from before the latest
// update is stale.
func TestLateUpdateDoesNotReviveADeletedCart(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t, recovery.ShopSettings{})
	apply := func(kind recovery.EventKind, at time.Duration) recovery.Result {
		t.Helper()
		c := &recovery.Cart{Keys: recovery.CartKeys{CartKey: "k1"}, LastActivityAt: start.Add(at)}
		if kind == recovery.EventCartUpdated {
			c.Contact = recovery.Contact{Email: "kari@example.com"}
			c.Currency = "NOK"
			c.Items = []recovery.LineItem{{Title: "Lamp", Quantity: 1, UnitPrice: 100, LinePrice: 100}}
			c.Totals = recovery.Totals{Total: 100}
		}
		res, err := e.svc.Apply(ctx, e.shop.ID, recovery.Event{Kind: kind, Cart: c})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	e.now = start.Add(time.Minute) // the events arrive a while after they happened
	first := apply(recovery.EventCartUpdated, 0)
	apply(recovery.EventCartDeleted, 2*time.Second) // emptied
	if res := apply(recovery.EventCartUpdated, time.Second); res.Outcome != recovery.OutcomeStale {
		t.Errorf("an update from before the delete, arriving after it: %s", res.Outcome)
	}
	if c := e.cart(first.CartIDs[0]); c.State != recovery.CartDeleted {
		t.Errorf("cart %s after a late update", c.State)
	}
	// A later one (the shopper came back to the same cart) reopens it.
	if res := apply(recovery.EventCartUpdated, 3*time.Second); res.Outcome == recovery.OutcomeStale {
		t.Errorf("an update after the delete: %s", res.Outcome)
	}
	// A delete from before the cart's latest change is stale.
	if res := apply(recovery.EventCartDeleted, 2500*time.Millisecond); res.Outcome != recovery.OutcomeStale {
		t.Errorf("a delete from before the latest update: %s", res.Outcome)
	}

	// The shop's clock runs two minutes ahead of cartback's: its times are
	// compared with its own, so the late update still cannot revive the
	// cart.
	e.now = start.Add(time.Hour)
	apply(recovery.EventCartDeleted, time.Hour+2*time.Minute+time.Second)
	if res := apply(recovery.EventCartUpdated, time.Hour+2*time.Minute); res.Outcome != recovery.OutcomeStale {
		t.Errorf("a late update, the shop's clock ahead: %s", res.Outcome)
	}

	// A delete that gives no time of its own (Shopify's checkouts/delete):
	// its arrival stands in, since a deleted checkout gets no genuine
	// update after it. An update stamped before the arrival is a late one.
	other := func(kind recovery.EventKind, c *recovery.Cart) recovery.Result {
		t.Helper()
		c.Keys = recovery.CartKeys{CartKey: "k2"}
		res, err := e.svc.Apply(ctx, e.shop.ID, recovery.Event{Kind: kind, Cart: c})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	e.now = start.Add(2 * time.Hour)
	item := []recovery.LineItem{{Title: "Lamp", Quantity: 1, UnitPrice: 100, LinePrice: 100}}
	other(recovery.EventCartUpdated, &recovery.Cart{Contact: recovery.Contact{Email: "ola@example.com"}, Currency: "NOK", Items: item, LastActivityAt: start.Add(90 * time.Minute)})
	if res := other(recovery.EventCartDeleted, &recovery.Cart{}); res.Outcome != recovery.OutcomeDeleted {
		t.Fatalf("delete without a time: %s", res.Outcome)
	}
	if res := other(recovery.EventCartUpdated, &recovery.Cart{Contact: recovery.Contact{Email: "ola@example.com"}, Currency: "NOK", Items: item, LastActivityAt: start.Add(119 * time.Minute)}); res.Outcome != recovery.OutcomeStale {
		t.Errorf("an update stamped before a timeless delete arrived: %s", res.Outcome)
	}
	if res := other(recovery.EventCartUpdated, &recovery.Cart{Contact: recovery.Contact{Email: "ola@example.com"}, Currency: "NOK", Items: item, LastActivityAt: start.Add(121 * time.Minute)}); res.Outcome == recovery.OutcomeStale {
		t.Errorf("an update stamped after it: %s", res.Outcome)
	}
}

func TestOrderAroundDueTime(t *testing.T) {
	for _, tc := range []struct {
		name      string
		orderAt   time.Duration
		wantSent  int
		wantSteps string
	}{
		{"before", time.Hour - time.Millisecond, 0, "skipped/converted skipped/converted skipped/converted skipped/converted"},
		{"exactly at", time.Hour, 0, "skipped/converted skipped/converted skipped/converted skipped/converted"},
		{"after", time.Hour + time.Millisecond, 1, "sent skipped/converted skipped/converted skipped/converted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, recovery.ShopSettings{})
			id := e.checkout("a", 0, withSMSConsent)
			e.at(15 * time.Minute)
			if tc.orderAt > time.Hour {
				e.at(time.Hour) // the reminder goes out on time
			}
			// The order lands (its webhook commits) at orderAt; the scheduler
			// runs at orderAt too, after it, as it would on a busy machine.
			e.now = start.Add(tc.orderAt)
			e.order("a", tc.orderAt)
			e.at(tc.orderAt)
			e.at(80 * time.Hour)
			if n := len(e.email.messages()) + len(e.sms.messages()); n != tc.wantSent {
				t.Errorf("sent %d, want %d", n, tc.wantSent)
			}
			e.wantSteps(id, strings.Fields(tc.wantSteps)...)
			c := e.cart(id)
			if c.State != recovery.CartConverted || c.Conversion.Total != 52900 {
				t.Errorf("cart %s %+v", c.State, c.Conversion)
			}
			if wantAttr := map[bool]string{true: recovery.AttributionReminder, false: ""}[tc.wantSent > 0]; c.Conversion.Attribution != wantAttr {
				t.Errorf("attribution %q, want %q", c.Conversion.Attribution, wantAttr)
			}
		})
	}
}

func TestCartUpdatedBetweenSteps(t *testing.T) {
	e := newEngine(t, recovery.ShopSettings{})
	id := e.checkout("a", 0)
	e.at(time.Hour)
	e.at(4 * time.Hour)
	e.wantSteps(id, "sent", "skipped/no_sms_consent", "scheduled", "scheduled")
	// The shopper comes back at 10 h and adds an item.
	e.now = start.Add(10 * time.Hour)
	c := &recovery.Cart{Keys: recovery.CartKeys{CheckoutToken: "a"}, Contact: recovery.Contact{Email: "kari@example.com"}, Currency: "NOK",
		Items:          []recovery.LineItem{{Title: "Lamp", Quantity: 2, UnitPrice: 49900, LinePrice: 99800}},
		Totals:         recovery.Totals{Total: 99800},
		LastActivityAt: start.Add(10 * time.Hour)}
	if _, err := e.svc.Apply(context.Background(), e.shop.ID, recovery.Event{Kind: recovery.EventCartUpdated, Cart: c}); err != nil {
		t.Fatal(err)
	}
	got := e.cart(id)
	if got.State != recovery.CartActive || !got.Steps[2].DueAt.Equal(start.Add(34*time.Hour)) {
		t.Fatalf("after activity: %s, follow-up due %v", got.State, got.Steps[2].DueAt)
	}
	e.at(24 * time.Hour) // the old due time: nothing goes out
	if n := len(e.email.messages()); n != 1 {
		t.Fatalf("%d emails at the old due time", n)
	}
	e.at(34 * time.Hour)
	e.wantSteps(id, "sent", "skipped/no_sms_consent", "sent", "scheduled")
	if msgs := e.email.messages(); len(msgs) != 2 || !strings.Contains(msgs[1].Text, "998.00 NOK") {
		t.Errorf("follow-up does not show the new cart: %v", msgs[len(msgs)-1].Text)
	}
}

func TestOnlyNewestCartOfContactIsReminded(t *testing.T) {
	e := newEngine(t, recovery.ShopSettings{})
	older := e.checkout("old", 0)
	newer := e.checkout("new", 10*time.Minute, withEmail("KARI@example.com"))
	e.at(time.Hour + 10*time.Minute)
	e.wantSteps(older, "skipped/newer_cart", "scheduled", "scheduled", "scheduled")
	e.wantSteps(newer, "sent", "scheduled", "scheduled", "scheduled")
	if msgs := e.email.messages(); len(msgs) != 1 || msgs[0].CartID != newer {
		t.Errorf("emails: %d", len(msgs))
	}
	// The contact buys the newer cart: the older one is not reminded either.
	e.order("new", 2*time.Hour)
	e.at(24 * time.Hour)
	e.at(80 * time.Hour)
	if n := len(e.email.messages()); n != 1 {
		t.Errorf("%d emails after the contact ordered", n)
	}
	if got := e.steps(older)[2]; got != "skipped/contact_ordered" {
		t.Errorf("older cart follow-up: %s", got)
	}
}

func TestFrequencyCapAcrossCarts(t *testing.T) {
	seq := &recovery.Sequence{
		AbandonAfter: recovery.Duration(time.Minute),
		Steps: []recovery.Step{
			{Channel: recovery.ChannelEmail, After: recovery.Duration(time.Hour), Template: "reminder"},
			{Channel: recovery.ChannelEmail, After: recovery.Duration(2 * time.Hour), Template: "follow-up"},
		},
		FrequencyCap: 2, FrequencyWindow: recovery.Duration(24 * time.Hour),
	}
	e := newEngine(t, recovery.ShopSettings{Sequence: seq})
	// Cart a is bought after two reminders; the contact starts cart b.
	a := e.checkout("a", 0)
	e.at(time.Hour)
	e.at(2 * time.Hour)
	e.wantSteps(a, "sent", "sent")
	e.order("a", 2*time.Hour+time.Minute)
	b := e.checkout("b", 3*time.Hour)
	e.at(4 * time.Hour)
	// Two emails in the last 24 h already: cart b's first reminder waits
	// until the oldest leaves the window (25 h), beyond its 6 h deadline.
	e.wantSteps(b, "skipped/frequency_cap", "scheduled")
	e.at(5 * time.Hour)
	e.wantSteps(b, "skipped/frequency_cap", "skipped/frequency_cap")
	e.at(29 * time.Hour)
	if n := len(e.email.messages()); n != 2 {
		t.Errorf("%d emails, want 2", n)
	}
}

func TestDowntimeSendsOnlyWhatIsStillSensible(t *testing.T) {
	e := newEngine(t, recovery.ShopSettings{})
	fresh := e.checkout("fresh", 0)
	stale := e.checkout("stale", -8*24*time.Hour, withEmail("other@example.com"))
	// The service was down until 30 h: the 1 h reminder and the 24 h
	// follow-up both fell due; only the latest is sensible.
	e.at(30 * time.Hour)
	e.wantSteps(fresh, "skipped/superseded", "skipped/superseded", "sent", "scheduled")
	if c := e.cart(stale); c.State != recovery.CartExpired || len(e.email.messages()) != 1 {
		t.Errorf("stale cart %s, %d emails", c.State, len(e.email.messages()))
	}
}

func TestHoldout(t *testing.T) {
	e := newEngine(t, recovery.ShopSettings{HoldoutPercent: 50})
	var held, reminded int
	for i := range 40 {
		e.checkout(fmt.Sprint("c", i), 0, withContact(fmt.Sprintf("s%d@example.com", i), fmt.Sprintf("+479000%04d", i)))
	}
	e.at(time.Hour)
	carts, _ := e.svc.Carts(context.Background(), e.shop.ID, 0, 100)
	for _, c := range carts {
		if c.Holdout {
			held++
			if c.Steps[0].State != recovery.StepSkipped || c.Steps[0].Reason != recovery.ReasonHoldout {
				t.Errorf("holdout cart step: %+v", c.Steps[0])
			}
		} else {
			reminded++
		}
	}
	if held < 8 || reminded < 8 || len(e.email.messages()) != reminded {
		t.Errorf("held %d, reminded %d, emails %d", held, reminded, len(e.email.messages()))
	}
	st, err := e.svc.Stats(context.Background(), e.shop.ID, start.Add(-time.Hour), start.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if st.Holdout.Abandoned != held || st.Reminding.Abandoned != reminded {
		t.Errorf("stats groups: %+v %+v", st.Holdout, st.Reminding)
	}
	// One reminded cart bought: the recovery rate is of the carts that
	// could be reminded, not of the holdout too.
	for _, c := range carts {
		if !c.Holdout {
			e.order(c.Keys.CheckoutToken, 2*time.Hour)
			break
		}
	}
	st, _ = e.svc.Stats(context.Background(), e.shop.ID, start.Add(-time.Hour), start.Add(time.Hour))
	if want := 1 / float64(reminded); st.RecoveryRate != want {
		t.Errorf("recovery rate %v, want %v (1 of %d reminded)", st.RecoveryRate, want, reminded)
	}
}

func TestTemporaryFailureRetriesWithoutDuplicate(t *testing.T) {
	e := newEngine(t, recovery.ShopSettings{})
	e.email.fail = func(int) error { return &recovery.SendError{Temporary: true, Code: "421", Message: "try later"} }
	id := e.checkout("a", 0)
	e.at(time.Hour)
	c := e.cart(id)
	if c.Steps[0].State != recovery.StepScheduled || !c.Steps[0].NotBefore.After(e.now) {
		t.Fatalf("after a temporary failure: %+v", c.Steps[0])
	}
	e.email.fail = nil
	e.at(2 * time.Hour)
	e.wantSteps(id, "sent", "scheduled", "scheduled", "scheduled")
	if n := len(e.email.messages()); n != 1 {
		t.Errorf("%d copies", n)
	}
	// A permanent failure is final.
	e.email.fail = func(int) error { return &recovery.SendError{Code: "550", Message: "no such user"} }
	e.at(24 * time.Hour)
	if c := e.cart(id); c.Steps[2].State != recovery.StepFailed || !strings.Contains(c.Steps[2].Reason, "550") {
		t.Errorf("permanent failure: %+v", c.Steps[2])
	}
}

func TestInterruptedSendBecomesUnknown(t *testing.T) {
	e := newEngine(t, recovery.ShopSettings{})
	id := e.checkout("a", 0)
	// A sender that never returns stands for a crash mid-call: claim the
	// step, then abandon the scheduler as a killed process would.
	block := make(chan struct{})
	e.email.fail = func(int) error { <-block; return nil }
	e.now = start.Add(time.Hour)
	crashed := make(chan struct{})
	go func() {
		defer close(crashed)
		e.sched.RunDue(context.Background())
	}()
	deadline := time.Now().Add(10 * time.Second)
	for e.cart(id).Steps == nil || e.cart(id).Steps[0].State != recovery.StepSending {
		if time.Now().After(deadline) {
			t.Fatal("step never claimed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// A new scheduler (the restarted process) resolves it without sending.
	restarted := &recovery.Scheduler{Service: e.svc, Signer: e.sched.Signer, Logger: e.sched.Logger, Senders: map[recovery.Channel]recovery.Sender{recovery.ChannelEmail: &recordingSender{}}}
	if err := restarted.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.wantSteps(id, "unknown/interrupted", "scheduled", "scheduled", "scheduled")
	// The old call returning late must not overwrite the unknown state.
	close(block)
	<-crashed
	e.wantSteps(id, "unknown/interrupted", "scheduled", "scheduled", "scheduled")
}

func TestOutboxWhenNoProvider(t *testing.T) {
	e := newEngine(t, recovery.ShopSettings{})
	e.sched.Senders = nil
	id := e.checkout("a", 0)
	e.at(time.Hour)
	e.wantSteps(id, "outbox", "scheduled", "scheduled", "scheduled")
	var msgs []*recovery.Message
	e.db.View(context.Background(), func(tx recovery.Tx) (err error) {
		msgs, err = tx.Messages(e.shop.ID, 0, 10, nil)
		return err
	})
	if len(msgs) != 1 || msgs[0].Status != recovery.MessageOutbox || msgs[0].Text == "" || msgs[0].To != "kari@example.com" {
		t.Fatalf("outbox: %+v", msgs)
	}
}

func TestRetentionKeepsAnonymousFigures(t *testing.T) {
	e := newEngine(t, recovery.ShopSettings{RetentionDays: 30})
	e.sched.Senders = nil // outbox
	oldID := e.checkout("old", 0)
	e.at(time.Hour)
	e.order("old", 2*time.Hour)
	// 40 days later a new cart arrives; the old one is past retention.
	newID := e.checkout("new", 40*24*time.Hour, withContact("new@example.com", "+4790000001"))
	e.at(40*24*time.Hour + 2*time.Hour)
	before, err := e.svc.Stats(context.Background(), e.shop.ID, start.Add(-24*time.Hour), start.Add(50*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	n, err := e.svc.Expire(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("Expire = %d, %v; want 1", n, err)
	}
	if _, err := e.svc.Cart(context.Background(), e.shop.ID, oldID); recovery.ErrorCode(err) != recovery.ENOTFOUND {
		t.Errorf("old cart still there: %v", err)
	}
	if _, err := e.svc.Cart(context.Background(), e.shop.ID, newID); err != nil {
		t.Errorf("new cart erased: %v", err)
	}
	var msgs []*recovery.Message
	e.db.View(context.Background(), func(tx recovery.Tx) (err error) {
		msgs, err = tx.Messages(e.shop.ID, 0, 100, nil)
		return err
	})
	for _, m := range msgs {
		if m.CartID == oldID {
			t.Errorf("message of the erased cart kept: %+v", m)
		}
	}
	after, err := e.svc.Stats(context.Background(), e.shop.ID, start.Add(-24*time.Hour), start.Add(50*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if after.Captured != before.Captured || after.Reminded != before.Reminded || after.RecoveredAfterReminder != 1 ||
		after.RecoveredRevenue["NOK"] != before.RecoveredRevenue["NOK"] || len(after.StepList) != len(before.StepList) {
		t.Errorf("figures changed by retention:\nbefore %+v\nafter  %+v", before.Figures, after.Figures)
	}
	// Running it again finds nothing more.
	if n, _ := e.svc.Expire(context.Background()); n != 0 {
		t.Errorf("second run erased %d", n)
	}
	// The day before the old cart's, up to its midnight, still has none:
	// the erased cart's day is not read into a period that ends where it
	// begins.
	midnight := time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, time.UTC)
	dayBefore, err := e.svc.Stats(context.Background(), e.shop.ID, midnight.Add(-24*time.Hour), midnight)
	if err != nil || dayBefore.Captured != 0 || len(dayBefore.RecoveredRevenue) != 0 {
		t.Errorf("the day before the erased cart's: captured %d, revenue %v, %v", dayBefore.Captured, dayBefore.RecoveredRevenue, err)
	}
}

func TestClickCreditsLinkAndAppliesDiscount(t *testing.T) {
	e := newEngine(t, recovery.ShopSettings{DiscountCode: "BACK10"})
	id := e.checkout("a", 0)
	e.at(72 * time.Hour) // reminder and follow-up superseded: the incentive goes
	msgs := e.email.messages()
	if len(msgs) != 1 || msgs[0].DiscountCode != "BACK10" {
		t.Fatalf("incentive: %+v", msgs)
	}
	token := strings.TrimPrefix(msgs[0].RestoreURL, "https://cb.example.com/r/")
	v, err := e.svc.Visit(context.Background(), e.sched.Signer, token, "Mozilla/5.0 (Windows NT 10.0)")
	if err != nil || v.Outcome != recovery.VisitRestored {
		t.Fatalf("visit: %+v %v", v, err)
	}
	want := "https://demo.myshopify.com/discount/BACK10?redirect=%2Fcheckouts%2Fa%2Frecover"
	if v.Redirect != want {
		t.Errorf("redirect %q, want %q", v.Redirect, want)
	}
	e.now = start.Add(73 * time.Hour)
	e.order("a", 73*time.Hour)
	c := e.cart(id)
	if c.Conversion.Attribution != recovery.AttributionLink || c.Conversion.AttributedStep != 3 {
		t.Errorf("conversion: %+v", c.Conversion)
	}
	st, _ := e.svc.Stats(context.Background(), e.shop.ID, start.Add(-time.Hour), start.Add(100*time.Hour))
	if st.RecoveredViaLink != 1 || st.Clicked != 1 || st.MobileClickShare != 0 || st.RecoveryRate != 1 || st.AverageOrderValue["NOK"] != 52900 {
		t.Errorf("stats: %+v", st)
	}
	if len(st.StepList) != 4 || st.StepList[3].Recovered != 1 || st.StepList[3].Clicked != 1 || st.StepList[0].Skipped != 1 {
		t.Errorf("per step: %+v %+v", st.StepList[0], st.StepList[3])
	}
	// A checkout on another host gets the code as a query parameter.
	if v := recovery.WithDiscountForTest("https://checkout.example.net/c/1/recover?x=1", "BACK10"); v != "https://checkout.example.net/c/1/recover?discount=BACK10&x=1" {
		t.Errorf("other host: %s", v)
	}
}

func TestSMSQuietHoursInRecipientZone(t *testing.T) {
	for _, tc := range []struct{ phone, zone string }{
		{"+12125550123", "America/New_York"},
		{"+13105550123", "America/Los_Angeles"},
		{"+4791234567", "Europe/Oslo"},
		{"+46701234567", "Europe/Stockholm"},
		{"+358401234567", "Europe/Helsinki"},
		{"+4915112345678", "Europe/Berlin"},
		{"+61291234567", "Australia/Sydney"},
	} {
		t.Run(tc.zone, func(t *testing.T) {
			seq := &recovery.Sequence{AbandonAfter: recovery.Duration(time.Minute), Steps: []recovery.Step{
				{Channel: recovery.ChannelSMS, After: recovery.Duration(time.Hour), Template: "reminder"},
			}}
			e := newEngine(t, recovery.ShopSettings{Sequence: seq, TimeZone: "Pacific/Auckland"})
			e.svc.PhoneZones = phone.TimeZones
			loc, _ := time.LoadLocation(tc.zone)
			// Last activity 22:30 local: the text falls due at 23:30 there.
			local := start.In(loc)
			activity := time.Date(local.Year(), local.Month(), local.Day()+1, 22, 30, 0, 0, loc)
			id := e.checkout("a", activity.Sub(start), withSMSConsent, withContact("q@example.com", tc.phone))
			e.at(activity.Sub(start) + time.Hour)
			if got := e.steps(id); got[0] != "scheduled/quiet_hours" {
				t.Fatalf("at 23:30 local: %v", got)
			}
			morning := time.Date(activity.Year(), activity.Month(), activity.Day()+1, 9, 0, 0, 0, loc)
			e.at(morning.Sub(start) - time.Minute)
			if n := len(e.sms.messages()); n != 0 {
				t.Fatalf("%d texts before 09:00 local", n)
			}
			e.at(morning.Sub(start))
			c := e.cart(id)
			if c.Steps[0].State != recovery.StepSent || !c.Steps[0].ClaimedAt.Equal(morning) {
				t.Errorf("text: %+v, want sent at %v", c.Steps[0], morning)
			}
			if msgs := e.sms.messages(); len(msgs) != 1 || !strings.HasSuffix(msgs[0].Text, "Reply STOP to opt out") || msgs[0].Encoding != "GSM-7" || msgs[0].Segments != 1 {
				t.Errorf("sms: %+v", msgs)
			}
		})
	}
}

// A number that could be anywhere in a wide country (an Australian
// mobile: Perth to Sydney and beyond) is texted only when it is daytime in
// every zone it leaves open, not in the shop's zone.
func TestSMSQuietHoursForANumberOfAWideCountry(t *testing.T) {
	const number = "+61412345678"
	seq := &recovery.Sequence{AbandonAfter: recovery.Duration(time.Minute), Steps: []recovery.Step{
		{Channel: recovery.ChannelSMS, After: recovery.Duration(time.Hour), Template: "reminder"},
	}}
	e := newEngine(t, recovery.ShopSettings{Sequence: seq, TimeZone: "Australia/Sydney"})
	e.svc.PhoneZones = phone.TimeZones
	sydney, _ := time.LoadLocation("Australia/Sydney")
	perth, _ := time.LoadLocation("Australia/Perth")
	// Last activity 09:00 in Sydney: due at 10:00 there, 07:00 in Perth.
	local := start.In(sydney)
	activity := time.Date(local.Year(), local.Month(), local.Day()+1, 9, 0, 0, 0, sydney)
	id := e.checkout("a", activity.Sub(start), withSMSConsent, withContact("q@example.com", number))
	e.at(activity.Sub(start) + time.Hour)
	if got := e.steps(id); got[0] != "scheduled/quiet_hours" {
		t.Fatalf("at 10:00 in Sydney, 07:00 in Perth: %v", got)
	}
	perthMorning := time.Date(activity.Year(), activity.Month(), activity.Day(), 9, 0, 0, 0, perth)
	e.at(perthMorning.Sub(start) - time.Minute)
	if n := len(e.sms.messages()); n != 0 {
		t.Fatalf("%d texts before 09:00 in Perth", n)
	}
	e.at(perthMorning.Sub(start) + 3*time.Hour)
	c := e.cart(id)
	if c.Steps[0].State != recovery.StepSent {
		t.Fatalf("text: %+v", c.Steps[0])
	}
	for _, name := range phone.TimeZones(number) {
		loc, _ := time.LoadLocation(name)
		if h := c.Steps[0].ClaimedAt.In(loc).Hour(); h < 9 || h >= 21 {
			t.Errorf("sent at %s in %s", c.Steps[0].ClaimedAt.In(loc).Format("15:04"), name)
		}
	}
}

// A STOP to the sending number holds for every shop, also one that had no
// cart of the number when it came: all shops text from that number.
func TestSMSStopHoldsForEveryShop(t *testing.T) {
	ctx := context.Background()
	seq := &recovery.Sequence{AbandonAfter: recovery.Duration(time.Minute), Steps: []recovery.Step{
		{Channel: recovery.ChannelSMS, After: recovery.Duration(time.Hour), Template: "reminder"},
	}}
	e := newEngine(t, recovery.ShopSettings{Sequence: seq})
	other, err := e.svc.CreateShop(ctx, &recovery.Shop{Platform: recovery.PlatformShopify, Domain: "other.myshopify.com", WebhookSecret: "0123456789abcdef-other", Settings: recovery.ShopSettings{Sequence: seq}})
	if err != nil {
		t.Fatal(err)
	}
	first := e.shop
	// The number has a cart in the first shop only when it says STOP.
	a := e.checkout("a", 2*time.Hour, withContact("a@example.com", "+4792222222"), withSMSConsent)
	if n, err := e.svc.SetOptOut(ctx, recovery.ChannelSMS, "+4792222222", true, "sms_reply"); err != nil || n != 1 {
		t.Fatalf("SetOptOut = %d, %v", n, err)
	}
	e.at(3 * time.Hour)
	e.wantSteps(a, "skipped/opted_out")
	// The other shop, which had no cart of it, does not text it either.
	e.shop = other
	b := e.checkout("b", 3*time.Hour, withContact("b@example.com", "+4792222222"), withSMSConsent)
	e.at(4 * time.Hour)
	e.wantSteps(b, "skipped/opted_out")
	// START undoes it, for every shop, also where retention has erased
	// the carts of the number since.
	e.now = start.Add(100 * 24 * time.Hour)
	if n, err := e.svc.Expire(ctx); err != nil || n != 2 {
		t.Fatalf("Expire = %d, %v", n, err)
	}
	if _, err := e.svc.SetOptOut(ctx, recovery.ChannelSMS, "+4792222222", false, "sms_reply"); err != nil {
		t.Fatal(err)
	}
	later := 100*24*time.Hour + 2*time.Hour // 10:00 UTC
	for _, sh := range []*recovery.Shop{first, other} {
		e.shop = sh
		c := e.checkout("c-"+sh.Domain, later, withContact("c@example.com", "+4792222222"), withSMSConsent)
		e.at(later + time.Hour)
		e.wantSteps(c, "sent")
	}
}

func TestSMSFrequencyRule(t *testing.T) {
	seq := &recovery.Sequence{AbandonAfter: recovery.Duration(time.Minute), FrequencyCap: 5, Steps: []recovery.Step{
		{Channel: recovery.ChannelSMS, After: recovery.Duration(time.Hour), Template: "reminder"},
		{Channel: recovery.ChannelSMS, After: recovery.Duration(5 * time.Hour), Template: "follow-up"},
		{Channel: recovery.ChannelEmail, After: recovery.Duration(6 * time.Hour), Template: "follow-up"},
	}}
	e := newEngine(t, recovery.ShopSettings{Sequence: seq})
	id := e.checkout("a", 0, withSMSConsent)
	e.at(time.Hour)
	e.at(5 * time.Hour)
	e.at(6 * time.Hour)
	// A second text within 48 h would wait past its deadline: dropped.
	e.wantSteps(id, "sent", "skipped/sms_frequency_cap", "sent")
	// Another cart of the same contact two days later may be texted again.
	b := e.checkout("b", 50*time.Hour, withSMSConsent)
	e.at(51 * time.Hour)
	e.wantSteps(b, "sent", "scheduled", "scheduled")
}

func TestStrictEmailConsent(t *testing.T) {
	e := newEngine(t, recovery.ShopSettings{EmailConsent: recovery.EmailConsentMarketing})
	without := e.checkout("a", 0, withContact("no@example.com", "+4790000001"))
	with := e.checkout("b", 0, withContact("yes@example.com", "+4790000002"), func(c *recovery.Cart) {
		c.Consent.Email = recovery.ConsentGrant{Granted: true, Source: "test"}
	})
	e.at(time.Hour)
	e.wantSteps(without, "skipped/no_email_consent", "scheduled", "scheduled", "scheduled")
	e.wantSteps(with, "sent", "scheduled", "scheduled", "scheduled")
}

func TestOptOutStopsNextStep(t *testing.T) {
	e := newEngine(t, recovery.ShopSettings{})
	id := e.checkout("a", 0)
	e.at(time.Hour)
	msgs := e.email.messages()
	token := strings.TrimPrefix(msgs[0].UnsubscribeURL, "https://cb.example.com/u/")
	if _, err := e.svc.Unsubscribe(context.Background(), e.sched.Signer, token, true); err != nil {
		t.Fatal(err)
	}
	e.at(24 * time.Hour)
	e.wantSteps(id, "sent", "skipped/superseded", "skipped/opted_out", "scheduled")
}

func TestTemporaryFailuresStopAtDeadline(t *testing.T) {
	e := newEngine(t, recovery.ShopSettings{Sequence: &recovery.Sequence{Steps: []recovery.Step{
		{Channel: recovery.ChannelEmail, After: recovery.Duration(time.Hour), Template: "reminder"},
	}}})
	var calls int
	e.email.fail = func(int) error {
		calls++
		return &recovery.SendError{Temporary: true, Code: "421", Message: "busy"}
	}
	id := e.checkout("a", 0)
	for d := time.Hour; d <= 8*time.Hour; d += 10 * time.Minute {
		e.at(d)
	}
	c := e.cart(id)
	if c.Steps[0].State != recovery.StepFailed || !strings.Contains(c.Steps[0].Reason, "421") {
		t.Errorf("after the deadline: %+v", c.Steps[0])
	}
	if calls < 3 || calls > 40 {
		t.Errorf("%d attempts", calls)
	}
	if n := len(e.email.messages()); n != 0 {
		t.Errorf("%d delivered", n)
	}
}

func TestProviderOptOutStopsNextText(t *testing.T) {
	seq := &recovery.Sequence{AbandonAfter: recovery.Duration(time.Minute), FrequencyCap: 9, SMSFrequencyCap: 9, Steps: []recovery.Step{
		{Channel: recovery.ChannelSMS, After: recovery.Duration(time.Hour), Template: "reminder"},
		{Channel: recovery.ChannelSMS, After: recovery.Duration(2 * time.Hour), Template: "follow-up"},
	}}
	e := newEngine(t, recovery.ShopSettings{Sequence: seq})
	// Twilio answers 21610: the recipient replied STOP to an earlier sender.
	e.sms.fail = func(int) error {
		return &recovery.SendError{Code: "21610", Message: "Attempt to send to unsubscribed recipient", StopContact: true}
	}
	id := e.checkout("a", 0, withSMSConsent)
	e.at(time.Hour)
	e.sms.fail = nil
	e.at(2 * time.Hour)
	e.wantSteps(id, "failed/Attempt to send to unsubscribed recipient (code 21610)", "skipped/opted_out")
	if n := len(e.sms.messages()); n != 0 {
		t.Errorf("%d texts after the provider's opt-out", n)
	}
}

// An email provider's opt-out (a hard bounce, a complaint) names the
// address as the message had it; the shopper typed it with capitals, and
// the next email must still be stopped.
func TestProviderOptOutStopsNextEmailWhateverTheCase(t *testing.T) {
	seq := &recovery.Sequence{AbandonAfter: recovery.Duration(time.Minute), FrequencyCap: 9, Steps: []recovery.Step{
		{Channel: recovery.ChannelEmail, After: recovery.Duration(time.Hour), Template: "reminder"},
		{Channel: recovery.ChannelEmail, After: recovery.Duration(2 * time.Hour), Template: "follow-up"},
	}}
	e := newEngine(t, recovery.ShopSettings{Sequence: seq})
	e.email.fail = func(int) error {
		return &recovery.SendError{Code: "550", Message: "gone", StopContact: true}
	}
	id := e.checkout("a", 0, withEmail("Kari.Nordmann@Example.com"))
	e.at(time.Hour)
	e.email.fail = nil
	e.at(2 * time.Hour)
	e.wantSteps(id, "failed/gone (code 550)", "skipped/opted_out")
	if n := len(e.email.messages()); n != 0 {
		t.Errorf("%d emails after the provider's opt-out", n)
	}
}

// issuer stands in for a platform that creates single-use codes.
type issuer struct {
	fail  bool
	calls int
}

func (i *issuer) IssueDiscount(_ context.Context, _ *recovery.Shop, c *recovery.Cart, pct int, exp time.Time) (string, error) {
	i.calls++
	if i.fail {
		return "", fmt.Errorf("store unreachable")
	}
	return fmt.Sprintf("CB-%d-%d", c.ID, pct), nil
}

func TestUniqueDiscountForIncentive(t *testing.T) {
	for _, fail := range []bool{false, true} {
		e := newEngine(t, recovery.ShopSettings{DiscountCode: "STATIC10", UniqueDiscountPercent: 15})
		iss := &issuer{fail: fail}
		e.sched.Discounts = map[recovery.Platform]recovery.DiscountIssuer{recovery.PlatformShopify: iss}
		id := e.checkout("a", 0)
		for _, d := range []time.Duration{time.Hour, 4 * time.Hour, 24 * time.Hour, 72 * time.Hour} {
			e.at(d)
		}
		msgs := e.email.messages()
		want := fmt.Sprintf("CB-%d-15", id)
		if fail {
			want = "STATIC10" // the reminder still goes, with the shop's code
		}
		last := msgs[len(msgs)-1]
		if iss.calls != 1 || last.DiscountCode != want || !strings.Contains(last.Text, want) {
			t.Errorf("fail=%v: %d calls, incentive code %q, want %q", fail, iss.calls, last.DiscountCode, want)
		}
		if got := e.cart(id).Steps[3].DiscountCode; got != want {
			t.Errorf("fail=%v: stored step code %q, want %q (the restore link applies it)", fail, got, want)
		}
	}
}

// orderDuringCall plays an order webhook that lands while the scheduler
// is talking to the store, before the reminder goes.
type orderDuringCall struct {
	e     *engine
	token string
	calls int
}

func (o *orderDuringCall) Purchased(context.Context, *recovery.Shop, *recovery.Cart) (bool, error) {
	o.calls++
	o.e.order(o.token, o.e.now.Sub(start))
	return false, nil // the store had not seen the order when it answered
}

func (o *orderDuringCall) IssueDiscount(_ context.Context, _ *recovery.Shop, c *recovery.Cart, pct int, _ time.Time) (string, error) {
	o.calls++
	o.e.order(o.token, o.e.now.Sub(start))
	return fmt.Sprintf("CB-%d-%d", c.ID, pct), nil
}

func TestOrderDuringThePlatformCallStopsTheReminder(t *testing.T) {
	t.Run("purchase check", func(t *testing.T) {
		e := newEngine(t, recovery.ShopSettings{})
		call := &orderDuringCall{e: e, token: "a"}
		e.sched.Purchases = map[recovery.Platform]recovery.PurchaseChecker{recovery.PlatformShopify: call}
		id := e.checkout("a", 0)
		e.at(time.Hour)
		if call.calls != 1 || len(e.email.messages()) != 0 {
			t.Errorf("%d calls, %d emails sent to a shopper who bought during the check", call.calls, len(e.email.messages()))
		}
		e.wantSteps(id, "skipped/converted", "skipped/converted", "skipped/converted", "skipped/converted")
	})
	t.Run("single-use discount", func(t *testing.T) {
		e := newEngine(t, recovery.ShopSettings{UniqueDiscountPercent: 15})
		call := &orderDuringCall{e: e, token: "a"}
		e.sched.Discounts = map[recovery.Platform]recovery.DiscountIssuer{recovery.PlatformShopify: call}
		id := e.checkout("a", 0)
		for _, d := range []time.Duration{time.Hour, 24 * time.Hour, 72 * time.Hour} {
			e.at(d)
		}
		if call.calls != 1 || len(e.email.messages()) != 2 {
			t.Errorf("%d calls, %d emails; want the incentive held back", call.calls, len(e.email.messages()))
		}
		e.wantSteps(id, "sent", "skipped/superseded", "sent", "skipped/converted")
	})
}

func TestClickRecorderWritesEverythingOnClose(t *testing.T) {
	e := newEngine(t, recovery.ShopSettings{})
	id := e.checkout("a", 0)
	rec := recovery.NewClickRecorder(e.db, 10000, slog.New(slog.DiscardHandler))
	for i := range 3000 {
		if !rec.Record(&recovery.Click{ShopID: e.shop.ID, CartID: id, Step: i % 3, At: start}) {
			t.Fatalf("click %d declined with room in the queue", i)
		}
	}
	rec.Record(&recovery.Click{ShopID: e.shop.ID, CartID: 999999, At: start}) // a cart that is gone
	rec.Close()
	if rec.Record(&recovery.Click{CartID: id}) {
		t.Error("a closed recorder took a click")
	}
	_, _, clicks, err := e.svc.CartTimeline(context.Background(), e.shop.ID, id)
	if err != nil || len(clicks) != 3000 {
		t.Errorf("%d clicks stored, %v", len(clicks), err)
	}
}

// updateCounter is a Store that counts write transactions.
type updateCounter struct {
	recovery.Store
	mu      sync.Mutex
	updates int
}

func (u *updateCounter) Update(ctx context.Context, fn func(recovery.Tx) error) error {
	u.mu.Lock()
	u.updates++
	u.mu.Unlock()
	return u.Store.Update(ctx, fn)
}

// Clicks that trickle in are gathered into a few transactions, not one
// each: under a burst the writer stays free for everything else.
func TestClickRecorderGathersClicks(t *testing.T) {
	e := newEngine(t, recovery.ShopSettings{})
	id := e.checkout("a", 0)
	counter := &updateCounter{Store: e.db}
	rec := recovery.NewClickRecorder(counter, 1000, slog.New(slog.DiscardHandler))
	const n = 40
	for i := range n {
		rec.Record(&recovery.Click{ShopID: e.shop.ID, CartID: id, Step: i % 3, At: start})
		time.Sleep(time.Millisecond) // one shopper after another
	}
	rec.Close()
	if counter.updates > n/4 {
		t.Errorf("%d clicks over about %d ms took %d transactions", n, n, counter.updates)
	}
	if _, _, clicks, err := e.svc.CartTimeline(context.Background(), e.shop.ID, id); err != nil || len(clicks) != n {
		t.Errorf("%d clicks stored, %v", len(clicks), err)
	}
}

func TestABVariants(t *testing.T) {
	seq := &recovery.Sequence{AbandonAfter: recovery.Duration(time.Minute), FrequencyCap: 9, Steps: []recovery.Step{
		{Channel: recovery.ChannelEmail, After: recovery.Duration(time.Hour), Template: "reminder",
			Variants: []recovery.Variant{{Name: "A", Weight: 50}, {Name: "B", Weight: 50}}},
	}}
	e := newEngine(t, recovery.ShopSettings{Sequence: seq})
	ids := map[string]uint64{}
	for i := range 400 {
		tok := fmt.Sprint("v", i)
		ids[tok] = e.checkout(tok, 0, withContact(fmt.Sprintf("v%d@example.com", i), fmt.Sprintf("+479100%04d", i)))
	}
	e.at(time.Hour)
	count := map[string]int{}
	for _, m := range e.email.messages() {
		count[m.Variant]++
	}
	if len(e.email.messages()) != 400 || count["A"] < 150 || count["B"] < 150 {
		t.Fatalf("variants sent: %v", count)
	}
	// The same cart always gets the same wording: the same checkouts in a
	// second engine are assigned the same variants.
	e2 := newEngine(t, recovery.ShopSettings{Sequence: seq})
	for i := range 400 {
		tok := fmt.Sprint("v", i)
		id := e2.checkout(tok, 0, withContact(fmt.Sprintf("v%d@example.com", i), fmt.Sprintf("+479100%04d", i)))
		if id != ids[tok] {
			t.Fatalf("cart ids differ between engines: %d, %d", id, ids[tok])
		}
	}
	e2.at(time.Hour)
	for tok, id := range ids {
		if a, b := e.cart(id).Steps[0].Variant, e2.cart(id).Steps[0].Variant; a != b || a == "" {
			t.Fatalf("cart %s: variant %q, then %q: assignment is not stable", tok, a, b)
		}
	}
	// B's carts are bought far more often than A's.
	e.now = start.Add(2 * time.Hour)
	for tok, id := range ids {
		c := e.cart(id)
		if c.Steps[0].Variant == "B" || (c.Steps[0].Variant == "A" && id%10 == 0) {
			e.order(tok, 2*time.Hour)
		}
	}
	st, err := e.svc.Stats(context.Background(), e.shop.ID, start.Add(-time.Hour), start.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	vs := st.StepList[0].Variants
	if len(vs) != 2 || vs[0].Variant != "A" || vs[1].Variant != "B" {
		t.Fatalf("variants: %+v", vs)
	}
	if vs[1].RecoveryRate != 1 || vs[0].RecoveryRate > 0.2 || !vs[1].Significant || vs[1].PValue >= 0.05 || vs[0].PValue != 0 {
		t.Errorf("A %+v\nB %+v", *vs[0], *vs[1])
	}
	// A variant outside A-D is refused, naming the field.
	if err := (recovery.Sequence{Steps: []recovery.Step{{Channel: "email", After: recovery.Duration(time.Hour), Template: "reminder",
		Variants: []recovery.Variant{{Name: "E", Weight: 1}}}}}).Validate(); recovery.ErrorCode(err) != recovery.EINVALID || !strings.Contains(recovery.ErrorMessage(err), "steps[0].variants[0].name") {
		t.Errorf("bad variant name: %v", err)
	}
}

func TestUnreadableNumberIsNeverTexted(t *testing.T) {
	seq := &recovery.Sequence{AbandonAfter: recovery.Duration(time.Minute), Steps: []recovery.Step{
		{Channel: recovery.ChannelSMS, After: recovery.Duration(time.Hour), Template: "reminder"},
	}}
	e := newEngine(t, recovery.ShopSettings{Sequence: seq})
	// The decoders keep a number they could not read only as typed.
	id := e.checkout("a", 0, withSMSConsent, func(c *recovery.Cart) { c.Contact.Phone, c.Contact.PhoneRaw = "", "12-34" })
	e.at(time.Hour)
	e.wantSteps(id, "skipped/no_address")
	if n := len(e.sms.messages()); n != 0 {
		t.Errorf("%d texts to an unreadable number", n)
	}
}

// stored returns the cart as the database holds it, without the settling
// that every read through the service applies.
func (e *engine) stored(id uint64) *recovery.Cart {
	e.t.Helper()
	var c *recovery.Cart
	if err := e.db.View(context.Background(), func(tx recovery.Tx) (err error) { c, err = tx.Cart(id); return err }); err != nil {
		e.t.Fatal(err)
	}
	return c
}

// The scheduler writes an abandonment together with the first step, one
// transaction instead of two, and nobody can tell: views, figures, orders
// and returning shoppers all see the cart abandoned since its cut-off.
func TestAbandonmentIsWrittenWithTheFirstStep(t *testing.T) {
	e := newEngine(t, recovery.ShopSettings{})
	bought := e.checkout("bought", 0, withContact("bought@example.com", "+4791000001"))
	back := e.checkout("back", 0, withContact("back@example.com", "+4791000002"))
	waiting := e.checkout("waiting", 0, withContact("waiting@example.com", "+4791000003"))
	cutoff := start.Add(recovery.DefaultAbandonAfter)

	e.at(20 * time.Minute)
	for _, id := range []uint64{bought, back, waiting} {
		if c := e.stored(id); c.State != recovery.CartActive || !c.NextDueAt.Equal(start.Add(time.Hour)) || len(c.Steps) != 0 {
			t.Fatalf("stored before the first step: %s, due %v, %d steps", c.State, c.NextDueAt, len(c.Steps))
		}
		if c := e.cart(id); c.State != recovery.CartAbandoned || !c.AbandonedAt.Equal(cutoff) || len(c.Steps) != 4 {
			t.Fatalf("seen at 20 min: %s since %v, %d steps", c.State, c.AbandonedAt, len(c.Steps))
		}
	}
	stats, err := e.svc.Stats(context.Background(), e.shop.ID, start.Add(-time.Hour), start.Add(time.Hour))
	if err != nil || stats.Captured != 3 || stats.Abandoned != 3 {
		t.Fatalf("figures at 20 min: %+v %v", stats, err)
	}

	// Bought after the cut-off: abandoned first, then converted.
	e.order("bought", 30*time.Minute)
	if c := e.stored(bought); c.State != recovery.CartConverted || !c.AbandonedAt.Equal(cutoff) {
		t.Errorf("bought: %s, abandoned at %v", c.State, c.AbandonedAt)
	}
	e.wantSteps(bought, "skipped/converted", "skipped/converted", "skipped/converted", "skipped/converted")

	// Back with a changed cart: active again, the episode counts from now.
	e.checkout("back", 40*time.Minute, withContact("back@example.com", "+4791000002"), func(c *recovery.Cart) { c.Items[0].Quantity, c.Totals.Total = 2, 99800 })
	if c := e.stored(back); c.State != recovery.CartActive || len(c.Steps) != 4 || !c.Steps[0].DueAt.Equal(start.Add(100*time.Minute)) {
		t.Errorf("back: %s, %d steps, first due %v", c.State, len(c.Steps), c.NextDueAt)
	}

	e.at(time.Hour)
	if c := e.stored(waiting); c.State != recovery.CartAbandoned || !c.AbandonedAt.Equal(cutoff) || c.Steps[0].State != recovery.StepSent {
		t.Errorf("waiting at 1 h: %s since %v, steps %+v", c.State, c.AbandonedAt, c.Steps)
	}
	if n := len(e.email.messages()); n != 1 {
		t.Fatalf("%d emails at 1 h, want 1 (the returning shopper's comes later)", n)
	}
	e.at(100 * time.Minute)
	if n := len(e.email.messages()); n != 2 {
		t.Errorf("%d emails at 1 h 40 min, want 2", n)
	}
	stats, err = e.svc.Stats(context.Background(), e.shop.ID, start.Add(-time.Hour), start.Add(time.Hour))
	if err != nil || stats.Abandoned != 3 || stats.Reminded != 2 {
		t.Errorf("figures at the end: %+v %v", stats.Figures, err)
	}
}

// A shorter sequence reaches carts already waiting for their first step:
// they are due when the step is, so a change re-times them.
func TestSequenceChangeRetimesWaitingCarts(t *testing.T) {
	e := newEngine(t, recovery.ShopSettings{})
	waitingID := e.checkout("waiting", 0, withContact("waiting@example.com", "+4791000001"))
	e.at(10 * time.Minute)
	seq := recovery.Sequence{AbandonAfter: recovery.Duration(15 * time.Minute), Steps: []recovery.Step{
		{Channel: recovery.ChannelEmail, After: recovery.Duration(30 * time.Minute), Template: recovery.TemplateReminder},
	}}
	if _, err := e.svc.UpdateSequence(context.Background(), e.shop.ID, seq); err != nil {
		t.Fatal(err)
	}
	if c := e.stored(waitingID); !c.NextDueAt.Equal(start.Add(30 * time.Minute)) {
		t.Fatalf("waiting cart due at %v, want the new first step at 30 min", c.NextDueAt)
	}
	e.at(30 * time.Minute)
	if n := len(e.email.messages()); n != 1 {
		t.Errorf("%d emails at 30 min, want 1", n)
	}
	// A longer one moves the wait out again; the same one again changes nothing.
	later := e.checkout("later", 30*time.Minute, withContact("later@example.com", "+4791000002"))
	seq.Steps[0].After = recovery.Duration(2 * time.Hour)
	if _, err := e.svc.UpdateSequence(context.Background(), e.shop.ID, seq); err != nil {
		t.Fatal(err)
	}
	c := e.stored(later)
	if !c.NextDueAt.Equal(start.Add(150 * time.Minute)) {
		t.Errorf("later cart due at %v, want 2 h after its activity", c.NextDueAt)
	}
	counter := &updateCounter{Store: e.db}
	e.svc.Store = counter
	if _, err := e.svc.UpdateSequence(context.Background(), e.shop.ID, seq); err != nil {
		t.Fatal(err)
	}
	e.svc.Store = e.db
	if counter.updates != 1 {
		t.Errorf("the same sequence again took %d write transactions, want 1 (the shop)", counter.updates)
	}
	if again := e.stored(later); !again.NextDueAt.Equal(c.NextDueAt) {
		t.Errorf("the same sequence again moved the cart to %v", again.NextDueAt)
	}
}

// pacedSender is a recordingSender behind a rate limit: wait runs where
// the scheduler queues for its turn.
type pacedSender struct {
	*recordingSender
	wait func(ctx context.Context) error
}

func (p *pacedSender) Wait(ctx context.Context) error { return p.wait(ctx) }

// Time spent queueing for a provider's rate limit never lies between the
// last look at the cart and the send: an order that lands meanwhile still
// stops the reminder, and a shutdown puts the step back.
func TestPacedSendLooksAgainAfterWaiting(t *testing.T) {
	e := newEngine(t, recovery.ShopSettings{})
	bought := e.checkout("bought", 0, withContact("bought@example.com", "+4791000001"))
	paced := &pacedSender{recordingSender: e.email}
	e.sched.Senders[recovery.ChannelEmail] = paced
	paced.wait = func(context.Context) error {
		e.order("bought", 59*time.Minute) // the order webhook, while the reminder queued
		return nil
	}
	e.at(time.Hour)
	if n := len(e.email.messages()); n != 0 {
		t.Fatalf("%d emails after an order that arrived while the reminder waited", n)
	}
	e.wantSteps(bought, "skipped/converted", "skipped/converted", "skipped/converted", "skipped/converted")

	waiting := e.checkout("waiting", time.Hour, withContact("waiting@example.com", "+4791000002"))
	paced.wait = func(context.Context) error { return context.Canceled } // shutting down
	e.at(2 * time.Hour)
	if c := e.stored(waiting); c.Steps[0].State != recovery.StepScheduled || !strings.Contains(c.Steps[0].Reason, "waiting for the provider") {
		t.Fatalf("interrupted wait: step %+v", c.Steps[0])
	}
	paced.wait = func(context.Context) error { return nil }
	e.at(2*time.Hour + time.Minute)
	if n := len(e.email.messages()); n != 1 {
		t.Errorf("%d emails once the provider was free again, want 1", n)
	}
	e.wantSteps(waiting, "sent", "scheduled", "scheduled", "scheduled")
}

// counter counts calls to the store: purchase checks and codes issued.
// failAfter, when set, makes every issue after that many fail.
type counter struct{ purchases, codes, failAfter int }

func (c *counter) Purchased(context.Context, *recovery.Shop, *recovery.Cart) (bool, error) {
	c.purchases++
	return false, nil
}

func (c *counter) IssueDiscount(_ context.Context, _ *recovery.Shop, cart *recovery.Cart, pct int, _ time.Time) (string, error) {
	c.codes++
	if c.failAfter > 0 && c.codes > c.failAfter {
		return "", fmt.Errorf("store unreachable")
	}
	return fmt.Sprintf("CB-%d-%d-%d", cart.ID, pct, c.codes), nil
}

// A step stopped while it queued for the provider asks the store nothing:
// no purchase check, no single-use code left behind in the shop.
func TestStoppedWhileQueuedAsksTheStoreNothing(t *testing.T) {
	e := newEngine(t, recovery.ShopSettings{UniqueDiscountPercent: 10, Sequence: &recovery.Sequence{Steps: []recovery.Step{
		{Channel: recovery.ChannelEmail, After: recovery.Duration(time.Hour), Template: recovery.TemplateIncentive},
	}}})
	calls := &counter{}
	e.sched.Purchases = map[recovery.Platform]recovery.PurchaseChecker{recovery.PlatformShopify: calls}
	e.sched.Discounts = map[recovery.Platform]recovery.DiscountIssuer{recovery.PlatformShopify: calls}
	paced := &pacedSender{recordingSender: e.email}
	e.sched.Senders[recovery.ChannelEmail] = paced
	paced.wait = func(context.Context) error {
		e.order("a", 59*time.Minute)
		return nil
	}
	id := e.checkout("a", 0)
	e.at(time.Hour)
	e.wantSteps(id, "skipped/converted")
	if calls.purchases != 0 || calls.codes != 0 {
		t.Errorf("%d purchase checks and %d codes for a step stopped in the queue", calls.purchases, calls.codes)
	}
}

// A single-use code made for a send that then failed for a while is the
// code of the retry too: one code per step in the shop's discounts.
func TestIssuedCodeKeptForTheRetry(t *testing.T) {
	e := newEngine(t, recovery.ShopSettings{UniqueDiscountPercent: 10, Sequence: &recovery.Sequence{Steps: []recovery.Step{
		{Channel: recovery.ChannelEmail, After: recovery.Duration(time.Hour), Template: recovery.TemplateIncentive},
	}}})
	calls := &counter{}
	e.sched.Discounts = map[recovery.Platform]recovery.DiscountIssuer{recovery.PlatformShopify: calls}
	e.email.fail = func(n int) error {
		if calls.codes == 1 && n == 0 && e.now.Before(start.Add(2*time.Hour)) {
			return &recovery.SendError{Temporary: true, Code: "421", Message: "busy"}
		}
		return nil
	}
	id := e.checkout("a", 0)
	e.at(time.Hour)
	e.wantSteps(id, "scheduled/busy (code 421)")
	e.at(3 * time.Hour)
	msgs := e.email.messages()
	want := fmt.Sprintf("CB-%d-10-1", id)
	if calls.codes != 1 || len(msgs) != 1 || msgs[0].DiscountCode != want {
		t.Fatalf("%d codes issued; sent %d, want one with %q", calls.codes, len(msgs), want)
	}
}

// A kept code near its end is replaced: the shopper came back after the
// failed send, the step moved three days on, and the first code would
// have expired before it went out.
func TestIssuedCodeRenewedWhenNearItsEnd(t *testing.T) {
	e := newEngine(t, recovery.ShopSettings{UniqueDiscountPercent: 10, Sequence: &recovery.Sequence{MaxAge: recovery.Duration(10 * 24 * time.Hour), Steps: []recovery.Step{
		{Channel: recovery.ChannelEmail, After: recovery.Duration(72 * time.Hour), Template: recovery.TemplateIncentive},
	}}})
	calls := &counter{}
	e.sched.Discounts = map[recovery.Platform]recovery.DiscountIssuer{recovery.PlatformShopify: calls}
	e.email.fail = func(n int) error {
		if calls.codes == 1 {
			return &recovery.SendError{Temporary: true, Code: "421", Message: "busy"}
		}
		return nil
	}
	id := e.checkout("a", 0)
	e.at(72 * time.Hour)
	e.checkout("a", 72*time.Hour+time.Minute) // back in the cart: the step moves to 144 h
	e.at(144*time.Hour + time.Minute)
	msgs := e.email.messages()
	want := fmt.Sprintf("CB-%d-10-2", id)
	if calls.codes != 2 || len(msgs) != 1 || msgs[0].DiscountCode != want {
		t.Errorf("%d codes; sent %d, want one with a fresh %q", calls.codes, len(msgs), want)
	}
}

// A kept code that expired and cannot be made anew gives way to the step's
// own static code, as planned, not to none.
func TestExpiredCodeFallsBackToTheStepsCode(t *testing.T) {
	e := newEngine(t, recovery.ShopSettings{UniqueDiscountPercent: 10, Sequence: &recovery.Sequence{MaxAge: recovery.Duration(10 * 24 * time.Hour), Steps: []recovery.Step{
		{Channel: recovery.ChannelEmail, After: recovery.Duration(72 * time.Hour), Template: recovery.TemplateIncentive, DiscountCode: "STEP15"},
	}}})
	calls := &counter{failAfter: 1}
	e.sched.Discounts = map[recovery.Platform]recovery.DiscountIssuer{recovery.PlatformShopify: calls}
	e.email.fail = func(int) error {
		if calls.codes == 1 {
			return &recovery.SendError{Temporary: true, Code: "421", Message: "busy"}
		}
		return nil
	}
	e.checkout("a", 0)
	e.at(72 * time.Hour)
	// The merchant edits the sequence meanwhile: the episode keeps its
	// steps, and the code its step was planned with.
	edited := recovery.ShopSettings{UniqueDiscountPercent: 10, Sequence: &recovery.Sequence{MaxAge: recovery.Duration(10 * 24 * time.Hour), Steps: []recovery.Step{
		{Channel: recovery.ChannelEmail, After: recovery.Duration(72 * time.Hour), Template: recovery.TemplateReminder, DiscountCode: "STAFF50"},
	}}}
	if _, err := e.svc.UpdateSettings(context.Background(), e.shop.ID, edited); err != nil {
		t.Fatal(err)
	}
	e.checkout("a", 72*time.Hour+time.Minute) // back: the step moves past the code's end
	e.at(144*time.Hour + time.Minute)
	if msgs := e.email.messages(); len(msgs) != 1 || msgs[0].DiscountCode != "STEP15" {
		t.Errorf("sent %d; want one with the step's own code", len(msgs))
	}
}

// The message shows the cart as the last look found it: the address the
// shopper changed to while the reminder queued, and the items now in it.
func TestMessageShowsTheCartAsLastSeen(t *testing.T) {
	e := newEngine(t, recovery.ShopSettings{})
	paced := &pacedSender{recordingSender: e.email}
	e.sched.Senders[recovery.ChannelEmail] = paced
	paced.wait = func(context.Context) error {
		e.checkout("a", 0, withContact("new@example.com", ""), func(c *recovery.Cart) {
			c.Items = append(c.Items, recovery.LineItem{Title: "Shade", Quantity: 1, UnitPrice: 9900, LinePrice: 9900})
		})
		return nil
	}
	e.checkout("a", 0, withContact("old@example.com", ""))
	e.at(time.Hour)
	msgs := e.email.messages()
	if len(msgs) != 1 || msgs[0].To != "new@example.com" || !strings.Contains(msgs[0].Text, "Shade") {
		t.Fatalf("sent %+v", msgs)
	}
}

// A cart the shopper comes back to while its reminder queues is not
// reminded now: the step goes back and moves with the cart. One whose
// number changed to a number texted minutes ago is held by that number's
// SMS cap, which the claim never checked for it.
func TestCartChangedWhileQueuedGoesBack(t *testing.T) {
	t.Run("shopper came back", func(t *testing.T) {
		e := newEngine(t, recovery.ShopSettings{})
		paced := &pacedSender{recordingSender: e.email}
		e.sched.Senders[recovery.ChannelEmail] = paced
		paced.wait = func(context.Context) error {
			e.checkout("a", 59*time.Minute) // the shopper is back, editing the cart
			return nil
		}
		id := e.checkout("a", 0)
		e.at(time.Hour)
		if n := len(e.email.messages()); n != 0 {
			t.Fatalf("%d emails to a shopper back in the cart", n)
		}
		if c := e.cart(id); c.Steps[0].State != recovery.StepScheduled || !c.Steps[0].DueAt.Equal(start.Add(119*time.Minute)) {
			t.Errorf("step %+v, want scheduled an hour after the return", c.Steps[0])
		}
	})
	t.Run("number changed", func(t *testing.T) {
		seq := &recovery.Sequence{AbandonAfter: recovery.Duration(time.Minute), FrequencyCap: 9, Steps: []recovery.Step{
			{Channel: recovery.ChannelSMS, After: recovery.Duration(time.Hour), Template: "reminder"},
		}}
		e := newEngine(t, recovery.ShopSettings{Sequence: seq})
		// 10:00 UTC: daytime for the texts.
		first := e.checkout("first", 2*time.Hour, withContact("a@example.com", "+4792222222"), withSMSConsent)
		e.at(3 * time.Hour)
		e.wantSteps(first, "sent")
		paced := &pacedSender{recordingSender: e.sms}
		e.sched.Senders[recovery.ChannelSMS] = paced
		paced.wait = func(context.Context) error {
			e.checkout("z", 2*time.Hour+5*time.Minute, withContact("z@example.com", "+4792222222"), withSMSConsent)
			return nil
		}
		z := e.checkout("z", 2*time.Hour+5*time.Minute, withContact("z@example.com", "+4791111111"), withSMSConsent)
		e.at(3*time.Hour + 5*time.Minute)
		if n := len(e.sms.messages()); n != 1 {
			t.Errorf("%d texts; the second went to a number texted 5 minutes before", n)
		}
		if got := e.steps(z)[0]; got != "skipped/sms_frequency_cap" && got != "scheduled/sms_frequency_cap" {
			t.Errorf("z's step: %s", got)
		}
	})
}

// A text moved to the morning and then put back because the shopper came
// back moves with the cart, old deadline and all: it goes out at its new
// time, even after the morning's deadline.
func TestMovedStepLosesItsOldDeadline(t *testing.T) {
	seq := &recovery.Sequence{AbandonAfter: recovery.Duration(time.Minute), FrequencyCap: 9, Steps: []recovery.Step{
		{Channel: recovery.ChannelSMS, After: recovery.Duration(8 * time.Hour), Template: "reminder"},
	}}
	e := newEngine(t, recovery.ShopSettings{Sequence: seq})
	// start is 08:00 UTC: activity 13:30, due 21:30, moved to 09:00.
	id := e.checkout("a", 5*time.Hour+30*time.Minute, withSMSConsent)
	e.at(13*time.Hour + 30*time.Minute)
	if got := e.steps(id)[0]; got != "scheduled/quiet_hours" {
		t.Fatalf("at 21:30: %s", got)
	}
	paced := &pacedSender{recordingSender: e.sms}
	e.sched.Senders[recovery.ChannelSMS] = paced
	paced.wait = func(context.Context) error {
		e.checkout("a", 25*time.Hour, withSMSConsent) // back at 09:00, while the text queued
		paced.wait = func(context.Context) error { return nil }
		return nil
	}
	e.at(25 * time.Hour) // 09:00 the next day
	if n := len(e.sms.messages()); n != 0 {
		t.Fatalf("%d texts to a shopper back in the cart", n)
	}
	// 17:00: eight hours after the return, past the morning's 15:00
	// deadline. The provider is busy once: the text is tried again, as
	// for any step within its deadline.
	e.sms.fail = func(n int) error {
		if e.now.Before(start.Add(33*time.Hour + time.Minute)) {
			return &recovery.SendError{Temporary: true, Code: "20429", Message: "busy"}
		}
		return nil
	}
	e.at(33 * time.Hour)
	e.at(34 * time.Hour)
	e.wantSteps(id, "sent")
}

// A search shows carts as every other view does: an active cart past its
// abandonment cut-off is abandoned, with its episode planned, even before
// the scheduler has written that.
func TestSearchShowsCartsAsTheyStand(t *testing.T) {
	e := newEngine(t, recovery.ShopSettings{})
	id := e.checkout("search-me", 0, withEmail("Ola@Example.com"))
	e.now = start.Add(30 * time.Minute) // past the 15 min cut-off; no scheduler run
	for _, q := range []string{"ola@example.com", "search-me", fmt.Sprint(id), "ola@exa"} {
		found, err := e.svc.SearchCarts(context.Background(), e.shop.ID, q, 50, 5000)
		if err != nil || len(found) != 1 || found[0].ID != id {
			t.Fatalf("search %q: %d carts, %v", q, len(found), err)
		}
		if c := found[0]; c.State != recovery.CartAbandoned || len(c.Steps) == 0 {
			t.Errorf("search %q: state %s with %d steps, want abandoned with its steps", q, c.State, len(c.Steps))
		}
	}
	if found, err := e.svc.SearchCarts(context.Background(), e.shop.ID, "nobody@example.com", 50, 5000); err != nil || len(found) != 0 {
		t.Errorf("search for a stranger: %d carts, %v", len(found), err)
	}
}

// Settings sent without a sequence keep the stored one.
func TestSettingsWithoutSequenceKeepIt(t *testing.T) {
	e := newEngine(t, recovery.ShopSettings{})
	seq := recovery.Sequence{AbandonAfter: recovery.Duration(time.Minute), Steps: []recovery.Step{
		{Channel: recovery.ChannelEmail, After: recovery.Duration(2 * time.Hour), Template: "reminder"},
	}}
	if _, err := e.svc.UpdateSequence(context.Background(), e.shop.ID, seq); err != nil {
		t.Fatal(err)
	}
	shop, err := e.svc.UpdateSettings(context.Background(), e.shop.ID, recovery.ShopSettings{DiscountCode: "BACK10"})
	if err != nil {
		t.Fatal(err)
	}
	if got := shop.Settings.SequenceOrDefault(); len(got.Steps) != 1 || time.Duration(got.Steps[0].After) != 2*time.Hour || shop.Settings.DiscountCode != "BACK10" {
		t.Errorf("settings %+v, sequence %+v", shop.Settings, got)
	}
}

// pacingSender is a text provider with a rate limit: Wait runs during,
// as the time the queue takes, whatever the test says happens meanwhile.
type pacingSender struct {
	recordingSender
	during func()
}

func (p *pacingSender) Wait(context.Context) error {
	if p.during != nil {
		p.during()
	}
	return nil
}

// TestTextLooksAgainAfterItsTurn: a text that queued for the provider's
// rate limit is judged again when its turn comes: consent withdrawn
// meanwhile stops it, and a wait that ran into the recipient's night moves
// it to the morning instead of sending it then.
func TestTextLooksAgainAfterItsTurn(t *testing.T) {
	seq := &recovery.Sequence{AbandonAfter: recovery.Duration(time.Minute), Steps: []recovery.Step{
		{Channel: recovery.ChannelSMS, After: recovery.Duration(11 * time.Hour), Template: "reminder"},
	}}
	setup := func(t *testing.T) (*engine, *pacingSender) {
		e := newEngine(t, recovery.ShopSettings{Sequence: seq, TimeZone: "Europe/Oslo"})
		p := &pacingSender{}
		e.sched.Senders[recovery.ChannelSMS] = p
		return e, p
	}
	// start is 09:00 in Oslo: the text falls due at 20:00 there.
	t.Run("night fell in the queue", func(t *testing.T) {
		e, p := setup(t)
		id := e.checkout("a", 0, withSMSConsent)
		p.during = func() { e.now = e.now.Add(90 * time.Minute) } // 21:30 in Oslo
		e.at(11 * time.Hour)
		if n := len(p.messages()); n != 0 {
			t.Fatalf("%d texts sent at 21:30", n)
		}
		c := e.cart(id)
		oslo, _ := time.LoadLocation("Europe/Oslo")
		morning := time.Date(2026, 11, 3, 9, 0, 0, 0, oslo)
		if st := c.Steps[0]; st.State != recovery.StepScheduled || st.Reason != recovery.ReasonQuietHours || !st.NotBefore.Equal(morning) {
			t.Fatalf("after the queue: %+v, want scheduled until %v", st, morning)
		}
		p.during = nil
		e.at(morning.Sub(start))
		if n := len(p.messages()); n != 1 {
			t.Errorf("%d texts in the morning, want 1", n)
		}
	})
	t.Run("consent withdrawn in the queue", func(t *testing.T) {
		e, p := setup(t)
		id := e.checkout("a", 0, withSMSConsent)
		p.during = func() { e.checkout("a", 0) } // the same checkout, now without SMS consent
		e.at(11 * time.Hour)
		if n := len(p.messages()); n != 0 {
			t.Fatalf("%d texts sent after consent was withdrawn", n)
		}
		e.wantSteps(id, "skipped/no_sms_consent")
	})
}

// TestUnsubscribeOptsOutTheAddressItWentTo: the cart's email changed after
// the reminder went out; the unsubscribe link of that reminder opts out the
// address that received it, which then gets nothing from a new cart.
func TestUnsubscribeOptsOutTheAddressItWentTo(t *testing.T) {
	e := newEngine(t, recovery.ShopSettings{})
	e.checkout("a", 0, withContact("first@example.com", ""))
	e.at(time.Hour)
	msgs := e.email.messages()
	if len(msgs) != 1 || msgs[0].To != "first@example.com" {
		t.Fatalf("first reminder: %+v", msgs)
	}
	e.checkout("a", 2*time.Hour, withContact("second@example.com", "")) // the same checkout, another address
	token := strings.TrimPrefix(msgs[0].UnsubscribeURL, "https://cb.example.com/u/")
	if _, err := e.svc.Unsubscribe(context.Background(), e.sched.Signer, token, true); err != nil {
		t.Fatal(err)
	}
	b := e.checkout("b", 30*time.Hour, withContact("first@example.com", ""))
	e.at(31 * time.Hour)
	e.wantSteps(b, "skipped/opted_out", "scheduled", "scheduled", "scheduled")
}

// TestUnsubscribeAfterRetention: the shop keeps carts for a day; the
// shopper clicks unsubscribe in the reminder a week later, after the cart
// and its messages are erased. The click still opts the address out.
func TestUnsubscribeAfterRetention(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t, recovery.ShopSettings{RetentionDays: 1})
	id := e.checkout("a", 0, withContact("kept@example.com", ""))
	e.at(time.Hour)
	msgs := e.email.messages()
	if len(msgs) != 1 || !strings.Contains(msgs[0].UnsubscribeURL, ".") {
		t.Fatalf("reminder: %+v", msgs)
	}
	token := strings.TrimPrefix(msgs[0].UnsubscribeURL, "https://cb.example.com/u/")
	if strings.Contains(token, "kept") {
		t.Fatalf("the address shows in the link: %s", token)
	}
	e.at(7 * 24 * time.Hour)
	if n, err := e.svc.Expire(ctx); err != nil || n != 1 {
		t.Fatalf("Expire = %d, %v", n, err)
	}
	if _, err := e.svc.Cart(ctx, e.shop.ID, id); recovery.ErrorCode(err) != recovery.ENOTFOUND {
		t.Fatalf("cart not erased: %v", err)
	}

	// Altered, or moved to another cart's link: not honoured.
	signed, sealed, _ := strings.Cut(token, ".")
	other := e.sched.Signer.Sign(recovery.LinkToken{Purpose: recovery.PurposeUnsubscribe, ShopID: e.shop.ID, CartID: id + 1, Expires: start.Add(time.Hour)})
	flipped := []byte(sealed)
	flipped[len(flipped)/2] ^= 'A' ^ 'B'
	for _, bad := range []string{other + "." + sealed, signed + "." + string(flipped), signed + "." + sealed[:10], signed + "."} {
		if _, err := e.svc.Unsubscribe(ctx, e.sched.Signer, bad, true); recovery.ErrorCode(err) != recovery.ENOTFOUND {
			t.Errorf("Unsubscribe(%q) = %v, want ENOTFOUND", bad, err)
		}
	}
	if _, err := e.svc.Unsubscribe(ctx, e.sched.Signer, token, false); err != nil {
		t.Fatalf("confirmation page: %v", err)
	}
	if _, err := e.svc.Unsubscribe(ctx, e.sched.Signer, token, true); err != nil {
		t.Fatalf("unsubscribe after the cart was erased: %v", err)
	}
	b := e.checkout("b", 8*24*time.Hour, withContact("Kept@Example.com", ""))
	e.at(8*24*time.Hour + time.Hour)
	e.wantSteps(b, "skipped/opted_out", "scheduled", "scheduled", "scheduled")
}

// uninstaller stands in for a platform removing cartback's app.
type uninstaller struct {
	err   error
	shops []string
}

func (u *uninstaller) UninstallApp(_ context.Context, shop *recovery.Shop) error {
	u.shops = append(u.shops, shop.Domain)
	return u.err
}

// TestEraseShopAndApp: an operator's erasure removes the app from a store
// installed through it, and erases the data even when that fails or no
// app client is configured.
func TestEraseShopAndApp(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name         string
		uninstaller  *uninstaller
		wantRemoved  bool
		wantAppError bool
	}{
		{"removed", &uninstaller{}, true, false},
		{"store unreachable", &uninstaller{err: fmt.Errorf("store unreachable")}, false, true},
		{"no app client", nil, false, true},
	} {
		e := newEngine(t, recovery.ShopSettings{})
		if tc.uninstaller != nil {
			e.svc.Uninstallers = map[recovery.Platform]recovery.AppUninstaller{recovery.PlatformShopify: tc.uninstaller}
		}
		// Connected by hand (webhook secret only): nothing to uninstall.
		e.checkout("a", 0)
		res, err := e.svc.EraseShopAndApp(ctx, e.shop.ID)
		if err != nil || res.AppUninstalled || res.AppError != "" || (tc.uninstaller != nil && len(tc.uninstaller.shops) != 0) {
			t.Fatalf("%s: shop without the app: %+v, %v", tc.name, res, err)
		}

		installed, err := e.svc.InstallShopify(ctx, "app.myshopify.com", recovery.ShopifyAccess{SealedToken: []byte("sealed")})
		if err != nil {
			t.Fatal(err)
		}
		applied, err := e.svc.Apply(ctx, installed.ID, recovery.Event{Kind: recovery.EventCartUpdated, Cart: &recovery.Cart{
			Keys: recovery.CartKeys{CheckoutToken: "app-cart"}, Contact: recovery.Contact{Email: "kari@example.com"}, Currency: "NOK",
			Items: []recovery.LineItem{{Title: "Lamp", Quantity: 1, UnitPrice: 100, LinePrice: 100}}, Totals: recovery.Totals{Total: 100}, LastActivityAt: start,
		}})
		if err != nil {
			t.Fatal(err)
		}
		res, err = e.svc.EraseShopAndApp(ctx, installed.ID)
		if err != nil || res.AppUninstalled != tc.wantRemoved || (res.AppError != "") != tc.wantAppError {
			t.Errorf("%s: %+v, %v", tc.name, res, err)
		}
		if tc.uninstaller != nil && (len(tc.uninstaller.shops) != 1 || tc.uninstaller.shops[0] != "app.myshopify.com") {
			t.Errorf("%s: uninstall asked for %v", tc.name, tc.uninstaller.shops)
		}
		sh, err := e.svc.ShopByDomain(ctx, "app.myshopify.com")
		if err != nil || sh.Status != recovery.ShopRedacted || sh.Shopify != nil {
			t.Errorf("%s: not erased: %+v, %v", tc.name, sh, err)
		}
		if _, err := e.svc.Cart(ctx, installed.ID, applied.CartIDs[0]); recovery.ErrorCode(err) != recovery.ENOTFOUND {
			t.Errorf("%s: cart of the erased shop: %v", tc.name, err)
		}
	}
}

// TestUnsubscribeAfterShopErasure: a link from an erased shop's email
// still records the opt-out, which holds when the shop is connected again.
func TestUnsubscribeAfterShopErasure(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t, recovery.ShopSettings{})
	e.checkout("a", 0, withContact("kari@example.com", ""))
	e.at(time.Hour)
	token := strings.TrimPrefix(e.email.messages()[0].UnsubscribeURL, "https://cb.example.com/u/")
	if err := e.svc.EraseShop(ctx, e.shop.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Unsubscribe(ctx, e.sched.Signer, token, true); err != nil {
		t.Fatalf("unsubscribe from an erased shop: %v", err)
	}
	again, err := e.svc.CreateShop(ctx, &recovery.Shop{Platform: recovery.PlatformShopify, Domain: e.shop.Domain, WebhookSecret: "0123456789abcdef-again"})
	if err != nil {
		t.Fatal(err)
	}
	e.shop = again
	b := e.checkout("b", 2*time.Hour, withContact("kari@example.com", ""))
	e.at(3 * time.Hour)
	e.wantSteps(b, "skipped/opted_out", "scheduled", "scheduled", "scheduled")
}

// TestUnsubscribeWhileErasing: while the shop is being erased, an
// unsubscribe writes nothing the erasure might or might not sweep away.
func TestUnsubscribeWhileErasing(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t, recovery.ShopSettings{})
	e.checkout("a", 0, withContact("kari@example.com", ""))
	e.at(time.Hour)
	token := strings.TrimPrefix(e.email.messages()[0].UnsubscribeURL, "https://cb.example.com/u/")
	if err := e.db.Update(ctx, func(tx recovery.Tx) error {
		sh, err := tx.Shop(e.shop.ID)
		if err != nil {
			return err
		}
		sh.Status, sh.Erasing = recovery.ShopRedacted, true
		return tx.PutShop(sh)
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Unsubscribe(ctx, e.sched.Signer, token, true); err != nil {
		t.Fatal(err)
	}
	var out *recovery.OptOut
	e.db.View(ctx, func(tx recovery.Tx) (err error) {
		out, err = tx.OptOut(e.shop.ID, recovery.ChannelEmail, "kari@example.com")
		return err
	})
	if out != nil {
		t.Errorf("opt-out written during the erasure: %+v", out)
	}
	// Finish the erasure, so the index check at the end sees a settled store.
	if err := e.svc.EraseShop(ctx, e.shop.ID); err != nil {
		t.Fatal(err)
	}
}

// TestUnsubscribeLinkOfAnOverlongAddress: an address no mail server
// delivers to is not sealed into the link (the link stays short and opens).
func TestUnsubscribeLinkOfAnOverlongAddress(t *testing.T) {
	e := newEngine(t, recovery.ShopSettings{})
	long := strings.Repeat("k", 300) + "@example.com"
	e.checkout("a", 0, withContact(long, ""))
	e.at(time.Hour)
	msgs := e.email.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d emails", len(msgs))
	}
	token := strings.TrimPrefix(msgs[0].UnsubscribeURL, "https://cb.example.com/u/")
	if strings.Contains(token, ".") {
		t.Errorf("overlong address sealed into the link (%d characters)", len(token))
	}
	if _, err := e.svc.Unsubscribe(context.Background(), e.sched.Signer, token, true); err != nil {
		t.Errorf("unsubscribe: %v", err)
	}
}

// TestAdoptShopDetails: a platform's name, time zone and country fill in
// what the shop lacks, never what was set, and never an invalid value.
func TestAdoptShopDetails(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t, recovery.ShopSettings{TimeZone: "Europe/Oslo"})
	got, err := e.svc.AdoptShopDetails(ctx, e.shop.ID, recovery.ShopDetails{Name: "Other", TimeZone: "America/New_York", Country: "no"})
	if err != nil || got.Name != "Demo" || got.Settings.TimeZone != "Europe/Oslo" || got.Settings.Country != "NO" {
		t.Errorf("set values replaced, or country not taken: %+v, %v", got, err)
	}
	installed, err := e.svc.InstallShopify(ctx, "new.myshopify.com", recovery.ShopifyAccess{SealedToken: []byte("sealed")})
	if err != nil {
		t.Fatal(err)
	}
	got, err = e.svc.AdoptShopDetails(ctx, installed.ID, recovery.ShopDetails{Name: " Nordic Outdoor ", TimeZone: "Mars/Olympus", Country: "Norway"})
	if err != nil || got.Name != "Nordic Outdoor" || got.Settings.TimeZone != "" || got.Settings.Country != "" {
		t.Errorf("invalid values taken, or name not: %+v, %v", got, err)
	}
}

// TestLogsHoldNoAddresses: a provider's refusal names the address; the
// logs, which outlive an erasure, do not.
func TestLogsHoldNoAddresses(t *testing.T) {
	var logs strings.Builder
	e := newEngine(t, recovery.ShopSettings{})
	e.sched.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	e.email.fail = func(n int) error {
		if n == 0 && e.now.Before(start.Add(90*time.Minute)) {
			return &recovery.SendError{Temporary: true, Code: "451", Message: "451 4.3.0 <kari.nordmann@example.net> try later"}
		}
		return &recovery.SendError{Code: "550", Message: "550 5.1.1 <kari.nordmann@example.net> unknown, affected recipient(s): <kari.nordmann@example.net>"}
	}
	e.checkout("a", 0, withContact("kari.nordmann@example.net", ""))
	e.at(time.Hour)
	e.at(3 * time.Hour)
	if !strings.Contains(logs.String(), "k…@example.net") || strings.Contains(logs.String(), "kari.nordmann@") {
		t.Errorf("logs:\n%s", logs.String())
	}
}

// TestReinstalledShopSurvivesLateEvents: Shopify retries its webhooks for
// hours and sends shop/redact 48 hours after an uninstall; a merchant who
// installed the app again meanwhile keeps the new installation.
func TestReinstalledShopSurvivesLateEvents(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t, recovery.ShopSettings{})
	installed, err := e.svc.InstallShopify(ctx, "again.myshopify.com", recovery.ShopifyAccess{SealedToken: []byte("sealed")})
	if err != nil {
		t.Fatal(err)
	}
	// A new installation reads back checkouts from now on, not the shop's
	// whole history.
	if !installed.Shopify.SyncedUntil.Equal(e.now) {
		t.Errorf("reconciliation starts at %v, want the install time %v", installed.Shopify.SyncedUntil, e.now)
	}
	// Uninstalled at 10:00, installed again at 10:30; the 10:00 uninstall
	// is delivered again at 11:00.
	e.now = start.Add(2 * time.Hour)
	if _, err := e.svc.Apply(ctx, installed.ID, recovery.Event{Kind: recovery.EventShopUninstalled, DedupKey: "u1", At: e.now}); err != nil {
		t.Fatal(err)
	}
	e.now = start.Add(150 * time.Minute)
	if _, err := e.svc.InstallShopify(ctx, "again.myshopify.com", recovery.ShopifyAccess{SealedToken: []byte("sealed-2")}); err != nil {
		t.Fatal(err)
	}
	e.now = start.Add(3 * time.Hour)
	res, err := e.svc.Apply(ctx, installed.ID, recovery.Event{Kind: recovery.EventShopUninstalled, DedupKey: "u1-retry", At: start.Add(2 * time.Hour)})
	if err != nil || res.Outcome != recovery.OutcomeStale {
		t.Errorf("the late uninstall: %s, %v", res.Outcome, err)
	}
	// shop/redact two days later: the shop is installed, so it stays.
	e.now = start.Add(50 * time.Hour)
	if res, err := e.svc.Apply(ctx, installed.ID, recovery.Event{Kind: recovery.EventShopRedact}); err != nil || res.Outcome != recovery.OutcomeIgnored {
		t.Errorf("shop/redact of a shop installed again: %s, %v", res.Outcome, err)
	}
	sh, err := e.svc.ShopByDomain(ctx, "again.myshopify.com")
	if err != nil || sh.Status != recovery.ShopActive || sh.Shopify == nil || string(sh.Shopify.SealedToken) != "sealed-2" {
		t.Fatalf("the reinstalled shop: %+v, %v", sh, err)
	}
	// A shop whose uninstall cartback never heard of (its webhook lost):
	// shop/redact erases it all the same.
	lost, err := e.svc.InstallShopify(ctx, "lost.myshopify.com", recovery.ShopifyAccess{SealedToken: []byte("sealed")})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := e.svc.Apply(ctx, lost.ID, recovery.Event{Kind: recovery.EventShopRedact}); err != nil || res.Outcome != recovery.OutcomeDeleted {
		t.Errorf("shop/redact, its uninstall never seen: %s, %v", res.Outcome, err)
	}
	// Uninstalled for good: shop/redact erases it.
	if _, err := e.svc.Apply(ctx, installed.ID, recovery.Event{Kind: recovery.EventShopUninstalled, DedupKey: "u2", At: e.now}); err != nil {
		t.Fatal(err)
	}
	if res, err := e.svc.Apply(ctx, installed.ID, recovery.Event{Kind: recovery.EventShopRedact}); err != nil || res.Outcome != recovery.OutcomeDeleted {
		t.Errorf("shop/redact after the uninstall: %s, %v", res.Outcome, err)
	}
}

// TestForeignRestoreURLIsNotKept: a store's cart whose restore URL leads
// off the store is kept without it, so its reminders link to the store.
func TestForeignRestoreURLIsNotKept(t *testing.T) {
	e := newEngine(t, recovery.ShopSettings{})
	ctx := context.Background()
	woo, err := e.svc.CreateShop(ctx, &recovery.Shop{Platform: recovery.PlatformWooCommerce, Domain: "shop.example"})
	if err != nil {
		t.Fatal(err)
	}
	for url, want := range map[string]string{
		"https://evil.example/login":               "",
		"https://shop.example/?cartback_restore=t": "https://shop.example/?cartback_restore=t",
	} {
		c := &recovery.Cart{Keys: recovery.CartKeys{CartKey: "k-" + want}, Contact: recovery.Contact{Email: "kari@example.com"},
			Currency: "NOK", Items: []recovery.LineItem{{Title: "Lamp", Quantity: 1, UnitPrice: 100, LinePrice: 100}},
			Totals: recovery.Totals{Total: 100}, RestoreURL: url, LastActivityAt: start}
		res, err := e.svc.Apply(ctx, woo.ID, recovery.Event{Kind: recovery.EventCartUpdated, Cart: c})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := e.svc.Cart(ctx, woo.ID, res.CartIDs[0]); got.RestoreURL != want {
			t.Errorf("restore URL %q stored as %q, want %q", url, got.RestoreURL, want)
		}
	}
}

// TestPreviewsAndScannersAreNoClicks: link previews, crawlers and mail
// scanners are redirected like anyone, but do not count as clicks, so an
// order after them is credited to the reminder, not to the link.
func TestPreviewsAndScannersAreNoClicks(t *testing.T) {
	e := newEngine(t, recovery.ShopSettings{})
	id := e.checkout("a", 0)
	e.at(time.Hour)
	token := strings.TrimPrefix(e.email.messages()[0].RestoreURL, "https://cb.example.com/r/")
	for _, ua := range []string{
		"", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "facebookexternalhit/1.1",
		"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "WhatsApp/2.23.20.0",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36",
		"python-requests/2.31",
	} {
		v, err := e.svc.Visit(context.Background(), e.sched.Signer, token, ua)
		if err != nil || v.Outcome != recovery.VisitRestored || v.Redirect == "" {
			t.Errorf("%q: %+v %v", ua, v, err)
		}
	}
	e.order("a", 2*time.Hour)
	c := e.cart(id)
	if c.Conversion == nil || c.Conversion.Attribution != recovery.AttributionReminder {
		t.Errorf("attribution after machine fetches only: %+v", c.Conversion)
	}
}

// TestOrderBeforeItsCheckoutCountsOnce: an order names a checkout not seen
// yet and is credited, by email, to the shopper's earlier cart; when that
// checkout arrives it is found bought and kept out of the figures, so the
// order is counted once.
func TestOrderBeforeItsCheckoutCountsOnce(t *testing.T) {
	e := newEngine(t, recovery.ShopSettings{})
	ctx := context.Background()
	a := e.checkout("a", 0)
	e.at(time.Hour) // reminded
	o := &recovery.Order{ID: "o-b", Keys: recovery.CartKeys{CheckoutToken: "b"}, Email: "kari@example.com", Currency: "NOK", Total: 52900, At: start.Add(2 * time.Hour)}
	if _, err := e.svc.Apply(ctx, e.shop.ID, recovery.Event{Kind: recovery.EventOrder, Order: o}); err != nil {
		t.Fatal(err)
	}
	if c := e.cart(a); c.State != recovery.CartConverted || c.Conversion.Attribution != recovery.AttributionReminder {
		t.Fatalf("the earlier cart: %s %+v", c.State, c.Conversion)
	}
	b := e.checkout("b", 90*time.Minute) // the late checkout of the order
	if c := e.cart(b); c.State != recovery.CartConverted || len(c.Steps) != 0 {
		t.Errorf("the late checkout: %s, %d steps", c.State, len(c.Steps))
	}
	e.at(3 * time.Hour)
	stats, err := e.svc.Stats(ctx, e.shop.ID, start.Add(-time.Hour), start.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if stats.Captured != 1 || stats.Converted != 1 || stats.OrderRevenue["NOK"] != 52900 || stats.RecoveredRevenue["NOK"] != 52900 {
		t.Errorf("figures: captured %d, converted %d, order revenue %v, recovered %v", stats.Captured, stats.Converted, stats.OrderRevenue, stats.RecoveredRevenue)
	}
}

// TestEmailConsentWithdrawnInTheQueue: under the strict email policy, an
// email that queued for the provider is stopped by consent withdrawn while
// it waited.
func TestEmailConsentWithdrawnInTheQueue(t *testing.T) {
	e := newEngine(t, recovery.ShopSettings{EmailConsent: recovery.EmailConsentMarketing})
	p := &pacingSender{}
	e.sched.Senders[recovery.ChannelEmail] = p
	consent := func(c *recovery.Cart) { c.Consent.Email = recovery.ConsentGrant{Granted: true, Source: "test"} }
	id := e.checkout("a", 0, consent)
	p.during = func() { e.checkout("a", 0) } // the same checkout, consent now withdrawn
	e.at(time.Hour)
	if n := len(p.messages()); n != 0 {
		t.Fatalf("%d emails sent after consent was withdrawn", n)
	}
	if got := e.steps(id)[0]; got != "skipped/no_email_consent" {
		t.Errorf("step 1: %s", got)
	}
}

// TestEmptiedCartWaitsQuietly: a cart the shopper empties after its
// reminders were planned has nothing due (it was written every second,
// forever); with items again, its remaining steps follow the new activity.
func TestEmptiedCartWaitsQuietly(t *testing.T) {
	e := newEngine(t, recovery.ShopSettings{})
	id := e.checkout("a", 0)
	e.at(time.Hour) // the first reminder
	e.checkout("a", 2*time.Hour, func(c *recovery.Cart) { c.Items, c.Totals = nil, recovery.Totals{} })
	e.at(3 * time.Hour)
	if c := e.cart(id); c.State != recovery.CartActive || !c.NextDueAt.IsZero() {
		t.Fatalf("emptied cart: %s, due %v", c.State, c.NextDueAt)
	}
	e.at(10 * time.Hour)
	e.checkout("a", 20*time.Hour) // items again
	if c := e.cart(id); c.NextDueAt.Before(start.Add(20*time.Hour + 15*time.Minute)) {
		t.Errorf("refilled cart due at %v, before it can be abandoned again", c.NextDueAt)
	}
}

// TestRetryMovesWithTheShopper: the shopper comes back while a reminder is
// being sent and the provider fails for now; the retry waits for the cart
// to be abandoned again and is timed from the new activity.
func TestRetryMovesWithTheShopper(t *testing.T) {
	e := newEngine(t, recovery.ShopSettings{})
	p := &pacingSender{}
	e.sched.Senders[recovery.ChannelEmail] = p
	id := e.checkout("a", 0)
	p.during = func() { e.checkout("a", time.Hour, func(c *recovery.Cart) { c.Items[0].Quantity = 2 }) }
	p.fail = func(int) error { return &recovery.SendError{Temporary: true, Code: "421", Message: "busy"} }
	e.at(time.Hour)
	p.during, p.fail = nil, nil
	if c := e.cart(id); c.NextDueAt.Before(start.Add(75 * time.Minute)) {
		t.Errorf("after the failed send: due %v, before the cart is abandoned again", c.NextDueAt)
	}
	e.at(76 * time.Minute)
	if n := len(p.messages()); n != 0 {
		t.Errorf("%d reminders 16 minutes after the shopper came back", n)
	}
	e.at(2 * time.Hour)
	if n := len(p.messages()); n != 1 {
		t.Errorf("%d reminders an hour after the shopper's last activity, want 1", n)
	}
}

// TestOrderMatchedByEmailWithKeysConverts: an order matched by email that
// carries a cart token the earlier cart lacks converts it (the keys went
// to the order's placeholder, and giving them to the cart too was refused
// as a key of two carts, so the order failed on every redelivery).
func TestOrderMatchedByEmailWithKeysConverts(t *testing.T) {
	e := newEngine(t, recovery.ShopSettings{})
	ctx := context.Background()
	a := e.checkout("a", 0) // a checkout token only
	o := &recovery.Order{ID: "o-b", Keys: recovery.CartKeys{CheckoutToken: "b", CartToken: "ct-b"}, Email: "kari@example.com", Currency: "NOK", Total: 52900, At: start.Add(2 * time.Hour)}
	if _, err := e.svc.Apply(ctx, e.shop.ID, recovery.Event{Kind: recovery.EventOrder, Order: o}); err != nil {
		t.Fatalf("order: %v", err)
	}
	if c := e.cart(a); c.State != recovery.CartConverted {
		t.Errorf("the earlier cart: %s", c.State)
	}
}

// TestQuietHoursMoveATextPastMaxAge: a text due an hour before max_age in
// the recipient's night waits for the morning and goes then, though the
// cart is older than max_age by then (it was expired, the text dropped).
func TestQuietHoursMoveATextPastMaxAge(t *testing.T) {
	seq := &recovery.Sequence{AbandonAfter: recovery.Duration(time.Minute), MaxAge: recovery.Duration(48 * time.Hour), Steps: []recovery.Step{
		{Channel: recovery.ChannelSMS, After: recovery.Duration(47 * time.Hour), Template: "reminder"},
	}}
	e := newEngine(t, recovery.ShopSettings{Sequence: seq, TimeZone: "UTC"})
	id := e.checkout("a", 0, withSMSConsent) // start is 08:00 UTC: due 07:00 two days on
	e.at(47 * time.Hour)
	if got := e.steps(id)[0]; got != "scheduled/quiet_hours" {
		t.Fatalf("at 07:00: %s", got)
	}
	e.at(49 * time.Hour) // 09:00
	if got := e.steps(id)[0]; got != "sent" {
		t.Errorf("in the morning: %s", got)
	}
}

func TestStepAfterMaxAgeIsRefused(t *testing.T) {
	seq := recovery.Sequence{MaxAge: recovery.Duration(48 * time.Hour), Steps: []recovery.Step{
		{Channel: recovery.ChannelEmail, After: recovery.Duration(72 * time.Hour), Template: "incentive"},
	}}
	if err := seq.Validate(); err == nil || !strings.Contains(err.Error(), "steps[0].after: must be at most max_age") {
		t.Errorf("Validate = %v", err)
	}
}

// blockingPacer is a text provider whose queue holds each send until the
// test lets it go.
type blockingPacer struct {
	recordingSender
	waiting chan struct{}
	release chan struct{}
}

func (p *blockingPacer) Wait(context.Context) error {
	p.waiting <- struct{}{}
	<-p.release
	return nil
}

// TestProviderQueueHoldsFewWorkers: when as many sends as a quarter of the
// workers already wait for a rate-limited provider, another is put back in
// the due index instead of holding a worker (a burst of texts at one a
// second held every worker while emails fell due).
func TestProviderQueueHoldsFewWorkers(t *testing.T) {
	seq := &recovery.Sequence{AbandonAfter: recovery.Duration(time.Minute), Steps: []recovery.Step{
		{Channel: recovery.ChannelSMS, After: recovery.Duration(3 * time.Hour), Template: "reminder"},
	}}
	e := newEngine(t, recovery.ShopSettings{Sequence: seq, TimeZone: "UTC"})
	p := &blockingPacer{waiting: make(chan struct{}), release: make(chan struct{})}
	e.sched.Senders[recovery.ChannelSMS] = p
	e.sched.Workers = 4 // one may wait for the provider
	first := e.checkout("a", 0, withSMSConsent, withContact("a@example.com", "+4790000001"))
	e.now = start.Add(3 * time.Hour) // 11:00 UTC, no quiet hours
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.sched.RunDue(context.Background())
	}()
	<-p.waiting // the first text holds the one slot
	second := e.checkout("b", 0, withSMSConsent, withContact("b@example.com", "+4790000002"))
	other := make(chan error, 1)
	go func() {
		_, err := e.sched.RunDue(context.Background())
		other <- err
	}()
	select {
	case err := <-other:
		if err != nil {
			t.Fatal(err)
		}
	case <-p.waiting:
		close(p.release)
		t.Fatal("a second text waits for the provider in a worker")
	case <-time.After(10 * time.Second):
		close(p.release)
		t.Fatal("the second look did not return")
	}
	c := e.cart(second)
	if st := c.Steps[0]; st.State != recovery.StepScheduled || st.Reason != "waiting for the provider's rate limit" || !st.NotBefore.After(e.now) {
		t.Errorf("the second text: %+v, want put back to wait", st)
	}
	close(p.release)
	<-done
	if got := e.steps(first)[0]; got != "sent" {
		t.Errorf("the first text: %s", got)
	}
	e.now = e.now.Add(10 * time.Second)
	go func() {
		for range p.waiting {
		}
	}()
	e.at(3*time.Hour + 10*time.Second)
	if got := e.steps(second)[0]; got != "sent" {
		t.Errorf("the second text, its turn come: %s", got)
	}
	close(p.waiting)
}
