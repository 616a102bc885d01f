package rules

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
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
	return &lexDetector{spec: *s, env: env, m: m, groups: map[string]*lexGroup{}}, nil
}

// lexBucket is the width of the buckets that count all replies of a group,
// the denominator of min_share.
const lexBucket = 5 * time.Minute

type lexDetector struct {
	spec    NarrativeSpec
	env     Env
	m       *lexMatcher
	groups  map[string]*lexGroup
	scratch []uint16
}

type lexGroup struct {
	// Buckets count all replies per lexBucket, oldest first, and Total is
	// their sum: the window slides by dropping buckets from the front.
	Buckets []lexCount `json:"buckets"`
	Total   int        `json:"total"`
	Hits    []lexHit   `json:"hits"`
	Episode int64      `json:"episode,omitempty"` // window start of the open finding (unix s)

	// version counts changes to Hits; cached is the finding's costly part
	// for the version it was built from (the share is filled in fresh).
	version int
	cached  *lexCached
	minAt   int64 // earliest hit (0 = unknown): no scan before it expires
}

type lexCount struct {
	Start int64 `json:"s"` // unix seconds
	N     int   `json:"n"`
}

type lexCached struct {
	version int
	f       Finding
	authors int
	top     string
	lexs    string
	span    time.Duration
}

// count adds one reply created at start's bucket, keeping Buckets sorted
// (late replies from a slow crawl land in an older bucket).
func (g *lexGroup) count(start int64) {
	g.Total++
	k := len(g.Buckets)
	if k > 0 && g.Buckets[k-1].Start == start {
		g.Buckets[k-1].N++
		return
	}
	if k == 0 || g.Buckets[k-1].Start < start {
		g.Buckets = append(g.Buckets, lexCount{start, 1})
		return
	}
	i := sort.Search(k, func(i int) bool { return g.Buckets[i].Start >= start })
	if i < k && g.Buckets[i].Start == start {
		g.Buckets[i].N++
		return
	}
	g.Buckets = slices.Insert(g.Buckets, i, lexCount{start, 1})
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

func (d *lexDetector) group(r *model.Reply) string {
	if d.spec.GroupBy == "all" {
		return "all"
	}
	return "target:" + r.Target
}

func (d *lexDetector) Observe(it *Item) {
	r := &it.Reply
	key := d.group(r)
	g := d.groups[key]
	if g == nil {
		g = &lexGroup{}
		d.groups[key] = g
	}
	g.count(r.CreatedAt.Truncate(lexBucket).Unix())
	d.scratch = d.m.match(it.Norm, d.scratch)
	if len(d.scratch) == 0 {
		return
	}
	h := lexHit{Key: r.Key(), URL: r.URL, Target: r.Target, Platform: r.Platform, Author: r.Author,
		Text: textClip(r.Text, 280), At: r.CreatedAt.UnixNano()}
	for _, id := range d.scratch {
		h.Terms = append(h.Terms, d.m.labels[id])
	}
	g.Hits = append(g.Hits, h)
	g.version++
	if g.minAt != 0 && h.At < g.minAt {
		g.minAt = h.At
	}
}

func (d *lexDetector) Evaluate(now time.Time) []Finding {
	cutoff := now.Add(-d.spec.Window.D()).UnixNano()
	var out []Finding
	for key, g := range d.groups {
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
		// A bucket counts while it overlaps the window.
		drop := 0
		for drop < len(g.Buckets) && g.Buckets[drop].Start*int64(time.Second)+int64(lexBucket) <= cutoff {
			g.Total -= g.Buckets[drop].N
			drop++
		}
		if drop > 0 {
			g.Buckets = append(g.Buckets[:0], g.Buckets[drop:]...)
		}
		total := g.Total
		if len(g.Hits) == 0 && len(g.Buckets) == 0 {
			delete(d.groups, key)
			continue
		}
		f, ok := d.finding(key, g, total, now)
		if !ok {
			g.Episode = 0
			continue
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Scope < out[j].Scope })
	return out
}

func (d *lexDetector) finding(key string, g *lexGroup, total int, now time.Time) (Finding, bool) {
	count := len(g.Hits)
	if count == 0 {
		return Finding{}, false
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
		return Finding{}, false
	}
	c := g.cached
	if c == nil || c.version != g.version {
		c = d.build(key, g, now)
		g.cached = c
	}
	if c.authors < d.spec.MinAccounts {
		return Finding{}, false
	}
	if g.Episode == 0 {
		g.Episode = c.f.WindowStart.Unix()
	}
	f := c.f
	f.WindowStart = time.Unix(g.Episode, 0).UTC()
	f.WindowEnd = now.UTC()
	f.Metrics = maps.Clone(c.f.Metrics)
	f.Metrics["replies_total"] = float64(total)
	f.Metrics["share"] = textRound(share, 4)
	f.Summary = fmt.Sprintf("%d replies from %d accounts to %s used the %s lexicon within %s (%.1f%% of %d replies): %s",
		count, c.authors, textTargets(d.env, f.Targets), c.lexs, textSpan(c.span), 100*share, total, c.top)
	f.Evidence.Reason = f.Summary
	return f, true
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
	if st.Groups == nil {
		st.Groups = map[string]*lexGroup{}
	}
	d.groups = st.Groups
	return nil
}
