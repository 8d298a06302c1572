package twilio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cartback/cartback/recovery"
)

const (
	testAccountSID = "AC0123456789abcdef0123456789abcdef"
	testAuthToken  = "0123456789abcdef0123456789abcdef"
	testFrom       = "+4791234567"
	testServiceSID = "MG0123456789abcdef0123456789abcdef"
	testCallback   = "https://cartback.example.com/webhooks/twilio/status"
	testSID        = "SM0123456789abcdef0123456789abcdef"
)

// recorded is one request the fake Twilio API received.
type recorded struct {
	sid      string
	form     url.Values
	user     string
	password string
	basicOK  bool
}

// fakeTwilio serves POST /2010-04-01/Accounts/{sid}/Messages.json over
// real HTTP on loopback. answer writes the response; nil answers 201 with
// a message SID.
type fakeTwilio struct {
	srv    *httptest.Server
	answer func(w http.ResponseWriter, r *http.Request)

	mu   sync.Mutex
	reqs []recorded
}

func newFakeTwilio(t *testing.T, prefix string, answer func(w http.ResponseWriter, r *http.Request)) *fakeTwilio {
	t.Helper()
	f := &fakeTwilio{answer: answer}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+prefix+"/2010-04-01/Accounts/{sid}/Messages.json", f.create)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		twilioError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeTwilio) create(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		twilioError(w, http.StatusUnsupportedMediaType, 0, "Content-Type "+ct)
		return
	}
	if err := r.ParseForm(); err != nil {
		twilioError(w, http.StatusBadRequest, 0, err.Error())
		return
	}
	user, password, ok := r.BasicAuth()
	f.mu.Lock()
	f.reqs = append(f.reqs, recorded{sid: r.PathValue("sid"), form: r.PostForm, user: user, password: password, basicOK: ok})
	f.mu.Unlock()
	if f.answer != nil {
		f.answer(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `{"sid":%q,"account_sid":%q,"to":%q,"status":"queued","num_segments":"1"}`,
		testSID, r.PathValue("sid"), r.PostForm.Get("To"))
}

func (f *fakeTwilio) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

// twilioError writes an error the way Twilio's API does.
func twilioError(w http.ResponseWriter, status, code int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"code":%d,"message":%q,"more_info":"https://www.twilio.com/docs/errors/%d","status":%d}`, code, message, code, status)
}

func testConfig(apiURL string) Config {
	return Config{
		AccountSID:        testAccountSID,
		AuthToken:         testAuthToken,
		From:              testFrom,
		APIURL:            apiURL,
		StatusCallbackURL: testCallback,
	}
}

func newSender(t *testing.T, cfg Config) *Sender {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// testMessage is a reminder as the engine hands it over: the body already
// holds the restore link and the opt-out line.
func testMessage() *recovery.Message {
	link := "https://cartback.example.com/r/abc123"
	return &recovery.Message{
		Channel:    recovery.ChannelSMS,
		To:         "+4798765432",
		Text:       "Nordic Knits: your cart is saved. " + link + " Reply STOP to opt out",
		RestoreURL: link,
	}
}

func TestSendFrom(t *testing.T) {
	t.Parallel()
	f := newFakeTwilio(t, "", nil)
	s := newSender(t, testConfig(f.srv.URL))

	m := testMessage()
	id, err := s.Send(context.Background(), m)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if id != testSID {
		t.Errorf("provider id = %q, want %q", id, testSID)
	}
	if name := s.ProviderName(); name != "twilio" {
		t.Errorf("ProviderName = %q, want twilio", name)
	}
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if !r.basicOK || r.user != testAccountSID || r.password != testAuthToken {
		t.Errorf("basic auth = %q:%q (present %v), want AccountSID:AuthToken", r.user, r.password, r.basicOK)
	}
	if r.sid != testAccountSID {
		t.Errorf("path account = %q, want %q", r.sid, testAccountSID)
	}
	want := url.Values{
		"To":             {"+4798765432"},
		"From":           {testFrom},
		"Body":           {m.Text},
		"StatusCallback": {testCallback},
	}
	if got := r.form.Encode(); got != want.Encode() {
		t.Errorf("form =\n%s\nwant\n%s", got, want.Encode())
	}
	body := r.form.Get("Body")
	if !strings.Contains(body, m.RestoreURL) {
		t.Errorf("body %q lacks the restore link", body)
	}
	if n := strings.Count(body, "STOP"); n != 1 {
		t.Errorf("body %q has %d STOP lines, want 1", body, n)
	}
}

func TestSendMessagingService(t *testing.T) {
	t.Parallel()
	f := newFakeTwilio(t, "", nil)
	cfg := testConfig(f.srv.URL)
	cfg.From, cfg.MessagingServiceSID = "", testServiceSID
	cfg.StatusCallbackURL = ""
	s := newSender(t, cfg)

	if _, err := s.Send(context.Background(), testMessage()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	form := f.requests()[0].form
	if got := form.Get("MessagingServiceSid"); got != testServiceSID {
		t.Errorf("MessagingServiceSid = %q, want %q", got, testServiceSID)
	}
	for _, k := range []string{"From", "StatusCallback"} {
		if _, ok := form[k]; ok {
			t.Errorf("form has %s = %q, want none", k, form.Get(k))
		}
	}
}

func TestSendAPIURLWithPathPrefix(t *testing.T) {
	t.Parallel()
	f := newFakeTwilio(t, "/gateway/twilio", nil)
	s := newSender(t, testConfig(f.srv.URL+"/gateway/twilio/"))
	if _, err := s.Send(context.Background(), testMessage()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("got %d requests, want 1", n)
	}
}

// TWILIO_EDGE makes twilio-go aim at api.<edge>.<region>.twilio.com; the
// request must still reach APIURL. Not parallel: it sets the environment.
func TestSendAPIURLWithEdge(t *testing.T) {
	t.Setenv("TWILIO_EDGE", "dublin")
	f := newFakeTwilio(t, "", nil)
	s := newSender(t, testConfig(f.srv.URL))
	if _, err := s.Send(context.Background(), testMessage()); err != nil {
		t.Fatalf("Send: %v", err)
	}
}

func TestSendErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		answer    func(w http.ResponseWriter, r *http.Request)
		temporary bool
		code      string
		optOut    bool
		unusable  bool
		stop      bool
	}{
		{
			name: "opted out",
			answer: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				io.WriteString(w, `{"code":21610,"message":"Attempt to send to unsubscribed recipient","status":400}`)
			},
			code:   "21610",
			optOut: true,
			stop:   true,
		},
		{
			name: "invalid number",
			answer: func(w http.ResponseWriter, _ *http.Request) {
				twilioError(w, http.StatusBadRequest, 21211, "The 'To' number +4700 is not a valid phone number.")
			},
			code:     "21211",
			unusable: true,
			stop:     true,
		},
		{
			name: "landline",
			answer: func(w http.ResponseWriter, _ *http.Request) {
				twilioError(w, http.StatusBadRequest, 21614, "'To' number is not a valid mobile number")
			},
			code:     "21614",
			unusable: true,
			stop:     true,
		},
		{
			name: "bad credentials",
			answer: func(w http.ResponseWriter, _ *http.Request) {
				twilioError(w, http.StatusUnauthorized, 20003, "Authenticate")
			},
			// The account's setup: reminders wait for the operator's fix.
			code:      "20003",
			temporary: true,
		},
		{
			name: "sending to the region not enabled",
			answer: func(w http.ResponseWriter, _ *http.Request) {
				twilioError(w, http.StatusBadRequest, 21408, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number")
			},
			code:      "21408",
			temporary: true,
		},
		{
			name: "4xx without a Twilio body",
			answer: func(w http.ResponseWriter, _ *http.Request) {
				http.Error(w, "forbidden", http.StatusForbidden)
			},
			code: "http-403",
		},
		{
			name: "server error",
			answer: func(w http.ResponseWriter, _ *http.Request) {
				twilioError(w, http.StatusInternalServerError, 20500, "Internal Server Error")
			},
			temporary: true,
			code:      "20500",
		},
		{
			name: "server error without a body",
			answer: func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusInternalServerError)
			},
			temporary: true,
		},
		{
			name: "gateway error page",
			answer: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(http.StatusBadGateway)
				io.WriteString(w, "<html><body>502 Bad Gateway</body></html>")
			},
			// A gateway that gave up waiting: Twilio may have made the
			// message, so it is not tried again.
			code: CodeUnknownOutcome,
		},
		{
			name: "gateway timeout",
			answer: func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusGatewayTimeout)
			},
			code: CodeUnknownOutcome,
		},
		{
			name: "rate limited",
			answer: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", "1")
				twilioError(w, http.StatusTooManyRequests, 20429, "Too Many Requests")
			},
			temporary: true,
			code:      "20429",
		},
		{
			name: "created but unreadable",
			answer: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusCreated)
				io.WriteString(w, `{"sid":`)
			},
			code: CodeUnknownOutcome,
		},
		{
			name: "created without a SID",
			answer: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusCreated)
				io.WriteString(w, `{"status":"queued"}`)
			},
			code: CodeUnknownOutcome,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeTwilio(t, "", tt.answer)
			s := newSender(t, testConfig(f.srv.URL))
			id, err := s.Send(context.Background(), testMessage())
			if id != "" {
				t.Errorf("provider id = %q, want none", id)
			}
			se := sendError(t, err)
			if se.Temporary != tt.temporary || se.Code != tt.code {
				t.Errorf("SendError{Temporary: %v, Code: %q}, want {%v, %q} (%v)", se.Temporary, se.Code, tt.temporary, tt.code, se)
			}
			if se.StopContact != tt.stop {
				t.Errorf("StopContact = %v, want %v", se.StopContact, tt.stop)
			}
			if got := OptOutCode(se.Code); got != tt.optOut {
				t.Errorf("OptOutCode(%q) = %v, want %v", se.Code, got, tt.optOut)
			}
			if got := UnusableNumberCode(se.Code); got != tt.unusable {
				t.Errorf("UnusableNumberCode(%q) = %v, want %v", se.Code, got, tt.unusable)
			}
			if n := len(f.requests()); n != 1 {
				t.Errorf("got %d requests, want exactly 1", n)
			}
		})
	}
}

func TestSendOptOutMessage(t *testing.T) {
	t.Parallel()
	f := newFakeTwilio(t, "", func(w http.ResponseWriter, _ *http.Request) {
		twilioError(w, http.StatusBadRequest, 21610, "Attempt to send to unsubscribed recipient")
	})
	_, err := newSender(t, testConfig(f.srv.URL)).Send(context.Background(), testMessage())
	se := sendError(t, err)
	if want := "twilio: Attempt to send to unsubscribed recipient (code 21610)"; se.Error() != want {
		t.Errorf("error = %q, want %q", se.Error(), want)
	}
}

// A server that takes the request and never answers: the message may
// exist, so the error must not invite a second send.
func TestSendHangingServerIsUnknownOutcome(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	f := newFakeTwilio(t, "", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) }) // runs before the server closes

	cfg := testConfig(f.srv.URL)
	cfg.HTTPClient = &http.Client{Timeout: 200 * time.Millisecond}
	start := time.Now()
	_, err := newSender(t, cfg).Send(context.Background(), testMessage())
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Send took %v, want about the 200ms timeout", d)
	}
	se := sendError(t, err)
	if se.Temporary || se.Code != CodeUnknownOutcome {
		t.Errorf("SendError{Temporary: %v, Code: %q}, want {false, %q} (%v)", se.Temporary, se.Code, CodeUnknownOutcome, se)
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("got %d requests, want 1", n)
	}
}

// The caller's deadline counts like the client timeout.
func TestSendContextDeadlineAfterWriteIsUnknownOutcome(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	f := newFakeTwilio(t, "", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) })

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := newSender(t, testConfig(f.srv.URL)).Send(ctx, testMessage())
	if se := sendError(t, err); se.Temporary || se.Code != CodeUnknownOutcome {
		t.Errorf("SendError{Temporary: %v, Code: %q}, want {false, %q}", se.Temporary, se.Code, CodeUnknownOutcome)
	}
}

func TestSendConnectionRefusedIsTemporary(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	apiURL := srv.URL
	srv.Close() // nothing listens there any more

	_, err := newSender(t, testConfig(apiURL)).Send(context.Background(), testMessage())
	if se := sendError(t, err); !se.Temporary {
		t.Errorf("SendError{Temporary: false, Code: %q}, want Temporary (%v)", se.Code, se)
	}
}

func TestSendCanceledContextIsTemporary(t *testing.T) {
	t.Parallel()
	f := newFakeTwilio(t, "", nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := newSender(t, testConfig(f.srv.URL)).Send(ctx, testMessage())
	if se := sendError(t, err); !se.Temporary {
		t.Errorf("SendError{Temporary: false, Code: %q}, want Temporary (%v)", se.Code, se)
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("got %d requests, want none", n)
	}
}

func TestSendWithoutRecipient(t *testing.T) {
	t.Parallel()
	f := newFakeTwilio(t, "", nil)
	m := testMessage()
	m.To = ""
	_, err := newSender(t, testConfig(f.srv.URL)).Send(context.Background(), m)
	if se := sendError(t, err); se.Temporary {
		t.Errorf("SendError is temporary, want permanent")
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("got %d requests, want none", n)
	}
}

func TestSendConcurrent(t *testing.T) {
	t.Parallel()
	f := newFakeTwilio(t, "", nil)
	s := newSender(t, testConfig(f.srv.URL))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := s.Send(context.Background(), testMessage()); err != nil {
				t.Errorf("Send: %v", err)
			}
		})
	}
	wg.Wait()
	if n := len(f.requests()); n != 8 {
		t.Errorf("got %d requests, want 8", n)
	}
}

func sendError(t *testing.T, err error) *recovery.SendError {
	t.Helper()
	var se *recovery.SendError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T), want *recovery.SendError", err, err)
	}
	return se
}

func TestStatusCallbackURL(t *testing.T) {
	t.Parallel()
	for _, public := range []string{"https://cartback.example.com", "https://cartback.example.com/"} {
		if got := StatusCallbackURL(public); got != testCallback {
			t.Errorf("StatusCallbackURL(%q) = %q, want %q", public, got, testCallback)
		}
	}
}

func TestNewValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		edit    func(c *Config)
		wantErr string // prefix; empty: valid
	}{
		{"from", func(c *Config) {}, ""},
		{"messaging service", func(c *Config) { c.From, c.MessagingServiceSID = "", testServiceSID }, ""},
		{"short code", func(c *Config) { c.From = "12345" }, ""},
		{"alphanumeric sender", func(c *Config) { c.From = "NordicKnits" }, ""},
		{"no status callback", func(c *Config) { c.StatusCallbackURL = "" }, ""},
		{"api url with path", func(c *Config) { c.APIURL = "https://gateway.example.com/twilio" }, ""},
		{"no api url", func(c *Config) { c.APIURL = "" }, ""},
		{"no account", func(c *Config) { c.AccountSID = "" }, "TWILIO_ACCOUNT_SID: required"},
		{"not an account sid", func(c *Config) { c.AccountSID = "SK0123456789abcdef0123456789abcdef" }, "TWILIO_ACCOUNT_SID: "},
		{"account sid with symbols", func(c *Config) { c.AccountSID = "AC0123-456" }, "TWILIO_ACCOUNT_SID: "},
		{"no token", func(c *Config) { c.AuthToken = "" }, "TWILIO_AUTH_TOKEN: required"},
		{"token with symbols", func(c *Config) { c.AuthToken = "abc:def" }, "TWILIO_AUTH_TOKEN: "},
		{"no sender", func(c *Config) { c.From = "" }, "TWILIO_FROM: required"},
		{"both senders", func(c *Config) { c.MessagingServiceSID = testServiceSID }, "TWILIO_MESSAGING_SERVICE_SID: set only one"},
		{"from not e164", func(c *Config) { c.From = "004791234567 ext" }, "TWILIO_FROM: "},
		{"from too long a sender id", func(c *Config) { c.From = "NordicKnitsShop" }, "TWILIO_FROM: "},
		{"bad service sid", func(c *Config) { c.From, c.MessagingServiceSID = "", "PN0123456789abcdef0123456789abcdef" }, "TWILIO_MESSAGING_SERVICE_SID: "},
		{"relative api url", func(c *Config) { c.APIURL = "127.0.0.1:8080" }, "TWILIO_API_URL: "},
		{"api url scheme", func(c *Config) { c.APIURL = "ftp://gateway.example.com" }, "TWILIO_API_URL: "},
		{"api url query", func(c *Config) { c.APIURL = "https://gateway.example.com/?x=1" }, "TWILIO_API_URL: "},
		{"relative callback", func(c *Config) { c.StatusCallbackURL = "/webhooks/twilio/status" }, "CARTBACK_PUBLIC_URL: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig("http://127.0.0.1:9")
			tt.edit(&cfg)
			s, err := New(cfg)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("New: %v, want no error", err)
			case tt.wantErr == "" && s == nil:
				t.Errorf("New returned no Sender")
			case tt.wantErr != "" && err == nil:
				t.Errorf("New: no error, want %q…", tt.wantErr)
			case tt.wantErr != "" && !strings.HasPrefix(err.Error(), tt.wantErr):
				t.Errorf("New: %q, want %q…", err, tt.wantErr)
			}
		})
	}
}

func TestNewDoesNotLeakToken(t *testing.T) {
	t.Parallel()
	cfg := testConfig("")
	cfg.AuthToken = "secret:token"
	_, err := New(cfg)
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("New: %v, want an error without the token", err)
	}
}
