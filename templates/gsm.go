package templates

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/cartback/cartback/recovery"
)

// gsmReplacements are look-alikes for characters that are not in the GSM
// 03.38 alphabet and would turn a whole SMS into UCS-2, cutting a segment
// from 160 characters to 70.
var gsmReplacements = map[rune]string{
	'\u00a0': " ", '\u2007': " ", '\u2009': " ", '\u202f': " ", // spaces in formatted numbers
	'\u2018': "'", '\u2019': "'", '\u201a': "'", '\u00b4': "'", '`': "'",
	'\u201c': `"`, '\u201d': `"`, '\u201e': `"`, '\u00ab': `"`, '\u00bb': `"`,
	'\u2010': "-", '\u2011': "-", '\u2012': "-", '\u2013': "-", '\u2014': "-", '\u2212': "-",
	'\u2026': "...", '\u2022': "-", '\u00b7': "-", '\u00d7': "x",
	'\u00ad': "", '\u200b': "", '\u200c': "", '\u200d': "", '\ufeff': "",
}

// isGSM reports whether r is in the GSM 03.38 alphabet, as the engine
// counts it.
func isGSM(r rune) bool {
	enc, _ := recovery.SMSSegments(string(r))
	return enc == recovery.EncodingGSM7
}

// foldGSM replaces characters outside the GSM 03.38 alphabet with a
// look-alike that is in it: typographic quotes, dashes and spaces become
// their plain forms, and accented letters the alphabet lacks lose the
// accent ("ó" → "o"), much as carriers' smart encoding does.
//
// It does so only when the whole text then fits GSM-7. A character with no
// look-alike (emoji, non-Latin scripts, "Ł") keeps the message in UCS-2,
// which carries every character as it is: changing the others would then
// cost the shopper the right spelling ("Łódź" → "Łodz") and save nothing.
func foldGSM(s string) string {
	var b strings.Builder
	folded := false
	for _, r := range s {
		switch {
		case isGSM(r):
			b.WriteRune(r)
		default:
			rep, ok := gsmReplacements[r]
			if !ok {
				rep = stripAccents(r)
			}
			for _, d := range rep {
				if !isGSM(d) {
					return s // UCS-2 either way
				}
			}
			b.WriteString(rep)
			folded = true
		}
	}
	if !folded {
		return s
	}
	return b.String()
}

// stripAccents decomposes r and drops its combining marks when what is
// left is in the GSM alphabet; otherwise r is returned unchanged.
func stripAccents(r rune) string {
	var base strings.Builder
	for _, d := range norm.NFD.String(string(r)) {
		if !unicode.Is(unicode.Mn, d) {
			base.WriteRune(d)
		}
	}
	out := base.String()
	if out == "" {
		return string(r)
	}
	for _, d := range out {
		if !isGSM(d) {
			return string(r)
		}
	}
	return out
}
