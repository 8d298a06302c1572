// Package smtp sends reminder emails through an SMTP server. It implements
// recovery.Sender on top of github.com/wneessen/go-mail.
//
// Every reminder is one SMTP session: connect, STARTTLS (or implicit TLS),
// AUTH, one message, QUIT. Reminders are few and far between per process,
// so keeping connections open would only add failure modes.
package smtp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	mail "github.com/wneessen/go-mail"

	"github.com/cartback/cartback/recovery"
)

// Sender delivers email reminders through one SMTP server. It is safe for
// concurrent use.
type Sender struct {
	ep      endpoint
	from    sender
	timeout time.Duration
	rootCAs *x509.CertPool
	log     *slog.Logger
}

// New validates cfg and returns a Sender. Errors name the environment
// variable that is wrong (SMTP_URL or EMAIL_FROM). New does not connect:
// a mail server that is down at start must not keep cartback from
// starting; sends fail as temporary until it is back.
func New(cfg Config) (*Sender, error) {
	ep, err := parseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	from, err := parseFrom(cfg.From)
	if err != nil {
		return nil, err
	}
	if cfg.Timeout < 0 {
		return nil, errors.New("smtp: timeout must not be negative")
	}
	s := &Sender{ep: ep, from: from, timeout: cfg.Timeout, rootCAs: cfg.RootCAs, log: cfg.Logger}
	if s.timeout == 0 {
		s.timeout = DefaultTimeout
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s, nil
}

// String describes the server and its security for startup logs. It never
// includes the password.
func (s *Sender) String() string {
	user := ""
	if s.ep.user != "" {
		user = s.ep.user + "@"
	}
	return fmt.Sprintf("smtp %s%s (tls=%s), from %s", user, net.JoinHostPort(s.ep.host, strconv.Itoa(s.ep.port)), s.ep.mode, s.from.address)
}

// Send delivers m and returns its Message-ID (without angle brackets) as
// the provider id. Failures are *recovery.SendError: Temporary when the
// server did not take the message and trying again is safe (connection
// trouble before the end of DATA, SMTP 4xx), permanent otherwise (SMTP
// 5xx, TLS or AUTH refused, bad address). Once the server has accepted the
// message, Send reports success even if the session then ends badly, so
// the engine never sends a second copy.
func (s *Sender) Send(ctx context.Context, m *recovery.Message) (string, error) {
	if m == nil {
		return "", &recovery.SendError{Message: "smtp: no message"}
	}
	msg, id, err := s.compose(m)
	if err != nil {
		return "", err
	}

	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	d := &dialer{ctx: ctx, addr: net.JoinHostPort(s.ep.host, strconv.Itoa(s.ep.port)), implicit: s.ep.mode == tlsImplicit, tls: s.tlsConfig()}
	defer d.close()

	client, err := mail.NewClient(s.ep.host, s.clientOptions(d)...)
	if err != nil {
		// Only a configuration New let through ends here; retrying will
		// not fix it.
		return "", &recovery.SendError{Message: "smtp: client: " + err.Error()}
	}
	conn, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return "", dialError(ctx, err)
	}
	sendErr := client.SendWithSMTPClient(conn, msg)
	// QUIT politely either way; d.close drops the connection if QUIT fails.
	quitErr := client.CloseWithSMTPClient(conn)
	if msg.IsDelivered() {
		// The server replied 250 to the end of DATA: the message is its
		// responsibility now. Anything failing after that must not look
		// like a failed send, or the engine would send a second copy.
		if err := errors.Join(sendErr, quitErr); err != nil {
			s.log.Warn("smtp: message accepted, but the session did not end cleanly", "message_id", id, "error", err)
		}
		return id, nil
	}
	if sendErr == nil {
		// go-mail reports every undelivered message; be safe if it ever
		// does not.
		return "", &recovery.SendError{Temporary: true, Message: "smtp: message was not accepted"}
	}
	return "", sendError(ctx, sendErr)
}

// clientOptions configure a go-mail client for one send.
func (s *Sender) clientOptions(d *dialer) []mail.Option {
	opts := []mail.Option{
		mail.WithPort(s.ep.port),
		// Bounds every single read and write; ctx bounds the whole send.
		mail.WithTimeout(s.timeout),
		mail.WithDialContextFunc(d.dial),
		mail.WithTLSConfig(d.tls),
		// A fresh connection needs no NOOP before MAIL, and after the one
		// message comes QUIT, not RSET: both only add round trips that
		// could fail after the message was accepted.
		mail.WithoutNoop(),
		mail.WithoutRset(),
	}
	switch s.ep.mode {
	case tlsStartTLS:
		// Mandatory: a server (or a man in the middle) that does not offer
		// STARTTLS gets no credentials and no message.
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	case tlsImplicit:
		// The dialer speaks TLS from the first byte.
		opts = append(opts, mail.WithSSL(), mail.WithTLSPolicy(mail.TLSMandatory))
	case tlsNone:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	}
	if s.ep.helo != "" {
		opts = append(opts, mail.WithHELO(s.ep.helo))
	}
	if s.ep.user != "" {
		// The PLAIN and LOGIN mechanisms of go-mail refuse to run on a
		// connection without TLS, a second guard behind parseURL.
		opts = append(opts,
			mail.WithOpportunisticSMTPAuth(mail.SMTPAuthSCRAMSHA256, mail.SMTPAuthSCRAMSHA1, mail.SMTPAuthPlain, mail.SMTPAuthLogin),
			mail.WithUsername(s.ep.user),
			mail.WithPassword(s.ep.password))
	}
	return opts
}

// tlsConfig is the TLS configuration of one connection, for STARTTLS and
// implicit TLS alike.
func (s *Sender) tlsConfig() *tls.Config {
	return &tls.Config{
		ServerName: s.ep.host,
		RootCAs:    s.rootCAs,
		MinVersion: tls.VersionTLS12,
	}
}

// dialer opens the connection for go-mail so that Send can cut it when
// ctx ends: go-mail itself watches the context only while dialling.
type dialer struct {
	ctx      context.Context
	addr     string
	implicit bool
	tls      *tls.Config

	raw  net.Conn
	stop func() bool
}

// dial implements mail.DialContextFunc. go-mail's address is ignored: it
// joins host and port without brackets, which breaks IPv6 literals.
func (d *dialer) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	var nd net.Dialer
	raw, err := nd.DialContext(ctx, "tcp", d.addr)
	if err != nil {
		return nil, err
	}
	// Closing the TCP connection is the only way to interrupt a read that
	// is waiting for the server; the TLS layer above then fails at once.
	d.raw, d.stop = raw, context.AfterFunc(d.ctx, func() { _ = raw.Close() })
	if !d.implicit {
		return raw, nil
	}
	conn := tls.Client(raw, d.tls)
	if err := conn.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	return conn, nil
}

// close releases the connection, whatever state the session ended in.
func (d *dialer) close() {
	if d.raw != nil {
		d.stop()
		_ = d.raw.Close()
	}
}
