package http

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/cartback/cartback/recovery"
	"github.com/cartback/cartback/templates"
)

// shopsPage is the shop list's data; Created is set once, right after a
// shop was added, and is the only time its webhook secret is shown.
type shopsPage struct {
	Shops   []*recovery.Shop
	Created *recovery.Shop
	Webhook string
	Form    createShopForm
	// CanAdd: the operator is signed in (a shop's own sign-in cannot add
	// stores).
	CanAdd bool
}

// createShopForm is the "add a WooCommerce store" form.
type createShopForm struct {
	Domain, Name, Country, Locale, TimeZone string
}

func (s *Server) pageShops(c *echo.Context) error {
	return s.renderShops(c, http.StatusOK, nil, createShopForm{Locale: "en"}, "")
}

func (s *Server) renderShops(c *echo.Context, status int, created *recovery.Shop, form createShopForm, problem string) error {
	shops, err := s.Service.Shops(c.Request().Context())
	if err != nil {
		return err
	}
	shops = visibleShops(c, shops)
	notice := ""
	if c.QueryParam("done") == "erased" {
		notice = "The data of " + recovery.NormalizeDomain(c.QueryParam("shop")) + " was erased."
		switch c.QueryParam("app") {
		case "removed":
			notice += " cartback's app was removed from the store."
		case "failed":
			notice += " cartback's app could not be removed from the store (the log says why): remove it in the store's admin, under Apps."
		}
	}
	return s.renderPage(c, status, "shops", pageData{
		Title: "Shops", Nav: "shops", Error: problem, Notice: notice,
		Body: shopsPage{Shops: shops, Created: created, Webhook: s.publicURL(c) + "/webhooks/woocommerce", Form: form, CanAdd: scope(c) == ""},
	})
}

// publicURL is how shops reach this service: PublicURL, else the address
// the admin page was requested at.
func (s *Server) publicURL(c *echo.Context) string {
	if s.PublicURL != "" {
		return strings.TrimSuffix(s.PublicURL, "/")
	}
	return c.Scheme() + "://" + c.Request().Host
}

// operatorOnly refuses a shop's own sign-in (a merchant's) what only the
// operator may do.
func operatorOnly(c *echo.Context, what string) error {
	if scope(c) != "" {
		return Error(http.StatusForbidden, "Only the operator's sign-in can "+what+".")
	}
	return nil
}

// operatorShopPage is shopPage for what only the operator may do: another
// shop's domain is still a 404 before a merchant's sign-in gets a 403.
func (s *Server) operatorShopPage(c *echo.Context, what string) (*recovery.Shop, error) {
	shop, err := s.shopPage(c)
	if err != nil {
		return nil, err
	}
	return shop, operatorOnly(c, what)
}

// pageCreateShop adds a WooCommerce store with a generated webhook secret
// and shows the secret, once, with the webhook address to paste.
func (s *Server) pageCreateShop(c *echo.Context) error {
	if err := operatorOnly(c, "add stores"); err != nil {
		return err
	}
	form := createShopForm{
		Domain: strings.TrimSpace(c.FormValue("domain")), Name: strings.TrimSpace(c.FormValue("name")),
		Country: strings.ToUpper(strings.TrimSpace(c.FormValue("country"))), Locale: c.FormValue("default_locale"),
		TimeZone: strings.TrimSpace(c.FormValue("time_zone")),
	}
	shop, err := s.Service.CreateShop(c.Request().Context(), &recovery.Shop{
		Platform: recovery.PlatformWooCommerce, Domain: form.Domain, Name: form.Name,
		Settings: recovery.ShopSettings{Country: form.Country, DefaultLocale: form.Locale, TimeZone: form.TimeZone},
	})
	if code := recovery.ErrorCode(err); code == recovery.EINVALID || code == recovery.ECONFLICT {
		return s.renderShops(c, http.StatusUnprocessableEntity, nil, form, recovery.ErrorMessage(err))
	} else if err != nil {
		return err
	}
	s.Logger.Info("shop created", "shop", shop.Domain, "platform", shop.Platform)
	return s.renderShops(c, http.StatusCreated, shop, createShopForm{Locale: "en"}, "")
}

// settingsForm is a shop's settings as the form shows and sends them:
// strings, so that a rejected form comes back as it was typed.
type settingsForm struct {
	AbandonAfter, MaxMessages, MaxAge, FrequencyCap, FrequencyWindow string
	SMSFrequencyCap, SMSFrequencyWindow                              string
	Steps                                                            []stepForm

	Name                                                  string
	Country, DefaultLocale, TimeZone, DiscountCode        string
	UniqueDiscountPercent, HoldoutPercent, RetentionDays  string
	EmailConsent, QuietStart, QuietEnd, FromName, ReplyTo string
}

// stepForm is one sequence step's row; an empty After drops the row.
// Variants is the step's test as typed, such as "A:50, B:50".
type stepForm struct {
	Channel, After, Template, DiscountCode, Variants string
}

// settingsPage is the settings page's data.
type settingsPage struct {
	Form      settingsForm
	Kinds     []string
	Locales   []string
	Channels  []string
	Consents  []string
	Webhook   string
	Paused    bool
	Installed bool
	// Secret is the webhook secret card; nil for an erased shop.
	Secret *secretView
	// CanErase: the operator is signed in and the shop is not erased yet.
	CanErase bool
}

// secretView is the settings page's webhook secret card.
type secretView struct {
	// AppSecret: the shop is verified with the Shopify app's secret.
	AppSecret bool
	// Rotating: the previous secret is still accepted.
	Rotating bool
	// CanRotate: the operator is signed in (a shop's own sign-in cannot).
	CanRotate bool
	// New is the secret just made, shown this once.
	New string
}

// newSettingsForm fills the form from the stored shop, with empty rows up
// to the step limit.
func newSettingsForm(shop *recovery.Shop) settingsForm {
	st := shop.Settings
	seq := st.SequenceOrDefault()
	qh := st.QuietHoursOrDefault()
	f := settingsForm{
		AbandonAfter: durationText(seq.AbandonAfter), MaxMessages: strconv.Itoa(seq.MaxMessages), MaxAge: durationText(seq.MaxAge),
		FrequencyCap: strconv.Itoa(seq.FrequencyCap), FrequencyWindow: durationText(seq.FrequencyWindow),
		SMSFrequencyCap: strconv.Itoa(seq.SMSFrequencyCap), SMSFrequencyWindow: durationText(seq.SMSFrequencyWindow),
		Country: st.Country, DefaultLocale: st.DefaultLocale, TimeZone: st.TimeZone, DiscountCode: st.DiscountCode,
		UniqueDiscountPercent: intText(st.UniqueDiscountPercent), HoldoutPercent: intText(st.HoldoutPercent),
		RetentionDays: intText(st.RetentionDays), EmailConsent: st.EmailConsent, QuietStart: qh.Start, QuietEnd: qh.End,
		FromName: st.EmailFromName, ReplyTo: st.EmailReplyTo, Name: shop.Name,
	}
	if f.EmailConsent == "" {
		f.EmailConsent = recovery.EmailConsentAll
	}
	for _, step := range seq.Steps {
		f.Steps = append(f.Steps, stepForm{
			Channel: string(step.Channel), After: durationText(step.After), Template: step.Template,
			DiscountCode: step.DiscountCode, Variants: variantsText(step.Variants),
		})
	}
	return f.padded()
}

// padded adds empty step rows up to recovery.MaxSteps.
func (f settingsForm) padded() settingsForm {
	for len(f.Steps) < recovery.MaxSteps {
		f.Steps = append(f.Steps, stepForm{Channel: string(recovery.ChannelEmail), Template: recovery.TemplateReminder})
	}
	return f
}

func durationText(d recovery.Duration) string {
	s := time.Duration(d).String() // "1h30m0s"
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func intText(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// readSettingsForm reads the posted settings form.
func readSettingsForm(c *echo.Context) settingsForm {
	v := func(name string) string { return strings.TrimSpace(c.FormValue(name)) }
	f := settingsForm{
		AbandonAfter: v("abandon_after"), MaxMessages: v("max_messages"), MaxAge: v("max_age"),
		FrequencyCap: v("frequency_cap"), FrequencyWindow: v("frequency_window"),
		SMSFrequencyCap: v("sms_frequency_cap"), SMSFrequencyWindow: v("sms_frequency_window"),
		Country: strings.ToUpper(v("country")), DefaultLocale: v("default_locale"), TimeZone: v("time_zone"),
		DiscountCode: v("discount_code"), UniqueDiscountPercent: v("unique_discount_percent"),
		HoldoutPercent: v("holdout_percent"), RetentionDays: v("retention_days"), EmailConsent: v("email_consent"),
		QuietStart: v("quiet_start"), QuietEnd: v("quiet_end"), FromName: v("email_from_name"), ReplyTo: v("email_reply_to"),
		Name: v("shop_name"),
	}
	for i := range recovery.MaxSteps {
		p := fmt.Sprintf("step%d_", i)
		f.Steps = append(f.Steps, stepForm{
			Channel: v(p + "channel"), After: v(p + "after"), Template: v(p + "template"),
			DiscountCode: v(p + "discount_code"), Variants: v(p + "variants"),
		})
	}
	return f
}

// settings turns the form into shop settings on top of base, the stored
// ones, so that settings the form does not show (such as
// hold_if_unverified, set through the API) survive a save; the error
// names the field.
func (f settingsForm) settings(base recovery.ShopSettings) (recovery.ShopSettings, error) {
	var err error
	duration := func(field, s string) recovery.Duration {
		if s == "" || err != nil {
			return 0
		}
		d, perr := time.ParseDuration(s)
		if perr != nil {
			err = recovery.Errorf(recovery.EINVALID, "%s: %q is not a duration such as 15m or 24h", field, s)
		}
		return recovery.Duration(d)
	}
	number := func(field, s string) int {
		if s == "" || err != nil {
			return 0
		}
		n, perr := strconv.Atoi(s)
		if perr != nil {
			err = recovery.Errorf(recovery.EINVALID, "%s: %q is not a whole number", field, s)
		}
		return n
	}
	seq := recovery.Sequence{
		AbandonAfter: duration("abandon after", f.AbandonAfter), MaxMessages: number("max messages", f.MaxMessages),
		MaxAge: duration("max age", f.MaxAge), FrequencyCap: number("frequency cap", f.FrequencyCap),
		FrequencyWindow: duration("frequency window", f.FrequencyWindow), SMSFrequencyCap: number("SMS frequency cap", f.SMSFrequencyCap),
		SMSFrequencyWindow: duration("SMS frequency window", f.SMSFrequencyWindow),
		Steps:              []recovery.Step{},
	}
	for i, st := range f.Steps {
		if st.After == "" {
			continue
		}
		step := recovery.Step{
			Channel: recovery.Channel(st.Channel), After: duration(fmt.Sprintf("step %d delay", i+1), st.After),
			Template: st.Template, DiscountCode: st.DiscountCode,
		}
		if err == nil {
			step.Variants, err = parseVariants(fmt.Sprintf("step %d variants", i+1), st.Variants)
		}
		seq.Steps = append(seq.Steps, step)
	}
	st := base
	st.Country, st.DefaultLocale, st.TimeZone, st.Sequence = f.Country, f.DefaultLocale, f.TimeZone, &seq
	st.DiscountCode, st.UniqueDiscountPercent = f.DiscountCode, number("unique discount percent", f.UniqueDiscountPercent)
	st.HoldoutPercent, st.RetentionDays = number("holdout percent", f.HoldoutPercent), number("retention days", f.RetentionDays)
	st.EmailConsent, st.EmailFromName, st.EmailReplyTo = f.EmailConsent, f.FromName, f.ReplyTo
	st.QuietHours = nil
	if f.QuietStart != "" || f.QuietEnd != "" {
		st.QuietHours = &recovery.QuietHours{Start: f.QuietStart, End: f.QuietEnd}
	}
	return st, err
}

func (s *Server) pageShopSettings(c *echo.Context) error {
	shop, err := s.shopPage(c)
	if err != nil {
		return err
	}
	notice, newSecret := "", ""
	switch c.QueryParam("done") {
	case "saved":
		notice = "Settings saved. Carts already in an episode keep the steps they were planned with."
	case "paused":
		notice = "Paused: nothing is sent for this shop until you resume."
	case "active":
		notice = "Resumed."
	case "secret-retired":
		notice = "The previous webhook secret is no longer accepted."
	case "secret-new", "secret-new-kept":
		newSecret = s.newSecrets.take(sessionID(c), shop.ID, s.now())
		notice = "New webhook secret made. The previous one is no longer accepted."
		if c.QueryParam("done") == "secret-new-kept" {
			notice = "New webhook secret made. The previous one is still accepted until you stop it."
		}
		if newSecret == "" {
			notice += " It was shown once; make another if it was not copied."
		}
	}
	switch {
	case shop.Erasing:
		notice = "Erasing this shop did not finish (it is resumed at the next start): erase it again below to finish it now."
	case shop.Status == recovery.ShopRedacted:
		notice = "This shop was erased: its data is gone, and what its store still sends is not stored. Add it again on the Shops page to connect it afresh."
	}
	return s.renderSettingsWith(c, http.StatusOK, shop, newSettingsForm(shop), notice, "", newSecret)
}

func (s *Server) renderSettings(c *echo.Context, status int, shop *recovery.Shop, form settingsForm, notice, problem string) error {
	return s.renderSettingsWith(c, status, shop, form, notice, problem, "")
}

// renderSettingsWith is renderSettings that also shows newSecret, once.
func (s *Server) renderSettingsWith(c *echo.Context, status int, shop *recovery.Shop, form settingsForm, notice, problem, newSecret string) error {
	var secret *secretView
	if shop.Status != recovery.ShopRedacted {
		secret = &secretView{
			AppSecret: shop.UsesShopifyAppSecret(), Rotating: shop.PreviousWebhookSecret != "",
			CanRotate: scope(c) == "", New: newSecret,
		}
	}
	return s.renderPage(c, status, "settings", pageData{
		Title: "Settings", Nav: "settings", Shop: shop, Notice: notice, Error: problem,
		Body: settingsPage{
			Form: form, Kinds: templates.Kinds, Locales: templates.Languages, Channels: templateChannels,
			Consents: []string{recovery.EmailConsentAll, recovery.EmailConsentMarketing},
			Webhook:  s.publicURL(c) + "/webhooks/" + string(shop.Platform),
			Paused:   shop.Status == recovery.ShopPaused, Installed: shop.Status == recovery.ShopActive || shop.Status == recovery.ShopPaused,
			Secret:   secret,
			CanErase: scope(c) == "" && (shop.Status != recovery.ShopRedacted || shop.Erasing),
		},
	})
}

func (s *Server) pageShopSettingsPost(c *echo.Context) error {
	shop, err := s.shopPage(c)
	if err != nil {
		return err
	}
	form := readSettingsForm(c)
	settings, err := form.settings(shop.Settings)
	if err == nil {
		err = recovery.ValidateShopName(form.Name)
	}
	if err == nil {
		_, err = s.Service.UpdateSettings(c.Request().Context(), shop.ID, settings)
	}
	if err == nil && form.Name != shop.Name {
		_, err = s.Service.RenameShop(c.Request().Context(), shop.ID, form.Name)
	}
	if recovery.ErrorCode(err) == recovery.EINVALID {
		return s.renderSettings(c, http.StatusUnprocessableEntity, shop, form.padded(), "", "Not saved: "+recovery.ErrorMessage(err))
	} else if err != nil {
		return err
	}
	s.Logger.Info("shop settings changed", "shop", shop.Domain)
	return seeOther(c, "/admin/shops/"+url.PathEscape(shop.Domain)+"?done=saved")
}

// pageShopStatusPost pauses or resumes a shop.
func (s *Server) pageShopStatusPost(c *echo.Context) error {
	shop, err := s.shopPage(c)
	if err != nil {
		return err
	}
	status := recovery.ShopStatus(c.FormValue("status"))
	if _, err := s.Service.SetShopStatus(c.Request().Context(), shop.ID, status); err != nil {
		return err
	}
	s.Logger.Info("shop status changed", "shop", shop.Domain, "status", status)
	return seeOther(c, "/admin/shops/"+url.PathEscape(shop.Domain)+"?done="+url.QueryEscape(string(status)))
}

// pageRotateSecret gives the shop a new generated webhook secret and shows
// it on the settings page, the only time it is shown.
func (s *Server) pageRotateSecret(c *echo.Context) error {
	shop, err := s.operatorShopPage(c, "change a webhook secret")
	if err != nil {
		return err
	}
	keep := c.FormValue("keep_previous") == "on"
	rotated, err := s.Service.RotateWebhookSecret(c.Request().Context(), shop.ID, "", keep)
	if recovery.ErrorCode(err) == recovery.EINVALID {
		return s.renderSettings(c, http.StatusUnprocessableEntity, shop, newSettingsForm(shop), "", "Not changed: "+recovery.ErrorMessage(err))
	} else if err != nil {
		return err
	}
	s.Logger.Info("webhook secret rotated", "shop", shop.Domain, "previous_accepted", keep)
	// Shown on the page the browser is sent on to, not in this answer: a
	// reload of an answer to a POST sends it again, which would make yet
	// another secret and void the one just copied into the store.
	s.newSecrets.put(sessionID(c), rotated.ID, rotated.WebhookSecret, s.now())
	done := "secret-new"
	if keep {
		done = "secret-new-kept"
	}
	return seeOther(c, "/admin/shops/"+url.PathEscape(shop.Domain)+"?done="+done)
}

// pageEndRotation stops accepting the shop's previous webhook secret.
func (s *Server) pageEndRotation(c *echo.Context) error {
	shop, err := s.operatorShopPage(c, "change a webhook secret")
	if err != nil {
		return err
	}
	if _, err := s.Service.EndWebhookSecretRotation(c.Request().Context(), shop.ID); err != nil {
		return err
	}
	s.Logger.Info("previous webhook secret retired", "shop", shop.Domain)
	return seeOther(c, "/admin/shops/"+url.PathEscape(shop.Domain)+"?done=secret-retired")
}

// pageEraseShop erases the shop's data once its domain was typed to
// confirm, and goes back to the shop list.
func (s *Server) pageEraseShop(c *echo.Context) error {
	shop, err := s.operatorShopPage(c, "erase a shop")
	if err != nil {
		return err
	}
	if recovery.NormalizeDomain(c.FormValue("confirm_domain")) != shop.Domain {
		return s.renderSettings(c, http.StatusUnprocessableEntity, shop, newSettingsForm(shop), "",
			"Not erased: type the shop's domain, "+shop.Domain+", to confirm.")
	}
	erased, err := s.eraseShop(c, shop)
	if err != nil {
		return err
	}
	done := url.Values{"done": {"erased"}, "shop": {shop.Domain}}
	if erased.AppUninstalled {
		done.Set("app", "removed")
	} else if erased.AppError != "" {
		done.Set("app", "failed")
	}
	return seeOther(c, "/admin/shops?"+done.Encode())
}

// variantsText writes a step's variants as the settings form shows them:
// "A:50, B:50"; "" when the step tests nothing.
func variantsText(vs []recovery.Variant) string {
	parts := make([]string, 0, len(vs))
	for _, v := range vs {
		parts = append(parts, v.Name+":"+strconv.Itoa(v.Weight))
	}
	return strings.Join(parts, ", ")
}

// parseVariants reads a step's variants as typed in the settings form:
// comma-separated NAME:WEIGHT pairs, names A to D, each at most once (so
// at most recovery.MaxVariants), weights 1 to 100, such as "A:70, B:30".
// Empty means no test.
func parseVariants(field, s string) ([]recovery.Variant, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []recovery.Variant
	seen := map[string]bool{}
	for part := range strings.SplitSeq(s, ",") {
		name, weight, ok := strings.Cut(strings.TrimSpace(part), ":")
		name = strings.ToUpper(strings.TrimSpace(name))
		w, err := strconv.Atoi(strings.TrimSpace(weight))
		switch {
		case !ok || err != nil:
			return nil, recovery.Errorf(recovery.EINVALID, "%s: %q is not a variant and weight such as A:50", field, strings.TrimSpace(part))
		case !slices.Contains(templateVariants, name):
			return nil, recovery.Errorf(recovery.EINVALID, "%s: variant %q must be A, B, C or D", field, name)
		case seen[name]:
			return nil, recovery.Errorf(recovery.EINVALID, "%s: variant %s appears twice", field, name)
		case w < 1 || w > 100:
			return nil, recovery.Errorf(recovery.EINVALID, "%s: the weight of %s must be between 1 and 100", field, name)
		}
		seen[name] = true
		out = append(out, recovery.Variant{Name: name, Weight: w})
	}
	return out, nil
}
