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
	// CartsByContact returns the shop's carts with the given contact key (one
	// of Contact.Index), newest first.
	CartsByContact(shopID uint64, key string) ([]*Cart, error)
	// Carts returns up to limit of the shop's carts with ids below beforeID
	// (zero: from the newest), newest first.
	Carts(shopID uint64, beforeID uint64, limit int) ([]*Cart, error)
	// PutCart stores c, assigning an id when c.ID is zero, and brings every
	// index (keys, contact, due time) in line with it.
	PutCart(c *Cart) error

	// DueCarts returns up to limit entries of the due index at or before
	// until, earliest first.
	DueCarts(until time.Time, limit int) ([]Due, error)

	// EventSeen reports whether the shop's event with this key was already
	// applied and its record has not expired by now.
	EventSeen(shopID uint64, key string, now time.Time) (bool, error)
	// RecordEvent remembers the shop's event key until expiresAt.
	RecordEvent(shopID uint64, key string, expiresAt time.Time) error
	// ExpireEvents forgets up to limit event records that expired before now
	// and returns how many it removed.
	ExpireEvents(now time.Time, limit int) (int, error)

	// Meta returns a service-wide value stored under name, or nil.
	Meta(name string) ([]byte, error)
	// PutMeta stores a service-wide value, such as a generated secret.
	PutMeta(name string, value []byte) error
}

// Due is one entry of the time-ordered due index.
type Due struct {
	At     time.Time
	CartID uint64
}
