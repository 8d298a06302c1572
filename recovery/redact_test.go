package recovery

import (
	"strings"
	"testing"
)

func TestRedactContacts(t *testing.T) {
	for in, want := range map[string]string{
		`smtp: send: 550 5.1.1 <kari.nordmann@example.net> unknown, affected recipient(s): <kari.nordmann@example.net>`: `smtp: send: 550 5.1.1 <k…@example.net> unknown, affected recipient(s): <k…@example.net>`,
		`twilio: 21211: The 'To' number +4791234567 is not a valid phone number.`:                                       `twilio: 21211: The 'To' number +47…67 is not a valid phone number.`,
		`recipient "øyvind@example.no" is not an email address`:                                                         `recipient "ø…@example.no" is not an email address`,
		`smtp: connect: dial tcp 127.0.0.1:25: connection refused`:                                                      `smtp: connect: dial tcp 127.0.0.1:25: connection refused`,
		``: ``,
	} {
		if got := RedactContacts(in); got != want {
			t.Errorf("RedactContacts(%q)\n = %q\nwant %q", in, got, want)
		}
	}
	if got := RedactContacts("a@b@c"); strings.Contains(got, "a@b") {
		t.Errorf("odd address kept: %q", got)
	}
}
