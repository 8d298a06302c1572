package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cartback/cartback/recovery"
	bolt "go.etcd.io/bbolt"
)

// TestCheckIndexesFindsDamage damages one index entry at a time in a
// consistent database and expects the check to name what is wrong.
func TestCheckIndexesFindsDamage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(btx *bolt.Tx, cartID, msgID uint64) error
		want   string
	}{
		{"lookup key gone", func(btx *bolt.Tx, cartID, _ uint64) error {
			return btx.Bucket(bucketCartKeys).Delete(concat(u64(1), []byte(recovery.CartKeys{CheckoutToken: "tok"}.Index()[0])))
		}, "missing"},
		{"stray contact", func(btx *bolt.Tx, cartID, _ uint64) error {
			return btx.Bucket(bucketCartContacts).Put(contactKey(1, "e:nobody@example.com", cartID), []byte{})
		}, "cart_contacts: stray entry"},
		{"lookup key points elsewhere", func(btx *bolt.Tx, cartID, _ uint64) error {
			return btx.Bucket(bucketCartKeys).Put(concat(u64(1), []byte(recovery.CartKeys{CheckoutToken: "tok"}.Index()[0])), u64(cartID+1))
		}, "points at"},
		{"provider id points elsewhere", func(btx *bolt.Tx, _, msgID uint64) error {
			return btx.Bucket(bucketProviderIDs).Put(providerKey("smtp", "mid-1"), u64(msgID+1))
		}, "provider_ids: entry"},
		{"message listing gone", func(btx *bolt.Tx, _, msgID uint64) error {
			return btx.Bucket(bucketShopMessages).Delete(concat(u64(1), u64(msgID)))
		}, "missing"},
		{"message not named by its cart", func(btx *bolt.Tx, _, msgID uint64) error {
			return btx.Bucket(bucketMessages).Put(u64(msgID+5), []byte(`{"id":1,"shop_id":1,"cart_id":1}`))
		}, "not named"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := Open(filepath.Join(t.TempDir(), "cartback.db"), Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var cartID, msgID uint64
			err = db.Update(context.Background(), func(tx recovery.Tx) error {
				if err := tx.PutShop(&Shop{Platform: recovery.PlatformShopify, Domain: "demo.myshopify.com"}); err != nil {
					return err
				}
				c := &recovery.Cart{ShopID: 1, Keys: recovery.CartKeys{CheckoutToken: "tok"}, State: recovery.CartAbandoned,
					Contact: recovery.Contact{Email: "kari@example.com"}, LastActivityAt: time.Now()}
				if err := tx.PutCart(c); err != nil {
					return err
				}
				m := &recovery.Message{ShopID: 1, CartID: c.ID, Channel: recovery.ChannelEmail, Provider: "smtp", ProviderID: "mid-1"}
				if err := tx.PutMessage(m); err != nil {
					return err
				}
				c.Steps = []recovery.StepRun{{Channel: recovery.ChannelEmail, State: recovery.StepSent, MessageID: m.ID}}
				cartID, msgID = c.ID, m.ID
				return tx.PutCart(c)
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := db.CheckIndexes(); err != nil {
				t.Fatalf("before the damage: %v", err)
			}
			if err := db.bolt.Update(func(btx *bolt.Tx) error { return tc.damage(btx, cartID, msgID) }); err != nil {
				t.Fatal(err)
			}
			if err := db.CheckIndexes(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("after the damage: %v, want an error with %q", err, tc.want)
			}
		})
	}
}
