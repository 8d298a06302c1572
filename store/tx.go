package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/cartback/cartback/internal/payload"
	"github.com/cartback/cartback/recovery"
)

// Tx implements recovery.Tx on one bbolt transaction.
type Tx struct {
	tx *bolt.Tx
	// indexed remembers the index fields of carts read or written in this
	// transaction, so PutCart need not decode the stored cart again.
	indexed map[uint64]indexedFields
	// shops caches decoded shops: every event of a commit batch reads its
	// shop, and most batches are one shop's.
	shops map[uint64]recovery.Shop
}

func (t *Tx) remember(id uint64, f indexedFields) {
	if t.indexed == nil {
		t.indexed = map[uint64]indexedFields{}
	}
	t.indexed[id] = f
}

var _ recovery.Tx = (*Tx)(nil)

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

// timeKey encodes t so that keys sort in time order. Times before 1970 sort
// as 1970; cartback never schedules anything that early.
func timeKey(t time.Time) uint64 {
	if n := t.UnixNano(); n > 0 {
		return uint64(n)
	}
	return 0
}

func concat(parts ...[]byte) []byte {
	return bytes.Join(parts, nil)
}

// contactKey is shopID|len(contact)|contact|cartID; the length keeps one
// contact's prefix from matching a longer contact.
func contactKey(shopID uint64, contact string, cartID uint64) []byte {
	return concat(contactPrefix(shopID, contact), u64(cartID))
}

func contactPrefix(shopID uint64, contact string) []byte {
	l := make([]byte, 2)
	binary.BigEndian.PutUint16(l, uint16(len(contact)))
	return concat(u64(shopID), l, []byte(contact))
}

func dueKey(at time.Time, cartID uint64) []byte {
	return concat(u64(timeKey(at)), u64(cartID))
}

// appendOnly buckets get keys in increasing order (sequence ids), so their
// pages can be filled nearly full: splits leave little room to waste.
var appendOnly = map[string]bool{
	string(bucketCarts): true, string(bucketShopCarts): true, string(bucketMessages): true,
	string(bucketShopMessages): true, string(bucketClicks): true,
	string(bucketTimedEvents): true, // in time order within each shop
}

func (t *Tx) bucket(name []byte) *bolt.Bucket {
	b := t.tx.Bucket(name)
	if appendOnly[string(name)] && t.tx.Writable() {
		b.FillPercent = 0.9
	}
	return b
}

// Shop implements recovery.Tx.
func (t *Tx) Shop(id uint64) (*Shop, error) {
	if s, ok := t.shops[id]; ok {
		return &s, nil // a copy: callers may change it before PutShop
	}
	v := t.bucket(bucketShops).Get(u64(id))
	if v == nil {
		return nil, recovery.Errorf(recovery.ENOTFOUND, "shop %d not found", id)
	}
	// Shops change rarely and are read on every request: a decoded copy
	// is reused for as long as the stored bytes are the same.
	if c, ok := decodedShops.Load(id); ok && bytes.Equal(c.(*decodedShop).raw, v) {
		s := c.(*decodedShop).shop
		t.cacheShop(s)
		return &s, nil
	}
	var s recovery.Shop
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, fmt.Errorf("decode shop %d: %w", id, err)
	}
	decodedShops.Store(id, &decodedShop{raw: bytes.Clone(v), shop: s})
	t.cacheShop(s)
	return &s, nil
}

// decodedShop is a shop with the bytes it was decoded from.
type decodedShop struct {
	raw  []byte
	shop recovery.Shop
}

// decodedShops maps shop ids to their last decoded version, across
// transactions and databases (a stale entry never matches other bytes).
var decodedShops sync.Map

// cacheShop keeps a decoded shop for the rest of a write transaction.
func (t *Tx) cacheShop(s recovery.Shop) {
	if !t.tx.Writable() {
		return
	}
	if t.shops == nil {
		t.shops = map[uint64]recovery.Shop{}
	}
	t.shops[s.ID] = s
}

// Shop is recovery.Shop, named here to keep signatures short.
type Shop = recovery.Shop

// ShopByDomain implements recovery.Tx.
func (t *Tx) ShopByDomain(domain string) (*Shop, error) {
	id := t.bucket(bucketShopDomains).Get([]byte(domain))
	if id == nil {
		return nil, recovery.Errorf(recovery.ENOTFOUND, "shop %q not found", domain)
	}
	return t.Shop(binary.BigEndian.Uint64(id))
}

// Shops implements recovery.Tx.
func (t *Tx) Shops() ([]*Shop, error) {
	var shops []*Shop
	err := t.bucket(bucketShops).ForEach(func(k, v []byte) error {
		var s recovery.Shop
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("decode shop %x: %w", k, err)
		}
		shops = append(shops, &s)
		return nil
	})
	return shops, err
}

// PutShop implements recovery.Tx.
func (t *Tx) PutShop(s *Shop) error {
	shops, domains := t.bucket(bucketShops), t.bucket(bucketShopDomains)
	if s.ID == 0 {
		id, err := shops.NextSequence()
		if err != nil {
			return err
		}
		s.ID = id
	}
	if owner := domains.Get([]byte(s.Domain)); owner != nil && binary.BigEndian.Uint64(owner) != s.ID {
		return recovery.Errorf(recovery.ECONFLICT, "domain: shop %q already exists", s.Domain)
	}
	if old, err := t.Shop(s.ID); err == nil && old.Domain != s.Domain {
		if err := domains.Delete([]byte(old.Domain)); err != nil {
			return err
		}
	}
	v, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if err := shops.Put(u64(s.ID), v); err != nil {
		return err
	}
	t.cacheShop(*s)
	return domains.Put([]byte(s.Domain), u64(s.ID))
}

// Cart implements recovery.Tx.
func (t *Tx) Cart(id uint64) (*recovery.Cart, error) {
	v := t.bucket(bucketCarts).Get(u64(id))
	if v == nil {
		return nil, recovery.Errorf(recovery.ENOTFOUND, "cart %d not found", id)
	}
	var c recovery.Cart
	if err := json.Unmarshal(v, &c); err != nil {
		return nil, fmt.Errorf("decode cart %d: %w", id, err)
	}
	if t.tx.Writable() {
		t.remember(id, fieldsOf(&c))
	}
	return &c, nil
}

// CartByKey implements recovery.Tx.
func (t *Tx) CartByKey(shopID uint64, key string) (*recovery.Cart, error) {
	id := t.bucket(bucketCartKeys).Get(concat(u64(shopID), []byte(key)))
	if id == nil {
		return nil, recovery.Errorf(recovery.ENOTFOUND, "no cart with key %q", key)
	}
	return t.Cart(binary.BigEndian.Uint64(id))
}

// CartsByContact implements recovery.Tx.
func (t *Tx) CartsByContact(shopID uint64, contact string, limit int) ([]*recovery.Cart, error) {
	prefix := contactPrefix(shopID, contact)
	c := t.bucket(bucketCartContacts).Cursor()
	// Walk backwards from just past the prefix: ids grow with time, so the
	// newest come first and the walk stops after limit.
	k, _ := c.Seek(concat(prefix, u64(^uint64(0))))
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	var carts []*recovery.Cart
	for ; k != nil && bytes.HasPrefix(k, prefix) && len(carts) < limit; k, _ = c.Prev() {
		if len(k) != len(prefix)+8 {
			continue
		}
		cart, err := t.Cart(binary.BigEndian.Uint64(k[len(prefix):]))
		if err != nil {
			return nil, err
		}
		carts = append(carts, cart)
	}
	return carts, nil
}

// Carts implements recovery.Tx.
func (t *Tx) Carts(shopID, beforeID uint64, limit int) ([]*recovery.Cart, error) {
	var carts []*recovery.Cart
	if limit <= 0 {
		return nil, nil
	}
	err := t.newestFirst(bucketShopCarts, shopID, beforeID, func(id uint64) (bool, error) {
		cart, err := t.Cart(id)
		if err != nil {
			return false, err
		}
		carts = append(carts, cart)
		return len(carts) < limit, nil
	})
	return carts, err
}

// CartLink implements recovery.Tx.
func (t *Tx) CartLink(id uint64) (recovery.CartLink, error) {
	v := t.bucket(bucketCarts).Get(u64(id))
	if v == nil {
		return recovery.CartLink{}, recovery.Errorf(recovery.ENOTFOUND, "cart %d not found", id)
	}
	var l cartLink
	if err := payload.DecodeHeadWith(v, &l, readLink); err != nil {
		return recovery.CartLink{}, fmt.Errorf("decode cart %d: %w", id, err)
	}
	c := recovery.CartLink{ID: l.ID, ShopID: l.ShopID, Keys: l.Keys, State: l.State, RestoreURL: l.RestoreURL}
	for i, st := range l.Steps {
		if st.DiscountCode != "" {
			if c.DiscountCodes == nil {
				c.DiscountCodes = make([]string, len(l.Steps))
			}
			c.DiscountCodes[i] = st.DiscountCode
		}
	}
	return c, nil
}

// cartOutcome is the part of a stored cart the figures read; decoding
// only it skips the items, contact and keys, most of a cart's bytes.
type cartOutcome struct {
	ID          uint64               `json:"id"`
	ShopID      uint64               `json:"shop_id"`
	State       recovery.CartState   `json:"state"`
	OrderOnly   bool                 `json:"order_only"`
	CreditedTo  uint64               `json:"credited_to"`
	CapturedAt  time.Time            `json:"captured_at"`
	AbandonedAt time.Time            `json:"abandoned_at"`
	Holdout     bool                 `json:"holdout"`
	Steps       []recovery.StepRun   `json:"steps"`
	Conversion  *recovery.Conversion `json:"conversion"`
	// LastActivityAt and HasItems tell whether an active cart has been
	// abandoned since (an abandonment is written with the first step);
	// HasItems is read only for active carts.
	LastActivityAt time.Time `json:"last_activity_at"`
	HasItems       nonEmpty  `json:"items"`
	// NextDueAt tells whether a change of sequence re-times the cart.
	NextDueAt time.Time `json:"next_due_at"`
}

// nonEmpty decodes whether a JSON array has any element, without keeping it.
type nonEmpty bool

// UnmarshalJSON implements json.Unmarshaler.
func (n *nonEmpty) UnmarshalJSON(b []byte) error {
	*n = nonEmpty(arrayHasElements(b))
	return nil
}

// arrayHasElements reports whether the JSON text b is an array with at
// least one element.
func arrayHasElements(b []byte) bool {
	b = bytes.TrimSpace(b)
	if len(b) < 2 || b[0] != '[' {
		return false
	}
	return len(bytes.TrimSpace(b[1:len(b)-1])) > 0
}

// someItems stands in for the items of a cart whose outcome was decoded
// without them, so that Cart.Empty still tells the truth.
var someItems = []recovery.LineItem{{}}

// CartOutcomes implements recovery.Tx. The stored bytes are gathered in
// key order, then decoded on every core: a dashboard over thousands of
// carts is bound by decoding.
func (t *Tx) CartOutcomes(shopID, beforeID uint64, limit int) ([]*recovery.Cart, error) {
	if limit <= 0 {
		return nil, nil
	}
	b := t.bucket(bucketCarts)
	var raws [][]byte // valid while the transaction is open
	err := t.newestFirst(bucketShopCarts, shopID, beforeID, func(id uint64) (bool, error) {
		raws = append(raws, b.Get(u64(id)))
		return len(raws) < limit, nil
	})
	if err != nil {
		return nil, err
	}
	carts := make([]*recovery.Cart, len(raws))
	errs := make([]error, len(raws))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(raws)/64))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(raws); i += workers {
				var o cartOutcome
				if errs[i] = decodeOutcome(raws[i], &o); errs[i] != nil {
					continue
				}
				carts[i] = &recovery.Cart{
					ID: o.ID, ShopID: o.ShopID, State: o.State, OrderOnly: o.OrderOnly, CreditedTo: o.CreditedTo, CapturedAt: o.CapturedAt,
					AbandonedAt: o.AbandonedAt, Holdout: o.Holdout, Steps: o.Steps, Conversion: o.Conversion,
					LastActivityAt: o.LastActivityAt, NextDueAt: o.NextDueAt,
				}
				if o.HasItems {
					carts[i].Items = someItems
				}
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("decode cart outcome %d: %w", i, err)
		}
	}
	return carts, nil
}

// newestFirst walks a shopID|id index from the id below beforeID (zero:
// the newest) downwards, calling fn with each id until fn says stop.
func (t *Tx) newestFirst(bucket []byte, shopID, beforeID uint64, fn func(id uint64) (more bool, err error)) error {
	prefix := u64(shopID)
	c := t.bucket(bucket).Cursor()
	var k []byte
	if beforeID == 0 {
		k, _ = c.Seek(u64(shopID + 1))
	} else {
		k, _ = c.Seek(concat(prefix, u64(beforeID)))
	}
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
		if more, err := fn(binary.BigEndian.Uint64(k[8:])); err != nil || !more {
			return err
		}
	}
	return nil
}

// indexedFields are the parts of a stored cart that indexes are built from;
// decoding only these keeps PutCart cheap.
type indexedFields struct {
	ShopID    uint64            `json:"shop_id"`
	Keys      recovery.CartKeys `json:"keys"`
	Contact   recovery.Contact  `json:"contact"`
	NextDueAt time.Time         `json:"next_due_at"`
	Steps     []stepState       `json:"steps"`
}

type stepState struct {
	State recovery.StepState `json:"state"`
	// MessageID names the step's message: a cart's messages are found
	// through its steps, with no index of their own.
	MessageID uint64 `json:"message_id"`
}

func fieldsOf(c *recovery.Cart) indexedFields {
	f := indexedFields{ShopID: c.ShopID, Keys: c.Keys, Contact: c.Contact, NextDueAt: c.NextDueAt}
	for _, st := range c.Steps {
		f.Steps = append(f.Steps, stepState{st.State, st.MessageID})
	}
	return f
}

func (f indexedFields) entries(id uint64) map[string][]byte {
	m := map[string][]byte{}
	for _, k := range f.Keys.Index() {
		m[string(bucketCartKeys)+"\x00"+string(concat(u64(f.ShopID), []byte(k)))] = u64(id)
	}
	for _, k := range f.Contact.Index() {
		m[string(bucketCartContacts)+"\x00"+string(contactKey(f.ShopID, k, id))] = nil
	}
	if !f.NextDueAt.IsZero() {
		m[string(bucketDue)+"\x00"+string(dueKey(f.NextDueAt, id))] = nil
	}
	m[string(bucketShopCarts)+"\x00"+string(concat(u64(f.ShopID), u64(id)))] = nil
	for _, st := range f.Steps {
		if st.State == recovery.StepSending {
			m[string(bucketSending)+"\x00"+string(u64(id))] = nil
			break
		}
	}
	return m
}

// PutCart implements recovery.Tx. It removes the index entries of the
// stored version that the new version no longer has and adds the new ones.
func (t *Tx) PutCart(c *recovery.Cart) error {
	carts := t.bucket(bucketCarts)
	if c.ID == 0 {
		id, err := carts.NextSequence()
		if err != nil {
			return err
		}
		c.ID = id
	}
	if c.ShopID == 0 {
		return recovery.Errorf(recovery.EINVALID, "cart %d has no shop", c.ID)
	}
	old, err := t.storedEntries(c.ID)
	if err != nil {
		return err
	}
	fields := fieldsOf(c)
	want := fields.entries(c.ID)
	for k := range old {
		if _, keep := want[k]; !keep {
			name, key, _ := bytes.Cut([]byte(k), []byte{0})
			if err := t.bucket(name).Delete(key); err != nil {
				return err
			}
		}
	}
	for k, v := range want {
		if _, had := old[k]; had {
			continue // already there: rewriting it would only dirty a page
		}
		name, key, _ := bytes.Cut([]byte(k), []byte{0})
		b := t.bucket(name)
		if string(name) == string(bucketCartKeys) {
			// A platform key names exactly one cart; taking it from another
			// cart would leave that cart unreachable by it, so refuse.
			if owner := b.Get(key); owner != nil && binary.BigEndian.Uint64(owner) != c.ID {
				return recovery.Errorf(recovery.ECONFLICT, "key %q already belongs to cart %d", key[8:], binary.BigEndian.Uint64(owner))
			}
		}
		if v == nil {
			v = []byte{}
		}
		if err := b.Put(key, v); err != nil {
			return err
		}
	}
	v, err := json.Marshal(c)
	if err != nil {
		return err
	}
	t.remember(c.ID, fields)
	return carts.Put(u64(c.ID), v)
}

// storedEntries returns the index entries of the stored version of a cart
// (none when it is not stored).
func (t *Tx) storedEntries(id uint64) (map[string][]byte, error) {
	f, ok, err := t.storedFields(id)
	if err != nil || !ok {
		return map[string][]byte{}, err
	}
	return f.entries(id), nil
}

// storedFields returns the index fields of the stored version of a cart;
// ok is false when it is not stored.
func (t *Tx) storedFields(id uint64) (f indexedFields, ok bool, err error) {
	if f, ok := t.indexed[id]; ok {
		return f, true, nil
	}
	v := t.bucket(bucketCarts).Get(u64(id))
	if v == nil {
		return f, false, nil
	}
	if err := json.Unmarshal(v, &f); err != nil {
		return f, false, fmt.Errorf("decode cart %d: %w", id, err)
	}
	return f, true, nil
}

// DeleteCart implements recovery.Tx.
func (t *Tx) DeleteCart(id uint64) error {
	f, _, err := t.storedFields(id)
	if err != nil {
		return err
	}
	for k := range f.entries(id) {
		name, key, _ := bytes.Cut([]byte(k), []byte{0})
		if err := t.bucket(name).Delete(key); err != nil {
			return err
		}
	}
	for _, st := range f.Steps {
		if st.MessageID == 0 {
			continue
		}
		mid := u64(st.MessageID)
		if err := t.deleteMessageIndexes(mid); err != nil {
			return err
		}
		if err := t.bucket(bucketMessages).Delete(mid); err != nil {
			return err
		}
	}
	if err := t.deletePrefix(bucketClicks, u64(id)); err != nil {
		return err
	}
	delete(t.indexed, id)
	return t.bucket(bucketCarts).Delete(u64(id))
}

// prefixKeys returns copies of the bucket's keys that start with prefix.
func (t *Tx) prefixKeys(bucket, prefix []byte) ([][]byte, error) {
	var keys [][]byte
	c := t.bucket(bucket).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	return keys, nil
}

// OldestCarts implements recovery.Tx.
func (t *Tx) OldestCarts(shopID, afterID uint64, limit int) ([]*recovery.Cart, error) {
	prefix := u64(shopID)
	c := t.bucket(bucketShopCarts).Cursor()
	var carts []*recovery.Cart
	for k, _ := c.Seek(concat(prefix, u64(afterID+1))); k != nil && bytes.HasPrefix(k, prefix) && len(carts) < limit; k, _ = c.Next() {
		cart, err := t.Cart(binary.BigEndian.Uint64(k[8:]))
		if err != nil {
			return nil, err
		}
		carts = append(carts, cart)
	}
	return carts, nil
}

// SendingCarts implements recovery.Tx.
func (t *Tx) SendingCarts(limit int) ([]uint64, error) {
	var ids []uint64
	c := t.bucket(bucketSending).Cursor()
	for k, _ := c.First(); k != nil && len(ids) < limit; k, _ = c.Next() {
		ids = append(ids, binary.BigEndian.Uint64(k))
	}
	return ids, nil
}

// DueCarts implements recovery.Tx.
func (t *Tx) DueCarts(until time.Time, limit int) ([]recovery.Due, error) {
	end := timeKey(until)
	var due []recovery.Due
	c := t.bucket(bucketDue).Cursor()
	for k, _ := c.First(); k != nil && len(due) < limit; k, _ = c.Next() {
		at := binary.BigEndian.Uint64(k[:8])
		if at > end {
			break
		}
		due = append(due, recovery.Due{At: time.Unix(0, int64(at)).UTC(), CartID: binary.BigEndian.Uint64(k[8:])})
	}
	return due, nil
}

// EventSeen implements recovery.Tx.
func (t *Tx) EventSeen(shopID uint64, key string, at, now time.Time) (bool, error) {
	b, k := t.eventRecord(shopID, key, at)
	v := b.Get(k)
	if len(v) != 8 {
		return false, nil
	}
	return binary.BigEndian.Uint64(v) > timeKey(now), nil
}

// eventRecord returns where the record of an event lives. An event that
// says when it happened is kept under shop|time|key: new records append
// to their shop's end of the bucket instead of dirtying a random page, and
// they expire front to back. Others are kept under shop|key with an entry
// in event_expiry.
func (t *Tx) eventRecord(shopID uint64, key string, at time.Time) (*bolt.Bucket, []byte) {
	if at.IsZero() {
		return t.bucket(bucketEvents), concat(u64(shopID), []byte(key))
	}
	return t.bucket(bucketTimedEvents), concat(u64(shopID), u64(timeKey(at)), []byte(key))
}

// RecordEvent implements recovery.Tx.
func (t *Tx) RecordEvent(shopID uint64, key string, at, expiresAt time.Time) error {
	b, k := t.eventRecord(shopID, key, at)
	exp := u64(timeKey(expiresAt))
	if !at.IsZero() {
		return b.Put(k, exp)
	}
	expiry := t.bucket(bucketEventExpiry)
	if v := b.Get(k); len(v) == 8 {
		if err := expiry.Delete(concat(v, k)); err != nil {
			return err
		}
	}
	if err := b.Put(k, exp); err != nil {
		return err
	}
	return expiry.Put(concat(exp, k), []byte{})
}

// ExpireEvents implements recovery.Tx.
func (t *Tx) ExpireEvents(now time.Time, limit int) (int, error) {
	events, expiry := t.bucket(bucketEvents), t.bucket(bucketEventExpiry)
	end := timeKey(now)
	var keys [][]byte
	c := expiry.Cursor()
	for k, _ := c.First(); k != nil && len(keys) < limit; k, _ = c.Next() {
		if binary.BigEndian.Uint64(k[:8]) > end {
			break
		}
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := expiry.Delete(k); err != nil {
			return 0, err
		}
		if err := events.Delete(k[8:]); err != nil {
			return 0, err
		}
	}
	n := len(keys)

	// Timed records: each shop's oldest come first. A record that lives
	// on (a redelivery recorded hours after its event) holds back its
	// shop's newer ones until it expires too, never the other way round.
	timed := t.bucket(bucketTimedEvents)
	keys = keys[:0]
	tc := timed.Cursor()
	for k, v := tc.First(); k != nil && n+len(keys) < limit; {
		if len(v) == 8 && binary.BigEndian.Uint64(v) <= end {
			keys = append(keys, bytes.Clone(k))
			k, v = tc.Next()
			continue
		}
		next := binary.BigEndian.Uint64(k[:8]) + 1
		if next == 0 {
			break
		}
		k, v = tc.Seek(u64(next))
	}
	for _, k := range keys {
		if err := timed.Delete(k); err != nil {
			return 0, err
		}
	}
	return n + len(keys), nil
}

// Meta implements recovery.Tx.
func (t *Tx) Meta(name string) ([]byte, error) {
	return bytes.Clone(t.bucket(bucketMeta).Get([]byte(name))), nil
}

// PutMeta implements recovery.Tx.
func (t *Tx) PutMeta(name string, value []byte) error {
	return t.bucket(bucketMeta).Put([]byte(name), value)
}

// DeleteMetaPrefix implements recovery.Tx.
func (t *Tx) DeleteMetaPrefix(prefix string) error {
	if prefix == "" {
		return recovery.Errorf(recovery.EINVALID, "an empty prefix would delete every service-wide value")
	}
	return t.deletePrefix(bucketMeta, []byte(prefix))
}

// deletePrefix deletes the bucket's keys that start with prefix.
func (t *Tx) deletePrefix(name, prefix []byte) error {
	keys, err := t.prefixKeys(name, prefix)
	if err != nil {
		return err
	}
	b := t.bucket(name)
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// deleteMessageIndexes removes the shop listing and the provider index
// entry of a stored message.
func (t *Tx) deleteMessageIndexes(mid []byte) error {
	v := t.bucket(bucketMessages).Get(mid)
	if v == nil {
		return nil
	}
	var m struct {
		ShopID     uint64 `json:"shop_id"`
		Provider   string `json:"provider"`
		ProviderID string `json:"provider_id"`
	}
	if err := json.Unmarshal(v, &m); err != nil {
		return err
	}
	if err := t.bucket(bucketShopMessages).Delete(concat(u64(m.ShopID), mid)); err != nil {
		return err
	}
	if m.ProviderID == "" {
		return nil
	}
	return t.bucket(bucketProviderIDs).Delete(providerKey(m.Provider, m.ProviderID))
}
