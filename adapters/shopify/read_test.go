package shopify

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/cartback/cartback/internal/payload"
	"github.com/cartback/cartback/internal/payload/payloadtest"
)

// sameAll checks every reader on body against json.Unmarshal and reports
// whether the checkout reader accepted it.
func sameAll(t testing.TB, body []byte) bool {
	t.Helper()
	payloadtest.Same(t, body, readOrder)
	payloadtest.Same(t, body, readCheckoutDelete)
	return payloadtest.Same(t, body, readCheckout)
}

func TestReadersMatchTags(t *testing.T) {
	for _, typ := range []struct {
		sample []byte
		same   func([]byte) bool
	}{
		{payloadtest.Sample(reflect.TypeFor[checkoutPayload]()), func(b []byte) bool { return payloadtest.Same(t, b, readCheckout) }},
		{payloadtest.Sample(reflect.TypeFor[orderPayload]()), func(b []byte) bool { return payloadtest.Same(t, b, readOrder) }},
		{payloadtest.Sample(reflect.TypeFor[checkoutDeletePayload]()), func(b []byte) bool { return payloadtest.Same(t, b, readCheckoutDelete) }},
	} {
		if !typ.same(typ.sample) {
			t.Errorf("reader declined %s", typ.sample)
		}
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, file := range files {
		body := readTestdata(t, filepath.Base(file))
		r := payload.NewReader(body)
		var p checkoutPayload
		if readCheckout(&r, &p); !r.Done() {
			t.Errorf("%s: the single-pass reader declined it", file)
		}
		sameAll(t, body)
	}
}

// TestReaderEdgeCases covers what json.Unmarshal does that is easy to get
// wrong: repeated keys, null, escapes, keys in other cases, empty arrays.
// Bodies the reader declines are fine; it must never disagree.
func TestReaderEdgeCases(t *testing.T) {
	for _, body := range []string{
		`{"token":"a","token":null}`,
		`{"token":"a","token":"b"}`,
		`{"customer":{"email":"a"},"customer":{"phone":"1"}}`,
		`{"customer":{"email":"a"},"customer":null}`,
		`{"line_items":[{"title":"a","sku":"x"},{"title":"b"}],"line_items":[{"quantity":2}]}`,
		`{"line_items":[{"title":"a"}],"line_items":[]}`,
		`{"line_items":[]}`,
		`{"line_items":null}`,
		`{"shipping_lines":[{"price":null},{"price":1.5},{"price":" 2 "}]}`,
		`{"token":"\u00e9\n\"x\"","email":"caf\u00e9"}`,
		`{"token":"bad utf8 ` + "\xff" + `"}`,
		`{"Token":"a"}`,
		`{"TOKEN":"a","token":"b"}`,
		`{"tok\u0065n":"a"}`,
		`{"token":"a","buyer_accepts_marketing":null,"order_id":"gid://x"}`,
		`{"token":"a","order_id":-1}`,
		`{"token":"a","line_items":[{"quantity":1e3}]}`,
		`{"token":"a","line_items":[{"properties":[{"name":"a","value":"b"}]}]}`,
		`{"token":"a","note":{"x":[1,2,{"y":[]}],"z":"\ud83d\ude00"}}`,
		` {"token":"a"} `,
		`{"token":"a"} {}`,
		`{"token":"a",}`,
		`{"token" "a"}`,
		`[]`, `null`, `{}`, ``, `{`, `{"a":[}`, `{"a":01}`, `{"a":-}`, `{"a":1.}`, `{"a":tru}`,
		`{"total_price_set":{"presentment_money":{"amount":"1","currency_code":"EUR"}},"id":5}`,
	} {
		sameAll(t, []byte(body))
	}
}

func FuzzReaders(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, file := range files {
		f.Add(readTestdata(f, filepath.Base(file)))
	}
	f.Add([]byte(`{"customer":{"email":"a"},"customer":{"phone":"1"},"line_items":[{"title":"a"}],"line_items":[{}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		sameAll(t, body)
	})
}
