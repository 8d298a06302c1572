package store

import (
	"time"

	"github.com/cartback/cartback/internal/payload"
	"github.com/cartback/cartback/recovery"
)

// decodeOutcome reads the outcome fields of a stored cart in one pass,
// skipping the rest (items, contact, keys: most of its bytes). Anything
// unexpected falls back to encoding/json, so the result is always the
// same as json.Unmarshal into cartOutcome, except HasItems: it is read only
// for active carts, the only ones whose figures depend on it.
func decodeOutcome(raw []byte, o *cartOutcome) error {
	return payload.DecodeHeadWith(raw, o, readOutcome)
}

func readTime(r *payload.Reader, t *time.Time) { r.Unmarshaler(t) }

func readUint(r *payload.Reader, dst *uint64) {
	var n int
	r.Int(&n)
	*dst = uint64(n)
}

func readOutcome(r *payload.Reader, o *cartOutcome) {
	if !r.Object() {
		return
	}
	for key, ok := r.Key(); ok; key, ok = r.Key() {
		if string(key) == "contact" && o.State != "" && o.State != recovery.CartActive {
			// Carts store their contents last: all the figures need of a
			// cart that is no longer active came before.
			return
		}
		switch string(key) {
		case "id":
			readUint(r, &o.ID)
		case "shop_id":
			readUint(r, &o.ShopID)
		case "state":
			var s string
			r.String(&s)
			o.State = recovery.CartState(s)
		case "order_only":
			r.Bool(&o.OrderOnly)
		case "credited_to":
			readUint(r, &o.CreditedTo)
		case "captured_at":
			readTime(r, &o.CapturedAt)
		case "abandoned_at":
			readTime(r, &o.AbandonedAt)
		case "last_activity_at":
			readTime(r, &o.LastActivityAt)
		case "next_due_at":
			readTime(r, &o.NextDueAt)
		case "items":
			o.HasItems = nonEmpty(arrayHasElements(r.Raw()))
		case "holdout":
			r.Bool(&o.Holdout)
		case "steps":
			payload.Slice(r, &o.Steps, readStepRun)
		case "conversion":
			payload.Struct(r, &o.Conversion, readConversion)
		default:
			r.Unknown(key)
		}
	}
}

func readStepRun(r *payload.Reader, st *recovery.StepRun) {
	if !r.Object() {
		return
	}
	var s string
	for key, ok := r.Key(); ok; key, ok = r.Key() {
		switch string(key) {
		case "index":
			r.Int(&st.Index)
		case "channel":
			r.String(&s)
			st.Channel = recovery.Channel(s)
		case "template":
			r.String(&st.Template)
		case "discount_code":
			r.String(&st.DiscountCode)
		case "variant":
			r.String(&st.Variant)
		case "after":
			r.Unmarshaler(&st.After)
		case "due_at":
			readTime(r, &st.DueAt)
		case "not_before":
			readTime(r, &st.NotBefore)
		case "deadline":
			readTime(r, &st.Deadline)
		case "state":
			r.String(&s)
			st.State = recovery.StepState(s)
		case "reason":
			r.String(&st.Reason)
		case "claimed_at":
			readTime(r, &st.ClaimedAt)
		case "finished_at":
			readTime(r, &st.FinishedAt)
		case "message_id":
			readUint(r, &st.MessageID)
		default:
			r.Unknown(key)
		}
	}
}

func readConversion(r *payload.Reader, c *recovery.Conversion) {
	if !r.Object() {
		return
	}
	var total int
	for key, ok := r.Key(); ok; key, ok = r.Key() {
		switch string(key) {
		case "order_id":
			r.String(&c.OrderID)
		case "order_number":
			r.String(&c.OrderNumber)
		case "total":
			r.Int(&total)
			c.Total = int64(total)
		case "currency":
			r.String(&c.Currency)
		case "at":
			readTime(r, &c.At)
		case "attribution":
			r.String(&c.Attribution)
		case "attributed_step":
			r.Int(&c.AttributedStep)
		default:
			r.Unknown(key)
		}
	}
}

// cartLink is the part of a stored cart a restore link needs.
type cartLink struct {
	ID         uint64             `json:"id"`
	ShopID     uint64             `json:"shop_id"`
	Keys       recovery.CartKeys  `json:"keys"`
	State      recovery.CartState `json:"state"`
	RestoreURL string             `json:"restore_url"`
	Steps      []linkStep         `json:"steps"`
}

// linkStep is what a restore link needs of a step: its discount code.
type linkStep struct {
	DiscountCode string `json:"discount_code"`
}

func readLinkStep(r *payload.Reader, st *linkStep) {
	if !r.Object() {
		return
	}
	for key, ok := r.Key(); ok; key, ok = r.Key() {
		switch string(key) {
		case "discount_code":
			r.String(&st.DiscountCode)
		default:
			r.Unknown(key)
		}
	}
}

// readLink reads a stored cart's link fields and stops once it has them
// all: carts store them ahead of their contents.
func readLink(r *payload.Reader, l *cartLink) {
	if !r.Object() {
		return
	}
	const all = 1<<6 - 1
	seen := 0
	for key, ok := r.Key(); ok; key, ok = r.Key() {
		switch string(key) {
		case "id":
			readUint(r, &l.ID)
			seen |= 1
		case "shop_id":
			readUint(r, &l.ShopID)
			seen |= 2
		case "keys":
			readKeys(r, &l.Keys)
			seen |= 4
		case "state":
			var s string
			r.String(&s)
			l.State = recovery.CartState(s)
			seen |= 8
		case "restore_url":
			r.String(&l.RestoreURL)
			seen |= 16
		case "steps":
			payload.Slice(r, &l.Steps, readLinkStep)
			seen |= 32
		default:
			r.Unknown(key)
		}
		if seen == all {
			return
		}
	}
}

func readKeys(r *payload.Reader, k *recovery.CartKeys) {
	if !r.Object() {
		return
	}
	for key, ok := r.Key(); ok; key, ok = r.Key() {
		switch string(key) {
		case "checkout_token":
			r.String(&k.CheckoutToken)
		case "cart_token":
			r.String(&k.CartToken)
		case "order_id":
			r.String(&k.OrderID)
		case "cart_key":
			r.String(&k.CartKey)
		default:
			r.Unknown(key)
		}
	}
}
