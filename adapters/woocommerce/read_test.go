package woocommerce

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/cartback/cartback/internal/payload/payloadtest"
)

// sameAll checks every reader on body against json.Unmarshal and reports
// whether the order reader accepted it.
func sameAll(t testing.TB, body []byte) bool {
	t.Helper()
	payloadtest.Same(t, body, readCart)
	payloadtest.Same(t, body, readCartDeleted)
	return payloadtest.Same(t, body, readOrder)
}

func TestReadersMatchTags(t *testing.T) {
	for _, typ := range []struct {
		sample []byte
		same   func([]byte) bool
	}{
		{payloadtest.Sample(reflect.TypeFor[orderPayload]()), func(b []byte) bool { return payloadtest.Same(t, b, readOrder) }},
		{payloadtest.Sample(reflect.TypeFor[cartPayload]()), func(b []byte) bool { return payloadtest.Same(t, b, readCart) }},
		{payloadtest.Sample(reflect.TypeFor[cartDeletedPayload]()), func(b []byte) bool { return payloadtest.Same(t, b, readCartDeleted) }},
	} {
		if !typ.same(typ.sample) {
			t.Errorf("reader declined %s", typ.sample)
		}
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, file := range files {
		body := readTestdata(t, filepath.Base(file))
		if !payloadtest.Same(t, body, readOrder) && !payloadtest.Same(t, body, readCart) {
			t.Errorf("%s: the single-pass readers declined it", file)
		}
		sameAll(t, body)
	}
}

// TestReaderEdgeCases covers what json.Unmarshal does that is easy to get
// wrong. Bodies the readers decline are fine; they must never disagree.
func TestReaderEdgeCases(t *testing.T) {
	for _, body := range []string{
		`{"billing":{"email":"a"},"billing":{"phone":"1"},"billing":null}`,
		`{"meta_data":[{"key":"a","value":[1]},{"key":"b","value":null}],"meta_data":[{"display_value":"x"}]}`,
		`{"line_items":[{"image":null,"meta_data":[]}],"status":"pending","id":"7"}`,
		`{"items":[{"attributes":[]},{"attributes":{"Size":"M","n":1,"o":{}}},{"attributes":null}]}`,
		`{"items":[{"attributes":"x"}]}`,
		`{"customer":null,"consent":{"email_marketing":null,"sms_marketing":true},"totals":{"total":1e2}}`,
		`{"Status":"pending"}`,
		`{"cart_key":"k\u00e9"}`,
		`{"id":1.5}`, `{"id":true}`, `null`, `[]`, `{"status":"x"} x`,
	} {
		sameAll(t, []byte(body))
	}
}

func FuzzReaders(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, file := range files {
		f.Add(readTestdata(f, filepath.Base(file)))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		sameAll(t, body)
	})
}
