package templates

import (
	"strings"
	"time"

	"golang.org/x/text/language"
)

// Languages are the languages the default templates are written in, in the
// order the matcher prefers them; English comes first because it is the
// fallback for every language cartback does not speak.
var Languages = []string{"en", "nb", "sv", "da", "fi", "de"}

var (
	languageTags = func() []language.Tag {
		tags := make([]language.Tag, len(Languages))
		for i, l := range Languages {
			tags[i] = language.MustParse(l)
		}
		return tags
	}()
	matcher = language.NewMatcher(languageTags)
)

// locale is the outcome of matching a requested locale to the supported
// languages.
type locale struct {
	// lang is one of Languages: the language the message is written in.
	lang string
	// tag keeps the requested region ("de-AT", "en-US") when it belongs to
	// lang, for number, currency and date conventions.
	tag language.Tag
}

// matchLocale picks the language to write in for a BCP 47 locale such as
// "nb-NO", "nn", "de_AT" or "fr". Norwegian ("no", "nn") is served in
// bokmål; anything the matcher cannot place is English.
func matchLocale(requested string) locale {
	en := locale{lang: "en", tag: language.English}
	s := strings.ReplaceAll(strings.TrimSpace(requested), "_", "-")
	if s == "" {
		return en
	}
	t, err := language.Parse(s)
	if err != nil && t == language.Und {
		return en
	}
	_, i, conf := matcher.Match(t)
	if conf == language.No {
		return en
	}
	l := locale{lang: Languages[i], tag: languageTags[i]}
	base, _ := t.Base()
	switch b := base.String(); {
	case b == l.lang:
		l.tag = t
	case l.lang == "nb" && (b == "no" || b == "nn"):
		// Written in bokmål, so formatted as bokmål, in the same region.
		if r, conf := t.Region(); conf == language.Exact {
			l.tag, _ = language.Compose(languageTags[i], r)
		}
	}
	return l
}

// region returns the ISO 3166 region of the locale, "" when it names none.
func (l locale) region() string {
	r, conf := l.tag.Region()
	if conf == language.No || conf == language.Low {
		return ""
	}
	return r.String()
}

var monthNames = map[string][12]string{
	"en": {"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
	"nb": {"januar", "februar", "mars", "april", "mai", "juni", "juli", "august", "september", "oktober", "november", "desember"},
	"sv": {"januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober", "november", "december"},
	"da": {"januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober", "november", "december"},
	"de": {"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"},
}

// formatDate writes a calendar date the way the locale writes it in running
// text: "2 March 2026" (en-US "March 2, 2026"), "2. mars 2026",
// "2 mars 2026", "2. marts 2026", "2.3.2026", "2. März 2026".
// golang.org/x/text has no date formatting, hence the small table.
func formatDate(t time.Time, l locale) string {
	d, m, y := t.Day(), t.Month(), t.Year()
	month := ""
	if names, ok := monthNames[l.lang]; ok {
		month = names[m-1]
	}
	switch l.lang {
	case "en":
		if l.region() == "US" {
			return month + " " + itoa(d) + ", " + itoa(y)
		}
		return itoa(d) + " " + month + " " + itoa(y)
	case "sv":
		return itoa(d) + " " + month + " " + itoa(y)
	case "fi":
		return itoa(d) + "." + itoa(int(m)) + "." + itoa(y)
	default: // nb, da, de
		return itoa(d) + ". " + month + " " + itoa(y)
	}
}
