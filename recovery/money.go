package recovery

import (
	"strings"
)

// currencyDigits lists the ISO 4217 currencies whose minor unit is not
// 1/100. Every other currency has two decimal places.
var currencyDigits = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
	"PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	"CLF": 4, "UYW": 4,
}

// CurrencyDigits returns the number of decimal places of an ISO 4217
// currency's minor unit.
func CurrencyDigits(code string) int {
	if d, ok := currencyDigits[strings.ToUpper(code)]; ok {
		return d
	}
	return 2
}

// ParseMoney reads a decimal amount such as "379.69", "-5" or "1e3"-free
// "1200.5" into integer minor units of currency, without going through
// floating point. Digits beyond the currency's precision are rounded half
// away from zero. An empty string is zero.
func ParseMoney(s, currency string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	digits := CurrencyDigits(currency)
	neg := false
	switch s[0] {
	case '-':
		neg, s = true, s[1:]
	case '+':
		s = s[1:]
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" && (!hasDot || frac == "") {
		return 0, Errorf(EINVALID, "amount %q is not a number", s)
	}
	var v int64
	for _, part := range []string{whole, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return 0, Errorf(EINVALID, "amount %q is not a decimal number", s)
			}
		}
	}
	// 13 whole digits is ten trillion of any currency: beyond any cart,
	// and far enough from int64's limit that minor units cannot overflow.
	if len(strings.TrimLeft(whole, "0")) > 13 {
		return 0, Errorf(EINVALID, "amount %q is too large", s)
	}
	for i := 0; i < len(whole); i++ {
		v = v*10 + int64(whole[i]-'0')
	}
	roundUp := false
	for i := 0; i < digits; i++ {
		d := int64(0)
		if i < len(frac) {
			d = int64(frac[i] - '0')
		}
		v = v*10 + d
	}
	if len(frac) > digits && frac[digits] >= '5' {
		roundUp = true
	}
	if roundUp {
		v++
	}
	if neg {
		v = -v
	}
	return v, nil
}
