package rules

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/mpwatch/mpwatch/internal/yamlx"
	"github.com/mpwatch/mpwatch/model"
)

func init() { register("spike", func() Spec { return &SpikeSpec{} }) }

// SpikeSpec is a reply-volume spike rule. The familiar ElastAlert names keep
// their meaning where they fit: timeframe is the bucket width, spike_height
// the minimum ratio to the baseline, threshold_cur the minimum count in the
// current bucket (required), threshold_ref the floor under the baseline.
type SpikeSpec struct {
	Common `yaml:",inline"`
	// GroupBy picks the scope: [target] (default), [target, platform],
	// [platform] or [] for all targets together.
	GroupBy      []string       `yaml:"group_by" json:"group_by"`
	Timeframe    yamlx.Duration `yaml:"timeframe" json:"timeframe"`
	ThresholdCur int            `yaml:"threshold_cur" json:"threshold_cur"`
	ThresholdRef float64        `yaml:"threshold_ref" json:"threshold_ref"`
	SpikeHeight  float64        `yaml:"spike_height" json:"spike_height"`
	ZAlert       float64        `yaml:"z_alert" json:"z_alert"`
	// ZWatch, when set (below z_alert), is a watch level: a bucket that
	// passes every other test with a robust z between z_watch and z_alert
	// fires at severity info, and the same alert rises to the rule's
	// severity (an "updated" event) if the spike reaches z_alert.
	ZWatch   float64       `yaml:"z_watch,omitempty" json:"z_watch,omitempty"`
	PoissonP float64       `yaml:"poisson_p" json:"poisson_p"`
	Baseline SpikeBaseline `yaml:"baseline" json:"baseline"`
	PerPost  *PerPost      `yaml:"per_post,omitempty" json:"per_post,omitempty"`
	// MaxReplyIDs caps the reply ids an alert carries per scope (memory bound
	// for a huge spike); the count stays exact.
	MaxReplyIDs int `yaml:"max_reply_ids" json:"max_reply_ids"`
}

// SpikeBaseline says what "normal" is for a bucket.
type SpikeBaseline struct {
	// WindowDays of history are kept; the seasonal baseline is the same
	// bucket of the week in each past week inside it.
	WindowDays int `yaml:"window_days" json:"window_days"`
	// MinHistoryBuckets of history are needed before the seasonal baseline
	// is used (336 = two weeks of hours).
	MinHistoryBuckets int `yaml:"min_history_buckets" json:"min_history_buckets"`
	// RecentBuckets is the recent baseline: the median of the last buckets,
	// used until there is seasonal history.
	RecentBuckets int `yaml:"recent_buckets" json:"recent_buckets"`
	// MinRecentBuckets of history are needed before the rule may fire at all.
	MinRecentBuckets int `yaml:"min_recent_buckets" json:"min_recent_buckets"`
}

// PerPost keeps a popular post from looking like an attack. Both tests
// start from a spike whose excess is on one watched post (without that post's
// replies the bucket would not be a spike); the spike is then suppressed when
// either
//   - the post's replies in its first hours are within RatioVsP90 of the
//     account's 90th percentile per post (the account's posts often do this
//     well), or
//   - Organic is set and the post's repliers in the bucket look like an
//     ordinary crowd: their ages are mostly known, few are new accounts, few
//     have digit-suffixed handles, and few of their texts are copies.
//
// The second test is what lets a truly viral post (beyond anything the
// account has drawn before) stay quiet while a flood of one post by new,
// digit-handled accounts, or by any accounts pasting one text, still fires.
// When the sources give no account ages (html pages), nothing vouches for the
// crowd and only the first test applies.
type PerPost struct {
	FirstHours float64 `yaml:"first_hours" json:"first_hours"`
	RatioVsP90 float64 `yaml:"ratio_vs_p90" json:"ratio_vs_p90"`
	// MinPosts past posts of the account are needed to know its p90.
	MinPosts int `yaml:"min_posts" json:"min_posts"`
	// Organic, when set, also lets a post beyond the account's usual range
	// be popular when its crowd looks organic.
	Organic *OrganicCrowd `yaml:"organic,omitempty" json:"organic,omitempty"`
}

func (s *SpikeSpec) Base() *Common            { return &s.Common }
func (s *SpikeSpec) Audience() model.Audience { return model.AudienceComms }

func (s *SpikeSpec) SetDefaults() {
	s.GroupBy = []string{"target"}
	s.Timeframe = yamlx.Duration(time.Hour)
	s.ThresholdRef = 1
	s.SpikeHeight = 3
	s.ZAlert = 6
	s.PoissonP = 1e-4
	s.Baseline = SpikeBaseline{WindowDays: 28, MinHistoryBuckets: 336, RecentBuckets: 72, MinRecentBuckets: 24}
	s.MaxReplyIDs = 5000
}

func (s *SpikeSpec) Validate(report func(key, format string, args ...any)) {
	seen := map[string]bool{}
	for i, g := range s.GroupBy {
		if g != "target" && g != "platform" {
			report(yamlx.Index("group_by", i), "unknown grouping %q (use target and/or platform; [] means all targets together)", g)
		}
		if seen[g] {
			report(yamlx.Index("group_by", i), "%q listed twice", g)
		}
		seen[g] = true
	}
	tf := s.Timeframe.D()
	switch {
	case tf < time.Minute:
		report("timeframe", "must be at least 1m")
	case (24*time.Hour)%tf != 0:
		report("timeframe", "%s must divide a day evenly (e.g. 15m, 30m, 1h, 2h), so buckets line up week to week", s.Timeframe)
	}
	if s.ThresholdCur <= 0 {
		report("threshold_cur", "required: the minimum replies in the current bucket (> 0); without it a spike rule alerts on noise such as 2 replies against 0")
	}
	if s.ThresholdRef <= 0 {
		report("threshold_ref", "must be > 0 (the floor under the baseline)")
	}
	if s.SpikeHeight < 1 {
		report("spike_height", "must be >= 1 (the ratio of the current count to the baseline)")
	}
	if s.ZAlert <= 0 {
		report("z_alert", "must be > 0")
	}
	if s.ZWatch < 0 || s.ZWatch > 0 && s.ZWatch >= s.ZAlert {
		report("z_watch", "must be above 0 and below z_alert (%g), or left out", s.ZAlert)
	}
	if s.PoissonP <= 0 || s.PoissonP >= 1 {
		report("poisson_p", "must be between 0 and 1 (e.g. 1.0e-4)")
	}
	b := s.Baseline
	if b.WindowDays < 14 {
		report("baseline.window_days", "must be at least 14 (two weeks give the seasonal baseline two values per bucket)")
	}
	if tf > 0 && (24*time.Hour)%tf == 0 {
		ring := b.WindowDays * int(24*time.Hour/tf)
		if b.MinHistoryBuckets < 1 || b.MinHistoryBuckets > ring {
			report("baseline.min_history_buckets", "must be between 1 and the buckets in window_days (%d)", ring)
		}
		if b.RecentBuckets < 3 || b.RecentBuckets > ring {
			report("baseline.recent_buckets", "must be between 3 and the buckets in window_days (%d)", ring)
		}
	}
	if b.MinRecentBuckets < 1 {
		report("baseline.min_recent_buckets", "must be at least 1")
	}
	if p := s.PerPost; p != nil {
		if p.FirstHours <= 0 {
			report("per_post.first_hours", "must be > 0")
		}
		if p.RatioVsP90 <= 0 {
			report("per_post.ratio_vs_p90", "must be > 0")
		}
		if p.MinPosts == 0 {
			p.MinPosts = 5
		}
		if p.MinPosts < 1 {
			report("per_post.min_posts", "must be at least 1")
		}
		if p.Organic != nil {
			p.Organic.validate("per_post.organic", report)
		}
	}
	if s.MaxReplyIDs < 1 {
		report("max_reply_ids", "must be at least 1")
	}
}

func (s *SpikeSpec) NewDetector(env Env) (Detector, error) {
	tf := s.Timeframe.D()
	perDay := int(24 * time.Hour / tf)
	d := &spikeDet{spec: s, tf: int64(tf), perWeek: int64(7 * perDay)}
	d.ring = max(s.Baseline.WindowDays*perDay, s.Baseline.RecentBuckets) + 1
	for _, g := range s.GroupBy {
		switch g {
		case "target":
			d.byTarget = true
		case "platform":
			d.byPlatform = true
		}
	}
	if s.PerPost != nil {
		d.organic = s.PerPost.Organic
	}
	d.st.Scopes = map[scopeID]*spikeScope{}
	d.st.Posts = map[string]*postTrack{}
	d.st.Accts = map[string]*[]uint32{}
	d.cand = map[scopeID]*spikeScope{}
	d.byT = map[string]*spikeScope{}
	return d, nil
}

type scopeID struct {
	Target   string
	Platform model.Platform
}

func (id scopeID) String() string {
	var parts []string
	if id.Target != "" {
		parts = append(parts, "target:"+id.Target)
	}
	if id.Platform != "" {
		parts = append(parts, "platform:"+string(id.Platform))
	}
	if len(parts) == 0 {
		return "all"
	}
	return strings.Join(parts, "/")
}

// spikeRef is one reply kept while its bucket may still be evidence. It
// holds the reply's own strings and no joined ones: "platform:id" and the
// like are built only when an alert needs them, because building three of
// them for every reply was most of Observe's cost (runtime.concatstrings;
// reply-spike-target measured 1,217 ns/reply with them).
type spikeRef struct {
	B        int64
	ID       string // reply id; the key is Platform:ID
	Acct     string // author handle, else author id; the name is Platform:Acct
	Post     string // post id; the post is Platform:Post
	Target   string
	Platform model.Platform
	// Crowd describes the author and text for per_post.organic (crowd*
	// bits); Text is the normalised text's hash for long texts, else 0.
	// (Keeping the text and hashing it only for a hot bucket saved a
	// little time but held every text of the current hour: 5 % more
	// memory per reply in window.)
	Crowd uint8
	Text  uint64
}

func (r *spikeRef) key() string { return model.ReplyKey(r.Platform, r.ID) }

func (r *spikeRef) acct() string {
	if r.Acct == "" {
		return ""
	}
	return string(r.Platform) + ":" + r.Acct
}

func (r *spikeRef) post() string {
	if r.Post == "" {
		return ""
	}
	return string(r.Platform) + ":" + r.Post
}

type spikeEpisode struct {
	Start   int64 // first hot bucket: the alert's window start
	LastHot time.Time
}

type spikeScope struct {
	Head   int64
	Counts []uint32 // ring of per-bucket counts, index b mod ring
	Refs   []spikeRef
	// Samples hold the raw reply id in ReplyKey (see lazySample) until an
	// alert or a saved state needs the full key.
	Samples  []model.Sample
	KeepFrom int64 // refs of older buckets are no longer evidence
	Ep       *spikeEpisode
	// Closed is the last bucket tested once more after it ended.
	Closed int64 `json:",omitempty"`

	name   string // id.String(), the order of Evaluate
	inCand bool   // in spikeDet.cand: spares a map write per reply
	// sampN samples were taken in bucket sampB, the latest sampled.
	sampB int64
	sampN int
}

// spikeHint is what the detector found for a target's last reply.
type spikeHint struct {
	sc *spikeScope // its scope, when scopes are by target alone
	// post is the post of the target's last reply (the entry in
	// spikeState.Posts for postPlat:postID): replies to one target mostly
	// go to its latest post, so this spares most post lookups, which were
	// 1.0 s of 2.5 s in the spike rules' Observe per 1M replies. (It was
	// kept per scope, which spared nothing for a scope of all targets.)
	post     *postTrack
	postID   string
	postPlat model.Platform
}

type postTrack struct {
	Target   string
	Platform model.Platform
	First    time.Time
	Last     time.Time
	N        uint32 // replies within first_hours of First
	Closed   bool
}

// openPost is a post in its first hours, with its name in Posts (the same
// string, so only a header more) for the saved state.
type openPost struct {
	p   *postTrack
	key string
}

// postKey names a watched post without joining its platform and id.
type postKey struct {
	Platform model.Platform
	ID       string
}

func (k postKey) String() string { return string(k.Platform) + ":" + k.ID }

// spikeState is everything a spike detector must keep across restarts.
type spikeState struct {
	HasStart bool
	Start    int64 // first bucket ever observed: history is counted from here
	Scopes   map[scopeID]*spikeScope
	Posts    map[string]*postTrack // platform:post id
	// OpenQ are the posts in their first hours, oldest first, and Accts
	// the replies per past post by target/platform; pointers, so closing a
	// post looks nothing up by name (0.16 s of reply-spike-target's 0.26 s
	// Evaluate per 1.6M replies went to those lookups).
	OpenQ     []openPost
	Accts     map[string]*[]uint32
	LastSweep time.Time
}

type spikeDet struct {
	spec                 *SpikeSpec
	tf, perWeek          int64
	ring                 int
	byTarget, byPlatform bool
	organic              *OrganicCrowd
	st                   spikeState
	// cand holds the scopes Evaluate must look at: a bucket that reached
	// threshold_cur, or an open episode. Every other scope is quiet by
	// definition, so an evaluation costs nothing for the many quiet MPs.
	cand map[scopeID]*spikeScope
	// all is the one scope of group_by: [], byT the scopes of group_by:
	// [target] by target alone: lookups cheaper than hashing a scopeID.
	all *spikeScope
	byT map[string]*spikeScope
	// hints finds a target's scope and last post by the engine's target
	// number (targets.go); dropping a scope or forgetting posts clears it.
	hints tidSlots[spikeHint]
	key   []byte // scratch for post names
}

func (d *spikeDet) bucket(t time.Time) int64 {
	n := t.UnixNano()
	b := n / d.tf
	if n < 0 && n%d.tf != 0 {
		b--
	}
	return b
}

func (d *spikeDet) bucketTime(b int64) time.Time { return time.Unix(0, b*d.tf).UTC() }

const maxSamples = 5

// scope finds (or makes) the reply's scope.
func (d *spikeDet) scope(r *model.Reply, h *spikeHint, b int64) *spikeScope {
	var sc *spikeScope
	switch {
	case !d.byTarget && !d.byPlatform:
		sc = d.all
	case !d.byPlatform:
		if h != nil && h.sc != nil {
			return h.sc
		}
		sc = d.byT[r.Target]
	default:
		id := scopeID{Target: r.Target, Platform: r.Platform}
		if !d.byTarget {
			id.Target = ""
		}
		sc = d.st.Scopes[id]
	}
	if sc == nil {
		id := scopeID{}
		if d.byTarget {
			id.Target = r.Target
		}
		if d.byPlatform {
			id.Platform = r.Platform
		}
		sc = &spikeScope{Head: b, Counts: make([]uint32, d.ring), KeepFrom: b - 1}
		d.addScope(id, sc)
	}
	if h != nil && d.byTarget && !d.byPlatform {
		h.sc = sc
	}
	return sc
}

func (d *spikeDet) addScope(id scopeID, sc *spikeScope) {
	sc.name = id.String()
	d.st.Scopes[id] = sc
	switch {
	case !d.byTarget && !d.byPlatform:
		d.all = sc
	case !d.byPlatform:
		d.byT[id.Target] = sc
	}
}

func (d *spikeDet) dropScope(id scopeID) {
	delete(d.st.Scopes, id)
	delete(d.cand, id)
	switch {
	case !d.byTarget && !d.byPlatform:
		d.all = nil
	case !d.byPlatform:
		delete(d.byT, id.Target)
		for i := range d.hints {
			d.hints[i].sc = nil
		}
	}
}

func (d *spikeDet) scopeID(sc *spikeScope, r *model.Reply) scopeID {
	id := scopeID{}
	if d.byTarget {
		id.Target = r.Target
	}
	if d.byPlatform {
		id.Platform = r.Platform
	}
	return id
}

// Observe does no string building and at most two map lookups per reply
// (scope, post): 1,217 ns/reply before for reply-spike-target, when it built
// four joined strings and a sample per reply.
func (d *spikeDet) Observe(it *Item) {
	r := &it.Reply
	b := d.bucket(r.CreatedAt)
	if !d.st.HasStart || b < d.st.Start {
		d.st.HasStart, d.st.Start = true, b
	}
	var h *spikeHint
	if it.tid != 0 {
		h = d.hints.at(it.tid)
	}
	sc := d.scope(r, h, b)
	if !d.advance(sc, b) {
		return // older than the history kept
	}
	slot := d.slot(b)
	sc.Counts[slot]++
	if !sc.inCand && sc.Counts[slot] >= uint32(d.spec.ThresholdCur) {
		sc.inCand = true
		d.cand[d.scopeID(sc, r)] = sc
	}
	if b >= sc.KeepFrom && len(sc.Refs) < d.spec.MaxReplyIDs {
		acct := r.Author.Handle
		if acct == "" {
			acct = r.Author.ID
		}
		ref := spikeRef{B: b, ID: r.ID, Acct: acct, Post: r.PostID, Target: r.Target, Platform: r.Platform}
		if d.organic != nil {
			ref.Crowd = d.organic.flags(r.Author, r.CreatedAt)
			ref.Text = crowdText(it.Norm)
		}
		sc.Refs = append(sc.Refs, ref)
		// Up to maxSamples per bucket. A cap for the scope, as before,
		// was often reached by the previous bucket's samples (kept for
		// as long as the bucket is), and then a hot hour got none.
		if b > sc.sampB {
			sc.sampB, sc.sampN = b, 0
		}
		if b == sc.sampB && sc.sampN < maxSamples {
			sc.Samples = append(sc.Samples, lazySample(r))
			sc.sampN++
		}
	}
	if d.spec.PerPost != nil && r.PostID != "" {
		// looked up through a scratch buffer: Go does not allocate the
		// string for a map index, and a string key hashes much faster
		// than a struct of two strings
		var p *postTrack
		if h != nil && h.post != nil && h.postID == r.PostID && h.postPlat == r.Platform {
			p = h.post
		} else {
			d.key = append(append(append(d.key[:0], r.Platform...), ':'), r.PostID...)
			p = d.st.Posts[string(d.key)]
			if p == nil {
				k := string(d.key)
				p = &postTrack{Target: r.Target, Platform: r.Platform, First: r.CreatedAt}
				d.st.Posts[k] = p
				d.st.OpenQ = append(d.st.OpenQ, openPost{p, k})
			}
			if h != nil {
				h.post, h.postID, h.postPlat = p, r.PostID, r.Platform
			}
		}
		if r.CreatedAt.After(p.Last) {
			p.Last = r.CreatedAt
		}
		if !p.Closed && r.CreatedAt.Sub(p.First) <= d.firstHours() {
			p.N++
		}
	}
}

// lazySample is sampleOf without the reply key, which needs a joined string:
// ReplyKey holds the bare reply id until fullSample completes it for an
// alert or a saved state. Most samples are dropped unseen with their bucket.
func lazySample(r *model.Reply) model.Sample {
	s := sampleOf1(r)
	s.ReplyKey = r.ID
	return s
}

func fullSample(s model.Sample) model.Sample {
	s.ReplyKey = model.ReplyKey(s.Platform, s.ReplyKey)
	return s
}

func (d *spikeDet) firstHours() time.Duration {
	return time.Duration(d.spec.PerPost.FirstHours * float64(time.Hour))
}

func (d *spikeDet) slot(b int64) int {
	m := b % int64(d.ring)
	if m < 0 {
		m += int64(d.ring)
	}
	return int(m)
}

// advance moves the scope's ring forward to bucket b, zeroing the buckets
// skipped; it reports false when b is older than the ring keeps.
func (d *spikeDet) advance(sc *spikeScope, b int64) bool {
	if b <= sc.Head {
		return sc.Head-b < int64(d.ring)
	}
	if b-sc.Head >= int64(d.ring) {
		clear(sc.Counts)
	} else {
		for x := sc.Head + 1; x <= b; x++ {
			sc.Counts[d.slot(x)] = 0
		}
	}
	sc.Head = b
	// a new bucket: the replies of older ones are no longer evidence unless
	// an episode is open
	keep := b - 1
	if sc.Ep != nil {
		keep = min(keep, sc.Ep.Start)
	}
	d.prune(sc, keep)
	return true
}

func (d *spikeDet) count(sc *spikeScope, b int64) float64 {
	if b > sc.Head || sc.Head-b >= int64(d.ring) {
		return 0
	}
	return float64(sc.Counts[d.slot(b)])
}

// baseline returns the expected count for bucket cur and its spread, and
// which baseline was used; ok is false while history is too short.
func (d *spikeDet) baseline(sc *spikeScope, cur int64) (med, mad float64, kind string, ok bool) {
	bl := d.spec.Baseline
	history := cur - d.st.Start
	var xs []float64
	if history >= int64(bl.MinHistoryBuckets) {
		for k := int64(1); k*d.perWeek < int64(d.ring) && cur-k*d.perWeek >= d.st.Start; k++ {
			xs = append(xs, d.count(sc, cur-k*d.perWeek))
		}
		if len(xs) >= 2 {
			med, mad = medianMAD(xs)
			return med, mad, "seasonal", true
		}
		xs = xs[:0]
	}
	if history < int64(bl.MinRecentBuckets) {
		return 0, 0, "", false
	}
	n := min(int64(bl.RecentBuckets), history)
	for k := int64(1); k <= n; k++ {
		xs = append(xs, d.count(sc, cur-k))
	}
	med, mad = medianMAD(xs)
	return med, mad, "recent", true
}

type spikeTest struct {
	count, median, lambda, ratio, z, p float64
	kind                               string
	watch                              bool // hot at the z_watch level only
}

// test reports whether count x is a spike against a baseline of median med
// and spread mad: hot at z_alert, or (t.watch) between z_watch and z_alert.
func (d *spikeDet) test(x, med, mad float64) (t spikeTest, hot bool) {
	s := d.spec
	lambda := math.Max(med, s.ThresholdRef)
	// The robust z is 0.6745·(x−median)/MAD; sparse counts often have MAD 0,
	// so the spread is floored at the Poisson standard deviation.
	scale := math.Max(1.4826*mad, math.Sqrt(lambda))
	t = spikeTest{count: x, median: med, lambda: lambda, ratio: x / lambda, z: (x - lambda) / scale, p: poissonTail(int(x), lambda)}
	zMin := s.ZAlert
	if s.ZWatch > 0 {
		zMin = s.ZWatch
	}
	hot = x >= float64(s.ThresholdCur) && t.ratio >= s.SpikeHeight && t.z >= zMin && t.p <= s.PoissonP
	t.watch = hot && t.z < s.ZAlert
	return t, hot
}

func (d *spikeDet) Evaluate(now time.Time) []Finding {
	cur := d.bucket(now)
	resolveAfter := d.spec.ResolveAfter.D()
	d.closePosts(now)
	d.sweep(now, cur)
	var out []Finding
	ids := make([]scopeID, 0, len(d.cand))
	for id := range d.cand {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return d.cand[ids[i]].name < d.cand[ids[j]].name })
	for _, id := range ids {
		sc := d.st.Scopes[id]
		d.advance(sc, cur)
		if sc.Ep != nil && now.Sub(sc.Ep.LastHot) >= resolveAfter {
			sc.Ep = nil
		}
		// The bucket that has just ended is tested once more, whole: the
		// tests below see the current bucket only, so the replies of an
		// hour's last minutes, or of all of it when evaluations are an
		// hour apart, or crawled after its last evaluation, were never
		// tested. Replies crawled after this test are not tested again.
		hot, at := false, cur
		var t spikeTest
		if prev := cur - 1; sc.Closed < prev && (sc.Ep == nil || sc.Ep.Start <= prev) {
			sc.Closed = prev
			t, hot = d.testBucket(sc, prev)
			at = prev
		}
		x := d.count(sc, cur)
		if tc, hc := d.testBucket(sc, cur); hc {
			t, hot, at = tc, true, cur
		}
		if hot {
			if sc.Ep == nil {
				sc.Ep = &spikeEpisode{Start: at}
			}
			sc.Ep.LastHot = now
			out = append(out, d.finding(id, sc, at, t))
		}
		keep := cur - 1
		if sc.Ep != nil {
			keep = min(keep, sc.Ep.Start)
		}
		d.prune(sc, keep)
		if sc.Ep == nil && x < float64(d.spec.ThresholdCur) {
			delete(d.cand, id)
			sc.inCand = false
		}
	}
	return out
}

// testBucket runs the spike tests on bucket b of sc.
func (d *spikeDet) testBucket(sc *spikeScope, b int64) (spikeTest, bool) {
	x := d.count(sc, b)
	if x < float64(d.spec.ThresholdCur) {
		return spikeTest{}, false
	}
	med, mad, kind, ok := d.baseline(sc, b)
	if !ok {
		return spikeTest{}, false
	}
	t, hot := d.test(x, med, mad)
	t.kind = kind
	if hot && d.spec.PerPost != nil && d.popularPost(sc, b, t) {
		hot = false
	}
	return t, hot
}

// sweep forgets, once a day of data time, scopes with nothing left in the
// window and posts quiet for a week.
func (d *spikeDet) sweep(now time.Time, cur int64) {
	if now.Sub(d.st.LastSweep) < 24*time.Hour {
		return
	}
	d.st.LastSweep = now
	for id, sc := range d.st.Scopes {
		if sc.Ep == nil && cur-sc.Head >= int64(d.ring) {
			d.dropScope(id)
		}
	}
	forgot := false
	for k, p := range d.st.Posts {
		if p.Closed && now.Sub(p.Last) > 7*24*time.Hour {
			delete(d.st.Posts, k)
			forgot = true
		}
	}
	if forgot {
		for i := range d.hints {
			d.hints[i].post = nil // it may be one of those forgotten
		}
	}
}

// prune drops the refs and samples of buckets before keep. Refs and samples
// are only added at or after KeepFrom, so when keep has not moved there is
// nothing to drop: skipping that case saves a scan of up to max_reply_ids
// refs per candidate scope at every evaluation (0.09 s of 0.15 s in
// reply-spike-all's Evaluate over 400,000 replies).
func (d *spikeDet) prune(sc *spikeScope, keep int64) {
	if keep == sc.KeepFrom {
		return
	}
	sc.KeepFrom = keep
	n := 0
	for _, r := range sc.Refs {
		if r.B >= keep {
			sc.Refs[n] = r
			n++
		}
	}
	clear(sc.Refs[n:])
	sc.Refs = sc.Refs[:n]
	if n == 0 {
		sc.Refs = nil
	}
	m := 0
	for _, s := range sc.Samples {
		if d.bucket(s.CreatedAt) >= keep {
			sc.Samples[m] = s
			m++
		}
	}
	sc.Samples = sc.Samples[:m]
}

// closePosts files the first-hours count of posts whose first hours are over
// into their account's history, and forgets posts quiet for a week.
func (d *spikeDet) closePosts(now time.Time) {
	if d.spec.PerPost == nil {
		return
	}
	fh := d.firstHours()
	n := 0
	for n < len(d.st.OpenQ) {
		// A post in the queue is open, and only closed posts are ever
		// forgotten, so every post here is still in Posts.
		p := d.st.OpenQ[n].p
		if !p.Closed && now.Sub(p.First) <= fh {
			break // posts open in time order: the rest are younger
		}
		n++
		if p.Closed {
			continue
		}
		p.Closed = true
		d.key = append(append(append(d.key[:0], p.Target...), '/'), p.Platform...)
		hp := d.st.Accts[string(d.key)]
		if hp == nil {
			hp = new([]uint32)
			d.st.Accts[string(d.key)] = hp
		}
		h := append(*hp, p.N)
		if len(h) > 100 {
			h = h[len(h)-100:]
		}
		*hp = h
	}
	if n > 0 {
		m := copy(d.st.OpenQ, d.st.OpenQ[n:])
		clear(d.st.OpenQ[m:])
		d.st.OpenQ = d.st.OpenQ[:m]
	}
}

// popularPost reports whether the spike in bucket cur is one watched post
// drawing a crowd: without that post the bucket would not be a spike, and
// either the post's replies in its first hours are within ratio_vs_p90 of the
// account's 90th percentile, or its repliers look organic (PerPost).
func (d *spikeDet) popularPost(sc *spikeScope, cur int64, t spikeTest) bool {
	per := map[postKey]float64{}
	for i := range sc.Refs {
		if r := &sc.Refs[i]; r.B == cur && r.Post != "" {
			per[postKey{r.Platform, r.Post}]++
		}
	}
	top, topName, n := postKey{}, "", 0.0
	for p, c := range per {
		// ties go to the smaller "platform:post" name, as alerts name posts
		if c > n || (c == n && p.String() < topName) {
			top, topName, n = p, p.String(), c
		}
	}
	if topName == "" {
		return false
	}
	rest := t.count - n
	if rest >= float64(d.spec.ThresholdCur) && rest/t.lambda >= d.spec.SpikeHeight {
		return false // still a spike without the post
	}
	p := d.st.Posts[topName]
	if p == nil {
		return false
	}
	var hist []uint32
	if hp := d.st.Accts[p.Target+"/"+string(p.Platform)]; hp != nil {
		hist = *hp
	}
	// Without min_posts of history nobody knows the account's usual range,
	// but an organic-looking crowd is evidence of its own.
	if len(hist) >= d.spec.PerPost.MinPosts {
		xs := make([]float64, len(hist))
		for i, v := range hist {
			xs[i] = float64(v)
		}
		p90 := math.Max(quantile(xs, 0.9), 1)
		if float64(p.N) <= d.spec.PerPost.RatioVsP90*p90 {
			return true
		}
	}
	return d.organicCrowd(sc, cur, top)
}

// organicCrowd reports whether the distinct accounts replying to post in
// bucket cur look like an ordinary crowd (see OrganicCrowd).
func (d *spikeDet) organicCrowd(sc *spikeScope, cur int64, post postKey) bool {
	o := d.spec.PerPost.Organic
	if o == nil {
		return false
	}
	var t crowdTally
	type acct struct {
		p    model.Platform
		name string
	}
	seen := map[acct]bool{}
	for i := range sc.Refs {
		r := &sc.Refs[i]
		if r.B != cur || r.Post != post.ID || r.Platform != post.Platform {
			continue
		}
		a := acct{r.Platform, r.Acct}
		first := r.Acct != "" && !seen[a]
		if first {
			seen[a] = true
		}
		t.add(r.Crowd, r.Text, first)
	}
	return o.organic(t)
}

func (d *spikeDet) finding(id scopeID, sc *spikeScope, cur int64, t spikeTest) Finding {
	start := d.bucketTime(sc.Ep.Start)
	end := d.bucketTime(cur + 1)
	total := 0.0
	for b := sc.Ep.Start; b <= cur; b++ {
		total += d.count(sc, b)
	}
	var targets, accounts, keys []string
	var platforms []model.Platform
	posts := map[string]int{}
	tseen, pseen, aseen := map[string]bool{}, map[model.Platform]bool{}, map[string]bool{}
	for i := range sc.Refs {
		r := &sc.Refs[i]
		if r.B < sc.Ep.Start {
			continue
		}
		keys = append(keys, r.key())
		if !tseen[r.Target] {
			tseen[r.Target] = true
			targets = append(targets, r.Target)
		}
		if !pseen[r.Platform] {
			pseen[r.Platform] = true
			platforms = append(platforms, r.Platform)
		}
		if a := r.acct(); a != "" && !aseen[a] {
			aseen[a] = true
			accounts = append(accounts, a)
		}
		if r.Post != "" {
			posts[r.post()]++
		}
	}
	topPosts := make([]string, 0, len(posts))
	for p := range posts {
		topPosts = append(topPosts, p)
	}
	sort.Slice(topPosts, func(i, j int) bool {
		if posts[topPosts[i]] != posts[topPosts[j]] {
			return posts[topPosts[i]] > posts[topPosts[j]]
		}
		return topPosts[i] < topPosts[j]
	})
	if len(topPosts) > 3 {
		topPosts = topPosts[:3]
	}
	// the first of the episode: its start is what turned it hot
	var samples []model.Sample
	for _, s := range sc.Samples {
		if d.bucket(s.CreatedAt) >= sc.Ep.Start && len(samples) < maxSamples {
			samples = append(samples, fullSample(s))
		}
	}
	var who string
	if id.Target != "" {
		who = id.Target
		if id.Platform != "" {
			who += " on " + string(id.Platform)
		}
	} else if id.Platform != "" {
		who = "all targets on " + string(id.Platform)
	} else {
		who = "all targets"
	}
	summary := fmt.Sprintf("Replies to %s: %d in the %s from %s UTC, %.1f× the %s baseline of %.1f (robust z %.1f, Poisson p %.1e)",
		who, int(t.count), d.spec.Timeframe, d.bucketTime(cur).Format("2006-01-02 15:04"), t.ratio, t.kind, t.median, t.z, t.p)
	var sev model.Severity
	if t.watch {
		sev = model.SeverityInfo
		summary = fmt.Sprintf("Watch (robust z below %g): %s", d.spec.ZAlert, summary)
	}
	if sc.Ep.Start < cur {
		summary += fmt.Sprintf("; %d replies since the spike began at %s UTC", int(total), start.Format("2006-01-02 15:04"))
	}
	return Finding{
		Scope: sc.name, WindowStart: start, WindowEnd: end, Size: total, Severity: sev,
		Summary: summary, Targets: targets, Platforms: platforms, Accounts: accounts, ReplyIDs: keys,
		Metrics: map[string]float64{
			"count": t.count, "baseline": t.median, "ratio": round3(t.ratio), "z": round3(t.z),
			"poisson_p": t.p, "episode_count": total, "accounts": float64(len(accounts)),
		},
		Evidence: model.Evidence{
			Reason: summary, Count: t.count, Baseline: t.median, Ratio: round3(t.ratio), Z: round3(t.z),
			Samples: samples, Posts: topPosts,
		},
	}
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// authorID names a reply's author for evidence: platform-qualified handle,
// falling back to the author id.
func authorID(r *model.Reply) string {
	a := r.Author.Handle
	if a == "" {
		a = r.Author.ID
	}
	if a == "" {
		return ""
	}
	return string(r.Platform) + ":" + a
}

func sampleOf(r *model.Reply) model.Sample {
	s := sampleOf1(r)
	s.ReplyKey = r.Key()
	return s
}

// sampleOf1 is a reply's sample without its ReplyKey.
func sampleOf1(r *model.Reply) model.Sample {
	txt := r.Text
	if len(txt) > 500 {
		txt = truncateUTF8(txt, 500) + "…"
	}
	return model.Sample{Platform: r.Platform, Target: r.Target, URL: r.URL,
		Author: authorOrUnknown(r), AuthorURL: r.Author.URL, Text: txt, CreatedAt: r.CreatedAt.UTC()}
}

func authorOrUnknown(r *model.Reply) string {
	if r.Author.Handle != "" {
		return r.Author.Handle
	}
	if r.Author.Name != "" {
		return r.Author.Name
	}
	if r.Author.ID != "" {
		return r.Author.ID
	}
	return "unknown"
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n]
}

// spikeWire is the gob form: maps with struct keys become a list. It is
// the format of the first version, kept so that saved states still load:
// refs, samples and posts carry their joined "platform:..." names.
type spikeWire struct {
	HasStart  bool
	Start     int64
	IDs       []scopeID
	Scopes    []*spikeScopeWire
	Cand      []bool
	Posts     map[string]*postTrack
	OpenQ     []string
	Accts     map[string][]uint32
	Ring      int
	LastSweep time.Time
}

type spikeScopeWire struct {
	Head     int64
	Counts   []uint32
	Refs     []spikeRefWire
	Samples  []model.Sample
	KeepFrom int64
	Ep       *spikeEpisode
}

type spikeRefWire struct {
	B               int64
	Key, Acct, Post string
	Target          string
	Platform        model.Platform
	Crowd           uint8
	Text            uint64
}

func (d *spikeDet) MarshalState() ([]byte, error) {
	w := spikeWire{HasStart: d.st.HasStart, Start: d.st.Start, Posts: d.st.Posts,
		Accts: make(map[string][]uint32, len(d.st.Accts)), Ring: d.ring, LastSweep: d.st.LastSweep}
	for _, o := range d.st.OpenQ {
		w.OpenQ = append(w.OpenQ, o.key)
	}
	for k, hp := range d.st.Accts {
		w.Accts[k] = *hp
	}
	for id, sc := range d.st.Scopes {
		ws := &spikeScopeWire{Head: sc.Head, Counts: sc.Counts, KeepFrom: sc.KeepFrom, Ep: sc.Ep}
		for i := range sc.Refs {
			r := &sc.Refs[i]
			ws.Refs = append(ws.Refs, spikeRefWire{B: r.B, Key: r.key(), Acct: r.acct(), Post: r.post(), Target: r.Target,
				Platform: r.Platform, Crowd: r.Crowd, Text: r.Text})
		}
		for _, smp := range sc.Samples {
			ws.Samples = append(ws.Samples, fullSample(smp))
		}
		w.IDs = append(w.IDs, id)
		w.Scopes = append(w.Scopes, ws)
		w.Cand = append(w.Cand, d.cand[id] != nil)
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(&w); err != nil {
		return nil, fmt.Errorf("encode spike state: %w", err)
	}
	return buf.Bytes(), nil
}

// unjoin strips the "platform:" prefix the durable form puts on names.
func unjoin(p model.Platform, s string) string {
	if s == "" {
		return ""
	}
	rest, _ := strings.CutPrefix(s, string(p)+":")
	return rest
}

func (d *spikeDet) UnmarshalState(b []byte) error {
	var w spikeWire
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&w); err != nil {
		return fmt.Errorf("decode spike state: %w", err)
	}
	if w.Ring != d.ring {
		return fmt.Errorf("spike state has %d buckets, rule wants %d", w.Ring, d.ring)
	}
	if len(w.Scopes) != len(w.IDs) {
		return fmt.Errorf("spike state has %d scopes for %d ids", len(w.Scopes), len(w.IDs))
	}
	st := spikeState{HasStart: w.HasStart, Start: w.Start, Scopes: map[scopeID]*spikeScope{}, Posts: w.Posts,
		Accts: make(map[string]*[]uint32, len(w.Accts)), LastSweep: w.LastSweep}
	if st.Posts == nil {
		st.Posts = map[string]*postTrack{}
	}
	d.st, d.cand, d.all, d.byT = st, map[scopeID]*spikeScope{}, nil, map[string]*spikeScope{}
	d.hints = nil
	for i, id := range w.IDs {
		ws := w.Scopes[i]
		if ws == nil || len(ws.Counts) != d.ring {
			n := 0
			if ws != nil {
				n = len(ws.Counts)
			}
			return fmt.Errorf("spike state scope %s has %d buckets, want %d", id, n, d.ring)
		}
		sc := &spikeScope{Head: ws.Head, Counts: ws.Counts, KeepFrom: ws.KeepFrom, Ep: ws.Ep}
		for _, r := range ws.Refs {
			sc.Refs = append(sc.Refs, spikeRef{B: r.B, ID: unjoin(r.Platform, r.Key), Acct: unjoin(r.Platform, r.Acct),
				Post: unjoin(r.Platform, r.Post), Target: r.Target, Platform: r.Platform, Crowd: r.Crowd, Text: r.Text})
		}
		for _, smp := range ws.Samples {
			smp.ReplyKey = unjoin(smp.Platform, smp.ReplyKey)
			sc.Samples = append(sc.Samples, smp)
		}
		d.addScope(id, sc)
		if (i < len(w.Cand) && w.Cand[i]) || sc.Ep != nil {
			d.cand[id] = sc
			sc.inCand = true
		}
	}
	for _, k := range w.OpenQ {
		// the previous version skipped a queued name missing from Posts, or
		// a closed post, and so does closePosts
		if p := d.st.Posts[k]; p != nil && !p.Closed {
			d.st.OpenQ = append(d.st.OpenQ, openPost{p, k})
		}
	}
	for k, h := range w.Accts {
		d.st.Accts[k] = &h
	}
	return nil
}
