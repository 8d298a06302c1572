// Package templates is cartback's localised recovery.Renderer: it writes
// the reminder emails and texts that bring shoppers back to their carts.
//
// Default templates, embedded from default/, exist for the kinds reminder,
// follow-up and incentive, for email (subject, HTML and plain text) and
// SMS, in English, Norwegian bokmål (also serving "no" and "nn"), Swedish,
// Danish, Finnish and German. The locale of the render input is matched to
// these with golang.org/x/text/language; anything else is English. Prices
// are formatted for the cart's currency and the shopper's locale.
//
// Merchants may replace any part with their own template, per shop, kind,
// channel, language and variant, through a Store. Their templates run with
// the same data as the defaults (Fields; FIELDS.md lists it): HTML with
// html/template, so that cart data is escaped for its context, the subject,
// plain text and SMS with text/template. Validate refuses a broken template
// when it is saved; one that fails at send time anyway is replaced with the
// default and reported through Options.OnFallback, never stopping the send.
//
// Default SMS texts leave the opt-out line to the engine, which appends
// recovery.SMSStopLine on a line of its own, and fit one GSM-7 segment
// together with it, a 66-character restore link and a discount code.
package templates
