package templates

import (
	"context"
	"sync"
)

// Custom is a merchant's own template for one kind, channel and language.
// Email uses Subject, Text and HTML; SMS uses SMS. An empty field keeps
// the default's part: a shop may change only the subject.
type Custom struct {
	// Subject is a text/template for the email subject line.
	Subject string `json:"subject,omitempty"`
	// Text is a text/template for the plain-text part of the email.
	Text string `json:"text,omitempty"`
	// HTML is an html/template for the HTML part of the email: data is
	// escaped for its context, the merchant's own markup is kept.
	HTML string `json:"html,omitempty"`
	// SMS is a text/template for the text message.
	SMS string `json:"sms,omitempty"`
}

// empty reports whether c overrides nothing.
func (c *Custom) empty() bool {
	return c == nil || c.Subject == "" && c.Text == "" && c.HTML == "" && c.SMS == ""
}

// Store finds a shop's own templates. The renderer asks with the language
// it writes in (one of Languages, such as "nb", never "nb-NO") and the
// variant from Options.Variant; when a variant has no template of its own
// it asks again with variant "". Template returns nil, nil when the shop
// has no template for the combination.
type Store interface {
	Template(ctx context.Context, shopID uint64, kind, channel, locale, variant string) (*Custom, error)
}

// MemoryStore is a Store held in memory, for tests and previews. It is
// safe for concurrent use; its zero value is empty and ready.
type MemoryStore struct {
	mu        sync.RWMutex
	templates map[memoryKey]Custom
}

type memoryKey struct {
	shopID                         uint64
	kind, channel, locale, variant string
}

// Put stores c for the shop, kind, channel, language and variant.
func (s *MemoryStore) Put(shopID uint64, kind, channel, locale, variant string, c Custom) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.templates == nil {
		s.templates = make(map[memoryKey]Custom)
	}
	s.templates[memoryKey{shopID, kind, channel, locale, variant}] = c
}

// Delete removes a stored template.
func (s *MemoryStore) Delete(shopID uint64, kind, channel, locale, variant string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.templates, memoryKey{shopID, kind, channel, locale, variant})
}

// Template implements Store.
func (s *MemoryStore) Template(_ context.Context, shopID uint64, kind, channel, locale, variant string) (*Custom, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.templates[memoryKey{shopID, kind, channel, locale, variant}]
	if !ok {
		return nil, nil
	}
	return &c, nil
}
