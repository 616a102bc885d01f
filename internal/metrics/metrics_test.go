package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestCounters(t *testing.T) {
	m := New()
	m.CrawlFinished("mastodon", "ok", 200*time.Millisecond)
	m.CrawlFinished("mastodon", "ok", 3*time.Second)
	m.CrawlFinished("bluesky", "error", time.Second)
	m.RepliesIngested("mastodon", 7)
	m.RepliesIngested("mastodon", 0) // nothing new: must not create noise
	m.RepliesIngested("mastodon", -1)
	m.AlertEvent("spike-x", "firing")
	m.AlertEvent("spike-x", "firing")
	m.AlertEvent("spike-x", "resolved")
	m.Delivery("slack-comms", "sent")
	m.Delivery("email-ops", "failed")
	m.ConfigReload("failure")
	m.SetOutboxBacklog(12)
	m.SetOutboxBacklog(4)

	tests := []struct {
		name string
		got  float64
		want float64
	}{
		{"crawls mastodon ok", testutil.ToFloat64(m.crawls.WithLabelValues("mastodon", "ok")), 2},
		{"crawls bluesky error", testutil.ToFloat64(m.crawls.WithLabelValues("bluesky", "error")), 1},
		{"replies mastodon", testutil.ToFloat64(m.replies.WithLabelValues("mastodon")), 7},
		{"alerts firing", testutil.ToFloat64(m.alerts.WithLabelValues("spike-x", "firing")), 2},
		{"alerts resolved", testutil.ToFloat64(m.alerts.WithLabelValues("spike-x", "resolved")), 1},
		{"deliveries sent", testutil.ToFloat64(m.deliveries.WithLabelValues("slack-comms", "sent")), 1},
		{"deliveries failed", testutil.ToFloat64(m.deliveries.WithLabelValues("email-ops", "failed")), 1},
		{"reload failure", testutil.ToFloat64(m.configReloads.WithLabelValues("failure")), 1},
		{"backlog is a gauge", testutil.ToFloat64(m.outboxBacklog), 4},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestHistograms(t *testing.T) {
	m := New()
	m.CrawlFinished("rss", "ok", 300*time.Millisecond)
	m.RuleEvaluated("spike-x", 2*time.Millisecond)
	m.RuleEvaluated("spike-x", 4*time.Millisecond)

	want := `
# HELP mpwatch_rule_evaluation_duration_seconds Time one evaluation of a rule took, by rule name.
# TYPE mpwatch_rule_evaluation_duration_seconds histogram
mpwatch_rule_evaluation_duration_seconds_bucket{rule="spike-x",le="0.0005"} 0
mpwatch_rule_evaluation_duration_seconds_bucket{rule="spike-x",le="0.001"} 0
mpwatch_rule_evaluation_duration_seconds_bucket{rule="spike-x",le="0.005"} 2
mpwatch_rule_evaluation_duration_seconds_bucket{rule="spike-x",le="0.01"} 2
mpwatch_rule_evaluation_duration_seconds_bucket{rule="spike-x",le="0.05"} 2
mpwatch_rule_evaluation_duration_seconds_bucket{rule="spike-x",le="0.1"} 2
mpwatch_rule_evaluation_duration_seconds_bucket{rule="spike-x",le="0.5"} 2
mpwatch_rule_evaluation_duration_seconds_bucket{rule="spike-x",le="1"} 2
mpwatch_rule_evaluation_duration_seconds_bucket{rule="spike-x",le="5"} 2
mpwatch_rule_evaluation_duration_seconds_bucket{rule="spike-x",le="+Inf"} 2
mpwatch_rule_evaluation_duration_seconds_sum{rule="spike-x"} 0.006
mpwatch_rule_evaluation_duration_seconds_count{rule="spike-x"} 2
`
	if err := testutil.GatherAndCompare(m.reg, strings.NewReader(want), "mpwatch_rule_evaluation_duration_seconds"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m.crawlDuration, "mpwatch_crawl_duration_seconds"); n != 1 {
		t.Errorf("crawl duration series = %d, want 1", n)
	}
}

func TestLint(t *testing.T) {
	m := New()
	m.CrawlFinished("html", "ok", time.Second)
	m.RepliesIngested("html", 1)
	m.RuleEvaluated("r", time.Millisecond)
	m.AlertEvent("r", "firing")
	m.Delivery("d", "sent")
	m.ConfigReload("success")
	problems, err := testutil.GatherAndLint(m.reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		// The Go and process collectors are upstream's; lint only ours.
		if strings.HasPrefix(p.Metric, "mpwatch_") {
			t.Errorf("lint %s: %s", p.Metric, p.Text)
		}
	}
}

func TestHandlerExposesAllFamilies(t *testing.T) {
	m := New()
	m.CrawlFinished("mastodon", "ok", time.Second)
	m.RepliesIngested("mastodon", 1)
	m.RuleEvaluated("r", time.Millisecond)
	m.AlertEvent("r", "firing")
	m.Delivery("d", "sent")
	m.SetOutboxBacklog(1)
	m.ConfigReload("success")

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	body, _ := io.ReadAll(rec.Body)
	for _, name := range []string{
		"mpwatch_crawls_total", "mpwatch_crawl_duration_seconds_bucket",
		"mpwatch_replies_ingested_total", "mpwatch_rule_evaluation_duration_seconds_bucket",
		"mpwatch_alert_events_total", "mpwatch_deliveries_total", "mpwatch_outbox_backlog",
		"mpwatch_config_reloads_total", "mpwatch_config_last_reload_timestamp_seconds",
		"go_goroutines",
	} {
		if !strings.Contains(string(body), "\n"+name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}

func TestNilMetricsIsNoop(t *testing.T) {
	var m *Metrics
	m.CrawlFinished("x", "ok", time.Second)
	m.RepliesIngested("x", 1)
	m.RuleEvaluated("x", time.Second)
	m.AlertEvent("x", "firing")
	m.Delivery("x", "sent")
	m.SetOutboxBacklog(1)
	m.ConfigReload("success")
}
