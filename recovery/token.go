package recovery

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash"
	"sync"
	"time"
)

// LinkPurpose separates the kinds of signed link, so a token made for one
// can never be used as another.
type LinkPurpose byte

// Link purposes.
const (
	PurposeRestore     LinkPurpose = 'r'
	PurposeUnsubscribe LinkPurpose = 'u'
)

// LinkToken is what a signed link carries: no personal data, only ids.
type LinkToken struct {
	Purpose LinkPurpose
	ShopID  uint64
	CartID  uint64
	Step    int
	Channel Channel
	// Expires is kept to the second.
	Expires time.Time
}

// Errors returned by Signer.Verify.
var (
	// ErrTokenInvalid is returned when a token is malformed or its signature
	// does not verify under any key.
	ErrTokenInvalid = errors.New("invalid link token")
	// ErrTokenExpired is returned, with the authentic token, when a token's
	// expiry has passed.
	ErrTokenExpired = errors.New("link token expired")
)

// macSize is the length of the truncated HMAC-SHA256: 128 bits, far beyond
// what guessing can reach, and short enough for an SMS.
const macSize = 16

// MinSigningKeyBytes is the shortest signing key accepted.
const MinSigningKeyBytes = 32

// Signer signs and verifies link tokens. The first key signs; every key
// verifies, so links sent before a key rotation keep working.
type Signer struct {
	// macs holds, per key (the first signs), HMAC states ready for reuse: setting one up
	// hashes the key, and every restore link visit verifies a token.
	macs []sync.Pool
	// sealers, per key, encrypt the address an unsubscribe link opts out,
	// so the link works after the cart is erased without showing it.
	sealers []cipher.AEAD
}

// NewSigner returns a Signer; keys[0] signs.
func NewSigner(keys ...[]byte) (*Signer, error) {
	if len(keys) == 0 {
		return nil, Errorf(EINVALID, "signing key: none given")
	}
	for _, k := range keys {
		if len(k) < MinSigningKeyBytes {
			return nil, Errorf(EINVALID, "signing key: at least %d bytes", MinSigningKeyBytes)
		}
	}
	s := &Signer{macs: make([]sync.Pool, len(keys))}
	for i, k := range keys {
		s.macs[i].New = func() any { return hmac.New(sha256.New, k) }
		// A key of its own for sealing, derived so that no MAC made with
		// the signing key can ever be mistaken for it.
		derive := hmac.New(sha256.New, k)
		derive.Write([]byte("cartback unsubscribe address v1"))
		block, err := aes.NewCipher(derive.Sum(nil))
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		s.sealers = append(s.sealers, aead)
	}
	return s, nil
}

// maxSealedAddress bounds the sealed part of a link: an email address is
// at most 254 characters.
const maxSealedAddress = 512

// SealAddress encrypts an address for a link of the given shop and cart:
// URL-safe, readable only with the signing key, and bound to that shop and
// cart so it cannot be moved to another link.
func (s *Signer) SealAddress(shopID, cartID uint64, address string) string {
	aead := s.sealers[0]
	b := make([]byte, aead.NonceSize(), aead.NonceSize()+len(address)+aead.Overhead())
	rand.Read(b) // never fails (crypto/rand)
	b = aead.Seal(b, b, []byte(address), sealBinding(shopID, cartID))
	return tokenEncoding.EncodeToString(b)
}

// OpenAddress returns the address SealAddress sealed for shopID and
// cartID. ErrTokenInvalid is returned when sealed was altered, made for
// another shop or cart, or sealed under a key no longer known.
func (s *Signer) OpenAddress(shopID, cartID uint64, sealed string) (string, error) {
	if len(sealed) > maxSealedAddress {
		return "", ErrTokenInvalid
	}
	b, err := tokenEncoding.DecodeString(sealed)
	if err != nil {
		return "", ErrTokenInvalid
	}
	binding := sealBinding(shopID, cartID)
	for _, aead := range s.sealers {
		if len(b) < aead.NonceSize()+aead.Overhead() {
			return "", ErrTokenInvalid
		}
		if plain, err := aead.Open(nil, b[:aead.NonceSize()], b[aead.NonceSize():], binding); err == nil {
			return string(plain), nil
		}
	}
	return "", ErrTokenInvalid
}

func sealBinding(shopID, cartID uint64) []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 16), shopID)
	return binary.BigEndian.AppendUint64(b, cartID)
}

var tokenEncoding = base64.RawURLEncoding.Strict()

var channelCodes = []Channel{ChannelEmail, ChannelSMS}

// mac appends to dst the truncated MAC of payload under key number i.
func (s *Signer) mac(dst []byte, i int, payload []byte) []byte {
	m := s.macs[i].Get().(hash.Hash)
	m.Reset()
	m.Write(payload)
	var sum [sha256.Size]byte
	m.Sum(sum[:0])
	s.macs[i].Put(m)
	return append(dst, sum[:macSize]...)
}

// Sign returns the URL-safe token for t.
func (s *Signer) Sign(t LinkToken) string {
	b := make([]byte, 0, 40)
	b = append(b, byte(t.Purpose))
	b = binary.AppendUvarint(b, t.ShopID)
	b = binary.AppendUvarint(b, t.CartID)
	b = append(b, byte(t.Step))
	ch := byte(0)
	for i, c := range channelCodes {
		if c == t.Channel {
			ch = byte(i)
		}
	}
	b = append(b, ch)
	b = binary.BigEndian.AppendUint32(b, uint32(t.Expires.Unix()))
	b = s.mac(b, 0, b)
	return tokenEncoding.EncodeToString(b)
}

// Verify checks token and returns what it carries. ErrTokenInvalid is
// returned when it is forged or malformed; ErrTokenExpired, together with
// the authentic token, when it has expired at now.
func (s *Signer) Verify(token string, purpose LinkPurpose, now time.Time) (LinkToken, error) {
	if len(token) > 64 {
		return LinkToken{}, ErrTokenInvalid
	}
	var decoded [48]byte // 64 base64 characters decode to at most 48 bytes
	size, err := tokenEncoding.Decode(decoded[:], []byte(token))
	b := decoded[:size]
	// The decoder skips line breaks; only the one canonical spelling of a
	// token is accepted, so a link can never be varied and still count.
	var canonical [64]byte
	if err != nil || len(b) < 1+1+1+1+1+4+macSize || string(tokenEncoding.AppendEncode(canonical[:0], b)) != token {
		return LinkToken{}, ErrTokenInvalid
	}
	payload, sig := b[:len(b)-macSize], b[len(b)-macSize:]
	ok := false
	var want [macSize]byte
	for i := range s.macs {
		ok = hmac.Equal(sig, s.mac(want[:0], i, payload)) || ok
	}
	if !ok || LinkPurpose(payload[0]) != purpose {
		return LinkToken{}, ErrTokenInvalid
	}
	t := LinkToken{Purpose: purpose}
	rest := payload[1:]
	var n int
	if t.ShopID, n = binary.Uvarint(rest); n <= 0 {
		return LinkToken{}, ErrTokenInvalid
	}
	rest = rest[n:]
	if t.CartID, n = binary.Uvarint(rest); n <= 0 {
		return LinkToken{}, ErrTokenInvalid
	}
	rest = rest[n:]
	if len(rest) != 6 || int(rest[1]) >= len(channelCodes) {
		return LinkToken{}, ErrTokenInvalid
	}
	t.Step, t.Channel = int(rest[0]), channelCodes[rest[1]]
	t.Expires = time.Unix(int64(binary.BigEndian.Uint32(rest[2:])), 0).UTC()
	if !now.Before(t.Expires) {
		return t, ErrTokenExpired
	}
	return t, nil
}
