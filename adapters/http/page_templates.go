package http

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"unicode/utf8"

	"github.com/labstack/echo/v5"

	"github.com/cartback/cartback/recovery"
	"github.com/cartback/cartback/templates"
)

// templateChannels are the channels a template is written for.
var templateChannels = []string{string(recovery.ChannelEmail), string(recovery.ChannelSMS)}

// templateChoice names the template being edited. Variant "" is the
// shop's plain template; A/B variants are not edited here.
type templateChoice struct {
	Kind, Channel, Locale string
}

// readTemplateChoice reads kind, channel and locale from the query or form,
// defaulting to the English reminder email.
func readTemplateChoice(c *echo.Context) (templateChoice, error) {
	ch := templateChoice{Kind: c.FormValue("kind"), Channel: c.FormValue("channel"), Locale: c.FormValue("locale")}
	if ch.Kind == "" {
		ch.Kind = recovery.TemplateReminder
	}
	if ch.Channel == "" {
		ch.Channel = string(recovery.ChannelEmail)
	}
	if ch.Locale == "" {
		ch.Locale = "en"
	}
	switch {
	case !slices.Contains(templates.Kinds, ch.Kind):
		return ch, recovery.Errorf(recovery.EINVALID, "kind: must be one of %v", templates.Kinds)
	case !slices.Contains(templateChannels, ch.Channel):
		return ch, recovery.Errorf(recovery.EINVALID, "channel: must be email or sms")
	case !slices.Contains(templates.Languages, ch.Locale):
		return ch, recovery.Errorf(recovery.EINVALID, "locale: must be one of %v", templates.Languages)
	}
	return ch, nil
}

// customFromForm reads the template parts the channel has.
func customFromForm(c *echo.Context, channel string) templates.Custom {
	if channel == string(recovery.ChannelSMS) {
		return templates.Custom{SMS: c.FormValue("sms")}
	}
	return templates.Custom{Subject: c.FormValue("subject"), Text: c.FormValue("text"), HTML: c.FormValue("html")}
}

// templatePreview is a rendered sample message, as the editor shows it.
type templatePreview struct {
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
	// Chars, Encoding and Segments describe an SMS as it will travel,
	// opt-out line included.
	Chars    int    `json:"chars"`
	Encoding string `json:"encoding"`
	Segments int    `json:"segments"`
	Error    string `json:"error"`
}

// preview renders the template (the default when c is empty) against the
// sample cart.
func (s *Server) preview(ch templateChoice, c templates.Custom) templatePreview {
	r, err := s.renderer()
	if err != nil {
		return templatePreview{Error: err.Error()}
	}
	var custom *templates.Custom
	if c != (templates.Custom{}) {
		custom = &c
	}
	out, err := r.Preview(ch.Kind, ch.Channel, ch.Locale, custom)
	if err != nil {
		return templatePreview{Error: err.Error()}
	}
	p := templatePreview{Subject: out.Subject, Text: out.Text, HTML: out.HTML}
	if ch.Channel == string(recovery.ChannelSMS) {
		p.Chars = utf8.RuneCountInString(out.Text)
		p.Encoding, p.Segments = recovery.SMSSegments(out.Text)
	}
	return p
}

// templateEditor is the template page's data.
type templateEditor struct {
	templateChoice
	Kinds, Channels, Locales []string
	Custom                   templates.Custom
	// Stored says the shop has its own template for the choice.
	Stored  bool
	Preview templatePreview
}

func (s *Server) templateStore() TemplateStore { return TemplateStore{Store: s.Service.Store} }

func (s *Server) pageTemplates(c *echo.Context) error {
	shop, err := s.shopPage(c)
	if err != nil {
		return err
	}
	ch, err := readTemplateChoice(c)
	if err != nil {
		return err
	}
	stored, err := s.templateStore().Template(c.Request().Context(), shop.ID, ch.Kind, ch.Channel, ch.Locale, "")
	if err != nil {
		return err
	}
	var custom templates.Custom
	if stored != nil {
		custom = *stored
	}
	notice := ""
	switch c.QueryParam("done") {
	case "saved":
		notice = "Saved. Messages rendered from now on use this template."
	case "reset":
		notice = "The default template is back in use."
	}
	return s.renderTemplates(c, http.StatusOK, shop, ch, custom, stored != nil, notice, "")
}

func (s *Server) renderTemplates(c *echo.Context, status int, shop *recovery.Shop, ch templateChoice, custom templates.Custom, stored bool, notice, problem string) error {
	return s.renderPage(c, status, "templates", pageData{
		Title: "Templates", Nav: "templates", Shop: shop, Notice: notice, Error: problem,
		Body: templateEditor{
			templateChoice: ch, Kinds: templates.Kinds, Channels: templateChannels, Locales: templates.Languages,
			Custom: custom, Stored: stored, Preview: s.preview(ch, custom),
		},
	})
}

// pageTemplatesPost previews, saves or resets a template: action=preview
// renders the form's template without storing it (the no-script preview),
// save validates and stores it, reset brings back the default.
func (s *Server) pageTemplatesPost(c *echo.Context) error {
	shop, err := s.shopPage(c)
	if err != nil {
		return err
	}
	ch, err := readTemplateChoice(c)
	if err != nil {
		return err
	}
	custom := customFromForm(c, ch.Channel)
	ctx := c.Request().Context()
	back := "/admin/shops/" + url.PathEscape(shop.Domain) + "/templates?" + url.Values{
		"kind": {ch.Kind}, "channel": {ch.Channel}, "locale": {ch.Locale},
	}.Encode()
	stored, err := s.templateStore().Template(ctx, shop.ID, ch.Kind, ch.Channel, ch.Locale, "")
	if err != nil {
		return err
	}
	switch c.FormValue("action") {
	case "preview":
		return s.renderTemplates(c, http.StatusOK, shop, ch, custom, stored != nil, "Preview only: not saved yet.", "")
	case "reset":
		if err := s.templateStore().PutTemplate(ctx, shop.ID, ch.Kind, ch.Channel, ch.Locale, "", templates.Custom{}); err != nil {
			return err
		}
		s.Logger.Info("template reset to default", "shop", shop.Domain, "kind", ch.Kind, "channel", ch.Channel, "locale", ch.Locale)
		return seeOther(c, back+"&done=reset")
	case "save":
		r, err := s.renderer()
		if err != nil {
			return err
		}
		if err := r.Validate(ch.Kind, ch.Channel, custom); err != nil {
			var verr *templates.ValidationError
			if !errors.As(err, &verr) {
				return err
			}
			return s.renderTemplates(c, http.StatusUnprocessableEntity, shop, ch, custom, stored != nil, "",
				"Not saved: "+err.Error())
		}
		if err := s.templateStore().PutTemplate(ctx, shop.ID, ch.Kind, ch.Channel, ch.Locale, "", custom); err != nil {
			return err
		}
		s.Logger.Info("template saved", "shop", shop.Domain, "kind", ch.Kind, "channel", ch.Channel, "locale", ch.Locale)
		return seeOther(c, back+"&done=saved")
	}
	return recovery.Errorf(recovery.EINVALID, "action: must be preview, save or reset")
}

// pageTemplatePreview answers the editor's live preview as JSON: the
// rendered sample message, or why the template does not render.
func (s *Server) pageTemplatePreview(c *echo.Context) error {
	if _, err := s.shopPage(c); err != nil {
		return err
	}
	ch, err := readTemplateChoice(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.preview(ch, customFromForm(c, ch.Channel)))
}
