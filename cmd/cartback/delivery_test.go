package main

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
)

// mailbox is a real SMTP server in the test process that keeps what it
// receives.
type mailbox struct {
	mu   sync.Mutex
	msgs []*mail.Message
	raw  []string
}

func (b *mailbox) NewSession(*gosmtp.Conn) (gosmtp.Session, error) { return &mailSession{box: b}, nil }

type mailSession struct{ box *mailbox }

func (s *mailSession) Mail(string, *gosmtp.MailOptions) error { return nil }
func (s *mailSession) Rcpt(string, *gosmtp.RcptOptions) error { return nil }
func (s *mailSession) Reset()                                 {}
func (s *mailSession) Logout() error                          { return nil }
func (s *mailSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		return err
	}
	s.box.mu.Lock()
	defer s.box.mu.Unlock()
	s.box.msgs = append(s.box.msgs, m)
	s.box.raw = append(s.box.raw, string(raw))
	return nil
}

func (b *mailbox) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.msgs)
}

func serveSMTP(t *testing.T, b *mailbox) int {
	srv := gosmtp.NewServer(b)
	srv.Domain = "localhost"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// fakeTwilio stands in for Twilio's Messages API over HTTP on loopback.
type fakeTwilio struct {
	mu    sync.Mutex
	forms []url.Values
}

func (f *fakeTwilio) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/Messages.json") {
		http.NotFound(w, r)
		return
	}
	r.ParseForm()
	f.mu.Lock()
	f.forms = append(f.forms, r.PostForm)
	sid := fmt.Sprintf("SM%032d", len(f.forms))
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `{"sid":%q,"status":"queued"}`, sid)
}

func (f *fakeTwilio) sent() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.forms...)
}

const (
	twilioSID   = "AC00000000000000000000000000000001"
	twilioToken = "0123456789abcdef0123456789abcdef"
)

// twilioSignature signs a callback the way Twilio does: HMAC-SHA1 over the
// URL followed by the sorted form keys and values, base64 encoded.
func twilioSignature(u string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(u)
	for _, k := range keys {
		b.WriteString(k + form.Get(k))
	}
	m := hmac.New(sha1.New, []byte(twilioToken))
	m.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// smsCheckout is checkout i with SMS consent and the given number.
func smsCheckout(t *testing.T, i int, at time.Time, phone string) []byte {
	var co map[string]any
	json.Unmarshal(checkoutAt(t, i, at), &co)
	co["buyer_accepts_sms_marketing"] = true
	co["sms_marketing_phone"] = phone
	b, _ := json.Marshal(co)
	return b
}

func (p *process) postForm(path string, form url.Values, signature string) int {
	status, _ := p.postFormBody(path, form, signature)
	return status
}

// postFormBody posts a signed provider callback and returns the answer.
func (p *process) postFormBody(path string, form url.Values, signature string) (int, string) {
	req, _ := http.NewRequest(http.MethodPost, p.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", signature)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (p *process) cartSteps(id int) []map[string]any {
	_, cart := p.admin(http.MethodGet, fmt.Sprintf("/admin/api/shops/%s/carts/%d", e2eShop, id), "")
	var out []map[string]any
	steps, _ := cart["steps"].([]any) // absent until the cart is abandoned
	for _, st := range steps {
		out = append(out, st.(map[string]any))
	}
	return out
}

// TestDeliveryEndToEnd runs the binary with SMTP and Twilio configured: a
// whole sequence reaches the in-process SMTP server and the Twilio fake,
// delivery reports and STOP/START replies are honoured.
func TestDeliveryEndToEnd(t *testing.T) {
	box := &mailbox{}
	smtpPort := serveSMTP(t, box)
	tw := &fakeTwilio{}
	twSrv := httptest.NewServer(tw)
	defer twSrv.Close()

	port := freePort(t)
	public := fmt.Sprintf("http://127.0.0.1:%d", port)
	dbPath := filepath.Join(t.TempDir(), "cartback.db")
	p := startAt(t, dbPath, fmt.Sprintf("127.0.0.1:%d", port),
		"CARTBACK_PUBLIC_URL="+public,
		// The fakes run on this machine, and so does the shopper.
		"CARTBACK_ALLOW_LOCAL_PUBLIC_URL=true",
		fmt.Sprintf("SMTP_URL=smtp://127.0.0.1:%d?tls=none", smtpPort),
		"EMAIL_FROM=reminders@cartback.example",
		"TWILIO_ACCOUNT_SID="+twilioSID, "TWILIO_AUTH_TOKEN="+twilioToken,
		"TWILIO_FROM=+15005550006", "TWILIO_API_URL="+twSrv.URL, "SMS_RATE=50")
	// Caps raised: this test sends three carts to one shopper in seconds.
	p.setupShop(`{"abandon_after":"1s","frequency_cap":20,"sms_frequency_cap":10,"steps":[
		{"channel":"email","after":"2s","template":"reminder"},
		{"channel":"sms","after":"3s","template":"reminder"},
		{"channel":"email","after":"4s","template":"incentive","discount_code":"BACK10"}]}`)
	// Quiet hours off, so the test does not depend on the time of day.
	if status, body := p.admin(http.MethodPut, "/admin/api/shops/"+e2eShop+"/settings", `{"quiet_hours":{"start":"00:00","end":"00:00"}}`); status != 200 {
		t.Fatalf("settings: %d %v", status, body)
	}

	t0 := time.Now().Truncate(time.Second).Add(time.Second)
	if status, err := p.webhook(smsCheckout(t, 1, t0, "+15025550101"), "d1"); status != 200 {
		t.Fatalf("webhook: %d %v", status, err)
	}
	// The whole sequence of cart 1: reminder email, text, incentive email.
	waitFor(t, 20*time.Second, "two emails and one text", func() bool { return box.count() >= 2 && len(tw.sent()) >= 1 })
	if n := box.count(); n != 2 || len(tw.sent()) != 1 {
		t.Errorf("delivered %d emails and %d texts, want exactly 2 and 1", n, len(tw.sent()))
	}
	box.mu.Lock()
	incentive := box.raw[1]
	box.mu.Unlock()
	if !strings.Contains(incentive, "BACK10") {
		t.Errorf("incentive email lacks the discount code")
	}

	// The emails: multipart with both parts, personal, with the link and
	// both List-Unsubscribe headers.
	box.mu.Lock()
	first, raw := box.msgs[0], box.raw[0]
	box.mu.Unlock()
	if !strings.HasPrefix(first.Header.Get("Content-Type"), "multipart/alternative") ||
		!strings.Contains(raw, "text/plain") || !strings.Contains(raw, "text/html") {
		t.Errorf("email is not multipart text+html:\n%s", raw)
	}
	if !strings.Contains(raw, "Bob") || !strings.Contains(raw, public+"/r/") {
		t.Errorf("email lacks the name or the restore link")
	}
	if lu := first.Header.Get("List-Unsubscribe"); !strings.HasPrefix(lu, "<"+public+"/u/") {
		t.Errorf("List-Unsubscribe %q", lu)
	}
	// One-click is only offered over https; this test's public URL is http.
	if lup := first.Header.Get("List-Unsubscribe-Post"); lup != "" {
		t.Errorf("List-Unsubscribe-Post %q over plain http", lup)
	}

	// The text: E.164, From, link, STOP line, status callback.
	sms := tw.sent()[0]
	if sms.Get("To") != "+15025550101" || sms.Get("From") != "+15005550006" ||
		!strings.Contains(sms.Get("Body"), public+"/r/") || !strings.HasSuffix(sms.Get("Body"), "Reply STOP to opt out") ||
		sms.Get("StatusCallback") != public+"/webhooks/twilio/status" {
		t.Errorf("sms form: %v", sms)
	}

	// A signed delivery report updates the message; a forged one is refused.
	report := url.Values{"MessageSid": {"SM" + fmt.Sprintf("%032d", 1)}, "MessageStatus": {"delivered"}, "To": {"+15025550101"}, "AccountSid": {twilioSID}}
	if status := p.postForm("/webhooks/twilio/status", report, "forged"); status != http.StatusForbidden {
		t.Errorf("forged report: %d", status)
	}
	if status := p.postForm("/webhooks/twilio/status", report, twilioSignature(public+"/webhooks/twilio/status", report)); status != http.StatusNoContent {
		t.Fatalf("report: %d", status)
	}
	steps := p.cartSteps(1)
	_, cart := p.admin(http.MethodGet, fmt.Sprintf("/admin/api/shops/%s/carts/1", e2eShop), "")
	var smsMsg map[string]any
	for _, m := range cart["messages"].([]any) {
		if mm := m.(map[string]any); mm["channel"] == "sms" {
			smsMsg = mm
		}
	}
	if smsMsg == nil || smsMsg["status"] != "delivered" || steps[1]["state"] != "sent" {
		t.Errorf("sms message after the report: %v; step %v", smsMsg, steps[1])
	}

	// The metrics count the sends by channel and the provider's report.
	mresp, err := http.Get(p.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	for _, want := range []string{
		`cartback_steps_total{channel="email",state="sent"} 2`,
		`cartback_steps_total{channel="sms",state="sent"} 1`,
		`cartback_delivery_reports_total{channel="sms",status="delivered"} 1`,
		"\ncartback_reminders_overdue_seconds ",
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	// STOPP (Norwegian, Swedish) from a number no shop has a cart of:
	// recorded for every shop, and confirmed, since Twilio does not know
	// the word.
	stopp := url.Values{"From": {"+15025550199"}, "To": {"+15005550006"}, "Body": {"Stopp"}, "MessageSid": {"SMinbound0"}}
	if status, body := p.postFormBody("/webhooks/twilio/inbound", stopp, twilioSignature(public+"/webhooks/twilio/inbound", stopp)); status != 200 || !strings.Contains(body, "<Message>Du er meldt av") {
		t.Errorf("inbound STOPP: %d %s", status, body)
	}
	// STOP from the shopper: the next cart's text is not sent.
	stop := url.Values{"From": {"+15025550101"}, "To": {"+15005550006"}, "Body": {" stop "}, "MessageSid": {"SMinbound1"}}
	if status, body := p.postFormBody("/webhooks/twilio/inbound", stop, twilioSignature(public+"/webhooks/twilio/inbound", stop)); status != 200 || strings.Contains(body, "<Message>") {
		t.Fatalf("inbound STOP (Twilio confirms it itself): %d %s", status, body)
	}
	t1 := time.Now().Truncate(time.Second).Add(time.Second)
	p.webhook(smsCheckout(t, 2, t1, "+15025550101"), "d2")
	waitFor(t, 20*time.Second, "second cart's text step decided", func() bool {
		st := p.cartSteps(2)
		return len(st) == 3 && st[1]["state"] != "scheduled"
	})
	if st := p.cartSteps(2)[1]; st["state"] != "skipped" || st["reason"] != "opted_out" {
		t.Errorf("text after STOP: %v", st)
	}
	// START opts back in: a third cart is texted again.
	start := url.Values{"From": {"+15025550101"}, "To": {"+15005550006"}, "Body": {"START"}, "MessageSid": {"SMinbound2"}}
	if status := p.postForm("/webhooks/twilio/inbound", start, twilioSignature(public+"/webhooks/twilio/inbound", start)); status != 200 {
		t.Fatalf("inbound START: %d", status)
	}
	before := len(tw.sent())
	t2 := time.Now().Truncate(time.Second).Add(time.Second)
	p.webhook(smsCheckout(t, 3, t2, "+15025550101"), "d3")
	waitFor(t, 20*time.Second, "the text after START", func() bool { return len(tw.sent()) > before })
}
