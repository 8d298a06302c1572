package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/cartback/cartback/adapters/shopify/app"
	"github.com/cartback/cartback/recovery"
)

const encryptionKeyMeta = "encryption_key"

// shopifyApp builds the Shopify app when SHOPIFY_API_KEY is set.
func (m *Main) shopifyApp(ctx context.Context) (*app.App, error) {
	if m.Config.ShopifyAPIKey == "" {
		return nil, nil
	}
	key, err := m.encryptionKey(ctx)
	if err != nil {
		return nil, err
	}
	sealer, err := app.NewSealer(key)
	if err != nil {
		return nil, err
	}
	if err := m.checkSealedTokens(ctx, sealer); err != nil {
		return nil, err
	}
	cfg := app.Config{
		APIKey: m.Config.ShopifyAPIKey, APISecret: m.Config.ShopifyAPISecret,
		APISecretPrevious: m.Config.ShopifyAPISecretPrevious, BaseURL: m.Config.ShopifyBaseURL,
	}
	// The OAuth state is signed with a key derived from the app secret:
	// stable across restarts, and secret.
	stateKey := sha256.Sum256([]byte("cartback oauth state\x00" + m.Config.ShopifyAPISecret))
	return &app.App{
		Config: cfg, Client: cfg.Client(nil), Sealer: sealer, StateKey: stateKey[:],
		PublicURL: m.Config.PublicURL, Service: m.Service, Logger: m.Logger,
		AfterInstall: m.Config.PublicURL + "/admin/",
	}, nil
}

// encryptionKey returns the configured key, or in development a key
// generated once and kept in the database — said loudly, since a key kept
// beside the data it protects protects little.
func (m *Main) encryptionKey(ctx context.Context) ([]byte, error) {
	if m.Config.EncryptionKey != "" {
		return app.ParseKey(m.Config.EncryptionKey)
	}
	key, _, err := m.storedSecret(ctx, encryptionKeyMeta, func() []byte {
		b := make([]byte, 32)
		rand.Read(b) // never fails (crypto/rand)
		return b
	})
	if err != nil {
		return nil, err
	}
	m.Logger.Warn("DEVELOPMENT ONLY: Shopify tokens are sealed with a generated key stored in the database; set CARTBACK_ENCRYPTION_KEY before serving real shops")
	return key, nil
}

// runShopify keeps tokens fresh and subscriptions in place (every minute)
// and reconciles abandoned checkouts (every CARTBACK_SHOPIFY_RECONCILE_EVERY),
// both also at start.
func (m *Main) runShopify(ctx context.Context, a *app.App) {
	every, _ := time.ParseDuration(m.Config.ShopifyReconcileEvery)
	maintain, reconcile := time.NewTicker(time.Minute), time.NewTicker(every)
	defer maintain.Stop()
	defer reconcile.Stop()
	a.Maintain(ctx)
	a.Reconcile(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-maintain.C:
			a.Maintain(ctx)
		case <-reconcile.C:
			a.Reconcile(ctx)
		}
	}
}

// checkSealedTokens makes sure the stored Shopify tokens open with the
// configured key, so a changed key fails the start, naming the variable,
// instead of every shop failing quietly afterwards. Tokens sealed with
// the generated development key (a key set later, as it should be) are
// sealed again with the configured one.
func (m *Main) checkSealedTokens(ctx context.Context, sealer *app.Sealer) error {
	shops, err := m.Service.Shops(ctx)
	if err != nil {
		return err
	}
	var old *app.Sealer
	for _, sh := range shops {
		if sh.Shopify == nil || len(sh.Shopify.SealedToken) == 0 {
			continue
		}
		if _, err := sealer.OpenToken(sh.Shopify.SealedToken, sh.Domain); err == nil {
			continue
		}
		if old == nil && m.Config.EncryptionKey != "" {
			if dev, err := m.meta(ctx, encryptionKeyMeta); err == nil && len(dev) > 0 {
				old, _ = app.NewSealer(dev)
			}
		}
		refused := fmt.Errorf("CARTBACK_ENCRYPTION_KEY: the Shopify token stored for %s does not open with this key; set the key it was sealed with", sh.Domain)
		if old == nil {
			return refused
		}
		tok, err := old.OpenToken(sh.Shopify.SealedToken, sh.Domain)
		if err != nil {
			return refused
		}
		sealed, err := sealer.SealToken(tok, sh.Domain)
		if err != nil {
			return err
		}
		if _, err := m.Service.UpdateShopifyAccess(ctx, sh.ID, func(a *recovery.ShopifyAccess) { a.SealedToken = sealed }); err != nil {
			return err
		}
		m.Logger.Info("shopify token sealed again with the configured key", "shop", sh.Domain)
	}
	return nil
}
