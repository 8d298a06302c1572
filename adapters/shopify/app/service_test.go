package app_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cartback/cartback/adapters/shopify/app"
	"github.com/cartback/cartback/adapters/shopify/app/apptest"
	"github.com/cartback/cartback/recovery"
	"github.com/cartback/cartback/store"
)

// TestRefusedTokenIsRenewed: a token Shopify refuses before its stated
// expiry is refreshed once and the call made again; a refresh Shopify
// refuses marks the shop as needing a re-install.
func TestRefusedTokenIsRenewed(t *testing.T) {
	a, fake, svc, shop := newApp(t)
	ctx := context.Background()
	cart := &recovery.Cart{ID: 1, Keys: recovery.CartKeys{CheckoutToken: "abc"}}

	// Two hours later by Shopify's clock the access token is refused.
	fake.SetClock(func() time.Time { return time.Now().Add(2 * time.Hour) })
	if _, err := a.Purchased(ctx, shop, cart); err != nil {
		t.Fatalf("purchase check with a refused token: %v", err)
	}
	if n := fake.Calls("refresh_token"); n != 1 {
		t.Errorf("%d refreshes, want 1", n)
	}

	// Shopify revokes everything: the shop needs a re-install, visibly,
	// and a purchase check is an error (so a shop that holds unverified
	// reminders holds them), now and on the next ask.
	fake.RevokeTokens()
	shop, _ = svc.ShopByDomain(ctx, fake.Shop)
	if _, err := a.Purchased(ctx, shop, cart); err == nil {
		t.Error("purchase check with revoked tokens answered without an error")
	}
	shop, _ = svc.ShopByDomain(ctx, fake.Shop)
	if shop.Shopify == nil || !shop.Shopify.NeedsReinstall || shop.Shopify.Problem == "" {
		t.Errorf("revoked shop: %+v", shop.Shopify)
	}
	if _, err := a.Purchased(ctx, shop, cart); err == nil {
		t.Error("purchase check of a shop that needs a re-install answered without an error")
	}
	// A shop connected without the app has nobody to ask: no error.
	manual := &recovery.Shop{ID: 99, Platform: recovery.PlatformShopify, Domain: "manual.myshopify.com", WebhookSecret: "manual-secret-0123456789", Status: recovery.ShopActive}
	if done, err := a.Purchased(ctx, manual, cart); err != nil || done {
		t.Errorf("shop without the app: %v %v", done, err)
	}
}

// TestRefusedWebhooksShowOnTheShop: Shopify refuses the checkout and order
// topics to an app without protected customer data approval; the shop's
// record says so (the admin page shows it) until they are made.
func TestRefusedWebhooksShowOnTheShop(t *testing.T) {
	a, fake, svc, _ := newApp(t)
	ctx := context.Background()
	fake.RefuseTopics(app.TopicCheckoutsCreate, app.TopicOrdersCreate)
	a.Maintain(ctx)
	shop, _ := svc.ShopByDomain(ctx, fake.Shop)
	if shop.Shopify == nil || !strings.Contains(shop.Shopify.Problem, "refused") || shop.Shopify.NeedsReinstall {
		t.Fatalf("shop after refused subscriptions: %+v", shop.Shopify)
	}
	if n := len(fake.Webhooks()); n != 3 {
		t.Errorf("%d subscriptions made, want the 3 not refused", n)
	}
	fake.RefuseTopics()
	a.Maintain(ctx)
	if shop, _ := svc.ShopByDomain(ctx, fake.Shop); shop.Shopify.Problem != "" || len(fake.Webhooks()) != 5 {
		t.Errorf("once approved: problem %q, %d subscriptions", shop.Shopify.Problem, len(fake.Webhooks()))
	}
}

// newApp is an App over a fake Shopify and a real database, installed.
func newApp(t *testing.T) (*app.App, *apptest.Server, *recovery.Service, *recovery.Shop) {
	t.Helper()
	fake := apptest.NewServer()
	t.Cleanup(fake.Close)
	db, err := store.Open(filepath.Join(t.TempDir(), "db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc := recovery.NewService(db)
	cfg := app.Config{APIKey: fake.ClientID, APISecret: fake.ClientSecret, BaseURL: fake.URL}
	sealer, _ := app.NewSealer(make([]byte, 32))
	a := &app.App{Config: cfg, Client: cfg.Client(nil), Sealer: sealer, StateKey: []byte("k"), PublicURL: "https://cb.example.com",
		Service: svc, Logger: slog.New(slog.DiscardHandler)}
	ctx := context.Background()
	tok, err := a.Client.ExchangeCode(ctx, fake.Shop, fake.IssueCode())
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := sealer.SealToken(tok, fake.Shop)
	shop, err := svc.InstallShopify(ctx, fake.Shop, recovery.ShopifyAccess{SealedToken: sealed, ExpiresAt: tok.ExpiresAt, RefreshExpiresAt: tok.RefreshExpiresAt})
	if err != nil {
		t.Fatal(err)
	}
	return a, fake, svc, shop
}

// TestReconcileLeavesWebhookCartsAlone: the list of abandoned checkouts
// brings the ones no webhook did, and leaves those webhooks stored as
// they made them (the list knows less: no checkout consent, no shipping).
func TestReconcileLeavesWebhookCartsAlone(t *testing.T) {
	a, fake, svc, shop := newApp(t)
	ctx := context.Background()
	known := fake.AddCheckout(apptest.Checkout{Email: "kari@example.com", Currency: "USD", Total: "50.00", Subtotal: "40.00",
		Items: []apptest.LineItem{{Title: "Lamp", Quantity: 1, Price: "40.00"}}})
	missed := fake.AddCheckout(apptest.Checkout{Email: "ola@example.com", Currency: "USD", Total: "20.00", Subtotal: "20.00",
		Items: []apptest.LineItem{{Title: "Mug", Quantity: 1, Price: "20.00"}}})
	webhookCart := &recovery.Cart{
		Keys: recovery.CartKeys{CheckoutToken: known.Token}, Contact: recovery.Contact{Email: "kari@example.com"},
		Consent:  recovery.Consent{Email: recovery.ConsentGrant{Granted: true, Source: "checkout"}},
		Currency: "USD", Items: []recovery.LineItem{{Title: "Lamp", Quantity: 1, UnitPrice: 4000, LinePrice: 4000}},
		Totals: recovery.Totals{Subtotal: 4000, Shipping: 1000, Total: 5000}, LastActivityAt: known.UpdatedAt,
	}
	res, err := svc.Apply(ctx, shop.ID, recovery.Event{Kind: recovery.EventCartUpdated, Cart: webhookCart})
	if err != nil {
		t.Fatal(err)
	}
	a.Reconcile(ctx)
	c, err := svc.Cart(ctx, shop.ID, res.CartIDs[0])
	if err != nil {
		t.Fatal(err)
	}
	if !c.Consent.Email.Granted || c.Totals.Shipping != 1000 || c.Totals.Total != 5000 {
		t.Errorf("the webhook's cart after reconciling: consent %+v, totals %+v", c.Consent, c.Totals)
	}
	carts, _ := svc.Carts(ctx, shop.ID, 0, 10)
	var found bool
	for _, c := range carts {
		found = found || c.Keys.CheckoutToken == missed.Token
	}
	if len(carts) != 2 || !found {
		t.Errorf("after reconciling: %d carts, the missed checkout found: %v", len(carts), found)
	}
}

// TestRefreshWithAStaleCopyUsesTheStoredPair: callers hold copies of the
// shop loaded at different times; one whose copy still has a refresh
// token another caller already spent must take the stored pair, not
// refresh with the spent token and mark a healthy shop for re-install.
func TestRefreshWithAStaleCopyUsesTheStoredPair(t *testing.T) {
	a, fake, svc, shop := newApp(t)
	ctx := context.Background()
	stale := *shop // loaded before any refresh
	cart := &recovery.Cart{ID: 1, Keys: recovery.CartKeys{CheckoutToken: "abc"}}
	later := func(d time.Duration) {
		now := func() time.Time { return time.Now().Add(d) }
		a.Now = now
		fake.SetClock(now)
	}
	for _, d := range []time.Duration{2 * time.Hour, 4 * time.Hour} {
		later(d)
		current, _ := svc.ShopByDomain(ctx, fake.Shop)
		if _, err := a.Purchased(ctx, current, cart); err != nil {
			t.Fatalf("purchase check %v later: %v", d, err)
		}
	}
	if n := fake.Calls("refresh_token"); n != 2 {
		t.Fatalf("%d refreshes, want 2 (the second retires the first refresh token)", n)
	}
	if _, err := a.Purchased(ctx, &stale, cart); err != nil {
		t.Errorf("purchase check with a stale copy: %v", err)
	}
	current, _ := svc.ShopByDomain(ctx, fake.Shop)
	if current.Shopify.NeedsReinstall {
		t.Errorf("a healthy shop was marked for re-install: %s", current.Shopify.Problem)
	}
	if n := fake.Calls("refresh_token"); n != 2 {
		t.Errorf("%d refreshes after the stale copy's call, want still 2", n)
	}
}
