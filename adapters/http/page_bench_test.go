package http_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	cbhttp "github.com/cartback/cartback/adapters/http"
	"github.com/cartback/cartback/recovery"
	"github.com/cartback/cartback/store"
)

// benchCarts is how many carts the admin page benchmark's shop has.
const benchCarts = 10_000

// maxFirstLoad bounds the bytes of an admin page's first load: the HTML
// carries its styles and script inline, so it is the whole page.
const maxFirstLoad = 100 << 10

// BenchmarkAdminPage measures the dashboard and the cart list of a shop
// with 10,000 carts captured over the last 30 days, a third of them
// reminded, some clicked and bought. It reports each page's size.
func BenchmarkAdminPage(b *testing.B) {
	db, err := store.Open(filepath.Join(b.TempDir(), "cartback.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	svc := recovery.NewService(db)
	ctx := context.Background()
	shop, err := svc.CreateShop(ctx, &recovery.Shop{Platform: recovery.PlatformWooCommerce, Domain: wooDomain, WebhookSecret: wooSecret,
		Settings: recovery.ShopSettings{HoldoutPercent: 10}})
	if err != nil {
		b.Fatal(err)
	}
	populate(b, db, shop.ID, benchCarts)

	s := cbhttp.NewServer(prometheus.NewRegistry())
	s.Service, s.AdminToken, s.Signer = svc, adminToken, testSigner
	h := s.Handler()
	session := signInHandler(b, h)

	for _, page := range []struct{ name, path string }{
		{"dashboard", "/admin/shops/" + wooDomain + "/dashboard?days=30"},
		{"carts", "/admin/shops/" + wooDomain + "/carts"},
	} {
		b.Run(page.name, func(b *testing.B) {
			var size int
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, page.path, nil)
				req.AddCookie(session)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: %d %s", page.path, rec.Code, rec.Body)
				}
				size = rec.Body.Len()
			}
			b.ReportMetric(float64(size), "bytes/page")
			if size > maxFirstLoad {
				b.Errorf("%s is %d bytes, over the %d-byte budget", page.name, size, maxFirstLoad)
			}
		})
	}
}

// populate stores n carts of the shop, oldest first (cart ids follow
// capture time, as intake assigns them), in large transactions.
func populate(b *testing.B, db *store.DB, shopID uint64, n int) {
	b.Helper()
	now := time.Now().UTC()
	start := now.Add(-30 * 24 * time.Hour)
	step := 30 * 24 * time.Hour / time.Duration(n)
	const perTx = 1000
	for first := 0; first < n; first += perTx {
		err := db.Update(context.Background(), func(tx recovery.Tx) error {
			for i := first; i < min(first+perTx, n); i++ {
				at := start.Add(time.Duration(i) * step)
				c := &recovery.Cart{
					ShopID: shopID, Platform: recovery.PlatformWooCommerce, Keys: recovery.CartKeys{CartKey: fmt.Sprintf("key-%06d", i)},
					Contact:  recovery.Contact{Email: fmt.Sprintf("shopper%d@example.com", i), FirstName: "Kari", Locale: "nb-NO"},
					Currency: "NOK", State: recovery.CartActive,
					Items: []recovery.LineItem{
						{Title: "Wool sweater", Quantity: 1, UnitPrice: 89900, LinePrice: 89900},
						{Title: "Hiking socks", Quantity: 2, UnitPrice: 14900, LinePrice: 29800},
					},
					Totals:         recovery.Totals{Subtotal: 119700, Total: 119700},
					LastActivityAt: at, CreatedAt: at, CapturedAt: at, UpdatedAt: at,
				}
				if i%3 != 0 {
					c.State, c.AbandonedAt = recovery.CartAbandoned, at.Add(15*time.Minute)
					c.Holdout = i%10 == 1
					if !c.Holdout {
						c.Steps = []recovery.StepRun{
							{Index: 0, Channel: recovery.ChannelEmail, Template: "reminder", DueAt: at.Add(time.Hour), State: recovery.StepOutbox, FinishedAt: at.Add(time.Hour)},
							{Index: 1, Channel: recovery.ChannelSMS, Template: "reminder", DueAt: at.Add(4 * time.Hour), State: recovery.StepSkipped, Reason: "no_sms_consent"},
						}
					}
				}
				if i%7 == 0 && len(c.Steps) > 0 {
					c.State = recovery.CartConverted
					c.Conversion = &recovery.Conversion{OrderID: fmt.Sprint(i), Total: 119700, Currency: "NOK", At: at.Add(2 * time.Hour),
						Attribution: recovery.AttributionLink, AttributedStep: 0}
				}
				if err := tx.PutCart(c); err != nil {
					return err
				}
				if c.Conversion != nil {
					if err := tx.PutClick(&recovery.Click{ShopID: shopID, CartID: c.ID, Step: 0, Channel: recovery.ChannelEmail, At: at.Add(90 * time.Minute), Mobile: i%2 == 0}); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
