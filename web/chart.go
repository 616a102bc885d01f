package web

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"
)

// Chart geometry in viewBox units. The SVG scales to its container's width
// (width 100%, viewBox), so these only fix proportions and font size.
const (
	chartW      = 720.0
	chartH      = 220.0
	chartLeft   = 50.0
	chartRight  = 10.0
	chartTop    = 12.0
	chartBottom = 38.0
)

// chart is a bar chart ready for the "chart" template; every coordinate is
// computed here so the template only places values. Text goes through
// html/template's escaping, except the bars (see barsSVG).
type chart struct {
	ID    string // unique on the page, for aria-labelledby
	Title string
	Desc  string
	W, H  float64
	Bars  []bar
	// BarsSVG is Bars drawn as markup, see barsSVG.
	BarsSVG template.HTML
	YTicks  []tick
	XTicks  []tick
	Window  *rect // shaded alert window, if any
	Empty   bool  // no replies at all in the range
	// Plot area, for the axes.
	X0, Y0, X1, Y1 float64
}

type bar struct {
	X, Y, W, H float64
	Label      string // tooltip: bucket time and count
	InWindow   bool
}

type tick struct {
	Pos   float64 // x for XTicks, y for YTicks
	Label string
}

type rect struct{ X, Y, W, H float64 }

// series is a count per bucket from From, Bucket apart.
type series struct {
	From   time.Time
	Bucket time.Duration
	Counts []int
}

// newSeries sums points whose Start falls in [from, from+n*bucket) into
// buckets. keep filters points (nil keeps all).
func newSeries(from time.Time, bucket time.Duration, n int, pts []VolumePoint, keep func(VolumePoint) bool) series {
	s := series{From: from, Bucket: bucket, Counts: make([]int, n)}
	for _, p := range pts {
		if keep != nil && !keep(p) {
			continue
		}
		d := p.Start.Sub(from)
		if d < 0 {
			continue
		}
		i := int(d / bucket)
		if i >= n {
			continue
		}
		s.Counts[i] += p.Count
	}
	return s
}

func (s series) total() int {
	t := 0
	for _, c := range s.Counts {
		t += c
	}
	return t
}

// buildChart lays out s as bars. winFrom/winTo, when not zero, shade the
// alert window and mark the bars inside it.
func buildChart(id, title string, s series, loc *time.Location, winFrom, winTo time.Time) chart {
	c := chart{
		ID: id, Title: title, W: chartW, H: chartH,
		X0: chartLeft, Y0: chartTop, X1: chartW - chartRight, Y1: chartH - chartBottom,
	}
	n := len(s.Counts)
	if n == 0 {
		c.Empty = true
		c.Desc = "No data."
		return c
	}
	peak, peakAt := 0, 0
	for i, v := range s.Counts {
		if v > peak {
			peak, peakAt = v, i
		}
	}
	top := niceCeil(peak)
	plotW, plotH := c.X1-c.X0, c.Y1-c.Y0
	slot := plotW / float64(n)
	gap := 0.0
	if slot >= 4 {
		gap = slot * 0.15 // separate bars only where they are wide enough to see
	}
	end := s.From.Add(time.Duration(n) * s.Bucket)
	for i, v := range s.Counts {
		start := s.From.Add(time.Duration(i) * s.Bucket)
		h := 0.0
		if top > 0 {
			h = plotH * float64(v) / float64(top)
		}
		b := bar{
			X: round2(c.X0 + float64(i)*slot + gap/2), W: round2(slot - gap),
			Y: round2(c.Y1 - h), H: round2(h),
			Label: fmt.Sprintf("%s: %d", start.In(loc).Format("Mon 2 Jan 15:04"), v),
		}
		if !winFrom.IsZero() && start.Before(winTo) && start.Add(s.Bucket).After(winFrom) {
			b.InWindow = true
		}
		c.Bars = append(c.Bars, b)
	}
	for _, v := range []int{0, top / 2, top} {
		if top == 0 && v != 0 {
			continue
		}
		y := c.Y1
		if top > 0 {
			y = c.Y1 - plotH*float64(v)/float64(top)
		}
		c.YTicks = append(c.YTicks, tick{Pos: round2(y), Label: strconv.Itoa(v)})
	}
	c.XTicks = xTicks(s.From, end, loc, c.X0, plotW)
	if !winFrom.IsZero() {
		a, b := clampTime(winFrom, s.From, end), clampTime(winTo, s.From, end)
		if b.After(a) {
			x0 := c.X0 + plotW*float64(a.Sub(s.From))/float64(end.Sub(s.From))
			x1 := c.X0 + plotW*float64(b.Sub(s.From))/float64(end.Sub(s.From))
			c.Window = &rect{X: round2(x0), Y: c.Y0, W: round2(math.Max(x1-x0, 1)), H: round2(plotH)}
		}
	}
	c.BarsSVG = barsSVG(c.Bars)
	total := s.total()
	c.Empty = total == 0
	if c.Empty {
		c.Desc = fmt.Sprintf("No replies between %s and %s.", fmtTime(s.From, loc), fmtTime(end, loc))
	} else {
		c.Desc = fmt.Sprintf("%d replies between %s and %s, in buckets of %s; peak %d at %s.",
			total, fmtTime(s.From, loc), fmtTime(end, loc), fmtDuration(s.Bucket), peak,
			fmtTime(s.From.Add(time.Duration(peakAt)*s.Bucket), loc))
	}
	if c.Window != nil {
		c.Desc += fmt.Sprintf(" The shaded band is the alert window, %s to %s.", fmtTime(winFrom, loc), fmtTime(winTo, loc))
	}
	return c
}

// xTicks puts about six labelled ticks on the time axis at round times: days
// for long ranges, hours for short ones.
func xTicks(from, to time.Time, loc *time.Location, x0, w float64) []tick {
	span := to.Sub(from)
	steps := []time.Duration{
		5 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour,
		3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 48 * time.Hour, 7 * 24 * time.Hour,
	}
	step := steps[len(steps)-1]
	for _, s := range steps {
		if span/s <= 7 {
			step = s
			break
		}
	}
	layout := "15:04"
	if step >= 24*time.Hour {
		layout = "Mon 2"
	} else if span > 24*time.Hour {
		layout = "2 Jan 15:04"
	}
	var out []tick
	// Align ticks to the step in the display zone so days start at midnight.
	first := from.In(loc)
	if step >= 24*time.Hour {
		first = time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, loc)
	} else {
		_, off := first.Zone()
		shift := time.Duration(off) * time.Second
		first = first.Add(shift).Truncate(step).Add(-shift)
	}
	for t := first; !t.After(to); t = t.Add(step) {
		if t.Before(from) {
			continue
		}
		x := x0 + w*float64(t.Sub(from))/float64(span)
		out = append(out, tick{Pos: round2(x), Label: t.In(loc).Format(layout)})
	}
	return out
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten, so axis labels are
// round numbers.
func niceCeil(v int) int {
	if v <= 0 {
		return 0
	}
	if v <= 2 {
		return 2 // keeps top/2 an integer tick
	}
	p := 1
	for p*10 <= v {
		p *= 10
	}
	for _, m := range []int{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func clampTime(t, lo, hi time.Time) time.Time {
	if t.Before(lo) {
		return lo
	}
	if t.After(hi) {
		return hi
	}
	return t
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// pickBucket chooses the smallest round bucket that draws span in at most
// maxBars bars.
func pickBucket(span time.Duration, maxBars int) time.Duration {
	for _, b := range []time.Duration{
		time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour,
		3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
	} {
		if span/b <= time.Duration(maxBars) {
			return b
		}
	}
	return 7 * 24 * time.Hour
}

// barsSVG writes the bars directly rather than through the template: a status
// page of 100 targets has 16,800 bars, and html/template's per-action
// reflection and escaping made them two thirds of the page's cost. Bars hold
// only numbers and labels made here from a time and a count, and the labels
// are escaped anyway.
func barsSVG(bars []bar) template.HTML {
	var b strings.Builder
	b.Grow(len(bars) * 130)
	num := func(f float64) { b.WriteString(strconv.FormatFloat(f, 'f', -1, 64)) }
	for _, r := range bars {
		if r.H == 0 {
			continue // nothing to see, and most hours of a quiet target are empty
		}
		b.WriteString(`<rect class="bar`)
		fill := "#2f6fad"
		if r.InWindow {
			b.WriteString(` in-window`)
			fill = "#c0392b"
		}
		b.WriteString(`" x="`)
		num(r.X)
		b.WriteString(`" y="`)
		num(r.Y)
		b.WriteString(`" width="`)
		num(r.W)
		b.WriteString(`" height="`)
		num(r.H)
		b.WriteString(`" fill="`)
		b.WriteString(fill)
		b.WriteString(`"><title>`)
		b.WriteString(html.EscapeString(r.Label))
		b.WriteString("</title></rect>")
	}
	return template.HTML(b.String())
}
