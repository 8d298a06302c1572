package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cartback/cartback/internal/signature"
)

// TestSIGTERMFinishesInFlightWebhook sends half of a webhook, stops the
// process with SIGTERM, and checks that it accepts no new connection but
// still answers the started request with 200 after committing it, then
// exits cleanly with the cart stored.
func TestSIGTERMFinishesInFlightWebhook(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "cartback.db")
	p := start(t, dbPath)
	if status, body := p.admin(http.MethodPost, "/admin/api/shops", fmt.Sprintf(`{"platform":"shopify","domain":%q,"webhook_secret":%q}`, e2eShop, e2eSecret)); status != http.StatusCreated {
		t.Fatalf("create shop: %d %v", status, body)
	}
	addr := strings.TrimPrefix(p.url, "http://")
	body := checkoutBody(t, 7)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := "POST /webhooks/shopify HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/json\r\n" +
		"X-Shopify-Topic: checkouts/create\r\nX-Shopify-Shop-Domain: " + e2eShop + "\r\nX-Shopify-Event-Id: drain-1\r\n" +
		"X-Shopify-Hmac-Sha256: " + signature.Sign(body, e2eSecret) + "\r\n" +
		fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body))
	half := len(body) / 2
	if _, err := conn.Write(append([]byte(head), body[:half]...)); err != nil {
		t.Fatal(err)
	}
	// The server is reading the body when the signal arrives.
	time.Sleep(200 * time.Millisecond)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.Logs(), `"shutting down"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no shutdown logged\n%s", p.Logs())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// New connections are refused once the listener is closed.
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("still accepting connections after SIGTERM")
		}
		time.Sleep(10 * time.Millisecond)
	}

	if _, err := conn.Write(body[half:]); err != nil {
		t.Fatalf("finish the request: %v", err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("answer to the in-flight webhook: %v\n%s", err, p.Logs())
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("in-flight webhook answered %d", resp.StatusCode)
	}
	conn.Close()
	if err := p.wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, p.Logs())
	}

	p2 := start(t, dbPath)
	if stored := countCarts(t, p2); !stored["token-000007"] || len(stored) != 1 {
		t.Fatalf("after the drain: carts %v, want token-000007", stored)
	}
}
