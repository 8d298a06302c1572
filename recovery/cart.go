package recovery

import (
	"slices"
	"strings"
	"time"
)

// CartState is where a cart is in its life.
//
//	active → abandoned → converted | deleted | expired
//
// An active or abandoned cart whose shopper comes back returns to active.
type CartState string

// Cart states.
const (
	CartActive    CartState = "active"
	CartAbandoned CartState = "abandoned"
	CartConverted CartState = "converted"
	CartDeleted   CartState = "deleted"
	CartExpired   CartState = "expired"
)

// Open reports whether the cart may still be bought and so reminded.
func (s CartState) Open() bool { return s == CartActive || s == CartAbandoned }

// Cart is the platform-neutral shopping cart cartback recovers. Money is
// always in integer minor units of Currency (cents, øre, yen).
type Cart struct {
	ID       uint64   `json:"id"`
	ShopID   uint64   `json:"shop_id"`
	Platform Platform `json:"platform"`
	Keys     CartKeys `json:"keys"`

	// State, RestoreURL and Steps are all a restore link needs: they come
	// ahead of the bulky contents in the stored JSON, so that a click reads
	// only the head of it.
	State CartState `json:"state"`
	// RestoreURL is the platform's own link back into this cart.
	RestoreURL string `json:"restore_url,omitempty"`
	// Steps are the reminders planned for this cart's episode, created when
	// the cart is first found abandoned.
	Steps []StepRun `json:"steps,omitempty"`
	// OrderOnly marks a cart created from an order whose checkout had not
	// arrived yet; it exists so that a late checkout webhook finds the cart
	// already converted and no reminder goes out.
	OrderOnly bool `json:"order_only,omitempty"`
	// CreditedTo names the cart an order of this checkout was credited to
	// (the same shopper's, matched by email before this checkout was
	// seen): this one stays out of the figures, so the order counts once.
	CreditedTo uint64 `json:"credited_to,omitempty"`

	// LastActivityAt is the platform's own updated_at: the last time the
	// shopper changed the cart. It orders updates and times reminders.
	LastActivityAt time.Time `json:"last_activity_at"`
	// CreatedAt is the platform's created_at.
	CreatedAt time.Time `json:"created_at,omitzero"`
	// CapturedAt is when cartback first stored the cart.
	CapturedAt time.Time `json:"captured_at"`
	// UpdatedAt is when cartback last changed the record.
	UpdatedAt time.Time `json:"updated_at"`
	// AbandonedAt is when the cart was first seen abandoned in this episode.
	AbandonedAt time.Time `json:"abandoned_at,omitzero"`
	// DeletedAt is when the platform deleted the cart, by its own clock
	// (the delete's arrival when it gave no time): updates are compared
	// with it, in that clock, so that one from before the delete arriving
	// after it does not bring the cart back.
	DeletedAt time.Time `json:"deleted_at,omitzero"`

	Conversion *Conversion `json:"conversion,omitempty"`

	// Holdout marks a cart drawn into the shop's control group: it gets no
	// reminders, so that the lift of reminding can be measured.
	Holdout bool `json:"holdout,omitempty"`

	// NextDueAt is when the scheduler must next look at this cart; zero when
	// nothing is pending. The store keeps a time-ordered index of it.
	NextDueAt time.Time `json:"next_due_at,omitzero"`

	Contact Contact `json:"contact"`
	Consent Consent `json:"consent"`

	Currency string     `json:"currency"`
	Items    []LineItem `json:"items"`
	Totals   Totals     `json:"totals"`
}

// CartKeys are the platform's identifiers of a cart. Any one of them finds it.
type CartKeys struct {
	// CheckoutToken is Shopify's checkout token (an order's checkout_token).
	CheckoutToken string `json:"checkout_token,omitempty"`
	// CartToken is Shopify's cart token.
	CartToken string `json:"cart_token,omitempty"`
	// OrderID is the WooCommerce order id of a draft, pending or failed order.
	OrderID string `json:"order_id,omitempty"`
	// CartKey is the WooCommerce plugin's cart session key.
	CartKey string `json:"cart_key,omitempty"`
}

// Index returns the lookup keys of k, most specific first, each prefixed by
// its kind so that values of different kinds never collide.
func (k CartKeys) Index() []string {
	var keys []string
	add := func(prefix, v string) {
		if v != "" {
			keys = append(keys, prefix+v)
		}
	}
	add("t:", k.CheckoutToken)
	add("c:", k.CartToken)
	add("o:", k.OrderID)
	add("k:", k.CartKey)
	return keys
}

// merge fills k's empty keys from other.
func (k *CartKeys) merge(other CartKeys) {
	fill := func(dst *string, src string) {
		if *dst == "" {
			*dst = src
		}
	}
	fill(&k.CheckoutToken, other.CheckoutToken)
	fill(&k.CartToken, other.CartToken)
	fill(&k.OrderID, other.OrderID)
	fill(&k.CartKey, other.CartKey)
}

// Contact is who the cart belongs to.
type Contact struct {
	Email string `json:"email,omitempty"`
	// Phone is in E.164 form (+4791234567); numbers that could not be read
	// are kept in PhoneRaw and never used for sending.
	Phone     string `json:"phone,omitempty"`
	PhoneRaw  string `json:"phone_raw,omitempty"`
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	// Locale is a BCP 47 tag such as "nb-NO" or "de".
	Locale string `json:"locale,omitempty"`
	// Country is the ISO 3166-1 alpha-2 code of the billing address.
	Country string `json:"country,omitempty"`
}

// Index returns the contact's lookup keys: the lower-cased email and the
// E.164 phone.
func (c Contact) Index() []string {
	var keys []string
	if e := NormalizeEmail(c.Email); e != "" {
		keys = append(keys, "e:"+e)
	}
	if c.Phone != "" {
		keys = append(keys, "p:"+c.Phone)
	}
	return keys
}

// NormalizeEmail trims and lower-cases an address for matching.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// merge fills c's empty fields from other.
func (c *Contact) merge(other Contact) {
	for _, f := range []struct {
		dst *string
		src string
	}{
		{&c.Email, other.Email}, {&c.Phone, other.Phone}, {&c.PhoneRaw, other.PhoneRaw},
		{&c.FirstName, other.FirstName}, {&c.LastName, other.LastName},
		{&c.Locale, other.Locale}, {&c.Country, other.Country},
	} {
		if *f.dst == "" {
			*f.dst = f.src
		}
	}
}

// Consent records what the shopper agreed to be contacted about.
type Consent struct {
	Email ConsentGrant `json:"email"`
	SMS   ConsentGrant `json:"sms"`
}

// ConsentGrant is one channel's consent and where it was recorded.
type ConsentGrant struct {
	Granted bool `json:"granted"`
	// Source says where the answer came from, e.g.
	// "shopify:buyer_accepts_sms_marketing" or "woocommerce:checkout_checkbox".
	Source string `json:"source,omitempty"`
}

// LineItem is one product line in a cart.
type LineItem struct {
	Title        string `json:"title"`
	VariantTitle string `json:"variant_title,omitempty"`
	SKU          string `json:"sku,omitempty"`
	Quantity     int    `json:"quantity"`
	// UnitPrice and LinePrice are minor units of the cart's currency.
	UnitPrice  int64       `json:"unit_price"`
	LinePrice  int64       `json:"line_price"`
	ProductID  string      `json:"product_id,omitempty"`
	VariantID  string      `json:"variant_id,omitempty"`
	ImageURL   string      `json:"image_url,omitempty"`
	ProductURL string      `json:"product_url,omitempty"`
	Attributes []Attribute `json:"attributes,omitempty"`
}

// Attribute is a named option of a line item, such as Size: M.
type Attribute struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Totals are a cart's sums, in minor units of the cart's currency.
type Totals struct {
	Subtotal  int64 `json:"subtotal"`
	Discounts int64 `json:"discounts"`
	Shipping  int64 `json:"shipping"`
	Tax       int64 `json:"tax"`
	Total     int64 `json:"total"`
}

// Conversion is the order that ended a cart's episode.
type Conversion struct {
	OrderID     string    `json:"order_id,omitempty"`
	OrderNumber string    `json:"order_number,omitempty"`
	Total       int64     `json:"total"`
	Currency    string    `json:"currency"`
	At          time.Time `json:"at"`
	// Attribution says what brought the shopper back, decided when the
	// order arrived: AttributionLink, AttributionReminder or empty.
	Attribution string `json:"attribution,omitempty"`
	// AttributedStep is the index of the step credited, or -1.
	AttributedStep int `json:"attributed_step"`
}

// Attributions of a conversion.
const (
	// AttributionLink: a restore link of the cart was clicked before the order.
	AttributionLink = "link"
	// AttributionReminder: a reminder was sent before the order, no click.
	AttributionReminder = "reminder"
)

// StepState is where one planned reminder is.
type StepState string

// Step states. Scheduled and sending are open; the rest are final.
const (
	StepScheduled StepState = "scheduled"
	// StepSending is claimed: committed before any provider call, so that a
	// crash during the call can never lead to a second copy.
	StepSending StepState = "sending"
	StepSent    StepState = "sent"
	// StepOutbox was rendered and stored because the channel has no
	// provider configured; nothing left cartback.
	StepOutbox  StepState = "outbox"
	StepFailed  StepState = "failed"
	StepSkipped StepState = "skipped"
	// StepUnknown was claimed when the service stopped mid-call: whether it
	// reached the shopper cannot be known, so it is never sent again.
	StepUnknown StepState = "unknown"
)

// StepRun is one planned reminder of a cart and what became of it.
type StepRun struct {
	Index        int     `json:"index"`
	Channel      Channel `json:"channel"`
	Template     string  `json:"template"`
	DiscountCode string  `json:"discount_code,omitempty"`
	// CodeExpires, when set, says DiscountCode is a single-use code made
	// for this step, valid until then (CodeIssued); StaticCode is the code
	// it was planned with, which it falls back to.
	CodeExpires time.Time `json:"code_expires,omitzero"`
	StaticCode  string    `json:"static_code,omitempty"`
	// Variant is the wording this cart was drawn for ("A" without a test).
	Variant string    `json:"variant,omitempty"`
	After   Duration  `json:"after"`
	DueAt   time.Time `json:"due_at"`
	// NotBefore holds a due step back, e.g. until the frequency cap allows.
	NotBefore time.Time `json:"not_before,omitzero"`
	// Deadline is the last moment the step may still go out; zero means
	// StepDeadline after DueAt. Quiet hours move it along with the step.
	Deadline   time.Time `json:"deadline,omitzero"`
	State      StepState `json:"state"`
	Reason     string    `json:"reason,omitempty"`
	ClaimedAt  time.Time `json:"claimed_at,omitzero"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	MessageID  uint64    `json:"message_id,omitempty"`
}

// Delivered reports whether the step's message was handed over: sent, or
// held in the outbox (which stands in for delivery when no provider is set).
func (r StepRun) Delivered() bool { return r.State == StepSent || r.State == StepOutbox }

// CodeIssued reports whether DiscountCode is a single-use code made for
// this step.
func (r StepRun) CodeIssued() bool { return !r.CodeExpires.IsZero() }

// DeadlineAt is the last moment the step may still go out.
func (r StepRun) DeadlineAt() time.Time {
	if !r.Deadline.IsZero() {
		return r.Deadline
	}
	return r.DueAt.Add(StepDeadline)
}

// ReadyAt is when the step may go out.
func (r StepRun) ReadyAt() time.Time {
	if r.NotBefore.After(r.DueAt) {
		return r.NotBefore
	}
	return r.DueAt
}

// Order is a placed order as the platform reports it; it converts carts.
type Order struct {
	ID     string `json:"id"`
	Number string `json:"number,omitempty"`
	// Keys link the order to the cart it came from; any may be empty.
	Keys     CartKeys  `json:"keys"`
	Email    string    `json:"email,omitempty"`
	Currency string    `json:"currency"`
	Total    int64     `json:"total"`
	At       time.Time `json:"at"`
}

// Empty reports whether the cart holds no items.
func (c *Cart) Empty() bool { return len(c.Items) == 0 }

// clone returns a deep copy so a rule can change it without touching the
// version another goroutine or a retried batch function holds.
func (c *Cart) clone() *Cart {
	cp := *c
	cp.Items = slices.Clone(c.Items)
	for i := range cp.Items {
		cp.Items[i].Attributes = slices.Clone(cp.Items[i].Attributes)
	}
	if c.Conversion != nil {
		conv := *c.Conversion
		cp.Conversion = &conv
	}
	cp.Steps = slices.Clone(c.Steps)
	return &cp
}

// CartLink is the part of a cart a restore link needs.
type CartLink struct {
	ID         uint64
	ShopID     uint64
	Keys       CartKeys
	State      CartState
	RestoreURL string
	// DiscountCodes holds each step's discount code, in step order ("" for
	// a step without one); it is nil when no step has one.
	DiscountCodes []string
}
