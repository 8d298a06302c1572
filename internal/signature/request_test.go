package signature

import (
	"testing"
	"time"
)

func TestSignedRequests(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	ts, sig := SignRequest("GET", "/api/woocommerce/restore/abc", now, "woo-shop-secret-0123456789")
	if ts != "1800000000" {
		t.Fatalf("timestamp %s", ts)
	}
	if !VerifyRequest("GET", "/api/woocommerce/restore/abc", ts, sig, now.Add(time.Minute), "old-secret-0123456789", "woo-shop-secret-0123456789") {
		t.Fatal("valid request refused")
	}
	for name, ok := range map[string]bool{
		"other path":   VerifyRequest("GET", "/api/woocommerce/restore/abd", ts, sig, now, "woo-shop-secret-0123456789"),
		"other method": VerifyRequest("POST", "/api/woocommerce/restore/abc", ts, sig, now, "woo-shop-secret-0123456789"),
		"other secret": VerifyRequest("GET", "/api/woocommerce/restore/abc", ts, sig, now, "another-secret-0123456789"),
		"too old":      VerifyRequest("GET", "/api/woocommerce/restore/abc", ts, sig, now.Add(6*time.Minute), "woo-shop-secret-0123456789"),
		"from future":  VerifyRequest("GET", "/api/woocommerce/restore/abc", ts, sig, now.Add(-6*time.Minute), "woo-shop-secret-0123456789"),
		"bad time":     VerifyRequest("GET", "/api/woocommerce/restore/abc", "soon", sig, now, "woo-shop-secret-0123456789"),
	} {
		if ok {
			t.Errorf("%s: accepted", name)
		}
	}
}
