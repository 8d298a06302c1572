package smtp

import (
	"crypto/rand"
	"fmt"
	"html/template"
	netmail "net/mail"
	"net/url"
	"strings"

	mail "github.com/wneessen/go-mail"

	"github.com/cartback/cartback/recovery"
)

// messageID is the Message-ID of a reminder, without angle brackets. It
// depends only on the step, so a retry of a send whose outcome was lost
// carries the same id and receivers that deduplicate drop the copy; a
// test (no cart) gets a random one.
func (s *Sender) messageID(m *recovery.Message) string {
	if m.CartID == 0 {
		// A test from the template editor: each is a message of its own
		// (mail services drop a Message-ID they have seen).
		b := make([]byte, 8)
		rand.Read(b)
		return fmt.Sprintf("cb.%d.test.%x@%s", m.ShopID, b, s.from.domain)
	}
	return fmt.Sprintf("cb.%d.%d.%d@%s", m.ShopID, m.CartID, m.Step, s.from.domain)
}

// compose builds the email of m. Its errors are permanent: sending the
// same message again would fail the same way.
func (s *Sender) compose(m *recovery.Message) (*mail.Msg, string, error) {
	invalid := func(format string, args ...any) error {
		return &recovery.SendError{Message: "smtp: " + fmt.Sprintf(format, args...)}
	}
	// No User-Agent: it tells spam filters and attackers only what
	// library we use.
	msg := mail.NewMsg(mail.WithNoDefaultUserAgent())

	name := headerText(m.FromName)
	if name == "" {
		name = s.from.name
	}
	// From an address value, not a formatted string: the library quotes a
	// display name it is given as a value, but parses a formatted one, and
	// a shop called 12" Vinyl does not parse.
	if _, err := netmail.ParseAddress(s.from.address); err != nil {
		return nil, "", invalid("from: %v", err)
	}
	msg.FromMailAddress(&netmail.Address{Name: name, Address: s.from.address})
	if err := msg.To(strings.TrimSpace(m.To)); err != nil || m.To == "" {
		return nil, "", invalid("recipient %q is not an email address", m.To)
	}
	if m.ReplyTo != "" {
		if err := msg.ReplyTo(strings.TrimSpace(m.ReplyTo)); err != nil {
			return nil, "", invalid("reply-to %q is not an email address", m.ReplyTo)
		}
	}
	msg.Subject(headerText(m.Subject))
	id := s.messageID(m)
	msg.SetMessageIDWithValue(id)
	msg.SetDate()

	if m.UnsubscribeURL != "" {
		u, err := url.Parse(m.UnsubscribeURL)
		if err != nil || u.Host == "" {
			return nil, "", invalid("unsubscribe link is not a URL")
		}
		switch u.Scheme {
		case "https":
			// RFC 8058 one-click: mailbox providers POST to the link
			// instead of opening it, and only for HTTPS.
			if err := msg.SetListUnsubscribeOneClick(u.String()); err != nil {
				return nil, "", invalid("unsubscribe link: %v", err)
			}
		case "http":
			// Still a valid RFC 2369 link (a development setup), but
			// RFC 8058 forbids offering one-click on plain HTTP.
			msg.SetListUnsubscribe(u.String())
		default:
			return nil, "", invalid("unsubscribe link must be http or https")
		}
	}

	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	body := m.HTML
	if body == "" {
		var err error
		if body, err = textToHTML(m); err != nil {
			return nil, "", invalid("html: %v", err)
		}
	}
	msg.AddAlternativeString(mail.TypeTextHTML, body)
	return msg, id, nil
}

// headerText makes s safe for a single header line: control characters,
// line breaks above all, become spaces.
func headerText(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return r < ' ' || r == 0x7f
	}), " ")
}

// segment is a run of text in the generated HTML, a link if Href is set.
type segment struct {
	Text string
	Href string
}

// htmlPage is the HTML part written for messages that only have text.
// html/template escapes the text and checks the links.
var htmlPage = template.Must(template.New("html").Parse(`<!DOCTYPE html>
<html{{with .Lang}} lang="{{.}}"{{end}}>
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>{{.Subject}}</title></head>
<body>
{{range .Paras}}<p>{{range $i, $line := .}}{{if $i}}<br>
{{end}}{{range $line}}{{if .Href}}<a href="{{.Href}}">{{.Text}}</a>{{else}}{{.Text}}{{end}}{{end}}{{end}}</p>
{{end}}</body>
</html>
`))

// textToHTML writes the text of m as minimal HTML, with the restore and
// unsubscribe links as links, so that the message always has both parts:
// a text-only reminder scores worse with spam filters, and shoppers
// expect to tap the link.
func textToHTML(m *recovery.Message) (string, error) {
	var links []string
	for _, u := range []string{m.RestoreURL, m.UnsubscribeURL} {
		if u != "" {
			links = append(links, u)
		}
	}
	text := strings.ReplaceAll(m.Text, "\r\n", "\n")
	var paras [][][]segment
	for p := range strings.SplitSeq(text, "\n\n") {
		if strings.TrimSpace(p) == "" {
			continue
		}
		var lines [][]segment
		for line := range strings.SplitSeq(strings.Trim(p, "\n"), "\n") {
			lines = append(lines, linkify(line, links))
		}
		paras = append(paras, lines)
	}
	if m.RestoreURL != "" && !strings.Contains(m.Text, m.RestoreURL) {
		// The link is the point of the reminder.
		paras = append(paras, [][]segment{{{Text: m.RestoreURL, Href: m.RestoreURL}}})
	}
	var b strings.Builder
	err := htmlPage.Execute(&b, struct {
		Lang, Subject string
		Paras         [][][]segment
	}{m.Locale, m.Subject, paras})
	return b.String(), err
}

// linkify splits line into text and the links found in it.
func linkify(line string, links []string) []segment {
	var out []segment
	for line != "" {
		at, link := -1, ""
		for _, l := range links {
			if i := strings.Index(line, l); i >= 0 && (at < 0 || i < at) {
				at, link = i, l
			}
		}
		if at < 0 {
			break
		}
		if at > 0 {
			out = append(out, segment{Text: line[:at]})
		}
		out = append(out, segment{Text: link, Href: link})
		line = line[at+len(link):]
	}
	if line != "" {
		out = append(out, segment{Text: line})
	}
	return out
}
