package rules

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/model"
)

// benchGen produces a deterministic reply stream in time order: 1,000
// targets with skewed popularity and a daily rhythm, 200,000 organic
// authors, unique texts of realistic length in English, French and Chinese,
// and every 36 hours a campaign of 150 fresh digit-handle accounts posting
// variants of one narrative to 40 MPs over three hours.
type benchGen struct {
	rng     *rand.Rand
	vocab   []string
	total   int
	emitted int
	perMin  float64
	clock   time.Time
	seq     int
	buf     []model.Reply
	created time.Time
}

const benchTargets = 1000

func newBenchGen(total int) *benchGen {
	g := &benchGen{rng: rand.New(rand.NewPCG(42, 1)), total: total, clock: time.Date(2026, 9, 7, 0, 0, 0, 0, time.UTC)}
	g.created = g.clock.Add(-5 * 24 * time.Hour)
	syll := []string{"ka", "lo", "mi", "ne", "po", "ru", "sa", "te", "vi", "za", "ber", "con", "dis", "gra", "pol", "ment", "tion", "ing", "é", "ou"}
	for i := 0; i < 3000; i++ {
		n := 1 + g.rng.IntN(3)
		var b strings.Builder
		for j := 0; j < n; j++ {
			b.WriteString(syll[g.rng.IntN(len(syll))])
		}
		g.vocab = append(g.vocab, b.String())
	}
	g.perMin = float64(total) / (10 * 24 * 60) // ten days of traffic
	return g
}

func (g *benchGen) text() string {
	var b strings.Builder
	switch k := g.rng.IntN(10); {
	case k == 0: // Chinese: 10-80 Han characters
		n := 10 + g.rng.IntN(70)
		for i := 0; i < n; i++ {
			b.WriteRune(rune(0x4E00 + g.rng.IntN(3000)))
		}
	default:
		n := 6 + g.rng.IntN(35)
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(g.vocab[g.rng.IntN(len(g.vocab))])
		}
		if g.rng.IntN(8) == 0 {
			b.WriteString(" https://news.example/a/" + itoa(g.rng.IntN(1e6)))
		}
	}
	return b.String()
}

var narrativeVariants = []string{
	"The MP was accused of serious crimes by a brave critic. Canadians deserve the truth about this scandal %d",
	"This MP has been accused of crimes by a courageous critic, Canadians deserve the truth on the scandal %d",
	"Le député a été accusé de crimes graves par un critique courageux. Les Canadiens méritent la vérité %d",
}

// minute appends the replies of the next virtual minute to g.buf.
func (g *benchGen) minute() {
	start := len(g.buf)
	hour := g.clock.Hour()
	diurnal := 1 + 0.6*math.Sin(float64(hour-6)/24*2*math.Pi)
	n := int(g.perMin*diurnal + g.rng.Float64()*4 - 2)
	for i := 0; i < n; i++ {
		u := g.rng.Float64()
		tg := int(benchTargets * u * u) // a few busy MPs, many quiet ones
		p := model.Mastodon
		if tg%3 == 0 {
			p = model.Bluesky
		}
		at := g.clock.Add(time.Duration(g.rng.IntN(60)) * time.Second)
		g.add(fmt.Sprintf("mp-%03d", tg), p, "user"+itoa(g.rng.IntN(200000)), at, g.text(), false)
	}
	// campaign: every 36h, 150 accounts over 3h on 40 MPs
	since := g.clock.Sub(time.Date(2026, 9, 7, 0, 0, 0, 0, time.UTC))
	phase := since % (36 * time.Hour)
	if phase >= 12*time.Hour && phase < 15*time.Hour && g.rng.IntN(2) == 0 {
		camp := int(since / (36 * time.Hour))
		for k := 0; k < 5+g.rng.IntN(10); k++ {
			acct := fmt.Sprintf("patriot%d%08d", camp, g.rng.IntN(150))
			tg := fmt.Sprintf("mp-%03d", (camp*97+g.rng.IntN(40)*7)%benchTargets)
			txt := fmt.Sprintf(narrativeVariants[g.rng.IntN(len(narrativeVariants))], g.rng.IntN(3))
			g.add(tg, model.Bluesky, acct, g.clock.Add(time.Duration(g.rng.IntN(60))*time.Second), txt, true)
		}
	}
	mb := g.buf[start:]
	slices.SortStableFunc(mb, func(a, b model.Reply) int { return a.CreatedAt.Compare(b.CreatedAt) })
	g.clock = g.clock.Add(time.Minute)
}

func (g *benchGen) add(target string, p model.Platform, author string, at time.Time, txt string, bot bool) {
	if g.emitted >= g.total {
		return
	}
	g.seq++
	g.emitted++
	day := at.Sub(time.Date(2026, 9, 7, 0, 0, 0, 0, time.UTC)) / (6 * time.Hour)
	r := model.Reply{
		Platform: p, ID: itoa(g.seq), Kind: model.KindReply, Target: target,
		PostID:    target + "-" + itoa(int(day)),
		URL:       "https://social.example/@" + author + "/" + itoa(g.seq),
		CreatedAt: at, Text: txt,
		Author: model.Author{ID: author, Handle: author, Followers: 50 + g.seq%500},
	}
	if bot {
		r.Author.CreatedAt = &g.created
		r.Author.Followers = 2
		r.Author.DefaultAvatar = true
	}
	g.buf = append(g.buf, r)
}

// step returns the replies of the next d of virtual time, and the clock.
func (g *benchGen) step(d time.Duration) ([]model.Reply, time.Time, bool) {
	if g.emitted >= g.total {
		return nil, g.clock, false
	}
	g.buf = g.buf[:0]
	for m := 0; m < int(d/time.Minute); m++ {
		g.minute()
	}
	return g.buf, g.clock, true
}

// BenchmarkRules1M runs 1,000,000 generated replies through the shipped
// rules (RunPipeline, evaluating every 5 virtual minutes) and, for
// comparison, a bare pass that only generates the same replies and
// normalises them (on the same worker pool), before and after. "all" is every shipped rule; "volume" the spike,
// coordination and flatline rules; "text" the narrative rules.
// Run: go test ./rules -run '^$' -bench Rules1M/all -benchtime 1x
func BenchmarkRules1M(b *testing.B) { benchSets(b, 1_000_000) }

// BenchmarkRules100k is the same at a tenth of the size, for quick checks.
func BenchmarkRules100k(b *testing.B) { benchSets(b, 100_000) }

func benchSets(b *testing.B, total int) {
	volume := map[string]bool{"spike": true, "coordination": true, "flatline": true}
	b.Run("all", func(b *testing.B) { benchRules(b, total, func(Rule) bool { return true }) })
	b.Run("volume", func(b *testing.B) { benchRules(b, total, func(r Rule) bool { return volume[r.Type()] }) })
	b.Run("text", func(b *testing.B) { benchRules(b, total, func(r Rule) bool { return !volume[r.Type()] }) })
}

func benchRules(b *testing.B, total int, keep func(Rule) bool) {
	all, err := LoadDefault()
	if err != nil {
		b.Fatal(err)
	}
	var rs []Rule
	for _, r := range all {
		if keep(r) {
			rs = append(rs, r)
		}
	}
	ctx := context.Background()
	const step = 5 * time.Minute
	// The bare pass reads (generates) and normalises only. It runs before
	// and after the full run, and the ratio takes their mean: on a shared
	// machine whose speed drifts, one bare pass before made the ratio
	// depend on when the drift happened.
	bareRun := func() time.Duration {
		start := time.Now()
		g := newBenchGen(total)
		bare := &Engine{opts: EngineOptions{Workers: runtime.GOMAXPROCS(0)}}
		for {
			batch, _, ok := g.step(step)
			if !ok {
				break
			}
			items := make([]Item, len(batch))
			bare.parallel(len(batch), func(i int) { items[i].Norm = defaultNormalize(batch[i].Text) })
		}
		return time.Since(start)
	}
	for b.Loop() {
		bareBefore := bareRun()

		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		before, beforeLive := ms.HeapInuse, ms.HeapAlloc
		var peak uint64

		fullStart := time.Now()
		g := newBenchGen(total)
		e, err := NewEngine(rs, EngineOptions{})
		if err != nil {
			b.Fatal(err)
		}
		events := map[string]int{}
		var times []time.Time
		evals := 0
		next := func() ([]model.Reply, time.Time, bool) {
			batch, clock, ok := g.step(step)
			// The generator reuses its buffer, which RunPipeline allows.
			for _, r := range batch {
				times = append(times, r.CreatedAt)
			}
			return batch, clock, ok
		}
		err = RunPipeline(ctx, e, next, func(_ time.Time, _ int, as []model.Alert) error {
			for _, a := range as {
				events[a.Rule+"/"+string(a.Status)]++
			}
			evals++
			if evals%288 == 0 { // once a virtual day: sample the heap
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		fullDur := time.Since(fullStart)
		runtime.GC()
		runtime.ReadMemStats(&ms)
		// held: the heap spans in use, counting the free slots between live
		// objects (what the process keeps); live: the bytes the detectors
		// hold, after a collection.
		held := int64(ms.HeapInuse) - int64(before)
		live := int64(ms.HeapAlloc) - int64(beforeLive)
		peak = max(peak, ms.HeapInuse)
		inWindow := benchInWindow(times, times[len(times)-1])
		held -= int64(len(times)) * 24 // the benchmark's own list of times
		live -= int64(len(times)) * 24
		runtime.KeepAlive(e)
		nEvals, nRules, emitted := evals, len(e.rules), g.emitted
		e, g = nil, nil
		bareAfter := bareRun()
		bareDur := (bareBefore + bareAfter) / 2

		n := float64(emitted)
		b.ReportMetric(n/fullDur.Seconds(), "replies/s")
		b.ReportMetric(n/bareDur.Seconds(), "bare_replies/s")
		b.ReportMetric(fullDur.Seconds()/bareDur.Seconds(), "full/bare")
		b.ReportMetric(float64(held)/float64(inWindow), "detector_B/reply_in_window")
		b.ReportMetric(float64(live)/float64(inWindow), "live_B/reply_in_window")
		b.ReportMetric(float64(peak)/(1<<20), "peak_heap_MiB")
		b.Logf("%d replies, %d rules, %d evaluations, %d in the last 72h; full %s (%.0f/s), bare %s before and %s after, mean %s (%.0f/s), ratio %.2f; detector memory %.1f MiB in heap spans (%.0f B/reply in window), %.1f MiB live (%.0f B/reply), peak heap %.1f MiB; events %v",
			emitted, nRules, nEvals, inWindow, fullDur.Round(time.Millisecond), n/fullDur.Seconds(),
			bareBefore.Round(time.Millisecond), bareAfter.Round(time.Millisecond), bareDur.Round(time.Millisecond),
			n/bareDur.Seconds(), fullDur.Seconds()/bareDur.Seconds(), float64(held)/(1<<20), float64(held)/float64(inWindow),
			float64(live)/(1<<20), float64(live)/float64(inWindow), float64(peak)/(1<<20), events)
	}
}

// BenchmarkEachRule runs the same generated stream, normalised beforehand,
// through each shipped rule alone: 400,000 replies are four virtual days,
// past every shipped window, so eviction is in the figures. It reports the
// rule's cost per reply and the memory it holds at the end per reply in the
// last 72h (live heap, after a collection), so work on one detector can be
// measured without the others.
// Run: go test ./rules -run '^$' -bench EachRule -benchtime 1x
func BenchmarkEachRule(b *testing.B) {
	all, err := LoadDefault()
	if err != nil {
		b.Fatal(err)
	}
	const step = 5 * time.Minute
	type batch struct {
		items []Item
		at    time.Time
	}
	g := newBenchGen(400_000)
	norm := &Engine{opts: EngineOptions{Workers: runtime.GOMAXPROCS(0)}}
	var batches []batch
	var last time.Time
	var times []time.Time
	for {
		rs, at, ok := g.step(step)
		if !ok {
			break
		}
		rs = slices.Clone(rs)
		items := make([]Item, len(rs))
		norm.parallel(len(rs), func(i int) { items[i] = Item{Reply: rs[i], Norm: defaultNormalize(rs[i].Text)} })
		for _, r := range rs {
			times = append(times, r.CreatedAt)
		}
		batches = append(batches, batch{items, at})
		last = at
	}
	inWindow := benchInWindow(times, last)
	ctx := context.Background()
	for _, r := range all {
		b.Run(r.Name(), func(b *testing.B) {
			for b.Loop() {
				before, beforeInuse := benchHeap()
				e, err := NewEngine([]Rule{r}, EngineOptions{})
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				for _, bt := range batches {
					e.IngestNormalized(bt.items)
					if _, err := e.Evaluate(ctx, bt.at); err != nil {
						b.Fatal(err)
					}
				}
				d := time.Since(start)
				alloc, inuseNow := benchHeap()
				held := int64(alloc) - int64(before)
				inuse := int64(inuseNow) - int64(beforeInuse)
				runtime.KeepAlive(e)
				b.ReportMetric(float64(d.Nanoseconds())/float64(len(times)), "ns/reply")
				b.ReportMetric(float64(held)/float64(inWindow), "live_B/reply_in_window")
				// in use: the spans holding the live objects, with the
				// free slots between them
				b.ReportMetric(float64(inuse)/float64(inWindow), "inuse_B/reply_in_window")
			}
		})
	}
}

// benchInWindow counts the replies created in the 72 hours before end: the
// longest window in which the shipped rules keep replies is
// accusation-narrative's 72h (repeated-narrative 48h, co-reply 24h).
func benchInWindow(times []time.Time, end time.Time) int {
	n := 0
	for _, t := range times {
		if t.After(end.Add(-72 * time.Hour)) {
			n++
		}
	}
	return n
}

// benchHeap returns the live heap and the heap spans in use, after a
// collection.
func benchHeap() (alloc, inuse uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc, ms.HeapInuse
}
