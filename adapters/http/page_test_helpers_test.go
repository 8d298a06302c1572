package http_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// browser is a cookie-keeping client of the admin pages that shows
// redirects instead of following them.
type browser struct {
	t      *testing.T
	e      *env
	client *http.Client
	// csrf is the CSRF token of the last page that had a form.
	csrf string
}

// page is one answer of the admin pages.
type page struct {
	status int
	header http.Header
	body   string
}

func (e *env) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &browser{t: e.t, e: e, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

var csrfInput = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// do sends a request and remembers the page's CSRF token.
func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	p := page{status: resp.StatusCode, header: resp.Header, body: string(raw)}
	if m := csrfInput.FindStringSubmatch(p.body); m != nil {
		b.csrf = m[1]
	}
	return p
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.e.srv.URL+path, nil)
	return b.do(req)
}

// post sends a form as it is; add the token with withCSRF.
func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// withCSRF returns the form with the browser's current CSRF token.
func (b *browser) withCSRF(form url.Values) url.Values {
	out := url.Values{"_csrf": {b.csrf}}
	for k, v := range form {
		out[k] = v
	}
	return out
}

// signIn signs in with the admin token and returns the sign-in answer.
func (b *browser) signIn() page {
	b.t.Helper()
	if p := b.get("/admin/login"); p.status != http.StatusOK || b.csrf == "" {
		b.t.Fatalf("sign-in page: %d %s", p.status, p.body)
	}
	p := b.post("/admin/login", b.withCSRF(url.Values{"token": {adminToken}, "next": {"/admin/shops"}}))
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/admin/shops" {
		b.t.Fatalf("sign in: %d %s %s", p.status, p.header.Get("Location"), p.body)
	}
	// Load a page so that the session's CSRF token is at hand.
	if p := b.get("/admin/shops"); p.status != http.StatusOK {
		b.t.Fatalf("shops page: %d %s", p.status, p.body)
	}
	return p
}

// cookie returns the named cookie of a response.
func cookie(h http.Header, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// signInHandler signs in by calling the handler directly and returns the
// session cookie.
func signInHandler(tb testing.TB, h http.Handler) *http.Cookie {
	tb.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/admin/login", nil))
	login := cookie(rec.Header(), "cartback_login")
	m := csrfInput.FindStringSubmatch(rec.Body.String())
	if login == nil || m == nil {
		tb.Fatalf("sign-in page: %d", rec.Code)
	}
	req := httptest.NewRequest(http.MethodPost, "/admin/login", strings.NewReader(url.Values{"_csrf": {m[1]}, "token": {adminToken}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(login)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	session := cookie(rec.Header(), "cartback_session")
	if session == nil {
		tb.Fatalf("sign in: %d %s", rec.Code, rec.Body)
	}
	return session
}

// shopSignIn signs the browser in for one shop as the Shopify app's
// install does: the link comes with a cookie for this browser only.
func (b *browser) shopSignIn(shop string) page {
	b.t.Helper()
	path, cookies := b.e.shopSignInLink(shop)
	b.keep(cookies)
	return b.get(path)
}

// shopSignInLink makes a shop sign-in link as the app's install does, and
// the cookies the installing browser gets with it.
func (e *env) shopSignInLink(shop string) (string, []*http.Cookie) {
	rec := httptest.NewRecorder()
	path := e.server.ShopSignIn(rec, httptest.NewRequest(http.MethodGet, "/shopify/callback", nil), shop)
	return path, (&http.Response{Header: rec.Header()}).Cookies()
}

// keep stores cookies in the browser, as if the server had set them.
func (b *browser) keep(cookies []*http.Cookie) {
	u, _ := url.Parse(b.e.srv.URL)
	b.client.Jar.SetCookies(u, cookies)
}
