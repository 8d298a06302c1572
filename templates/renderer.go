package templates

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"regexp"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"

	"github.com/cartback/cartback/recovery"
)

// defaultFS holds the default templates: default/email.html and
// default/email.txt lay out every email; default/{lang}/common.tmpl holds
// a language's shared phrases and default/{lang}/{kind}.tmpl the words of
// one kind of message (subject, preheader, intro, button and the SMS).
//
//go:embed default
var defaultFS embed.FS

// Kinds are the template kinds that have default templates.
var Kinds = []string{recovery.TemplateReminder, recovery.TemplateFollowUp, recovery.TemplateIncentive}

// Blocks every language file pair must define.
var (
	kindBlocks   = []string{"subject", "preheader", "intro", "button", "sms"}
	commonBlocks = []string{"greeting", "quantity", "subtotal", "discount", "shipping", "tax", "total",
		"codeLabel", "codeHint", "expiry", "signoff", "footer", "unsubscribeText", "unsubscribeLink", "smsCode"}
)

// maxOutput bounds what one template may write (a custom template that
// ranges over the items inside a range over the items, say).
const maxOutput = 512 << 10

// Options configure a Renderer.
type Options struct {
	// Store holds the merchants' own templates; nil renders defaults only.
	Store Store
	// OnFallback is told whenever a message goes out with the default
	// template although the shop has its own (it failed to parse or run, or
	// the store failed), or the step's kind has no default and the reminder
	// is used in its place. Sending never stops for it.
	OnFallback func(shopID uint64, kind, channel, locale, reason string)
	// Variant names the template variant of a message, for tests of two
	// wordings; nil or "" is the shop's plain template.
	Variant func(in recovery.RenderInput) string
	// LinkTTL is how long restore links work (the scheduler's LinkTTL);
	// when set, templates get the date the link expires as Expiry.
	LinkTTL time.Duration
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Renderer is the localised recovery.Renderer: default templates in
// English, Norwegian, Swedish, Danish, Finnish and German, and the
// merchants' own templates from a Store on top. It is safe for concurrent
// use.
type Renderer struct {
	opts     Options
	defaults map[setKey]*set

	mu    sync.Mutex
	cache map[string]any // source → parsed custom template
}

type setKey struct{ lang, kind string }

// set is the default templates of one language and kind.
type set struct {
	html *htmltemplate.Template
	text *texttemplate.Template
}

// Result is a rendered message with how it came about.
type Result struct {
	recovery.Rendered
	// Locale is the language the message is written in.
	Locale string
	// Custom says the shop's own template was used.
	Custom bool
	// FallbackReason says why the default template was used although the
	// shop has its own, or why another kind's default was; "" otherwise.
	FallbackReason string
}

var _ recovery.Renderer = (*Renderer)(nil)

// New parses the default templates and renders each once against a sample
// cart, so that a broken default stops the service at start, never a send.
func New(opts Options) (*Renderer, error) {
	if opts.Now == nil {
		opts.Now = now
	}
	r := &Renderer{opts: opts, defaults: make(map[setKey]*set), cache: make(map[string]any)}
	for _, lang := range Languages {
		for _, kind := range Kinds {
			s, err := parseDefault(lang, kind)
			if err != nil {
				return nil, err
			}
			r.defaults[setKey{lang, kind}] = s
		}
	}
	for _, lang := range Languages {
		for _, kind := range Kinds {
			for _, channel := range []string{string(recovery.ChannelEmail), string(recovery.ChannelSMS)} {
				for _, sample := range samples {
					in := sampleInput(kind, channel, lang, sample)
					if _, err := r.execute(r.defaults[setKey{lang, kind}], nil, r.fields(in, matchLocale(lang)), channel); err != nil {
						return nil, fmt.Errorf("templates: default %s %s %s: %w", lang, kind, channel, err)
					}
				}
			}
		}
	}
	return r, nil
}

// parseDefault parses the default templates of one language and kind.
func parseDefault(lang, kind string) (*set, error) {
	files := []string{"default/" + lang + "/common.tmpl", "default/" + lang + "/" + kind + ".tmpl"}
	h, err := htmltemplate.New("email.html").Funcs(htmlFuncs).ParseFS(defaultFS, append([]string{"default/email.html"}, files...)...)
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	t, err := texttemplate.New("email.txt").ParseFS(defaultFS, append([]string{"default/email.txt"}, files...)...)
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	for _, name := range append(append([]string{}, kindBlocks...), commonBlocks...) {
		if t.Lookup(name) == nil {
			return nil, fmt.Errorf("templates: default/%s: %q is not defined for %s", lang, name, kind)
		}
	}
	return &set{html: h, text: t}, nil
}

// htmlFuncs wrap the email in Outlook's conditional comments: Outlook on
// Windows ignores max-width, so there the 600px column is a fixed table.
// html/template drops comments from template text, hence functions.
var htmlFuncs = htmltemplate.FuncMap{
	"msoOpen": func() htmltemplate.HTML {
		return `<!--[if mso]><table role="presentation" width="600" align="center" cellpadding="0" cellspacing="0" border="0"><tr><td><![endif]-->`
	},
	"msoClose": func() htmltemplate.HTML { return `<!--[if mso]></td></tr></table><![endif]-->` },
}

// Render implements recovery.Renderer. It fails only when the input lacks
// its shop or cart or names an unknown channel: a shop's broken template is
// replaced with the default and reported to Options.OnFallback.
func (r *Renderer) Render(ctx context.Context, in recovery.RenderInput) (recovery.Rendered, error) {
	res, err := r.RenderResult(ctx, in)
	return res.Rendered, err
}

// RenderResult renders like Render and also says which language and
// template were used, and why the default stood in for the shop's own.
func (r *Renderer) RenderResult(ctx context.Context, in recovery.RenderInput) (Result, error) {
	if in.Shop == nil || in.Cart == nil {
		return Result{}, errors.New("templates: render input without shop or cart")
	}
	channel := string(in.Step.Channel)
	switch channel {
	case "":
		channel = string(recovery.ChannelEmail)
	case string(recovery.ChannelEmail), string(recovery.ChannelSMS):
	default:
		return Result{}, fmt.Errorf("templates: unknown channel %q", channel)
	}
	kind := in.Step.Template
	if kind == "" {
		kind = recovery.TemplateReminder
	}
	l := matchLocale(in.Locale)
	f := r.fields(in, l)
	f.Channel, f.Kind = channel, kind
	res := Result{Locale: l.lang}

	def, hasDefault := r.defaults[setKey{l.lang, kind}]
	if !hasDefault {
		def = r.defaults[setKey{l.lang, recovery.TemplateReminder}]
	}
	var reasons []string
	custom, err := r.lookup(ctx, in, kind, channel, l.lang)
	if err != nil {
		reasons = append(reasons, "template store: "+err.Error())
	}
	if !custom.empty() {
		out, err := r.execute(def, custom, f, channel)
		if err == nil && withoutUnsubscribe(custom, out, f, channel) != "" {
			// Saved before templates had to show it: an email without a
			// way out does not go; the default, which has one, does.
			err = errors.New("it leaves out the unsubscribe link")
		}
		if err == nil {
			res.Rendered, res.Custom = out, true
			if !hasDefault && !complete(custom, channel) {
				reasons = append(reasons, fmt.Sprintf("kind %q has no default template; the parts the shop's template leaves out are the reminder's", kind))
			}
			res.FallbackReason = strings.Join(reasons, "; ")
			r.report(in, kind, channel, l.lang, res.FallbackReason)
			return res, nil
		}
		reasons = append(reasons, "shop template failed, default used: "+err.Error())
	}
	out, err := r.execute(def, nil, f, channel)
	if err != nil {
		return Result{}, fmt.Errorf("templates: default %s %s %s: %w", l.lang, kind, channel, err)
	}
	if !hasDefault {
		reasons = append(reasons, fmt.Sprintf("kind %q has no default template; the reminder is used", kind))
	}
	res.Rendered = out
	res.FallbackReason = strings.Join(reasons, "; ")
	r.report(in, kind, channel, l.lang, res.FallbackReason)
	return res, nil
}

func (r *Renderer) report(in recovery.RenderInput, kind, channel, lang, reason string) {
	if reason != "" && r.opts.OnFallback != nil {
		r.opts.OnFallback(in.Shop.ID, kind, channel, lang, reason)
	}
}

// lookup asks the store for the shop's template: the variant's, else the
// plain one.
func (r *Renderer) lookup(ctx context.Context, in recovery.RenderInput, kind, channel, lang string) (*Custom, error) {
	if r.opts.Store == nil {
		return nil, nil
	}
	// The step's assigned variant; "A" is the shop's plain template.
	variant := in.Variant
	if variant == "A" {
		variant = ""
	}
	if r.opts.Variant != nil {
		variant = r.opts.Variant(in)
	}
	c, err := r.opts.Store.Template(ctx, in.Shop.ID, kind, channel, lang, variant)
	if err == nil && c.empty() && variant != "" {
		c, err = r.opts.Store.Template(ctx, in.Shop.ID, kind, channel, lang, "")
	}
	return c, err
}

// complete reports whether c replaces every part of the channel's message.
func complete(c *Custom, channel string) bool {
	if channel == string(recovery.ChannelSMS) {
		return c.SMS != ""
	}
	return c.Subject != "" && c.Text != "" && c.HTML != ""
}

// execute renders one message: each part from c when it has it, else from
// the defaults.
func (r *Renderer) execute(def *set, c *Custom, f Fields, channel string) (recovery.Rendered, error) {
	if c == nil {
		c = &Custom{}
	}
	var out recovery.Rendered
	if channel == string(recovery.ChannelSMS) {
		sms, err := r.part("sms", c.SMS, def.text, f)
		if err != nil {
			return out, err
		}
		out.Text = tidySMS(sms)
		if out.Text == "" {
			return out, &ValidationError{Field: "sms", Err: errEmpty}
		}
		return out, nil
	}
	subject, err := r.part("subject", c.Subject, def.text, f)
	if err != nil {
		return out, err
	}
	text, err := r.part("text", c.Text, def.text.Lookup("email.txt"), f)
	if err != nil {
		return out, err
	}
	html, err := r.partHTML(c.HTML, def.html, f)
	if err != nil {
		return out, err
	}
	out.Subject, out.Text, out.HTML = strings.Join(strings.Fields(subject), " "), tidyText(text), strings.TrimSpace(html)
	switch {
	case out.Subject == "":
		return out, &ValidationError{Field: "subject", Err: errEmpty}
	case out.Text == "":
		return out, &ValidationError{Field: "text", Err: errEmpty}
	case out.HTML == "":
		return out, &ValidationError{Field: "html", Err: errEmpty}
	}
	return out, nil
}

// part renders a text part: the custom source when there is one, else the
// named default block.
func (r *Renderer) part(field, source string, def *texttemplate.Template, f Fields) (string, error) {
	t := def
	name := field
	if field == "text" {
		name = "email.txt"
	}
	if source != "" {
		var err error
		if t, err = r.parseText(field, source); err != nil {
			return "", err
		}
		name = field
	}
	var b limitedBuffer
	if err := t.ExecuteTemplate(&b, name, f); err != nil {
		return "", &ValidationError{Field: field, Err: err}
	}
	return b.String(), nil
}

// partHTML renders the HTML part.
func (r *Renderer) partHTML(source string, def *htmltemplate.Template, f Fields) (string, error) {
	t := def
	if source != "" {
		var err error
		if t, err = r.parseHTML(source); err != nil {
			return "", err
		}
	}
	var b limitedBuffer
	if err := t.Execute(&b, f); err != nil {
		return "", &ValidationError{Field: "html", Err: err}
	}
	return b.String(), nil
}

// parseText parses a custom text template, once per distinct source.
func (r *Renderer) parseText(field, source string) (*texttemplate.Template, error) {
	key := "text\x00" + field + "\x00" + source
	if t, ok := r.cached(key); ok {
		return t.(*texttemplate.Template), nil
	}
	t, err := texttemplate.New(field).Parse(source)
	if err != nil {
		return nil, &ValidationError{Field: field, Err: err}
	}
	r.remember(key, t)
	return t, nil
}

// parseHTML parses a custom HTML template, once per distinct source.
func (r *Renderer) parseHTML(source string) (*htmltemplate.Template, error) {
	key := "html\x00" + source
	if t, ok := r.cached(key); ok {
		return t.(*htmltemplate.Template), nil
	}
	t, err := htmltemplate.New("html").Parse(source)
	if err != nil {
		return nil, &ValidationError{Field: "html", Err: err}
	}
	r.remember(key, t)
	return t, nil
}

// maxCached bounds the parsed custom templates kept; past it the cache
// starts over.
const maxCached = 1024

func (r *Renderer) cached(key string) (any, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.cache[key]
	return t, ok
}

func (r *Renderer) remember(key string, t any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.cache) >= maxCached {
		clear(r.cache)
	}
	r.cache[key] = t
}

var errEmpty = errors.New("renders empty")

// ValidationError says which part of a custom template is broken and why.
type ValidationError struct {
	// Field is "subject", "text", "html", "sms" or "" for the whole.
	Field string
	Err   error
}

func (e *ValidationError) Error() string {
	if e.Field == "" {
		return e.Err.Error()
	}
	return e.Field + ": " + e.Err.Error()
}

func (e *ValidationError) Unwrap() error { return e.Err }

// Validate checks a shop's template before it is saved: every part must
// parse, and render without error, and not empty, against sample carts in
// every language, with and without a name, a discount code (shared or
// single-use), images and shipping.
// The error is a *ValidationError carrying the template package's message,
// e.g. `html: template: html:3: unexpected "}" in operand`.
func (r *Renderer) Validate(kind, channel string, c Custom) error {
	return r.validate(kind, channel, c, true)
}

// validate is Validate; without needUnsubscribe a text or HTML part that
// leaves out the unsubscribe link passes (a preview of a draft).
func (r *Renderer) validate(kind, channel string, c Custom, needUnsubscribe bool) error {
	invalid := func(field, format string, args ...any) error {
		return &ValidationError{Field: field, Err: fmt.Errorf(format, args...)}
	}
	switch {
	case kind == "":
		return invalid("", "template kind is missing")
	case channel == string(recovery.ChannelEmail) && c.SMS != "":
		return invalid("sms", "an email template has no SMS part")
	case channel == string(recovery.ChannelSMS) && (c.Subject != "" || c.Text != "" || c.HTML != ""):
		return invalid("", "an SMS template has only the SMS part")
	case channel != string(recovery.ChannelEmail) && channel != string(recovery.ChannelSMS):
		return invalid("", "unknown channel %q", channel)
	case c.empty():
		return invalid("", "the template is empty")
	}
	parts := []struct{ field, source string }{{"subject", c.Subject}, {"text", c.Text}, {"html", c.HTML}, {"sms", c.SMS}}
	for _, p := range parts {
		if p.source == "" {
			continue
		}
		var err error
		if p.field == "html" {
			_, err = r.parseHTML(p.source)
		} else {
			_, err = r.parseText(p.field, p.source)
		}
		if err != nil {
			return err
		}
	}
	def := r.defaults[setKey{"en", recovery.TemplateReminder}]
	for _, lang := range Languages {
		for _, sample := range samples {
			in := sampleInput(kind, channel, lang, sample)
			f := r.fields(in, matchLocale(lang))
			if sample != sampleBare && f.Expiry == "" {
				f.Expiry = formatDate(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), matchLocale(lang))
			}
			out, err := r.execute(def, &c, f, channel)
			if err != nil {
				return err
			}
			// Every email carries a way out (the README and the law ask
			// for it in the message, not only in a header).
			if part := withoutUnsubscribe(&c, out, f, channel); needUnsubscribe && part != "" {
				return invalid(part, "must contain the unsubscribe link, {{.UnsubscribeURL}}")
			}
		}
	}
	return nil
}

// Preview renders a template against a sample cart as the shopper would
// get it: c is the shop's template, nil for the default. An SMS ends with
// the opt-out line, as the engine sends it. Unlike Render, a broken
// template is an error.
func (r *Renderer) Preview(kind, channel, locale string, c *Custom) (recovery.Rendered, error) {
	if c != nil {
		if err := r.validate(kind, channel, *c, false); err != nil {
			return recovery.Rendered{}, err
		}
	}
	l := matchLocale(locale)
	in := sampleInput(kind, channel, locale, sampleFull)
	def, ok := r.defaults[setKey{l.lang, kind}]
	if !ok {
		def = r.defaults[setKey{l.lang, recovery.TemplateReminder}]
	}
	out, err := r.execute(def, c, r.fields(in, l), channel)
	if err != nil {
		return out, err
	}
	if channel == string(recovery.ChannelSMS) {
		out.Text = recovery.WithSMSStopLine(out.Text, locale)
	}
	return out, nil
}

var (
	trailingSpace = regexp.MustCompile(`[ \t]+\n`)
	blankLines    = regexp.MustCompile(`\n{3,}`)
	emptyLines    = regexp.MustCompile(`\n{2,}`)
)

// tidyText drops trailing spaces and runs of blank lines that conditional
// template blocks leave behind. A text with nothing in it stays empty, so
// that it is refused rather than sent.
func tidyText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = trailingSpace.ReplaceAllString(s, "\n")
	s = blankLines.ReplaceAllString(s, "\n\n")
	if s = strings.TrimSpace(s); s == "" {
		return ""
	}
	return s + "\n"
}

// tidySMS keeps an SMS to GSM-7 where it can and drops blank lines:
// every character counts.
func tidySMS(s string) string {
	s = foldGSM(strings.ReplaceAll(s, "\r\n", "\n"))
	s = trailingSpace.ReplaceAllString(s, "\n")
	s = emptyLines.ReplaceAllString(s, "\n")
	return strings.TrimSpace(s)
}

// limitedBuffer is a bytes.Buffer that refuses to grow past maxOutput.
type limitedBuffer struct{ bytes.Buffer }

var errTooLong = fmt.Errorf("output exceeds %d KiB", maxOutput>>10)

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > maxOutput {
		return 0, errTooLong
	}
	return b.Buffer.Write(p)
}

var _ io.Writer = (*limitedBuffer)(nil)

// withoutUnsubscribe names the part of an email (text or html) that the
// shop's template c writes and that, rendered as out, leaves out the
// unsubscribe link; "" when none does or the message is no email.
func withoutUnsubscribe(c *Custom, out recovery.Rendered, f Fields, channel string) string {
	if channel != string(recovery.ChannelEmail) || f.UnsubscribeURL == "" {
		return ""
	}
	switch {
	case c.Text != "" && !strings.Contains(out.Text, f.UnsubscribeURL):
		return "text"
	case c.HTML != "" && !strings.Contains(out.HTML, f.UnsubscribeURL):
		return "html"
	}
	return ""
}
