package payload

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Reader reads a JSON document in a single pass, for the webhook bodies the
// adapters decode on every delivery. json.Unmarshal scans a body twice (once
// to validate it, once to decode it) and finds each field by reflection;
// Reader validates as it goes, skips what the caller does not read without
// building anything, and lets the caller assign fields in plain code.
//
// Reader is a fast path only. It does not explain failures: on anything it
// does not expect — malformed JSON, a value of the wrong type, a key that
// json.Unmarshal might match to a field case-insensitively — it fails, and
// the caller must then decode the body again with Decode, which gives the
// error message (or, for input Reader merely declines, the result). Callers
// therefore only ever see Decode's behaviour; Reader's methods assign their
// destination exactly as json.Unmarshal would for the same Go type, so that
// a body Reader accepts decodes to the same value either way.
//
// Once failed, a Reader stays failed and every method is a no-op, so code
// using it checks once at the end (Done; DecodeWith and DecodeHeadWith do).
type Reader struct {
	data   []byte
	pos    int
	depth  int
	first  bool // the open object or array has no member read yet
	failed bool
}

// maxDepth bounds nesting. json.Unmarshal rejects documents nested deeper
// than 10000; Reader gives up far earlier and leaves such rare documents to
// Decode, which keeps its skipping loop and its error reporting simple.
const maxDepth = 1000

// NewReader returns a Reader for the JSON document data.
func NewReader(data []byte) Reader { return Reader{data: data} }

// Done checks that only whitespace follows the top-level value and reports
// whether the whole document was read without failing.
func (r *Reader) Done() bool {
	if r.skipSpace(); r.pos != len(r.data) {
		r.fail()
	}
	return !r.failed
}

// Failed reports whether reading has failed so far. A reader that stops
// early on purpose (see DecodeHeadWith) checks this instead of Done.
func (r *Reader) Failed() bool { return r.failed }

// fail marks the Reader failed and moves it to the end of its input, so
// that every loop over members or elements stops at once.
func (r *Reader) fail() {
	r.failed = true
	r.pos = len(r.data)
}

func (r *Reader) skipSpace() {
	for r.pos < len(r.data) {
		switch r.data[r.pos] {
		case ' ', '\t', '\n', '\r':
			r.pos++
		default:
			return
		}
	}
}

// peek returns the first byte of the next token, or 0 at the end of input.
func (r *Reader) peek() byte {
	if r.skipSpace(); r.pos < len(r.data) {
		return r.data[r.pos]
	}
	return 0
}

// Null consumes a null and reports whether the next value was one.
func (r *Reader) Null() bool {
	if r.peek() != 'n' {
		return false
	}
	r.literal("null")
	return !r.failed
}

// Object enters the object that is the next value; it fails when the next
// value is not an object. Its members are then read with Key.
func (r *Reader) Object() bool { return r.open('{') }

// Array enters the array that is the next value; it fails when the next
// value is not an array. Its elements are then read with Elem.
func (r *Reader) Array() bool { return r.open('[') }

func (r *Reader) open(c byte) bool {
	if r.peek() != c {
		r.fail()
		return false
	}
	if r.depth++; r.depth > maxDepth {
		r.fail()
		return false
	}
	r.pos++
	r.first = true
	return true
}

// next moves past the separator before the next member or element of the
// open object or array, and reports whether there is one; at the closing
// bracket it leaves the object or array.
func (r *Reader) next(end byte) bool {
	c := r.peek()
	if c == end {
		r.pos++
		r.depth--
		r.first = false
		return false
	}
	if r.first {
		r.first = false
		return c != 0 || r.failedNow()
	}
	if c != ',' {
		r.fail()
		return false
	}
	r.pos++
	return true
}

// failedNow fails the Reader and returns false, for use in expressions.
func (r *Reader) failedNow() bool {
	r.fail()
	return false
}

// Key reads the key of the next member of the open object, and the colon
// after it; the caller then reads or skips the member's value. ok is false
// after the last member. key is valid until the next call and is the key
// as written: a key with escapes never matches a field name, so it is left
// to Unknown to reject.
func (r *Reader) Key() (key []byte, ok bool) {
	if !r.next('}') {
		return nil, false
	}
	if r.peek() != '"' {
		r.fail()
		return nil, false
	}
	key, _ = r.str()
	if r.peek() != ':' {
		r.fail()
		return nil, false
	}
	r.pos++
	// key is the raw token; drop its quotes.
	return key[1 : len(key)-1], !r.failed
}

// Elem reports whether the open array has another element, to be read
// next.
func (r *Reader) Elem() bool { return r.next(']') }

// Unknown skips the value of a member whose key matched no field read by
// the caller. json.Unmarshal also matches keys case-insensitively (and
// after unescaping), so a key that might match a field that way is not
// skipped: Reader fails and leaves the body to Decode. Field names in the
// adapters are lower case ASCII, so only keys with upper case letters,
// escapes or non-ASCII bytes can.
func (r *Reader) Unknown(key []byte) {
	for _, c := range key {
		if ('A' <= c && c <= 'Z') || c == '\\' || c >= utf8.RuneSelf {
			r.fail()
			return
		}
	}
	r.Skip()
}

// String reads a string into dst. null leaves dst as it is, as with
// json.Unmarshal; any other value fails.
func (r *Reader) String(dst *string) {
	switch r.peek() {
	case '"':
		*dst = r.stringValue()
	case 'n':
		r.literal("null")
	default:
		r.fail()
	}
}

// stringValue reads the string token at the current position.
func (r *Reader) stringValue() string {
	tok, plain := r.str()
	if r.failed {
		return ""
	}
	if plain {
		return string(tok[1 : len(tok)-1])
	}
	// Escapes and invalid UTF-8 are rare; encoding/json itself decodes
	// them, so that they read exactly as with json.Unmarshal.
	var s string
	if json.Unmarshal(tok, &s) != nil {
		r.fail()
	}
	return s
}

// Bool reads true or false into dst; null leaves dst as it is.
func (r *Reader) Bool(dst *bool) {
	switch r.peek() {
	case 't':
		r.literal("true")
		*dst = true
	case 'f':
		r.literal("false")
		*dst = false
	case 'n':
		r.literal("null")
	default:
		r.fail()
	}
}

// Int reads a whole number into dst; null leaves dst as it is. Fractions,
// exponents and numbers out of int's range fail, as json.Unmarshal rejects
// them.
func (r *Reader) Int(dst *int) {
	switch c := r.peek(); {
	case c == '-' || ('0' <= c && c <= '9'):
		n, err := strconv.ParseInt(string(r.number()), 10, strconv.IntSize)
		if err != nil {
			r.fail()
			return
		}
		*dst = int(n)
	case c == 'n':
		r.literal("null")
	default:
		r.fail()
	}
}

// Decimal reads a money amount into dst as Decimal.UnmarshalJSON does.
func (r *Reader) Decimal(dst *Decimal) {
	if text, ok := r.scalar(); ok {
		*dst = Decimal(text)
	}
}

// ID reads an identifier into dst as ID.UnmarshalJSON does.
func (r *Reader) ID(dst *ID) {
	quoted := r.peek() == '"'
	text, ok := r.scalar()
	if ok && !quoted && text != "" && !isDigits(text) {
		r.fail()
		return
	}
	if ok {
		*dst = ID(text)
	}
}

// scalar reads a string, number or null as ScalarText reads it.
func (r *Reader) scalar() (text string, ok bool) {
	switch c := r.peek(); {
	case c == '"':
		text = strings.TrimSpace(r.stringValue())
	case c == '-' || ('0' <= c && c <= '9'):
		text = string(r.number())
	case c == 'n':
		r.literal("null")
	default:
		r.fail()
	}
	return text, !r.failed
}

// Raw validates the next value and returns its JSON text, as
// json.RawMessage holds it (null is "null"). The result shares memory with
// the document: it must not be kept or modified.
func (r *Reader) Raw() []byte {
	r.skipSpace()
	start := r.pos
	r.Skip()
	if r.failed {
		return nil
	}
	return r.data[start:r.pos]
}

// Skip validates and skips the next value.
func (r *Reader) Skip() {
	// Inside a skipped value nothing is decoded, so a stack of the open
	// brackets is all the state needed: it says whether a key comes next
	// and which closing bracket is allowed.
	var stack [64]byte
	open := stack[:0]
	for {
		switch c := r.peek(); {
		case c == '{' || c == '[':
			if r.depth+len(open) >= maxDepth {
				r.fail()
				return
			}
			r.pos++
			open = append(open, c)
			if r.peek() == c+2 { // '{'+2 is '}', '['+2 is ']'
				r.pos++
				open = open[:len(open)-1]
				break
			}
			if c == '{' {
				r.memberKey()
			}
			continue // read the first member's or element's value
		case c == '"':
			r.str()
		case c == '-' || ('0' <= c && c <= '9'):
			r.number()
		case c == 't':
			r.literal("true")
		case c == 'f':
			r.literal("false")
		case c == 'n':
			r.literal("null")
		default:
			r.fail()
		}
		// A value is complete; close finished containers and move on to
		// the next member or element, if any.
		for len(open) > 0 && !r.failed {
			top := open[len(open)-1]
			c := r.peek()
			if c == top+2 {
				r.pos++
				open = open[:len(open)-1]
				continue
			}
			if c != ',' {
				r.fail()
				return
			}
			r.pos++
			if top == '{' {
				r.memberKey()
			}
			break
		}
		if len(open) == 0 || r.failed {
			return
		}
	}
}

// memberKey reads a key and its colon inside a skipped object.
func (r *Reader) memberKey() {
	if r.peek() != '"' {
		r.fail()
		return
	}
	r.str()
	if r.peek() != ':' {
		r.fail()
		return
	}
	r.pos++
}

// str reads the string token at the current position and returns it with
// its quotes. plain reports that its content is its value: no escapes and
// valid UTF-8.
func (r *Reader) str() (tok []byte, plain bool) {
	start := r.pos
	i := start + 1
	ascii, escaped := true, false
	for i < len(r.data) {
		c := r.data[i]
		switch {
		case c == '"':
			r.pos = i + 1
			tok = r.data[start:r.pos]
			return tok, !escaped && (ascii || utf8.Valid(tok))
		case c < ' ':
			r.fail()
			return nil, false
		case c == '\\':
			escaped = true
			if i+1 >= len(r.data) {
				r.fail()
				return nil, false
			}
			switch r.data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(r.data) || !isHex4(r.data[i+2:i+6]) {
					r.fail()
					return nil, false
				}
				i += 6
			default:
				r.fail()
				return nil, false
			}
			continue
		case c >= utf8.RuneSelf:
			ascii = false
		}
		i++
	}
	r.fail()
	return nil, false
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// number reads the number token at the current position, following the
// JSON grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (r *Reader) number() []byte {
	d, start := r.data, r.pos
	i := start
	digits := func() bool {
		n := i
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
		return i > n
	}
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case !digits():
		r.fail()
		return nil
	}
	if i < len(d) && d[i] == '.' {
		if i++; !digits() {
			r.fail()
			return nil
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		if i++; i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if !digits() {
			r.fail()
			return nil
		}
	}
	r.pos = i
	return d[start:i]
}

// literal reads the literal want (true, false or null).
func (r *Reader) literal(want string) {
	if len(r.data)-r.pos < len(want) || string(r.data[r.pos:r.pos+len(want)]) != want {
		r.fail()
		return
	}
	r.pos += len(want)
}

// Slice reads an array into *s, reading each element with elem, or null
// into a nil slice. Like json.Unmarshal it decodes into the elements *s
// already has, so that a repeated key reads the same either way.
func Slice[T any](r *Reader, s *[]T, elem func(*Reader, *T)) {
	if r.Null() {
		*s = nil
		return
	}
	if !r.Array() {
		return
	}
	v := *s
	i := 0
	for ; r.Elem(); i++ {
		switch {
		case i < len(v):
		case i < cap(v):
			// json.Unmarshal reuses the backing array here too, old
			// element and all.
			v = v[:i+1]
		default:
			var zero T
			v = append(v, zero)
		}
		elem(r, &v[i])
	}
	if i < len(v) {
		v = v[:i]
	}
	if i == 0 {
		v = []T{}
	}
	*s = v
}

// Struct reads an object into *p with read, or null into a nil pointer.
// Like json.Unmarshal it reads into the struct *p already points to.
func Struct[T any](r *Reader, p **T, read func(*Reader, *T)) {
	if r.Null() {
		*p = nil
		return
	}
	if *p == nil {
		*p = new(T)
	}
	read(r, *p)
}

// DecodeWith decodes body into v with read, a Reader-based decoder written
// for v's type, and falls back to Decode when the Reader fails. The result,
// and any error, are therefore always Decode's; read only makes the common
// case cheaper.
func DecodeWith[T any](body []byte, v *T, read func(*Reader, *T)) error {
	r := NewReader(body)
	if read(&r, v); r.Done() {
		return nil
	}
	// Decode must start from the value the caller passed, as it would have
	// without the fast path; callers pass a zero value.
	var zero T
	*v = zero
	return Decode(body, v)
}

// DecodeHeadWith is DecodeWith for documents this program wrote itself
// with encoding/json: read may return as soon as it has what it needs, and
// the rest of the document is neither read nor checked. It falls back to
// Decode when the Reader fails.
func DecodeHeadWith[T any](body []byte, v *T, read func(*Reader, *T)) error {
	r := NewReader(body)
	if read(&r, v); !r.failed {
		return nil
	}
	var zero T
	*v = zero
	return Decode(body, v)
}

// Unmarshaler reads the next value with u.UnmarshalJSON, which is given
// the value's JSON text (null included) as json.Unmarshal gives it; an
// error fails the Reader.
func (r *Reader) Unmarshaler(u json.Unmarshaler) {
	if raw := r.Raw(); r.failed || u.UnmarshalJSON(raw) != nil {
		r.fail()
	}
}
