package web

import (
	"strings"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/model"
)

func TestNiceCeil(t *testing.T) {
	for in, want := range map[int]int{0: 0, 1: 2, 2: 2, 3: 5, 7: 10, 10: 10, 11: 20, 41: 50, 99: 100, 120: 200, 501: 1000} {
		if got := niceCeil(in); got != want {
			t.Errorf("niceCeil(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestPickBucket(t *testing.T) {
	tests := []struct {
		span time.Duration
		want time.Duration
	}{
		{time.Hour, time.Minute},
		{9*time.Hour + 30*time.Minute, 15 * time.Minute},
		{24 * time.Hour, 15 * time.Minute},
		{7 * 24 * time.Hour, 3 * time.Hour},
		{365 * 24 * time.Hour, 7 * 24 * time.Hour},
	}
	for _, tt := range tests {
		if got := pickBucket(tt.span, 96); got != tt.want {
			t.Errorf("pickBucket(%s) = %s, want %s", tt.span, got, tt.want)
		}
	}
}

func TestNewSeries(t *testing.T) {
	from := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	pts := []VolumePoint{
		{Target: "a", Platform: model.Mastodon, Start: from, Count: 2},
		{Target: "a", Platform: model.Bluesky, Start: from, Count: 3},
		{Target: "a", Start: from.Add(90 * time.Minute), Count: 4}, // inside bucket 1
		{Target: "b", Start: from, Count: 100},                     // filtered out
		{Target: "a", Start: from.Add(-time.Hour), Count: 100},     // before range
		{Target: "a", Start: from.Add(3 * time.Hour), Count: 100},  // after range
	}
	s := newSeries(from, time.Hour, 3, pts, func(p VolumePoint) bool { return p.Target == "a" })
	if got := s.Counts; len(got) != 3 || got[0] != 5 || got[1] != 4 || got[2] != 0 {
		t.Errorf("counts %v, want [5 4 0]", got)
	}
	if s.total() != 9 {
		t.Errorf("total %d", s.total())
	}
}

func TestBuildChart(t *testing.T) {
	from := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	s := series{From: from, Bucket: time.Hour, Counts: []int{0, 5, 10, 41}}
	c := buildChart("c", "T", s, time.UTC, from.Add(2*time.Hour), from.Add(3*time.Hour))
	if c.Empty || len(c.Bars) != 4 {
		t.Fatalf("chart empty=%v bars=%d", c.Empty, len(c.Bars))
	}
	// Top of the axis is 50, so the 41 bar fills 82% of the plot height.
	plotH := c.Y1 - c.Y0
	if got, want := c.Bars[3].H, round2(plotH*41/50); got != want {
		t.Errorf("peak bar height %v, want %v", got, want)
	}
	if c.Bars[0].H != 0 || c.Bars[0].Y != c.Y1 {
		t.Errorf("zero bar %+v", c.Bars[0])
	}
	if labels := []string{c.YTicks[0].Label, c.YTicks[1].Label, c.YTicks[2].Label}; strings.Join(labels, ",") != "0,25,50" {
		t.Errorf("y ticks %v", labels)
	}
	var in []bool
	for _, b := range c.Bars {
		in = append(in, b.InWindow)
	}
	if in[0] || in[1] || !in[2] || in[3] {
		t.Errorf("in window %v, want only bar 2", in)
	}
	if c.Window == nil || c.Window.X != round2(c.X0+(c.X1-c.X0)/2) || c.Window.W != round2((c.X1-c.X0)/4) {
		t.Errorf("window %+v", c.Window)
	}
	if !strings.Contains(c.Desc, "56 replies") || !strings.Contains(c.Desc, "peak 41 at 2026-11-20 03:00 UTC") || !strings.Contains(c.Desc, "shaded") {
		t.Errorf("desc %q", c.Desc)
	}
	// A window outside the range is not drawn.
	if c := buildChart("c", "T", s, time.UTC, from.Add(-5*time.Hour), from.Add(-4*time.Hour)); c.Window != nil {
		t.Errorf("window outside range drawn: %+v", c.Window)
	}
}

func TestBuildChartEmpty(t *testing.T) {
	from := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	c := buildChart("c", "T", series{From: from, Bucket: time.Hour, Counts: make([]int, 24)}, time.UTC, time.Time{}, time.Time{})
	if !c.Empty || !strings.HasPrefix(c.Desc, "No replies") {
		t.Errorf("empty chart: empty=%v desc=%q", c.Empty, c.Desc)
	}
	for _, b := range c.Bars {
		if b.H != 0 {
			t.Fatalf("bar with height in empty chart: %+v", b)
		}
	}
}

func TestXTicksAlignToDays(t *testing.T) {
	loc := time.FixedZone("EST", -5*3600)
	from := time.Date(2026, 11, 13, 16, 0, 0, 0, time.UTC)
	ticks := xTicks(from, from.Add(7*24*time.Hour), loc, 0, 700)
	if len(ticks) != 7 {
		t.Fatalf("%d ticks, want 7 (one per local midnight)", len(ticks))
	}
	// First local midnight after 11:00 EST on Fri 13 is Sat 14 00:00 EST =
	// 05:00 UTC, 13 h into the range of 168 h.
	if ticks[0].Label != "Sat 14" || ticks[0].Pos != round2(700*13.0/168) {
		t.Errorf("first tick %+v", ticks[0])
	}
}

func TestLinkURL(t *testing.T) {
	tests := []struct {
		in   string
		ok   bool
		want string
	}{
		{"https://example.org/a?b=c", true, "https://example.org/a?b=c"},
		{"HTTP://example.org", true, "http://example.org"},
		{"javascript:alert(1)", false, ""},
		{"JaVaScRiPt:alert(1)", false, ""},
		{" javascript:alert(1)", false, ""},
		{"data:text/html,<script>", false, ""},
		{"/relative", false, ""},
		{"//evil.example/x", false, ""},
		{"vbscript:x", false, ""},
		{"", false, ""},
	}
	for _, tt := range tests {
		got, ok := linkURL(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("linkURL(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
