package quality

import (
	"context"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/rules"
)

// TestShippedRulesMeetTheQualityTargets replays a short benchmark (12 MPs,
// 10 days, 8 campaigns of 26 to 407 accounts in en, fr, zh and en+fr, popular
// posts on top) through the shipped rules and holds them to the targets the
// issue set: recall and precision of at least 0.95, at most one false alert
// per 100,000 organic replies, and each campaign reported within one
// evaluation step of the moment its copies could first be seen as one
// narrative by min_accounts accounts.
func TestShippedRulesMeetTheQualityTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("replays about 11,000 replies")
	}
	rs, err := rules.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	const step = 5 * time.Minute
	res, err := Evaluate(context.Background(), rs, BenchConfig(1, 12, 10, 8), step)
	if err != nil {
		t.Fatal(err)
	}
	report := Report(res)
	if got := res.Recall(); got < 0.95 {
		t.Errorf("recall %.3f, want >= 0.95\n%s", got, report)
	}
	if got := res.Precision(); got < 0.95 {
		t.Errorf("precision %.3f, want >= 0.95\n%s", got, report)
	}
	if got := res.FalsePer100k(); got > 1 {
		t.Errorf("%.2f false alerts per 100k organic replies, want <= 1\n%s", got, report)
	}
	for _, c := range res.Campaigns {
		if c.ThresholdAt.IsZero() {
			t.Errorf("%s never reached the narrative threshold: the scenario cannot test it", c.Name)
			continue
		}
		if c.Detected && c.FirstAlert.Sub(c.ThresholdAt) > step {
			t.Errorf("%s reported %s after reaching the threshold, want within one step (%s)", c.Name, c.FirstAlert.Sub(c.ThresholdAt), step)
		}
	}
	if res.OrganicReplies < 5000 || res.TrueAlerts == 0 {
		t.Errorf("scenario too small to measure: %d organic replies, %d true alerts", res.OrganicReplies, res.TrueAlerts)
	}
}

// TestOrganicTrafficCreditsNoCampaign: with no campaign mixed in, every
// alert is false, organic and popular-post replies are all organic, and the
// counts add up.
func TestOrganicTrafficCreditsNoCampaign(t *testing.T) {
	rs, err := rules.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	cfg := BenchConfig(3, 6, 9, 0)
	res, err := Evaluate(context.Background(), rs, cfg, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Campaigns) != 0 || res.TrueAlerts != 0 || res.Recall() != 1 {
		t.Fatalf("no campaigns, yet %d true alerts (recall %.2f)", res.TrueAlerts, res.Recall())
	}
	if res.FalseAlerts != len(res.False) || res.FiringAlerts != res.TrueAlerts+res.FalseAlerts {
		t.Fatalf("alert counts disagree: %d firing, %d true, %d false, %d listed", res.FiringAlerts, res.TrueAlerts, res.FalseAlerts, len(res.False))
	}
	if res.OrganicReplies != res.TotalReplies {
		t.Fatalf("organic %d of %d replies with no campaign", res.OrganicReplies, res.TotalReplies)
	}
}
