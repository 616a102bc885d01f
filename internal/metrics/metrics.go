package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the set of mpwatch collectors registered on a private registry.
type Metrics struct {
	reg *prometheus.Registry

	crawls         *prometheus.CounterVec
	crawlDuration  *prometheus.HistogramVec
	replies        *prometheus.CounterVec
	ruleDuration   *prometheus.HistogramVec
	alerts         *prometheus.CounterVec
	deliveries     *prometheus.CounterVec
	outboxBacklog  prometheus.Gauge
	configReloads  *prometheus.CounterVec
	lastReloadTime *prometheus.GaugeVec
}

// New builds the collectors and registers them, with the Go runtime and
// process collectors, on a new registry.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		crawls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mpwatch_crawls_total",
			Help: "Crawls of a source finished, by platform and outcome (ok, error, partial, ...).",
		}, []string{"platform", "outcome"}),
		// Crawls range from a cached 50 ms API page to a slow paginated HTML
		// thread taking a minute, hence buckets from 50 ms to 2 min.
		crawlDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mpwatch_crawl_duration_seconds",
			Help:    "Time one crawl of a source took, by platform.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120},
		}, []string{"platform"}),
		replies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mpwatch_replies_ingested_total",
			Help: "Replies newly stored, by platform (re-crawled replies are not counted again).",
		}, []string{"platform"}),
		// A rule evaluation is in-memory work over a window: sub-millisecond
		// normally, seconds would mean trouble.
		ruleDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mpwatch_rule_evaluation_duration_seconds",
			Help:    "Time one evaluation of a rule took, by rule name.",
			Buckets: []float64{0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5},
		}, []string{"rule"}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mpwatch_alert_events_total",
			Help: "Alert events emitted, by rule and status (firing, updated, resolved).",
		}, []string{"rule", "status"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mpwatch_deliveries_total",
			Help: "Notification delivery attempts, by receiver and outcome (sent, retry, failed, ...).",
		}, []string{"receiver", "outcome"}),
		outboxBacklog: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mpwatch_outbox_backlog",
			Help: "Deliveries waiting in the outbox.",
		}),
		configReloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mpwatch_config_reloads_total",
			Help: "Configuration reload attempts, by outcome (success, failure).",
		}, []string{"outcome"}),
		lastReloadTime: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "mpwatch_config_last_reload_timestamp_seconds",
			Help: "Unix time of the last configuration reload attempt, by outcome.",
		}, []string{"outcome"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.crawls, m.crawlDuration, m.replies, m.ruleDuration, m.alerts,
		m.deliveries, m.outboxBacklog, m.configReloads, m.lastReloadTime,
	)
	return m
}

// Registry exposes the private registry, for tests and for callers that add
// collectors of their own.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// CrawlFinished records one crawl of a source and how long it took.
func (m *Metrics) CrawlFinished(platform, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.crawls.WithLabelValues(platform, outcome).Inc()
	m.crawlDuration.WithLabelValues(platform).Observe(d.Seconds())
}

// RepliesIngested adds n newly stored replies; n <= 0 records nothing.
func (m *Metrics) RepliesIngested(platform string, n int) {
	if m == nil || n <= 0 {
		return
	}
	m.replies.WithLabelValues(platform).Add(float64(n))
}

// RuleEvaluated records how long one evaluation of a rule took.
func (m *Metrics) RuleEvaluated(rule string, d time.Duration) {
	if m == nil {
		return
	}
	m.ruleDuration.WithLabelValues(rule).Observe(d.Seconds())
}

// AlertEvent counts one alert event of a rule in a status.
func (m *Metrics) AlertEvent(rule, status string) {
	if m == nil {
		return
	}
	m.alerts.WithLabelValues(rule, status).Inc()
}

// Delivery counts one delivery attempt to a receiver.
func (m *Metrics) Delivery(receiver, outcome string) {
	if m == nil {
		return
	}
	m.deliveries.WithLabelValues(receiver, outcome).Inc()
}

// SetOutboxBacklog sets how many deliveries are waiting.
func (m *Metrics) SetOutboxBacklog(n int) {
	if m == nil {
		return
	}
	m.outboxBacklog.Set(float64(n))
}

// ConfigReload counts one reload attempt and stamps its time.
func (m *Metrics) ConfigReload(outcome string) {
	if m == nil {
		return
	}
	m.configReloads.WithLabelValues(outcome).Inc()
	m.lastReloadTime.WithLabelValues(outcome).SetToCurrentTime()
}

// Handler serves the registry in the Prometheus exposition format. Errors
// while gathering are reported in the response rather than hidden, so a broken
// collector is visible to whoever scrapes.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.reg, // counts promhttp's own errors on the same registry
	})
}
