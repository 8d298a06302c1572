package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cartback/cartback/recovery"
	"github.com/cartback/cartback/store"
)

// openDB opens a fresh database in a temporary directory and checks its
// indexes when the test ends.
func openDB(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "cartback.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.CheckIndexes(); err != nil {
			t.Errorf("CheckIndexes: %v", err)
		}
		db.Close()
	})
	return db
}

// clock is a hand-moved time source.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time               { return c.now }
func (c *clock) Advance(d time.Duration)      { c.now = c.now.Add(d) }
func newClock() *clock                        { return &clock{now: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)} }
func (c *clock) At(d time.Duration) time.Time { return c.now.Add(d) }

func newService(t testing.TB, db *store.DB, clk *clock) (*recovery.Service, *recovery.Shop) {
	t.Helper()
	svc := recovery.NewService(db)
	svc.Now = clk.Now
	shop, err := svc.CreateShop(context.Background(), &recovery.Shop{Platform: recovery.PlatformShopify, Domain: "demo.myshopify.com", WebhookSecret: "0123456789abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	return svc, shop
}

func sampleCart(token string, updated time.Time) *recovery.Cart {
	return &recovery.Cart{
		Keys:           recovery.CartKeys{CheckoutToken: token, CartToken: "ct-" + token},
		Contact:        recovery.Contact{Email: "Kari@Example.com", Phone: "+4791234567", FirstName: "Kari"},
		Currency:       "NOK",
		Items:          []recovery.LineItem{{Title: "Lamp", Quantity: 1, UnitPrice: 49900, LinePrice: 49900}},
		Totals:         recovery.Totals{Subtotal: 49900, Total: 49900},
		RestoreURL:     "https://demo.myshopify.com/checkouts/" + token + "/recover",
		LastActivityAt: updated,
	}
}

func apply(t *testing.T, svc *recovery.Service, shopID uint64, ev recovery.Event) recovery.Result {
	t.Helper()
	res, err := svc.Apply(context.Background(), shopID, ev)
	if err != nil {
		t.Fatalf("Apply(%s): %v", ev.Kind, err)
	}
	return res
}

func getCart(t *testing.T, svc *recovery.Service, shopID, id uint64) *recovery.Cart {
	t.Helper()
	c, err := svc.Cart(context.Background(), shopID, id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestOpenLockedFailsFast(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db", "cartback.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = store.Open(path, store.Options{LockTimeout: 50 * time.Millisecond})
	if !errors.Is(err, store.ErrLocked) {
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
}

func TestCartLifecycle(t *testing.T) {
	db, clk := openDB(t), newClock()
	svc, shop := newService(t, db, clk)

	res := apply(t, svc, shop.ID, recovery.Event{Kind: recovery.EventCartUpdated, DedupKey: "e1", Cart: sampleCart("tok1", clk.At(-time.Minute))})
	if res.Outcome != recovery.OutcomeCreated || len(res.CartIDs) != 1 {
		t.Fatalf("first event: %+v", res)
	}
	id := res.CartIDs[0]
	c := getCart(t, svc, shop.ID, id)
	if c.State != recovery.CartActive || c.Totals.Total != 49900 || c.CapturedAt != clk.now {
		t.Fatalf("stored cart: %+v", c)
	}
	// Due when the first step is: the abandonment is written with it.
	if want := clk.At(-time.Minute).Add(time.Hour); !c.NextDueAt.Equal(want) {
		t.Errorf("NextDueAt = %v, want %v", c.NextDueAt, want)
	}

	// The same delivery again changes nothing.
	if res := apply(t, svc, shop.ID, recovery.Event{Kind: recovery.EventCartUpdated, DedupKey: "e1", Cart: sampleCart("tok1", clk.now)}); res.Outcome != recovery.OutcomeDuplicate {
		t.Errorf("duplicate: %+v", res)
	}
	// An older update arriving late is ignored.
	old := sampleCart("tok1", clk.At(-time.Hour))
	old.Items[0].Quantity = 7
	if res := apply(t, svc, shop.ID, recovery.Event{Kind: recovery.EventCartUpdated, DedupKey: "e0", Cart: old}); res.Outcome != recovery.OutcomeStale {
		t.Errorf("stale: %+v", res)
	}
	if got := getCart(t, svc, shop.ID, id).Items[0].Quantity; got != 1 {
		t.Errorf("stale update overwrote quantity: %d", got)
	}
	// A newer update with a new email re-indexes the contact.
	clk.Advance(time.Minute)
	newer := sampleCart("tok1", clk.now)
	newer.Contact.Email = "kari.nordmann@example.com"
	if res := apply(t, svc, shop.ID, recovery.Event{Kind: recovery.EventCartUpdated, DedupKey: "e2", Cart: newer}); res.Outcome != recovery.OutcomeUpdated {
		t.Errorf("update: %+v", res)
	}
	if err := db.CheckIndexes(); err != nil {
		t.Fatal(err)
	}
	// The order converts it, found by checkout token.
	order := &recovery.Order{ID: "1001", Keys: recovery.CartKeys{CheckoutToken: "tok1"}, Currency: "NOK", Total: 52900, At: clk.At(time.Minute)}
	if res := apply(t, svc, shop.ID, recovery.Event{Kind: recovery.EventOrder, DedupKey: "o1", Order: order}); res.Outcome != recovery.OutcomeConverted {
		t.Fatalf("order: %+v", res)
	}
	c = getCart(t, svc, shop.ID, id)
	if c.State != recovery.CartConverted || c.Conversion == nil || c.Conversion.Total != 52900 || c.Conversion.OrderID != "1001" || !c.NextDueAt.IsZero() {
		t.Fatalf("converted cart: %+v conv=%+v", c, c.Conversion)
	}
	// A later checkout update never reopens a bought cart.
	clk.Advance(time.Minute)
	apply(t, svc, shop.ID, recovery.Event{Kind: recovery.EventCartUpdated, DedupKey: "e3", Cart: sampleCart("tok1", clk.now)})
	if c := getCart(t, svc, shop.ID, id); c.State != recovery.CartConverted {
		t.Errorf("state after late update = %s", c.State)
	}
	// Nothing is due any more.
	var due []recovery.Due
	db.View(context.Background(), func(tx recovery.Tx) (err error) { due, err = tx.DueCarts(clk.At(24*time.Hour), 10); return err })
	if len(due) != 0 {
		t.Errorf("due after conversion: %v", due)
	}
}

func TestOrderBeforeCheckout(t *testing.T) {
	db, clk := openDB(t), newClock()
	svc, shop := newService(t, db, clk)
	order := &recovery.Order{ID: "77", Keys: recovery.CartKeys{CheckoutToken: "late"}, Email: "a@example.com", Currency: "NOK", Total: 100}
	res := apply(t, svc, shop.ID, recovery.Event{Kind: recovery.EventOrder, Order: order})
	if res.Outcome != recovery.OutcomeUnmatched {
		t.Fatalf("order first: %+v", res)
	}
	res2 := apply(t, svc, shop.ID, recovery.Event{Kind: recovery.EventCartUpdated, Cart: sampleCart("late", clk.At(-time.Hour))})
	if res2.CartIDs[0] != res.CartIDs[0] {
		t.Fatalf("checkout created a second cart: %v vs %v", res2.CartIDs, res.CartIDs)
	}
	c := getCart(t, svc, shop.ID, res.CartIDs[0])
	if c.State != recovery.CartConverted || c.OrderOnly || len(c.Items) != 1 || !c.NextDueAt.IsZero() {
		t.Errorf("late checkout: %+v", c)
	}
}

func TestOrderMatchesByEmailWithinWindow(t *testing.T) {
	db, clk := openDB(t), newClock()
	svc, shop := newService(t, db, clk)
	oldCart := sampleCart("old", clk.At(-10*24*time.Hour))
	oldID := apply(t, svc, shop.ID, recovery.Event{Kind: recovery.EventCartUpdated, Cart: oldCart}).CartIDs[0]
	newID := apply(t, svc, shop.ID, recovery.Event{Kind: recovery.EventCartUpdated, Cart: sampleCart("new", clk.At(-2*time.Hour))}).CartIDs[0]

	order := &recovery.Order{ID: "9", Email: "KARI@example.com ", Currency: "NOK", Total: 100, At: clk.now}
	if res := apply(t, svc, shop.ID, recovery.Event{Kind: recovery.EventOrder, Order: order}); res.Outcome != recovery.OutcomeConverted || res.CartIDs[0] != newID {
		t.Fatalf("order by email: %+v", res)
	}
	if c := getCart(t, svc, shop.ID, oldID); c.State == recovery.CartConverted {
		t.Errorf("cart outside window converted: %s", c.State)
	}
	// An order by an unknown email with no keys stores nothing.
	if res := apply(t, svc, shop.ID, recovery.Event{Kind: recovery.EventOrder, Order: &recovery.Order{ID: "10", Email: "x@example.com"}}); res.Outcome != recovery.OutcomeIgnored {
		t.Errorf("unknown order: %+v", res)
	}
}

func TestDeleteAndUninstall(t *testing.T) {
	db, clk := openDB(t), newClock()
	svc, shop := newService(t, db, clk)
	id := apply(t, svc, shop.ID, recovery.Event{Kind: recovery.EventCartUpdated, Cart: sampleCart("d", clk.now)}).CartIDs[0]
	if res := apply(t, svc, shop.ID, recovery.Event{Kind: recovery.EventCartDeleted, Cart: &recovery.Cart{Keys: recovery.CartKeys{CheckoutToken: "d"}}}); res.Outcome != recovery.OutcomeDeleted {
		t.Fatalf("delete: %+v", res)
	}
	if c := getCart(t, svc, shop.ID, id); c.State != recovery.CartDeleted || !c.NextDueAt.IsZero() {
		t.Errorf("deleted cart: %+v", c)
	}
	apply(t, svc, shop.ID, recovery.Event{Kind: recovery.EventShopUninstalled})
	s, err := svc.ShopByDomain(context.Background(), "demo.myshopify.com")
	if err != nil || s.Status != recovery.ShopUninstalled || s.UninstalledAt.IsZero() {
		t.Errorf("uninstalled shop: %+v, %v", s, err)
	}
}

func TestCreateShopConflictAndSecret(t *testing.T) {
	db, clk := openDB(t), newClock()
	svc, _ := newService(t, db, clk)
	_, err := svc.CreateShop(context.Background(), &recovery.Shop{Platform: recovery.PlatformShopify, Domain: "DEMO.myshopify.com"})
	if recovery.ErrorCode(err) != recovery.ECONFLICT {
		t.Errorf("duplicate domain: %v", err)
	}
	woo, err := svc.CreateShop(context.Background(), &recovery.Shop{Platform: recovery.PlatformWooCommerce, Domain: "https://Woo.Example.com/"})
	if err != nil || woo.Domain != "woo.example.com" || len(woo.WebhookSecret) < 32 {
		t.Fatalf("woo shop: %+v, %v", woo, err)
	}
}

func TestCartsPagination(t *testing.T) {
	db, clk := openDB(t), newClock()
	svc, shop := newService(t, db, clk)
	other, _ := svc.CreateShop(context.Background(), &recovery.Shop{Platform: recovery.PlatformShopify, Domain: "other.myshopify.com"})
	for i := 0; i < 25; i++ {
		apply(t, svc, shop.ID, recovery.Event{Kind: recovery.EventCartUpdated, Cart: sampleCart(fmt.Sprint("p", i), clk.now)})
		apply(t, svc, other.ID, recovery.Event{Kind: recovery.EventCartUpdated, Cart: sampleCart(fmt.Sprint("q", i), clk.now)})
	}
	var all []uint64
	var before uint64
	for {
		page, err := svc.Carts(context.Background(), shop.ID, before, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, c := range page {
			if c.ShopID != shop.ID {
				t.Fatalf("cart %d of shop %d listed for shop %d", c.ID, c.ShopID, shop.ID)
			}
			if before != 0 && c.ID >= before {
				t.Fatalf("not newest first: %d after %d", c.ID, before)
			}
			all = append(all, c.ID)
			before = c.ID
		}
	}
	if len(all) != 25 {
		t.Errorf("listed %d carts, want 25", len(all))
	}
	if _, err := svc.Cart(context.Background(), other.ID, all[0]); recovery.ErrorCode(err) != recovery.ENOTFOUND {
		t.Errorf("cart of another shop: %v", err)
	}
}

func TestEventExpiry(t *testing.T) {
	db, clk := openDB(t), newClock()
	svc, shop := newService(t, db, clk)
	apply(t, svc, shop.ID, recovery.Event{Kind: recovery.EventCartUpdated, DedupKey: "x", Cart: sampleCart("x", clk.now)})
	ctx := context.Background()
	var n int
	db.Update(ctx, func(tx recovery.Tx) (err error) { n, err = tx.ExpireEvents(clk.now, 100); return err })
	if n != 0 {
		t.Fatalf("expired %d fresh records", n)
	}
	clk.Advance(recovery.DefaultDedupTTL + time.Second)
	db.Update(ctx, func(tx recovery.Tx) (err error) { n, err = tx.ExpireEvents(clk.now, 100); return err })
	if n != 1 {
		t.Fatalf("expired %d records, want 1", n)
	}
	// Once forgotten, the key is applied again (here: unchanged data).
	if res := apply(t, svc, shop.ID, recovery.Event{Kind: recovery.EventCartUpdated, DedupKey: "x", Cart: sampleCart("x", clk.At(-recovery.DefaultDedupTTL-time.Second))}); res.Outcome == recovery.OutcomeDuplicate {
		t.Errorf("expired key still de-duplicated")
	}
}

// Events that carry their time are kept in time order per shop; they
// de-duplicate the same way, expire oldest first and go with their shop.
func TestTimedEventRecords(t *testing.T) {
	db, clk := openDB(t), newClock()
	svc, shop := newService(t, db, clk)
	other, err := svc.CreateShop(context.Background(), &recovery.Shop{Platform: recovery.PlatformShopify, Domain: "other.myshopify.com", WebhookSecret: "other-shop-secret-0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	at := clk.At(-time.Hour)
	ev := func(key string, at time.Time) recovery.Event {
		return recovery.Event{Kind: recovery.EventCartUpdated, DedupKey: key, At: at, Cart: sampleCart(key, clk.At(-2*time.Hour))}
	}
	apply(t, svc, shop.ID, ev("a", at))
	apply(t, svc, other.ID, ev("a", at))
	if res := apply(t, svc, shop.ID, ev("a", at)); res.Outcome != recovery.OutcomeDuplicate {
		t.Errorf("redelivery: %s, want duplicate", res.Outcome)
	}
	// A clock far outside the window is not trusted: the record falls back
	// to the untimed bucket and still de-duplicates.
	odd := clk.At(48 * time.Hour)
	apply(t, svc, shop.ID, ev("b", odd))
	if res := apply(t, svc, shop.ID, ev("b", odd)); res.Outcome != recovery.OutcomeDuplicate {
		t.Errorf("redelivery with an odd clock: %s, want duplicate", res.Outcome)
	}
	expire := func() int {
		var n int
		if err := db.Update(ctx, func(tx recovery.Tx) (err error) { n, err = tx.ExpireEvents(clk.now, 100); return err }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := expire(); n != 0 {
		t.Fatalf("expired %d fresh records", n)
	}
	clk.Advance(time.Hour)
	apply(t, svc, shop.ID, ev("c", clk.now))
	clk.Advance(recovery.DefaultDedupTTL - 30*time.Minute)
	if n := expire(); n != 3 {
		t.Fatalf("expired %d records, want 3 (a of both shops, b)", n)
	}
	if res := apply(t, svc, shop.ID, ev("c", clk.At(-recovery.DefaultDedupTTL+30*time.Minute))); res.Outcome != recovery.OutcomeDuplicate {
		t.Errorf("live record forgotten: %s", res.Outcome)
	}
	if err := svc.EraseShop(ctx, shop.ID); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	if n := expire(); n != 0 {
		t.Errorf("expired %d records after the shop was erased with them", n)
	}
}

func TestConcurrentWebhooksShareCommits(t *testing.T) {
	db, clk := openDB(t), newClock()
	svc, shop := newService(t, db, clk)
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Every other event repeats a token so that same-cart updates race.
			_, err := svc.Apply(context.Background(), shop.ID, recovery.Event{Kind: recovery.EventCartUpdated, DedupKey: fmt.Sprint("c", i), Cart: sampleCart(fmt.Sprint("c", i/2), clk.now)})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	carts, _ := svc.Carts(context.Background(), shop.ID, 0, 200)
	if len(carts) != 100 {
		t.Errorf("stored %d carts, want 100", len(carts))
	}
}

func TestBackup(t *testing.T) {
	db, clk := openDB(t), newClock()
	svc, shop := newService(t, db, clk)
	apply(t, svc, shop.ID, recovery.Event{Kind: recovery.EventCartUpdated, Cart: sampleCart("b", clk.now)})
	path := filepath.Join(t.TempDir(), "backup.db")
	if _, err := db.BackupFile(path); err != nil {
		t.Fatal(err)
	}
	copyDB, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer copyDB.Close()
	if err := copyDB.CheckIndexes(); err != nil {
		t.Fatal(err)
	}
	var c *recovery.Cart
	copyDB.View(context.Background(), func(tx recovery.Tx) (err error) { c, err = tx.CartByKey(shop.ID, "t:b"); return err })
	if c == nil || c.Totals.Total != 49900 {
		t.Errorf("backup lacks the cart: %+v", c)
	}
	copyDB.Close()

	// A copy that is not a database never replaces the good backup.
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = store.WriteBackupFile(path, func(w io.Writer) (int64, error) {
		n, err := w.Write(bytes.Repeat([]byte("not a database "), 1000))
		return int64(n), err
	})
	if err == nil || !strings.Contains(err.Error(), "does not open") {
		t.Errorf("a damaged copy was accepted: %v", err)
	}
	if now, _ := os.ReadFile(path); !bytes.Equal(now, good) {
		t.Errorf("a damaged copy replaced the backup")
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".cartback-backup-*")); len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

func TestBatchFailureIsolated(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "cartback.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 60)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.Update(context.Background(), func(tx recovery.Tx) error {
				if err := tx.PutMeta(fmt.Sprint("k", i), []byte("v")); err != nil {
					return err
				}
				switch i % 10 {
				case 3:
					return recovery.Errorf(recovery.ECONFLICT, "refused %d", i)
				case 7:
					panic("boom")
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		var v []byte
		db.View(context.Background(), func(tx recovery.Tx) (err error) { v, err = tx.Meta(fmt.Sprint("k", i)); return err })
		switch i % 10 {
		case 3, 7:
			if err == nil || v != nil {
				t.Errorf("update %d: err %v, stored %q; want its own error and nothing stored", i, err, v)
			}
		default:
			if err != nil || string(v) != "v" {
				t.Errorf("update %d: err %v, stored %q", i, err, v)
			}
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Update(context.Background(), func(recovery.Tx) error { return nil }); !errors.Is(err, store.ErrClosed) {
		t.Errorf("update after close: %v", err)
	}
}

func TestCompactWhileBusy(t *testing.T) {
	db, clk := openDB(t), newClock()
	svc, shop := newService(t, db, clk)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for i := range 300 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := svc.Apply(ctx, shop.ID, recovery.Event{Kind: recovery.EventCartUpdated, Cart: sampleCart(fmt.Sprint("busy", i), clk.now)})
			errs <- err
			if i%50 == 0 {
				errs <- db.Compact(ctx)
			}
			if i%7 == 0 {
				_, err := svc.Carts(ctx, shop.ID, 0, 10)
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var carts []*recovery.Cart
	err := db.View(ctx, func(tx recovery.Tx) (err error) { carts, err = tx.Carts(shop.ID, 0, 1000); return err })
	if err != nil || len(carts) != 300 {
		t.Fatalf("after compactions: %d carts, %v", len(carts), err)
	}
}

// TestCompactKeepsTheFileLocked: while a compaction swaps the file, no
// other process (here another Open) gets in to write to a file about to
// be replaced.
func TestCompactKeepsTheFileLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cartback.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 20 {
			if err := db.Compact(context.Background()); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for {
		select {
		case <-done:
			return
		default:
		}
		other, err := store.Open(path, store.Options{LockTimeout: 20 * time.Millisecond})
		if err == nil {
			other.Close()
			t.Fatal("another Open got the database during a compaction")
		}
		if !errors.Is(err, store.ErrLocked) {
			t.Fatalf("another Open: %v, want ErrLocked", err)
		}
	}
}

// blockingWriter holds a backup stream until released.
type blockingWriter struct {
	started chan struct{}
	release chan struct{}
	once    sync.Once
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.started) })
	<-w.release
	return len(p), nil
}

// TestBackupDoesNotStopReadsWhileACompactionWaits: a compaction asked for
// during a slow backup does not hold up reads (restore links, the
// scheduler) until the backup ends. (It covers the wait before the
// compaction starts; the try-lock at its swap, for a backup that starts in
// between, is not reached here.)
func TestBackupDoesNotStopReadsWhileACompactionWaits(t *testing.T) {
	db := openDB(t)
	w := &blockingWriter{started: make(chan struct{}), release: make(chan struct{})}
	backupDone := make(chan error, 1)
	go func() {
		_, err := db.WriteBackup(w, nil)
		backupDone <- err
	}()
	<-w.started
	compacted := make(chan error, 1)
	go func() { compacted <- db.Compact(context.Background()) }()
	time.Sleep(50 * time.Millisecond) // the compaction is waiting now
	read := make(chan error, 1)
	go func() {
		read <- db.View(context.Background(), func(tx recovery.Tx) error { _, err := tx.Shops(); return err })
	}()
	select {
	case err := <-read:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		close(w.release) // let the backup, and then the rest, finish
		t.Fatal("a read waited for the backup behind the compaction")
	}
	close(w.release)
	if err := <-backupDone; err != nil {
		t.Fatal(err)
	}
	if err := <-compacted; err != nil {
		t.Fatal(err)
	}
}

// TestLateRedeliveryIsADuplicate: an event first delivered within the
// de-duplication window and recorded under its own time is still a
// duplicate when redelivered after that time has left the window.
func TestLateRedeliveryIsADuplicate(t *testing.T) {
	db, clk := openDB(t), newClock()
	svc, shop := newService(t, db, clk)
	happened := clk.now.Add(-71 * time.Hour) // nearly as old as the window
	ev := recovery.Event{Kind: recovery.EventCartUpdated, DedupKey: "late", At: happened, Cart: sampleCart("late", happened)}
	if res := apply(t, svc, shop.ID, ev); res.Outcome != recovery.OutcomeCreated {
		t.Fatalf("first delivery: %s", res.Outcome)
	}
	clk.Advance(2 * time.Hour) // the event is now 73 h old; its record is 2 h old
	if res := apply(t, svc, shop.ID, ev); res.Outcome != recovery.OutcomeDuplicate {
		t.Errorf("redelivery: %s, want duplicate", res.Outcome)
	}
}
