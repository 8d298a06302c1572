// Package signature checks the HMAC signatures store platforms put on their
// webhooks. Shopify (X-Shopify-Hmac-Sha256) and WooCommerce
// (X-WC-Webhook-Signature) both send base64(HMAC-SHA256(secret, raw body)).
package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// Sign returns the signature a platform would send for body: the standard
// base64 encoding of HMAC-SHA256(secret, body).
func Sign(body []byte, secret string) string {
	return base64.StdEncoding.EncodeToString(mac(body, secret))
}

// Verify reports whether headerValue is a valid signature of body under any
// of secrets. Several secrets are accepted so that the previous one keeps
// working while a merchant or app rotates it; empty secrets are skipped so
// an unset "previous secret" never matches an unsigned request.
func Verify(body []byte, headerValue string, secrets ...string) bool {
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(headerValue))
	if err != nil || len(got) != sha256.Size {
		return false
	}
	for _, secret := range secrets {
		// hmac.Equal takes the same time wherever the first difference is,
		// so the response time leaks nothing about the expected signature.
		if secret != "" && hmac.Equal(got, mac(body, secret)) {
			return true
		}
	}
	return false
}

func mac(body []byte, secret string) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write(body)
	return h.Sum(nil)
}
