package templates

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cartback/cartback/recovery"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const (
	// restoreURL is as long as a real restore link: public URL, "/r/" and
	// a signed token.
	restoreURL     = "https://cartback.example.com/r/AbCdEfGhIjKlMnOpQrStUvWxYz012345678"
	unsubscribeURL = "https://cartback.example.com/u/ZyXwVuTsRqPoNmLkJiHgFeDcBa987654321"
	discountCode   = "COMEBACK10"
	// issuedCode is shaped like the single-use codes the platforms issue.
	issuedCode = "CB-7KQ2M9XT"
)

// requestLocales are locales as carts and shops carry them.
var requestLocales = []string{"en", "en-US", "en-GB", "nb-NO", "no", "nn-NO", "sv-SE", "da-DK", "fi-FI", "de-DE", "de-AT", "fr-FR", ""}

func testShop() *recovery.Shop {
	return &recovery.Shop{
		ID: 7, Platform: recovery.PlatformShopify, Domain: "nordic-outdoor.myshopify.com", Name: "Nordic Outdoor",
		Settings: recovery.ShopSettings{TimeZone: "Europe/Oslo"},
	}
}

func input(shop *recovery.Shop, cart *recovery.Cart, kind string, channel recovery.Channel, locale, code string) recovery.RenderInput {
	in := recovery.RenderInput{
		Shop: shop, Cart: cart, Locale: locale,
		Step:         recovery.StepRun{Index: 0, Channel: channel, Template: kind, DiscountCode: code},
		RestoreURL:   restoreURL,
		DiscountCode: code,
	}
	if channel == recovery.ChannelEmail {
		in.UnsubscribeURL = unsubscribeURL
	}
	return in
}

func newRenderer(t *testing.T, opts Options) *Renderer {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC) }
	}
	r, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRestoreURLIsRealisticLength(t *testing.T) {
	if n := len(restoreURL); n != 66 {
		t.Fatalf("restore link is %d characters, want 66", n)
	}
}

func TestDefaultsRenderForEveryLocaleKindAndChannel(t *testing.T) {
	r := newRenderer(t, Options{LinkTTL: 30 * 24 * time.Hour})
	shop := testShop()
	carts := map[string]*recovery.Cart{"shopify": shopifyCart(t), "woocommerce": wooCart(t)}
	for platform, base := range carts {
		for _, locale := range requestLocales {
			for _, kind := range Kinds {
				for _, channel := range []recovery.Channel{recovery.ChannelEmail, recovery.ChannelSMS} {
					for _, code := range []string{"", discountCode} {
						for _, name := range []string{base.Contact.FirstName, ""} {
							cart := *base
							cart.Contact.FirstName = name
							in := input(shop, &cart, kind, channel, locale, code)
							res, err := r.RenderResult(context.Background(), in)
							if err != nil {
								t.Fatalf("%s %q %s %s: %v", platform, locale, kind, channel, err)
							}
							checkRendered(t, res, in, platform)
						}
					}
				}
			}
		}
	}
}

func checkRendered(t *testing.T, res Result, in recovery.RenderInput, platform string) {
	t.Helper()
	where := platform + " " + in.Locale + " " + in.Step.Template + " " + string(in.Step.Channel)
	if in.DiscountCode != "" {
		where += " with code"
	}
	if in.Cart.Contact.FirstName == "" {
		where += " without name"
	}
	if res.FallbackReason != "" || res.Custom {
		t.Errorf("%s: custom=%v fallback %q", where, res.Custom, res.FallbackReason)
	}
	want := matchLocale(in.Locale).lang
	if res.Locale != want {
		t.Errorf("%s: locale %q, want %q", where, res.Locale, want)
	}
	parts := map[string]string{"subject": res.Subject, "text": res.Text, "html": res.HTML}
	for name, s := range parts {
		if strings.Contains(s, "<no value>") || strings.Contains(s, "{{") {
			t.Errorf("%s: %s has a template leftover:\n%s", where, name, s)
		}
		if !utf8.ValidString(s) {
			t.Errorf("%s: %s is not UTF-8", where, name)
		}
	}
	if in.Step.Channel == recovery.ChannelSMS {
		if res.Subject != "" || res.HTML != "" {
			t.Errorf("%s: SMS with subject or HTML", where)
		}
		if !strings.Contains(res.Text, in.RestoreURL) || !strings.HasPrefix(res.Text, in.Shop.Name+": ") {
			t.Errorf("%s: SMS %q lacks the shop or the link", where, res.Text)
		}
		if in.DiscountCode != "" && !strings.Contains(res.Text, in.DiscountCode) {
			t.Errorf("%s: SMS %q lacks the code", where, res.Text)
		}
		return
	}
	for name, s := range parts {
		if s == "" {
			t.Fatalf("%s: empty %s", where, name)
		}
	}
	if strings.Contains(res.Subject, "\n") {
		t.Errorf("%s: subject %q spans lines", where, res.Subject)
	}
	if n := strings.Count(res.HTML, `href="`+in.RestoreURL+`"`); n != 1 {
		t.Errorf("%s: HTML links the restore URL %d times, want one button", where, n)
	}
	for _, s := range []string{in.UnsubscribeURL, "max-width:600px", `role="presentation"`, "Nordic Outdoor"} {
		if !strings.Contains(res.HTML, s) {
			t.Errorf("%s: HTML lacks %q", where, s)
		}
	}
	for _, s := range []string{in.RestoreURL, in.UnsubscribeURL, "Nordic Outdoor"} {
		if !strings.Contains(res.Text, s) {
			t.Errorf("%s: text lacks %q", where, s)
		}
	}
	for _, tag := range []string{"<script", "<link", "<style", "javascript:"} {
		if strings.Contains(res.HTML, tag) {
			t.Errorf("%s: HTML contains %s", where, tag)
		}
	}
	l := matchLocale(in.Locale)
	total := formatMoney(in.Cart.Totals.Total, in.Cart.Currency, l)
	if !strings.Contains(res.Text, total) || !strings.Contains(res.HTML, total) {
		t.Errorf("%s: total %q missing", where, total)
	}
	for _, it := range in.Cart.Items {
		if !strings.Contains(res.Text, it.Title) {
			t.Errorf("%s: text lacks item %q", where, it.Title)
		}
		if it.ImageURL != "" && !strings.Contains(res.HTML, `src="`+it.ImageURL+`"`) {
			t.Errorf("%s: HTML lacks image %q", where, it.ImageURL)
		}
		if it.VariantTitle != "" && !strings.Contains(res.HTML, it.VariantTitle) {
			t.Errorf("%s: HTML lacks variant %q", where, it.VariantTitle)
		}
	}
	if in.DiscountCode != "" && (!strings.Contains(res.HTML, in.DiscountCode) || !strings.Contains(res.Text, in.DiscountCode)) {
		t.Errorf("%s: code missing", where)
	}
	if in.DiscountCode == "" && strings.Contains(res.HTML, "dashed") {
		t.Errorf("%s: code box without a code", where)
	}
	if name := in.Cart.Contact.FirstName; name != "" && !strings.Contains(res.Text, name) {
		t.Errorf("%s: greeting lacks %q", where, name)
	}
}

// TestSMSFitsOneSegment renders every default SMS with a 66-character link
// and a discount code, ends it with the opt-out line as the engine does,
// and requires one GSM-7 segment.
func TestSMSFitsOneSegment(t *testing.T) {
	r := newRenderer(t, Options{})
	shop := testShop()
	cart := shopifyCart(t)
	for _, locale := range []string{"en", "nb", "no", "nn", "sv", "da", "fi", "de"} {
		for _, kind := range Kinds {
			for _, code := range []string{discountCode, issuedCode, ""} {
				in := input(shop, cart, kind, recovery.ChannelSMS, locale, code)
				if code == issuedCode {
					in.Step.CodeExpires = time.Now().Add(recovery.UniqueDiscountTTL)
				}
				out, err := r.Render(context.Background(), in)
				if err != nil {
					t.Fatal(err)
				}
				sms := recovery.WithSMSStopLine(out.Text, locale)
				enc, segments := recovery.SMSSegments(sms)
				n := utf8.RuneCountInString(sms)
				if enc != recovery.EncodingGSM7 || segments != 1 {
					t.Errorf("%s %s code=%q: %s, %d segments, %d characters:\n%s", locale, kind, code, enc, segments, n, sms)
					continue
				}
				if code != "" {
					t.Logf("%s %-9s %3d chars, %2d spare: %q", locale, kind, n, 160-n, sms)
				}
			}
		}
	}
}

func TestSMSFoldsTypography(t *testing.T) {
	r := newRenderer(t, Options{})
	for name, want := range map[string]string{
		// Folded, the whole message is GSM-7: one 160-character segment.
		"Kari’s “Søm” – Lódź": `Kari's "Søm" - Lodz:`,
		// "Ł" has no GSM-7 look-alike: the message is UCS-2 whatever else
		// is folded, so it keeps every character as written.
		"Kari’s “Søm” – Łódź": "Kari’s “Søm” – Łódź:",
	} {
		shop := testShop()
		shop.Name = name
		out, err := r.Render(context.Background(), input(shop, shopifyCart(t), recovery.TemplateReminder, recovery.ChannelSMS, "nb", ""))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(out.Text, want) {
			t.Errorf("shop %q: SMS %q, want it to start with %q", name, out.Text, want)
		}
	}
}

func TestHTMLEscapesHostileTitles(t *testing.T) {
	r := newRenderer(t, Options{})
	shop := testShop()
	shop.Name = `Shop <b>bold</b>`
	cart := shopifyCart(t)
	cart.Contact.FirstName = `<img src=x onerror=alert(2)>`
	cart.Items[0].Title = `<script>alert(1)</script>`
	cart.Items[1].Title = `"><img src=x onerror=alert(1)>`
	cart.Items[1].VariantTitle = `</td></tr></table><script>x()</script>`
	cart.Items[1].ImageURL = `javascript:alert(1)`
	cart.Items[1].ProductURL = `" onmouseover="alert(1)`
	for _, locale := range Languages {
		out, err := r.Render(context.Background(), input(shop, cart, recovery.TemplateReminder, recovery.ChannelEmail, locale, `<i>CODE</i>`))
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"<script", "<img src=x", `"><img src=x`, "onmouseover=\"alert", "javascript:", "<b>bold", "<i>CODE"} {
			if strings.Contains(out.HTML, bad) {
				t.Errorf("%s: HTML contains %q", locale, bad)
			}
		}
		for _, escaped := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;", "#ZgotmplZ"} {
			if !strings.Contains(out.HTML, escaped) {
				t.Errorf("%s: HTML lacks %q", locale, escaped)
			}
		}
		// The plain-text part and the subject are not HTML: the title is
		// written as it is.
		if !strings.Contains(out.Text, `<script>alert(1)</script>`) {
			t.Errorf("%s: text part changed the title", locale)
		}
	}
}

func TestGolden(t *testing.T) {
	r := newRenderer(t, Options{LinkTTL: 30 * 24 * time.Hour})
	shop := testShop()
	for _, locale := range Languages {
		cart := shopifyCart(t)
		cart.Currency = map[string]string{"en": "USD", "nb": "NOK", "sv": "SEK", "da": "DKK", "fi": "EUR", "de": "EUR"}[locale]
		cart.Contact.Locale = locale
		email, err := r.Render(context.Background(), input(shop, cart, recovery.TemplateReminder, recovery.ChannelEmail, locale, ""))
		if err != nil {
			t.Fatal(err)
		}
		sms, err := r.Render(context.Background(), input(shop, cart, recovery.TemplateReminder, recovery.ChannelSMS, locale, ""))
		if err != nil {
			t.Fatal(err)
		}
		golden(t, locale+"_reminder_email.html", email.HTML+"\n")
		golden(t, locale+"_reminder_email.txt", "Subject: "+email.Subject+"\n\n"+email.Text)
		golden(t, locale+"_reminder_sms.txt", recovery.WithSMSStopLine(sms.Text, locale)+"\n")
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (run go test -update after checking):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestValidate(t *testing.T) {
	r := newRenderer(t, Options{})
	tests := []struct {
		name    string
		channel string
		c       Custom
		field   string
		wantErr string
	}{
		{"good email", "email", Custom{Subject: "{{.ShopName}}: {{len .Items}} items", HTML: `<p>Hi {{or .FirstName "there"}}</p>{{range .Items}}<img src="{{.ImageURL}}">{{end}}<a href="{{.RestoreURL}}">Go</a> <a href="{{.UnsubscribeURL}}">Unsubscribe</a>`}, "", ""},
		{"text without the unsubscribe link", "email", Custom{Text: "Hi {{.FirstName}}: {{.RestoreURL}}"}, "text", "must contain the unsubscribe link"},
		{"html without the unsubscribe link", "email", Custom{HTML: `<a href="{{.RestoreURL}}">Go</a>`}, "html", "must contain the unsubscribe link"},
		{"unsubscribe link only when there is a discount", "email", Custom{Text: "{{.RestoreURL}} {{if .DiscountCode}}{{.UnsubscribeURL}}{{end}}"}, "text", "must contain the unsubscribe link"},
		{"good sms", "sms", Custom{SMS: "{{.ShopName}}: {{if .DiscountCode}}Code {{.DiscountCode}} {{end}}{{.RestoreURL}} {{.StopLine}}"}, "", ""},
		{"html parse error", "email", Custom{HTML: "<p>{{.ShopName}</p>"}, "html", `bad character U+007D '}'`},
		{"subject parse error", "email", Custom{Subject: "{{if .FirstName}}Hi"}, "subject", "unexpected EOF"},
		{"sms unknown function", "sms", Custom{SMS: "{{shout .ShopName}}"}, "sms", `function "shout" not defined`},
		{"unknown field", "email", Custom{Text: "Hi {{.Nickname}}"}, "text", "can't evaluate field Nickname"},
		{"unknown field in a branch", "email", Custom{Text: "{{if .DiscountCode}}{{.Coupon}}{{end}}"}, "text", "can't evaluate field Coupon"},
		{"empty subject", "email", Custom{Subject: "{{.FirstName}}"}, "subject", "renders empty"},
		{"empty text", "email", Custom{Text: "{{if false}}x{{end}}  \n"}, "text", "renders empty"},
		{"unsafe html context", "email", Custom{HTML: `<a href="{{.RestoreURL}}`}, "html", "ends in a non-text context"},
		{"sms part on email", "email", Custom{SMS: "hi"}, "sms", "no SMS part"},
		{"email part on sms", "sms", Custom{Subject: "hi"}, "", "only the SMS part"},
		{"empty", "email", Custom{}, "", "empty"},
		{"bad channel", "fax", Custom{Text: "x"}, "", "unknown channel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := r.Validate(recovery.TemplateReminder, tt.channel, tt.c)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate = %v, want a *ValidationError", err)
			}
			if ve.Field != tt.field || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate = %q (field %q), want field %q and %q", err, ve.Field, tt.field, tt.wantErr)
			}
			t.Log(err)
		})
	}
}

type fallback struct {
	shopID                        uint64
	kind, channel, locale, reason string
}

func recorder(got *[]fallback) func(uint64, string, string, string, string) {
	return func(shopID uint64, kind, channel, locale, reason string) {
		*got = append(*got, fallback{shopID, kind, channel, locale, reason})
	}
}

func TestBrokenCustomTemplateFallsBackToDefault(t *testing.T) {
	store := &MemoryStore{}
	var calls []fallback
	r := newRenderer(t, Options{Store: store, OnFallback: recorder(&calls)})
	shop := testShop()
	cart := shopifyCart(t)
	ctx := context.Background()

	defEmail, _ := r.Render(ctx, input(shop, cart, recovery.TemplateReminder, recovery.ChannelEmail, "nb", ""))
	defSMS, _ := r.Render(ctx, input(shop, cart, recovery.TemplateReminder, recovery.ChannelSMS, "nb", ""))

	broken := []struct {
		name    string
		channel recovery.Channel
		c       Custom
		reason  string
	}{
		{"parse error", recovery.ChannelEmail, Custom{Subject: "Fine", HTML: "<p>{{.ShopName</p>"}, "html: template: html:1:"},
		{"exec error", recovery.ChannelEmail, Custom{Text: "Hi {{.Nickname}}"}, "can't evaluate field Nickname"},
		// Saved before a template had to show it.
		{"no unsubscribe link", recovery.ChannelEmail, Custom{Text: "Hi {{.FirstName}}: {{.RestoreURL}}"}, "leaves out the unsubscribe link"},
		{"renders empty", recovery.ChannelSMS, Custom{SMS: "{{.DiscountCode}}"}, "sms: renders empty"},
		{"runaway output", recovery.ChannelSMS, Custom{SMS: `{{range .Items}}{{range $.Items}}{{range $.Items}}{{range $.Items}}{{range $.Items}}{{range $.Items}}{{range $.Items}}{{range $.Items}}{{range $.Items}}{{range $.Items}}{{range $.Items}}{{range $.Items}}{{range $.Items}}{{range $.Items}}{{range $.Items}}{{range $.Items}}{{range $.Items}}{{range $.Items}}{{range $.Items}}{{range $.Items}}{{$.RestoreURL}}{{end}}{{end}}{{end}}{{end}}{{end}}{{end}}{{end}}{{end}}{{end}}{{end}}{{end}}{{end}}{{end}}{{end}}{{end}}{{end}}{{end}}{{end}}{{end}}{{end}}`}, "output exceeds"},
	}
	for _, b := range broken {
		t.Run(b.name, func(t *testing.T) {
			calls = nil
			store.Put(shop.ID, recovery.TemplateReminder, string(b.channel), "nb", "", b.c)
			defer store.Delete(shop.ID, recovery.TemplateReminder, string(b.channel), "nb", "")
			// Locale "nb-NO" is asked for as "nb".
			res, err := r.RenderResult(ctx, input(shop, cart, recovery.TemplateReminder, b.channel, "nb-NO", ""))
			if err != nil {
				t.Fatalf("Render failed instead of falling back: %v", err)
			}
			want := defEmail
			if b.channel == recovery.ChannelSMS {
				want = defSMS
			}
			if res.Rendered != want {
				t.Errorf("got %+v, want the default %+v", res.Rendered, want)
			}
			if res.Custom || !strings.Contains(res.FallbackReason, b.reason) {
				t.Errorf("custom=%v reason %q, want %q", res.Custom, res.FallbackReason, b.reason)
			}
			if len(calls) != 1 || calls[0].shopID != shop.ID || calls[0].kind != recovery.TemplateReminder ||
				calls[0].channel != string(b.channel) || calls[0].locale != "nb" || calls[0].reason != res.FallbackReason {
				t.Errorf("OnFallback calls %+v", calls)
			}
			if err := r.Validate(recovery.TemplateReminder, string(b.channel), b.c); err == nil {
				t.Error("Validate accepted the broken template")
			}
		})
	}
}

type failingStore struct{}

func (failingStore) Template(context.Context, uint64, string, string, string, string) (*Custom, error) {
	return nil, errors.New("database is locked")
}

func TestStoreFailureFallsBackToDefault(t *testing.T) {
	var calls []fallback
	r := newRenderer(t, Options{Store: failingStore{}, OnFallback: recorder(&calls)})
	res, err := r.RenderResult(context.Background(), input(testShop(), shopifyCart(t), recovery.TemplateFollowUp, recovery.ChannelEmail, "de", ""))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Subject, "wartet noch") || !strings.Contains(res.FallbackReason, "database is locked") || len(calls) != 1 {
		t.Errorf("subject %q reason %q calls %v", res.Subject, res.FallbackReason, calls)
	}
}

func TestCustomTemplatesTakePrecedence(t *testing.T) {
	store := &MemoryStore{}
	var calls []fallback
	r := newRenderer(t, Options{Store: store, OnFallback: recorder(&calls), Variant: func(in recovery.RenderInput) string {
		if in.Cart.ID == 2 {
			return "b"
		}
		return ""
	}})
	shop := testShop()
	cart := shopifyCart(t)
	ctx := context.Background()
	store.Put(shop.ID, recovery.TemplateReminder, "email", "sv", "", Custom{Subject: "Hej från {{.ShopName}}"})
	store.Put(shop.ID, recovery.TemplateReminder, "email", "sv", "b", Custom{Subject: "Variant B"})
	store.Put(shop.ID, recovery.TemplateReminder, "sms", "sv", "", Custom{SMS: "{{.ShopName}}: {{.RestoreURL}}\n{{.StopLine}}"})
	store.Put(shop.ID+1, recovery.TemplateReminder, "email", "sv", "", Custom{Subject: "another shop"})

	def, _ := r.Render(ctx, input(shop, cart, recovery.TemplateReminder, recovery.ChannelEmail, "sv", ""))
	res, err := r.RenderResult(ctx, input(shop, cart, recovery.TemplateReminder, recovery.ChannelEmail, "sv-SE", ""))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Custom || res.Subject != "Hej från Nordic Outdoor" {
		t.Errorf("subject %q custom=%v", res.Subject, res.Custom)
	}
	if res.HTML != def.HTML || res.Text != def.Text {
		t.Error("parts the shop left empty are not the default's")
	}
	b := *cart
	b.ID = 2
	if out, _ := r.Render(ctx, input(shop, &b, recovery.TemplateReminder, recovery.ChannelEmail, "sv", "")); out.Subject != "Variant B" {
		t.Errorf("variant subject %q", out.Subject)
	}
	// Another language, kind or shop keeps the default.
	for _, in := range []recovery.RenderInput{
		input(shop, cart, recovery.TemplateReminder, recovery.ChannelEmail, "da", ""),
		input(shop, cart, recovery.TemplateFollowUp, recovery.ChannelEmail, "sv", ""),
	} {
		if res, _ := r.RenderResult(ctx, in); res.Custom {
			t.Errorf("%s %s used the custom template", in.Locale, in.Step.Template)
		}
	}
	sms, _ := r.Render(ctx, input(shop, cart, recovery.TemplateReminder, recovery.ChannelSMS, "sv", ""))
	if want := "Nordic Outdoor: " + restoreURL + "\n" + recovery.SMSStopLine("sv"); sms.Text != want || recovery.WithSMSStopLine(sms.Text, "sv") != want {
		t.Errorf("SMS %q, want %q with the stop line once", sms.Text, want)
	}
	if len(calls) != 0 {
		t.Errorf("unexpected fallbacks %v", calls)
	}
}

func TestUnknownKindUsesReminder(t *testing.T) {
	store := &MemoryStore{}
	var calls []fallback
	r := newRenderer(t, Options{Store: store, OnFallback: recorder(&calls)})
	shop, cart := testShop(), shopifyCart(t)
	ctx := context.Background()
	res, err := r.RenderResult(ctx, input(shop, cart, "winback", recovery.ChannelEmail, "fi", ""))
	if err != nil || res.Subject != "Ostoskorisi on tallessa" || len(calls) != 1 || !strings.Contains(calls[0].reason, `"winback"`) {
		t.Fatalf("%v %q %v", err, res.Subject, calls)
	}
	calls = nil
	store.Put(shop.ID, "winback", "sms", "fi", "", Custom{SMS: "{{.ShopName}}: tervetuloa takaisin {{.RestoreURL}}"})
	res, err = r.RenderResult(ctx, input(shop, cart, "winback", recovery.ChannelSMS, "fi", ""))
	if err != nil || !res.Custom || res.FallbackReason != "" || len(calls) != 0 {
		t.Fatalf("%v %+v %v", err, res, calls)
	}
}

func TestRenderRejectsBadInput(t *testing.T) {
	r := newRenderer(t, Options{})
	if _, err := r.Render(context.Background(), recovery.RenderInput{}); err == nil {
		t.Error("no shop or cart: no error")
	}
	in := input(testShop(), shopifyCart(t), recovery.TemplateReminder, "fax", "en", "")
	if _, err := r.Render(context.Background(), in); err == nil {
		t.Error("unknown channel: no error")
	}
}

func TestPreview(t *testing.T) {
	r := newRenderer(t, Options{})
	out, err := r.Preview(recovery.TemplateIncentive, "sms", "de", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out.Text, "\n"+recovery.SMSStopLine("de")) || !strings.Contains(out.Text, "WELCOME10") {
		t.Errorf("preview %q", out.Text)
	}
	if _, err := r.Preview(recovery.TemplateReminder, "email", "en", &Custom{HTML: "{{.Nope}}"}); err == nil {
		t.Error("preview of a broken template: no error")
	}
}

func TestFormatMoney(t *testing.T) {
	tests := []struct {
		locale, currency string
		minor            int64
		want             string
	}{
		{"en-US", "USD", 37969, "$379.69"},
		{"en", "USD", 123456789, "$1,234,567.89"},
		{"nb-NO", "NOK", 49900, "499,00\u00a0kr"},
		{"nb", "NOK", 149950, "1\u00a0499,50\u00a0kr"},
		{"no", "NOK", 49900, "499,00\u00a0kr"},
		{"sv-SE", "SEK", 149900, "1\u00a0499,00\u00a0kr"},
		{"da-DK", "DKK", 149900, "1.499,00\u00a0kr."},
		{"fi-FI", "EUR", 149950, "1\u00a0499,50\u00a0€"},
		{"de-DE", "EUR", 37969, "379,69\u00a0€"},
		{"de-AT", "EUR", 37969, "€\u00a0379,69"},
		{"en", "JPY", 1500, "¥1,500"},
		{"en", "NOK", 49900, "NOK\u00a0499.00"},
		{"nb", "USD", 1200, "12,00\u00a0USD"},
		{"de", "USD", 5, "0,05\u00a0$"},
		{"en", "KWD", 1234, "KWD\u00a01.234"},
		{"en", "usd", -250, "$-2.50"},
		{"fr-FR", "EUR", 37969, "€379.69"},
	}
	for _, tt := range tests {
		if got := formatMoney(tt.minor, tt.currency, matchLocale(tt.locale)); got != tt.want {
			t.Errorf("formatMoney(%d, %s, %s) = %q, want %q", tt.minor, tt.currency, tt.locale, got, tt.want)
		}
	}
}

func TestMatchLocale(t *testing.T) {
	tests := map[string]string{
		"en": "en", "en-US": "en", "en_GB": "en", "nb-NO": "nb", "no": "nb", "nn-NO": "nb", "NB_no": "nb",
		"sv": "sv", "sv-FI": "sv", "da-DK": "da", "fi": "fi", "de-CH": "de", "fr": "en", "es-ES": "en",
		"": "en", "not a locale": "en", "zz": "en",
	}
	for in, want := range tests {
		if got := matchLocale(in).lang; got != want {
			t.Errorf("matchLocale(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFormatDate(t *testing.T) {
	d := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	tests := map[string]string{
		"en": "2 March 2026", "en-US": "March 2, 2026", "nb": "2. mars 2026", "sv": "2 mars 2026",
		"da": "2. marts 2026", "fi": "2.3.2026", "de": "2. März 2026",
	}
	for locale, want := range tests {
		if got := formatDate(d, matchLocale(locale)); got != want {
			t.Errorf("formatDate(%s) = %q, want %q", locale, got, want)
		}
	}
}

func TestExpiryFollowsLinkTTL(t *testing.T) {
	r := newRenderer(t, Options{LinkTTL: 30 * 24 * time.Hour})
	out, err := r.Render(context.Background(), input(testShop(), shopifyCart(t), recovery.TemplateReminder, recovery.ChannelEmail, "de", ""))
	if err != nil {
		t.Fatal(err)
	}
	if want := "Der Link ist bis zum 1. April 2026 gültig."; !strings.Contains(out.Text, want) || !strings.Contains(out.HTML, want) {
		t.Errorf("expiry missing: %s", out.Text)
	}
	r = newRenderer(t, Options{})
	out, _ = r.Render(context.Background(), input(testShop(), shopifyCart(t), recovery.TemplateReminder, recovery.ChannelEmail, "de", ""))
	if strings.Contains(out.Text, "gültig") {
		t.Error("expiry shown without a LinkTTL")
	}
}

func TestFoldGSM(t *testing.T) {
	tests := map[string]string{
		"Åse’s “kurv” – 1\u00a0499,00 kr…":   `Åse's "kurv" - 1 499,00 kr...`,
		"Crème brûlée, José, Müller, Straße": "Crème brulée, José, Müller, Straße",
		"Kärlek 😀": "Kärlek 😀",
		// UCS-2 either way: nothing is folded, not even the quotes.
		"Łódź – “Crème brûlée”": "Łódź – “Crème brûlée”",
		"Café – 😀":              "Café – 😀",
		"Zoë’s “ó”":             `Zoe's "o"`,
	}
	for in, want := range tests {
		if got := foldGSM(in); got != want {
			t.Errorf("foldGSM(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConcurrentRender(t *testing.T) {
	store := &MemoryStore{}
	store.Put(7, recovery.TemplateReminder, "email", "en", "", Custom{HTML: "<p>{{.ShopName}}</p><a href=\"{{.RestoreURL}}\">Go</a>"})
	r := newRenderer(t, Options{Store: store})
	shop, cart := testShop(), shopifyCart(t)
	done := make(chan error)
	for i := range 8 {
		go func() {
			var err error
			for j := range 50 {
				locale := Languages[(i+j)%len(Languages)]
				_, err = r.Render(context.Background(), input(shop, cart, Kinds[j%len(Kinds)], recovery.ChannelEmail, locale, ""))
				if err != nil {
					break
				}
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// TestTotalsBreakdown checks that an email whose lines do not add up to
// its total says why: subtotal, discount, shipping and added tax, each
// only when it is not zero.
func TestTotalsBreakdown(t *testing.T) {
	r := newRenderer(t, Options{})
	shop := testShop()
	render := func(cart *recovery.Cart, locale string) recovery.Rendered {
		t.Helper()
		out, err := r.Render(context.Background(), input(shop, cart, recovery.TemplateReminder, recovery.ChannelEmail, locale, ""))
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// Labels of the rows, as each language's defaults write them.
	labels := map[string][4]string{
		"en": {"Subtotal", "Discount", "Shipping", "Tax"},
		"nb": {"Delsum", "Rabatt", "Frakt", "MVA"},
		"sv": {"Delsumma", "Rabatt", "Frakt", "Moms"},
		"da": {"Subtotal", "Rabat", "Fragt", "Moms"},
		"fi": {"Välisumma", "Alennus", "Toimituskulut", "ALV"},
		"de": {"Zwischensumme", "Rabatt", "Versand", "MwSt."},
	}
	if len(labels) != len(Languages) {
		t.Fatalf("labels for %d languages, the defaults have %d", len(labels), len(Languages))
	}

	// Shopify's sample: $398.00 of lines, $39.80 off, tax added on top,
	// free shipping.
	shopify := shopifyCart(t)
	// WooCommerce's sample: $18.00 of lines, $10.00 shipping, tax added.
	woo := wooCart(t)
	// Prices with tax included (VAT): the tax is in the lines already.
	vat := shopifyCart(t)
	vat.Totals = recovery.Totals{Subtotal: 39800, Discounts: 3980, Shipping: 4900, Tax: 8164, Total: 40720}
	// Lines that are the total: nothing to explain.
	plain := shopifyCart(t)
	plain.Totals = recovery.Totals{Subtotal: 39800, Tax: 7960, Total: 39800}

	for _, lang := range Languages {
		l := labels[lang]
		row := func(label string, minor int64, sign string) string {
			return label + ": " + sign + formatMoney(minor, "USD", matchLocale(lang))
		}
		tests := []struct {
			name      string
			cart      *recovery.Cart
			want, not []string
		}{
			{"discount and added tax", shopify, []string{row(l[0], 39800, "") + "\n" + row(l[1], 3980, "-") + "\n" + row(l[3], 2149, "") + "\n"}, []string{l[2] + ":"}},
			{"shipping and added tax", woo, []string{row(l[0], 1800, "") + "\n" + row(l[2], 1000, "") + "\n" + row(l[3], 135, "") + "\n"}, []string{l[1] + ":"}},
			{"tax included", vat, []string{row(l[0], 39800, "") + "\n" + row(l[1], 3980, "-") + "\n" + row(l[2], 4900, "") + "\n"}, []string{l[3] + ":"}},
			{"lines are the total", plain, nil, []string{l[0] + ":", l[1] + ":", l[2] + ":", l[3] + ":"}},
		}
		for _, tt := range tests {
			out := render(tt.cart, lang)
			for _, w := range tt.want {
				if !strings.Contains(out.Text, w) {
					t.Errorf("%s, %s: text lacks %q:\n%s", lang, tt.name, w, out.Text)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(out.Text, n) {
					t.Errorf("%s, %s: text has %q:\n%s", lang, tt.name, n, out.Text)
				}
			}
			// The HTML shows the same rows, as label and amount cells.
			htmlRows := strings.Count(out.HTML, "padding:0 0 4px 0;font-family")
			if want := 2 * strings.Count(strings.Join(tt.want, ""), "\n"); htmlRows != want {
				t.Errorf("%s, %s: HTML has %d breakdown cells, want %d", lang, tt.name, htmlRows, want)
			}
			for _, label := range l {
				labelled := strings.Contains(out.HTML, ">"+label+"</td>")
				if inText := strings.Contains(out.Text, "\n"+label+": "); labelled != inText {
					t.Errorf("%s, %s: %q in HTML %v, in text %v", lang, tt.name, label, labelled, inText)
				}
			}
		}
	}
}

// totals are the fields TestFieldsTotals compares.
type totals struct {
	Total, Subtotal, Discount, Shipping, Tax string
	TaxAdded, Breakdown                      bool
}

func TestFieldsTotals(t *testing.T) {
	r := newRenderer(t, Options{})
	l := matchLocale("en")
	tests := []struct {
		name   string
		lines  []int64
		totals recovery.Totals
		want   totals
	}{
		{"shopify: subtotal after discounts, tax added", []int64{19900, 19900},
			recovery.Totals{Subtotal: 35820, Discounts: 3980, Tax: 2149, Total: 37969},
			totals{Total: "$379.69", Subtotal: "$398.00", Discount: "$39.80", Tax: "$21.49", TaxAdded: true, Breakdown: true}},
		{"tax included", []int64{50000},
			recovery.Totals{Subtotal: 50000, Shipping: 4900, Tax: 10980, Total: 54900},
			totals{Total: "$549.00", Subtotal: "$500.00", Shipping: "$49.00", Tax: "$109.80", Breakdown: true}},
		{"lines are the total", []int64{1000, 500},
			recovery.Totals{Subtotal: 1500, Total: 1500},
			totals{Total: "$15.00", Subtotal: "$15.00"}},
		{"no totals", []int64{1000},
			recovery.Totals{},
			totals{Total: "$10.00", Subtotal: "$10.00"}},
		{"free cart", []int64{0},
			recovery.Totals{},
			totals{Total: "$0.00"}},
		{"100 % coupon", []int64{5000},
			recovery.Totals{Subtotal: 5000, Discounts: 5000},
			totals{Total: "$0.00", Subtotal: "$50.00", Discount: "$50.00", Breakdown: true}},
	}
	for _, tt := range tests {
		cart := &recovery.Cart{Currency: "USD", Totals: tt.totals}
		for _, line := range tt.lines {
			cart.Items = append(cart.Items, recovery.LineItem{Title: "x", Quantity: 1, UnitPrice: line, LinePrice: line})
		}
		f := r.fields(recovery.RenderInput{Shop: testShop(), Cart: cart}, l)
		got := totals{Total: f.Total, Subtotal: f.Subtotal, Discount: f.Discount, Shipping: f.Shipping, Tax: f.Tax, TaxAdded: f.TaxAdded, Breakdown: f.Breakdown}
		if got != tt.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.name, got, tt.want)
		}
	}
}

// TestIncentiveWordingFollowsTheCode checks that only a single-use code is
// called the shopper's own: the shop's shared code, also when it stands in
// for a single-use code that could not be made, is not.
func TestIncentiveWordingFollowsTheCode(t *testing.T) {
	r := newRenderer(t, Options{})
	shop := testShop()
	cart := shopifyCart(t)
	// How each language says "just for you".
	personal := map[string][]string{
		"en": {"just for you"},
		"nb": {"bare for deg", "bare til deg"},
		"sv": {"bara för dig"},
		"da": {"kun gælder for dig", "kun til dig"},
		"fi": {"juuri sinulle", "vain sinulle"},
		"de": {"nur für dich"},
	}
	if len(personal) != len(Languages) {
		t.Fatalf("phrases for %d languages, the defaults have %d", len(personal), len(Languages))
	}
	says := func(s, lang string) bool {
		for _, p := range personal[lang] {
			if strings.Contains(strings.ToLower(s), p) {
				return true
			}
		}
		return false
	}
	for _, lang := range Languages {
		for _, tt := range []struct {
			name   string
			code   string
			issued bool
			step   string // the step's code, when RenderInput's differs
		}{
			{"shared code", discountCode, false, ""},
			{"single-use code", issuedCode, true, ""},
			{"a code other than the one issued", discountCode, true, issuedCode},
		} {
			unique := tt.issued && tt.step == ""
			for _, channel := range []recovery.Channel{recovery.ChannelEmail, recovery.ChannelSMS} {
				in := input(shop, cart, recovery.TemplateIncentive, channel, lang, tt.code)
				if tt.issued {
					in.Step.CodeExpires = time.Now().Add(recovery.UniqueDiscountTTL)
				}
				if tt.step != "" {
					in.Step.DiscountCode = tt.step
				}
				out, err := r.Render(context.Background(), in)
				if err != nil {
					t.Fatal(err)
				}
				parts := map[string]string{"text": out.Text}
				if channel == recovery.ChannelEmail {
					parts["html"], parts["subject"] = out.HTML, out.Subject
				}
				for part, s := range parts {
					if !strings.Contains(s, tt.code) && part != "subject" {
						t.Errorf("%s %s %s: %s lacks the code", lang, tt.name, channel, part)
					}
					if got := says(s, lang); got && !unique {
						t.Errorf("%s %s %s: %s calls the code personal:\n%s", lang, tt.name, channel, part, s)
					}
				}
				if unique && !says(out.Text, lang) {
					t.Errorf("%s %s %s: a single-use code is not called personal:\n%s", lang, tt.name, channel, out.Text)
				}
			}
		}
	}
}

// TestVariantLeavesOutWooCommerceKeys checks that a WooCommerce line's
// restore keys (attribute_pa_color: black) never reach the shopper.
func TestVariantLeavesOutWooCommerceKeys(t *testing.T) {
	tests := []struct {
		item recovery.LineItem
		want string
	}{
		{recovery.LineItem{Title: "Ship Your Idea – Black, M", Attributes: []recovery.Attribute{{Name: "attribute_pa_color", Value: "black"}, {Name: "attribute_size", Value: "M"}}}, ""},
		{recovery.LineItem{Title: "Ship Your Idea", VariantTitle: "Color: Black, Size: M", Attributes: []recovery.Attribute{{Name: "attribute_pa_color", Value: "black"}}}, "Color: Black, Size: M"},
		{recovery.LineItem{Title: "Socks", Attributes: []recovery.Attribute{{Name: "Size", Value: "39-42"}, {Name: "attribute_pa_color", Value: "grey"}}}, "Size: 39-42"},
	}
	for _, tt := range tests {
		if got := variant(tt.item); got != tt.want {
			t.Errorf("variant(%+v) = %q, want %q", tt.item, got, tt.want)
		}
	}
}
