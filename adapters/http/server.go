// Package http is cartback's HTTP surface: platform webhooks, the admin
// API, health and metrics. It is the only package that imports echo.
package http

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cartback/cartback/recovery"
)

// WebhookDecoder turns a verified webhook body of a topic into an event.
// storeURL is the shop's base URL; region is the shop's country, for phone
// numbers written without a country code.
type WebhookDecoder func(topic string, body []byte, storeURL, region string) (recovery.Event, error)

// MaxBodyBytes bounds every request body; platforms send far less.
const MaxBodyBytes = 1 << 20

// ShutdownTimeout bounds how long Close waits for in-flight requests.
const ShutdownTimeout = 25 * time.Second

// Server serves cartback's HTTP endpoints.
type Server struct {
	// Addr is the address to listen on, such as ":8080" or "127.0.0.1:0".
	Addr string
	// Service applies webhooks and answers admin queries.
	Service *recovery.Service
	// AdminToken authorises the admin API.
	AdminToken string
	// ShopifyAppSecrets verify webhooks of Shopify shops that have no secret
	// of their own (installed through the app): current, then previous.
	ShopifyAppSecrets []string
	// DecodeShopify and DecodeWooCommerce turn a verified webhook body into
	// an event; the platform adapters provide them.
	DecodeShopify     WebhookDecoder
	DecodeWooCommerce WebhookDecoder
	// ShopifyApp serves the app's install flow (/shopify/install and
	// /shopify/callback); nil when the app is not configured.
	ShopifyApp http.Handler
	// SMS reads the SMS provider's callbacks; nil when none is configured.
	SMS *SMSWebhooks
	// PublicURL is how the world reaches this service; provider signatures
	// cover it.
	PublicURL string
	// Signer verifies restore and unsubscribe links.
	Signer *recovery.Signer
	// Backup writes a consistent copy of the database (for `cartback
	// backup`), announcing its size before the first byte.
	Backup func(w io.Writer, announce func(size int64)) (int64, error)
	// Logger receives structured logs.
	Logger *slog.Logger
	// Now returns the current time (default time.Now).
	Now func() time.Time

	echo     *echo.Echo
	server   *http.Server
	listener net.Listener
	metrics  *metrics
	done     chan error

	// merchantTests counts, per shop and UTC day, the test messages sent
	// from merchants' own sign-ins (see MerchantTestsPerDay).
	merchantTestsMu sync.Mutex
	merchantTests   map[uint64]dayCount

	// signIns counts admin token attempts per client.
	signIns *signInThrottle
	// newSecrets holds a webhook secret just made until its page shows it.
	newSecrets shownOnce

	// Templates previews and validates merchants' templates on the admin
	// pages; give it the renderer that sends, so both agree. Nil uses a
	// renderer of the default templates.
	Templates *TemplateRenderer
	// SendTest sends a shop's template (kind, channel, locale, variant "A"
	// to "D"), rendered against the sample cart, to one address: the
	// template editor's "Send a test". Nil turns the button off.
	SendTest func(ctx context.Context, shop *recovery.Shop, kind, channel, locale, variant, to string) error
	// SessionKey signs admin page sessions and CSRF tokens; empty derives
	// one from AdminToken.
	SessionKey []byte
	// Secure marks admin cookies Secure even when a request does not show
	// HTTPS (TLS, or X-Forwarded-Proto: https).
	Secure bool
	// TrustedProxies are the networks of the reverse proxies in front of
	// the server. A request whose connection comes from one of them is
	// taken to come from the client its X-Forwarded-For names (the nearest
	// address outside these networks): the admin sign-in throttle counts
	// per client, not per proxy, and logs show the client. From anywhere
	// else the header is ignored, since a client can write anything in
	// it. Set before serving.
	TrustedProxies []netip.Prefix
}

// NewServer returns a Server whose metrics are registered with reg.
func NewServer(reg prometheus.Registerer) *Server {
	s := &Server{Logger: slog.Default(), metrics: newMetrics(reg)}
	s.signIns = newSignInThrottle(s.now)
	s.echo = echo.New()
	s.echo.HTTPErrorHandler = s.handleError
	s.echo.Use(middleware.Recover(), s.forwardedClient, s.formSignInSucceeded)

	s.echo.GET("/healthz", s.handleHealth)
	s.echo.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(gathererOf(reg), promhttp.HandlerOpts{})))
	s.echo.POST("/webhooks/shopify", s.handleShopifyWebhook)
	s.echo.POST("/webhooks/woocommerce", s.handleWooCommerceWebhook)
	s.echo.POST("/webhooks/noop", s.handleNoop)
	s.echo.POST("/webhooks/twilio/status", s.handleSMSStatus)
	s.echo.POST("/webhooks/twilio/inbound", s.handleSMSInbound)
	s.echo.GET("/r/:token", s.handleRestore)
	s.echo.GET("/u/:token", s.handleUnsubscribe)
	s.echo.POST("/u/:token", s.handleUnsubscribe)
	s.echo.GET("/noop", s.handleNoop)
	s.echo.GET("/shopify/install", s.handleShopifyApp)
	s.echo.GET("/shopify/callback", s.handleShopifyApp)
	s.echo.GET("/api/woocommerce/ping", s.handlePluginPing)
	s.echo.GET("/api/woocommerce/restore/:token", s.handlePluginRestore)

	admin := s.echo.Group("/admin/api", s.requireAdmin)
	admin.GET("/shops", s.handleListShops)
	admin.POST("/shops", s.handleCreateShop)
	admin.GET("/shops/:domain", s.handleGetShop)
	admin.DELETE("/shops/:domain", s.handleEraseShop)
	admin.PATCH("/shops/:domain", s.handlePatchShop)
	admin.GET("/shops/:domain/carts", s.handleListCarts)
	admin.GET("/shops/:domain/carts/:id", s.handleGetCart)
	admin.PUT("/shops/:domain/settings", s.handlePutSettings)
	admin.PUT("/shops/:domain/status", s.handlePutStatus)
	admin.POST("/shops/:domain/webhook-secret", s.handleRotateSecret)
	admin.DELETE("/shops/:domain/webhook-secret/previous", s.handleEndRotation)
	admin.GET("/shops/:domain/sequence", s.handleGetSequence)
	admin.PUT("/shops/:domain/sequence", s.handlePutSequence)
	admin.GET("/shops/:domain/outbox", s.handleOutbox)
	admin.GET("/shops/:domain/stats", s.handleStats)
	admin.GET("/shops/:domain/data-requests", s.handleDataRequests)
	admin.GET("/backup", s.handleBackup)
	s.registerPages()
	return s
}

func gathererOf(reg prometheus.Registerer) prometheus.Gatherer {
	if g, ok := reg.(prometheus.Gatherer); ok {
		return g
	}
	return prometheus.DefaultGatherer
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Handler returns the server's http.Handler, for tests that serve it
// themselves.
func (s *Server) Handler() http.Handler { return s.echo }

// Open starts listening on Addr and serving in the background.
func (s *Server) Open() error {
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.Addr, err)
	}
	s.listener = ln
	s.server = &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.Logger.Handler(), slog.LevelWarn),
	}
	s.done = make(chan error, 1)
	go func() { s.done <- s.server.Serve(ln) }()
	return nil
}

// Port returns the port the server listens on, useful with Addr ":0".
func (s *Server) Port() int {
	if s.listener == nil {
		return 0
	}
	return s.listener.Addr().(*net.TCPAddr).Port
}

// Close stops accepting connections and waits for in-flight requests to
// finish, at most ShutdownTimeout.
func (s *Server) Close() error {
	if s.server == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	err := s.server.Shutdown(ctx)
	if serveErr := <-s.done; !errors.Is(serveErr, http.ErrServerClosed) && err == nil {
		err = serveErr
	}
	return err
}

// errorStatus is the one table from domain error codes to HTTP statuses.
var errorStatus = map[string]int{
	recovery.EINVALID:        http.StatusBadRequest,
	recovery.EUNAUTHORIZED:   http.StatusUnauthorized,
	recovery.ENOTFOUND:       http.StatusNotFound,
	recovery.ECONFLICT:       http.StatusConflict,
	recovery.ETOOLARGE:       http.StatusRequestEntityTooLarge,
	recovery.EUNAVAILABLE:    http.StatusServiceUnavailable,
	recovery.ENOTIMPLEMENTED: http.StatusNotImplemented,
	recovery.EEXPIRED:        http.StatusGone,
	recovery.EINTERNAL:       http.StatusInternalServerError,
}

// errorResponse is the status and message an error is answered with, for
// the JSON API and the admin pages alike; internal reports an error of
// ours rather than of the request, which pages show only generically.
func errorResponse(err error) (status int, message string, internal bool) {
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		if he.Message == "" {
			return he.Code, http.StatusText(he.Code), false
		}
		return he.Code, he.Message, false
	case echo.StatusCode(err) != 0:
		return echo.StatusCode(err), http.StatusText(echo.StatusCode(err)), false
	}
	code := recovery.ErrorCode(err)
	return errorStatus[code], recovery.ErrorMessage(err), code == recovery.EINTERNAL
}

// handleError writes every error as {"error": "..."} with the status its
// code maps to. Internal errors are logged and shown only generically.
func (s *Server) handleError(c *echo.Context, err error) {
	if r, _ := echo.UnwrapResponse(c.Response()); r != nil && r.Committed {
		return
	}
	status, message, _ := errorResponse(err)
	if status >= 500 {
		s.Logger.Error("request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "error", err)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = c.JSON(status, map[string]string{"error": message})
}

// Error returns an error that answers with status and message.
func Error(status int, message string) error { return echo.NewHTTPError(status, message) }

func (s *Server) handleHealth(c *echo.Context) error {
	// A read transaction proves the database is open and readable. How late
	// reminders are is shown, not judged: a backlog behind a provider's
	// rate limit is late without being broken (alert on the metric).
	overdue, err := s.Service.Overdue(c.Request().Context())
	if err != nil {
		return recovery.Errorf(recovery.EUNAVAILABLE, "database unavailable")
	}
	return c.JSON(http.StatusOK, map[string]any{"status": "ok", "reminders_overdue_seconds": overdue.Seconds()})
}

// handleShopifyApp hands the install flow to the Shopify app.
func (s *Server) handleShopifyApp(c *echo.Context) error {
	if s.ShopifyApp == nil {
		return recovery.Errorf(recovery.ENOTFOUND, "the Shopify app is not configured")
	}
	s.ShopifyApp.ServeHTTP(c.Response(), c.Request())
	return nil
}

// handleNoop reads and discards a body: the ceiling the load generator
// compares webhook intake and restore redirects against.
func (s *Server) handleNoop(c *echo.Context) error {
	if _, err := readBody(c); err != nil {
		return err
	}
	return c.NoContent(http.StatusOK)
}

// requireAdmin admits requests that carry the admin token as a bearer token.
func (s *Server) requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		remote := c.Request().RemoteAddr
		token, ok := strings.CutPrefix(c.Request().Header.Get("Authorization"), "Bearer ")
		if !ok {
			// No token, no guess: nothing to count.
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="cartback"`)
			return Error(http.StatusUnauthorized, "missing or invalid admin token")
		}
		if err := s.throttleSignIn(c); err != nil {
			return err
		}
		if s.AdminToken == "" || subtle.ConstantTimeCompare([]byte(token), []byte(s.AdminToken)) != 1 {
			s.signIns.failed(remote)
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="cartback"`)
			return Error(http.StatusUnauthorized, "missing or invalid admin token")
		}
		s.signIns.succeeded(remote)
		return next(c)
	}
}

// formSignInSucceeded gives back the attempt a successful sign-in by the
// form took from the throttle (the form's handler takes one before it
// compares the token; a sign-in that works must not use up the budget).
// Only a successful sign-in answers the form with a redirect.
func (s *Server) formSignInSucceeded(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		err := next(c)
		if err == nil && c.Request().Method == http.MethodPost && c.Path() == "/admin/login" {
			if r, _ := echo.UnwrapResponse(c.Response()); r != nil && r.Status == http.StatusSeeOther {
				s.signIns.succeeded(c.Request().RemoteAddr)
			}
		}
		return err
	}
}

// forwardedClient replaces the RemoteAddr of a request from a trusted
// proxy with the client's address the proxy forwards, keeping the port.
func (s *Server) forwardedClient(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		if len(s.TrustedProxies) > 0 {
			r := c.Request()
			if ip, ok := forwardedFor(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), s.TrustedProxies); ok {
				_, port, _ := net.SplitHostPort(r.RemoteAddr)
				r.RemoteAddr = net.JoinHostPort(ip.String(), port)
			}
		}
		return next(c)
	}
}

// forwardedFor returns the client a request from a trusted proxy was
// forwarded for: walking X-Forwarded-For from the right (the entry the
// nearest proxy wrote) past the trusted proxies, the first address that
// is not one of them. When every entry is trusted, the leftmost of them is
// the client only if nobody could have written it: so it is the entry the
// last proxy wrote instead, the one a client cannot choose. ok is false
// when the connection does not come from a trusted proxy or the header
// holds nothing usable.
func forwardedFor(remote string, headers []string, trusted []netip.Prefix) (netip.Addr, bool) {
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	peer, err := netip.ParseAddrPort(remote)
	if err != nil || !isTrusted(peer.Addr().Unmap()) {
		return netip.Addr{}, false
	}
	var parts []string
	for _, h := range headers {
		parts = append(parts, strings.Split(h, ",")...)
	}
	// From the right, and no further than the first address that is not a
	// proxy's: what lies to its left the client wrote, garbled or not.
	var nearest netip.Addr // the entry the last proxy wrote
	for i := len(parts) - 1; i >= 0; i-- {
		a, ok := hopAddr(parts[i])
		if !ok {
			break // a proxy wrote nothing usable: trust no more of it
		}
		if !isTrusted(a) {
			return a, true
		}
		if !nearest.IsValid() {
			nearest = a
		}
	}
	// Every usable entry is a proxy's: the one the last proxy wrote, which
	// no client can choose.
	return nearest, nearest.IsValid()
}

// hopAddr reads one X-Forwarded-For entry: an address, possibly in
// brackets or with a port, as proxies write them.
func hopAddr(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// throttleSignIn takes an attempt from the client's sign-in budget, or
// answers 429 to a client that has failed the admin token too often
// lately, before its token is looked at.
func (s *Server) throttleSignIn(c *echo.Context) error {
	if s.signInBlocked(c) {
		return Error(http.StatusTooManyRequests, "too many wrong admin tokens from this address; try again later")
	}
	return nil
}

// signInBlocked takes an attempt from the client's sign-in budget and
// reports false, or, when none is left, logs it, sets Retry-After and
// reports true: the API and the sign-in form then answer 429 each in
// their own way.
func (s *Server) signInBlocked(c *echo.Context) bool {
	blocked, wait := s.signIns.blocked(c.Request().RemoteAddr)
	if blocked {
		s.Logger.Warn("admin sign-in throttled", "remote", c.Request().RemoteAddr)
		c.Response().Header().Set("Retry-After", retryAfter(wait))
	}
	return blocked
}
