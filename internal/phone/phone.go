// Package phone turns the phone numbers shoppers type at checkout into E.164
// form, the only form cartback stores as sendable.
package phone

import (
	"strings"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// Normalize parses raw as a phone number and returns it in E.164 form
// (+4791234567). region is the ISO 3166-1 alpha-2 country assumed for
// numbers written without a country code, usually the billing country; a
// number written with a leading "+" is read the same whatever region is.
// ok is false when raw is not a valid number in its country's numbering
// plan: such numbers must never be sent to.
func Normalize(raw, region string) (e164 string, ok bool) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", false
	}
	region = strings.ToUpper(strings.TrimSpace(region))
	key := cacheKey{raw, region}
	cacheable := len(raw) <= maxCachedLen
	if cacheable {
		if r, hit := cache.get(key); hit {
			return r.e164, r.ok
		}
	}
	e164, ok = normalize(raw, region)
	if cacheable {
		cache.put(key, result{e164, ok})
	}
	return e164, ok
}

// normalize is Normalize without the cache, for a trimmed raw and an
// upper-case region.
func normalize(raw, region string) (e164 string, ok bool) {
	num, err := parse(raw, region)
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return "", false
	}
	return phonenumbers.Format(num, phonenumbers.E164), true
}

// parse wraps phonenumbers.Parse so that a panic inside the library on some
// unforeseen input becomes an unreadable number instead of taking down the
// webhook handler: raw comes straight from the shopper.
func parse(raw, region string) (num *phonenumbers.PhoneNumber, err error) {
	defer func() {
		if recover() != nil {
			num, err = nil, phonenumbers.ErrNotANumber
		}
	}()
	return phonenumbers.Parse(raw, region)
}

// Parsing and validating a number with phonenumbers runs several regular
// expressions and costs tens of microseconds, a large share of reading a
// webhook. The same shopper's number arrives again and again, since a
// checkout is re-sent on every change to it, so results are cached. The
// result depends only on the number and region, and phonenumbers' metadata
// is fixed at build time, so a cached result is always current.
var cache = &resultCache{cur: make(map[cacheKey]result, cacheGeneration)}

const (
	// cacheGeneration bounds each of the cache's two maps; see resultCache.
	cacheGeneration = 4096
	// maxCachedLen leaves unusually long input uncached: no real number is
	// this long, and such keys would only bloat the cache.
	maxCachedLen = 48
)

type cacheKey struct{ raw, region string }

type result struct {
	e164 string
	ok   bool
}

// resultCache is a bounded cache that keeps recently used entries, with
// less bookkeeping than an exact LRU list: entries go into cur, and when
// cur is full it becomes old and a new cur is started, dropping the
// previous old. A hit in old is copied into cur, so an entry in use
// survives every rotation while one unused for a generation is dropped.
type resultCache struct {
	mu  sync.Mutex
	cur map[cacheKey]result
	old map[cacheKey]result
}

func (c *resultCache) get(k cacheKey) (result, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.cur[k]; ok {
		return r, true
	}
	r, ok := c.old[k]
	if ok {
		c.putLocked(k, r)
	}
	return r, ok
}

func (c *resultCache) put(k cacheKey, r result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(k, r)
}

func (c *resultCache) putLocked(k cacheKey, r result) {
	if len(c.cur) >= cacheGeneration {
		c.old, c.cur = c.cur, make(map[cacheKey]result, cacheGeneration)
	}
	c.cur[k] = r
}
