package rules

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mpwatch/mpwatch/internal/yamlx"
	"github.com/mpwatch/mpwatch/model"
)

func init() { register("narrative", func() Spec { return &NarrativeSpec{} }) }

// NarrativeSpec fires when many replies to a target (or to all targets)
// carry the terms of an administrator-maintained lexicon within a window:
// an accusation campaign that uses varied wording but the same vocabulary.
type NarrativeSpec struct {
	Common `yaml:",inline"`
	// Window is how far back matching replies count, by created_at
	// relative to the evaluation time (default 72h).
	Window yamlx.Duration `yaml:"window" json:"window"`
	// GroupBy is "target" (default: one finding per target) or "all" (one
	// finding for all targets together).
	GroupBy string `yaml:"group_by" json:"group_by"`
	// MinCount is the number of matching replies in the window needed to
	// fire. Required, at least 1.
	MinCount int `yaml:"min_count" json:"min_count"`
	// MinShare is the share of the group's replies in the window that must
	// match (0.05 = 5 %); 0 leaves it out.
	MinShare float64 `yaml:"min_share" json:"min_share"`
	// Combine says how min_count and min_share combine when both are set:
	// "and" (default) or "or".
	Combine string `yaml:"combine" json:"combine"`
	// MinAccounts is the number of distinct authors among the matching
	// replies needed to fire (default 3): one angry account is not a
	// narrative.
	MinAccounts int `yaml:"min_accounts" json:"min_accounts"`
	// Lexicons are the vocabularies to look for.
	Lexicons []Lexicon `yaml:"lexicons" json:"lexicons"`
	// Signals sets how the accounts behind a finding are described.
	Signals SignalConfig `yaml:"signals" json:"signals"`
}

func (s *NarrativeSpec) Base() *Common            { return &s.Common }
func (s *NarrativeSpec) Audience() model.Audience { return model.AudienceComms }

func (s *NarrativeSpec) SetDefaults() {
	s.Window = yamlx.Duration(72 * time.Hour)
	s.GroupBy = "target"
	s.Combine = "and"
	s.MinAccounts = 3
	s.Signals = DefaultSignalConfig()
}

func (s *NarrativeSpec) Validate(report func(key, format string, args ...any)) {
	if s.Window.D() < time.Minute {
		report("window", "must be at least 1m, got %s", s.Window)
	}
	if s.GroupBy != "target" && s.GroupBy != "all" {
		report("group_by", "must be target or all, got %q", s.GroupBy)
	}
	if s.MinCount < 1 {
		report("min_count", "required: the minimum matching replies in the window (>= 1), got %d", s.MinCount)
	}
	if s.MinShare < 0 || s.MinShare > 1 {
		report("min_share", "must be between 0 and 1 (0.05 = 5 %%), got %g", s.MinShare)
	}
	if s.Combine != "and" && s.Combine != "or" {
		report("combine", "must be and or or, got %q", s.Combine)
	}
	if s.MinAccounts < 1 {
		report("min_accounts", "must be at least 1, got %d", s.MinAccounts)
	}
	compileLexicons(s.Lexicons, report)
	s.Signals.Validate("signals", report)
}

func (s *NarrativeSpec) NewDetector(env Env) (Detector, error) {
	var problems []string
	m := compileLexicons(s.Lexicons, func(key, format string, args ...any) {
		problems = append(problems, key+": "+fmt.Sprintf(format, args...))
	})
	if m == nil {
		return nil, fmt.Errorf("compile lexicons of rule %q: %s", s.Name, strings.Join(problems, "; "))
	}
	return &lexDetector{spec: *s, env: env, m: m, groups: map[string]*lexGroup{}, byTarget: map[string]*lexGroup{}}, nil
}

// lexBucket is the width of the buckets that count all replies of a group,
// the denominator of min_share.
const lexBucket = 5 * time.Minute

// lexDetector is the narrative rule's running state. Its costs, measured
// with BenchmarkEachRule/accusation-narrative on the shared 2-core machine
// against the version before this layout, run alternately: 5,100-5,900 →
// 1,600-1,800 ns per reply, 55 → 44 B live per reply in the window.
type lexDetector struct {
	spec   NarrativeSpec
	env    Env
	m      *lexMatcher
	groups map[string]*lexGroup // by scope key: what the state holds
	// byTarget finds a reply's group without building its scope key (a
	// string concatenation per reply). list holds the same groups in a
	// slice and hot what an evaluation needs to decide whether to look at
	// one: it reads 16 contiguous bytes per group instead of a map entry
	// and a group struct each (a 1,000-target watchlist and an evaluation
	// every 5 minutes make ~290,000 visits a day).
	byTarget map[string]*lexGroup
	// byTid is byTarget by the engine's target number (targets.go);
	// removing a group clears it.
	byTid   tidSlots[*lexGroup]
	list    []*lexGroup
	hot     []lexHot
	firing  []*lexGroup // Evaluate's scratch
	spare   Finding     // where a group without a last finding is worked out
	scratch []uint16
}

// lexHot says whether an evaluation must look at a group again: a reply
// arrived (dirty), or a hit or bucket leaves the window (cutoff >= due).
// Otherwise its result is the last one (lexGroup.last).
type lexHot struct {
	due   int64 // unix ns
	dirty bool
	fired bool // the group had a finding at the last look
}

type lexGroup struct {
	key string // scope: "target:<id>" or "all"
	// buckets[head:] count all replies per lexBucket, oldest first, and
	// Total is their sum: the window slides by advancing head. (Copying
	// the ~860 buckets of a busy target down at every evaluation was
	// most of Evaluate's cost: ~1 s per 400k replies.)
	buckets []lexCount
	head    int
	Total   int
	Hits    []lexHit
	Episode int64 // window start of the open finding (unix s)

	// version counts changes to Hits; cached is the finding's costly part
	// for the version it was built from (the share is filled in fresh).
	version int
	cached  *lexCached
	minAt   int64 // earliest hit (0 = unknown): no scan before it expires

	// last is the finding of the last evaluation that looked at the
	// group, when it had one (lexHot.fired); evaluations that need not
	// look report it again with their own time.
	last *Finding
	pos  int // index in lexDetector.list and hot
}

// lexCount is one bucket: 8 bytes, as a busy target holds hundreds.
type lexCount struct {
	idx int32  // bucket number: unix seconds / lexBucket
	n   uint32 // replies
}

const lexBucketSec = int64(lexBucket / time.Second)

// lexBucketOf is the number of the bucket t falls in: t.Truncate(lexBucket)
// in seconds, divided by the bucket width (the zero time is a whole number
// of buckets before the Unix epoch). Times beyond the int32 range of bucket
// numbers (some 20,000 years either side of 1970) are clamped to its ends.
func lexBucketOf(t time.Time) int32 {
	s := t.Unix()
	q := s / lexBucketSec
	if s%lexBucketSec < 0 {
		q--
	}
	return int32(min(max(q, math.MinInt32), math.MaxInt32))
}

// count adds one reply in bucket idx, keeping the buckets sorted (late
// replies from a slow crawl land in an older bucket).
func (g *lexGroup) count(idx int32) {
	g.Total++
	live := g.buckets[g.head:]
	k := len(live)
	if k > 0 && live[k-1].idx == idx {
		live[k-1].n++
		return
	}
	if k == 0 || live[k-1].idx < idx {
		g.push(lexCount{idx, 1})
		return
	}
	i := sort.Search(k, func(i int) bool { return live[i].idx >= idx })
	if live[i].idx == idx {
		live[i].n++
		return
	}
	g.buckets = slices.Insert(g.buckets, g.head+i, lexCount{idx, 1})
}

// push appends a bucket. When the slice is full and an eighth of it or
// more has expired, the live part moves down; otherwise the slice grows by
// a quarter. A bucket is moved ~10 times on average (8 bytes each, once
// per new bucket, not per reply), and the slice stays within ~1.4 times
// the live buckets: with append's doubling and a move at a quarter
// expired, the 400k-reply benchmark held 2.05 slots per live bucket.
func (g *lexGroup) push(c lexCount) {
	if len(g.buckets) == cap(g.buckets) {
		live := len(g.buckets) - g.head
		if g.head > 0 && g.head >= len(g.buckets)/8 {
			n := copy(g.buckets, g.buckets[g.head:])
			g.buckets = g.buckets[:n]
		} else {
			g.buckets = append(make([]lexCount, 0, live+live/4+4), g.buckets[g.head:]...)
		}
		g.head = 0
	}
	g.buckets = append(g.buckets, c)
}

// expire drops what left the window at cutoff (unix ns): hits created
// before it, and buckets that no longer overlap it.
func (g *lexGroup) expire(cutoff int64) {
	if len(g.Hits) > 0 && (g.minAt == 0 || g.minAt < cutoff) {
		kept := g.Hits[:0]
		g.minAt = 0
		for _, h := range g.Hits {
			if h.At >= cutoff {
				kept = append(kept, h)
				if g.minAt == 0 || h.At < g.minAt {
					g.minAt = h.At
				}
			}
		}
		if len(kept) != len(g.Hits) {
			g.version++
		}
		clear(g.Hits[len(kept):])
		g.Hits = kept
	}
	for g.head < len(g.buckets) && int64(g.buckets[g.head].idx)*int64(lexBucket)+int64(lexBucket) <= cutoff {
		g.Total -= int(g.buckets[g.head].n)
		g.head++
	}
	if live := len(g.buckets) - g.head; live == 0 {
		g.buckets, g.head = g.buckets[:0], 0
	} else if cap(g.buckets) > 32 && cap(g.buckets) > 4*live {
		// a target gone quiet gives its memory back
		g.buckets, g.head = append(make([]lexCount, 0, 2*live), g.buckets[g.head:]...), 0
	}
}

// nextDue is the earliest cutoff at which expire changes something.
func (g *lexGroup) nextDue() int64 {
	due := int64(math.MaxInt64)
	if len(g.Hits) > 0 {
		if g.minAt == 0 {
			return math.MinInt64
		}
		due = g.minAt + 1
	}
	if g.head < len(g.buckets) {
		due = min(due, int64(g.buckets[g.head].idx)*int64(lexBucket)+int64(lexBucket))
	}
	return due
}

type lexCached struct {
	version int
	f       Finding
	authors int
	top     string
	lexs    string
	span    time.Duration
	head    string // the summary up to the share
}

// lexPercent is share as a percentage with one decimal, as %.1f prints it.
func lexPercent(share float64) string {
	return strconv.FormatFloat(100*share, 'f', 1, 64)
}

// lexHit is a matching reply, kept with what its evidence needs.
type lexHit struct {
	Key      string         `json:"k"`
	URL      string         `json:"u,omitempty"`
	Target   string         `json:"t"`
	Platform model.Platform `json:"p"`
	Author   model.Author   `json:"a"`
	Text     string         `json:"x"`
	At       int64          `json:"at"` // unix nanoseconds
	Terms    []string       `json:"terms"`
}

// group returns the reply's group, creating it.
func (d *lexDetector) group(it *Item) *lexGroup {
	r := &it.Reply
	var slot **lexGroup
	if it.tid != 0 && d.spec.GroupBy != "all" {
		if slot = d.byTid.at(it.tid); *slot != nil {
			return *slot
		}
	}
	var g *lexGroup
	if d.spec.GroupBy == "all" {
		g = d.groups["all"]
	} else {
		g = d.byTarget[r.Target]
	}
	if g == nil {
		key := "all"
		if d.spec.GroupBy != "all" {
			key = "target:" + r.Target
		}
		g = &lexGroup{key: key}
		d.addGroup(g)
	}
	if slot != nil {
		*slot = g
	}
	return g
}

func (d *lexDetector) addGroup(g *lexGroup) {
	d.groups[g.key] = g
	if t, ok := strings.CutPrefix(g.key, "target:"); ok {
		d.byTarget[t] = g
	}
	g.pos = len(d.list)
	d.list = append(d.list, g)
	d.hot = append(d.hot, lexHot{dirty: true})
}

func (d *lexDetector) removeGroup(g *lexGroup) {
	delete(d.groups, g.key)
	if t, ok := strings.CutPrefix(g.key, "target:"); ok {
		delete(d.byTarget, t)
		clear(d.byTid)
	}
	k := len(d.list) - 1
	last := d.list[k]
	d.list[g.pos], d.hot[g.pos] = last, d.hot[k]
	last.pos = g.pos
	d.list[k] = nil
	d.list, d.hot = d.list[:k], d.hot[:k]
}

func (d *lexDetector) Observe(it *Item) {
	r := &it.Reply
	g := d.group(it)
	g.count(lexBucketOf(r.CreatedAt))
	d.hot[g.pos].dirty = true
	d.scratch = d.m.match(it.Norm, d.scratch)
	if len(d.scratch) == 0 {
		return
	}
	h := lexHit{Key: r.Key(), URL: r.URL, Target: r.Target, Platform: r.Platform, Author: r.Author,
		Text: textClip(r.Text, 280), At: r.CreatedAt.UnixNano()}
	h.Terms = make([]string, 0, len(d.scratch))
	for _, id := range d.scratch {
		h.Terms = append(h.Terms, d.m.labels[id])
	}
	g.Hits = append(g.Hits, h)
	g.version++
	if g.minAt != 0 && h.At < g.minAt {
		g.minAt = h.At
	}
}

// Evaluate reports the groups whose matching replies pass the thresholds
// at now. Only groups where something changed are worked out again (a
// reply arrived, or something left the window); the others report their
// last result, which is the same but for the evaluation time. Before, every
// group was recomputed at every evaluation: ~1.3 s of the 2.1 s Evaluate
// took per 400k replies.
func (d *lexDetector) Evaluate(now time.Time) []Finding {
	cutoff := now.Add(-d.spec.Window.D()).UnixNano()
	end := now.UTC()
	// Findings are ~300-byte structs: they are worked out in place in each
	// group's last, ordered by scope as pointers, and copied out once.
	// (Sorting the structs themselves through sort.Slice's reflective swap
	// was a tenth of Evaluate.)
	firing := d.firing[:0]
	for i := 0; i < len(d.hot); {
		h := &d.hot[i]
		if !h.dirty && cutoff < h.due {
			if h.fired {
				firing = append(firing, d.list[i])
			}
			i++
			continue
		}
		g := d.list[i]
		h.dirty = false
		g.expire(cutoff)
		if len(g.Hits) == 0 && len(g.buckets) == 0 {
			d.removeGroup(g) // the group that moved into slot i is next
			continue
		}
		i++
		h.due = g.nextDue()
		dst := g.last
		if dst == nil {
			dst = &d.spare
		}
		h.fired = d.finding(g.key, g, g.Total, now, dst)
		if !h.fired {
			g.Episode = 0
			g.last = nil // most groups never fire: no finding kept for them
			continue
		}
		if g.last == nil {
			g.last = new(Finding)
			*g.last, d.spare = d.spare, Finding{}
		}
		firing = append(firing, g)
	}
	slices.SortFunc(firing, func(a, b *lexGroup) int { return strings.Compare(a.key, b.key) })
	out := make([]Finding, len(firing))
	for i, g := range firing {
		out[i] = *g.last
		out[i].WindowEnd = end
	}
	clear(firing)
	d.firing = firing[:0]
	return out
}

// finding works out a group's finding into f, reporting whether there is
// one (f is left as it was when there is not).
func (d *lexDetector) finding(key string, g *lexGroup, total int, now time.Time, f *Finding) bool {
	count := len(g.Hits)
	if count == 0 {
		return false
	}
	share := 0.0
	if total > 0 {
		share = float64(count) / float64(total)
	}
	countOK := count >= d.spec.MinCount
	pass := countOK
	if d.spec.MinShare > 0 {
		shareOK := share >= d.spec.MinShare
		if d.spec.Combine == "or" {
			pass = countOK || shareOK
		} else {
			pass = countOK && shareOK
		}
	}
	if !pass {
		return false
	}
	c := g.cached
	if c == nil || c.version != g.version {
		c = d.build(key, g, now)
		g.cached = c
	}
	if c.authors < d.spec.MinAccounts {
		return false
	}
	if g.Episode == 0 {
		g.Episode = c.f.WindowStart.Unix()
	}
	*f = c.f
	f.WindowStart = time.Unix(g.Episode, 0).UTC()
	f.WindowEnd = now.UTC()
	f.Metrics = maps.Clone(c.f.Metrics)
	f.Metrics["replies_total"] = float64(total)
	f.Metrics["share"] = textRound(share, 4)
	// A firing group is worked out again at every evaluation after a new
	// reply, which changes only the share: the rest of the sentence is
	// kept with the matches it describes. (Was fmt.Sprintf of the whole
	// sentence each time.)
	if c.head == "" {
		c.head = fmt.Sprintf("%d replies from %d accounts to %s used the %s lexicon within %s (",
			count, c.authors, textTargets(d.env, f.Targets), c.lexs, textSpan(c.span))
	}
	f.Summary = c.head + lexPercent(share) + "% of " + strconv.Itoa(total) + " replies): " + c.top
	f.Evidence.Reason = f.Summary
	return true
}

// build computes the parts of a group's finding that depend only on its
// matching replies, so evaluations between new matches reuse them. (The
// account signals are computed at that time too.)
func (d *lexDetector) build(key string, g *lexGroup, now time.Time) *lexCached {
	hits := append([]lexHit(nil), g.Hits...)
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].At != hits[j].At {
			return hits[i].At < hits[j].At
		}
		return hits[i].Key < hits[j].Key
	})
	authors := map[string]model.Author{}
	targets := map[string]bool{}
	plats := map[model.Platform]bool{}
	terms := map[string]int{}
	times := make([]time.Time, 0, len(hits))
	f := Finding{Scope: key, Size: float64(len(hits)), Metrics: map[string]float64{}}
	seen := map[string]bool{}
	for _, h := range hits {
		authors[lexAuthorID(h)] = h.Author
		targets[h.Target] = true
		plats[h.Platform] = true
		for _, t := range h.Terms {
			terms[t]++
		}
		times = append(times, time.Unix(0, h.At))
		if !seen[h.Key] {
			seen[h.Key] = true
			f.ReplyIDs = append(f.ReplyIDs, h.Key)
		}
	}
	c := &lexCached{version: g.version, authors: len(authors), span: time.Duration(hits[len(hits)-1].At - hits[0].At)}
	f.WindowStart = time.Unix(0, hits[0].At).UTC().Truncate(time.Hour)
	f.Targets = textSortedKeys(targets)
	for p := range plats {
		f.Platforms = append(f.Platforms, p)
	}
	sort.Slice(f.Platforms, func(i, j int) bool { return f.Platforms[i] < f.Platforms[j] })
	handles := map[string]bool{}
	var profiles []model.Author
	for id, a := range authors {
		h := a.Handle
		if h == "" {
			h = id
		}
		handles[h] = true
		profiles = append(profiles, a)
	}
	f.Accounts = textSortedKeys(handles)

	type tc struct {
		term string
		n    int
	}
	var ranked []tc
	for t, n := range terms {
		ranked = append(ranked, tc{t, n})
		f.Metrics["term:"+t] = float64(n)
	}
	sort.Slice(ranked, func(i, j int) bool {
		if ranked[i].n != ranked[j].n {
			return ranked[i].n > ranked[j].n
		}
		return ranked[i].term < ranked[j].term
	})
	var top []string
	for i, r := range ranked {
		if i == 3 {
			top = append(top, fmt.Sprintf("and %d more", len(ranked)-3))
			break
		}
		top = append(top, fmt.Sprintf("%q ×%d", r.term[strings.IndexByte(r.term, '/')+1:], r.n))
	}
	c.top = strings.Join(top, ", ")
	f.Metrics["matches"] = float64(len(hits))
	f.Metrics["accounts"] = float64(len(authors))
	f.Metrics["terms"] = float64(len(ranked))
	lexNames := map[string]bool{}
	for _, r := range ranked {
		lexNames[r.term[:strings.IndexByte(r.term, '/')]] = true
	}
	c.lexs = strings.Join(textSortedKeys(lexNames), ", ")
	sig := ComputeSignals(profiles, times, now, d.spec.Signals)
	f.Evidence = model.Evidence{
		Count:   float64(len(hits)),
		Samples: lexSamples(hits),
		Signals: &sig,
	}
	c.f = f
	return c
}

func lexAuthorID(h lexHit) string {
	id := h.Author.ID
	if id == "" {
		id = h.Author.Handle
	}
	if id == "" {
		id = "reply:" + h.Key
	}
	return string(h.Platform) + ":" + id
}

// lexSamples picks up to five matching replies by different authors, the
// most recent first: the reader wants to see what is being said now.
func lexSamples(hits []lexHit) []model.Sample {
	var out []model.Sample
	used := map[string]bool{}
	for i := len(hits) - 1; i >= 0 && len(out) < 5; i-- {
		h := hits[i]
		id := lexAuthorID(h)
		if used[id] {
			continue
		}
		used[id] = true
		author := h.Author.Handle
		if author == "" {
			author = h.Author.Name
		}
		if author == "" {
			author = h.Author.ID
		}
		out = append(out, model.Sample{ReplyKey: h.Key, Platform: h.Platform, Target: h.Target, URL: h.URL,
			Author: author, AuthorURL: h.Author.URL, Text: h.Text, CreatedAt: time.Unix(0, h.At).UTC()})
	}
	return out
}

type lexState struct {
	Version int                  `json:"version"` // 2: bucket counts as a sorted list
	Groups  map[string]*lexGroup `json:"groups"`
}

// lexGroupJSON is a group as the state stores it.
type lexGroupJSON struct {
	Buckets []lexCountJSON `json:"buckets"`
	Total   int            `json:"total"`
	Hits    []lexHit       `json:"hits"`
	Episode int64          `json:"episode,omitempty"`
}

type lexCountJSON struct {
	Start int64 `json:"s"` // unix seconds
	N     int   `json:"n"`
}

func (g *lexGroup) MarshalJSON() ([]byte, error) {
	w := lexGroupJSON{Buckets: make([]lexCountJSON, 0, len(g.buckets)-g.head), Total: g.Total, Hits: g.Hits, Episode: g.Episode}
	for _, c := range g.buckets[g.head:] {
		w.Buckets = append(w.Buckets, lexCountJSON{int64(c.idx) * lexBucketSec, int(c.n)})
	}
	return json.Marshal(w)
}

func (g *lexGroup) UnmarshalJSON(b []byte) error {
	var w lexGroupJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*g = lexGroup{Total: w.Total, Hits: w.Hits, Episode: w.Episode}
	for _, c := range w.Buckets {
		if c.N < 0 || c.N > math.MaxUint32 {
			return fmt.Errorf("bucket at %d counts %d replies", c.Start, c.N)
		}
		idx := lexBucketOf(time.Unix(c.Start, 0))
		if k := len(g.buckets); k > 0 && g.buckets[k-1].idx >= idx {
			return fmt.Errorf("buckets out of order at %d", c.Start)
		}
		g.buckets = append(g.buckets, lexCount{idx, uint32(c.N)})
	}
	return nil
}

func (d *lexDetector) MarshalState() ([]byte, error) {
	b, err := json.Marshal(lexState{Version: 2, Groups: d.groups})
	if err != nil {
		return nil, fmt.Errorf("marshal narrative state: %w", err)
	}
	return b, nil
}

func (d *lexDetector) UnmarshalState(b []byte) error {
	var st lexState
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("unmarshal narrative state: %w", err)
	}
	if st.Version != 2 {
		return fmt.Errorf("unmarshal narrative state: unknown version %d", st.Version)
	}
	d.groups, d.byTarget, d.list, d.hot = map[string]*lexGroup{}, map[string]*lexGroup{}, nil, nil
	d.byTid = nil
	for _, key := range textSortedKeys(st.Groups) {
		g := st.Groups[key]
		if g == nil {
			continue
		}
		g.key = key
		d.addGroup(g) // dirty: looked at by the next evaluation
	}
	return nil
}
