package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"time"
)

// conn is one worker's keep-alive HTTP/1.1 connection. A request goes out
// in one write and its answer is read on the worker's own goroutine:
// net/http's client adds two goroutines per connection and hands every
// request and answer between them, which on a small machine takes CPU
// from the server under test and adds its own scheduling delay to every
// measured latency.
type conn struct {
	addr    string // host:port to dial
	tls     *tls.Config
	timeout time.Duration
	nc      net.Conn
	br      *bufio.Reader
	stop    func() bool // unregisters the cancellation hook of nc
	// stamped reads nc with the kernel's receive times; nil where the
	// platform or a TLS connection does not allow it.
	stamped *stampedConn
}

// newConn returns a connection to the URL's host that dials on first use.
func newConn(addr string, tlsConfig *tls.Config, timeout time.Duration) *conn {
	return &conn{addr: addr, tls: tlsConfig, timeout: timeout}
}

// errClosedByServer is returned when the server ended the connection
// before it answered.
var errClosedByServer = errors.New("connection closed before the answer")

// roundTrip writes head and body as one request and reads the whole
// answer. It returns the answer's status code, and when the kernel
// received the answer's last bytes (zero when unknown).
func (c *conn) roundTrip(ctx context.Context, head, body []byte) (int, time.Time, error) {
	if c.nc == nil {
		if err := c.dial(ctx); err != nil {
			return 0, time.Time{}, err
		}
	}
	if err := c.nc.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		c.close()
		return 0, time.Time{}, err
	}
	if c.stamped != nil {
		c.stamped.last = time.Time{} // an answer without a stamp is unknown, not the last one's
	}
	bufs := net.Buffers{head, body}
	if _, err := bufs.WriteTo(c.nc); err != nil {
		c.close()
		return 0, time.Time{}, err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.close()
		if errors.Is(err, io.EOF) {
			err = errClosedByServer
		}
		return 0, time.Time{}, err
	}
	// Read to the end so the next answer starts where it should.
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	var received time.Time
	if c.stamped != nil {
		received = c.stamped.received()
	}
	if err != nil || resp.Close {
		c.close()
	}
	return resp.StatusCode, received, err
}

func (c *conn) dial(ctx context.Context) error {
	d := net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return err
	}
	if c.tls != nil {
		tc := tls.Client(nc, c.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return err
		}
		nc = tc
	}
	c.nc, c.stamped = nc, nil
	var r io.Reader = nc
	if c.tls == nil {
		if c.stamped = stamp(nc); c.stamped != nil {
			r = c.stamped
		}
	}
	c.br = bufio.NewReaderSize(r, 16<<10)
	// Ending the run (Ctrl-C) ends a request in flight at once.
	c.stop = context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	return nil
}

func (c *conn) close() {
	if c.nc != nil {
		c.stop()
		c.nc.Close()
		c.nc, c.br, c.stamped = nil, nil, nil
	}
}
