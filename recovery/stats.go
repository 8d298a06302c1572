package recovery

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"
)

// Figures are a shop's recovery numbers over some set of carts. They add
// up: the figures of two sets are the sum of each set's figures, which is
// how anonymous daily aggregates and live carts combine.
type Figures struct {
	Captured  int `json:"captured"`
	Abandoned int `json:"abandoned"`
	// Reminded carts had at least one message handed over.
	Reminded int `json:"reminded"`
	// Clicked carts had at least one restore link visited.
	Clicked                int `json:"clicked"`
	MobileClicks           int `json:"mobile_clicks"`
	Clicks                 int `json:"clicks"`
	Converted              int `json:"converted"`
	RecoveredViaLink       int `json:"recovered_via_link"`
	RecoveredAfterReminder int `json:"recovered_after_reminder"`

	// Money is per currency, in minor units.
	RevenueViaLink       map[string]int64 `json:"revenue_via_link"`
	RevenueAfterReminder map[string]int64 `json:"revenue_after_reminder"`
	OrderRevenue         map[string]int64 `json:"order_revenue"`
	OrdersByCurrency     map[string]int   `json:"orders_by_currency"`

	// Steps are keyed "index:channel".
	Steps map[string]*StepFigures `json:"steps"`
	// Holdout and Reminding split abandoned carts into the control group
	// and the rest.
	Holdout   GroupFigures `json:"holdout"`
	Reminding GroupFigures `json:"reminding"`
}

// StepFigures are one sequence step's numbers.
type StepFigures struct {
	Step      int              `json:"step"`
	Channel   Channel          `json:"channel"`
	Template  string           `json:"template"`
	Sent      int              `json:"sent"`
	Skipped   int              `json:"skipped"`
	Failed    int              `json:"failed"`
	Clicked   int              `json:"clicked"`
	Recovered int              `json:"recovered"`
	Revenue   map[string]int64 `json:"revenue"`
	// ByVariant counts per wording under test, as stored and merged.
	ByVariant map[string]*VariantFigures `json:"by_variant,omitempty"`
	// Variants is ByVariant in name order with rates and the test against
	// A; filled in by Stats.
	Variants []*VariantFigures `json:"variants,omitempty"`
}

// VariantFigures are one step wording's numbers.
type VariantFigures struct {
	Variant   string           `json:"variant"`
	Sent      int              `json:"sent"`
	Clicked   int              `json:"clicked"`
	Recovered int              `json:"recovered"`
	Revenue   map[string]int64 `json:"revenue,omitempty"`
	// Rates are per message sent.
	ClickRate    float64 `json:"click_rate"`
	RecoveryRate float64 `json:"recovery_rate"`
	// PValue is the two-sided two-proportion z-test of RecoveryRate
	// against variant A (absent for A, or when a group sent nothing).
	PValue      float64 `json:"p_value,omitempty"`
	Significant bool    `json:"significant"`
}

func (sf *StepFigures) variant(name string) *VariantFigures {
	if name == "" {
		name = "A"
	}
	if sf.ByVariant == nil {
		sf.ByVariant = map[string]*VariantFigures{}
	}
	v, ok := sf.ByVariant[name]
	if !ok {
		v = &VariantFigures{Variant: name}
		sf.ByVariant[name] = v
	}
	return v
}

// twoProportionP is the two-sided p-value of the difference between the
// rates x1/n1 and x2/n2 (pooled z-test); ok is false when undefined.
func twoProportionP(x1, n1, x2, n2 int) (p float64, ok bool) {
	if n1 == 0 || n2 == 0 {
		return 0, false
	}
	pool := float64(x1+x2) / float64(n1+n2)
	se := math.Sqrt(pool * (1 - pool) * (1/float64(n1) + 1/float64(n2)))
	if se == 0 {
		return 1, true // both rates 0 or both 1: no difference to see
	}
	z := (float64(x1)/float64(n1) - float64(x2)/float64(n2)) / se
	return math.Erfc(math.Abs(z) / math.Sqrt2), true
}

// finish fills Variants from ByVariant, with rates and tests against A.
func (sf *StepFigures) finish() {
	sf.Variants = nil
	for _, name := range slices.Sorted(maps.Keys(sf.ByVariant)) {
		v := sf.ByVariant[name]
		v.ClickRate, v.RecoveryRate = ratio(v.Clicked, v.Sent), ratio(v.Recovered, v.Sent)
		sf.Variants = append(sf.Variants, v)
	}
	a := sf.ByVariant["A"]
	for _, v := range sf.Variants {
		v.PValue, v.Significant = 0, false
		if a == nil || v.Variant == "A" {
			continue
		}
		if p, ok := twoProportionP(v.Recovered, v.Sent, a.Recovered, a.Sent); ok {
			v.PValue, v.Significant = p, p < 0.05
		}
	}
}

// GroupFigures compare the holdout group with reminded carts.
type GroupFigures struct {
	Abandoned int `json:"abandoned"`
	// Converted counts abandoned carts bought afterwards, credited or not.
	Converted int `json:"converted"`
}

// DailyFigures are the anonymous aggregate of one shop's carts captured on
// one (UTC) day that retention has erased.
type DailyFigures struct {
	ShopID  uint64  `json:"shop_id"`
	Day     string  `json:"day"`
	Figures Figures `json:"figures"`
}

func addMoney(m *map[string]int64, cur string, v int64) {
	if *m == nil {
		*m = map[string]int64{}
	}
	(*m)[cur] += v
}

// add counts one cart (with its clicks) into f.
func (f *Figures) add(c *Cart, clicks []Click) {
	if c.OrderOnly || c.CreditedTo != 0 {
		// An order whose checkout cartback never saw is not a capture; one
		// credited to another cart of the shopper counts there.
		return
	}
	f.Captured++
	abandoned := !c.AbandonedAt.IsZero() || len(c.Steps) > 0
	if abandoned {
		f.Abandoned++
	}
	reminded := false
	for _, st := range c.Steps {
		sf := f.step(st)
		switch {
		case st.Delivered():
			sf.Sent++
			sf.variant(st.Variant).Sent++
			reminded = true
		case st.State == StepSkipped:
			sf.Skipped++
		case st.State == StepFailed:
			sf.Failed++
		}
	}
	if reminded {
		f.Reminded++
	}
	clickedSteps := map[int]bool{}
	for _, cl := range clicks {
		f.Clicks++
		if cl.Mobile {
			f.MobileClicks++
		}
		clickedSteps[cl.Step] = true
	}
	if len(clicks) > 0 {
		f.Clicked++
	}
	for i := range clickedSteps {
		if i >= 0 && i < len(c.Steps) {
			sf := f.step(c.Steps[i])
			sf.Clicked++
			sf.variant(c.Steps[i].Variant).Clicked++
		}
	}
	if abandoned {
		g := &f.Reminding
		if c.Holdout {
			g = &f.Holdout
		}
		g.Abandoned++
		if c.State == CartConverted {
			g.Converted++
		}
	}
	conv := c.Conversion
	if c.State != CartConverted || conv == nil {
		return
	}
	f.Converted++
	addMoney(&f.OrderRevenue, conv.Currency, conv.Total)
	if f.OrdersByCurrency == nil {
		f.OrdersByCurrency = map[string]int{}
	}
	f.OrdersByCurrency[conv.Currency]++
	switch conv.Attribution {
	case AttributionLink:
		f.RecoveredViaLink++
		addMoney(&f.RevenueViaLink, conv.Currency, conv.Total)
	case AttributionReminder:
		f.RecoveredAfterReminder++
		addMoney(&f.RevenueAfterReminder, conv.Currency, conv.Total)
	default:
		return
	}
	if conv.AttributedStep >= 0 && conv.AttributedStep < len(c.Steps) {
		st := c.Steps[conv.AttributedStep]
		sf := f.step(st)
		sf.Recovered++
		addMoney(&sf.Revenue, conv.Currency, conv.Total)
		v := sf.variant(st.Variant)
		v.Recovered++
		addMoney(&v.Revenue, conv.Currency, conv.Total)
	}
}

func (f *Figures) step(st StepRun) *StepFigures {
	key := fmt.Sprintf("%d:%s", st.Index, st.Channel)
	if f.Steps == nil {
		f.Steps = map[string]*StepFigures{}
	}
	sf, ok := f.Steps[key]
	if !ok {
		sf = &StepFigures{Step: st.Index, Channel: st.Channel, Template: st.Template}
		f.Steps[key] = sf
	}
	return sf
}

// merge adds g into f.
func (f *Figures) merge(g Figures) {
	f.Captured += g.Captured
	f.Abandoned += g.Abandoned
	f.Reminded += g.Reminded
	f.Clicked += g.Clicked
	f.MobileClicks += g.MobileClicks
	f.Clicks += g.Clicks
	f.Converted += g.Converted
	f.RecoveredViaLink += g.RecoveredViaLink
	f.RecoveredAfterReminder += g.RecoveredAfterReminder
	for cur, v := range g.RevenueViaLink {
		addMoney(&f.RevenueViaLink, cur, v)
	}
	for cur, v := range g.RevenueAfterReminder {
		addMoney(&f.RevenueAfterReminder, cur, v)
	}
	for cur, v := range g.OrderRevenue {
		addMoney(&f.OrderRevenue, cur, v)
	}
	for cur, n := range g.OrdersByCurrency {
		if f.OrdersByCurrency == nil {
			f.OrdersByCurrency = map[string]int{}
		}
		f.OrdersByCurrency[cur] += n
	}
	for _, sg := range g.Steps {
		sf := f.step(StepRun{Index: sg.Step, Channel: sg.Channel, Template: sg.Template})
		sf.Sent += sg.Sent
		sf.Skipped += sg.Skipped
		sf.Failed += sg.Failed
		sf.Clicked += sg.Clicked
		sf.Recovered += sg.Recovered
		for cur, v := range sg.Revenue {
			addMoney(&sf.Revenue, cur, v)
		}
		for name, vg := range sg.ByVariant {
			v := sf.variant(name)
			v.Sent += vg.Sent
			v.Clicked += vg.Clicked
			v.Recovered += vg.Recovered
			for cur, m := range vg.Revenue {
				addMoney(&v.Revenue, cur, m)
			}
		}
	}
	f.Holdout.Abandoned += g.Holdout.Abandoned
	f.Holdout.Converted += g.Holdout.Converted
	f.Reminding.Abandoned += g.Reminding.Abandoned
	f.Reminding.Converted += g.Reminding.Converted
}

// Stats is the answer to "what did cartback earn in this period".
type Stats struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	Figures
	// RecoveredRevenue sums both kinds of recovery, per currency.
	RecoveredRevenue map[string]int64 `json:"recovered_revenue"`
	// Rates are fractions from 0 to 1.
	RecoveryRate     float64 `json:"recovery_rate"`
	AbandonmentRate  float64 `json:"abandonment_rate"`
	MobileClickShare float64 `json:"mobile_click_share"`
	// AverageOrderValue is per currency, in minor units.
	AverageOrderValue map[string]int64 `json:"average_order_value"`
	// StepList is Steps in sequence order.
	StepList []*StepFigures `json:"step_list"`
	// Daily is the period's figures per capture day, for charts.
	Daily []DailyFigures `json:"daily"`
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Stats computes a shop's figures for carts captured in [from, to): live
// carts plus the anonymous daily aggregates of erased ones.
func (s *Service) Stats(ctx context.Context, shopID uint64, from, to time.Time) (*Stats, error) {
	if !from.Before(to) {
		return nil, Errorf(EINVALID, "from: must be before to")
	}
	if to.Sub(from) > 3*366*24*time.Hour {
		return nil, Errorf(EINVALID, "to: a period spans at most three years")
	}
	daily := map[string]*Figures{}
	dayOf := func(t time.Time) *Figures {
		d := t.UTC().Format(time.DateOnly)
		f, ok := daily[d]
		if !ok {
			f = &Figures{}
			daily[d] = f
		}
		return f
	}
	now := s.Now().UTC()
	err := s.Store.View(ctx, func(tx Tx) error {
		shop, err := tx.Shop(shopID)
		if err != nil {
			return err
		}
		// The period is [from, to); the figures of erased carts are kept by
		// whole UTC days, so the last day read is the one before to when to
		// is a midnight (a day that ends the period is not in it).
		aggs, err := tx.DailyFigures(shopID, from.UTC().Format(time.DateOnly), to.UTC().Add(-time.Nanosecond).Format(time.DateOnly))
		if err != nil {
			return err
		}
		for _, a := range aggs {
			f := dayOf(mustDay(a.Day))
			f.merge(a.Figures)
		}
		// Cart ids grow with capture time, so walking newest first can stop
		// once carts are well older than the period.
		var before uint64
		for {
			carts, err := tx.CartOutcomes(shopID, before, 500)
			if err != nil || len(carts) == 0 {
				return err
			}
			for _, c := range carts {
				before = c.ID
				if c.CapturedAt.Before(from.Add(-time.Hour)) {
					return nil
				}
				if c.CapturedAt.Before(from) || !c.CapturedAt.Before(to) {
					continue
				}
				// Only a cart whose link went out can have clicks.
				var clicks []Click
				if mayHaveClicks(c) {
					if clicks, err = tx.Clicks(c.ID); err != nil {
						return err
					}
				}
				dayOf(c.CapturedAt).add(settled(c, shop, now), clicks)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	st := &Stats{From: from, To: to}
	for _, d := range slices.Sorted(maps.Keys(daily)) {
		st.Figures.merge(*daily[d])
		st.Daily = append(st.Daily, DailyFigures{ShopID: shopID, Day: d, Figures: *daily[d]})
	}
	st.RecoveredRevenue = map[string]int64{}
	for cur, v := range st.RevenueViaLink {
		st.RecoveredRevenue[cur] += v
	}
	for cur, v := range st.RevenueAfterReminder {
		st.RecoveredRevenue[cur] += v
	}
	// Of the carts that could be reminded: holdout carts never are, so
	// counting them would lower the rate by the holdout share.
	st.RecoveryRate = ratio(st.RecoveredViaLink+st.RecoveredAfterReminder, st.Reminding.Abandoned)
	st.AbandonmentRate = ratio(st.Abandoned, st.Captured)
	st.MobileClickShare = ratio(st.MobileClicks, st.Clicks)
	st.AverageOrderValue = map[string]int64{}
	for cur, v := range st.OrderRevenue {
		st.AverageOrderValue[cur] = v / int64(st.OrdersByCurrency[cur])
	}
	for _, key := range slices.Sorted(maps.Keys(st.Steps)) {
		st.Steps[key].finish()
		st.StepList = append(st.StepList, st.Steps[key])
	}
	slices.SortStableFunc(st.StepList, func(a, b *StepFigures) int { return a.Step - b.Step })
	return st, nil
}

func mustDay(d string) time.Time {
	t, _ := time.Parse(time.DateOnly, d)
	return t
}

// mayHaveClicks reports whether any of the cart's messages (with their
// links) may have gone out.
func mayHaveClicks(c *Cart) bool {
	for _, st := range c.Steps {
		if st.Delivered() || st.State == StepUnknown {
			return true
		}
	}
	return false
}
