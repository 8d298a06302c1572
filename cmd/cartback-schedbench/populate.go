package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/cartback/cartback/recovery"
	"github.com/cartback/cartback/store"
)

type populateConfig struct {
	DB     string
	Carts  int
	Due    int
	Lead   time.Duration
	Spread time.Duration
	// Burst more carts fall due all at one instant, BurstGap after the
	// window: how fast a backlog drains is the scheduler's capacity.
	Burst    int
	BurstGap time.Duration
	Batch    int
	Shop     string
	Seed     uint64
}

func parsePopulate(args []string, stderr io.Writer) (populateConfig, error) {
	var c populateConfig
	fs := flag.NewFlagSet("cartback-schedbench populate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.DB, "db", "", "database file to create (must not exist)")
	fs.IntVar(&c.Carts, "carts", 1_000_000, "carts to write in all, due ones included")
	fs.IntVar(&c.Due, "due", 20_000, "active carts whose first reminder falls due in the window")
	fs.DurationVar(&c.Lead, "lead", 30*time.Second, "time from the end of populating to the start of the due window")
	fs.DurationVar(&c.Spread, "spread", 10*time.Second, "length of the due window (0: all due at one instant)")
	fs.IntVar(&c.Burst, "burst", 20_000, "active carts more, all due at one instant after the window, to measure capacity (0: none)")
	fs.DurationVar(&c.BurstGap, "burst-gap", 10*time.Second, "time from the end of the window to the burst")
	fs.IntVar(&c.Batch, "batch", 2000, "carts per write transaction")
	fs.StringVar(&c.Shop, "shop", "bench.myshopify.com", "the shop's domain")
	fs.Uint64Var(&c.Seed, "seed", 1, "seed of the generated data")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case c.DB == "":
		return c, fmt.Errorf("-db is required")
	case c.Carts < 1 || c.Due < 0 || c.Burst < 0 || c.Due+c.Burst > c.Carts:
		return c, fmt.Errorf("need -carts ≥ 1, -due ≥ 0, -burst ≥ 0 and -due + -burst ≤ -carts")
	case c.BurstGap < time.Second:
		return c, fmt.Errorf("-burst-gap must be at least 1s, so the burst starts after the window's steps")
	case c.Lead < 2*time.Second:
		return c, fmt.Errorf("-lead must be at least 2s: the run needs time to start")
	case c.Spread < 0:
		return c, fmt.Errorf("-spread must not be negative")
	case c.Batch < 1:
		return c, fmt.Errorf("-batch must be at least 1")
	}
	return c, nil
}

func populate(args []string, stdout, stderr io.Writer) error {
	cfg, err := parsePopulate(args, stderr)
	if err != nil {
		return err
	}
	if _, err := os.Stat(cfg.DB); err == nil {
		return fmt.Errorf("%s exists; populate writes a new database", cfg.DB)
	}
	ctx := context.Background()
	began := time.Now()
	db, err := store.Open(cfg.DB, store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	svc := recovery.NewService(db)

	shop, err := svc.CreateShop(ctx, &recovery.Shop{
		Platform: recovery.PlatformShopify, Domain: cfg.Shop, Name: "Bench Outfitters",
		WebhookSecret: "bench-webhook-secret-0123456789",
		Settings:      recovery.ShopSettings{Country: "US", DefaultLocale: "en", TimeZone: "America/New_York"},
	})
	if err != nil {
		return fmt.Errorf("create shop: %w", err)
	}
	// A due cart was last active stepAfter before its step's due time, so
	// every due cart's last activity lies in the past when populating ends;
	// it counts as abandoned one second before its step is due. As in
	// production, the scheduler writes the abandonment and the episode's
	// plan together with the claim of the first step.
	stepAfter := (cfg.Lead + cfg.Spread).Round(time.Second)
	abandonAfter := stepAfter - time.Second
	seq := recovery.Sequence{
		AbandonAfter: recovery.Duration(abandonAfter),
		Steps: []recovery.Step{
			{Channel: recovery.ChannelEmail, After: recovery.Duration(stepAfter), Template: recovery.TemplateReminder},
		},
	}
	if shop, err = svc.UpdateSequence(ctx, shop.ID, seq); err != nil {
		return fmt.Errorf("set sequence: %w", err)
	}

	g := newGen(cfg.Seed, shop)
	background := cfg.Carts - cfg.Due - cfg.Burst
	states := map[recovery.CartState]int{}
	bgStart := time.Now()
	if err := writeCarts(ctx, db, background, cfg.Batch, func(i int) *recovery.Cart {
		c := g.backgroundCart(i, bgStart)
		states[c.State]++
		return c
	}, func(done int) {
		if done%100_000 < cfg.Batch {
			fmt.Fprintf(stderr, "  %d/%d background carts, %.1fs\n", done, background, time.Since(bgStart).Seconds())
		}
	}, nil); err != nil {
		return err
	}
	bgTook := time.Since(bgStart)

	// The window is set from the moment the due carts are written, so the
	// time spent on the background does not eat into the lead.
	t0 := time.Now().Truncate(time.Millisecond)
	meta := benchMeta{
		ShopID: shop.ID, Domain: shop.Domain, Carts: cfg.Carts, Due: cfg.Due,
		WindowStart: t0.Add(cfg.Lead).UTC(), WindowEnd: t0.Add(cfg.Lead + cfg.Spread).UTC(),
		AbandonAfter: abandonAfter.String(), StepAfter: stepAfter.String(),
	}
	dueStart := time.Now()
	// writeGroup writes n due carts and returns the range of their ids.
	writeGroup := func(n int, cart func(i int) *recovery.Cart) (first, last uint64, err error) {
		err = writeCarts(ctx, db, n, cfg.Batch, cart, nil, func(c *recovery.Cart) {
			if first == 0 {
				first = c.ID
			}
			last = c.ID
		})
		return first, last, err
	}
	if meta.FirstDueID, meta.LastDueID, err = writeGroup(cfg.Due, func(i int) *recovery.Cart {
		at := meta.WindowStart
		if cfg.Spread > 0 {
			at = at.Add(time.Duration(g.rng.Int64N(int64(cfg.Spread) + 1)))
		}
		return g.dueCart(background+i, at, stepAfter, abandonAfter)
	}); err != nil {
		return err
	}
	meta.Burst, meta.BurstAt = cfg.Burst, meta.WindowEnd.Add(cfg.BurstGap)
	if meta.FirstBurstID, meta.LastBurstID, err = writeGroup(cfg.Burst, func(i int) *recovery.Cart {
		return g.dueCart(background+cfg.Due+i, meta.BurstAt, stepAfter, abandonAfter)
	}); err != nil {
		return err
	}
	dueTook := time.Since(dueStart)
	meta.PopulatedAt = time.Now().UTC()
	mb, _ := json.Marshal(meta)
	if err := db.Update(ctx, func(tx recovery.Tx) error { return tx.PutMeta(metaKey, mb) }); err != nil {
		return err
	}
	if err := db.Close(); err != nil {
		return err
	}
	fi, err := os.Stat(cfg.DB)
	if err != nil {
		return err
	}
	now := time.Now()
	fmt.Fprintf(stdout, "database     %s, %.1f MB\n", cfg.DB, float64(fi.Size())/1e6)
	fmt.Fprintf(stdout, "shop         %s (id %d), abandon_after %s, one email step after %s\n", shop.Domain, shop.ID, abandonAfter, stepAfter)
	fmt.Fprintf(stdout, "background   %d carts in %.1fs (%.0f/s): %s, next_due_at zero\n",
		background, bgTook.Seconds(), float64(background)/bgTook.Seconds(), stateCounts(states))
	fmt.Fprintf(stdout, "due          %d active carts (ids %d-%d) and a burst of %d (ids %d-%d) in %.2fs\n",
		cfg.Due, meta.FirstDueID, meta.LastDueID, cfg.Burst, meta.FirstBurstID, meta.LastBurstID, dueTook.Seconds())
	fmt.Fprintf(stdout, "due window   %s .. %s (starts in %.1fs, %.0f steps/s offered)\n",
		meta.WindowStart.Format(time.RFC3339Nano), meta.WindowEnd.Format(time.RFC3339Nano),
		meta.WindowStart.Sub(now).Seconds(), offeredRate(cfg.Due, cfg.Spread))
	if cfg.Burst > 0 {
		fmt.Fprintf(stdout, "burst        %d steps all due at %s\n", cfg.Burst, meta.BurstAt.Format(time.RFC3339Nano))
	}
	fmt.Fprintf(stdout, "took         %.1fs in all, %d carts per transaction\n", now.Sub(began).Seconds(), cfg.Batch)
	if now.After(meta.WindowStart.Add(-2 * time.Second)) {
		return fmt.Errorf("populating ended less than 2s before the due window; raise -lead")
	}
	return nil
}

func offeredRate(due int, spread time.Duration) float64 {
	if spread <= 0 {
		return 0
	}
	return float64(due) / spread.Seconds()
}

func stateCounts(m map[recovery.CartState]int) string {
	var parts []string
	for _, s := range []recovery.CartState{recovery.CartConverted, recovery.CartExpired, recovery.CartAbandoned, recovery.CartDeleted} {
		if m[s] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", s, m[s]))
		}
	}
	return strings.Join(parts, ", ")
}

// writeCarts stores n carts made by mk, batch per transaction. progress
// is told the count after each transaction, stored each stored cart.
func writeCarts(ctx context.Context, db *store.DB, n, batch int, mk func(i int) *recovery.Cart, progress func(done int), stored func(*recovery.Cart)) error {
	for done := 0; done < n; {
		size := min(batch, n-done)
		carts := make([]*recovery.Cart, size)
		for j := range carts {
			carts[j] = mk(done + j)
		}
		err := db.Update(ctx, func(tx recovery.Tx) error {
			for _, c := range carts {
				c.ID = 0 // the function may run again
				if err := tx.PutCart(c); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("write carts %d-%d: %w", done, done+size-1, err)
		}
		if stored != nil {
			for _, c := range carts {
				stored(c)
			}
		}
		done += size
		if progress != nil {
			progress(done)
		}
	}
	return nil
}

// gen makes plausible carts: a few line items, a unique email for every
// cart and a unique phone number for most, random platform tokens.
type gen struct {
	rng  *rand.Rand
	shop *recovery.Shop
}

func newGen(seed uint64, shop *recovery.Shop) *gen {
	return &gen{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), shop: shop}
}

var (
	firstNames = []string{"Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas", "Mia", "Mateo", "Amelia", "Ingrid", "Jonas", "Sofie", "Lukas", "Hannah", "Kenji", "Aiko"}
	lastNames  = []string{"Smith", "Johnson", "Garcia", "Brown", "Miller", "Davis", "Martinez", "Hansen", "Johansen", "Müller", "Schmidt", "Rossi", "Tanaka", "Nguyen", "Kowalski", "Dubois"}
	mailHosts  = []string{"gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com", "proton.me", "gmx.de", "online.no"}
	locales    = []string{"en", "en-US", "en-GB", "de", "nb-NO", "fr", "es"}
	products   = []struct {
		title    string
		variants []string
		price    int64
	}{
		{"Merino Crew Sweater", []string{"S / Navy", "M / Navy", "L / Oat", "XL / Charcoal"}, 8900},
		{"Trail Runner 3", []string{"US 8", "US 9", "US 10", "US 11"}, 12900},
		{"Canvas Weekender Bag", []string{"Olive", "Sand"}, 14500},
		{"Organic Cotton Tee", []string{"S / White", "M / Black", "L / Heather"}, 2800},
		{"Insulated Bottle 750 ml", []string{"Glacier", "Moss", "Slate"}, 3400},
		{"Wool Beanie", []string{"One size / Rust", "One size / Ink"}, 2400},
		{"Packable Rain Shell", []string{"M / Yellow", "L / Blue"}, 11900},
		{"Everyday Chino", []string{"30/32 / Khaki", "32/32 / Navy", "34/34 / Stone"}, 7800},
		{"Leather Card Wallet", []string{"Tan", "Black"}, 4500},
		{"Hiking Socks (3-pack)", []string{"M", "L"}, 2100},
	}
)

func (g *gen) hex(n int) string {
	b := make([]byte, n/2)
	for i := range b {
		b[i] = byte(g.rng.Uint32())
	}
	return hex.EncodeToString(b)
}

// scramble maps i to a distinct 32-bit number, so that contact keys land
// all over the index as real ones do, not in insertion order.
func scramble(i int) uint32 { return uint32(i)*0x9e3779b1 + 0x7f4a7c15 }

// contact returns a contact unique to cart number i.
func (g *gen) contact(i int, withPhone bool) recovery.Contact {
	first := firstNames[g.rng.IntN(len(firstNames))]
	last := lastNames[g.rng.IntN(len(lastNames))]
	c := recovery.Contact{
		Email:     fmt.Sprintf("%s.%s.%x@%s", strings.ToLower(first), strings.ToLower(last), scramble(i), mailHosts[g.rng.IntN(len(mailHosts))]),
		FirstName: first, LastName: last,
		Locale:  locales[g.rng.IntN(len(locales))],
		Country: "US",
	}
	if withPhone {
		// 3^18 is prime to 10^9, so i ↦ i·3^18 mod 10^9 is one-to-one.
		c.Phone = fmt.Sprintf("+1%d%09d", 2+i%8, (uint64(i)*387420489)%1_000_000_000)
	}
	return c
}

// fill gives c keys, contact, 2-4 line items and totals.
func (g *gen) fill(c *recovery.Cart, i int) {
	checkout := g.hex(32)
	c.ShopID, c.Platform = g.shop.ID, recovery.PlatformShopify
	c.Keys = recovery.CartKeys{CheckoutToken: checkout, CartToken: g.hex(32)}
	c.Contact = g.contact(i, g.rng.IntN(10) < 6)
	c.Consent = recovery.Consent{
		Email: recovery.ConsentGrant{Granted: g.rng.IntN(2) == 0, Source: "shopify:buyer_accepts_marketing"},
		SMS:   recovery.ConsentGrant{Granted: c.Contact.Phone != "" && g.rng.IntN(3) == 0, Source: "shopify:buyer_accepts_sms_marketing"},
	}
	c.Currency = "USD"
	n := 2 + g.rng.IntN(3)
	var sub int64
	for range n {
		p := products[g.rng.IntN(len(products))]
		v := p.variants[g.rng.IntN(len(p.variants))]
		q := 1 + g.rng.IntN(3)
		pid := 7_000_000_000 + g.rng.Int64N(1_000_000)
		slug := strings.ToLower(strings.NewReplacer(" ", "-", "(", "", ")", "").Replace(p.title))
		it := recovery.LineItem{
			Title: p.title, VariantTitle: v, SKU: fmt.Sprintf("BO-%d-%02d", pid%100000, g.rng.IntN(40)),
			Quantity: q, UnitPrice: p.price, LinePrice: p.price * int64(q),
			ProductID: fmt.Sprint(pid), VariantID: fmt.Sprint(40_000_000_000_000 + g.rng.Int64N(1_000_000)),
			ImageURL:   fmt.Sprintf("https://cdn.shopify.com/s/files/1/0612/3456/7890/products/%s_%s.jpg", slug, g.hex(8)),
			ProductURL: "https://" + g.shop.Domain + "/products/" + slug,
		}
		sub += it.LinePrice
		c.Items = append(c.Items, it)
	}
	ship := int64(0)
	if sub < 10000 {
		ship = 695
	}
	tax := sub * 8 / 100
	c.Totals = recovery.Totals{Subtotal: sub, Shipping: ship, Tax: tax, Total: sub + ship + tax}
	c.RestoreURL = fmt.Sprintf("https://%s/61234567890/checkouts/%s/recover?key=%s", g.shop.Domain, checkout, g.hex(32))
}

// backgroundCart is a finished cart from the last 60 days: the scheduler
// must never read it.
func (g *gen) backgroundCart(i int, now time.Time) *recovery.Cart {
	c := &recovery.Cart{}
	g.fill(c, i)
	last := now.Add(-time.Hour - time.Duration(g.rng.Int64N(int64(60*24*time.Hour)))).UTC().Truncate(time.Second)
	c.CreatedAt = last.Add(-time.Duration(g.rng.Int64N(int64(2 * time.Hour))))
	c.LastActivityAt = last
	c.CapturedAt = c.CreatedAt.Add(time.Duration(g.rng.Int64N(int64(5 * time.Second))))
	abandoned := last.Add(15 * time.Minute)
	step := func(idx int, ch recovery.Channel, tmpl string, after time.Duration, st recovery.StepState, reason string) recovery.StepRun {
		due := last.Add(after)
		r := recovery.StepRun{Index: idx, Channel: ch, Template: tmpl, After: recovery.Duration(after), DueAt: due, State: st, Reason: reason, FinishedAt: due.Add(40 * time.Millisecond)}
		if st == recovery.StepSent {
			r.ClaimedAt = due.Add(3 * time.Millisecond)
		}
		return r
	}
	switch r := g.rng.IntN(100); {
	case r < 50: // bought, half of them after a reminder
		c.State = recovery.CartConverted
		at := last.Add(time.Duration(g.rng.Int64N(int64(48 * time.Hour))))
		c.Conversion = &recovery.Conversion{OrderID: fmt.Sprint(5_000_000_000 + i), OrderNumber: fmt.Sprintf("#%d", 1001+i),
			Total: c.Totals.Total, Currency: c.Currency, At: at, AttributedStep: -1}
		if g.rng.IntN(2) == 0 && at.After(abandoned) {
			c.AbandonedAt = abandoned
			c.Steps = []recovery.StepRun{step(0, recovery.ChannelEmail, recovery.TemplateReminder, time.Hour, recovery.StepSent, "")}
			c.Conversion.Attribution, c.Conversion.AttributedStep = recovery.AttributionReminder, 0
		}
		c.UpdatedAt = at
	case r < 85: // reminded, never bought
		c.State, c.AbandonedAt = recovery.CartExpired, abandoned
		c.Steps = []recovery.StepRun{
			step(0, recovery.ChannelEmail, recovery.TemplateReminder, time.Hour, recovery.StepSent, ""),
			step(1, recovery.ChannelSMS, recovery.TemplateReminder, 4*time.Hour, recovery.StepSkipped, recovery.ReasonNoSMSConsent),
			step(2, recovery.ChannelEmail, recovery.TemplateFollowUp, 24*time.Hour, recovery.StepSent, ""),
			step(3, recovery.ChannelEmail, recovery.TemplateIncentive, 72*time.Hour, recovery.StepSkipped, recovery.ReasonEpisodeCap),
		}
		c.UpdatedAt = last.Add(7 * 24 * time.Hour)
	case r < 95: // abandoned, its episode over
		c.State, c.AbandonedAt = recovery.CartAbandoned, abandoned
		c.Steps = []recovery.StepRun{
			step(0, recovery.ChannelEmail, recovery.TemplateReminder, time.Hour, recovery.StepSkipped, recovery.ReasonNewerCart),
		}
		c.UpdatedAt = last.Add(time.Hour)
	default:
		c.State = recovery.CartDeleted
		c.DeletedAt = last.Add(30 * time.Minute)
		c.UpdatedAt = c.DeletedAt
	}
	return c
}

// dueCart is an active cart, last changed stepAfter before at, so that it
// counts as abandoned at at−(stepAfter−abandonAfter) and its one step is
// due at at.
func (g *gen) dueCart(i int, at time.Time, stepAfter, abandonAfter time.Duration) *recovery.Cart {
	c := &recovery.Cart{}
	g.fill(c, i)
	// Due carts reach a shopper by email, as the step needs.
	last := at.Add(-stepAfter).UTC()
	c.State = recovery.CartActive
	c.CreatedAt = last.Add(-time.Duration(g.rng.Int64N(int64(20 * time.Minute)))).Truncate(time.Second)
	c.LastActivityAt = last
	c.CapturedAt = c.CreatedAt.Add(time.Second)
	c.UpdatedAt = last
	// What the engine's own scheduling sets for an active cart.
	c.NextDueAt = last.Add(abandonAfter)
	return c
}
