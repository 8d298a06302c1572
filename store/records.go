package store

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	"github.com/cartback/cartback/recovery"
)

// PutMessage implements recovery.Tx.
func (t *Tx) PutMessage(m *recovery.Message) error {
	msgs := t.bucket(bucketMessages)
	if m.ID == 0 {
		id, err := msgs.NextSequence()
		if err != nil {
			return err
		}
		m.ID = id
	}
	v, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := msgs.Put(u64(m.ID), v); err != nil {
		return err
	}
	if err := t.bucket(bucketShopMessages).Put(concat(u64(m.ShopID), u64(m.ID)), []byte{}); err != nil {
		return err
	}
	if m.ProviderID != "" {
		return t.bucket(bucketProviderIDs).Put(providerKey(m.Provider, m.ProviderID), u64(m.ID))
	}
	return nil
}

// Message implements recovery.Tx.
func (t *Tx) Message(id uint64) (*recovery.Message, error) {
	v := t.bucket(bucketMessages).Get(u64(id))
	if v == nil {
		return nil, recovery.Errorf(recovery.ENOTFOUND, "message %d not found", id)
	}
	var m recovery.Message
	if err := json.Unmarshal(v, &m); err != nil {
		return nil, fmt.Errorf("decode message %d: %w", id, err)
	}
	return &m, nil
}

// Messages implements recovery.Tx.
func (t *Tx) Messages(shopID, beforeID uint64, limit int, keep func(*recovery.Message) bool) ([]*recovery.Message, error) {
	var msgs []*recovery.Message
	if limit <= 0 {
		return nil, nil
	}
	err := t.newestFirst(bucketShopMessages, shopID, beforeID, func(id uint64) (bool, error) {
		m, err := t.Message(id)
		if err != nil {
			return false, err
		}
		if keep == nil || keep(m) {
			msgs = append(msgs, m)
		}
		return len(msgs) < limit, nil
	})
	return msgs, err
}

func providerKey(provider, id string) []byte {
	return concat([]byte(provider), []byte{0}, []byte(id))
}

// MessageByProvider implements recovery.Tx.
func (t *Tx) MessageByProvider(provider, providerID string) (*recovery.Message, error) {
	id := t.bucket(bucketProviderIDs).Get(providerKey(provider, providerID))
	if id == nil {
		return nil, recovery.Errorf(recovery.ENOTFOUND, "no message with %s id %q", provider, providerID)
	}
	return t.Message(binary.BigEndian.Uint64(id))
}

// CartMessages implements recovery.Tx.
func (t *Tx) CartMessages(cartID uint64) ([]*recovery.Message, error) {
	f, _, err := t.storedFields(cartID)
	if err != nil {
		return nil, err
	}
	var msgs []*recovery.Message
	for _, st := range f.Steps {
		if st.MessageID == 0 {
			continue
		}
		m, err := t.Message(st.MessageID)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, m)
	}
	slices.SortFunc(msgs, func(a, b *recovery.Message) int { return cmp.Compare(a.ID, b.ID) })
	return msgs, nil
}

// PutClick implements recovery.Tx.
func (t *Tx) PutClick(c *recovery.Click) error {
	if t.bucket(bucketCarts).Get(u64(c.CartID)) == nil {
		return recovery.Errorf(recovery.ENOTFOUND, "cart %d not found", c.CartID)
	}
	clicks := t.bucket(bucketClicks)
	seq, err := clicks.NextSequence()
	if err != nil {
		return err
	}
	v, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return clicks.Put(concat(u64(c.CartID), u64(seq)), v)
}

// Clicks implements recovery.Tx.
func (t *Tx) Clicks(cartID uint64) ([]recovery.Click, error) {
	prefix := u64(cartID)
	var clicks []recovery.Click
	c := t.bucket(bucketClicks).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var cl recovery.Click
		if err := json.Unmarshal(v, &cl); err != nil {
			return nil, fmt.Errorf("decode click %x: %w", k, err)
		}
		clicks = append(clicks, cl)
	}
	return clicks, nil
}

func optOutKey(shopID uint64, channel recovery.Channel, contact string) []byte {
	return concat(u64(shopID), []byte(channel), []byte{0}, []byte(contact))
}

// OptOut implements recovery.Tx.
func (t *Tx) OptOut(shopID uint64, channel recovery.Channel, contact string) (*recovery.OptOut, error) {
	v := t.bucket(bucketOptOuts).Get(optOutKey(shopID, channel, contact))
	if v == nil {
		return nil, nil
	}
	var o recovery.OptOut
	if err := json.Unmarshal(v, &o); err != nil {
		return nil, fmt.Errorf("decode opt-out: %w", err)
	}
	return &o, nil
}

// PutOptOut implements recovery.Tx.
func (t *Tx) PutOptOut(o *recovery.OptOut) error {
	v, err := json.Marshal(o)
	if err != nil {
		return err
	}
	return t.bucket(bucketOptOuts).Put(optOutKey(o.ShopID, o.Channel, o.Contact), v)
}

// DeleteOptOut implements recovery.Tx.
func (t *Tx) DeleteOptOut(shopID uint64, channel recovery.Channel, contact string) error {
	return t.bucket(bucketOptOuts).Delete(optOutKey(shopID, channel, contact))
}

// DailyFigures implements recovery.Tx.
func (t *Tx) DailyFigures(shopID uint64, from, to string) ([]*recovery.DailyFigures, error) {
	var out []*recovery.DailyFigures
	c := t.bucket(bucketDaily).Cursor()
	end := concat(u64(shopID), []byte(to))
	for k, v := c.Seek(concat(u64(shopID), []byte(from))); k != nil && bytes.Compare(k, end) <= 0; k, v = c.Next() {
		var d recovery.DailyFigures
		if err := json.Unmarshal(v, &d); err != nil {
			return nil, fmt.Errorf("decode daily figures %x: %w", k, err)
		}
		out = append(out, &d)
	}
	return out, nil
}

// PutDailyFigures implements recovery.Tx.
func (t *Tx) PutDailyFigures(d *recovery.DailyFigures) error {
	v, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return t.bucket(bucketDaily).Put(concat(u64(d.ShopID), []byte(d.Day)), v)
}

// PutExport implements recovery.Tx.
func (t *Tx) PutExport(e *recovery.DataExport) error {
	v, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return t.bucket(bucketExports).Put(concat(u64(e.ShopID), []byte(e.RequestID)), v)
}

// Exports implements recovery.Tx.
func (t *Tx) Exports(shopID uint64) ([]*recovery.DataExport, error) {
	var out []*recovery.DataExport
	prefix := u64(shopID)
	c := t.bucket(bucketExports).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var e recovery.DataExport
		if err := json.Unmarshal(v, &e); err != nil {
			return nil, fmt.Errorf("decode export %x: %w", k, err)
		}
		out = append(out, &e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RequestedAt.Before(out[j].RequestedAt) })
	return out, nil
}

// DeleteExport implements recovery.Tx.
func (t *Tx) DeleteExport(shopID uint64, requestID string) error {
	return t.bucket(bucketExports).Delete(concat(u64(shopID), []byte(requestID)))
}

// EraseShopRecords implements recovery.Tx.
func (t *Tx) EraseShopRecords(shopID uint64, limit int) (bool, error) {
	prefix := u64(shopID)
	for _, name := range [][]byte{bucketOptOuts, bucketExports, bucketDaily, bucketEvents, bucketTimedEvents} {
		keys, err := t.prefixKeys(name, prefix)
		if err != nil {
			return false, err
		}
		for _, k := range keys {
			if limit == 0 {
				return false, nil
			}
			limit--
			if string(name) == string(bucketEvents) {
				// Its expiry entry goes with it.
				if exp := t.bucket(bucketEvents).Get(k); len(exp) == 8 {
					if err := t.bucket(bucketEventExpiry).Delete(concat(exp, k)); err != nil {
						return false, err
					}
				}
			}
			if err := t.bucket(name).Delete(k); err != nil {
				return false, err
			}
		}
	}
	return true, nil
}
