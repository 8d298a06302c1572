// Package payload holds what the platform adapters share when reading
// webhook bodies: JSON decoding with errors a merchant can act on, money
// and id values that never pass through float64, and a converter that
// turns payload values into domain values while keeping the first failure.
package payload

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cartback/cartback/recovery"
)

// Decimal is a money amount exactly as written in a payload: the text of a
// JSON string, or the literal of a JSON number, so that 21.99 is never
// rounded by a trip through float64. null is "".
type Decimal string

// UnmarshalJSON implements json.Unmarshaler.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	text, ok := ScalarText(b)
	if !ok {
		return &json.UnmarshalTypeError{Value: KindOf(b), Type: reflect.TypeFor[Decimal]()}
	}
	*d = Decimal(text)
	return nil
}

// ID is an integer identifier as decimal text. Platform ids exceed
// float64's exact range, so a JSON number is kept as its literal and must
// be a whole non-negative number; a JSON string is taken as it is. null is "".
type ID string

// UnmarshalJSON implements json.Unmarshaler.
func (id *ID) UnmarshalJSON(b []byte) error {
	text, ok := ScalarText(b)
	if !ok || (b[0] != '"' && text != "" && !isDigits(text)) {
		return &json.UnmarshalTypeError{Value: KindOf(b), Type: reflect.TypeFor[ID]()}
	}
	*id = ID(text)
	return nil
}

// NonZero returns id, or "" for the id 0 that platforms use for "none".
func (id ID) NonZero() string {
	if id == "0" {
		return ""
	}
	return string(id)
}

// ScalarText returns the trimmed text of a JSON string or the literal of a
// JSON number; null and an absent value are "". ok is false for objects,
// arrays and booleans.
func ScalarText(raw json.RawMessage) (text string, ok bool) {
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return "", true
	case raw[0] == '"':
		if s, ok := plainString(raw); ok {
			return strings.TrimSpace(s), true
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", false
		}
		return strings.TrimSpace(s), true
	case raw[0] == '-' || ('0' <= raw[0] && raw[0] <= '9'):
		return string(raw), true
	}
	return "", false
}

// plainString returns the value of the JSON string token raw when it has
// no escapes and is valid UTF-8, the common case that needs no decoding;
// ok is false for anything else, which json.Unmarshal must then read.
func plainString(raw []byte) (s string, ok bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	content := raw[1 : len(raw)-1]
	for _, c := range content {
		if c < ' ' || c == '"' || c == '\\' {
			return "", false
		}
	}
	if !utf8.Valid(content) {
		return "", false
	}
	return string(content), true
}

// KindOf names the kind of JSON value raw holds ("object", "array",
// "number 1.5"), as json.UnmarshalTypeError.Value does for error messages.
func KindOf(raw []byte) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case 'n':
		return "null"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	case '"':
		return "string"
	}
	return "number " + string(raw)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Decode unmarshals body into v. Failures become recovery.EINVALID errors
// whose message says what is wrong and, for a value of the wrong type, in
// which field, so whoever reads a rejected delivery can tell why.
func Decode(body []byte, v any) error {
	err := json.Unmarshal(body, v)
	if err == nil {
		return nil
	}
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntaxErr):
		msg := strings.Replace(syntaxErr.Error(), "JSON input", "input", 1)
		return recovery.Errorf(recovery.EINVALID, "invalid JSON: %s at offset %d", msg, syntaxErr.Offset)
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return recovery.Errorf(recovery.EINVALID, "expected a JSON object, got %s", typeErr.Value)
	case errors.As(err, &typeErr):
		return recovery.Errorf(recovery.EINVALID, "%s: expected %s, got %s", typeErr.Field, describeType(typeErr.Type), typeErr.Value)
	}
	return recovery.Errorf(recovery.EINVALID, "invalid JSON: %v", err)
}

// describeType names the JSON a Go type is decoded from.
func describeType(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[Decimal]():
		return "a decimal amount"
	case reflect.TypeFor[ID]():
		return "an integer id"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map, reflect.Pointer:
		return "an object"
	}
	return t.String()
}

// Converter turns payload values into domain values and keeps the first
// failure, so that mapping code reads as a plain list of assignments and
// checks Err once at the end.
type Converter struct {
	// Currency is the currency amounts are read in.
	Currency string
	err      error
}

// Err returns the first failure, a recovery.EINVALID error, or nil.
func (c *Converter) Err() error { return c.err }

// Fail records a failure in field unless an earlier one is already kept.
func (c *Converter) Fail(field, format string, args ...any) {
	if c.err == nil {
		c.err = recovery.Errorf(recovery.EINVALID, "%s: %s", field, fmt.Sprintf(format, args...))
	}
}

// Money returns the amount d in minor units of the converter's currency.
func (c *Converter) Money(field string, d Decimal) int64 {
	v, err := recovery.ParseMoney(string(d), c.Currency)
	if err != nil {
		c.Fail(field, "%s", recovery.ErrorMessage(err))
	}
	return v
}

// Time parses s with layout and returns it in UTC. A layout without a zone
// reads s as UTC. "" is the zero time.
func (c *Converter) Time(field, s, layout string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(layout, s)
	if err != nil {
		if layout == time.RFC3339 {
			c.Fail(field, "not an RFC 3339 time")
		} else {
			c.Fail(field, "not a time like %s", layout)
		}
		return time.Time{}
	}
	return t.UTC()
}

// Product returns price × quantity, failing instead of overflowing.
func (c *Converter) Product(field string, price int64, quantity int) int64 {
	q := int64(quantity)
	if price == 0 || q == 0 {
		return 0
	}
	p := price * q
	if p/q != price || (price == -1 && q == -1<<63) || (q == -1 && price == -1<<63) {
		c.Fail(field, "amount out of range")
		return 0
	}
	return p
}

// Sum adds amounts, failing instead of overflowing.
func (c *Converter) Sum(field string, amounts ...int64) int64 {
	var total int64
	for _, a := range amounts {
		next := total + a
		if (a > 0 && next < total) || (a < 0 && next > total) {
			c.Fail(field, "amount out of range")
			return 0
		}
		total = next
	}
	return total
}

// FirstNonEmpty returns the first of values that is not blank, trimmed.
func FirstNonEmpty(values ...string) string {
	for _, v := range values {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// Locale turns a locale as platforms write it ("nb_NO") into the BCP 47
// form cartback stores ("nb-NO").
func Locale(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "_", "-")
}
