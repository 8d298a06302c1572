package phone

import (
	"github.com/nyaruka/phonenumbers"
)

// TimeZone returns the IANA time zone of an E.164 number's area, or "" when
// it is unknown or spans several zones too far apart to pick one. Where a
// number maps to several zones (a country-wide mobile prefix) the first is
// taken: quiet hours need the owner's evening, not minute precision.
func TimeZone(e164 string) string {
	num, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return ""
	}
	zones, err := phonenumbers.GetTimezonesForNumber(num)
	if err != nil || len(zones) == 0 || zones[0] == phonenumbers.UNKNOWN_TIMEZONE {
		return ""
	}
	return zones[0]
}
