package http

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v5"

	"github.com/cartback/cartback/recovery"
)

// pageTemplate is the one small page shoppers may see from cartback itself:
// an expired or unknown link, and the unsubscribe confirmation, in the
// shopper's language (links_i18n.go).
var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222;line-height:1.5}
a.button,button{display:inline-block;background:#222;color:#fff;border:0;border-radius:6px;padding:.7rem 1.2rem;font-size:1rem;text-decoration:none;cursor:pointer}</style>
</head><body>
<h1>{{.Title}}</h1>
<p>{{.Text}}</p>
{{if .Form}}<form method="post"><button type="submit">{{.Button}}</button></form>{{end}}
{{if .Link}}<p><a class="button" href="{{.Link}}">{{.Button}}</a></p>{{end}}
</body></html>`))

type page struct {
	// Lang is the page's language, one of templates.Languages.
	Lang                      string
	Title, Text, Link, Button string
	Form                      bool
}

func renderPage(c *echo.Context, status int, p page) error {
	h := c.Response().Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", p.Lang)
	// The page's language follows Accept-Language.
	h.Add("Vary", "Accept-Language")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	c.Response().WriteHeader(status)
	return pageTemplate.Execute(c.Response(), p)
}

// notFoundPage answers a link that is forged, malformed or names nothing
// cartback holds.
func notFoundPage(c *echo.Context) page {
	lang, t := pageLanguage(c.Request())
	return page{Lang: lang, Title: t.notFoundTitle, Text: t.notFoundText}
}

// shopName is how the pages name a shop: its name, else its domain (the
// host of its home page), as the reminders do.
func shopName(name, shopURL string) string {
	if name = strings.TrimSpace(name); name != "" {
		return name
	}
	if u, err := url.Parse(shopURL); err == nil {
		return u.Hostname()
	}
	return ""
}

// handleRestore sends the shopper from a signed link back into their cart.
func (s *Server) handleRestore(c *echo.Context) error {
	v, err := s.Service.Visit(c.Request().Context(), s.Signer, c.Param("token"), c.Request().UserAgent())
	if err != nil {
		return err
	}
	s.metrics.visits.WithLabelValues(string(v.Outcome)).Inc()
	switch v.Outcome {
	case recovery.VisitRestored, recovery.VisitConverted:
		c.Response().Header().Set("Cache-Control", "no-store")
		c.Response().Header().Set("Referrer-Policy", "no-referrer")
		return c.Redirect(http.StatusSeeOther, v.Redirect)
	case recovery.VisitExpired:
		lang, t := pageLanguage(c.Request())
		button := t.continueToShop
		if name := shopName(v.ShopName, v.ShopURL); name != "" {
			button = fmt.Sprintf(t.continueTo, name)
		}
		return renderPage(c, http.StatusGone, page{
			Lang: lang, Title: t.expiredTitle, Text: t.expiredText,
			Link: v.ShopURL, Button: button,
		})
	}
	return renderPage(c, http.StatusNotFound, notFoundPage(c))
}

// handleUnsubscribe shows the confirmation (GET) or, for POST (the
// one-click unsubscribe of RFC 8058 and the confirmation form alike), opts
// the contact out of the shop's email.
func (s *Server) handleUnsubscribe(c *echo.Context) error {
	apply := c.Request().Method == http.MethodPost
	shop, err := s.Service.Unsubscribe(c.Request().Context(), s.Signer, c.Param("token"), apply)
	if recovery.ErrorCode(err) == recovery.ENOTFOUND {
		return renderPage(c, http.StatusNotFound, notFoundPage(c))
	} else if err != nil {
		return err
	}
	name := strings.TrimSpace(shop.Name)
	if name == "" {
		name = shop.Domain
	}
	lang, t := pageLanguage(c.Request())
	if apply {
		return renderPage(c, http.StatusOK, page{Lang: lang, Title: t.unsubscribedTitle, Text: fmt.Sprintf(t.unsubscribedText, name)})
	}
	return renderPage(c, http.StatusOK, page{Lang: lang, Title: t.unsubscribeTitle, Text: fmt.Sprintf(t.unsubscribeText, name), Form: true, Button: t.unsubscribeButton})
}
