package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cartback/cartback/internal/signature"
)

// generatedTokenLine is how a generated admin token is shown on stderr.
var generatedTokenLine = regexp.MustCompile(`generated admin token: (\S+)`)

// waitHealthy polls the service's /healthz until it answers 200, for a
// process whose log level hides the "started" line.
func waitHealthy(t *testing.T, url string, done <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get(url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-done:
			t.Fatal("cartback exited before it was healthy")
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("cartback did not become healthy")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A generated admin token is shown only once, so it must be seen even when
// the log level filters out warnings.
func TestGeneratedAdminTokenShownAtAnyLogLevel(t *testing.T) {
	port := freePort(t)
	cmd := exec.Command(binary, "-addr", fmt.Sprintf("127.0.0.1:%d", port))
	cmd.Env = append(os.Environ(), "CARTBACK_DB="+filepath.Join(t.TempDir(), "cartback.db"), "CARTBACK_ADMIN_TOKEN=", "CARTBACK_LOG_LEVEL=error")
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	defer func() { cmd.Process.Kill(); <-done }()
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitHealthy(t, url, done)

	m := generatedTokenLine.FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no generated token shown at log level error; stderr:\n%s\nstdout:\n%s", stderr.String(), stdout.String())
	}
	req, _ := http.NewRequest(http.MethodGet, url+"/admin/api/shops", nil)
	req.Header.Set("Authorization", "Bearer "+m[1])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the token shown is refused: %d", resp.StatusCode)
	}
}

// A start that fails before it listens (the port is taken) keeps no
// generated token: the next start generates one and shows it.
func TestFailedStartKeepsNoAdminToken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	dbPath := filepath.Join(t.TempDir(), "cartback.db")
	cmd := exec.Command(binary, "-addr", taken.Addr().String())
	cmd.Env = append(os.Environ(), "CARTBACK_DB="+dbPath, "CARTBACK_ADMIN_TOKEN=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err == nil {
		t.Fatal("started on a port in use")
	}
	if !strings.Contains(stderr.String(), "CARTBACK_ADDR") || !strings.Contains(stderr.String(), "address already in use") {
		t.Errorf("the error does not name CARTBACK_ADDR and the cause:\n%s", stderr.String())
	}
	if generatedTokenLine.MatchString(stderr.String()) || strings.Contains(stdout.String(), "admin_token") {
		t.Errorf("a failed start showed a token:\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}

	p := start(t, dbPath, "CARTBACK_ADMIN_TOKEN=")
	if !strings.Contains(p.Logs(), `"admin_token"`) {
		t.Errorf("no token shown after the failed start:\n%s", p.Logs())
	}
}

// After SIGTERM the service drains in-flight requests (up to 25 s); a
// second signal ends the process at once.
func TestSecondSignalForcesExit(t *testing.T) {
	p := start(t, filepath.Join(t.TempDir(), "cartback.db"))
	if status, body := p.admin(http.MethodPost, "/admin/api/shops", fmt.Sprintf(`{"platform":"shopify","domain":%q,"webhook_secret":%q}`, e2eShop, e2eSecret)); status != http.StatusCreated {
		t.Fatalf("create shop: %d %v", status, body)
	}
	// Half a webhook keeps the drain waiting.
	addr := strings.TrimPrefix(p.url, "http://")
	body := checkoutBody(t, 3)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := "POST /webhooks/shopify HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/json\r\n" +
		"X-Shopify-Topic: checkouts/create\r\nX-Shopify-Shop-Domain: " + e2eShop + "\r\n" +
		"X-Shopify-Hmac-Sha256: " + signature.Sign(body, e2eSecret) + "\r\n" +
		fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body))
	if _, err := conn.Write(append([]byte(head), body[:len(body)/2]...)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	p.cmd.Process.Signal(syscall.SIGTERM)
	waitFor(t, 10*time.Second, "the shutdown to begin", func() bool { return strings.Contains(p.Logs(), `"shutting down"`) })
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err == nil {
			t.Errorf("a forced exit reported success")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a second SIGTERM did not end the process")
	}
}

// -h prints the usage and succeeds; `backup --help` is no file name.
func TestHelpExitsZero(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{"-h"}, {"--help"}, {"backup", "--help"}, {"backup", "-h"}, {"check", "-h"}} {
		cmd := exec.Command(binary, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("%v: %v\n%s", args, err, out)
		}
		if !strings.Contains(string(out), "-db") {
			t.Errorf("%v printed no usage:\n%s", args, out)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		t.Errorf("help wrote %s", entries[0].Name())
	}
}

// Series known in advance exist at 0 from the start, so that increase()
// sees their first event.
func TestMetricsStartAtZero(t *testing.T) {
	p := start(t, filepath.Join(t.TempDir(), "cartback.db"))
	resp, err := http.Get(p.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`cartback_steps_total{channel="email",state="sent"} 0`,
		`cartback_steps_total{channel="sms",state="failed"} 0`,
		`cartback_steps_total{channel="email",state="outbox"} 0`,
		`cartback_restore_visits_total{outcome="restored"} 0`,
		`cartback_restore_visits_total{outcome="invalid"} 0`,
		`cartback_delivery_reports_total{channel="sms",status="delivered"} 0`,
		`cartback_delivery_reports_total{channel="sms",status="failed"} 0`,
		`cartback_webhooks_total{outcome="unauthorized",platform="woocommerce",topic="unverified"} 0`,
	} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
