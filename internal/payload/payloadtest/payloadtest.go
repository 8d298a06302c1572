// Package payloadtest checks the adapters' payload.Reader decoders against
// json.Unmarshal, the reference they must agree with.
package payloadtest

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/cartback/cartback/internal/payload"
)

// Same reads body with read and, when the Reader accepts it, checks that
// json.Unmarshal accepts it too and decodes it to the same value. It
// reports whether the Reader accepted body.
func Same[T any](t testing.TB, body []byte, read func(*payload.Reader, *T)) bool {
	t.Helper()
	var fast, slow T
	r := payload.NewReader(body)
	if read(&r, &fast); !r.Done() {
		return false
	}
	if err := json.Unmarshal(body, &slow); err != nil {
		t.Fatalf("Reader accepted %q, json.Unmarshal did not: %v", body, err)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("Reader and json.Unmarshal differ on %q:\n reader: %+v\n   json: %+v", body, fast, slow)
	}
	return true
}

// Sample returns a JSON document for type t with every field its json tags
// name set to a value that is not the zero value, so that a decoder that
// leaves a field out decodes it differently from json.Unmarshal.
func Sample(t reflect.Type) []byte {
	b, err := json.Marshal(sample(t))
	if err != nil {
		panic(err)
	}
	return b
}

func sample(t reflect.Type) any {
	switch t {
	case reflect.TypeFor[payload.Decimal]():
		return "12.50"
	case reflect.TypeFor[payload.ID]():
		return 42
	case reflect.TypeFor[json.RawMessage]():
		return map[string]any{"src": "raw"}
	}
	switch t.Kind() {
	case reflect.String:
		return "text"
	case reflect.Bool:
		return true
	case reflect.Int:
		return 3
	case reflect.Pointer:
		return sample(t.Elem())
	case reflect.Slice:
		return []any{sample(t.Elem()), sample(t.Elem())}
	case reflect.Map:
		return map[string]any{"name": sample(t.Elem())}
	case reflect.Struct:
		m := map[string]any{}
		for f := range t.Fields() {
			if name, _, _ := cut(f.Tag.Get("json")); name != "" && name != "-" {
				m[name] = sample(f.Type)
			}
		}
		return m
	}
	panic("payloadtest: no sample for " + t.String())
}

func cut(tag string) (name, rest string, ok bool) {
	for i := 0; i < len(tag); i++ {
		if tag[i] == ',' {
			return tag[:i], tag[i+1:], true
		}
	}
	return tag, "", false
}
