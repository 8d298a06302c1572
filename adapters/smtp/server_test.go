package smtp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// The tests talk to real SMTP servers on the loopback interface: go-smtp
// for the normal dialogue and a scripted one for sessions that end badly.

// received is one message the test server accepted.
type received struct {
	from, to string
	data     []byte
	// tls and user describe the session the message came in.
	tls  bool
	user string
}

// backend is a go-smtp backend that records messages and can refuse
// the first attempts.
type backend struct {
	// user and pass are the only valid credentials, if set.
	user, pass string

	mu       sync.Mutex
	messages []received
	auths    []string // user names that tried AUTH
	// refuseAt ("MAIL", "RCPT" or "DATA") answers refuseCode to the next
	// refuseTimes commands there.
	refuseAt    string
	refuseCode  int
	refuseTimes int
	// refuseEnhanced is the enhanced status code of the refusal, such as
	// {5, 1, 1}; zero sends none.
	refuseEnhanced gosmtp.EnhancedCode
}

func (b *backend) NewSession(c *gosmtp.Conn) (gosmtp.Session, error) {
	return &session{b: b, conn: c}, nil
}

// refuse reports the error for a command, counting down refusals.
func (b *backend) refuse(cmd string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.refuseAt != cmd || b.refuseTimes == 0 {
		return nil
	}
	b.refuseTimes--
	return &gosmtp.SMTPError{Code: b.refuseCode, EnhancedCode: b.refuseEnhanced, Message: "refused by test at " + cmd}
}

func (b *backend) received() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.messages...)
}

func (b *backend) authAttempts() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.auths...)
}

type session struct {
	b        *backend
	conn     *gosmtp.Conn
	user     string
	from, to string
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		s.b.mu.Lock()
		s.b.auths = append(s.b.auths, user)
		s.b.mu.Unlock()
		if user != s.b.user || pass != s.b.pass {
			return &gosmtp.SMTPError{Code: 535, EnhancedCode: gosmtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		s.user = user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *gosmtp.MailOptions) error {
	if s.b.user != "" && s.user == "" {
		return &gosmtp.SMTPError{Code: 530, Message: "authentication required"}
	}
	if err := s.b.refuse("MAIL"); err != nil {
		return err
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	if err := s.b.refuse("RCPT"); err != nil {
		return err
	}
	s.to = to
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := s.b.refuse("DATA"); err != nil {
		return err
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.b.mu.Lock()
	s.b.messages = append(s.b.messages, received{from: s.from, to: s.to, data: data, tls: isTLS, user: s.user})
	s.b.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", "" }
func (s *session) Logout() error { return nil }

// serve runs a go-smtp server for b on 127.0.0.1 and returns its port.
// With cert, the server offers STARTTLS, or speaks TLS from the start if
// implicit is set; without, it allows AUTH in the clear, as a careless
// or hostile server would.
func serve(t *testing.T, b *backend, cert *tls.Certificate, implicit bool) int {
	t.Helper()
	srv := gosmtp.NewServer(b)
	srv.Domain = "localhost"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	logger := &testLogger{t: t}
	// Registered first, so it runs last: after Close, connection goroutines
	// may still report, and must not log into a finished test.
	t.Cleanup(logger.stop)
	srv.ErrorLog = logger
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cert != nil {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}}
		if implicit {
			ln = tls.NewListener(ln, srv.TLSConfig)
		}
	} else {
		srv.AllowInsecureAuth = true
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// testLogger keeps go-smtp's connection errors in the test log while the
// test runs.
type testLogger struct {
	t       *testing.T
	mu      sync.Mutex
	stopped bool
}

func (l *testLogger) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopped = true
}

func (l *testLogger) Printf(format string, v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.stopped {
		l.t.Logf("server: "+format, v...)
	}
}

func (l *testLogger) Println(v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.stopped {
		l.t.Log(append([]any{"server:"}, v...)...)
	}
}

// selfSigned makes a certificate for 127.0.0.1 and the pool that trusts it.
func selfSigned(t *testing.T) (*tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "cartback test SMTP"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// scripted is a minimal SMTP server for endings go-smtp will not produce:
// it accepts one message, then misbehaves as afterData says.
type scripted struct {
	// afterData runs when the message's final "." has arrived.
	afterData func(tp *textproto.Conn)
	mu        sync.Mutex
	messages  int
}

func (s *scripted) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.messages
}

func serveScripted(t *testing.T, s *scripted) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.session(c)
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

func (s *scripted) session(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	tp := textproto.NewConn(c)
	reply := func(format string, args ...any) { _ = tp.PrintfLine(format, args...) }
	reply("220 localhost ESMTP scripted")
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		switch verb, _, _ := strings.Cut(strings.ToUpper(line), " "); verb {
		case "EHLO":
			reply("250-localhost")
			reply("250 8BITMIME")
		case "HELO", "MAIL", "RCPT", "RSET", "NOOP":
			reply("250 OK")
		case "DATA":
			reply("354 go ahead")
			if _, err := tp.ReadDotBytes(); err != nil {
				return
			}
			s.mu.Lock()
			s.messages++
			s.mu.Unlock()
			s.afterData(tp)
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 not implemented")
		}
	}
}

// silent accepts connections and never says a word.
func silent(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// closedPort is a port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	return port
}
