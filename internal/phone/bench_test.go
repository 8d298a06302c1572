package phone

import (
	"fmt"
	"testing"
)

// BenchmarkNormalize measures a number seen before, answered by the cache,
// and numbers seen for the first time: the loop cycles through more
// numbers than the cache holds.
func BenchmarkNormalize(b *testing.B) {
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Normalize("+1(502)-459-2181", "US")
		}
	})
	for _, tt := range []struct{ name, format, region string }{
		{"e164", "+1502%07d", "US"},
		{"national", "(502) %07d", "US"},
	} {
		raws := make([]string, 4*cacheGeneration)
		for i := range raws {
			raws[i] = fmt.Sprintf(tt.format, 4592181+i)
		}
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				Normalize(raws[i%len(raws)], tt.region)
				i++
			}
		})
	}
}

// TestCacheBounded checks that the cache keeps at most two generations.
func TestCacheBounded(t *testing.T) {
	for i := range 3 * cacheGeneration {
		Normalize(fmt.Sprintf("+4791%06d", i), "NO")
	}
	cache.mu.Lock()
	n := len(cache.cur) + len(cache.old)
	cache.mu.Unlock()
	if n > 2*cacheGeneration {
		t.Errorf("cache holds %d results, want at most %d", n, 2*cacheGeneration)
	}
	// A number answered from the cache reads as it did the first time.
	for range 2 {
		if got, ok := Normalize(" +47 912 34 567 ", "us"); got != "+4791234567" || !ok {
			t.Errorf("Normalize = %q, %v", got, ok)
		}
	}
}
