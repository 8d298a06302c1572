package http

import (
	"html/template"
	"net/http"

	"github.com/labstack/echo/v5"

	"github.com/cartback/cartback/recovery"
)

// pageTemplate is the one small page shoppers may see from cartback itself:
// an expired or unknown link, and the unsubscribe confirmation.
var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
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
	Title, Text, Link, Button string
	Form                      bool
}

func renderPage(c *echo.Context, status int, p page) error {
	h := c.Response().Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	c.Response().WriteHeader(status)
	return pageTemplate.Execute(c.Response(), p)
}

var notFoundPage = page{Title: "Link not found", Text: "This link is not valid. Please check that it was copied completely."}

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
		name := v.ShopName
		if name == "" {
			name = "the shop"
		}
		return renderPage(c, http.StatusGone, page{
			Title: "This link has expired",
			Text:  "The link to your saved cart is no longer valid, but the shop is still open.",
			Link:  v.ShopURL, Button: "Continue to " + name,
		})
	}
	return renderPage(c, http.StatusNotFound, notFoundPage)
}

// handleUnsubscribe shows the confirmation (GET) or, for POST (the
// one-click unsubscribe of RFC 8058 and the confirmation form alike), opts
// the contact out of the shop's email.
func (s *Server) handleUnsubscribe(c *echo.Context) error {
	apply := c.Request().Method == http.MethodPost
	shop, err := s.Service.Unsubscribe(c.Request().Context(), s.Signer, c.Param("token"), apply)
	if recovery.ErrorCode(err) == recovery.ENOTFOUND {
		return renderPage(c, http.StatusNotFound, notFoundPage)
	} else if err != nil {
		return err
	}
	name := shop.Name
	if name == "" {
		name = shop.Domain
	}
	if apply {
		return renderPage(c, http.StatusOK, page{Title: "You are unsubscribed", Text: name + " will not send you cart reminders by email any more."})
	}
	return renderPage(c, http.StatusOK, page{Title: "Unsubscribe", Text: "Stop cart reminder emails from " + name + "?", Form: true, Button: "Unsubscribe"})
}
