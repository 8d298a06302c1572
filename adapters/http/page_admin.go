package http

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/cartback/cartback/recovery"
	"github.com/cartback/cartback/templates"
)

// The admin pages: server-rendered HTML under /admin/, signed in with the
// admin token. A session is a signed cookie (no server-side state): its
// value carries an expiry and a random session id, authenticated with
// HMAC-SHA256 under the session key. Every form carries a CSRF token, an
// HMAC of the session id, checked on every POST; the sign-in form, which
// comes before any session, uses a double-submit cookie instead.

// Session and form cookie names and lifetimes.
const (
	sessionCookie   = "cartback_session"
	loginCookie     = "cartback_login"
	sessionLifetime = 12 * time.Hour
	loginFormTTL    = time.Hour
	csrfField       = "_csrf"
	csrfHeader      = "X-CSRF-Token"
)

// TemplateRenderer is the renderer the admin pages preview and validate
// merchants' templates with (Server.Templates).
type TemplateRenderer = templates.Renderer

// pagesFS holds the page templates: layout.html frames every page.
//
//go:embed pages/*.html
var pagesFS embed.FS

// pageFuncs are the functions page templates may call.
var pageFuncs = template.FuncMap{
	"money":   recovery.FormatMoney,
	"percent": func(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" },
	"add":     func(a, b int) int { return a + b },
}

// pageTemplates are the parsed pages, each the layout with its content.
var pageTemplates = func() map[string]*template.Template {
	layout := template.Must(template.New("layout.html").Funcs(pageFuncs).ParseFS(pagesFS, "pages/layout.html"))
	names, err := fs.Glob(pagesFS, "pages/*.html")
	if err != nil {
		panic(err)
	}
	pages := make(map[string]*template.Template, len(names))
	for _, name := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(name, "pages/"), ".html")
		if base == "layout" {
			continue
		}
		pages[base] = template.Must(template.Must(layout.Clone()).ParseFS(pagesFS, name))
	}
	return pages
}()

// defaultRenderer previews templates when the server was given no
// Renderer of its own.
var defaultRenderer = sync.OnceValues(func() (*templates.Renderer, error) {
	return templates.New(templates.Options{LinkTTL: recovery.DefaultLinkTTL})
})

// renderer returns the template renderer the pages preview and validate
// with.
func (s *Server) renderer() (*templates.Renderer, error) {
	if s.Templates != nil {
		return s.Templates, nil
	}
	return defaultRenderer()
}

// registerPages adds the admin pages to the router.
func (s *Server) registerPages() {
	open := []echo.MiddlewareFunc{s.pageHeaders}
	closed := []echo.MiddlewareFunc{s.pageHeaders, s.requireSession}
	e := s.echo
	e.GET("/admin", func(c *echo.Context) error { return c.Redirect(http.StatusMovedPermanently, "/admin/") }, open...)
	e.GET("/admin/login", s.page(s.pageLogin), open...)
	e.GET("/admin/shop-session", s.page(s.pageShopSession), open...)
	e.POST("/admin/login", s.page(s.pageLoginPost), open...)
	e.POST("/admin/logout", s.page(s.pageLogout), closed...)
	e.GET("/admin/", s.page(s.pageHome), closed...)
	e.GET("/admin/shops", s.page(s.pageShops), closed...)
	e.POST("/admin/shops", s.page(s.pageCreateShop), closed...)
	e.GET("/admin/shops/:domain", s.page(s.pageShopSettings), closed...)
	e.POST("/admin/shops/:domain/settings", s.page(s.pageShopSettingsPost), closed...)
	e.POST("/admin/shops/:domain/status", s.page(s.pageShopStatusPost), closed...)
	e.POST("/admin/shops/:domain/webhook-secret", s.page(s.pageRotateSecret), closed...)
	e.POST("/admin/shops/:domain/webhook-secret/end", s.page(s.pageEndRotation), closed...)
	e.POST("/admin/shops/:domain/erase", s.page(s.pageEraseShop), closed...)
	e.GET("/admin/shops/:domain/dashboard", s.page(s.pageDashboard), closed...)
	e.GET("/admin/shops/:domain/templates", s.page(s.pageTemplates), closed...)
	e.POST("/admin/shops/:domain/templates", s.page(s.pageTemplatesPost), closed...)
	e.POST("/admin/shops/:domain/templates/preview", s.pageTemplatePreview, closed...)
	e.POST("/admin/shops/:domain/templates/test", s.page(s.pageTemplateTest), closed...)
	e.GET("/admin/shops/:domain/carts", s.page(s.pageCarts), closed...)
	e.GET("/admin/shops/:domain/carts/:id", s.page(s.pageCart), closed...)
	e.GET("/admin/shops/:domain/outbox", s.page(s.pageOutbox), closed...)
	// Unknown admin pages get an HTML answer with the same headers; the
	// API keeps its own JSON answers under /admin/api.
	e.RouteNotFound("/admin/*", s.page(func(*echo.Context) error {
		return recovery.Errorf(recovery.ENOTFOUND, "There is no such page.")
	}), open...)
}

// pageHeaders sets the security headers of every admin page, makes the
// page's script nonce and bounds form bodies.
func (s *Server) pageHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		nonce := randomToken(16)
		c.Set("nonce", nonce)
		h := c.Response().Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' https: data:; style-src 'self' 'unsafe-inline'; "+
			"script-src 'self' 'nonce-"+nonce+"'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-store")
		if r := c.Request(); r.Body != nil {
			r.Body = http.MaxBytesReader(c.Response(), r.Body, MaxBodyBytes)
		}
		return next(c)
	}
}

// session is a verified admin session.
type session struct {
	id string
	// shop, when set, confines the session to one shop: a merchant who
	// came in through the Shopify app sees their shop and no other.
	shop string
}

// sessionKey is the key sessions and CSRF tokens are signed with: the
// configured SessionKey, else one derived from the admin token.
func (s *Server) sessionKey() []byte {
	if len(s.SessionKey) > 0 {
		return s.SessionKey
	}
	k := sha256.Sum256([]byte("cartback admin session\x00" + s.AdminToken))
	return k[:]
}

// sessionMAC authenticates a session's expiry and id. The admin token's
// hash is part of it, so changing the token ends every session.
func (s *Server) sessionMAC(payload string) string {
	token := sha256.Sum256([]byte(s.AdminToken))
	m := hmac.New(sha256.New, s.sessionKey())
	m.Write([]byte("session\x00"))
	m.Write(token[:])
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// newSession returns the cookie value of a fresh session; shop confines it
// to one shop ("" for the operator's session over all shops).
func (s *Server) newSession(shop string) string {
	payload := strconv.FormatInt(s.now().Add(sessionLifetime).Unix(), 10) + "." + randomToken(16)
	if shop != "" {
		payload += "." + shop
	}
	return payload + "." + s.sessionMAC(payload)
}

// readSession verifies the request's session cookie.
func (s *Server) readSession(c *echo.Context) (session, bool) {
	ck, err := c.Cookie(sessionCookie)
	if err != nil || s.AdminToken == "" {
		return session{}, false
	}
	i := strings.LastIndexByte(ck.Value, '.')
	if i < 0 {
		return session{}, false
	}
	payload, mac := ck.Value[:i], ck.Value[i+1:]
	if !hmac.Equal([]byte(mac), []byte(s.sessionMAC(payload))) {
		return session{}, false
	}
	exp, rest, ok := strings.Cut(payload, ".")
	id, shop, _ := strings.Cut(rest, ".") // ids are base64url: no dots
	unix, err := strconv.ParseInt(exp, 10, 64)
	if !ok || err != nil || id == "" || !s.now().Before(time.Unix(unix, 0)) {
		return session{}, false
	}
	return session{id: id, shop: shop}, true
}

// ticketLifetime bounds how long a shop sign-in link works.
const ticketLifetime = 2 * time.Minute

// shopTicketCookie binds a shop sign-in link to the browser it was made
// for.
const shopTicketCookie = "cartback_shop_ticket"

func (s *Server) ticketMAC(shop, exp, nonce string) string {
	m := hmac.New(sha256.New, s.sessionKey())
	m.Write([]byte("shop ticket\x00" + shop + "\x00" + exp + "\x00" + nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// ShopSignIn answers, on w, the browser that just installed the Shopify
// app with a short-lived cookie, and returns the path of a link that signs
// that browser, and no other, into the admin page for one shop only:
// where the app sends a merchant after installing. A link copied out of
// the flow (and sent to someone else) does not work without the cookie,
// and works once.
func (s *Server) ShopSignIn(w http.ResponseWriter, r *http.Request, shop string) string {
	nonce := randomToken(16)
	http.SetCookie(w, &http.Cookie{
		Name: shopTicketCookie, Value: nonce, Path: "/admin/shop-session", HttpOnly: true,
		Secure:   s.secureRequest(r),
		SameSite: http.SameSiteLaxMode, // sent on the redirect that follows Shopify's
		MaxAge:   int(ticketLifetime / time.Second),
	})
	exp := strconv.FormatInt(s.now().Add(ticketLifetime).Unix(), 10)
	q := url.Values{"shop": {shop}, "exp": {exp}, "sig": {s.ticketMAC(shop, exp, nonce)}}
	return "/admin/shop-session?" + q.Encode()
}

// pageShopSession turns a shop sign-in link, in the browser it was made
// for, into a session for that shop.
func (s *Server) pageShopSession(c *echo.Context) error {
	shop, exp, sig := c.QueryParam("shop"), c.QueryParam("exp"), c.QueryParam("sig")
	nonce := ""
	if ck, err := c.Request().Cookie(shopTicketCookie); err == nil {
		nonce = ck.Value
	}
	unix, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || shop == "" || nonce == "" || !s.now().Before(time.Unix(unix, 0)) ||
		!hmac.Equal([]byte(sig), []byte(s.ticketMAC(shop, exp, nonce))) {
		return Error(http.StatusUnauthorized, "This sign-in link is not valid or has expired. Open the app from your Shopify admin again.")
	}
	s.setCookie(c, shopTicketCookie, "", "/admin/shop-session", -1) // once
	s.setCookie(c, sessionCookie, s.newSession(shop), "/admin", sessionLifetime)
	// Not a redirect: this request is the end of a chain of redirects that
	// began on Shopify, and a browser sends no SameSite=Strict cookie
	// along such a chain, so a 303 would land on the sign-in page. A page
	// of our own moving on starts a navigation from this site, which
	// carries the new session.
	return moveOnPage(c, "/admin/shops/"+url.PathEscape(shop)+"/dashboard")
}

// moveOnTemplate is a page that takes the browser on to a local path.
var moveOnTemplate = template.Must(template.New("move-on").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url={{.}}">
<title>Signed in · cartback</title></head>
<body><p><a href="{{.}}">Continue to your dashboard</a></p></body></html>`))

// moveOnPage answers with a page that takes the browser on to path.
func moveOnPage(c *echo.Context, path string) error {
	h := c.Response().Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	c.Response().WriteHeader(http.StatusOK)
	return moveOnTemplate.Execute(c.Response(), path)
}

// afterSignIn is where a request that found no session goes once signed
// in: itself, for a page; for a form sent after the session ended (which
// has no page of its own to come back to), the page the form was on, or
// else the one above it.
func afterSignIn(r *http.Request) string {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return r.URL.RequestURI()
	}
	if ref, err := url.Parse(r.Referer()); err == nil && ref.Host == r.Host && strings.HasPrefix(ref.Path, "/admin/") {
		return ref.RequestURI()
	}
	return path.Dir(r.URL.Path)
}

// sessionID returns the id of the request's admin session.
func sessionID(c *echo.Context) string {
	v, _ := c.Get("session_id").(string)
	return v
}

// shownOnce holds values a page shows once, to the session they were made
// for, for a few minutes: a new webhook secret, between the POST that
// makes it and the page the browser is sent on to.
type shownOnce struct {
	mu     sync.Mutex
	values map[string]shownValue
}

type shownValue struct {
	value   string
	expires time.Time
}

// shownOnceFor is how long a value waits to be shown.
const shownOnceFor = 5 * time.Minute

func (o *shownOnce) put(session string, shopID uint64, value string, now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.values == nil {
		o.values = map[string]shownValue{}
	}
	o.forget(now)
	o.values[shownKey(session, shopID)] = shownValue{value: value, expires: now.Add(shownOnceFor)}
}

func shownKey(session string, shopID uint64) string {
	return session + "\x00" + strconv.FormatUint(shopID, 10)
}

// forget drops the values no longer to be shown: a secret whose page was
// never opened does not stay in memory.
func (o *shownOnce) forget(now time.Time) {
	for k, v := range o.values {
		if !now.Before(v.expires) {
			delete(o.values, k)
		}
	}
}

// take returns the value kept for the session and shop, once; "" when
// there is none (already shown, or expired).
func (o *shownOnce) take(session string, shopID uint64, now time.Time) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.forget(now) // what is left has not expired
	key := shownKey(session, shopID)
	v := o.values[key]
	delete(o.values, key)
	return v.value
}

// scope returns the shop the request's session is confined to, or "".
func scope(c *echo.Context) string {
	v, _ := c.Get("session_shop").(string)
	return v
}

// visibleShops filters shops to what the request's session may see.
func visibleShops(c *echo.Context, shops []*recovery.Shop) []*recovery.Shop {
	only := scope(c)
	if only == "" {
		return shops
	}
	var out []*recovery.Shop
	for _, sh := range shops {
		if sh.Domain == only {
			out = append(out, sh)
		}
	}
	return out
}

// csrfToken is the CSRF token of a session's forms.
func (s *Server) csrfToken(sess session) string {
	m := hmac.New(sha256.New, s.sessionKey())
	m.Write([]byte("csrf\x00" + sess.id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// secure reports whether the admin is reached over HTTPS, so that its
// cookies must be Secure.
func (s *Server) secure(c *echo.Context) bool { return s.secureRequest(c.Request()) }

// secureRequest reports whether r came over HTTPS (or Secure says so, or
// the public URL is https: behind a proxy that ends TLS without saying
// so, the browser still sees HTTPS).
func (s *Server) secureRequest(r *http.Request) bool {
	return s.Secure || r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") ||
		strings.HasPrefix(strings.ToLower(s.PublicURL), "https://")
}

// setCookie sets an HttpOnly, SameSite=Strict cookie; maxAge < 0 deletes it.
func (s *Server) setCookie(c *echo.Context, name, value, path string, maxAge time.Duration) {
	ck := &http.Cookie{
		Name: name, Value: value, Path: path, HttpOnly: true, Secure: s.secure(c),
		SameSite: http.SameSiteStrictMode, MaxAge: int(maxAge / time.Second),
	}
	if maxAge < 0 {
		ck.MaxAge = -1
	}
	c.SetCookie(ck)
}

// requireSession admits requests with a valid session: others are sent to
// the sign-in page (a script's request gets 401). A POST must also carry
// the session's CSRF token, in the form or the X-CSRF-Token header.
func (s *Server) requireSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		sess, ok := s.readSession(c)
		r := c.Request()
		if !ok {
			if r.Header.Get(csrfHeader) != "" {
				return Error(http.StatusUnauthorized, "not signed in")
			}
			return c.Redirect(http.StatusSeeOther, "/admin/login?next="+url.QueryEscape(afterSignIn(r)))
		}
		if sess.shop != "" {
			// A merchant's sign-in lasts only while the shop is installed.
			shop, err := s.Service.ShopByDomain(r.Context(), sess.shop)
			if err != nil || (shop.Status != recovery.ShopActive && shop.Status != recovery.ShopPaused) {
				s.setCookie(c, sessionCookie, "", "/admin", -1)
				return Error(http.StatusUnauthorized, "This shop is no longer installed. Open the app from your Shopify admin again.")
			}
		}
		token := s.csrfToken(sess)
		if r.Method == http.MethodPost {
			got := r.Header.Get(csrfHeader)
			if got == "" {
				got = c.FormValue(csrfField)
			}
			if subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
				return s.renderPage(c, http.StatusForbidden, "error", pageData{
					Title: "Forbidden", Error: "The form's security token is missing or does not match. Reload the page and try again.",
				})
			}
		}
		c.Set("csrf", token)
		c.Set("session_id", sess.id)
		c.Set("session_shop", sess.shop)
		return next(c)
	}
}

// randomToken returns n random bytes, base64url-encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// pageData is what every page template gets; Body is the page's own data.
type pageData struct {
	Title string
	// Nav names the current page in the navigation.
	Nav   string
	Nonce string
	CSRF  string
	// Shop is the shop the page is about, nil on service-wide pages.
	Shop   *recovery.Shop
	Notice string
	Error  string
	Body   any
}

// page turns a page handler's error into an HTML error page.
func (s *Server) page(h echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		err := h(c)
		if err == nil {
			return nil
		}
		if r, _ := echo.UnwrapResponse(c.Response()); r != nil && r.Committed {
			return nil
		}
		status, message, internal := errorResponse(err)
		if internal {
			message = "Something went wrong; the log has the details."
		}
		if status >= 500 {
			s.Logger.Error("admin page failed", "path", c.Request().URL.Path, "error", err)
		}
		return s.renderPage(c, status, "error", pageData{Title: http.StatusText(status), Error: message})
	}
}

// renderPage writes a page with the request's nonce and CSRF token.
func (s *Server) renderPage(c *echo.Context, status int, name string, d pageData) error {
	t, ok := pageTemplates[name]
	if !ok {
		return fmt.Errorf("admin page %q does not exist", name)
	}
	d.Nonce, _ = c.Get("nonce").(string)
	if d.CSRF == "" {
		d.CSRF, _ = c.Get("csrf").(string)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", d); err != nil {
		return err
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// shopPage finds the page's shop from the :domain parameter.
func (s *Server) shopPage(c *echo.Context) (*recovery.Shop, error) {
	shop, err := s.Service.ShopByDomain(c.Request().Context(), c.Param("domain"))
	if err == nil && scope(c) != "" && shop.Domain != scope(c) {
		// Another shop's page looks exactly like a page that does not exist.
		return nil, recovery.Errorf(recovery.ENOTFOUND, "shop %q not found", recovery.NormalizeDomain(c.Param("domain")))
	}
	return shop, err
}

// seeOther redirects after a successful POST.
func seeOther(c *echo.Context, path string) error {
	return c.Redirect(http.StatusSeeOther, path)
}

// safeNext returns the local admin path to go to after signing in.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/admin/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/admin/"
	}
	return next
}

func (s *Server) pageLogin(c *echo.Context) error {
	if _, ok := s.readSession(c); ok {
		return seeOther(c, safeNext(c.QueryParam("next")))
	}
	return s.renderLogin(c, http.StatusOK, "")
}

// renderLogin shows the sign-in form with a fresh double-submit token.
func (s *Server) renderLogin(c *echo.Context, status int, problem string) error {
	token := randomToken(16)
	s.setCookie(c, loginCookie, token, "/admin/login", loginFormTTL)
	return s.renderPage(c, status, "login", pageData{
		Title: "Sign in", Nav: "login", CSRF: token, Error: problem,
		Body: struct{ Next string }{safeNext(c.QueryParam("next"))},
	})
}

func (s *Server) pageLoginPost(c *echo.Context) error {
	form, err := c.Cookie(loginCookie)
	sent := c.FormValue(csrfField)
	if err != nil || sent == "" || subtle.ConstantTimeCompare([]byte(form.Value), []byte(sent)) != 1 {
		return s.renderLogin(c, http.StatusForbidden, "The sign-in form expired. Please try again.")
	}
	if s.signInBlocked(c) {
		return s.renderLogin(c, http.StatusTooManyRequests, "Too many wrong tokens from this address. Try again in a few minutes.")
	}
	token := c.FormValue("token")
	if s.AdminToken == "" || subtle.ConstantTimeCompare([]byte(token), []byte(s.AdminToken)) != 1 {
		s.signIns.failed(c.Request().RemoteAddr)
		s.Logger.Warn("admin sign-in refused", "remote", c.RealIP())
		return s.renderLogin(c, http.StatusUnauthorized, "That is not the admin token.")
	}
	s.setCookie(c, loginCookie, "", "/admin/login", -1)
	s.setCookie(c, sessionCookie, s.newSession(""), "/admin", sessionLifetime)
	s.Logger.Info("admin signed in", "remote", c.RealIP())
	return seeOther(c, safeNext(c.FormValue("next")))
}

func (s *Server) pageLogout(c *echo.Context) error {
	s.setCookie(c, sessionCookie, "", "/admin", -1)
	return seeOther(c, "/admin/login")
}

// pageHome opens the first shop's dashboard, or the shop list when no shop
// is connected yet.
func (s *Server) pageHome(c *echo.Context) error {
	shops, err := s.Service.Shops(c.Request().Context())
	if err != nil {
		return err
	}
	for _, sh := range visibleShops(c, shops) {
		if sh.Status != recovery.ShopRedacted {
			return seeOther(c, "/admin/shops/"+url.PathEscape(sh.Domain)+"/dashboard")
		}
	}
	return seeOther(c, "/admin/shops")
}

// maskContact hides most of an email address or phone number:
// kari@example.com → k***@example.com, +4791234567 → +47*****567.
func maskContact(s string) string {
	if s == "" {
		return ""
	}
	if local, domain, ok := strings.Cut(s, "@"); ok {
		r := []rune(local)
		if len(r) == 0 {
			return "***@" + domain
		}
		return string(r[0]) + "***@" + domain
	}
	r := []rune(s)
	if len(r) <= 6 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:3]) + strings.Repeat("*", len(r)-6) + string(r[len(r)-3:])
}
