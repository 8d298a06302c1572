package recovery

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

var (
	testKey  = []byte("0123456789abcdef0123456789abcdef")
	oldKey   = []byte("fedcba9876543210fedcba9876543210")
	tokenNow = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
)

func sampleToken() LinkToken {
	return LinkToken{Purpose: PurposeRestore, ShopID: 3, CartID: 1234567, Step: 2, Channel: ChannelSMS, Expires: tokenNow.Add(30 * 24 * time.Hour)}
}

func TestTokenRoundTripAndSize(t *testing.T) {
	s, _ := NewSigner(testKey)
	tok := sampleToken()
	enc := s.Sign(tok)
	if path := "/r/" + enc; len(path) > 60 {
		t.Errorf("path %q is %d characters, want at most 60", path, len(path))
	}
	// The largest ids still fit.
	big := tok
	big.ShopID, big.CartID = 1<<32, 1<<48
	if path := "/r/" + s.Sign(big); len(path) > 60 {
		t.Errorf("path with large ids is %d characters", len(path))
	}
	got, err := s.Verify(enc, PurposeRestore, tokenNow)
	if err != nil || got != tok {
		t.Fatalf("Verify = %+v, %v; want %+v", got, err, tok)
	}
	if _, err := s.Verify(enc, PurposeUnsubscribe, tokenNow); !errors.Is(err, ErrTokenInvalid) {
		t.Errorf("restore token accepted as unsubscribe: %v", err)
	}
	if got, err := s.Verify(enc, PurposeRestore, tok.Expires); !errors.Is(err, ErrTokenExpired) || got.CartID != tok.CartID {
		t.Errorf("at expiry: %+v, %v", got, err)
	}
}

func TestTokenKeyRotation(t *testing.T) {
	old, _ := NewSigner(oldKey)
	rotated, _ := NewSigner(testKey, oldKey)
	enc := old.Sign(sampleToken())
	if _, err := rotated.Verify(enc, PurposeRestore, tokenNow); err != nil {
		t.Errorf("link signed before the rotation: %v", err)
	}
	fresh, _ := NewSigner(testKey)
	if _, err := fresh.Verify(enc, PurposeRestore, tokenNow); !errors.Is(err, ErrTokenInvalid) {
		t.Errorf("retired key still accepted: %v", err)
	}
	if _, err := NewSigner([]byte("short")); ErrorCode(err) != EINVALID {
		t.Errorf("short key: %v", err)
	}
}

func TestSealedAddress(t *testing.T) {
	s, _ := NewSigner(testKey)
	sealed := s.SealAddress(3, 7, "kari@example.com")
	if strings.Contains(sealed, "kari") || sealed == s.SealAddress(3, 7, "kari@example.com") {
		t.Errorf("sealed %q: readable, or the same twice", sealed)
	}
	if got, err := s.OpenAddress(3, 7, sealed); err != nil || got != "kari@example.com" {
		t.Fatalf("OpenAddress = %q, %v", got, err)
	}
	// Bound to its shop and cart.
	for _, ids := range [][2]uint64{{3, 8}, {4, 7}} {
		if _, err := s.OpenAddress(ids[0], ids[1], sealed); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("opened for shop %d cart %d: %v", ids[0], ids[1], err)
		}
	}
	// Opens after a key rotation, not after the key is retired.
	rotated, _ := NewSigner(oldKey, testKey)
	if got, err := rotated.OpenAddress(3, 7, sealed); err != nil || got != "kari@example.com" {
		t.Errorf("after rotation: %q, %v", got, err)
	}
	retired, _ := NewSigner(oldKey)
	if _, err := retired.OpenAddress(3, 7, sealed); !errors.Is(err, ErrTokenInvalid) {
		t.Errorf("retired key: %v", err)
	}
	for _, bad := range []string{"", "!", "AAAA", strings.Repeat("A", maxSealedAddress+4)} {
		if _, err := s.OpenAddress(3, 7, bad); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("OpenAddress(%.20q) = %v", bad, err)
		}
	}
	raw := []byte(sealed)
	for i := range raw {
		flipped := append([]byte(nil), raw...)
		flipped[i] ^= 1
		if got, err := s.OpenAddress(3, 7, string(flipped)); err == nil {
			t.Errorf("bit flip at %d opened to %q", i, got)
		}
	}
}

// TestTokenForgeries tries a million forgeries: random strings, random
// bytes of a valid token's length, and single-bit flips of a valid token.
// None may verify.
func TestTokenForgeries(t *testing.T) {
	s, _ := NewSigner(testKey)
	valid := s.Sign(sampleToken())
	raw, _ := tokenEncoding.DecodeString(valid)
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	accepted := 0
	for i := range n {
		var cand string
		switch i % 3 {
		case 0: // a random string of plausible length
			var b strings.Builder
			for range 20 + rng.IntN(30) {
				b.WriteByte(alphabet[rng.IntN(len(alphabet))])
			}
			cand = b.String()
		case 1: // random bytes of a valid token's length
			b := make([]byte, len(raw))
			for j := range b {
				b[j] = byte(rng.UintN(256))
			}
			cand = tokenEncoding.EncodeToString(b)
		case 2: // one bit flipped somewhere in the valid token
			b := append([]byte(nil), raw...)
			bit := rng.IntN(len(b) * 8)
			b[bit/8] ^= 1 << (bit % 8)
			cand = tokenEncoding.EncodeToString(b)
		}
		if _, err := s.Verify(cand, PurposeRestore, tokenNow); err == nil || errors.Is(err, ErrTokenExpired) {
			accepted++
		}
	}
	if accepted != 0 {
		t.Fatalf("%d of %d forgeries accepted", accepted, n)
	}
}

func FuzzVerifyToken(f *testing.F) {
	s, _ := NewSigner(testKey)
	f.Add(s.Sign(sampleToken()))
	f.Add("")
	f.Add("AAAA")
	f.Add(strings.Repeat("A", 64))
	f.Add(s.SealAddress(3, 1234567, "kari@example.com"))
	f.Fuzz(func(t *testing.T, token string) {
		got, err := s.Verify(token, PurposeRestore, tokenNow)
		if err == nil || errors.Is(err, ErrTokenExpired) {
			// Only a genuine signature may verify, and it must re-sign to itself.
			if s.Sign(got) != token {
				t.Fatalf("accepted %q that does not re-sign to itself", token)
			}
		}
		// The sealed address of an unsubscribe link, read by the same
		// public endpoint: only what was sealed opens.
		if address, err := s.OpenAddress(3, 1234567, token); err == nil && address != "kari@example.com" {
			t.Fatalf("opened %q to %q", token, address)
		}
	})
}
