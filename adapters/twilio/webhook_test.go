package twilio

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/cartback/cartback/recovery"
)

// vector is one signed request from testdata/twilio_request_validator_vectors.txt.
type vector struct {
	line      int
	url       string
	params    url.Values
	body      string // form or JSON body, when the vector signs one
	signature string
}

// readVectors parses the vectors file: "key = value" lines, sections
// separated by blank lines, one vector per signature line.
func readVectors(t *testing.T) (authToken string, vectors []vector) {
	t.Helper()
	f, err := os.Open("testdata/twilio_request_validator_vectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cur vector
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			cur = vector{}
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("line %d: %q is not key = value", n, line)
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		switch key {
		case "auth_token":
			authToken = value
		case "url":
			cur.url = value
		case "body":
			cur.body = value
		case "params":
			cur.params = url.Values{}
			for _, kv := range strings.Split(value, ", ") {
				k, v, _ := strings.Cut(kv, "=")
				cur.params.Set(k, v)
			}
		case "signature":
			v := cur
			v.line, v.signature = n, value
			vectors = append(vectors, v)
		case "bodySHA256":
		default:
			t.Fatalf("line %d: unknown key %q", n, key)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if authToken == "" || len(vectors) == 0 {
		t.Fatal("no auth token or vectors in the file")
	}
	return authToken, vectors
}

func TestValidateRequestVectors(t *testing.T) {
	t.Parallel()
	token, vectors := readVectors(t)
	checked := 0
	for _, v := range vectors {
		params := v.params
		if v.body != "" {
			if strings.HasPrefix(v.body, "{") {
				// JSON bodies are signed through bodySHA256 in the URL;
				// Twilio's SMS webhooks are always form posts.
				continue
			}
			var err error
			if params, err = url.ParseQuery(v.body); err != nil {
				t.Fatalf("line %d: %v", v.line, err)
			}
		}
		checked++
		if !ValidateRequest(token, v.url, params, v.signature) {
			t.Errorf("line %d: ValidateRequest(%q, %v, %q) = false, want true", v.line, v.url, params, v.signature)
		}
		if ValidateRequest("54321", v.url, params, v.signature) {
			t.Errorf("line %d: valid with the wrong auth token", v.line)
		}
		if ValidateRequest(token, v.url+"&baz=3", params, v.signature) {
			t.Errorf("line %d: valid for another URL", v.line)
		}
		tampered := url.Values{}
		for k, vs := range params {
			tampered[k] = append([]string(nil), vs...)
		}
		tampered.Set("To", "+15005550006")
		if ValidateRequest(token, v.url, tampered, v.signature) {
			t.Errorf("line %d: valid with a changed field", v.line)
		}
	}
	if checked != 2 {
		t.Errorf("checked %d form vectors, want 2", checked)
	}
}

// The variants the vectors file notes in its comments.
func TestValidateRequestVariants(t *testing.T) {
	t.Parallel()
	token, vectors := readVectors(t)
	v := vectors[0]
	const httpSignature = "n2xBNyzSW7rfYStDtOFiFMv7qNo=" // http URL, no port
	tests := []struct {
		name      string
		url       string
		signature string
		want      bool
	}{
		{"https with port, signed without", strings.Replace(v.url, ".com", ".com:1234", 1), v.signature, true},
		{"https with default port", strings.Replace(v.url, ".com", ".com:443", 1), v.signature, true},
		{"http", strings.Replace(v.url, "https", "http", 1), httpSignature, true},
		{"http with port", strings.Replace(strings.Replace(v.url, "https", "http", 1), ".com", ".com:1234", 1), httpSignature, true},
		{"http signature for https", v.url, httpSignature, false},
		{"params sorted wrongly", v.url, "95+Bu0JVPi0r/SsESZCVf0dWAjw=", false},
		{"garbage signature", v.url, "WRONG SIGNATURE", false},
		{"no signature", v.url, "", false},
	}
	for _, tt := range tests {
		if got := ValidateRequest(token, tt.url, v.params, tt.signature); got != tt.want {
			t.Errorf("%s: ValidateRequest(%q, …, %q) = %v, want %v", tt.name, tt.url, tt.signature, got, tt.want)
		}
	}
	if ValidateRequest("", v.url, v.params, v.signature) {
		t.Error("valid with an empty auth token")
	}
}

func TestParseStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		form    string
		want    Status
		outcome recovery.MessageStatus
		stop    bool
		wantErr bool
	}{
		{
			name:    "delivered",
			form:    "MessageSid=SM1&SmsSid=SM1&MessageStatus=delivered&SmsStatus=delivered&To=%2B4798765432&From=%2B4791234567&AccountSid=AC1&ApiVersion=2010-04-01",
			want:    Status{MessageSID: "SM1", MessageStatus: "delivered", To: "+4798765432"},
			outcome: recovery.MessageDelivered,
		},
		{
			name:    "undelivered with code",
			form:    "MessageSid=SM2&MessageStatus=undelivered&ErrorCode=30003&To=%2B4798765432",
			want:    Status{MessageSID: "SM2", MessageStatus: "undelivered", ErrorCode: "30003", To: "+4798765432"},
			outcome: recovery.MessageUndelivered,
		},
		{
			name:    "failed",
			form:    "MessageSid=SM3&MessageStatus=failed&ErrorCode=30008",
			want:    Status{MessageSID: "SM3", MessageStatus: "failed", ErrorCode: "30008"},
			outcome: recovery.MessageFailed,
		},
		{
			name:    "sent",
			form:    "MessageSid=SM4&MessageStatus=sent",
			want:    Status{MessageSID: "SM4", MessageStatus: "sent"},
			outcome: recovery.MessageSent,
		},
		{
			name:    "failed, opted out",
			form:    "MessageSid=SM10&MessageStatus=failed&ErrorCode=21610&To=%2B4798765432",
			want:    Status{MessageSID: "SM10", MessageStatus: "failed", ErrorCode: "21610", To: "+4798765432"},
			outcome: recovery.MessageFailed,
			stop:    true,
		},
		{
			name:    "failed, landline",
			form:    "MessageSid=SM11&MessageStatus=failed&ErrorCode=21614",
			want:    Status{MessageSID: "SM11", MessageStatus: "failed", ErrorCode: "21614"},
			outcome: recovery.MessageFailed,
			stop:    true,
		},
		{
			name:    "undelivered, a landline (the carrier says so)",
			form:    "MessageSid=SM12&MessageStatus=undelivered&ErrorCode=30006",
			want:    Status{MessageSID: "SM12", MessageStatus: "undelivered", ErrorCode: "30006"},
			outcome: recovery.MessageUndelivered,
			stop:    true,
		},
		{
			name:    "undelivered, a number the carrier does not know",
			form:    "MessageSid=SM13&MessageStatus=undelivered&ErrorCode=30005",
			want:    Status{MessageSID: "SM13", MessageStatus: "undelivered", ErrorCode: "30005"},
			outcome: recovery.MessageUndelivered,
			stop:    true,
		},
		{
			name: "queued changes nothing",
			form: "MessageSid=SM5&MessageStatus=queued",
			want: Status{MessageSID: "SM5", MessageStatus: "queued"},
		},
		{
			name: "unknown status kept",
			form: "MessageSid=SM6&MessageStatus=Partially_Delivered",
			want: Status{MessageSID: "SM6", MessageStatus: "partially_delivered"},
		},
		{
			name:    "legacy fields",
			form:    "SmsSid=SM7&SmsStatus=delivered",
			want:    Status{MessageSID: "SM7", MessageStatus: "delivered"},
			outcome: recovery.MessageDelivered,
		},
		{name: "no sid", form: "MessageStatus=delivered", wantErr: true},
		{name: "no status", form: "MessageSid=SM8", wantErr: true},
		{name: "empty", form: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form, err := url.ParseQuery(tt.form)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseStatus(form)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseStatus: err = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParseStatus = %+v, want %+v", got, tt.want)
			}
			report, ok := got.Report()
			if ok != (tt.outcome != "") {
				t.Fatalf("Report ok = %v, want %v", ok, tt.outcome != "")
			}
			if !ok {
				return
			}
			want := recovery.DeliveryReport{
				Provider:    "twilio",
				ProviderID:  tt.want.MessageSID,
				Status:      tt.outcome,
				ErrorCode:   tt.want.ErrorCode,
				StopContact: tt.stop,
			}
			if report != want {
				t.Errorf("Report = %+v, want %+v", report, want)
			}
		})
	}
}

func TestParseInbound(t *testing.T) {
	t.Parallel()
	const base = "MessageSid=SM9&From=%2B4798765432&To=%2B4791234567&"
	tests := []struct {
		name    string
		form    string
		optOut  bool
		optIn   bool
		wantErr bool
		// confirm: cartback must confirm the opt-out, Twilio does not.
		confirm bool
	}{
		{name: "STOP", form: base + "Body=STOP", optOut: true},
		{name: "stop lower case, padded", form: base + "Body=+stop%0A", optOut: true},
		{name: "Unsubscribe", form: base + "Body=Unsubscribe", optOut: true},
		{name: "END", form: base + "Body=END", optOut: true},
		{name: "quit", form: base + "Body=quit", optOut: true},
		{name: "STOPALL", form: base + "Body=STOPALL", optOut: true},
		{name: "REVOKE", form: base + "Body=REVOKE", optOut: true},
		{name: "OPTOUT", form: base + "Body=OPTOUT", optOut: true},
		{name: "cancel", form: base + "Body=Cancel", optOut: true},
		{name: "START", form: base + "Body=START", optIn: true},
		{name: "unstop", form: base + "Body=unstop", optIn: true},
		{name: "yes", form: base + "Body=Yes", optIn: true},
		{name: "sentence with stop", form: base + "Body=please+stop+texting", optOut: false},
		{name: "stop with punctuation", form: base + "Body=STOP!", optOut: true},
		{name: "Stopp, as the Norwegian and Swedish lines ask", form: base + "Body=Stopp.", optOut: true, confirm: true},
		{name: "punctuation only", form: base + "Body=.!"},
		{name: "help", form: base + "Body=HELP"},
		{name: "question", form: base + "Body=Is+the+blue+one+back+in+stock%3F"},
		{name: "OptOutType STOP", form: base + "Body=Stopp&OptOutType=STOP", optOut: true},
		{name: "OptOutType START", form: base + "Body=Begin&OptOutType=START", optIn: true},
		{name: "OptOutType HELP", form: base + "Body=info&OptOutType=HELP"},
		{name: "empty body (MMS)", form: base + "Body=&NumMedia=1"},
		{name: "no From", form: "To=%2B4791234567&Body=STOP", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form, err := url.ParseQuery(tt.form)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseInbound(form)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseInbound: err = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if got.OptOut != tt.optOut || got.OptIn != tt.optIn {
				t.Errorf("OptOut, OptIn = %v, %v, want %v, %v", got.OptOut, got.OptIn, tt.optOut, tt.optIn)
			}
			if (got.Confirm != "") != tt.confirm {
				t.Errorf("Confirm = %q, want one: %v", got.Confirm, tt.confirm)
			}
			if got.From != "+4798765432" || got.To != "+4791234567" || got.MessageSID != "SM9" {
				t.Errorf("ParseInbound = %+v, want From +4798765432, To +4791234567, MessageSID SM9", got)
			}
			if got.Body != form.Get("Body") {
				t.Errorf("Body = %q, want %q as sent", got.Body, form.Get("Body"))
			}
		})
	}
}

// TestEveryStopLineKeywordOptsOut replies with the keyword each language's
// stop line tells the shopper to send.
func TestEveryStopLineKeywordOptsOut(t *testing.T) {
	t.Parallel()
	keyword := regexp.MustCompile(`\b[A-ZÄÖÅ]{3,}\b`)
	for _, locale := range []string{"en", "nb", "no", "nn", "sv", "da", "fi", "de", "fr", "es"} {
		line := recovery.SMSStopLine(locale)
		word := keyword.FindString(line)
		if word == "" {
			t.Errorf("%s: no keyword in %q", locale, line)
			continue
		}
		in, err := ParseInbound(url.Values{"From": {"+4798765432"}, "Body": {strings.ToLower(word)}})
		if err != nil || !in.OptOut {
			t.Errorf("%s: replying %q as %q asks does not opt out (%v)", locale, word, line, err)
		}
	}
}

// TestValidateRequestRepeatedField: Twilio signs every value of a field
// sent more than once (MediaUrl in some callbacks), values sorted; the
// string signed is written out here as Twilio's libraries build it.
func TestValidateRequestRepeatedField(t *testing.T) {
	t.Parallel()
	const token, u = "12345", "https://mycompany.com/webhooks/twilio/inbound"
	signed := u + "BodySTOP" + "From+4798765432" + "MediaUrlhttps://a.example/1" + "MediaUrlhttps://b.example/2"
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(signed))
	signature := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	// The form as it arrives, the repeated field's values in another order.
	form, _ := url.ParseQuery("MediaUrl=https%3A%2F%2Fb.example%2F2&From=%2B4798765432&Body=STOP&MediaUrl=https%3A%2F%2Fa.example%2F1")
	if !ValidateRequest(token, u, form, signature) {
		t.Error("a request with a repeated field is refused")
	}
	if !ValidateRequest(token, strings.Replace(u, ".com/", ".com:443/", 1), form, signature) {
		t.Error("the same with the default port named is refused")
	}
	form.Add("MediaUrl", "https://c.example/3")
	if ValidateRequest(token, u, form, signature) {
		t.Error("a value added to the repeated field still verifies")
	}
	// A field repeated with equal values, signed with the value once (as
	// some of Twilio's libraries compute it).
	once := hmac.New(sha1.New, []byte(token))
	once.Write([]byte(u + "BodySTOP" + "MediaUrlhttps://a.example/1"))
	same, _ := url.ParseQuery("Body=STOP&MediaUrl=https%3A%2F%2Fa.example%2F1&MediaUrl=https%3A%2F%2Fa.example%2F1")
	if !ValidateRequest(token, u, same, base64.StdEncoding.EncodeToString(once.Sum(nil))) {
		t.Error("a field repeated with equal values, signed once, is refused")
	}
}
