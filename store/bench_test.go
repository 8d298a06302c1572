package store_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/cartback/cartback/recovery"
)

// BenchmarkApplyParallel measures durable cart intake without HTTP or JSON
// decoding: concurrent callers, each applying a new cart with random keys
// (as real checkout tokens are), sharing commits.
func BenchmarkApplyParallel(b *testing.B) {
	db, clk := openDB(b), newClock()
	svc, shop := newService(b, db, clk)
	b.SetParallelism(32) // × GOMAXPROCS callers, as under a webhook burst
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 16)
		for pb.Next() {
			rand.Read(buf)
			token := hex.EncodeToString(buf)
			c := sampleCart(token, clk.now)
			c.Contact.Email = token + "@example.com"
			c.Contact.Phone = ""
			if _, err := svc.Apply(context.Background(), shop.ID, recovery.Event{Kind: recovery.EventCartUpdated, DedupKey: token, Cart: c}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "carts/s")
}
