package phone

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// maxZoneSpread is how far apart (in UTC offset) a country's zones can lie
// for the zone its mobile prefix maps to to stand for its owner's evening.
const maxZoneSpread = time.Hour

// geoMobileCountries are the calling codes whose mobile numbers carry an
// area code (Mexico, Argentina, Brazil): their zone is the area's. Elsewhere
// a mobile prefix covers the whole country, and the zone it maps to is
// merely the country's main one.
var geoMobileCountries = map[int32]bool{52: true, 54: true, 55: true}

// TimeZones returns the IANA time zones an E.164 number's owner may be in:
// one for most numbers (the area's, or the country's when it has one);
// several for a number that says no more than its country (a mobile or
// toll-free number in a country that spans zones: Russia, Australia,
// Indonesia, North America's toll-free range) or an area that spans
// zones. Quiet hours then hold in every one of them. nil when unknown.
func TimeZones(e164 string) []string {
	num, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return nil
	}
	zones, err := phonenumbers.GetTimezonesForNumber(num)
	if err != nil || len(zones) == 0 || zones[0] == phonenumbers.UNKNOWN_TIMEZONE {
		return country(num.GetCountryCode()).zones
	}
	// The cached country check first: for most countries it settles it
	// without typing the number (pattern matching). A mobile prefix that
	// covers the whole country maps to its main zone only, which says
	// nothing of where the owner lives.
	if c := country(num.GetCountryCode()); c.spread > maxZoneSpread && !geographic(num) {
		return c.zones
	}
	return known(zones)
}

// mainland leaves out the ocean territories that share a calling code
// with a continent's country (Guam and American Samoa with North America,
// the Cocos and Christmas Islands with Australia): a number that says no
// more than its calling code is far likelier the continent's, and a day
// that must be daytime from Guam to Newfoundland as well hardly has an
// hour of it. Areas of their own keep their zones (a Guam number is
// geographic).
func mainland(zones []string) []string {
	var out []string
	for _, z := range zones {
		if !strings.HasPrefix(z, "Pacific/") && !strings.HasPrefix(z, "Indian/") && !strings.HasPrefix(z, "Atlantic/") && !strings.HasPrefix(z, "Antarctica/") {
			out = append(out, z)
		}
	}
	if len(out) == 0 {
		return zones // an island country
	}
	return out
}

// known returns the zones this system can load, without repeats.
func known(zones []string) []string {
	var out []string
	for _, name := range zones {
		if location(name) != nil && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// geographic reports whether the number's prefix names an area rather
// than the whole country.
func geographic(num *phonenumbers.PhoneNumber) bool {
	switch phonenumbers.GetNumberType(num) {
	case phonenumbers.FIXED_LINE, phonenumbers.FIXED_LINE_OR_MOBILE:
		return true
	case phonenumbers.MOBILE:
		return geoMobileCountries[num.GetCountryCode()]
	}
	return false
}

// countryZoneSet is what a calling code says of time zones: how far apart
// its countries' zones lie, and the zones a number that says no more than
// the code may be in.
type countryZoneSet struct {
	spread time.Duration
	// zones is shared by every caller: read it, never change it.
	zones []string
}

var countries sync.Map // calling code → countryZoneSet

// country returns the calling code's zones, worked out once: every text to
// a number of a wide country asks.
func country(code int32) countryZoneSet {
	if c, ok := countries.Load(code); ok {
		return c.(countryZoneSet)
	}
	var c countryZoneSet
	if zones, err := phonenumbers.GetTimezonesForPrefix(strconv.Itoa(int(code))); err == nil {
		c = countryZoneSet{spread: zoneSpread(zones), zones: mainland(known(zones))}
	}
	countries.Store(code, c)
	return c
}

var locations sync.Map // zone name → *time.Location, or nil when unknown

// location is time.LoadLocation, cached; nil for a zone this system does
// not know.
func location(name string) *time.Location {
	loc, ok := locations.Load(name)
	if !ok {
		l, err := time.LoadLocation(name)
		if err != nil {
			l = nil
		}
		loc, _ = locations.LoadOrStore(name, l)
	}
	l, _ := loc.(*time.Location)
	return l
}

// zoneSpread is the difference between the largest and the smallest UTC
// offset of the zones now; zones this system does not know are left out.
func zoneSpread(zones []string) time.Duration {
	now := time.Now()
	lo, hi, seen := 0, 0, false
	for _, name := range zones {
		l := location(name)
		if l == nil {
			continue
		}
		_, off := now.In(l).Zone()
		if !seen || off < lo {
			lo = off
		}
		if !seen || off > hi {
			hi = off
		}
		seen = true
	}
	return time.Duration(hi-lo) * time.Second
}
