package recovery_test

import (
	"testing"
	"time"

	"github.com/cartback/cartback/recovery"
)

func TestQuietHoursNext(t *testing.T) {
	oslo, _ := time.LoadLocation("Europe/Oslo")
	newYork, _ := time.LoadLocation("America/New_York")
	havana, _ := time.LoadLocation("America/Havana")
	santiago, _ := time.LoadLocation("America/Santiago")
	losAngeles, _ := time.LoadLocation("America/Los_Angeles")
	night := recovery.DefaultQuietHours // 21:00–09:00
	lunch := recovery.QuietHours{Start: "12:00", End: "13:00"}
	for _, tc := range []struct {
		name      string
		q         recovery.QuietHours
		loc       *time.Location
		at, wants string // local wall-clock times, "2006-01-02 15:04"
	}{
		{"daytime", night, oslo, "2025-06-10 14:00", "2025-06-10 14:00"},
		{"evening waits for morning", night, oslo, "2025-06-10 21:30", "2025-06-11 09:00"},
		{"early morning waits", night, oslo, "2025-06-10 06:00", "2025-06-10 09:00"},
		{"end of the window is outside it", night, oslo, "2025-06-10 09:00", "2025-06-10 09:00"},
		{"start of the window is inside it", night, oslo, "2025-06-10 21:00", "2025-06-11 09:00"},
		{"window within a day", lunch, oslo, "2025-06-10 12:30", "2025-06-10 13:00"},
		// The days the clocks change: the time since midnight is an hour
		// off the time on the clock.
		{"spring forward, evening", night, oslo, "2025-03-30 21:30", "2025-03-31 09:00"},
		{"fall back, morning", night, oslo, "2025-10-26 08:30", "2025-10-26 09:00"},
		{"spring forward, New York", night, newYork, "2025-03-09 21:30", "2025-03-10 09:00"},
		{"fall back, New York", night, newYork, "2025-11-02 08:15", "2025-11-02 09:00"},
		{"fall back, just before the window", night, newYork, "2025-11-02 20:45", "2025-11-02 20:45"},
		{"switched off", recovery.QuietHours{Start: "22:00", End: "22:00"}, oslo, "2025-06-10 23:00", "2025-06-10 23:00"},
		// Where the clocks change at midnight, the next morning is still
		// the next morning.
		{"clocks change at midnight, Havana", night, havana, "2026-03-07 21:00", "2026-03-08 09:00"},
		{"clocks change at midnight, Santiago", night, santiago, "2026-09-05 22:30", "2026-09-06 09:00"},
		// Quiet hours ending in the hour the clocks skip end when they resume.
		{"end in the skipped hour", recovery.QuietHours{Start: "01:00", End: "02:30"}, losAngeles, "2026-03-08 01:33", "2026-03-08 03:30"},
	} {
		at, _ := time.ParseInLocation("2006-01-02 15:04", tc.at, tc.loc)
		want, _ := time.ParseInLocation("2006-01-02 15:04", tc.wants, tc.loc)
		if got := tc.q.Next(at, tc.loc); !got.Equal(want) {
			t.Errorf("%s: Next(%s) = %s, want %s", tc.name, tc.at, got.In(tc.loc).Format("2006-01-02 15:04 MST"), want.Format("2006-01-02 15:04 MST"))
		}
	}
}

func TestQuietHoursNextEverywhere(t *testing.T) {
	load := func(name string) *time.Location {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		return loc
	}
	perth, sydney, utc, fiji := load("Australia/Perth"), load("Australia/Sydney"), time.UTC, load("Pacific/Fiji")
	night := recovery.DefaultQuietHours
	at := func(loc *time.Location, s string) time.Time {
		v, _ := time.ParseInLocation("2006-01-02 15:04", s, loc)
		return v
	}
	for _, tc := range []struct {
		name  string
		zones []*time.Location
		at    time.Time
		want  time.Time
	}{
		{"daytime in both", []*time.Location{perth, sydney}, at(sydney, "2026-11-24 14:00"), at(sydney, "2026-11-24 14:00")},
		// 10:00 in Sydney is 07:00 in Perth: wait for Perth's morning.
		{"night in one of them", []*time.Location{perth, sydney}, at(sydney, "2026-11-24 10:00"), at(perth, "2026-11-24 09:00")},
		// 20:00 in Perth is 23:00 in Sydney: wait for both mornings.
		{"night in the other", []*time.Location{sydney, perth}, at(perth, "2026-11-24 20:00"), at(perth, "2026-11-25 09:00")},
		{"one zone", []*time.Location{sydney}, at(sydney, "2026-11-24 22:00"), at(sydney, "2026-11-25 09:00")},
	} {
		got, ok := night.NextEverywhere(tc.at, tc.zones)
		if !ok || !got.Equal(tc.want) {
			t.Errorf("%s: NextEverywhere = %s, %v; want %s", tc.name, got, ok, tc.want)
		}
	}
	// Twelve hours apart, 09:00–21:00 in one is 21:00–09:00 in the other:
	// no hour is daytime in both.
	if got, ok := night.NextEverywhere(at(utc, "2026-11-24 10:00"), []*time.Location{utc, fiji}); ok {
		t.Errorf("UTC and Fiji: %s, want none", got)
	}
}

func TestReplyToMustBeOneAddress(t *testing.T) {
	for value, ok := range map[string]bool{
		"help@shop.example":              true,
		"":                               true,
		"Help Desk help@shop.example":    false,
		"a@shop.example, b@shop.example": false,
		"Support <help@shop.example>":    false,
		"nope":                           false,
	} {
		err := recovery.ShopSettings{EmailReplyTo: value}.Validate()
		if (err == nil) != ok {
			t.Errorf("reply-to %q: %v, want ok %v", value, err, ok)
		}
	}
}

func TestRestoreURLAllowed(t *testing.T) {
	woo := &recovery.Shop{Platform: recovery.PlatformWooCommerce, Domain: "www.shop.example"}
	shopify := &recovery.Shop{Platform: recovery.PlatformShopify, Domain: "demo.myshopify.com"}
	for _, tc := range []struct {
		shop *recovery.Shop
		url  string
		ok   bool
	}{
		{woo, "https://www.shop.example/checkout/order-pay/7/?pay_for_order=true&key=k", true},
		{woo, "https://shop.example/?cartback_restore=t", true},
		{woo, "https://eu.shop.example/cart/", true},
		{woo, "https://evil.example/login", false},
		{woo, "https://shop.example.evil.example/", false},
		{woo, "https://notshop.example/", false},
		{woo, "http://www.shop.example/", false}, // plain http off loopback
		{woo, "javascript:alert(1)", false},
		{woo, "https://user@www.shop.example/", false},
		{woo, "//www.shop.example/", false},
		{shopify, "https://checkout.mystore.com/123/checkouts/abc/recover", true}, // a custom domain
		{shopify, "http://evil.example/", false},
		{&recovery.Shop{Platform: recovery.PlatformWooCommerce, Domain: "127.0.0.1:8080"}, "http://127.0.0.1:8080/?cartback_restore=t", true},
	} {
		if got := tc.shop.RestoreURLAllowed(tc.url); got != tc.ok {
			t.Errorf("%s %s: %v, want %v", tc.shop.Domain, tc.url, got, tc.ok)
		}
	}
}
