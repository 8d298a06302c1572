package recovery

import (
	"context"
	"time"
)

// Store is cartback's durable state. The bbolt implementation lives in
// package store; another backend only has to provide the same transactions.
type Store interface {
	// Update runs fn in a read-write transaction and returns once it has
	// committed durably. Concurrent updates may be committed together, and fn
	// may then run more than once, so fn must derive everything it does from
	// the transaction and reset any results it hands back on each run.
	Update(ctx context.Context, fn func(Tx) error) error
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(Tx) error) error
}

// Tx is one transaction's view of the store. No network I/O may happen while
// a Tx is open.
type Tx interface {
	// Shop returns the shop with the given id. ENOTFOUND is returned when
	// there is none.
	Shop(id uint64) (*Shop, error)
	// ShopByDomain returns the shop with the given (normalised) domain.
	// ENOTFOUND is returned when there is none.
	ShopByDomain(domain string) (*Shop, error)
	// Shops returns every shop, ordered by id.
	Shops() ([]*Shop, error)
	// PutShop stores s, assigning an id when s.ID is zero. ECONFLICT is
	// returned when another shop already has s's domain.
	PutShop(s *Shop) error

	// Cart returns the cart with the given id. ENOTFOUND is returned when
	// there is none.
	Cart(id uint64) (*Cart, error)
	// CartByKey returns the shop's cart with the given lookup key (one of
	// CartKeys.Index). ENOTFOUND is returned when there is none.
	CartByKey(shopID uint64, key string) (*Cart, error)
	// CartsByContact returns up to limit of the shop's carts with the given
	// contact key (one of Contact.Index), newest first.
	CartsByContact(shopID uint64, key string, limit int) ([]*Cart, error)
	// Carts returns up to limit of the shop's carts with ids below beforeID
	// (zero: from the newest), newest first.
	Carts(shopID uint64, beforeID uint64, limit int) ([]*Cart, error)
	// CartLink returns the part of a cart a restore link needs: a click
	// must not decode the items.
	// ENOTFOUND is returned when there is no such cart.
	CartLink(id uint64) (CartLink, error)
	// CartOutcomes is Carts with only what the figures and re-timing read
	// filled in (ids, capture, activity, abandonment and due times, state,
	// holdout, order-only, steps and conversion; Items holds one empty line
	// when the cart has any, so Empty tells the truth): much cheaper over
	// many carts.
	CartOutcomes(shopID uint64, beforeID uint64, limit int) ([]*Cart, error)
	// OldestCarts returns up to limit of the shop's carts with ids above
	// afterID, oldest first.
	OldestCarts(shopID uint64, afterID uint64, limit int) ([]*Cart, error)
	// PutCart stores c, assigning an id when c.ID is zero, and brings every
	// index (keys, contact, due time) in line with it.
	PutCart(c *Cart) error

	// DeleteCart removes a cart with its indexes, messages and clicks.
	DeleteCart(id uint64) error
	// DueCarts returns up to limit entries of the due index at or before
	// until, earliest first.
	DueCarts(until time.Time, limit int) ([]Due, error)
	// SendingCarts returns up to limit ids of carts that have a step claimed
	// and not yet finished.
	SendingCarts(limit int) ([]uint64, error)

	// PutMessage stores m, assigning an id when m.ID is zero.
	PutMessage(m *Message) error
	// Message returns the message with the given id. ENOTFOUND is returned
	// when there is none.
	Message(id uint64) (*Message, error)
	// Messages returns up to limit of the shop's messages with ids below
	// beforeID (zero: from the newest) for which keep is true (nil keeps
	// all), newest first.
	Messages(shopID, beforeID uint64, limit int, keep func(*Message) bool) ([]*Message, error)
	// MessageByProvider returns the message a provider knows by id.
	// ENOTFOUND is returned when there is none.
	MessageByProvider(provider, providerID string) (*Message, error)
	// CartMessages returns a cart's messages, oldest first.
	CartMessages(cartID uint64) ([]*Message, error)

	// PutClick records a visit of a restore link. ENOTFOUND is returned
	// when the cart is gone.
	PutClick(c *Click) error
	// Clicks returns a cart's clicks, oldest first.
	Clicks(cartID uint64) ([]Click, error)

	// OptOut returns the contact's opt-out of a shop's channel, or nil.
	OptOut(shopID uint64, channel Channel, contact string) (*OptOut, error)
	// PutOptOut records an opt-out.
	PutOptOut(o *OptOut) error
	// DeleteOptOut removes an opt-out (the contact opted back in).
	DeleteOptOut(shopID uint64, channel Channel, contact string) error

	// PutExport stores a customer data export.
	PutExport(e *DataExport) error
	// Exports returns the shop's data exports, oldest first.
	Exports(shopID uint64) ([]*DataExport, error)
	// DeleteExport removes one data export.
	DeleteExport(shopID uint64, requestID string) error
	// EraseShopRecords deletes up to limit of the shop's opt-outs, exports,
	// daily figures and webhook records, and reports whether none remain.
	EraseShopRecords(shopID uint64, limit int) (done bool, err error)

	// DailyFigures returns the shop's stored daily aggregates for days in
	// [from, to] ("2006-01-02"), oldest first.
	DailyFigures(shopID uint64, from, to string) ([]*DailyFigures, error)
	// PutDailyFigures stores one day's aggregate.
	PutDailyFigures(d *DailyFigures) error

	// EventSeen reports whether the shop's event with this key, which
	// happened at at (zero when the platform does not say), was already
	// applied and its record has not expired by now.
	EventSeen(shopID uint64, key string, at, now time.Time) (bool, error)
	// RecordEvent remembers the shop's event key, which happened at at
	// (or zero), until expiresAt.
	RecordEvent(shopID uint64, key string, at, expiresAt time.Time) error
	// ExpireEvents forgets up to limit event records that expired before now
	// and returns how many it removed.
	ExpireEvents(now time.Time, limit int) (int, error)

	// Meta returns a service-wide value stored under name, or nil.
	Meta(name string) ([]byte, error)
	// PutMeta stores a service-wide value, such as a generated secret.
	PutMeta(name string, value []byte) error
	// DeleteMetaPrefix removes every service-wide value whose name starts
	// with prefix.
	DeleteMetaPrefix(prefix string) error
}

// Due is one entry of the time-ordered due index.
type Due struct {
	At     time.Time
	CartID uint64
}
