package recovery

import (
	"testing"
	"time"
)

func TestParseMoney(t *testing.T) {
	tests := []struct {
		in, cur string
		want    int64
		wantErr bool
	}{
		{"379.69", "USD", 37969, false},
		{"0.00", "USD", 0, false},
		{"", "USD", 0, false},
		{"199", "EUR", 19900, false},
		{"12.5", "NOK", 1250, false},
		{"1200", "JPY", 1200, false},
		{"1200.4", "JPY", 1200, false},
		{"1200.5", "JPY", 1201, false},
		{"1.234", "KWD", 1234, false},
		{"-5.10", "SEK", -510, false},
		{".5", "USD", 50, false},
		{"0.005", "USD", 1, false},
		{"0.004", "USD", 0, false},
		{"abc", "USD", 0, true},
		{"1e3", "USD", 0, true},
		{"1.2.3", "USD", 0, true},
		{".", "USD", 0, true},
		{"-", "USD", 0, true},
		{"1234567890123456", "USD", 0, true},
		{"99999999999999", "CLF", 0, true},
		{"9999999999999.99995", "CLF", 100000000000000000, false},
		{"000000000000000001", "USD", 100, false},
	}
	for _, tt := range tests {
		got, err := ParseMoney(tt.in, tt.cur)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseMoney(%q, %s) = %d, %v; want %d, err=%v", tt.in, tt.cur, got, err, tt.want, tt.wantErr)
		}
		if err != nil && ErrorCode(err) != EINVALID {
			t.Errorf("ParseMoney(%q) error code = %s, want %s", tt.in, ErrorCode(err), EINVALID)
		}
	}
}

func TestCurrencyDigits(t *testing.T) {
	for cur, want := range map[string]int{"USD": 2, "nok": 2, "JPY": 0, "jpy": 0, "BHD": 3, "CLF": 4} {
		if got := CurrencyDigits(cur); got != want {
			t.Errorf("CurrencyDigits(%s) = %d, want %d", cur, got, want)
		}
	}
}

func TestNormalizeDomain(t *testing.T) {
	for in, want := range map[string]string{
		"https://Shop.Example.com/":   "shop.example.com",
		"demo.myshopify.com":          "demo.myshopify.com",
		" http://a.b.c/path?x=1 ":     "a.b.c",
		"shop.example.com.":           "shop.example.com",
		"https://localhost:8443/shop": "localhost:8443",
	} {
		if got := NormalizeDomain(in); got != want {
			t.Errorf("NormalizeDomain(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestShopValidateNamesField(t *testing.T) {
	tests := map[string]Shop{
		"platform":                           {Platform: "magento", Domain: "a.example.com"},
		"domain":                             {Platform: PlatformWooCommerce, Domain: "not a domain"},
		"webhook_secret":                     {Platform: PlatformWooCommerce, Domain: "a.example.com", WebhookSecret: "short"},
		"settings.country":                   {Platform: PlatformWooCommerce, Domain: "a.example.com", Settings: ShopSettings{Country: "Norway"}},
		"settings.time_zone":                 {Platform: PlatformWooCommerce, Domain: "a.example.com", Settings: ShopSettings{TimeZone: "Mars/Base"}},
		"settings.holdout_percent":           {Platform: PlatformWooCommerce, Domain: "a.example.com", Settings: ShopSettings{HoldoutPercent: 80}},
		"settings.sequence.steps[0].channel": {Platform: PlatformWooCommerce, Domain: "a.example.com", Settings: ShopSettings{Sequence: &Sequence{Steps: []Step{{Channel: "fax", After: Duration(time.Hour), Template: "reminder"}}}}},
	}
	for field, shop := range tests {
		err := shop.Validate()
		if ErrorCode(err) != EINVALID || len(ErrorMessage(err)) < len(field) || ErrorMessage(err)[:len(field)] != field {
			t.Errorf("%s: Validate() = %v, want EINVALID naming %q", field, err, field)
		}
	}
	ok := Shop{Platform: PlatformShopify, Domain: "demo.myshopify.com", Settings: ShopSettings{Country: "NO", TimeZone: "Europe/Oslo"}}
	if err := ok.Validate(); err != nil {
		t.Errorf("valid shop: %v", err)
	}
}
