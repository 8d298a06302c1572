package http

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cartback/cartback/recovery"
)

// metrics are the HTTP adapter's Prometheus series.
type metrics struct {
	webhooks *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	visits   *prometheus.CounterVec
	reports  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cartback_webhooks_total",
			Help: "Webhooks received, by platform, topic and outcome.",
		}, []string{"platform", "topic", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cartback_webhook_ingest_seconds",
			Help:    "Time from receiving a webhook to answering it, including the durable commit.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"platform"}),
		visits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cartback_restore_visits_total",
			Help: "Restore link visits, by outcome (restored, converted, expired, invalid).",
		}, []string{"outcome"}),
	}
	m.reports = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cartback_delivery_reports_total",
		Help: "Provider delivery reports recorded, by channel and status (delivered, undelivered, failed, bounced).",
	}, []string{"channel", "status"})
	// Series known in advance start at 0, so that increase() and rate()
	// see their first event (a series that appears at 1 shows no increase).
	for _, o := range []recovery.VisitOutcome{recovery.VisitRestored, recovery.VisitConverted, recovery.VisitExpired, recovery.VisitInvalid} {
		m.visits.WithLabelValues(string(o))
	}
	for _, st := range []recovery.MessageStatus{recovery.MessageDelivered, recovery.MessageUndelivered, recovery.MessageFailed} {
		m.reports.WithLabelValues(string(recovery.ChannelSMS), string(st))
	}
	for _, p := range []recovery.Platform{recovery.PlatformShopify, recovery.PlatformWooCommerce} {
		// A webhook that fails its signature (a wrong secret) counts here.
		m.webhooks.WithLabelValues(string(p), "unverified", recovery.ErrorCode(errUnverified))
	}
	if reg != nil {
		reg.MustRegister(m.webhooks, m.latency, m.visits, m.reports)
	}
	return m
}

// knownTopics keeps metric labels bounded: any other topic counts as "other".
var knownTopics = map[string]bool{
	"checkouts/create": true, "checkouts/update": true, "checkouts/delete": true,
	"orders/create": true, "orders/paid": true, "app/uninstalled": true,
	"customers/redact": true, "customers/data_request": true, "shop/redact": true,
	"order.created": true, "order.updated": true, "cart.updated": true, "cart.deleted": true,
	"ping": true, "unverified": true,
}

func topicLabel(topic string) string {
	if knownTopics[topic] {
		return topic
	}
	return "other"
}
