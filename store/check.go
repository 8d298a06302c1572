package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// CheckIndexes verifies that every index agrees with the records it is built
// from: each cart's keys, contacts, due time and shop listing, each shop's
// domain and each message's shop listing and provider id are indexed, no
// index entry points at anything else, every message is named by exactly
// the step of its cart that sent it, and every click belongs to a stored
// cart. Tests call it after every scenario; operators can run it through
// `cartback check`.
func (db *DB) CheckIndexes() error {
	db.boltMu.RLock()
	defer db.boltMu.RUnlock()
	return db.bolt.View(func(btx *bolt.Tx) error {
		want := map[string][]byte{}
		named := map[uint64]uint64{} // message id → the cart whose step names it
		err := btx.Bucket(bucketCarts).ForEach(func(k, v []byte) error {
			id := binary.BigEndian.Uint64(k)
			var f indexedFields
			if err := json.Unmarshal(v, &f); err != nil {
				return fmt.Errorf("cart %d: %w", id, err)
			}
			for ik, iv := range f.entries(id) {
				want[ik] = iv
			}
			for _, st := range f.Steps {
				if st.MessageID == 0 {
					continue
				}
				if other, dup := named[st.MessageID]; dup {
					return fmt.Errorf("message %d named by carts %d and %d", st.MessageID, other, id)
				}
				named[st.MessageID] = id
			}
			return nil
		})
		if err != nil {
			return err
		}
		err = btx.Bucket(bucketShops).ForEach(func(k, v []byte) error {
			var s Shop
			if err := json.Unmarshal(v, &s); err != nil {
				return fmt.Errorf("shop %d: %w", binary.BigEndian.Uint64(k), err)
			}
			want[string(bucketShopDomains)+"\x00"+s.Domain] = k
			return nil
		})
		if err != nil {
			return err
		}
		if err := wantMessages(btx, want, named); err != nil {
			return err
		}
		for _, name := range [][]byte{bucketCartKeys, bucketCartContacts, bucketDue, bucketShopCarts, bucketShopDomains, bucketSending, bucketShopMessages, bucketProviderIDs} {
			err := btx.Bucket(name).ForEach(func(k, v []byte) error {
				id := string(name) + "\x00" + string(k)
				w, ok := want[id]
				if !ok {
					return fmt.Errorf("index %s: stray entry %x", name, k)
				}
				if w != nil && string(w) != string(v) {
					return fmt.Errorf("index %s: entry %x points at %x, want %x", name, k, v, w)
				}
				delete(want, id)
				return nil
			})
			if err != nil {
				return err
			}
		}
		for id := range want {
			return fmt.Errorf("index entry missing: %q", id)
		}
		carts := btx.Bucket(bucketCarts)
		err = btx.Bucket(bucketClicks).ForEach(func(k, _ []byte) error {
			if carts.Get(k[:8]) == nil {
				return fmt.Errorf("clicks: entry %x for a cart that is gone", k)
			}
			return nil
		})
		if err != nil {
			return err
		}
		events, expiry := btx.Bucket(bucketEvents), btx.Bucket(bucketEventExpiry)
		if events.Stats().KeyN != expiry.Stats().KeyN {
			return fmt.Errorf("events: %d records but %d expiry entries", events.Stats().KeyN, expiry.Stats().KeyN)
		}
		return expiry.ForEach(func(k, _ []byte) error {
			if v := events.Get(k[8:]); string(v) != string(k[:8]) {
				return fmt.Errorf("event_expiry: entry %x does not match its event", k)
			}
			return nil
		})
	})
}

// wantMessages checks every message against named (message id → the cart
// whose step names it) and adds the index entries it must have to want.
func wantMessages(btx *bolt.Tx, want map[string][]byte, named map[uint64]uint64) error {
	err := btx.Bucket(bucketMessages).ForEach(func(k, v []byte) error {
		var m struct {
			ShopID     uint64 `json:"shop_id"`
			CartID     uint64 `json:"cart_id"`
			Provider   string `json:"provider"`
			ProviderID string `json:"provider_id"`
		}
		if err := json.Unmarshal(v, &m); err != nil {
			return fmt.Errorf("message %x: %w", k, err)
		}
		if m.ProviderID != "" {
			want[string(bucketProviderIDs)+"\x00"+string(providerKey(m.Provider, m.ProviderID))] = k
		}
		want[string(bucketShopMessages)+"\x00"+string(concat(u64(m.ShopID), k))] = nil
		id := binary.BigEndian.Uint64(k)
		if cart, ok := named[id]; !ok || cart != m.CartID {
			return fmt.Errorf("message %d of cart %d is not named by that cart's steps", id, m.CartID)
		}
		delete(named, id)
		return nil
	})
	if err != nil {
		return err
	}
	for id, cart := range named {
		return fmt.Errorf("cart %d names message %d, which is gone", cart, id)
	}
	return nil
}
