package http

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v5"

	"github.com/cartback/cartback/internal/phone"
	"github.com/cartback/cartback/recovery"
	"github.com/cartback/cartback/templates"
)

// templateChannels are the channels a template is written for.
var templateChannels = []string{string(recovery.ChannelEmail), string(recovery.ChannelSMS)}

// templateVariants are the wordings a step can test against each other;
// A is the shop's plain template.
var templateVariants = []string{"A", "B", "C", "D"}

// templateChoice names the template being edited.
type templateChoice struct {
	Kind, Channel, Locale, Variant string
}

// query is the choice as the editor's query string.
func (ch templateChoice) query() string {
	return url.Values{"kind": {ch.Kind}, "channel": {ch.Channel}, "locale": {ch.Locale}, "variant": {ch.Variant}}.Encode()
}

// readTemplateChoice reads kind, channel, locale and variant from the query
// or form, defaulting to variant A of the English reminder email.
func readTemplateChoice(c *echo.Context) (templateChoice, error) {
	ch := templateChoice{Kind: c.FormValue("kind"), Channel: c.FormValue("channel"), Locale: c.FormValue("locale"), Variant: c.FormValue("variant")}
	if ch.Kind == "" {
		ch.Kind = recovery.TemplateReminder
	}
	if ch.Channel == "" {
		ch.Channel = string(recovery.ChannelEmail)
	}
	if ch.Locale == "" {
		ch.Locale = "en"
	}
	if ch.Variant == "" {
		ch.Variant = "A"
	}
	switch {
	case !slices.Contains(templates.Kinds, ch.Kind):
		return ch, recovery.Errorf(recovery.EINVALID, "kind: must be one of %v", templates.Kinds)
	case !slices.Contains(templateChannels, ch.Channel):
		return ch, recovery.Errorf(recovery.EINVALID, "channel: must be email or sms")
	case !slices.Contains(templates.Languages, ch.Locale):
		return ch, recovery.Errorf(recovery.EINVALID, "locale: must be one of %v", templates.Languages)
	case !slices.Contains(templateVariants, ch.Variant):
		return ch, recovery.Errorf(recovery.EINVALID, "variant: must be A, B, C or D")
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
	Kinds, Channels, Locales, Variants []string
	Custom                             templates.Custom
	// Stored says the shop has its own template for the choice.
	Stored bool
	// FromA says the choice is a variant without a template of its own
	// that sends the shop's variant A, which Preview then shows.
	FromA   bool
	Preview templatePreview
	// CanSendTest says a test message can be sent (Server.SendTest is
	// set); TestTo is the address last typed into the test form.
	CanSendTest bool
	TestTo      string
	// ConfirmReset asks for the second click that deletes the template.
	ConfirmReset bool
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
	stored, err := s.templateStore().Template(c.Request().Context(), shop.ID, ch.Kind, ch.Channel, ch.Locale, ch.Variant)
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
	return s.renderTemplates(c, http.StatusOK, shop, ch, custom, stored != nil, notice, "", "")
}

func (s *Server) renderTemplates(c *echo.Context, status int, shop *recovery.Shop, ch templateChoice, custom templates.Custom, stored bool, notice, problem, testTo string) error {
	return s.renderTemplatesWith(c, status, shop, ch, custom, stored, notice, problem, testTo, false)
}

// renderTemplatesWith is renderTemplates, asking to confirm going back to
// the default when confirmReset is set.
func (s *Server) renderTemplatesWith(c *echo.Context, status int, shop *recovery.Shop, ch templateChoice, custom templates.Custom, stored bool, notice, problem, testTo string, confirmReset bool) error {
	shown, fromA, err := s.sentTemplate(c.Request().Context(), shop.ID, ch, custom)
	if err != nil {
		return err
	}
	return s.renderPage(c, status, "templates", pageData{
		Title: "Templates", Nav: "templates", Shop: shop, Notice: notice, Error: problem,
		Body: templateEditor{
			templateChoice: ch, Kinds: templates.Kinds, Channels: templateChannels, Locales: templates.Languages,
			Variants: templateVariants, Custom: custom, Stored: stored, FromA: fromA, Preview: s.preview(ch, shown),
			CanSendTest: s.SendTest != nil, TestTo: testTo, ConfirmReset: confirmReset,
		},
	})
}

// sentTemplate returns what a message of the choice would be rendered
// from if custom were its template: custom itself, or, for variant B, C or
// D left empty, the shop's variant A (fromA), as the renderer falls back
// at send time.
func (s *Server) sentTemplate(ctx context.Context, shopID uint64, ch templateChoice, custom templates.Custom) (shown templates.Custom, fromA bool, err error) {
	if ch.Variant == "A" || custom != (templates.Custom{}) {
		return custom, false, nil
	}
	a, err := s.templateStore().Template(ctx, shopID, ch.Kind, ch.Channel, ch.Locale, "")
	if err != nil || a == nil {
		return custom, false, err
	}
	return *a, true, nil
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
	back := "/admin/shops/" + url.PathEscape(shop.Domain) + "/templates?" + ch.query()
	stored, err := s.templateStore().Template(ctx, shop.ID, ch.Kind, ch.Channel, ch.Locale, ch.Variant)
	if err != nil {
		return err
	}
	switch c.FormValue("action") {
	case "preview":
		return s.renderTemplates(c, http.StatusOK, shop, ch, custom, stored != nil, "Preview only: not saved yet.", "", "")
	case "reset":
		// Deleting the merchant's work takes a second click; the editor
		// comes back as it was, unsaved edits included.
		return s.renderTemplatesWith(c, http.StatusOK, shop, ch, custom, stored != nil,
			"Going back to the default deletes this template for good. Click “Yes, back to default” to do it, or Save to keep your edits.", "", "", true)
	case "reset-confirmed":
		if err := s.templateStore().PutTemplate(ctx, shop.ID, ch.Kind, ch.Channel, ch.Locale, ch.Variant, templates.Custom{}); err != nil {
			return err
		}
		s.Logger.Info("template reset to default", "shop", shop.Domain, "kind", ch.Kind, "channel", ch.Channel, "locale", ch.Locale, "variant", ch.Variant)
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
				"Not saved: "+err.Error(), "")
		}
		if err := s.templateStore().PutTemplate(ctx, shop.ID, ch.Kind, ch.Channel, ch.Locale, ch.Variant, custom); err != nil {
			return err
		}
		s.Logger.Info("template saved", "shop", shop.Domain, "kind", ch.Kind, "channel", ch.Channel, "locale", ch.Locale, "variant", ch.Variant)
		return seeOther(c, back+"&done=saved")
	}
	return recovery.Errorf(recovery.EINVALID, "action: must be preview, save, reset or reset-confirmed")
}

// pageTemplatePreview answers the editor's live preview as JSON: the
// rendered sample message, or why the template does not render.
func (s *Server) pageTemplatePreview(c *echo.Context) error {
	shop, err := s.shopPage(c)
	if err != nil {
		return err
	}
	ch, err := readTemplateChoice(c)
	if err != nil {
		return err
	}
	shown, _, err := s.sentTemplate(c.Request().Context(), shop.ID, ch, customFromForm(c, ch.Channel))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.preview(ch, shown))
}

// pageTemplateTest sends the saved template (the default when the shop has
// none) of the chosen kind, channel, language and variant to one address,
// rendered against the sample cart, and shows how it went.
func (s *Server) pageTemplateTest(c *echo.Context) error {
	shop, err := s.shopPage(c)
	if err != nil {
		return err
	}
	ch, err := readTemplateChoice(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	stored, err := s.templateStore().Template(ctx, shop.ID, ch.Kind, ch.Channel, ch.Locale, ch.Variant)
	if err != nil {
		return err
	}
	var custom templates.Custom
	if stored != nil {
		custom = *stored
	}
	to := strings.TrimSpace(c.FormValue("to"))
	show := func(status int, notice, problem string) error {
		return s.renderTemplates(c, status, shop, ch, custom, stored != nil, notice, problem, to)
	}
	if s.SendTest == nil {
		return show(http.StatusServiceUnavailable, "", "Not sent: sending tests needs a configured provider.")
	}
	to, err = testRecipient(ch.Channel, to, shop.Settings.Country)
	if err != nil {
		return show(http.StatusUnprocessableEntity, "", "Not sent: "+recovery.ErrorMessage(err))
	}
	if scope(c) != "" && !s.takeMerchantTest(shop.ID) {
		return show(http.StatusTooManyRequests, "", fmt.Sprintf("Not sent: a shop can send %d tests a day; more tomorrow.", MerchantTestsPerDay))
	}
	if err := s.SendTest(ctx, shop, ch.Kind, ch.Channel, ch.Locale, ch.Variant, to); err != nil {
		s.Logger.Warn("test message not sent", "shop", shop.Domain, "kind", ch.Kind, "channel", ch.Channel, "variant", ch.Variant, "to", maskContact(to), "error", recovery.RedactContacts(err.Error()))
		return show(http.StatusBadGateway, "", "The test was not sent: "+err.Error())
	}
	s.Logger.Info("test message sent", "shop", shop.Domain, "kind", ch.Kind, "channel", ch.Channel, "locale", ch.Locale, "variant", ch.Variant, "to", maskContact(to))
	return show(http.StatusOK, "Test sent to "+to+".", "")
}

// testRecipient checks where a test goes: an email address for email, a
// phone number for SMS, returned in E.164 form (a number without a
// country code is read as one of the shop's country).
func testRecipient(channel, to, country string) (string, error) {
	if to == "" {
		return "", recovery.Errorf(recovery.EINVALID, "to: enter where the test should go")
	}
	if channel == string(recovery.ChannelSMS) {
		e164, ok := phone.Normalize(to, country)
		if !ok {
			return "", recovery.Errorf(recovery.EINVALID, "to: %q is not a phone number; write it with its country code, such as +4791234567", to)
		}
		return e164, nil
	}
	addr, err := mail.ParseAddress(to)
	if err != nil || addr.Address != to {
		return "", recovery.Errorf(recovery.EINVALID, "to: %q is not an email address", to)
	}
	return to, nil
}

// MerchantTestsPerDay bounds the test messages a merchant's own sign-in
// may send per shop and UTC day: the tests go through the operator's
// provider to any address typed, so without a bound a shop could use it
// to send mail or texts of its own. The operator's sign-in is not bound.
const MerchantTestsPerDay = 10

// dayCount is a count within one UTC day.
type dayCount struct {
	day string
	n   int
}

// takeMerchantTest counts one test of the shop today and reports whether
// it is within MerchantTestsPerDay.
func (s *Server) takeMerchantTest(shopID uint64) bool {
	today := s.now().UTC().Format(time.DateOnly)
	s.merchantTestsMu.Lock()
	defer s.merchantTestsMu.Unlock()
	if s.merchantTests == nil {
		s.merchantTests = map[uint64]dayCount{}
	}
	dc := s.merchantTests[shopID]
	if dc.day != today {
		dc = dayCount{day: today}
	}
	if dc.n >= MerchantTestsPerDay {
		return false
	}
	dc.n++
	s.merchantTests[shopID] = dc
	return true
}
