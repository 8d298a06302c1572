package recovery_test

import (
	"context"
	"testing"
	"time"

	"github.com/cartback/cartback/recovery"
)

// BenchmarkVisit measures a restore-link visit without HTTP: verify the
// token, read shop and cart, queue the click.
func BenchmarkVisit(b *testing.B) {
	e := newEngine(b, recovery.ShopSettings{})
	id := e.checkout("a", 0)
	e.svc.Clicks = recovery.NewClickRecorder(e.db, 1<<16, nil)
	defer e.svc.Clicks.Close()
	token := e.sched.Signer.Sign(recovery.LinkToken{Purpose: recovery.PurposeRestore, ShopID: e.shop.ID, CartID: id, Expires: start.Add(time.Hour)})
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.svc.Visit(context.Background(), e.sched.Signer, token, "Mozilla/5.0"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
