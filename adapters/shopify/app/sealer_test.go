package app_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"testing"
	"time"

	"github.com/cartback/cartback/adapters/shopify/app"
)

var testKey = bytes.Repeat([]byte{7}, 32)

func TestSealer(t *testing.T) {
	s, err := app.NewSealer(testKey)
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("shpat_0123456789")
	shop := []byte("demo.myshopify.com")
	sealed := s.Seal(secret, shop)
	if bytes.Contains(sealed, secret) {
		t.Fatal("sealed value holds the plaintext")
	}
	if again := s.Seal(secret, shop); bytes.Equal(again, sealed) {
		t.Error("two seals of the same value are equal: nonce not random")
	}
	got, err := s.Open(sealed, shop)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}

	if _, err := s.Open(sealed, []byte("other.myshopify.com")); err == nil {
		t.Error("a value sealed for one shop opened for another")
	}
	for i := range sealed {
		tampered := bytes.Clone(sealed)
		tampered[i] ^= 1
		if _, err := s.Open(tampered, shop); err == nil {
			t.Fatalf("a value with byte %d flipped opened", i)
		}
	}
	if _, err := s.Open(sealed[:10], shop); err == nil {
		t.Error("a truncated value opened")
	}
	other, _ := app.NewSealer(bytes.Repeat([]byte{8}, 32))
	if _, err := other.Open(sealed, shop); err == nil {
		t.Error("a value opened under another key")
	}
	if _, err := app.NewSealer(make([]byte, 16)); err == nil {
		t.Error("NewSealer accepted a 16-byte key")
	}
}

func TestSealToken(t *testing.T) {
	s, _ := app.NewSealer(testKey)
	tok := app.Token{
		AccessToken: "shpat_a", RefreshToken: "shprt_b",
		ExpiresAt: time.Unix(1_800_003_600, 0).UTC(), RefreshExpiresAt: time.Unix(1_807_776_000, 0).UTC(),
		Scopes: []string{"read_orders"},
	}
	sealed, err := s.SealToken(tok, "demo.myshopify.com")
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.OpenToken(sealed, "demo.myshopify.com")
	if err != nil || got.AccessToken != tok.AccessToken || got.RefreshToken != tok.RefreshToken ||
		!got.ExpiresAt.Equal(tok.ExpiresAt) || !got.RefreshExpiresAt.Equal(tok.RefreshExpiresAt) || len(got.Scopes) != 1 {
		t.Fatalf("OpenToken = %+v, %v", got, err)
	}
	if _, err := s.OpenToken(sealed, "other.myshopify.com"); err == nil {
		t.Error("a token sealed for one shop opened for another")
	}
}

func TestParseKey(t *testing.T) {
	for _, s := range []string{
		hex.EncodeToString(testKey),
		base64.StdEncoding.EncodeToString(testKey),
		base64.RawURLEncoding.EncodeToString(testKey),
		" " + base64.StdEncoding.EncodeToString(testKey) + "\n",
	} {
		key, err := app.ParseKey(s)
		if err != nil || !bytes.Equal(key, testKey) {
			t.Errorf("ParseKey(%q) = %x, %v", s, key, err)
		}
	}
	for _, s := range []string{"", "not a key!", hex.EncodeToString(testKey[:16]), base64.StdEncoding.EncodeToString(testKey[:31])} {
		if _, err := app.ParseKey(s); err == nil {
			t.Errorf("ParseKey(%q) accepted", s)
		}
	}
}

func TestNeedsRefresh(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tok := app.Token{AccessToken: "a", RefreshToken: "r", ExpiresAt: now.Add(time.Hour)}
	if tok.NeedsRefresh(now, app.DefaultRefreshMargin) {
		t.Error("a token with an hour left needs refresh")
	}
	if !tok.NeedsRefresh(now.Add(56*time.Minute), app.DefaultRefreshMargin) {
		t.Error("a token with 4 minutes left does not need refresh")
	}
	if !tok.Expired(now.Add(time.Hour)) || tok.Expired(now) {
		t.Error("Expired is wrong")
	}
	if (app.Token{AccessToken: "a"}).NeedsRefresh(now, time.Hour) {
		t.Error("a non-expiring token needs refresh")
	}
	if !(app.Token{Scopes: []string{"write_discounts"}}).HasScope("read_discounts") {
		t.Error("write scope does not imply read scope")
	}
}
