package http

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/cartback/cartback/recovery"
)

// cartsPageSize is how many carts one page of the list shows.
const cartsPageSize = 50

// searchScanLimit bounds how many of the newest carts a search that no
// index answers looks through.
const searchScanLimit = 5000

// cartRow is one cart in the list.
type cartRow struct {
	ID        uint64
	Contact   string
	State     recovery.CartState
	Items     int
	Total     string
	Captured  string
	Steps     string
	Recovered string
}

// cartsPage is the cart list's data.
type cartsPage struct {
	Query string
	Rows  []cartRow
	// Next is the id to list below for the following page; 0 on the last.
	Next uint64
}

func newCartRow(c *recovery.Cart, loc *time.Location) cartRow {
	r := cartRow{ID: c.ID, State: c.State, Total: recovery.FormatMoney(c.Totals.Total, c.Currency), Captured: c.CapturedAt.In(loc).Format("2006-01-02 15:04")}
	r.Contact = maskContact(c.Contact.Email)
	if r.Contact == "" {
		r.Contact = maskContact(c.Contact.Phone)
	}
	for _, it := range c.Items {
		r.Items += it.Quantity
	}
	counts := map[recovery.StepState]int{}
	var order []recovery.StepState
	for _, st := range c.Steps {
		if counts[st.State] == 0 {
			order = append(order, st.State)
		}
		counts[st.State]++
	}
	parts := make([]string, 0, len(order))
	for _, s := range order {
		parts = append(parts, strconv.Itoa(counts[s])+" "+string(s))
	}
	r.Steps = strings.Join(parts, ", ")
	if c.Holdout {
		r.Steps = "holdout"
	}
	if conv := c.Conversion; conv != nil && c.State == recovery.CartConverted {
		r.Recovered = "bought"
		switch conv.Attribution {
		case recovery.AttributionLink:
			r.Recovered = "recovered via link"
		case recovery.AttributionReminder:
			r.Recovered = "recovered after reminder"
		}
	}
	return r
}

func (s *Server) pageCarts(c *echo.Context) error {
	shop, err := s.shopPage(c)
	if err != nil {
		return err
	}
	before, err := uintParam(c, "before", 0)
	if err != nil {
		return err
	}
	q := strings.TrimSpace(c.QueryParam("q"))
	var carts []*recovery.Cart
	if q != "" {
		carts, err = s.Service.SearchCarts(c.Request().Context(), shop.ID, q, cartsPageSize, searchScanLimit)
	} else {
		carts, err = s.Service.Carts(c.Request().Context(), shop.ID, before, cartsPageSize)
	}
	if err != nil {
		return err
	}
	p := cartsPage{Query: q, Rows: make([]cartRow, 0, len(carts))}
	loc := shop.Settings.Location()
	for _, cart := range carts {
		p.Rows = append(p.Rows, newCartRow(cart, loc))
	}
	if q == "" && len(carts) == cartsPageSize {
		p.Next = carts[len(carts)-1].ID
	}
	return s.renderPage(c, http.StatusOK, "carts", pageData{Title: "Carts", Nav: "carts", Shop: shop, Body: p})
}

// timelineEntry is one line of a cart's story.
type timelineEntry struct {
	t      time.Time
	At     string
	What   string
	Detail string
	Class  string
}

// cartPage is one cart's data.
type cartPage struct {
	Row        cartRow
	Cart       *recovery.Cart
	Consent    string
	Steps      []stepRow
	Messages   []messageRow
	Timeline   []timelineEntry
	Conversion string
}

// stepRow is one planned step of the cart's episode.
type stepRow struct {
	Index    int
	Channel  recovery.Channel
	Template string
	Due      string
	Finished string
	State    recovery.StepState
	Reason   string
	Clicks   int
	Class    string
}

// messageRow is one message with its delivery path.
type messageRow struct {
	ID      uint64
	Step    int
	Channel recovery.Channel
	To      string
	Subject string
	Status  recovery.MessageStatus
	Path    string
	NotSent bool
}

// stepClass colours a step state.
func stepClass(st recovery.StepState) string {
	switch st {
	case recovery.StepSent, recovery.StepOutbox:
		return "ok"
	case recovery.StepSkipped, recovery.StepScheduled, recovery.StepSending:
		return "warn"
	}
	return "bad"
}

func (s *Server) pageCart(c *echo.Context) error {
	shop, err := s.shopPage(c)
	if err != nil {
		return err
	}
	cart, msgs, clicks, err := s.cartTimeline(c, shop)
	if err != nil {
		return err
	}
	loc := shop.Settings.Location()
	when := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(loc).Format("2006-01-02 15:04:05")
	}
	p := cartPage{Row: newCartRow(cart, loc), Cart: cart}
	var consent []string
	if cart.Consent.Email.Granted {
		consent = append(consent, "email marketing")
	}
	if cart.Consent.SMS.Granted {
		consent = append(consent, "SMS")
	}
	p.Consent = strings.Join(consent, ", ")
	if p.Consent == "" {
		p.Consent = "none recorded"
	}
	clicksByStep := map[int]int{}
	for _, cl := range clicks {
		clicksByStep[cl.Step]++
	}
	// Providers name the recipient in their errors ("550 … kari@…"): the
	// page shows contacts masked everywhere, those included.
	var pairs []string
	for _, c := range append([]string{cart.Contact.Email, cart.Contact.Phone, cart.Contact.PhoneRaw}, msgTo(msgs)...) {
		if c != "" {
			pairs = append(pairs, c, maskContact(c))
		}
	}
	mask := strings.NewReplacer(pairs...).Replace
	for _, st := range cart.Steps {
		p.Steps = append(p.Steps, stepRow{
			Index: st.Index + 1, Channel: st.Channel, Template: st.Template, Due: when(st.ReadyAt()), Finished: when(st.FinishedAt),
			State: st.State, Reason: mask(st.Reason), Clicks: clicksByStep[st.Index], Class: stepClass(st.State),
		})
	}
	tl := []timelineEntry{{t: cart.CapturedAt, At: when(cart.CapturedAt), What: "captured", Detail: p.Row.Total}}
	if !cart.AbandonedAt.IsZero() {
		tl = append(tl, timelineEntry{t: cart.AbandonedAt, At: when(cart.AbandonedAt), What: "abandoned"})
	}
	for _, m := range msgs {
		paths := make([]string, 0, len(m.History))
		for _, ev := range m.History {
			paths = append(paths, string(ev.Status))
			detail := "step " + strconv.Itoa(m.Step+1) + " " + string(m.Channel) + " " + m.Template
			if ev.Detail != "" {
				detail += " (" + mask(ev.Detail) + ")"
			}
			class := "ok"
			switch ev.Status {
			case recovery.MessageFailed, recovery.MessageBounced, recovery.MessageUndelivered, recovery.MessageUnknown:
				class = "bad"
			case recovery.MessageOutbox:
				class = "warn"
			}
			tl = append(tl, timelineEntry{t: ev.At, At: when(ev.At), What: "message " + string(ev.Status), Detail: detail, Class: class})
		}
		p.Messages = append(p.Messages, messageRow{
			ID: m.ID, Step: m.Step + 1, Channel: m.Channel, To: maskContact(m.To), Subject: m.Subject, Status: m.Status,
			Path: strings.Join(paths, " → "), NotSent: m.Status == recovery.MessageOutbox,
		})
	}
	for _, st := range cart.Steps {
		if st.State == recovery.StepSkipped || st.State == recovery.StepFailed || st.State == recovery.StepUnknown {
			tl = append(tl, timelineEntry{t: st.FinishedAt, At: when(st.FinishedAt), What: "step " + string(st.State),
				Detail: "step " + strconv.Itoa(st.Index+1) + " " + string(st.Channel) + ": " + mask(st.Reason), Class: stepClass(st.State)})
		}
	}
	for _, cl := range clicks {
		device := "desktop"
		if cl.Mobile {
			device = "mobile"
		}
		tl = append(tl, timelineEntry{t: cl.At, At: when(cl.At), What: "clicked", Detail: "step " + strconv.Itoa(cl.Step+1) + " " + string(cl.Channel) + ", " + device, Class: "ok"})
	}
	if conv := cart.Conversion; conv != nil {
		detail := "order " + conv.OrderNumber + " " + recovery.FormatMoney(conv.Total, conv.Currency)
		if conv.Attribution != "" {
			detail += ", credited to the " + conv.Attribution
			if conv.AttributedStep >= 0 {
				detail += " of step " + strconv.Itoa(conv.AttributedStep+1)
			}
		}
		p.Conversion = detail
		tl = append(tl, timelineEntry{t: conv.At, At: when(conv.At), What: "bought", Detail: detail, Class: "ok"})
	}
	sortTimeline(tl)
	p.Timeline = tl
	return s.renderPage(c, http.StatusOK, "cart", pageData{Title: "Cart " + strconv.FormatUint(cart.ID, 10), Nav: "carts", Shop: shop, Body: p})
}

// sortTimeline orders entries by time.
func sortTimeline(tl []timelineEntry) {
	slices.SortStableFunc(tl, func(a, b timelineEntry) int { return a.t.Compare(b.t) })
}

// outboxPage is the outbox's data.
type outboxPage struct {
	Messages []outboxRow
	Next     uint64
}

// outboxRow is one held message.
type outboxRow struct {
	ID       uint64
	CartID   uint64
	Step     int
	Channel  recovery.Channel
	Template string
	To       string
	Subject  string
	Text     string
	Created  string
	Segments string
}

func (s *Server) pageOutbox(c *echo.Context) error {
	shop, err := s.shopPage(c)
	if err != nil {
		return err
	}
	before, err := uintParam(c, "before", 0)
	if err != nil {
		return err
	}
	const pageSize = 20
	msgs, err := s.Service.Outbox(c.Request().Context(), shop.ID, before, pageSize)
	if err != nil {
		return err
	}
	loc := shop.Settings.Location()
	p := outboxPage{}
	for _, m := range msgs {
		row := outboxRow{
			ID: m.ID, CartID: m.CartID, Step: m.Step + 1, Channel: m.Channel, Template: m.Template, To: maskContact(m.To),
			Subject: m.Subject, Text: m.Text, Created: m.CreatedAt.In(loc).Format("2006-01-02 15:04:05"),
		}
		if m.Channel == recovery.ChannelSMS && m.Segments > 0 {
			row.Segments = m.Encoding + ", " + strconv.Itoa(m.Segments) + " segment(s)"
		}
		p.Messages = append(p.Messages, row)
	}
	if len(msgs) == pageSize {
		p.Next = msgs[len(msgs)-1].ID
	}
	return s.renderPage(c, http.StatusOK, "outbox", pageData{Title: "Outbox", Nav: "outbox", Shop: shop, Body: p})
}

// msgTo lists the recipients of msgs.
func msgTo(msgs []*recovery.Message) []string {
	to := make([]string, 0, len(msgs))
	for _, m := range msgs {
		to = append(to, m.To)
	}
	return to
}
