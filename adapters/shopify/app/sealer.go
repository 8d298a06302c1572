package app

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the size of a Sealer key: AES-256.
const KeySize = 32

// Sealer encrypts secrets at rest with AES-256-GCM. Each sealed value is
// a random 12-byte nonce followed by the ciphertext and its tag. The
// associated data, which is authenticated but not stored, binds a value to
// its owner: tokens are sealed with the shop domain, so a token copied to
// another shop's record does not open.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer returns a Sealer for a KeySize-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("token sealer: key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("token sealer: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("token sealer: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext, authenticating associatedData with it.
func (s *Sealer) Seal(plaintext, associatedData []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		// crypto/rand does not fail on supported platforms.
		panic("token sealer: reading random nonce: " + err.Error())
	}
	return s.aead.Seal(nonce, nonce, plaintext, associatedData)
}

// Open decrypts a value made by Seal with the same associated data. It
// fails when the value was changed, sealed under another key, or sealed
// with other associated data.
func (s *Sealer) Open(sealed, associatedData []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, errors.New("token sealer: sealed value is too short")
	}
	plaintext, err := s.aead.Open(nil, sealed[:n], sealed[n:], associatedData)
	if err != nil {
		return nil, errors.New("token sealer: sealed value does not open: wrong key, wrong shop or tampered")
	}
	return plaintext, nil
}

// SealToken encrypts t for storage in shop's record.
func (s *Sealer) SealToken(t Token, shop string) ([]byte, error) {
	plaintext, err := json.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("token sealer: encoding token: %w", err)
	}
	return s.Seal(plaintext, tokenAD(shop)), nil
}

// OpenToken decrypts a token sealed by SealToken for shop.
func (s *Sealer) OpenToken(sealed []byte, shop string) (Token, error) {
	plaintext, err := s.Open(sealed, tokenAD(shop))
	if err != nil {
		return Token{}, err
	}
	var t Token
	if err := json.Unmarshal(plaintext, &t); err != nil {
		return Token{}, fmt.Errorf("token sealer: decoding token: %w", err)
	}
	return t, nil
}

// tokenAD is the associated data of a shop's sealed token.
func tokenAD(shop string) []byte {
	return []byte("cartback shopify token\x00" + strings.ToLower(shop))
}

// ParseKey reads a KeySize-byte key written in hex or base64 (standard or
// URL alphabet, padded or not), as CARTBACK_ENCRYPTION_KEY holds it.
// Generate one with: openssl rand -base64 32.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("encryption key is empty")
	}
	if len(s) == 2*KeySize {
		if key, err := hex.DecodeString(s); err == nil {
			return key, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(s); err == nil {
			if len(key) != KeySize {
				return nil, fmt.Errorf("encryption key is %d bytes, want %d", len(key), KeySize)
			}
			return key, nil
		}
	}
	return nil, fmt.Errorf("encryption key is neither hex nor base64 of %d bytes", KeySize)
}
