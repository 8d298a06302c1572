// Package phone turns the phone numbers shoppers type at checkout into E.164
// form, the only form cartback stores as sendable.
package phone

import (
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Normalize parses raw as a phone number and returns it in E.164 form
// (+4791234567). region is the ISO 3166-1 alpha-2 country assumed for
// numbers written without a country code, usually the billing country; a
// number written with a leading "+" is read the same whatever region is.
// ok is false when raw is not a valid number in its country's numbering
// plan: such numbers must never be sent to.
func Normalize(raw, region string) (e164 string, ok bool) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", false
	}
	num, err := parse(raw, strings.ToUpper(strings.TrimSpace(region)))
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return "", false
	}
	return phonenumbers.Format(num, phonenumbers.E164), true
}

// parse wraps phonenumbers.Parse so that a panic inside the library on some
// unforeseen input becomes an unreadable number instead of taking down the
// webhook handler: raw comes straight from the shopper.
func parse(raw, region string) (num *phonenumbers.PhoneNumber, err error) {
	defer func() {
		if recover() != nil {
			num, err = nil, phonenumbers.ErrNotANumber
		}
	}()
	return phonenumbers.Parse(raw, region)
}
