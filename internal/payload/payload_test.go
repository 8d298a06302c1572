package payload

import (
	"math"
	"testing"
	"time"

	"github.com/cartback/cartback/recovery"
)

func TestDecimalAndID(t *testing.T) {
	var p struct {
		Str, Num, Null, Missing Decimal
		BigID, StrID, NullID    ID
	}
	body := `{"Str":" 19.90 ","Num":21.99,"Null":null,"BigID":18446744073709551615,"StrID":"gid://shopify/Order/1","NullID":null}`
	if err := Decode([]byte(body), &p); err != nil {
		t.Fatal(err)
	}
	got := []string{string(p.Str), string(p.Num), string(p.Null), string(p.Missing), string(p.BigID), string(p.StrID), string(p.NullID)}
	want := []string{"19.90", "21.99", "", "", "18446744073709551615", "gid://shopify/Order/1", ""}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("field %d = %q, want %q", i, got[i], want[i])
		}
	}
	if ID("0").NonZero() != "" || ID("23").NonZero() != "23" {
		t.Error("NonZero must turn only 0 into \"\"")
	}
}

func TestDecodeErrors(t *testing.T) {
	var p struct {
		Price Decimal `json:"price"`
		Lines []struct {
			ID ID `json:"id"`
		} `json:"lines"`
		Name string `json:"name"`
	}
	tests := []struct{ body, want string }{
		{`{"price":`, "invalid JSON: unexpected end of input at offset 9"},
		{`{"price":{}}`, "price: expected a decimal amount, got object"},
		{`{"lines":[{"id":1.5}]}`, "lines.id: expected an integer id, got number 1.5"},
		{`{"lines":[{"id":true}]}`, "lines.id: expected an integer id, got bool"},
		{`{"name":["x"]}`, "name: expected a string, got array"},
		{`"text"`, "expected a JSON object, got string"},
	}
	for _, tt := range tests {
		err := Decode([]byte(tt.body), &p)
		if recovery.ErrorCode(err) != recovery.EINVALID || recovery.ErrorMessage(err) != tt.want {
			t.Errorf("Decode(%s) = %v, want EINVALID %q", tt.body, err, tt.want)
		}
	}
}

func TestConverter(t *testing.T) {
	c := Converter{Currency: "KWD"}
	if got := c.Money("a", "1.2345"); got != 1235 {
		t.Errorf("Money = %d, want 1235", got)
	}
	if got := c.Time("t", "2026-03-02T09:58:31+01:00", time.RFC3339); !got.Equal(time.Date(2026, 3, 2, 8, 58, 31, 0, time.UTC)) || got.Location() != time.UTC {
		t.Errorf("Time = %v, want 08:58:31 UTC", got)
	}
	if got := c.Time("t", "2017-03-22T19:28:08", "2006-01-02T15:04:05"); !got.Equal(time.Date(2017, 3, 22, 19, 28, 8, 0, time.UTC)) {
		t.Errorf("zoneless Time = %v, want it read as UTC", got)
	}
	if got := c.Product("p", 250, 4); got != 1000 {
		t.Errorf("Product = %d, want 1000", got)
	}
	if got := c.Sum("s", 1, -2, 3); got != 2 {
		t.Errorf("Sum = %d, want 2", got)
	}
	if c.Err() != nil {
		t.Fatalf("Err = %v after valid conversions", c.Err())
	}

	c.Product("line_price", math.MaxInt64/2, 3)
	c.Sum("total", math.MaxInt64, 1) // a later failure does not replace the first
	if msg := recovery.ErrorMessage(c.Err()); msg != "line_price: amount out of range" {
		t.Errorf("Err = %q, want the first failure", msg)
	}
	if c := (Converter{}); c.Sum("s", math.MinInt64, -1) != 0 || c.Err() == nil {
		t.Error("Sum must fail on negative overflow")
	}
}

func TestLocaleAndFirstNonEmpty(t *testing.T) {
	if got := Locale(" nb_NO "); got != "nb-NO" {
		t.Errorf("Locale = %q, want nb-NO", got)
	}
	if got := FirstNonEmpty("", "  ", " b ", "c"); got != "b" {
		t.Errorf("FirstNonEmpty = %q, want b", got)
	}
}
