package http

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/cartback/cartback/recovery"
	"github.com/cartback/cartback/templates"
)

// TemplateStore keeps merchants' own templates in the database, one meta
// value per shop, kind, channel, language and variant, under
// "template/{shopID}/{kind}/{channel}/{locale}/{variant}" as JSON.
// Variant "A" is the shop's plain template and shares its key with ""
// (the key the plain template always had), so A of a test is what the
// shop sent before the test. It
// implements templates.Store: give the sending renderer the same store the
// admin pages save to, and a saved template is used from the next message
// on.
type TemplateStore struct {
	Store recovery.Store
}

var _ templates.Store = TemplateStore{}

// templateKey is the meta name of one template.
func templateKey(shopID uint64, kind, channel, locale, variant string) string {
	if variant == "A" {
		variant = ""
	}
	return TemplatePrefix(shopID) + kind + "/" + channel + "/" + locale + "/" + variant
}

// TemplatePrefix is the start of the meta names of every template of a
// shop, for recovery.Service.ShopMetaPrefixes: they are erased with the
// shop.
func TemplatePrefix(shopID uint64) string {
	return fmt.Sprintf("template/%d/", shopID)
}

// Template implements templates.Store: nil, nil when the shop has no
// template of its own for the combination.
func (s TemplateStore) Template(ctx context.Context, shopID uint64, kind, channel, locale, variant string) (*templates.Custom, error) {
	var raw []byte
	err := s.Store.View(ctx, func(tx recovery.Tx) (err error) {
		raw, err = tx.Meta(templateKey(shopID, kind, channel, locale, variant))
		return err
	})
	if err != nil || len(raw) == 0 {
		return nil, err
	}
	var c templates.Custom
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, recovery.Errorf(recovery.EINTERNAL, "template %s %s %s of shop %d: %v", kind, channel, locale, shopID, err)
	}
	if c == (templates.Custom{}) {
		return nil, nil
	}
	return &c, nil
}

// PutTemplate stores a shop's template; an empty one brings back the
// default. It does not validate: the caller runs templates.Renderer's
// Validate first.
func (s TemplateStore) PutTemplate(ctx context.Context, shopID uint64, kind, channel, locale, variant string, c templates.Custom) error {
	raw, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return s.Store.Update(ctx, func(tx recovery.Tx) error {
		// In the same transaction as the write: an erasure that runs in
		// between must not leave a template behind for the shop's id.
		if sh, err := tx.Shop(shopID); err == nil && sh.Status == recovery.ShopRedacted {
			return recovery.Errorf(recovery.ECONFLICT, "shop %q was erased; connect it again first", sh.Domain)
		}
		return tx.PutMeta(templateKey(shopID, kind, channel, locale, variant), raw)
	})
}
