package recovery

import "unicode/utf16"

// SMS encodings reported by SMSSegments.
const (
	EncodingGSM7 = "GSM-7"
	EncodingUCS2 = "UCS-2"
)

// Segment sizes: a single message, and each part of a concatenated one
// (the rest carries the concatenation header).
const (
	gsmSingle  = 160
	gsmPart    = 153
	ucs2Single = 70
	ucs2Part   = 67
)

// gsmBasic is the GSM 03.38 default alphabet (one septet each), less the
// escape code.
var gsmBasic = runeSet("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")

// gsmExtension is the GSM 03.38 extension table: two septets each
// (escape + character).
var gsmExtension = runeSet("\f^{}\\[~]|€")

func runeSet(s string) map[rune]bool {
	m := make(map[rune]bool)
	for _, r := range s {
		m[r] = true
	}
	return m
}

// SMSSegments tells how text travels as SMS: "GSM-7" when every character
// is in the GSM 03.38 alphabet (extension-table characters such as € and
// { take two septets), 160 septets in one message or 153 per part;
// otherwise "UCS-2", counted in UTF-16 code units, 70 in one message or
// 67 per part. A character is never split across two parts. Empty text is
// zero segments.
func SMSSegments(text string) (encoding string, segments int) {
	if widths, ok := gsmWidths(text); ok {
		return EncodingGSM7, countSegments(widths, gsmSingle, gsmPart)
	}
	return EncodingUCS2, countSegments(ucs2Widths(text), ucs2Single, ucs2Part)
}

// gsmWidths gives each character's size in septets; ok is false when a
// character is not in the GSM 03.38 alphabet.
func gsmWidths(text string) (widths []int, ok bool) {
	widths = make([]int, 0, len(text))
	for _, r := range text {
		switch {
		case gsmBasic[r]:
			widths = append(widths, 1)
		case gsmExtension[r]:
			widths = append(widths, 2)
		default:
			return nil, false
		}
	}
	return widths, true
}

// ucs2Widths gives each character's size in UTF-16 code units.
func ucs2Widths(text string) []int {
	widths := make([]int, 0, len(text))
	for _, r := range text {
		// range yields U+FFFD for invalid UTF-8, never a lone
		// surrogate, so RuneLen is 1 or 2.
		widths = append(widths, utf16.RuneLen(r))
	}
	return widths
}

// countSegments packs characters of the given widths into as few parts
// as possible without splitting one.
func countSegments(widths []int, single, part int) int {
	total := 0
	for _, w := range widths {
		total += w
	}
	switch {
	case total == 0:
		return 0
	case total <= single:
		return 1
	}
	segments, used := 1, 0
	for _, w := range widths {
		if used+w > part {
			segments++
			used = 0
		}
		used += w
	}
	return segments
}
