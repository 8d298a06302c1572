package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// percentile returns the p-th percentile (0 < p ≤ 100) of sorted by the
// nearest-rank method: the smallest value that at least p % of the sample
// is less than or equal to.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	// Rank is ceil(p/100 · n), computed in integers to avoid 0.999… cases.
	n := len(sorted)
	rank := int((int64(math.Round(p*1000))*int64(n) + 100000 - 1) / 100000)
	rank = max(1, min(rank, n))
	return sorted[rank-1]
}

// result is what one timed phase measured.
type result struct {
	Target      string         `json:"target"`
	URL         string         `json:"url"`
	Concurrency int            `json:"concurrency"`
	OfferedRate float64        `json:"offered_rate,omitempty"` // -rate, requests per second
	Duration    float64        `json:"duration_s"`             // wall time of the timed phase
	Requests    int            `json:"requests"`
	OK          int            `json:"ok"`
	Failed      int            `json:"failed"`
	Statuses    map[string]int `json:"statuses"` // HTTP status or transport error class → count
	Rate        float64        `json:"rate"`     // requests per second
	OKRate      float64        `json:"ok_rate"`  // successful requests per second
	BodyBytes   int            `json:"body_bytes,omitempty"`
	P50         float64        `json:"p50_ms"`
	P90         float64        `json:"p90_ms"`
	P99         float64        `json:"p99_ms"`
	P999        float64        `json:"p999_ms"`
	Max         float64        `json:"max_ms"`
	Mean        float64        `json:"mean_ms"`
	WarmupFail  int            `json:"warmup_failed"`
	// Wire is the latency to when the kernel received each answer, before
	// this process was scheduled to read it (Linux, plain TCP); nil where
	// unknown.
	Wire *wireLatency `json:"wire,omitempty"`

	latencies []time.Duration
	wire      []time.Duration
}

// wireLatency summarises the latencies to the kernel's receive times.
type wireLatency struct {
	Answers int     `json:"answers"`
	P50     float64 `json:"p50_ms"`
	P90     float64 `json:"p90_ms"`
	P99     float64 `json:"p99_ms"`
	P999    float64 `json:"p999_ms"`
	Max     float64 `json:"max_ms"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// summarize fills the figures from the raw latencies and counts.
func (r *result) summarize(elapsed time.Duration) {
	r.Duration = elapsed.Seconds()
	r.Requests = len(r.latencies)
	r.Failed = r.Requests - r.OK
	if elapsed > 0 {
		r.Rate = float64(r.Requests) / elapsed.Seconds()
		r.OKRate = float64(r.OK) / elapsed.Seconds()
	}
	slices.Sort(r.latencies)
	var sum time.Duration
	for _, l := range r.latencies {
		sum += l
	}
	if r.Requests > 0 {
		r.Mean = ms(sum / time.Duration(r.Requests))
		r.Max = ms(r.latencies[r.Requests-1])
	}
	r.P50 = ms(percentile(r.latencies, 50))
	r.P90 = ms(percentile(r.latencies, 90))
	r.P99 = ms(percentile(r.latencies, 99))
	r.P999 = ms(percentile(r.latencies, 99.9))
	if len(r.wire) > 0 {
		slices.Sort(r.wire)
		r.Wire = &wireLatency{
			Answers: len(r.wire), Max: ms(r.wire[len(r.wire)-1]),
			P50: ms(percentile(r.wire, 50)), P90: ms(percentile(r.wire, 90)),
			P99: ms(percentile(r.wire, 99)), P999: ms(percentile(r.wire, 99.9)),
		}
	}
}

// print writes the human-readable report.
func (r *result) print(w io.Writer) {
	fmt.Fprintf(w, "target       %s (%s)\n", r.Target, r.URL)
	if r.OfferedRate > 0 {
		fmt.Fprintf(w, "concurrency  at most %d, offered %.0f req/s (latency from each request's due time)\n", r.Concurrency, r.OfferedRate)
	} else {
		fmt.Fprintf(w, "concurrency  %d\n", r.Concurrency)
	}
	fmt.Fprintf(w, "duration     %.2fs\n", r.Duration)
	if r.BodyBytes > 0 {
		fmt.Fprintf(w, "body         ~%d bytes\n", r.BodyBytes)
	}
	fmt.Fprintf(w, "requests     %d (ok %d, failed %d)\n", r.Requests, r.OK, r.Failed)
	keys := slices.Sorted(maps.Keys(r.Statuses))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %d", k, r.Statuses[k]))
	}
	fmt.Fprintf(w, "responses    %s\n", strings.Join(parts, ", "))
	if r.WarmupFail > 0 {
		fmt.Fprintf(w, "warmup       %d requests failed\n", r.WarmupFail)
	}
	fmt.Fprintf(w, "rate         %.0f req/s (ok %.0f/s)\n", r.Rate, r.OKRate)
	fmt.Fprintf(w, "latency ms   p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f  mean %.2f\n",
		r.P50, r.P90, r.P99, r.P999, r.Max, r.Mean)
	if wl := r.Wire; wl != nil {
		fmt.Fprintf(w, "at the wire  p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f  (to the kernel's receipt of the answer, %d answers)\n",
			wl.P50, wl.P90, wl.P99, wl.P999, wl.Max, wl.Answers)
	}
}

// printJSON writes the result as one JSON line.
func (r *result) printJSON(w io.Writer) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
