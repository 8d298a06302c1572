package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cartback/cartback/adapters/shopify/app"
	"github.com/cartback/cartback/recovery"
	"github.com/cartback/cartback/store"
)

// TestEncryptionKeyChange: tokens sealed with the generated development
// key are sealed again when a key is configured; a key that opens none of
// them fails the start, naming the variable.
func TestEncryptionKeyChange(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(filepath.Join(t.TempDir(), "cartback.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := recovery.NewService(db)
	devKey, newKey, otherKey := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32), bytes.Repeat([]byte{3}, 32)
	if err := db.Update(ctx, func(tx recovery.Tx) error { return tx.PutMeta(encryptionKeyMeta, devKey) }); err != nil {
		t.Fatal(err)
	}
	devSealer, _ := app.NewSealer(devKey)
	tok := app.Token{AccessToken: "shpat_1", RefreshToken: "shprt_1", ExpiresAt: time.Now().Add(time.Hour)}
	sealed, _ := devSealer.SealToken(tok, "k.myshopify.com")
	if _, err := svc.InstallShopify(ctx, "k.myshopify.com", recovery.ShopifyAccess{SealedToken: sealed}); err != nil {
		t.Fatal(err)
	}
	withKey := func(key []byte) *Main {
		return &Main{Config: Config{EncryptionKey: hex.EncodeToString(key)}, DB: db, Service: svc, Logger: slog.New(slog.DiscardHandler)}
	}

	newSealer, _ := app.NewSealer(newKey)
	if err := withKey(newKey).checkSealedTokens(ctx, newSealer); err != nil {
		t.Fatalf("configured after the development key: %v", err)
	}
	sh, _ := svc.ShopByDomain(ctx, "k.myshopify.com")
	if got, err := newSealer.OpenToken(sh.Shopify.SealedToken, sh.Domain); err != nil || got.AccessToken != "shpat_1" {
		t.Errorf("token after sealing again: %+v %v", got, err)
	}

	otherSealer, _ := app.NewSealer(otherKey)
	err = withKey(otherKey).checkSealedTokens(ctx, otherSealer)
	if err == nil || !strings.HasPrefix(err.Error(), "CARTBACK_ENCRYPTION_KEY:") || !strings.Contains(err.Error(), "k.myshopify.com") {
		t.Errorf("a key that opens nothing: %v", err)
	}
}
