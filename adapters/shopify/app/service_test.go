package app_test

import (
	"context"
	"log/slog"
	"path/filepath"
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
	fake := apptest.NewServer()
	defer fake.Close()
	db, err := store.Open(filepath.Join(t.TempDir(), "db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
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
	shop, err := svc.InstallShopify(ctx, fake.Shop, recovery.ShopifyAccess{SealedToken: sealed, ExpiresAt: tok.ExpiresAt})
	if err != nil {
		t.Fatal(err)
	}
	cart := &recovery.Cart{ID: 1, Keys: recovery.CartKeys{CheckoutToken: "abc"}}

	// Two hours later by Shopify's clock the access token is refused.
	fake.SetClock(func() time.Time { return time.Now().Add(2 * time.Hour) })
	if _, err := a.Purchased(ctx, shop, cart); err != nil {
		t.Fatalf("purchase check with a refused token: %v", err)
	}
	if n := fake.Calls("refresh_token"); n != 1 {
		t.Errorf("%d refreshes, want 1", n)
	}

	// Shopify revokes everything: the shop needs a re-install, visibly.
	fake.RevokeTokens()
	shop, _ = svc.ShopByDomain(ctx, fake.Shop)
	if _, err := a.Purchased(ctx, shop, cart); err != nil {
		t.Logf("after revocation: %v", err)
	}
	shop, _ = svc.ShopByDomain(ctx, fake.Shop)
	if shop.Shopify == nil || !shop.Shopify.NeedsReinstall || shop.Shopify.Problem == "" {
		t.Errorf("revoked shop: %+v", shop.Shopify)
	}
}
