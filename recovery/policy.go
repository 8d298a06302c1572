package recovery

import (
	"fmt"
	"strings"
	"time"
)

// Email consent policies of a shop.
const (
	// EmailConsentAll reminds everyone who entered an email address: a
	// reminder about their own cart is a service message (the default).
	EmailConsentAll = "all"
	// EmailConsentMarketing reminds only shoppers who accepted marketing
	// email, for merchants who want the strict reading of EU rules.
	EmailConsentMarketing = "marketing"
)

// QuietHours is a daily window, in the recipient's local time, in which no
// SMS is sent. Start after End spans midnight (21:00-09:00).
type QuietHours struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// DefaultQuietHours keeps texts out of the night.
var DefaultQuietHours = QuietHours{Start: "21:00", End: "09:00"}

func parseClock(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a time such as 21:00", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// Validate returns an error naming the bad field.
func (q QuietHours) Validate() error {
	if _, err := parseClock(q.Start); err != nil {
		return Errorf(EINVALID, "start: %v", err)
	}
	if _, err := parseClock(q.End); err != nil {
		return Errorf(EINVALID, "end: %v", err)
	}
	return nil
}

// Next returns t if it lies outside the quiet window in loc, else the end
// of the window. A window whose start equals its end is switched off.
func (q QuietHours) Next(t time.Time, loc *time.Location) time.Time {
	start, err1 := parseClock(q.Start)
	end, err2 := parseClock(q.End)
	if err1 != nil || err2 != nil || start == end {
		return t
	}
	local := t.In(loc)
	// The time on the clock, not the time since midnight: on the day the
	// clocks change the two differ by an hour.
	clock := time.Duration(local.Hour())*time.Hour + time.Duration(local.Minute())*time.Minute + time.Duration(local.Second())*time.Second
	at := func(days int, d time.Duration) time.Time {
		// Wall-clock time of today or a later day, built from the date's
		// fields: where the clocks change at midnight, that midnight does
		// not exist, and a day counted from it can land on the evening
		// before.
		w := time.Date(local.Year(), local.Month(), local.Day()+days, int(d/time.Hour), int(d%time.Hour/time.Minute), 0, 0, loc)
		for !w.After(t) {
			// The end fell in the hour the clocks skipped and was read as
			// the hour before: the quiet hours end within the hour after
			// the clocks resume, never before.
			w = w.Add(time.Hour)
		}
		return w
	}
	switch {
	case start < end && clock >= start && clock < end:
		return at(0, end)
	case start > end && clock >= start:
		return at(1, end)
	case start > end && clock < end:
		return at(0, end)
	}
	return t
}

// NextEverywhere returns the earliest time from t that lies outside the
// quiet hours in every one of zones (t itself when it does). ok is false
// when no such time comes within two days: the zones lie too far apart
// for their daytimes to meet.
func (q QuietHours) NextEverywhere(t time.Time, zones []*time.Location) (next time.Time, ok bool) {
	next = t
	limit := t.Add(48 * time.Hour)
	for next.Before(limit) {
		moved := false
		for _, loc := range zones {
			if w := q.Next(next, loc); w.After(next) {
				next, moved = w, true
			}
		}
		if !moved {
			return next, true
		}
	}
	return time.Time{}, false
}

// Defaults of the SMS frequency rule: one SMS per contact per 48 hours
// per shop, as US carrier rules ask of abandonment texts.
const (
	DefaultSMSFrequencyCap    = 1
	DefaultSMSFrequencyWindow = 48 * time.Hour
)

// smsStopLine is the opt-out instruction every SMS ends with.
var smsStopLine = map[string]string{
	"en": "Reply STOP to opt out",
	"nb": "Svar STOPP for å melde deg av",
	"no": "Svar STOPP for å melde deg av",
	"nn": "Svar STOPP for å melde deg av",
	"sv": "Svara STOPP för att avregistrera dig",
	"da": "Svar STOP for at afmelde",
	"fi": "Vastaa STOP peruaksesi",
	"de": "Antworte STOP zum Abbestellen",
}

// SMSStopLine returns the opt-out line in the locale's language (English
// when there is none).
func SMSStopLine(locale string) string {
	lang, _, _ := strings.Cut(strings.ToLower(strings.ReplaceAll(locale, "_", "-")), "-")
	if l, ok := smsStopLine[lang]; ok {
		return l
	}
	return smsStopLine["en"]
}

// WithSMSStopLine makes sure an SMS body ends with the opt-out line, as
// the scheduler does before every text; previews call it to show the same.
func WithSMSStopLine(text, locale string) string {
	line := SMSStopLine(locale)
	text = strings.TrimRight(text, " \n")
	if strings.HasSuffix(text, line) {
		return text
	}
	return text + "\n" + line
}
