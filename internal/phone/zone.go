package phone

import (
	"strconv"
	"sync"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// maxZoneSpread is how far apart (in UTC offset) the zones a number may be
// in can lie for one of them to stand for its owner's evening.
const maxZoneSpread = time.Hour

// geoMobileCountries are the calling codes whose mobile numbers carry an
// area code (Mexico, Argentina, Brazil): their zone is the area's. Elsewhere
// a mobile prefix covers the whole country, and the zone it maps to is
// merely the country's main one.
var geoMobileCountries = map[int32]bool{52: true, 54: true, 55: true}

// TimeZone returns the IANA time zone of an E.164 number's area, or "" when
// it is unknown or could be zones too far apart to pick one: a toll-free
// number, a fixed line whose area spans zones, or a mobile number in a
// country that spans several (Russia, Australia, Indonesia, …), where the
// number says nothing of where its owner lives. Zones within an hour of
// each other count as one: quiet hours need the owner's evening, not
// minute precision.
func TimeZone(e164 string) string {
	num, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return ""
	}
	zones, err := phonenumbers.GetTimezonesForNumber(num)
	if err != nil || len(zones) == 0 || zones[0] == phonenumbers.UNKNOWN_TIMEZONE || (len(zones) > 1 && zoneSpread(zones) > maxZoneSpread) {
		return ""
	}
	// The cached country check first: for most countries it settles it
	// without typing the number (pattern matching).
	if countrySpread(num.GetCountryCode()) > maxZoneSpread && !geographic(num) {
		return ""
	}
	return zones[0]
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

var countrySpreads sync.Map // calling code → time.Duration

// countrySpread is how far apart the zones of a calling code's country
// lie.
func countrySpread(code int32) time.Duration {
	if d, ok := countrySpreads.Load(code); ok {
		return d.(time.Duration)
	}
	zones, err := phonenumbers.GetTimezonesForPrefix(strconv.Itoa(int(code)))
	d := time.Duration(0)
	if err == nil {
		d = zoneSpread(zones)
	}
	countrySpreads.Store(code, d)
	return d
}

var locations sync.Map // zone name → *time.Location, or nil when unknown

// zoneSpread is the difference between the largest and the smallest UTC
// offset of the zones now; zones this system does not know are left out.
func zoneSpread(zones []string) time.Duration {
	now := time.Now()
	lo, hi, seen := 0, 0, false
	for _, name := range zones {
		loc, ok := locations.Load(name)
		if !ok {
			l, err := time.LoadLocation(name)
			if err != nil {
				l = nil
			}
			loc, _ = locations.LoadOrStore(name, l)
		}
		l, _ := loc.(*time.Location)
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
