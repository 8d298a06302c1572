package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const testToken = "demo-test-admin-token-0123456789"

// startCartback builds and runs the real service on a free port with a
// fresh database and returns its base URL.
func startCartback(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "cartback")
	if out, err := exec.Command("go", "build", "-o", bin, "../cartback").CombinedOutput(); err != nil {
		t.Fatalf("build cartback: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "CARTBACK_DB="+filepath.Join(dir, "cartback.db"), "CARTBACK_ADMIN_TOKEN="+testToken, "CARTBACK_PUBLIC_URL=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ready := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var entry struct {
				Msg  string `json:"msg"`
				Port int    `json:"port"`
			}
			if json.Unmarshal(sc.Bytes(), &entry) == nil && entry.Msg == "cartback started" {
				ready <- entry.Port
			}
		}
	}()
	select {
	case port := <-ready:
		return fmt.Sprintf("http://127.0.0.1:%d", port)
	case <-time.After(60 * time.Second):
		t.Fatal("cartback did not start")
		return ""
	}
}

// TestDemoWalksOneCartThrough runs the demo twice against the real
// service: a new demo shop, then the same shop again with a new secret.
func TestDemoWalksOneCartThrough(t *testing.T) {
	base := startCartback(t)
	for i, first := range []string{"1. Connected the demo shop", "1. Reusing the demo shop"} {
		var out strings.Builder
		err := run(context.Background(), options{URL: base, Token: testToken, Shop: "demo.myshopify.com", After: 2 * time.Second, Timeout: time.Minute}, &out)
		if err != nil {
			t.Fatalf("run %d: %v\n%s", i+1, err, out.String())
		}
		for _, want := range []string{
			first, "stored as cart", "In the outbox", "303 See Other → https://checkout.local/",
			"converted, recovered via the link, 379.69 USD", "step 2 (email, incentive): skipped (converted)",
		} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("run %d: output lacks %q:\n%s", i+1, want, out.String())
			}
		}
	}
}

func TestDemoRefusesBadSettings(t *testing.T) {
	base := startCartback(t)
	// A real shop under the domain asked for is left alone.
	c := &client{base: base, token: testToken}
	realShop := []byte(`{"platform":"shopify","domain":"real.myshopify.com","name":"Real Shop","webhook_secret":"real-shop-secret-0123456789"}`)
	if _, err := c.do(context.Background(), "POST", "/admin/api/shops", realShop, nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		o    options
		want string
	}{
		{options{URL: base, Shop: "demo.myshopify.com", After: 5 * time.Second}, "no admin token"},
		{options{URL: base, Token: "wrong-token-0123456789", Shop: "demo.myshopify.com", After: 5 * time.Second}, "admin token was refused"},
		{options{URL: base, Token: testToken, Shop: "demo.example.com", After: 5 * time.Second}, "myshopify.com"},
		{options{URL: base, Token: testToken, Shop: "demo.myshopify.com", After: time.Second}, "at least 2s"},
		{options{URL: base, Token: testToken, Shop: "real.myshopify.com", After: 5 * time.Second}, "not made by this demo"},
	} {
		tc.o.Timeout = 10 * time.Second
		err := run(context.Background(), tc.o, &strings.Builder{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error saying %q", tc.o, err, tc.want)
		}
	}
	var shop struct {
		HasPrevious bool      `json:"accepts_previous_webhook_secret"`
		UpdatedAt   time.Time `json:"updated_at"`
		CreatedAt   time.Time `json:"created_at"`
	}
	if _, err := c.do(context.Background(), "GET", "/admin/api/shops/real.myshopify.com", nil, nil, &shop); err != nil || shop.HasPrevious || shop.CreatedAt.IsZero() || !shop.UpdatedAt.Equal(shop.CreatedAt) {
		t.Errorf("the real shop was changed: %+v %v", shop, err)
	}
}
