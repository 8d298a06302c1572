package templates

import (
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/currency"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"

	"github.com/cartback/cartback/recovery"
)

// nbsp keeps an amount and its currency symbol on one line.
const nbsp = "\u00a0"

// formatMoney writes minor units of a currency the way the locale writes
// prices: "$379.69" (en-US), "499,00 kr" (nb), "1 499,00 kr" (sv),
// "1.499,00 kr." (da), "1 499,50 €" (fi), "379,69 €" (de), "¥1,500" (en).
//
// The digits, the grouping and the decimal separator and the currency's
// symbol in that locale come from golang.org/x/text. Its currency
// formatter always puts the symbol first ("€ 379,69"), which is wrong for
// every Nordic language and German, so the symbol is placed here instead:
// after the amount in nb, sv, da, fi and de (before it in de-AT, de-CH and
// de-LI), before it in English. The number of decimals is the currency's
// own (recovery.CurrencyDigits), computed from integers, never floats.
func formatMoney(minor int64, code string, l locale) string {
	code = strings.ToUpper(strings.TrimSpace(code))
	digits := recovery.CurrencyDigits(code)
	neg := minor < 0
	if neg {
		minor = -minor
	}
	div := int64(1)
	for range digits {
		div *= 10
	}
	p := printer(l.tag)
	amount := p.Sprint(number.Decimal(minor / div))
	if digits > 0 {
		frac := strconv.FormatInt(minor%div, 10)
		amount += decimalSeparator(l.tag) + strings.Repeat("0", digits-len(frac)) + frac
	}
	if neg {
		amount = "-" + amount
	}

	symbol := code
	if u, err := currency.ParseISO(code); err == nil {
		symbol = p.Sprint(currency.Symbol(u))
	}
	if symbol == "" {
		return amount
	}
	switch symbolPlace(l) {
	case before:
		// A symbol that ends in a letter ("NOK", "kr") is kept apart from
		// the digits; "$" and "€" are written against them.
		if r, _ := utf8.DecodeLastRuneInString(symbol); unicode.IsLetter(r) || r == '.' {
			return symbol + nbsp + amount
		}
		return symbol + amount
	case beforeSpaced:
		return symbol + nbsp + amount
	}
	return amount + nbsp + symbol
}

// Where a locale writes the currency symbol.
const (
	after        = iota // "379,69 €"
	before              // "$379.69", "NOK 499.00"
	beforeSpaced        // "€ 379,69"
)

// symbolPlace says where the locale writes the currency, as CLDR's
// currency patterns do.
func symbolPlace(l locale) int {
	switch l.lang {
	case "en":
		return before
	case "de":
		switch l.region() {
		case "AT", "CH", "LI":
			return beforeSpaced
		}
	}
	return after
}

var (
	printers   sync.Map // language.Tag → *message.Printer
	separators sync.Map // language.Tag → string
)

func printer(tag language.Tag) *message.Printer {
	if p, ok := printers.Load(tag); ok {
		return p.(*message.Printer)
	}
	p, _ := printers.LoadOrStore(tag, message.NewPrinter(tag))
	return p.(*message.Printer)
}

// decimalSeparator returns the locale's decimal separator, as x/text
// writes it.
func decimalSeparator(tag language.Tag) string {
	if s, ok := separators.Load(tag); ok {
		return s.(string)
	}
	s := printer(tag).Sprint(number.Decimal(1.5, number.Scale(1)))
	s = strings.TrimSuffix(strings.TrimPrefix(s, "1"), "5")
	if s == "" {
		s = "."
	}
	separators.Store(tag, s)
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }
