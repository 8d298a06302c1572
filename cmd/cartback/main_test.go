package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cartback/cartback/internal/signature"
	"github.com/cartback/cartback/recovery"
)

// binary is the cartback command built once for the tests that run it as a
// real process.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cartback-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "cartback")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build cartback: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const testAdminToken = "e2e-admin-token-0123456789"

// process is a running cartback binary.
type process struct {
	t    *testing.T
	cmd  *exec.Cmd
	url  string
	logs *bytes.Buffer
	mu   *sync.Mutex
	// shop overrides the e2e shop for helpers such as outbox.
	shop string
	done chan error
}

// start runs the binary on a free port with the given database and waits
// until it logs that it is listening.
func start(t *testing.T, dbPath string, extraEnv ...string) *process {
	t.Helper()
	return startAt(t, dbPath, "127.0.0.1:0", extraEnv...)
}

// startAt is start on a given address.
func startAt(t *testing.T, dbPath, addr string, extraEnv ...string) *process {
	t.Helper()
	cmd := exec.Command(binary, "-addr", addr)
	cmd.Env = append(os.Environ(), "CARTBACK_DB="+dbPath, "CARTBACK_ADMIN_TOKEN="+testAdminToken)
	cmd.Env = append(cmd.Env, extraEnv...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{t: t, cmd: cmd, logs: new(bytes.Buffer), mu: new(sync.Mutex), done: make(chan error, 1)}
	ready := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Bytes()
			p.mu.Lock()
			p.logs.Write(append(line, '\n'))
			p.mu.Unlock()
			var entry struct {
				Msg  string `json:"msg"`
				Port int    `json:"port"`
			}
			if json.Unmarshal(line, &entry) == nil && entry.Msg == "cartback started" {
				ready <- entry.Port
			}
		}
		p.done <- cmd.Wait()
	}()
	select {
	case port := <-ready:
		p.url = fmt.Sprintf("http://127.0.0.1:%d", port)
	case err := <-p.done:
		t.Fatalf("cartback exited before listening: %v\n%s", err, p.Logs())
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("cartback did not start\n%s", p.Logs())
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("cartback log:\n%s", p.Logs())
		}
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// shopDomain is the shop the test's helpers speak about.
func (p *process) shopDomain() string {
	if p.shop != "" {
		return p.shop
	}
	return e2eShop
}

// Logs returns what the process has logged so far.
func (p *process) Logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// wait waits for the process to exit and returns its error.
func (p *process) wait() error {
	select {
	case err := <-p.done:
		return err
	case <-time.After(30 * time.Second):
		p.t.Fatal("cartback did not exit")
		return nil
	}
}

func (p *process) admin(method, path string, body string) (int, map[string]any) {
	p.t.Helper()
	req, _ := http.NewRequest(method, p.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

const (
	e2eShop   = "e2e.myshopify.com"
	e2eSecret = "e2e-webhook-secret-0123456789"
)

func checkoutBody(t *testing.T, i int) []byte {
	t.Helper()
	raw, err := os.ReadFile("testdata/shopify_checkout.json")
	if err != nil {
		t.Fatal(err)
	}
	var co map[string]any
	json.Unmarshal(raw, &co)
	co["token"] = fmt.Sprintf("token-%06d", i)
	co["cart_token"] = fmt.Sprintf("cart-%06d", i)
	co["email"] = fmt.Sprintf("shopper%d@example.com", i)
	// Every shopper has a number of their own, as real ones do.
	phone := fmt.Sprintf("+1502555%04d", i%10000)
	co["phone"] = phone
	for _, k := range []string{"customer", "billing_address", "shipping_address"} {
		if m, ok := co[k].(map[string]any); ok {
			m["phone"] = phone
		}
	}
	b, _ := json.Marshal(co)
	return b
}

func (p *process) webhook(body []byte, eventID string) (int, error) {
	return p.webhookTopic("checkouts/create", body, eventID)
}

func (p *process) webhookTopic(topic string, body []byte, eventID string) (int, error) {
	req, _ := http.NewRequest(http.MethodPost, p.url+"/webhooks/shopify", bytes.NewReader(body))
	req.Header.Set("X-Shopify-Topic", topic)
	req.Header.Set("X-Shopify-Shop-Domain", e2eShop)
	req.Header.Set("X-Shopify-Event-Id", eventID)
	req.Header.Set("X-Shopify-Hmac-Sha256", signature.Sign(body, e2eSecret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func countCarts(t *testing.T, p *process) map[string]bool {
	t.Helper()
	tokens := map[string]bool{}
	next := "/admin/api/shops/" + e2eShop + "/carts?limit=200"
	for next != "" {
		status, body := p.admin(http.MethodGet, next, "")
		if status != 200 {
			t.Fatalf("list carts: %d %v", status, body)
		}
		for _, c := range body["carts"].([]any) {
			keys := c.(map[string]any)["keys"].(map[string]any)
			tokens[keys["checkout_token"].(string)] = true
		}
		next, _ = body["next"].(string)
	}
	return tokens
}

// TestKillAfterAcknowledgeLosesNothing sends N signed webhooks, kills the
// process with SIGKILL right after the last 200, restarts it on the same
// file and finds every acknowledged cart.
func TestKillAfterAcknowledgeLosesNothing(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "data", "cartback.db")
	p := start(t, dbPath)
	if status, body := p.admin(http.MethodPost, "/admin/api/shops", fmt.Sprintf(`{"platform":"shopify","domain":%q,"webhook_secret":%q}`, e2eShop, e2eSecret)); status != 201 {
		t.Fatalf("create shop: %d %v", status, body)
	}

	const n, workers = 300, 16
	bodies := make([][]byte, n)
	for i := range bodies {
		bodies[i] = checkoutBody(t, i)
	}
	var acked sync.Map
	var wg sync.WaitGroup
	jobs := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				status, err := p.webhook(bodies[i], fmt.Sprint("ev-", i))
				if err != nil || status != 200 {
					t.Errorf("webhook %d: %d %v", i, status, err)
					continue
				}
				acked.Store(fmt.Sprintf("token-%06d", i), true)
			}
		}()
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.wait()

	p2 := start(t, dbPath)
	stored := countCarts(t, p2)
	missing := 0
	acked.Range(func(k, _ any) bool {
		if !stored[k.(string)] {
			missing++
		}
		return true
	})
	if missing > 0 || len(stored) != n {
		t.Fatalf("after SIGKILL: %d acknowledged carts missing, %d stored, want %d", missing, len(stored), n)
	}

	// SIGTERM drains and exits cleanly; the file is then consistent.
	p2.cmd.Process.Signal(syscall.SIGTERM)
	if err := p2.wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, p2.Logs())
	}
	out, err := exec.Command(binary, "check", "-db", dbPath).CombinedOutput()
	if err != nil {
		t.Fatalf("check: %v\n%s", err, out)
	}
}

// TestBackupWhileRunning takes a backup through the running service and
// finds the stored cart in the copy.
func TestBackupWhileRunning(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "cartback.db")
	p := start(t, dbPath)
	p.admin(http.MethodPost, "/admin/api/shops", fmt.Sprintf(`{"platform":"shopify","domain":%q,"webhook_secret":%q}`, e2eShop, e2eSecret))
	if status, err := p.webhook(checkoutBody(t, 1), "b1"); status != 200 {
		t.Fatalf("webhook: %d %v", status, err)
	}
	port := strings.TrimPrefix(p.url, "http://127.0.0.1:")
	copyPath := filepath.Join(dir, "backup.db")
	cmd := exec.Command(binary, "backup", copyPath)
	cmd.Env = append(os.Environ(), "CARTBACK_DB="+dbPath, "CARTBACK_ADMIN_TOKEN="+testAdminToken, "CARTBACK_ADDR=127.0.0.1:"+port)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	// The copy runs as a database of its own.
	p2 := start(t, copyPath)
	if got := countCarts(t, p2); !got["token-000001"] {
		t.Errorf("backup lacks the cart: %v", got)
	}
}

// TestSecondProcessFailsFast shows the clear message when two services
// point at one file.
func TestSecondProcessFailsFast(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "cartback.db")
	start(t, dbPath)
	cmd := exec.Command(binary, "-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "CARTBACK_DB="+dbPath)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "in use by another process") {
		t.Fatalf("second process: %v\n%s", err, out)
	}
}

// TestGeneratedAdminTokenLoggedOnce checks that a generated token is logged
// on the first start only and keeps working after a restart.
func TestGeneratedAdminTokenLoggedOnce(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "cartback.db")
	env := []string{"CARTBACK_ADMIN_TOKEN="} // empty: generate
	p := start(t, dbPath, env...)
	var token string
	for _, line := range strings.Split(p.Logs(), "\n") {
		var entry struct {
			AdminToken string `json:"admin_token"`
		}
		if json.Unmarshal([]byte(line), &entry) == nil && entry.AdminToken != "" {
			token = entry.AdminToken
		}
	}
	if len(token) < 16 {
		t.Fatalf("no generated token logged:\n%s", p.Logs())
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.wait()

	p2 := start(t, dbPath, env...)
	if strings.Contains(p2.Logs(), token) {
		t.Errorf("token logged again on restart")
	}
	req, _ := http.NewRequest(http.MethodGet, p2.url+"/admin/api/shops", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stored token refused: %v %v", resp, err)
	}
	resp.Body.Close()
}

// syncBuffer is a bytes.Buffer safe for the service's goroutines to log to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// An erasure asked for just before the service stops is still compacted
// away: the delay that lets erasures share a compaction must not lose one.
func TestErasureCompactedAtShutdown(t *testing.T) {
	defer func(d time.Duration) { eraseCompactDelay = d }(eraseCompactDelay)
	eraseCompactDelay = time.Hour
	cfg, err := LoadConfig(func(k string) string {
		return map[string]string{"CARTBACK_DB": filepath.Join(t.TempDir(), "cartback.db"), "CARTBACK_ADDR": "127.0.0.1:0", "CARTBACK_ADMIN_TOKEN": testAdminToken}[k]
	}, nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	m := NewMain(cfg, logs)
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	m.Service.OnErase()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "database compacted after erasure") {
		t.Errorf("no compaction after an erasure at shutdown; logs:\n%s", logs)
	}
}

// Links signed with the key generated on the first start keep working
// after the operator configures CARTBACK_SIGNING_KEY.
func TestGeneratedSigningKeyKeepsVerifying(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "cartback.db")
	open := func(env map[string]string) *Main {
		t.Helper()
		env["CARTBACK_DB"], env["CARTBACK_ADDR"], env["CARTBACK_ADMIN_TOKEN"] = dbPath, "127.0.0.1:0", testAdminToken
		cfg, err := LoadConfig(func(k string) string { return env[k] }, nil, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		m := NewMain(cfg, io.Discard)
		if err := m.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := open(map[string]string{})
	link := recovery.LinkToken{Purpose: recovery.PurposeRestore, ShopID: 1, CartID: 2, Channel: recovery.ChannelEmail, Expires: time.Now().Add(time.Hour)}
	token := m.HTTP.Signer.Sign(link)
	m.Close()

	m = open(map[string]string{"CARTBACK_SIGNING_KEY": testSigningKey})
	defer m.Close()
	if _, err := m.HTTP.Signer.Verify(token, recovery.PurposeRestore, time.Now()); err != nil {
		t.Errorf("a link signed with the generated key: %v", err)
	}
	if fresh := m.HTTP.Signer.Sign(link); fresh == token {
		t.Errorf("new links are still signed with the generated key")
	}
}
