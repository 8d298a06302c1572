package http

import (
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/cartback/cartback/recovery"
)

// dashboardPage is the dashboard's data.
type dashboardPage struct {
	From, To string // the period's first and last day, inclusive
	Days     int
	Presets  []int
	Stats    *recovery.Stats

	Recovered        int
	ViaLink          []string // recovered revenue per currency
	AfterReminder    []string
	Total            []string
	AverageOrder     []string
	Funnel           []funnelStage
	Steps            []stepFigures
	Tests            []stepFigures // the steps that sent more than one variant
	HoldoutRate      float64
	RemindingRate    float64
	HasHoldout       bool
	Lift             string
	Chart            chart
	ChartCurrency    string
	ChartHasRevenues bool
}

// funnelStage is one bar of the funnel, as a share of abandoned carts.
type funnelStage struct {
	Name  string
	Count int
	Width string // CSS width of the bar, e.g. "42.0%"
}

// stepFigures is one step's row.
type stepFigures struct {
	*recovery.StepFigures
	ClickRate string
	Revenue   string
	// Variants are the rows of the step's variants, when it tests some.
	Variants []variantFigures
}

// variantFigures is one variant's row of a step under test.
type variantFigures struct {
	*recovery.VariantFigures
	ClickRate, RecoveryRate, Revenue string
	// Test compares the recovery rate with A's: "p = 0.03 (significant)".
	Test string
}

// rate writes n of total as a percentage, "–" when total is 0.
func rate(n, total int) string {
	if total == 0 {
		return "–"
	}
	return strconv.FormatFloat(float64(n)*100/float64(total), 'f', 1, 64) + "%"
}

// variantTest writes a variant's test against A: the p-value, marked when
// significant; "baseline" for A and "–" when there is nothing to compare.
func variantTest(v *recovery.VariantFigures) string {
	switch {
	case v.Variant == "A":
		return "baseline"
	case math.IsNaN(v.PValue) || v.PValue == 0 && !v.Significant:
		return "–"
	}
	p := "p = " + strconv.FormatFloat(v.PValue, 'g', 2, 64)
	if v.PValue < 0.001 {
		p = "p < 0.001"
	}
	if v.Significant {
		p += " (significant)"
	}
	return p
}

func (s *Server) pageDashboard(c *echo.Context) error {
	shop, err := s.shopPage(c)
	if err != nil {
		return err
	}
	from, to, days, err := dashboardPeriod(c, s.now())
	if err != nil {
		return err
	}
	st, err := s.Service.Stats(c.Request().Context(), shop.ID, from, to)
	if err != nil {
		return err
	}
	p := dashboardPage{
		From: from.Format(time.DateOnly), To: to.AddDate(0, 0, -1).Format(time.DateOnly), Days: days,
		Presets: []int{7, 30, 90}, Stats: st,
		Recovered:     st.RecoveredViaLink + st.RecoveredAfterReminder,
		ViaLink:       moneyList(st.RevenueViaLink),
		AfterReminder: moneyList(st.RevenueAfterReminder),
		Total:         moneyList(st.RecoveredRevenue),
		AverageOrder:  moneyList(st.AverageOrderValue),
	}
	share := func(n int) string {
		if st.Abandoned == 0 {
			return "0%"
		}
		return strconv.FormatFloat(float64(n)*100/float64(st.Abandoned), 'f', 1, 64) + "%"
	}
	for _, f := range []struct {
		name string
		n    int
	}{{"Abandoned", st.Abandoned}, {"Reminded", st.Reminded}, {"Clicked", st.Clicked}, {"Recovered", p.Recovered}} {
		p.Funnel = append(p.Funnel, funnelStage{Name: f.name, Count: f.n, Width: share(f.n)})
	}
	for _, sf := range st.StepList {
		row := stepFigures{StepFigures: sf, Revenue: strings.Join(moneyList(sf.Revenue), ", "), ClickRate: rate(sf.Clicked, sf.Sent)}
		if len(sf.Variants) > 1 {
			for _, v := range sf.Variants {
				row.Variants = append(row.Variants, variantFigures{
					VariantFigures: v, ClickRate: rate(v.Clicked, v.Sent), RecoveryRate: rate(v.Recovered, v.Sent),
					Revenue: strings.Join(moneyList(v.Revenue), ", "), Test: variantTest(v),
				})
			}
			p.Tests = append(p.Tests, row)
		}
		p.Steps = append(p.Steps, row)
	}
	p.HasHoldout = st.Holdout.Abandoned > 0
	p.HoldoutRate = ratioOf(st.Holdout.Converted, st.Holdout.Abandoned)
	p.RemindingRate = ratioOf(st.Reminding.Converted, st.Reminding.Abandoned)
	if p.HasHoldout {
		p.Lift = strconv.FormatFloat((p.RemindingRate-p.HoldoutRate)*100, 'f', 1, 64) + " points"
	}
	p.ChartCurrency = mainCurrency(st)
	p.Chart = dailyChart(st, from, to, p.ChartCurrency)
	p.ChartHasRevenues = p.ChartCurrency != ""
	return s.renderPage(c, http.StatusOK, "dashboard", pageData{Title: "Dashboard", Nav: "dashboard", Shop: shop, Body: p})
}

// dashboardPeriod reads the period: ?days=N (the last N days, today
// included), or ?from= and ?to= dates (inclusive); default the last 30
// days. Days are UTC days, as the daily figures are.
func dashboardPeriod(c *echo.Context, now time.Time) (from, to time.Time, days int, err error) {
	today := now.UTC().Truncate(24 * time.Hour)
	days = 30
	if v := c.QueryParam("days"); v != "" {
		if days, err = strconv.Atoi(v); err != nil || days < 1 || days > 366 {
			return from, to, 0, recovery.Errorf(recovery.EINVALID, "days: must be between 1 and 366")
		}
	}
	to = today.AddDate(0, 0, 1)
	from = to.AddDate(0, 0, -days)
	if v := c.QueryParam("to"); v != "" {
		t, perr := time.Parse(time.DateOnly, v)
		if perr != nil {
			return from, to, 0, recovery.Errorf(recovery.EINVALID, "to: must be a date such as 2026-03-01")
		}
		to = t.AddDate(0, 0, 1)
		from = to.AddDate(0, 0, -days)
	}
	if v := c.QueryParam("from"); v != "" {
		t, perr := time.Parse(time.DateOnly, v)
		if perr != nil {
			return from, to, 0, recovery.Errorf(recovery.EINVALID, "from: must be a date such as 2026-02-01")
		}
		from = t
	}
	if !from.Before(to) {
		return from, to, 0, recovery.Errorf(recovery.EINVALID, "from: must not be after to")
	}
	if to.Sub(from) > 366*24*time.Hour {
		return from, to, 0, recovery.Errorf(recovery.EINVALID, "from: the dashboard shows at most 366 days")
	}
	return from, to, int(to.Sub(from) / (24 * time.Hour)), nil
}

func ratioOf(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// moneyList writes per-currency amounts, largest first.
func moneyList(m map[string]int64) []string {
	curs := slices.Collect(maps.Keys(m))
	slices.SortFunc(curs, func(a, b string) int {
		if m[a] != m[b] {
			if m[a] > m[b] {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	out := make([]string, 0, len(curs))
	for _, cur := range curs {
		out = append(out, recovery.FormatMoney(m[cur], cur))
	}
	return out
}

// mainCurrency is the currency the chart shows revenue in: the one with
// the most recovered revenue, else the most orders.
func mainCurrency(st *recovery.Stats) string {
	best, bestV := "", int64(-1)
	for _, cur := range slices.Sorted(maps.Keys(st.RecoveredRevenue)) {
		if v := st.RecoveredRevenue[cur]; v > bestV {
			best, bestV = cur, v
		}
	}
	if best != "" {
		return best
	}
	for _, cur := range slices.Sorted(maps.Keys(st.OrdersByCurrency)) {
		if n := int64(st.OrdersByCurrency[cur]); n > bestV {
			best, bestV = cur, n
		}
	}
	return best
}

// chart is a server-rendered SVG of daily recovered carts (bars) and
// recovered revenue (line).
type chart struct {
	Width, Height int
	Bars          []chartBar
	Line          string // polyline points
	Dots          []chartDot
	Baseline      string
	PlotTop       string
	MaxCarts      int
	MaxRevenue    string
	FirstDay      string
	LastDay       string
	LabelY        string
	LabelX        string
	LastX         string
}

type chartBar struct {
	X, Y, W, H string
	Title      string
}

type chartDot struct {
	X, Y  string
	Title string
}

func px(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// dailyChart lays out one bar per day of [from, to), days without figures
// included, and the revenue line in currency.
func dailyChart(st *recovery.Stats, from, to time.Time, currency string) chart {
	const (
		width, height      = 720, 220
		left, right        = 44.0, 52.0
		top, bottom        = 12.0, 24.0
		plotW, plotH       = width - left - right, height - top - bottom
		minBarGap, barFill = 1.0, 0.8
	)
	byDay := make(map[string]recovery.Figures, len(st.Daily))
	for _, d := range st.Daily {
		byDay[d.Day] = d.Figures
	}
	type point struct {
		day     string
		carts   int
		revenue int64
	}
	var points []point
	maxCarts, maxRevenue := 0, int64(0)
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		day := d.Format(time.DateOnly)
		f := byDay[day]
		p := point{day: day, carts: f.RecoveredViaLink + f.RecoveredAfterReminder}
		p.revenue = f.RevenueViaLink[currency] + f.RevenueAfterReminder[currency]
		maxCarts, maxRevenue = max(maxCarts, p.carts), max(maxRevenue, p.revenue)
		points = append(points, p)
	}
	ch := chart{
		Width: width, Height: height, MaxCarts: max(maxCarts, 1), Baseline: px(top + plotH), PlotTop: px(top),
		LabelY: px(height - 6), LabelX: px(left), LastX: px(width - right),
	}
	if len(points) == 0 {
		return ch
	}
	ch.FirstDay, ch.LastDay = points[0].day, points[len(points)-1].day
	ch.MaxRevenue = recovery.FormatMoney(max(maxRevenue, 0), currency)
	slot := plotW / float64(len(points))
	barW := max(slot*barFill, minBarGap)
	line := make([]string, 0, len(points))
	for i, p := range points {
		x := left + float64(i)*slot
		h := plotH * float64(p.carts) / float64(ch.MaxCarts)
		title := p.day + ": " + strconv.Itoa(p.carts) + " recovered"
		if currency != "" {
			title += ", " + recovery.FormatMoney(p.revenue, currency)
		}
		ch.Bars = append(ch.Bars, chartBar{X: px(x + (slot-barW)/2), Y: px(top + plotH - h), W: px(barW), H: px(h), Title: title})
		if maxRevenue > 0 {
			y := top + plotH - plotH*float64(p.revenue)/float64(maxRevenue)
			cx := x + slot/2
			line = append(line, px(cx)+","+px(y))
			if p.revenue > 0 {
				ch.Dots = append(ch.Dots, chartDot{X: px(cx), Y: px(y), Title: title})
			}
		}
	}
	ch.Line = strings.Join(line, " ")
	return ch
}
