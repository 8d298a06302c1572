package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/textproto"
	"strconv"

	mail "github.com/wneessen/go-mail"

	"github.com/cartback/cartback/recovery"
)

// dialError classifies a failure while connecting, greeting, STARTTLS or
// AUTH. No message was sent yet, so what matters is whether another try
// can succeed.
func dialError(ctx context.Context, err error) error {
	se := &recovery.SendError{Message: "smtp: connect: " + err.Error()}
	var reply *textproto.Error
	var alert tls.AlertError
	switch {
	case ctx.Err() != nil:
		se.Temporary = true
		se.Message = "smtp: connect: " + ctxReason(ctx) + ": " + err.Error()
	case errors.As(err, &reply):
		// The server said no: 421 at the greeting is "busy", 535 at AUTH
		// is a wrong password.
		se.Code = strconv.Itoa(reply.Code)
		se.Temporary = reply.Code >= 400 && reply.Code < 500
	case errors.As(err, &alert):
		// The server rejected the TLS handshake (crypto/tls wraps alerts
		// in a net.OpError, so this comes before the network case).
	case networkError(err):
		// Refused, reset, unreachable or timed out: the server may be back
		// in a moment.
		se.Temporary = true
	default:
		// Certificate not trusted, STARTTLS not offered, no usable AUTH
		// mechanism, not TLS on the other end: configuration or an
		// attack, which another try will not fix.
	}
	return se
}

// sendError classifies a failure of MAIL, RCPT or DATA.
func sendError(ctx context.Context, err error) error {
	var ms *mail.SendError
	if !errors.As(err, &ms) {
		// go-mail reports everything after the dial as *mail.SendError.
		return &recovery.SendError{Message: "smtp: send: " + err.Error()}
	}
	se := &recovery.SendError{Message: "smtp: send: " + ms.Error()}
	if code := ms.ErrorCode(); code != 0 {
		// The server answered. Even at the end of DATA, a 4xx or 5xx
		// reply means it did not take the message.
		se.Code = strconv.Itoa(code)
		se.Temporary = ms.IsTemp()
		// The mailbox does not exist (bad destination mailbox or system
		// address): mail to it would bounce again on every cart, which
		// costs the sender its reputation. Policy refusals (5.7.x) can
		// hit any address and stop nothing.
		if ms.Reason == mail.ErrSMTPRcptTo && code >= 500 && code < 600 {
			switch ms.EnhancedStatusCode() {
			case "5.1.1", "5.1.2", "5.1.10":
				se.StopContact = true
			}
		}
		return se
	}
	switch ms.Reason {
	case mail.ErrConnCheck, mail.ErrSMTPMailFrom, mail.ErrSMTPRcptTo, mail.ErrSMTPData, mail.ErrWriteContent:
		// The connection failed before the final "." went out, so the
		// server cannot have accepted the message.
		se.Temporary = true
		if ctx.Err() != nil {
			se.Message = "smtp: send: " + ctxReason(ctx) + ": " + ms.Error()
		}
	case mail.ErrSMTPDataClose:
		// The message went out but its reply never came: the server may
		// have accepted it. Trying again could deliver a second copy, and
		// a reminder too many is worse than one too few.
		se.Message, se.Unknown = "smtp: outcome unknown, not retried: "+ms.Error(), true
	default:
		// Sender or recipient unusable, or the server cannot take the
		// message as encoded: the same message would fail again.
	}
	return se
}

// networkError reports whether err is a failure of the connection rather
// than of the protocol.
func networkError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)
}

// ctxReason says why ctx ended.
func ctxReason(ctx context.Context) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return "timed out"
	}
	return "canceled"
}
