package twilio

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
)

// maxErrorBody bounds how much of an error answer is kept for decoding.
const maxErrorBody = 64 << 10

// transport serves one Send. twilio-go builds its requests without a
// context and with a fixed base URL, so transport
//   - gives each request the Send's context (cancellation, timeout),
//   - sends requests aimed at Twilio's API host to apiURL when set,
//   - records whether the request was written and which status came
//     back, which decides if trying again is safe,
//   - reads error answers into memory and closes them, since twilio-go
//     leaves their bodies open.
type transport struct {
	ctx    context.Context
	base   http.RoundTripper
	apiURL *url.URL

	wrote  atomic.Bool
	status atomic.Int32
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	trace := &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			// A failed write may still have delivered the whole
			// request; only a write that never started is safe.
			t.wrote.Store(true)
		},
	}
	out := req.Clone(httptrace.WithClientTrace(t.ctx, trace))
	if t.apiURL != nil && isTwilioAPIHost(out.URL.Hostname()) {
		rewrite(out, t.apiURL)
	}
	resp, err := t.base.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	t.status.Store(int32(resp.StatusCode))
	if resp.StatusCode >= 400 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	return resp, nil
}

func (t *transport) responseStatus() int { return int(t.status.Load()) }

// isTwilioAPIHost matches api.twilio.com and its edge and region forms
// (api.dublin.ie1.twilio.com) that TWILIO_EDGE and TWILIO_REGION select.
func isTwilioAPIHost(host string) bool {
	host = strings.ToLower(host)
	return strings.HasPrefix(host, "api.") && strings.HasSuffix(host, ".twilio.com")
}

// rewrite points req at base: its scheme and host, and its path as a
// prefix.
func rewrite(req *http.Request, base *url.URL) {
	u := *req.URL
	u.Scheme = base.Scheme
	u.Host = base.Host
	u.Path = base.Path + u.Path
	u.RawPath = ""
	req.URL = &u
	req.Host = ""
}
