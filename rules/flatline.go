package rules

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/mpwatch/mpwatch/internal/yamlx"
	"github.com/mpwatch/mpwatch/model"
)

func init() { register("flatline", func() Spec { return &FlatlineSpec{} }) }

// FlatlineSpec is an operations rule: a source (target + platform) that
// normally has replies has had none for QuietFor, or (with source health) has
// failed MaxFailures times in a row. Its alerts go to administrators only.
type FlatlineSpec struct {
	Common `yaml:",inline"`
	// QuietFor without a reply makes a normally busy source suspicious.
	QuietFor yamlx.Duration `yaml:"quiet_for" json:"quiet_for"`
	// MinDailyReplies is what "normally has replies" means: the average per
	// day over BaselineDays before the last reply.
	MinDailyReplies float64 `yaml:"min_daily_replies" json:"min_daily_replies"`
	BaselineDays    int     `yaml:"baseline_days" json:"baseline_days"`
	// MaxFailures consecutive crawl failures fire the rule; 0 turns the
	// health check off.
	MaxFailures int `yaml:"max_failures" json:"max_failures"`
}

func (s *FlatlineSpec) Base() *Common            { return &s.Common }
func (s *FlatlineSpec) Audience() model.Audience { return model.AudienceOps }

func (s *FlatlineSpec) SetDefaults() {
	s.QuietFor = yamlx.Duration(24 * time.Hour)
	s.MinDailyReplies = 5
	s.BaselineDays = 7
	s.MaxFailures = 6
	// replies coming back (or one good crawl) should clear it promptly
	s.ResolveAfter = yamlx.Duration(10 * time.Minute)
}

func (s *FlatlineSpec) Validate(report func(key, format string, args ...any)) {
	if s.QuietFor.D() < time.Minute {
		report("quiet_for", "must be at least 1m")
	}
	if s.MinDailyReplies <= 0 {
		report("min_daily_replies", "must be > 0 (a source with no normal traffic cannot go quiet)")
	}
	if s.BaselineDays < 1 || s.BaselineDays > 90 {
		report("baseline_days", "must be between 1 and 90")
	}
	if s.MaxFailures < 0 {
		report("max_failures", "must not be negative (0 turns the health check off)")
	}
}

func (s *FlatlineSpec) NewDetector(env Env) (Detector, error) {
	return &flatDet{spec: s, env: env, st: flatState{Sources: map[string]*flatSource{}}}, nil
}

type flatSource struct {
	Target   string
	Platform model.Platform
	First    time.Time
	Last     time.Time
	Days     map[int64]int // replies per UTC day number
}

type flatState struct {
	Sources map[string]*flatSource
}

type flatDet struct {
	spec   *FlatlineSpec
	env    Env
	st     flatState
	health []model.SourceHealth
}

func (d *flatDet) SetHealth(hs []model.SourceHealth) { d.health = hs }

func dayOf(t time.Time) int64 { return t.Unix() / 86400 }

func (d *flatDet) Observe(it *Item) {
	r := &it.Reply
	k := r.Target + "/" + string(r.Platform)
	s := d.st.Sources[k]
	if s == nil {
		s = &flatSource{Target: r.Target, Platform: r.Platform, First: r.CreatedAt, Last: r.CreatedAt, Days: map[int64]int{}}
		d.st.Sources[k] = s
	}
	if r.CreatedAt.Before(s.First) {
		s.First = r.CreatedAt
	}
	if r.CreatedAt.After(s.Last) {
		s.Last = r.CreatedAt
	}
	s.Days[dayOf(r.CreatedAt)]++
}

// inScope applies the rule's scope to a health record, which is not a reply.
func (d *flatDet) inScope(target string, p model.Platform) bool {
	sc := d.spec.Scope
	if len(sc.Platforms) > 0 && !slices.Contains(sc.Platforms, p) {
		return false
	}
	if len(sc.Targets) > 0 && !slices.Contains(sc.Targets, target) {
		return false
	}
	if len(sc.Tags)+len(sc.Teams) == 0 {
		return true
	}
	return compileScope(sc, d.env)(&Item{Reply: model.Reply{Target: target, Platform: p}})
}

func (d *flatDet) Evaluate(now time.Time) []Finding {
	var out []Finding
	quiet := d.spec.QuietFor.D()
	var quietKeys []string
	for k, s := range d.st.Sources {
		if now.Sub(s.Last) >= quiet {
			quietKeys = append(quietKeys, k)
		}
		if len(s.Days) > d.spec.BaselineDays+2 {
			// forget day counts older than the baseline can ever need
			for day := range s.Days {
				if day <= dayOf(s.Last)-int64(d.spec.BaselineDays) {
					delete(s.Days, day)
				}
			}
		}
	}
	sort.Strings(quietKeys)
	for _, k := range quietKeys {
		s := d.st.Sources[k]
		// The baseline is the days before the last reply, so it does not
		// decay while the source stays quiet and the alert stays stable.
		span := s.Last.Sub(s.First)
		if span < 24*time.Hour {
			continue // too little history to call it normal
		}
		days := min(float64(d.spec.BaselineDays), span.Hours()/24)
		total := 0
		for day, n := range s.Days {
			if day > dayOf(s.Last)-int64(d.spec.BaselineDays) {
				total += n
			}
		}
		rate := float64(total) / days
		if rate < d.spec.MinDailyReplies {
			continue
		}
		hours := now.Sub(s.Last).Hours()
		summary := fmt.Sprintf("No replies collected for %s on %s for %.0fh (it usually gets %.0f a day); the crawler or the account may be broken",
			s.Target, s.Platform, hours, rate)
		out = append(out, Finding{
			Scope: "source:" + k, WindowStart: s.Last.UTC().Truncate(time.Second), WindowEnd: now.UTC(),
			Size: 1, Summary: summary, Targets: []string{s.Target}, Platforms: []model.Platform{s.Platform},
			Metrics:  map[string]float64{"quiet_hours": round3(hours), "daily_baseline": round3(rate)},
			Evidence: model.Evidence{Reason: summary, Count: 0, Baseline: round3(rate)},
		})
	}
	if d.spec.MaxFailures > 0 {
		hs := slices.Clone(d.health)
		sort.Slice(hs, func(i, j int) bool { return hs[i].SourceKey < hs[j].SourceKey })
		for _, h := range hs {
			if h.ConsecutiveFailures < d.spec.MaxFailures || !d.inScope(h.Target, h.Platform) {
				continue
			}
			since := "it was never crawled successfully"
			if !h.LastSuccess.IsZero() {
				since = "last success " + h.LastSuccess.UTC().Format(time.RFC3339)
			}
			errText := strings.TrimSpace(h.LastError)
			if len(errText) > 300 {
				errText = truncateUTF8(errText, 300) + "…"
			}
			summary := fmt.Sprintf("Source %s failed %d times in a row (%s): %s", h.SourceKey, h.ConsecutiveFailures, since, errText)
			out = append(out, Finding{
				Scope: "health:" + h.SourceKey, WindowStart: h.LastSuccess.UTC().Truncate(time.Second), WindowEnd: now.UTC(),
				Size: 1, Summary: summary, Targets: []string{h.Target}, Platforms: []model.Platform{h.Platform},
				Metrics:  map[string]float64{"consecutive_failures": float64(h.ConsecutiveFailures)},
				Evidence: model.Evidence{Reason: summary},
			})
		}
	}
	return out
}

func (d *flatDet) MarshalState() ([]byte, error) {
	b, err := json.Marshal(&d.st)
	if err != nil {
		return nil, fmt.Errorf("encode flatline state: %w", err)
	}
	return b, nil
}

func (d *flatDet) UnmarshalState(b []byte) error {
	var st flatState
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("decode flatline state: %w", err)
	}
	if st.Sources == nil {
		st.Sources = map[string]*flatSource{}
	}
	d.st = st
	return nil
}
