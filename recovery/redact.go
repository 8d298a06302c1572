package recovery

import (
	"regexp"
	"strings"
)

var (
	// emailInText is an address as providers echo it in their errors,
	// with or without angle brackets.
	emailInText = regexp.MustCompile(`[^\s<>"'(),;:\[\]]+@[^\s<>"'(),;:\[\]]+`)
	// phoneInText is an E.164 number.
	phoneInText = regexp.MustCompile(`\+[1-9][0-9]{6,14}`)
)

// RedactContacts masks the email addresses and phone numbers in a
// provider's message before it goes to the logs, which outlive a
// shopper's erasure: "kari@example.com" becomes "k…@example.com" and
// "+4791234567" becomes "+47…67". The message record keeps the full text.
func RedactContacts(s string) string {
	if strings.IndexByte(s, '@') >= 0 {
		s = emailInText.ReplaceAllStringFunc(s, func(addr string) string {
			at := strings.LastIndexByte(addr, '@')
			if at <= 0 {
				return addr
			}
			first := []rune(addr[:at])[0]
			return string(first) + "…" + addr[at:]
		})
	}
	if strings.IndexByte(s, '+') >= 0 {
		s = phoneInText.ReplaceAllStringFunc(s, func(n string) string {
			return n[:3] + "…" + n[len(n)-2:]
		})
	}
	return s
}
