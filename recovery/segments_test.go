package recovery

import (
	"strings"
	"testing"
)

func TestSMSSegments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		text     string
		encoding string
		segments int
	}{
		{"empty", "", "GSM-7", 0},
		{"short", "Nordic Knits: your cart is saved. Reply STOP to opt out", "GSM-7", 1},
		{"gsm 160", strings.Repeat("a", 160), "GSM-7", 1},
		{"gsm 161", strings.Repeat("a", 161), "GSM-7", 2},
		{"gsm 306", strings.Repeat("a", 306), "GSM-7", 2},
		{"gsm 307", strings.Repeat("a", 307), "GSM-7", 3},
		{"gsm accents and greek", "Hæ, søt Åse! Über alles? ¿Què? ΔΦΓΛΩ £$¥ §ñ", "GSM-7", 1},
		{"extension chars count 2", strings.Repeat("€", 80), "GSM-7", 1},
		{"extension over 160", strings.Repeat("€", 80) + "a", "GSM-7", 2},
		{"all extension chars", "^{}\\[~]|€\f", "GSM-7", 1},
		// 152 septets, then € (2) does not fit into the first part's 153.
		{"escape pair not split", strings.Repeat("a", 152) + "€" + strings.Repeat("a", 152), "GSM-7", 3},
		{"gsm newline", "line one\nline two\r\n", "GSM-7", 1},
		{"ucs2 one char", "ç", "UCS-2", 1},
		{"ucs2 70", strings.Repeat("ж", 70), "UCS-2", 1},
		{"ucs2 71", strings.Repeat("ж", 71), "UCS-2", 2},
		{"ucs2 134", strings.Repeat("ж", 134), "UCS-2", 2},
		{"ucs2 135", strings.Repeat("ж", 135), "UCS-2", 3},
		{"ucs2 mixed with gsm", "Your cart at Café Zoë is saved – 10% off", "UCS-2", 1},
		{"emoji counts 2", strings.Repeat("🛒", 35), "UCS-2", 1},
		{"emoji over 70", strings.Repeat("🛒", 35) + "a", "UCS-2", 2},
		// 66 units, then a surrogate pair does not fit into 67.
		{"surrogate pair not split", strings.Repeat("a", 66) + "🛒" + strings.Repeat("a", 66), "UCS-2", 3},
		{"cjk", "您的购物车已保存", "UCS-2", 1},
		{"lower-case c cedilla is not gsm", "Ça va, ça?", "UCS-2", 1},
		{"backtick is not gsm", "`code`", "UCS-2", 1},
	}
	for _, tt := range tests {
		encoding, segments := SMSSegments(tt.text)
		if encoding != tt.encoding || segments != tt.segments {
			t.Errorf("%s: SMSSegments = %s, %d; want %s, %d", tt.name, encoding, segments, tt.encoding, tt.segments)
		}
	}
}
