package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// CheckIndexes verifies that every index agrees with the records it is built
// from: each cart's keys, contacts, due time and shop listing are indexed,
// and no index entry points at anything else. Tests call it after every
// scenario; operators can run it through `cartback check`.
func (db *DB) CheckIndexes() error {
	db.boltMu.RLock()
	defer db.boltMu.RUnlock()
	return db.bolt.View(func(btx *bolt.Tx) error {
		want := map[string][]byte{}
		err := btx.Bucket(bucketCarts).ForEach(func(k, v []byte) error {
			var f indexedFields
			if err := json.Unmarshal(v, &f); err != nil {
				return fmt.Errorf("cart %d: %w", binary.BigEndian.Uint64(k), err)
			}
			for ik, iv := range f.entries(binary.BigEndian.Uint64(k)) {
				want[ik] = iv
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
		for _, name := range [][]byte{bucketCartKeys, bucketCartContacts, bucketDue, bucketShopCarts, bucketShopDomains, bucketSending} {
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
		if err := checkMessages(btx); err != nil {
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

// checkMessages verifies that every message is listed under its shop and
// named by exactly the step of its cart that sent it, that nothing else is,
// and that every click belongs to a stored cart.
func checkMessages(btx *bolt.Tx) error {
	want := map[string]bool{}
	// Which message each step names.
	named := map[uint64]uint64{} // message id → cart id
	err := btx.Bucket(bucketCarts).ForEach(func(k, v []byte) error {
		var f indexedFields
		if err := json.Unmarshal(v, &f); err != nil {
			return err
		}
		for _, st := range f.Steps {
			if st.MessageID != 0 {
				if other, dup := named[st.MessageID]; dup {
					return fmt.Errorf("message %d named by carts %d and %d", st.MessageID, other, binary.BigEndian.Uint64(k))
				}
				named[st.MessageID] = binary.BigEndian.Uint64(k)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = btx.Bucket(bucketMessages).ForEach(func(k, v []byte) error {
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
			want[string(bucketProviderIDs)+"\x00"+string(providerKey(m.Provider, m.ProviderID))] = true
		}
		want[string(bucketShopMessages)+"\x00"+string(concat(u64(m.ShopID), k))] = true
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
	for _, name := range [][]byte{bucketShopMessages, bucketProviderIDs} {
		err := btx.Bucket(name).ForEach(func(k, _ []byte) error {
			id := string(name) + "\x00" + string(k)
			if !want[id] {
				return fmt.Errorf("index %s: stray entry %x", name, k)
			}
			delete(want, id)
			return nil
		})
		if err != nil {
			return err
		}
	}
	for id := range want {
		return fmt.Errorf("message index entry missing: %q", id)
	}
	carts := btx.Bucket(bucketCarts)
	return btx.Bucket(bucketClicks).ForEach(func(k, _ []byte) error {
		if carts.Get(k[:8]) == nil {
			return fmt.Errorf("clicks: entry %x for a cart that is gone", k)
		}
		return nil
	})
}
