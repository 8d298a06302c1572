package signature

import (
	"encoding/base64"
	"testing"
	"time"
)

// The expected values were computed independently with
// printf '%s' BODY | openssl dgst -sha256 -hmac SECRET -binary | base64
var vectors = []struct {
	body, secret, signature string
}{
	{`{"id":727,"status":"processing"}`, "wc-secret", "CJGy2l17vmafo5cc0gtESTEst3ie65pcrP8ExTVLjmA="},
	{"", "hush", "Knm8rWjeSXNIt2H0AOMT7DQ8/YSy8sQi/pEjbuUmGMs="},
}

func TestSign(t *testing.T) {
	for _, v := range vectors {
		if got := Sign([]byte(v.body), v.secret); got != v.signature {
			t.Errorf("Sign(%q, %q) = %q, want %q", v.body, v.secret, got, v.signature)
		}
	}
}

func TestVerify(t *testing.T) {
	body := []byte(vectors[0].body)
	good := vectors[0].signature
	tests := []struct {
		name      string
		body      []byte
		header    string
		secrets   []string
		wantValid bool
	}{
		{"current secret", body, good, []string{"wc-secret"}, true},
		{"previous secret during rotation", body, good, []string{"new-secret", "wc-secret"}, true},
		{"empty secret skipped", body, good, []string{"", "wc-secret"}, true},
		{"surrounding whitespace in header", body, " " + good + "\n", []string{"wc-secret"}, true},
		{"wrong secret", body, good, []string{"other"}, false},
		{"no secrets", body, good, nil, false},
		{"only empty secrets", body, Sign(body, ""), []string{""}, false},
		{"body changed", []byte(`{"id":728,"status":"processing"}`), good, []string{"wc-secret"}, false},
		{"empty header", body, "", []string{"wc-secret"}, false},
		{"not base64", body, "not base64!", []string{"wc-secret"}, false},
		{"hex instead of base64", body, "0891b2da5d7bbe669fa3971cd20b44", []string{"wc-secret"}, false},
		{"truncated", body, good[:20], []string{"wc-secret"}, false},
		{"url-safe alphabet", body, base64.URLEncoding.EncodeToString([]byte("x")), []string{"wc-secret"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Verify(tt.body, tt.header, tt.secrets...); got != tt.wantValid {
				t.Errorf("Verify = %v, want %v", got, tt.wantValid)
			}
		})
	}
}

func FuzzVerify(f *testing.F) {
	for _, v := range vectors {
		f.Add([]byte(v.body), v.signature, v.secret, 0)
	}
	f.Add([]byte("x"), "", "", 3)
	f.Fuzz(func(t *testing.T, body []byte, header, secret string, flip int) {
		Verify(body, header, secret) // arbitrary input must not panic

		if secret == "" {
			return
		}
		sig := Sign(body, secret)
		if !Verify(body, sig, secret) {
			t.Fatalf("Verify rejected its own signature of %q", body)
		}
		raw, _ := base64.StdEncoding.DecodeString(sig)
		i := flip % len(raw)
		if i < 0 {
			i = -i
		}
		raw[i] ^= 0x01
		if Verify(body, base64.StdEncoding.EncodeToString(raw), secret) {
			t.Fatalf("Verify accepted a signature with byte %d flipped", i)
		}
		if len(body) > 0 {
			changed := append([]byte(nil), body...)
			changed[i%len(changed)] ^= 0x01
			if Verify(changed, sig, secret) {
				t.Fatalf("Verify accepted a signature of a different body")
			}
		}
	})
}

// TestSignRequestBody: the vector the plugin's PHP tests check too, and
// a signature that covers its body and nothing else.
func TestSignRequestBody(t *testing.T) {
	const secret, path = "woo-shop-secret-0123456789", "/wp-json/cartback/v1/coupons"
	at := time.Unix(1772441911, 0)
	body := []byte(`{"code":"CB-ABCDEFGH","percent":10}`)
	ts, sig := SignRequestBody("POST", path, at, body, secret)
	if ts != "1772441911" || sig != "dNuz9dpmeBFWtHh0Om9nI+LPDqpOmJ16HUKDKRbLsXA=" {
		t.Fatalf("SignRequestBody = %s, %s", ts, sig)
	}
	if !VerifyRequestBody("POST", path, ts, sig, body, at, "other-secret-0123456789", secret) {
		t.Error("its own signature refused")
	}
	if VerifyRequestBody("POST", path, ts, sig, []byte(`{"code":"CB-ABCDEFGH","percent":100}`), at, secret) {
		t.Error("a signature verified over another body")
	}
	if VerifyRequestBody("POST", path, ts, sig, body, at.Add(MaxRequestSkew+time.Second), secret) {
		t.Error("a stale signature verified")
	}
	if _, old := SignRequest("POST", path, at, secret); VerifyRequestBody("POST", path, ts, old, body, at, secret) {
		t.Error("a signature without the body verified")
	}
}
