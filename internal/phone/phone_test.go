package phone

import (
	"slices"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, raw, region string
		want              string
		ok                bool
	}{
		{"US national with punctuation", "+1(502)-459-2181", "US", "+15024592181", true},
		{"US national", "(502) 459-2181", "US", "+15024592181", true},
		{"NO mobile", "912 34 567", "NO", "+4791234567", true},
		{"NO with country code, other region", "+47 912 34 567", "US", "+4791234567", true},
		{"NO with country code, no region", "+4791234567", "", "+4791234567", true},
		{"NO dialled internationally from SE", "00 47 912 34 567", "SE", "+4791234567", true},
		{"region is case-insensitive", "91234567", "no", "+4791234567", true},
		{"SE mobile", "070-123 45 67", "SE", "+46701234567", true},
		{"FI mobile", "040 1234567", "FI", "+358401234567", true},
		{"DE mobile", "0151 23456789", "DE", "+4915123456789", true},
		{"AU mobile", "0412 345 678", "AU", "+61412345678", true},
		{"AU mobile with country code", "+61 412 345 678", "NO", "+61412345678", true},

		{"empty", "", "US", "", false},
		{"blank", "   ", "US", "", false},
		{"letters", "call me maybe", "US", "", false},
		{"too short", "12", "NO", "", false},
		{"fictional US area code", "(555) 555-5555", "US", "", false},
		{"unknown country code", "+999 1234 5678", "US", "", false},
		{"national number without region", "912 34 567", "", "", false},
		{"unknown region", "912 34 567", "XX", "", false},
		{"too long", "+47 912 34 567 912 34 567 912 34 567", "NO", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Normalize(tt.raw, tt.region)
			if got != tt.want || ok != tt.ok {
				t.Errorf("Normalize(%q, %q) = %q, %v; want %q, %v", tt.raw, tt.region, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func FuzzNormalize(f *testing.F) {
	for _, seed := range []struct{ raw, region string }{
		{"+1(502)-459-2181", "US"}, {"912 34 567", "NO"}, {"00 47 912 34 567", "SE"},
		{"0412 345 678", "AU"}, {"tel:+49-30-1234567;ext=2", "DE"}, {"", ""},
	} {
		f.Add(seed.raw, seed.region)
	}
	f.Fuzz(func(t *testing.T, raw, region string) {
		got, ok := Normalize(raw, region)
		if ok != (got != "") {
			t.Fatalf("Normalize(%q, %q) = %q, %v: ok must match a non-empty result", raw, region, got, ok)
		}
		if !ok {
			return
		}
		// E.164 is a fixed point: normalising it again changes nothing.
		if again, ok := Normalize(got, ""); !ok || again != got {
			t.Fatalf("Normalize(%q, \"\") = %q, %v; want %q, true", got, again, ok, got)
		}
	})
}

func TestTimeZones(t *testing.T) {
	for number, want := range map[string][]string{
		"+4791234567":    {"Europe/Oslo"},         // mobile, one zone in the country
		"+4915112345678": {"Europe/Berlin"},       // mobile, one zone
		"+13105550123":   {"America/Los_Angeles"}, // US numbers carry an area code
		"+12125550123":   {"America/New_York"},
		"+61291234567":   {"Australia/Sydney"},  // a Sydney landline
		"+5511912345678": {"America/Sao_Paulo"}, // Brazilian mobiles carry an area code
		"not a number":   nil,
	} {
		if got := TimeZones(number); !slices.Equal(got, want) {
			t.Errorf("TimeZones(%s) = %q, want %q", number, got, want)
		}
	}
	// Numbers that say no more than their country, or an area spanning
	// zones: every zone they leave open.
	for number, mustHave := range map[string][]string{
		"+79141234567":   {"Europe/Moscow", "Asia/Kamchatka"},     // a Russian mobile
		"+61412345678":   {"Australia/Perth", "Australia/Sydney"}, // an Australian mobile
		"+6281234567890": {"Asia/Jakarta", "Asia/Jayapura"},       // an Indonesian mobile
		"+18005551234":   {"America/New_York", "America/Los_Angeles"},
		"+61891234567":   {"Australia/Perth", "Australia/Adelaide"}, // a landline area spanning two
		"+351912345678":  {"Europe/Lisbon"},                         // a Portuguese mobile: Lisbon, not only the Azores
	} {
		got := TimeZones(number)
		for _, zone := range mustHave {
			if !slices.Contains(got, zone) {
				t.Errorf("TimeZones(%s) = %q, lacks %s", number, got, zone)
			}
		}
	}
	// The ocean territories sharing a calling code stay out of a number
	// that says no more than that code.
	for number, mustNot := range map[string][]string{
		"+61412345678": {"Indian/Cocos", "Indian/Christmas"},
		"+18005551234": {"Pacific/Guam", "Pacific/Pago_Pago", "Pacific/Saipan"},
	} {
		got := TimeZones(number)
		for _, zone := range mustNot {
			if slices.Contains(got, zone) {
				t.Errorf("TimeZones(%s) = %q, holds %s", number, got, zone)
			}
		}
	}
}
