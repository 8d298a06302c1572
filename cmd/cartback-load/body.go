package main

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/cartback/cartback/internal/signature"
)

// Every body carries a request id: 32 hex digits made from a per-run key
// and a counter. A template is a checkout rendered once with fixed-length
// markers where the id goes, so that making a request's body is a copy and
// a few overwrites instead of a JSON encoding.
const (
	idLen = 32
	// tokenMarker becomes the id (checkout token, recovery link).
	tokenMarker = "TTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTT"
	// cartMarker becomes the cart token: the id with its halves swapped.
	cartMarker = "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"
)

// template is one rendered checkout and where its markers are.
type template struct {
	body   []byte
	tokens []int // offsets of tokenMarker
	carts  []int // offsets of cartMarker
}

// fill writes the checkout for id into dst, which must have the template's
// length.
func (t *template) fill(dst []byte, id *[idLen]byte) {
	copy(dst, t.body)
	for _, off := range t.tokens {
		copy(dst[off:], id[:])
	}
	for _, off := range t.carts {
		copy(dst[off:], id[idLen/2:])
		copy(dst[off+idLen/2:], id[:idLen/2])
	}
}

// bodyGen hands out distinct checkout bodies of about the asked size.
type bodyGen struct {
	templates []template
	run       [8]byte // random per run, the key every id is made with
	secret    string
}

// newBodyGen renders pool templates of about size bytes each.
func newBodyGen(pool, size int, secret string, rng *rand.Rand, now time.Time) (*bodyGen, error) {
	g := &bodyGen{secret: secret}
	binary.BigEndian.PutUint64(g.run[:], rng.Uint64())
	for range pool {
		t, err := renderTemplate(size, rng, now)
		if err != nil {
			return nil, err
		}
		g.templates = append(g.templates, t)
	}
	return g, nil
}

// id returns the request id for sequence number seq: 32 hex digits that
// look random, as Shopify's tokens do, so that the server's indexes see
// keys in no particular order. Each half is a bijection of seq, so ids
// never repeat within a run, and the halves always differ, so the cart
// token (the halves swapped) is never the checkout token.
func (g *bodyGen) id(seq uint64) (id [idLen]byte) {
	run := binary.BigEndian.Uint64(g.run[:])
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], mix64(seq^run^0x5555555555555555))
	binary.BigEndian.PutUint64(b[8:], mix64(seq^run))
	hex.Encode(id[:], b[:])
	return id
}

// mix64 is the splitmix64 finaliser: a bijection on uint64 that scatters
// neighbouring inputs.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// body returns the body for sequence number seq, reusing buf when it is
// large enough, and its signature.
func (g *bodyGen) body(seq uint64, buf []byte) (body []byte, sig string) {
	t := &g.templates[seq%uint64(len(g.templates))]
	if cap(buf) < len(t.body) {
		buf = make([]byte, len(t.body))
	}
	body = buf[:len(t.body)]
	id := g.id(seq)
	t.fill(body, &id)
	if g.secret != "" {
		sig = signature.Sign(body, g.secret)
	}
	return body, sig
}

var (
	firstNames = []string{"Ada", "Bob", "Chloé", "Dmitri", "Emma", "Farah", "Grace", "Hiro", "Inès", "João", "Kofi", "Lena", "Mateo", "Noor", "Olga", "Priya"}
	lastNames  = []string{"Norman", "Okafor", "Lindqvist", "García", "Nakamura", "Dubois", "Kowalski", "Haddad", "Smith", "Rossi", "Müller", "Chen"}
	cities     = []struct{ city, province, code, zip string }{
		{"Louisville", "Kentucky", "KY", "40202"},
		{"Portland", "Oregon", "OR", "97205"},
		{"Austin", "Texas", "TX", "78701"},
		{"Denver", "Colorado", "CO", "80202"},
		{"Columbus", "Ohio", "OH", "43215"},
		{"Madison", "Wisconsin", "WI", "53703"},
	}
	products = []struct {
		title, vendor, sku string
		cents              int64
		grams              int
		variants           []string
	}{
		{"IPod Nano - 8GB", "Apple", "IPOD2008", 19900, 200, []string{"Red", "Pink", "Green", "Black"}},
		{"Merino Crew Sweater", "Northfold", "MCS", 8900, 450, []string{"S / Oat", "M / Oat", "L / Navy", "XL / Forest"}},
		{"Ceramic Pour-Over Set", "Kiln & Co", "CPO", 4450, 900, []string{"White", "Speckled", "Charcoal"}},
		{"Trail Running Shoe", "Ridgeline", "TRS", 13495, 620, []string{"US 8", "US 9", "US 10", "US 11"}},
		{"Organic Cotton Tote", "Fieldwork", "OCT", 1990, 180, []string{"Natural", "Black"}},
		{"Cast Iron Skillet 10\"", "Forge Home", "CIS10", 5400, 2300, []string{"Default Title"}},
		{"Beeswax Candle Trio", "Hive Light", "BCT", 3200, 700, []string{"Unscented", "Lavender", "Cedar"}},
		{"Wireless Earbuds", "Sonique", "WEB", 7999, 60, []string{"Graphite", "Ivory"}},
	}
	notes = []string{
		"Please gift wrap and leave out the invoice, it is a birthday present.",
		"Leave the parcel with the neighbour at number 14 if nobody answers.",
		"Could you add a handwritten card? Thank you so much for the quick help last time.",
		"Deliver after 5pm on weekdays; the building's front desk closes at noon on Saturdays.",
	}
)

func pick[T any](rng *rand.Rand, s []T) T { return s[rng.IntN(len(s))] }

// money formats cents the way Shopify does: a string with two decimals.
func money(cents int64) string {
	return strconv.FormatInt(cents/100, 10) + "." + fmt.Sprintf("%02d", cents%100)
}

// renderTemplate renders one checkouts/create body, adding line items until
// it is about size bytes, and the gift note covers the rest.
func renderTemplate(size int, rng *rand.Rand, now time.Time) (template, error) {
	first, last := pick(rng, firstNames), pick(rng, lastNames)
	place := pick(rng, cities)
	email := "shopper-" + tokenMarker + "@example.com"
	phone := fmt.Sprintf("+1%03d555%04d", 200+rng.IntN(700), rng.IntN(10000))
	address := map[string]any{
		"first_name": first, "last_name": last, "name": first + " " + last,
		"address1": fmt.Sprintf("%d Chestnut Street", 1+rng.IntN(400)), "address2": "", "company": nil,
		"city": place.city, "province": place.province, "province_code": place.code, "zip": place.zip,
		"country": "United States", "country_code": "US", "phone": phone,
		"latitude": 38.25 + rng.Float64(), "longitude": -85.75 + rng.Float64(),
	}
	checkoutID := 400000000 + rng.Int64N(500000000)
	customerID := 200000000 + rng.Int64N(500000000)
	created := now.Add(-time.Duration(rng.IntN(3600)) * time.Second)
	checkout := map[string]any{
		"id":                          checkoutID,
		"token":                       tokenMarker,
		"cart_token":                  cartMarker,
		"email":                       email,
		"gateway":                     nil,
		"buyer_accepts_marketing":     rng.IntN(2) == 0,
		"buyer_accepts_sms_marketing": false,
		"sms_marketing_phone":         nil,
		"created_at":                  created.Format(time.RFC3339),
		"updated_at":                  now.Format(time.RFC3339),
		"completed_at":                nil,
		"closed_at":                   nil,
		"landing_site":                "/collections/all",
		"referring_site":              "https://www.example.com/",
		"note":                        "",
		"note_attributes":             []map[string]string{{"name": "gift", "value": "yes"}},
		"taxes_included":              false,
		"currency":                    "USD",
		"presentment_currency":        "USD",
		"customer_locale":             "en-US",
		"phone":                       nil,
		"source_name":                 "web",
		"name":                        "#" + strconv.FormatInt(checkoutID, 10),
		"abandoned_checkout_url":      "https://bench-store.example.com/548380009/checkouts/" + tokenMarker + "/recover?key=" + cartMarker,
		"billing_address":             address,
		"shipping_address":            address,
		"customer": map[string]any{
			"id": customerID, "email": email, "first_name": first, "last_name": last,
			"phone": phone, "state": "disabled", "verified_email": true, "currency": "USD",
			"created_at": created.Format(time.RFC3339), "updated_at": now.Format(time.RFC3339),
			"tax_exempt": false, "tax_exemptions": []string{}, "note": nil,
			"admin_graphql_api_id": "gid://shopify/Customer/" + strconv.FormatInt(customerID, 10),
		},
	}

	var items []map[string]any
	var subtotal int64
	render := func() ([]byte, error) {
		const shipping = 599
		discount := subtotal / 10
		tax := (subtotal - discount) * 6 / 100
		checkout["line_items"] = items
		checkout["total_line_items_price"] = money(subtotal)
		checkout["subtotal_price"] = money(subtotal - discount)
		checkout["total_discounts"] = money(discount)
		checkout["total_tax"] = money(tax)
		checkout["total_price"] = money(subtotal - discount + tax + shipping)
		checkout["discount_codes"] = []map[string]string{{"code": "TENOFF", "amount": money(discount), "type": "percentage"}}
		checkout["tax_lines"] = []map[string]any{{"price": money(tax), "rate": 0.06, "title": "State Tax"}}
		checkout["shipping_lines"] = []map[string]any{{
			"code": "Standard", "title": "Standard Shipping", "price": money(shipping),
			"source": "shopify", "applied_discounts": []string{}, "tax_lines": []string{},
		}}
		return json.Marshal(checkout)
	}
	for {
		p := pick(rng, products)
		variant := pick(rng, p.variants)
		qty := int64(1 + rng.IntN(3))
		items = append(items, map[string]any{
			"key":                       fmt.Sprintf("%016x", rng.Uint64()),
			"product_id":                600000000 + rng.Int64N(100000000),
			"variant_id":                40000000 + rng.Int64N(900000000),
			"title":                     p.title,
			"variant_title":             variant,
			"presentment_title":         p.title,
			"presentment_variant_title": variant,
			"sku":                       p.sku + "-" + strings.ToUpper(strings.ReplaceAll(variant, " ", "")),
			"vendor":                    p.vendor,
			"quantity":                  qty,
			"grams":                     p.grams,
			"price":                     money(p.cents),
			"line_price":                money(p.cents * qty),
			"compare_at_price":          nil,
			"requires_shipping":         true,
			"taxable":                   true,
			"gift_card":                 false,
			"fulfillment_service":       "manual",
			"properties":                nil,
			"tax_lines":                 []string{},
			"applied_discounts":         []string{},
			"discount_allocations": []map[string]any{{
				"amount": money(p.cents * qty / 10), "description": "TENOFF",
				"application_type": "discount_code", "discount_class": "ORDER",
			}},
		})
		subtotal += p.cents * qty
		next, err := render()
		if err != nil {
			return template{}, err
		}
		if len(next) > size {
			// One item too many: drop it and top the body up with the
			// note, unless it is the only one.
			if len(items) > 1 {
				items = items[:len(items)-1]
				subtotal -= p.cents * qty
			}
			break
		}
	}
	body, err := render()
	if err != nil {
		return template{}, err
	}
	if gap := size - len(body); gap > 0 {
		var note strings.Builder
		for note.Len() < gap {
			if note.Len() > 0 {
				note.WriteByte(' ')
			}
			note.WriteString(pick(rng, notes))
		}
		checkout["note"] = note.String()[:gap]
		if body, err = render(); err != nil {
			return template{}, err
		}
	}
	return newTemplate(body), nil
}

func newTemplate(body []byte) template {
	t := template{body: body}
	t.tokens = offsets(body, tokenMarker)
	t.carts = offsets(body, cartMarker)
	return t
}

func offsets(body []byte, marker string) []int {
	var offs []int
	for i := 0; ; {
		j := bytes.Index(body[i:], []byte(marker))
		if j < 0 {
			return offs
		}
		offs = append(offs, i+j)
		i += j + len(marker)
	}
}
