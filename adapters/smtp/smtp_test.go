package smtp

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	gosmtp "github.com/emersion/go-smtp"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/cartback/cartback/recovery"
)

const from = "reminders@shop-mailer.example"

func newSender(t *testing.T, url string, roots *x509.CertPool) *Sender {
	t.Helper()
	s, err := New(Config{URL: url, From: from, RootCAs: roots, Timeout: 5 * time.Second, Logger: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// testLog sends the Sender's warnings to the test's output.
func testLog(t *testing.T) *slog.Logger { return slog.New(slog.NewTextHandler(t.Output(), nil)) }

func plainURL(port int) string { return fmt.Sprintf("smtp://127.0.0.1:%d?tls=none", port) }

func testMessage() *recovery.Message {
	return &recovery.Message{
		ShopID: 7, CartID: 42, Step: 2, Channel: recovery.ChannelEmail, Locale: "nb",
		To:       "kari@example.net",
		FromName: "Nordic Socks",
		ReplyTo:  "hello@nordicsocks.example",
		Subject:  "Handlekurven din venter på deg",
		Text: "Hi Kari,\n\nwe saved your cart at Nordic Socks:\n\n  2 × Wool socks <grey> & blue\n\n" +
			"Pick up where you left off: https://cb.example/r/tok-42\n\nNo more reminders: https://cb.example/u/unsub-42\n",
		RestoreURL:     "https://cb.example/r/tok-42",
		UnsubscribeURL: "https://cb.example/u/unsub-42",
	}
}

// sendError asserts that err is a *recovery.SendError and returns it.
func asSendError(t *testing.T, err error) *recovery.SendError {
	t.Helper()
	var se *recovery.SendError
	if !errors.As(err, &se) {
		t.Fatalf("error = %v (%T), want *recovery.SendError", err, err)
	}
	return se
}

// parsed is a received message taken apart.
type parsed struct {
	header mail.Header
	parts  map[string]string // content type → decoded body
}

func parse(t *testing.T, data []byte) parsed {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("received message does not parse: %v\n%s", err, data)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type = %q (%v), want multipart/alternative", msg.Header.Get("Content-Type"), err)
	}
	p := parsed{header: msg.Header, parts: map[string]string{}}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, cparams, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if !strings.EqualFold(cparams["charset"], "utf-8") {
			t.Errorf("%s part: charset %q, want UTF-8", ct, cparams["charset"])
		}
		// NextPart decodes quoted-printable itself.
		body, err := io.ReadAll(part)
		if err != nil {
			t.Fatal(err)
		}
		p.parts[ct] = string(body)
	}
	return p
}

func TestSendBuildsTheReminder(t *testing.T) {
	for _, tc := range []struct {
		name string
		html string
	}{
		{"html generated from text", ""},
		{"html from the template", `<p>Hi Kari, <a href="https://cb.example/r/tok-42">your cart</a> at Nordic Socks</p>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &backend{}
			s := newSender(t, plainURL(serve(t, b, nil, false)), nil)
			m := testMessage()
			m.HTML = tc.html

			id, err := s.Send(t.Context(), m)
			if err != nil {
				t.Fatal(err)
			}
			if want := "cb.7.42.2@shop-mailer.example"; id != want {
				t.Errorf("provider id = %q, want %q", id, want)
			}
			got := b.received()
			if len(got) != 1 {
				t.Fatalf("server received %d messages, want 1", len(got))
			}
			if got[0].from != from || got[0].to != m.To {
				t.Errorf("envelope = %s → %s, want %s → %s", got[0].from, got[0].to, from, m.To)
			}
			p := parse(t, got[0].data)
			h := p.header

			fromAddr, err := mail.ParseAddress(h.Get("From"))
			if err != nil || fromAddr.Name != "Nordic Socks" || fromAddr.Address != from {
				t.Errorf("From = %q (%v), want Nordic Socks <%s>", h.Get("From"), err, from)
			}
			if rt, err := mail.ParseAddress(h.Get("Reply-To")); err != nil || rt.Address != m.ReplyTo {
				t.Errorf("Reply-To = %q, want %s", h.Get("Reply-To"), m.ReplyTo)
			}
			if to, err := mail.ParseAddress(h.Get("To")); err != nil || to.Address != m.To {
				t.Errorf("To = %q, want %s", h.Get("To"), m.To)
			}
			if subj, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject")); err != nil || subj != m.Subject {
				t.Errorf("Subject = %q (%q), want %q", subj, h.Get("Subject"), m.Subject)
			}
			if got := h.Get("Message-Id"); got != "<"+id+">" {
				t.Errorf("Message-ID = %q, want <%s>", got, id)
			}
			if _, err := h.Date(); err != nil {
				t.Errorf("Date: %v", err)
			}
			if got := h.Get("List-Unsubscribe"); got != "<"+m.UnsubscribeURL+">" {
				t.Errorf("List-Unsubscribe = %q", got)
			}
			if got := h.Get("List-Unsubscribe-Post"); got != "List-Unsubscribe=One-Click" {
				t.Errorf("List-Unsubscribe-Post = %q", got)
			}
			if ua := h.Get("User-Agent") + h.Get("X-Mailer"); ua != "" {
				t.Errorf("mailer header %q, want none", ua)
			}

			text, html := p.parts["text/plain"], p.parts["text/html"]
			// MIME parts end lines with CRLF on the wire.
			if text = strings.ReplaceAll(text, "\r\n", "\n"); text != m.Text {
				t.Errorf("text part = %q, want the message text %q", text, m.Text)
			}
			if html == "" {
				t.Fatalf("no text/html part; parts: %v", p.parts)
			}
			if !strings.Contains(html, "Kari") || !strings.Contains(html, `href="https://cb.example/r/tok-42"`) {
				t.Errorf("html part lacks the name or the restore link:\n%s", html)
			}
			if tc.html == "" {
				for _, want := range []string{
					`<html lang="nb">`,
					`Wool socks &lt;grey&gt; &amp; blue`,
					`<a href="https://cb.example/r/tok-42">https://cb.example/r/tok-42</a>`,
					`<a href="https://cb.example/u/unsub-42">`,
				} {
					if !strings.Contains(html, want) {
						t.Errorf("generated html lacks %q:\n%s", want, html)
					}
				}
			} else if html != tc.html {
				t.Errorf("html part = %q, want the template's %q", html, tc.html)
			}
		})
	}
}

func TestMessageIDIsStablePerStep(t *testing.T) {
	b := &backend{}
	s := newSender(t, plainURL(serve(t, b, nil, false)), nil)
	var ids []string
	for _, step := range []int{1, 1, 3} {
		m := testMessage()
		m.Step = step
		id, err := s.Send(t.Context(), m)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if ids[0] != ids[1] {
		t.Errorf("two sends of the same step got ids %q and %q", ids[0], ids[1])
	}
	if ids[0] == ids[2] {
		t.Errorf("different steps share the id %q", ids[0])
	}
	// Tests from the template editor (no cart) are each a message of
	// their own.
	var tests []string
	for range 2 {
		m := testMessage()
		m.CartID, m.Step = 0, 0
		id, err := s.Send(t.Context(), m)
		if err != nil {
			t.Fatal(err)
		}
		tests = append(tests, id)
	}
	if tests[0] == tests[1] {
		t.Errorf("two tests share the id %q", tests[0])
	}
	got := b.received()
	if len(got) != 5 {
		t.Fatalf("server received %d messages, want 5", len(got))
	}
	for i, r := range got[:3] {
		if h := parse(t, r.data).header.Get("Message-Id"); h != "<"+ids[i]+">" {
			t.Errorf("message %d: Message-ID %q, want <%s>", i, h, ids[i])
		}
	}
}

func TestTemporaryRefusalIsRetriedOnce(t *testing.T) {
	for _, at := range []string{"MAIL", "RCPT", "DATA"} {
		t.Run(at, func(t *testing.T) {
			const refusals = 2
			b := &backend{refuseAt: at, refuseCode: 421, refuseTimes: refusals}
			s := newSender(t, plainURL(serve(t, b, nil, false)), nil)
			for i := range refusals {
				_, err := s.Send(t.Context(), testMessage())
				se := asSendError(t, err)
				if !se.Temporary || se.Code != "421" {
					t.Fatalf("attempt %d: %+v, want temporary with code 421", i+1, se)
				}
			}
			if _, err := s.Send(t.Context(), testMessage()); err != nil {
				t.Fatalf("attempt after the refusals: %v", err)
			}
			if n := len(b.received()); n != 1 {
				t.Errorf("server received %d messages, want exactly 1", n)
			}
		})
	}
}

func TestPermanentRefusal(t *testing.T) {
	for _, tc := range []struct{ at, code string }{{"RCPT", "550"}, {"DATA", "554"}} {
		t.Run(tc.at, func(t *testing.T) {
			code := 550
			fmt.Sscan(tc.code, &code)
			b := &backend{refuseAt: tc.at, refuseCode: code, refuseTimes: 1}
			s := newSender(t, plainURL(serve(t, b, nil, false)), nil)
			_, err := s.Send(t.Context(), testMessage())
			se := asSendError(t, err)
			if se.Temporary || se.Code != tc.code {
				t.Errorf("%+v, want permanent with code %s", se, tc.code)
			}
			if n := len(b.received()); n != 0 {
				t.Errorf("server kept %d messages", n)
			}
		})
	}
}

// TestUnknownMailboxStopsTheAddress: a mailbox the server says does not
// exist is not mailed again (it would bounce on every cart); a policy
// refusal, which can hit any address, stops nothing.
func TestUnknownMailboxStopsTheAddress(t *testing.T) {
	for _, tc := range []struct {
		enhanced gosmtp.EnhancedCode
		stop     bool
	}{
		{gosmtp.EnhancedCode{5, 1, 1}, true},
		{gosmtp.EnhancedCode{5, 1, 10}, true},
		{gosmtp.EnhancedCode{5, 7, 1}, false},
		{gosmtp.EnhancedCode{5, 2, 2}, false}, // mailbox full
	} {
		b := &backend{refuseAt: "RCPT", refuseCode: 550, refuseTimes: 1, refuseEnhanced: tc.enhanced}
		s := newSender(t, plainURL(serve(t, b, nil, false)), nil)
		_, err := s.Send(t.Context(), testMessage())
		if se := asSendError(t, err); se.StopContact != tc.stop || se.Temporary {
			t.Errorf("550 %v: %+v, want stop %v", tc.enhanced, se, tc.stop)
		}
	}
}

func TestSTARTTLS(t *testing.T) {
	cert, roots := selfSigned(t)
	b := &backend{user: "shop-mailer", pass: "s3cr3t/+:@"}
	port := serve(t, b, cert, false)

	t.Run("auth over TLS", func(t *testing.T) {
		s := newSender(t, fmt.Sprintf("smtp://shop-mailer:%s@127.0.0.1:%d", "s3cr3t%2F+%3A%40", port), roots)
		if _, err := s.Send(t.Context(), testMessage()); err != nil {
			t.Fatal(err)
		}
		got := b.received()
		if len(got) != 1 || !got[0].tls || got[0].user != "shop-mailer" {
			t.Fatalf("received %+v, want one message over TLS from shop-mailer", got)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		s := newSender(t, fmt.Sprintf("smtp://shop-mailer:wrong@127.0.0.1:%d", port), roots)
		_, err := s.Send(t.Context(), testMessage())
		if se := asSendError(t, err); se.Temporary || se.Code != "535" {
			t.Errorf("%+v, want permanent with code 535", se)
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		s := newSender(t, fmt.Sprintf("smtp://shop-mailer:s3cr3t@127.0.0.1:%d", port), nil)
		before := len(b.authAttempts())
		_, err := s.Send(t.Context(), testMessage())
		if se := asSendError(t, err); se.Temporary || !strings.Contains(se.Message, "certificate") {
			t.Errorf("%+v, want a permanent certificate error", se)
		}
		if len(b.authAttempts()) != before {
			t.Error("credentials were sent to an unverified server")
		}
	})
}

func TestSTARTTLSIsRequired(t *testing.T) {
	// This server offers no STARTTLS and would take AUTH in the clear.
	b := &backend{user: "shop-mailer", pass: "s3cr3t"}
	s := newSender(t, fmt.Sprintf("smtp://shop-mailer:s3cr3t@127.0.0.1:%d", serve(t, b, nil, false)), nil)
	_, err := s.Send(t.Context(), testMessage())
	se := asSendError(t, err)
	if se.Temporary || !strings.Contains(se.Message, "STARTTLS") {
		t.Errorf("%+v, want a permanent STARTTLS error", se)
	}
	if a := b.authAttempts(); len(a) != 0 {
		t.Errorf("credentials were sent in the clear: %v", a)
	}
	if n := len(b.received()); n != 0 {
		t.Errorf("server received %d messages", n)
	}
}

func TestImplicitTLS(t *testing.T) {
	cert, roots := selfSigned(t)
	b := &backend{user: "shop-mailer", pass: "s3cr3t"}
	s := newSender(t, fmt.Sprintf("smtps://shop-mailer:s3cr3t@127.0.0.1:%d", serve(t, b, cert, true)), roots)
	if _, err := s.Send(t.Context(), testMessage()); err != nil {
		t.Fatal(err)
	}
	if got := b.received(); len(got) != 1 || !got[0].tls || got[0].user != "shop-mailer" {
		t.Fatalf("received %+v, want one message over TLS from shop-mailer", got)
	}
}

func TestConnectionTrouble(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		s := newSender(t, plainURL(closedPort(t)), nil)
		_, err := s.Send(t.Context(), testMessage())
		if se := asSendError(t, err); !se.Temporary || se.Code != "" {
			t.Errorf("%+v, want temporary without code", se)
		}
	})
	t.Run("server never answers", func(t *testing.T) {
		s, err := New(Config{URL: plainURL(silent(t)), From: from, Timeout: 300 * time.Millisecond, Logger: testLog(t)})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = s.Send(t.Context(), testMessage())
		if se := asSendError(t, err); !se.Temporary {
			t.Errorf("%+v, want temporary", se)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("Send took %s with a 300ms timeout", d)
		}
	})
	t.Run("context canceled", func(t *testing.T) {
		s := newSender(t, plainURL(silent(t)), nil)
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := s.Send(ctx, testMessage())
		if se := asSendError(t, err); !se.Temporary || !strings.Contains(se.Message, "timed out") {
			t.Errorf("%+v, want temporary timeout", se)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("Send took %s after its context ended", d)
		}
	})
}

func TestAcceptedMessageIsNotRetried(t *testing.T) {
	// The server takes the message, then hangs up instead of answering
	// QUIT: the message is delivered and must count as sent.
	srv := &scripted{afterData: func(tp *textproto.Conn) {
		_ = tp.PrintfLine("250 queued as 1")
		_, _ = tp.ReadLine() // QUIT
		_ = tp.Close()
	}}
	s := newSender(t, plainURL(serveScripted(t, srv)), nil)
	id, err := s.Send(t.Context(), testMessage())
	if err != nil || id == "" {
		t.Fatalf("Send = %q, %v; want success after the server accepted the message", id, err)
	}
	if srv.count() != 1 {
		t.Errorf("server received %d messages", srv.count())
	}
}

func TestLostReplyIsNotRetried(t *testing.T) {
	// The server hangs up after the whole message arrived, without a
	// reply: it may have queued it, so a retry could send a second copy.
	srv := &scripted{afterData: func(tp *textproto.Conn) { _ = tp.Close() }}
	s := newSender(t, plainURL(serveScripted(t, srv)), nil)
	_, err := s.Send(t.Context(), testMessage())
	if se := asSendError(t, err); se.Temporary || !se.Unknown {
		t.Errorf("%+v, want not temporary and marked unknown: the outcome is unknown", se)
	}
}

func TestHeadersCannotBeInjected(t *testing.T) {
	b := &backend{}
	s := newSender(t, plainURL(serve(t, b, nil, false)), nil)
	m := testMessage()
	m.Subject = "Your cart\r\nBcc: victim@example.org"
	m.FromName = "Shop\r\nX-Injected: yes"
	if _, err := s.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	h := parse(t, b.received()[0].data).header
	if h.Get("Bcc") != "" || h.Get("X-Injected") != "" {
		t.Errorf("injected headers arrived: %v", h)
	}
	if subj, _ := new(mime.WordDecoder).DecodeHeader(h.Get("Subject")); subj != "Your cart Bcc: victim@example.org" {
		t.Errorf("Subject = %q", subj)
	}
}

func TestSendRejectsBadMessages(t *testing.T) {
	b := &backend{}
	s := newSender(t, plainURL(serve(t, b, nil, false)), nil)
	for name, edit := range map[string]func(*recovery.Message){
		"no recipient":        func(m *recovery.Message) { m.To = "" },
		"bad recipient":       func(m *recovery.Message) { m.To = "kari at example.net" },
		"bad reply-to":        func(m *recovery.Message) { m.ReplyTo = "nope" },
		"bad unsubscribe":     func(m *recovery.Message) { m.UnsubscribeURL = "javascript:alert(1)" },
		"unsubscribe no host": func(m *recovery.Message) { m.UnsubscribeURL = "https:///u/x" },
	} {
		t.Run(name, func(t *testing.T) {
			m := testMessage()
			edit(m)
			_, err := s.Send(t.Context(), m)
			if se := asSendError(t, err); se.Temporary {
				t.Errorf("%+v, want permanent", se)
			}
		})
	}
	if n := len(b.received()); n != 0 {
		t.Errorf("server received %d messages", n)
	}
	if _, err := s.Send(t.Context(), nil); err == nil {
		t.Error("nil message sent")
	}
}

func TestPlainHTTPUnsubscribeHasNoOneClick(t *testing.T) {
	b := &backend{}
	s := newSender(t, plainURL(serve(t, b, nil, false)), nil)
	m := testMessage()
	m.UnsubscribeURL = "http://localhost:8080/u/tok"
	if _, err := s.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	h := parse(t, b.received()[0].data).header
	if h.Get("List-Unsubscribe") != "<http://localhost:8080/u/tok>" || h.Get("List-Unsubscribe-Post") != "" {
		t.Errorf("List-Unsubscribe = %q, -Post = %q; want the link without one-click (RFC 8058 needs HTTPS)",
			h.Get("List-Unsubscribe"), h.Get("List-Unsubscribe-Post"))
	}
}

func TestTextToHTMLAddsMissingRestoreLink(t *testing.T) {
	m := &recovery.Message{Text: "Your cart is waiting.", RestoreURL: "https://cb.example/r/x?a=1&b=2"}
	html, err := textToHTML(m)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html, `<p>Your cart is waiting.</p>`) || !strings.Contains(html, `<a href="https://cb.example/r/x?a=1&amp;b=2">`) {
		t.Errorf("html:\n%s", html)
	}
}

// TestSenderNamesAreQuoted: a shop's name with quotes, a backslash or
// non-ASCII letters goes out as the From name, not as a refusal of every
// email of the shop.
func TestSenderNamesAreQuoted(t *testing.T) {
	b := &backend{}
	s := newSender(t, plainURL(serve(t, b, nil, false)), nil)
	names := []string{`12" Vinyl`, `Kari's "Best" Socks`, `Back\slash`, "Blåbær & Co", "Müller, Söhne"}
	for _, name := range names {
		m := testMessage()
		m.FromName = name
		if _, err := s.Send(t.Context(), m); err != nil {
			t.Errorf("from %q: %v", name, err)
		}
	}
	got := b.received()
	if len(got) != len(names) {
		t.Fatalf("%d messages arrived, want %d", len(got), len(names))
	}
	for i, r := range got {
		from, err := mail.ParseAddress(parse(t, r.data).header.Get("From"))
		if err != nil || from.Name != names[i] {
			t.Errorf("From of %q arrived as %v (%v)", names[i], from, err)
		}
	}
}
