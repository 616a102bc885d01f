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
	"github.com/mpwatch/mpwatch/rules/text"
)

func init() { register("coordination", func() Spec { return &CoordinationSpec{} }) }

// CoordinationSpec finds accounts acting together: a co-reply network (the
// same accounts replying under the same posts within seconds of each other,
// across several targets) and bursts of many distinct accounts on one target
// within seconds. Account signals are reported as evidence and never fire
// an alert alone.
type CoordinationSpec struct {
	Common  `yaml:",inline"`
	CoReply CoReplySpec `yaml:"co_reply" json:"co_reply"`
	Burst   BurstSpec   `yaml:"burst" json:"burst"`
	// Signals score the accounts for the evidence only.
	Signals SignalConfig `yaml:"signals" json:"signals"`
}

// CoReplySpec is the co-reply network (QUT coordination-network-toolkit's
// co_reply with an edge-weight floor, then connected components).
type CoReplySpec struct {
	Enabled *bool `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	// TimeWindow: two accounts co-reply when they reply under the same post
	// within this time of each other.
	TimeWindow yamlx.Duration `yaml:"time_window" json:"time_window"`
	// Window is how long co-replies are remembered.
	Window yamlx.Duration `yaml:"window" json:"window"`
	// MinEdgeWeight: distinct posts a pair must have co-replied under.
	MinEdgeWeight int `yaml:"min_edge_weight" json:"min_edge_weight"`
	// MinComponent: accounts in a connected group before it can fire.
	MinComponent int `yaml:"min_component" json:"min_component"`
	// MinTargets: distinct targets the group replied to.
	MinTargets int `yaml:"min_targets" json:"min_targets"`
	// MaxPairsPerReply bounds the work one reply under a very busy post costs
	// (it is paired with at most this many of the latest replies there).
	MaxPairsPerReply int `yaml:"max_pairs_per_reply" json:"max_pairs_per_reply"`
}

// BurstSpec is many distinct accounts replying to one target within seconds.
type BurstSpec struct {
	Enabled     *bool          `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	Window      yamlx.Duration `yaml:"window" json:"window"`
	MinAccounts int            `yaml:"min_accounts" json:"min_accounts"`
	// Organic, when set, keeps a burst quiet while its accounts look like
	// an ordinary crowd (a viral post's first minute): it fires once the
	// accounts stop looking organic.
	Organic *OrganicCrowd `yaml:"organic,omitempty" json:"organic,omitempty"`
}

func on(b *bool) bool { return b == nil || *b }

func (s *CoordinationSpec) Base() *Common            { return &s.Common }
func (s *CoordinationSpec) Audience() model.Audience { return model.AudienceComms }

func (s *CoordinationSpec) SetDefaults() {
	s.CoReply = CoReplySpec{
		TimeWindow: yamlx.Duration(300 * time.Second), Window: yamlx.Duration(24 * time.Hour),
		MinEdgeWeight: 2, MinComponent: 3, MinTargets: 3, MaxPairsPerReply: 200,
	}
	s.Burst = BurstSpec{Window: yamlx.Duration(60 * time.Second), MinAccounts: 20}
	s.Signals = DefaultSignalConfig()
}

func (s *CoordinationSpec) Validate(report func(key, format string, args ...any)) {
	c := s.CoReply
	s.Signals.Validate("signals", report)
	if !on(c.Enabled) && !on(s.Burst.Enabled) {
		report("co_reply.enabled", "co_reply and burst are both disabled; disable the rule instead")
	}
	if on(c.Enabled) {
		if c.TimeWindow.D() <= 0 {
			report("co_reply.time_window", "must be > 0")
		}
		if c.Window.D() < c.TimeWindow.D() {
			report("co_reply.window", "must be at least time_window (%s)", c.TimeWindow)
		}
		if c.MinEdgeWeight < 1 {
			report("co_reply.min_edge_weight", "must be at least 1")
		}
		if c.MinComponent < 2 {
			report("co_reply.min_component", "must be at least 2 (accounts acting together)")
		}
		if c.MinTargets < 1 {
			report("co_reply.min_targets", "must be at least 1")
		}
		if c.MaxPairsPerReply < 1 {
			report("co_reply.max_pairs_per_reply", "must be at least 1")
		}
	}
	if on(s.Burst.Enabled) {
		if s.Burst.Window.D() <= 0 {
			report("burst.window", "must be > 0")
		}
		if s.Burst.MinAccounts < 2 {
			report("burst.min_accounts", "must be at least 2")
		}
		if s.Burst.Organic != nil {
			s.Burst.Organic.validate("burst.organic", report)
		}
	}
}

func (s *CoordinationSpec) NewDetector(env Env) (Detector, error) {
	d := &coordDet{spec: s}
	d.reset()
	return d, nil
}

type coEvent struct {
	T    int64 // unix nanoseconds
	Acct uint32
	// Meta is the reply's author and sample, held only while the event is in
	// a short window; it is promoted to the account's evidence when the
	// account turns out to be coordinated, so organic accounts cost nothing.
	Meta *coMeta
}

// coMeta's Sample holds the bare reply id in ReplyKey (lazySample): the
// joined key is built only when the account is promoted or the state saved,
// not for every reply.
type coMeta struct {
	Author model.Author
	Sample model.Sample
}

type coMetaJSON struct {
	Author model.Author
	Sample model.Sample
}

// MarshalJSON writes the full reply key, the durable form of the first
// version.
func (m coMeta) MarshalJSON() ([]byte, error) {
	return json.Marshal(coMetaJSON{Author: m.Author, Sample: fullSample(m.Sample)})
}

func (m *coMeta) UnmarshalJSON(b []byte) error {
	var w coMetaJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	w.Sample.ReplyKey = unjoin(w.Sample.Platform, w.Sample.ReplyKey)
	m.Author, m.Sample = w.Author, w.Sample
	return nil
}

// coRef is one reply remembered for evidence: 32 bytes, a day of them per
// active account. It keeps the reply id, not the joined "platform:id" key
// (refKey builds it for an alert), and the target and platform as one
// interned source: before, with both strings and the joined key, refs were
// 64 bytes plus a string allocated per reply.
type coRef struct {
	T    int64
	ID   string
	Src  uint32 // index in coordDet.srcs
	Post uint32
}

// coSrc is a target and platform replies come from.
type coSrc struct {
	Target   string
	Platform model.Platform
}

// coRefJSON is coRef's durable form, unchanged from the first version.
type coRefJSON struct {
	T        int64
	Key      string
	Target   string
	Platform model.Platform
	Post     uint32
}

type coEdge struct {
	First, Last int64
	Posts       []uint32 // distinct posts co-replied under (up to min_edge_weight)
}

type burstState struct {
	Q []coEvent // replies inside the window, oldest first
	// Counts are the replies in Q per account, kept only while Q is long
	// (see burstSmall); the saved state always has them.
	Counts map[uint32]int
	Ep     *burstEpisode
	// distinct is the number of accounts in Q while Counts is nil.
	distinct int
}

// burstSmall is the longest Q whose accounts are counted by scanning it
// rather than in Counts: most targets get a few replies a minute, and the
// map's lookups and deletes per reply were 0.22 s of coordination's 2.7 s
// Observe over 5 × 400,000 replies, while scanning a short Q reads memory
// the insertion has just read. Q returns to scanning below half of it.
const burstSmall = 32

// accounts is the number of distinct accounts in Q.
func (b *burstState) accounts() int {
	if b.Counts != nil {
		return len(b.Counts)
	}
	return b.distinct
}

func hasAcct(q []coEvent, a uint32) bool {
	for i := range q {
		if q[i].Acct == a {
			return true
		}
	}
	return false
}

func countAccts(q []coEvent) map[uint32]int {
	m := make(map[uint32]int, len(q))
	for _, e := range q {
		m[e.Acct]++
	}
	return m
}

type burstEpisode struct {
	Start    int64
	LastHot  time.Time // evaluation time of the last hot activity
	Fresh    bool      // hot activity since the last evaluation
	LastT    int64     // time of the latest reply while hot
	Accounts map[uint32]bool
	Keys     []string
	Peak     int
	// Texts are the hashes of the accounts' first long replies in the
	// burst, for burst.organic's copy share (only kept when it is set).
	Texts []uint64
}

// coordState is what survives a restart. Recent is filled only to save
// and read it: the detector keeps recent replies in coordDet.recent.
type coordState struct {
	Accts   []string // interned account names
	Authors map[uint32]model.Author
	Posts   map[string]uint32
	NPosts  uint32
	// PostWin holds pointers so that a target can keep its post's window
	// (coTarget.win); the saved form is the same as with slices.
	PostWin  map[uint32]*[]coEvent
	Edges    map[uint64]*coEdge // only pairs with min_edge_weight posts
	Recent   map[uint32][]coRefJSON
	Bursts   map[string]*burstState
	Samples  map[string]model.Sample // first reply of each recent account ref, by reply key
	BurstEps map[string]bool         // targets with an open burst episode
	LastGC   int64
	MaxT     int64
}

type coordDet struct {
	spec   *CoordinationSpec
	st     coordState
	acctID nameTable // index in st.Accts
	// recent[a] are account a's recent replies (coordState.Recent as a
	// slice by account id: no map lookup per reply); nRecent counts the
	// accounts with any.
	recent  [][]coRef
	nRecent int
	// expiry lists, per hour of reply time (oldest first), the accounts
	// that replied in it, so gc trims only the accounts that can have
	// expired replies instead of scanning every account's replies (that
	// scan and the account compaction were 1.8 s per 1M replies).
	expiry []coExpiry
	// key is a scratch buffer for map lookups by joined names, which Go
	// does without allocating the string.
	key []byte
	// srcs are the interned sources of coRef.Src, srcID their index by
	// "target/platform". Targets and platforms are few (the watchlist), so
	// the table is never pruned.
	srcs  []coSrc
	srcID map[string]uint32
	// tgt holds per target its burst state and the last post replied to:
	// replies to a target mostly go to its latest post, so one lookup by
	// target spares the post lookup (0.26 s of coordination's 2.2 s
	// Observe per 1M replies) as well as the burst lookup.
	tgt map[string]*coTarget
	// byTid is tgt by the engine's target number (targets.go). Entries of
	// tgt are kept until reset, which clears it.
	byTid tidSlots[*coTarget]
}

type coTarget struct {
	burst   *burstState // coordState.Bursts[target], nil when none
	srcs    []tgtSrc    // the target's sources by platform
	hasPost bool        // postID, plat and pid are the last post's
	postID  string
	plat    model.Platform
	pid     uint32
	// win is coordState.PostWin[pid] once looked up (nil before): the
	// lookup and the store back of the window were 0.15 s of coordination's
	// 1.6 s Observe per 1M replies.
	win *[]coEvent
}

type coExpiry struct {
	start int64 // unix nanoseconds, a multiple of coExpiryStep
	accts []uint32
}

const coExpiryStep = int64(time.Hour)

type tgtSrc struct {
	plat model.Platform
	id   uint32
}

// src returns the interned id of (target, platform).
func (d *coordDet) src(target string, p model.Platform) uint32 {
	d.key = append(append(append(d.key[:0], target...), '/'), p...)
	if id, ok := d.srcID[string(d.key)]; ok {
		return id
	}
	id := uint32(len(d.srcs))
	d.srcs = append(d.srcs, coSrc{Target: strings.Clone(target), Platform: p})
	d.srcID[string(d.key)] = id
	return id
}

// tgtSrc is src through the target's entry, which holds its few sources.
func (d *coordDet) tgtSrc(tg *coTarget, target string, p model.Platform) uint32 {
	for _, x := range tg.srcs {
		if x.plat == p {
			return x.id
		}
	}
	id := d.src(target, p)
	tg.srcs = append(tg.srcs, tgtSrc{p, id})
	return id
}

func (d *coordDet) refKey(r *coRef) string { return model.ReplyKey(d.srcs[r.Src].Platform, r.ID) }

func (d *coordDet) reset() {
	d.st = coordState{
		Authors: map[uint32]model.Author{}, Posts: map[string]uint32{}, PostWin: map[uint32]*[]coEvent{},
		Edges:  map[uint64]*coEdge{},
		Bursts: map[string]*burstState{}, Samples: map[string]model.Sample{}, BurstEps: map[string]bool{},
	}
	d.acctID = nameTable{}
	d.recent, d.nRecent, d.expiry = nil, 0, nil
	d.tgt = map[string]*coTarget{}
	d.byTid = nil
	d.srcs, d.srcID = nil, map[string]uint32{}
}

// intern returns the id of the account whose name is d.key.
func (d *coordDet) intern() uint32 {
	h := nameHashBytes(d.key)
	if id, ok := nameGet(&d.acctID, h, d.key, d.st.Accts); ok {
		return id
	}
	name := string(d.key)
	id := uint32(len(d.st.Accts))
	d.st.Accts = append(d.st.Accts, name)
	d.acctID.put(h, name, id)
	d.recent = append(d.recent, nil)
	return id
}

// expire notes that account a has a reply at t, for gc.
func (d *coordDet) expire(a uint32, t int64) {
	start := t - t%coExpiryStep
	if t < 0 && t%coExpiryStep != 0 {
		start -= coExpiryStep
	}
	i := len(d.expiry)
	for i > 0 && d.expiry[i-1].start > start {
		i-- // a late reply: crawls deliver nearly sorted batches
	}
	if i == 0 || d.expiry[i-1].start != start {
		d.expiry = slices.Insert(d.expiry, i, coExpiry{start: start})
		i++
	}
	d.expiry[i-1].accts = append(d.expiry[i-1].accts, a)
}

// addRecent records a reply of account a as evidence.
func (d *coordDet) addRecent(a uint32, ref coRef) {
	rec := d.recent[a]
	if len(rec) == 0 {
		d.nRecent++
	}
	if len(rec) >= maxRecentPerAccount {
		copy(rec, rec[1:])
		rec = rec[:len(rec)-1]
	}
	d.recent[a] = append(rec, ref)
	d.expire(a, ref.T)
}

func pairKey(a, b uint32) uint64 {
	if a > b {
		a, b = b, a
	}
	return uint64(a)<<32 | uint64(b)
}

// maxRecentPerAccount bounds the evidence kept for one account.
const maxRecentPerAccount = 64

// Observe joins no strings for a known account and post (names are looked
// up through a scratch buffer); before, it built five per reply and spent
// 4,337 ns/reply in all (BenchmarkEachRule, coordinated-accounts).
func (d *coordDet) Observe(it *Item) {
	r := &it.Reply
	handle := r.Author.Handle
	if handle == "" {
		handle = r.Author.ID
	}
	if handle == "" {
		return // an anonymous reply cannot be tied to anyone
	}
	d.key = append(append(append(d.key[:0], r.Platform...), ':'), handle...)
	a := d.intern()
	meta := &coMeta{Author: r.Author, Sample: lazySample(r)}
	t := r.CreatedAt.UnixNano()
	d.st.MaxT = max(d.st.MaxT, t)
	var slot **coTarget
	var tg *coTarget
	if it.tid != 0 {
		slot = d.byTid.at(it.tid)
		tg = *slot
	}
	if tg == nil {
		if tg = d.tgt[r.Target]; tg == nil {
			tg = &coTarget{burst: d.st.Bursts[r.Target]}
			d.tgt[strings.Clone(r.Target)] = tg
		}
		if slot != nil {
			*slot = tg
		}
	}
	pid := tg.pid
	if !tg.hasPost || tg.postID != r.PostID || tg.plat != r.Platform {
		d.key = append(append(append(append(d.key[:0], r.Target...), '/'), r.Platform...), ':')
		if r.PostID == "" {
			d.key = append(d.key, '-')
		} else {
			d.key = append(d.key, r.PostID...)
		}
		var ok bool
		pid, ok = d.st.Posts[string(d.key)]
		if !ok {
			d.st.NPosts++
			pid = d.st.NPosts
			d.st.Posts[string(d.key)] = pid
		}
		tg.hasPost, tg.postID, tg.plat, tg.pid, tg.win = true, r.PostID, r.Platform, pid, nil
	}
	d.addRecent(a, coRef{T: t, ID: r.ID, Src: d.tgtSrc(tg, r.Target, r.Platform), Post: pid})
	if on(d.spec.CoReply.Enabled) && r.PostID != "" {
		d.coReply(tg, a, pid, t, meta)
	}
	if on(d.spec.Burst.Enabled) {
		d.burst(r, tg, a, t, meta)
	}
}

// promote keeps an account's author profile and first sample as evidence.
func (d *coordDet) promote(a uint32, m *coMeta) {
	if m == nil {
		return
	}
	if _, ok := d.st.Authors[a]; !ok {
		d.st.Authors[a] = m.Author
	}
	name := d.st.Accts[a]
	if _, ok := d.st.Samples[name]; !ok {
		d.st.Samples[name] = fullSample(m.Sample)
	}
}

// coPosts adds to into the posts other than skip under which accounts a and
// b both replied within tw of each other, up to need of them, and returns
// the earliest of those co-replies (or first, when earlier).
func (d *coordDet) coPosts(a, b uint32, skip uint32, tw int64, need int, into []uint32, first int64) ([]uint32, int64) {
	ra, rb := d.recent[a], d.recent[b]
	for _, x := range ra {
		if x.Post == skip || slices.Contains(into, x.Post) {
			continue
		}
		for _, y := range rb {
			if y.Post == x.Post && abs64(x.T-y.T) <= tw {
				into = append(into, x.Post)
				first = min(first, x.T, y.T)
				break
			}
		}
		if len(into) >= need {
			break
		}
	}
	return into, first
}

// distinctPosts reports whether the account replied under at least two
// posts recently: an account under one post cannot have a weight-2 edge.
func distinctPosts(rs []coRef) bool {
	for _, r := range rs[1:] {
		if r.Post != rs[0].Post {
			return true
		}
	}
	return false
}

func (d *coordDet) coReply(tg *coTarget, a, pid uint32, t int64, meta *coMeta) {
	c := d.spec.CoReply
	tw := int64(c.TimeWindow.D())
	wp := tg.win
	if wp == nil {
		if wp = d.st.PostWin[pid]; wp == nil {
			wp = new([]coEvent)
			d.st.PostWin[pid] = wp
		}
		tg.win = wp
	}
	win := *wp
	// drop what can no longer pair with anything new
	n := 0
	for _, e := range win {
		if e.T >= d.st.MaxT-tw {
			win[n] = e
			n++
		}
	}
	win = win[:n]
	paired := 0
	for i := len(win) - 1; i >= 0 && paired < c.MaxPairsPerReply; i-- {
		e := win[i]
		if e.Acct == a || abs64(e.T-t) > tw {
			continue
		}
		paired++
		k := pairKey(a, e.Acct)
		if ed := d.st.Edges[k]; ed != nil {
			ed.First, ed.Last = min(ed.First, t, e.T), max(ed.Last, t, e.T)
			if !slices.Contains(ed.Posts, pid) && len(ed.Posts) < 8 {
				ed.Posts = append(ed.Posts, pid)
			}
			continue
		}
		// Only pairs that co-replied under min_edge_weight posts are kept:
		// the earlier co-replies are found in the two accounts' recent
		// replies, so the countless one-off pairs under busy posts cost
		// no memory.
		if c.MinEdgeWeight > 1 && (!distinctPosts(d.recent[a]) || !distinctPosts(d.recent[e.Acct])) {
			continue
		}
		posts, first := d.coPosts(a, e.Acct, pid, tw, c.MinEdgeWeight, []uint32{pid}, min(t, e.T))
		if len(posts) < c.MinEdgeWeight {
			continue
		}
		d.st.Edges[k] = &coEdge{First: first, Last: max(t, e.T), Posts: posts}
		d.promote(a, meta)
		d.promote(e.Acct, e.Meta)
	}
	*wp = append(win, coEvent{T: t, Acct: a, Meta: meta})
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func (d *coordDet) burst(r *model.Reply, tg *coTarget, a uint32, t int64, meta *coMeta) {
	w := int64(d.spec.Burst.Window.D())
	b := tg.burst
	if b == nil {
		b = &burstState{}
		d.st.Bursts[r.Target] = b
		tg.burst = b
	}
	// insert in time order (crawls deliver nearly sorted batches)
	i := len(b.Q)
	for i > 0 && b.Q[i-1].T > t {
		i--
	}
	if b.Counts == nil && !hasAcct(b.Q, a) {
		b.distinct++
	}
	b.Q = slices.Insert(b.Q, i, coEvent{T: t, Acct: a, Meta: meta})
	if b.Counts != nil {
		b.Counts[a]++
	} else if len(b.Q) > burstSmall {
		b.Counts = countAccts(b.Q)
	}
	newest := b.Q[len(b.Q)-1].T
	drop := 0
	for drop < len(b.Q) && b.Q[drop].T < newest-w {
		e := b.Q[drop]
		if b.Counts != nil {
			if b.Counts[e.Acct]--; b.Counts[e.Acct] == 0 {
				delete(b.Counts, e.Acct)
			}
		} else if !hasAcct(b.Q[drop+1:], e.Acct) {
			b.distinct--
		}
		drop++
	}
	if drop > 0 {
		b.Q = append(b.Q[:0], b.Q[drop:]...)
	}
	if b.Counts != nil && len(b.Q) <= burstSmall/2 {
		b.distinct, b.Counts = len(b.Counts), nil
	}
	if t < newest-w {
		return // too late to be part of the current window
	}
	if b.accounts() >= d.spec.Burst.MinAccounts {
		if b.Ep == nil {
			b.Ep = &burstEpisode{Start: b.Q[0].T, Accounts: map[uint32]bool{}}
			d.st.BurstEps[r.Target] = true
		}
		for _, e := range b.Q {
			if !b.Ep.Accounts[e.Acct] {
				b.Ep.Accounts[e.Acct] = true
				d.promote(e.Acct, e.Meta)
				if d.spec.Burst.Organic != nil && e.Meta != nil {
					if h := crowdText(text.Normalize(e.Meta.Sample.Text)); h != 0 {
						b.Ep.Texts = append(b.Ep.Texts, h)
					}
				}
			}
		}
		b.Ep.Peak = max(b.Ep.Peak, b.accounts())
		b.Ep.Fresh = true
		b.Ep.LastT = max(b.Ep.LastT, t)
	}
	if b.Ep != nil && len(b.Ep.Keys) < 5000 {
		if b.Ep.Fresh && b.accounts() >= d.spec.Burst.MinAccounts {
			b.Ep.Keys = append(b.Ep.Keys, r.Key())
		}
	}
}

func (d *coordDet) Evaluate(now time.Time) []Finding {
	var out []Finding
	if on(d.spec.CoReply.Enabled) {
		out = append(out, d.components(now)...)
	}
	if on(d.spec.Burst.Enabled) {
		out = append(out, d.bursts(now)...)
	}
	d.gc(now)
	return out
}

func (d *coordDet) components(now time.Time) []Finding {
	c := d.spec.CoReply
	cut := now.Add(-c.Window.D()).UnixNano()
	parent := map[uint32]uint32{}
	var find func(x uint32) uint32
	find = func(x uint32) uint32 {
		p, ok := parent[x]
		if !ok || p == x {
			return x
		}
		r := find(p)
		parent[x] = r
		return r
	}
	for k, ed := range d.st.Edges {
		if ed.Last < cut {
			continue
		}
		a, b := uint32(k>>32), uint32(k)
		for _, x := range []uint32{a, b} {
			if _, ok := parent[x]; !ok {
				parent[x] = x
			}
		}
		ra, rb := find(a), find(b)
		if ra != rb {
			parent[ra] = rb
		}
	}
	type group struct {
		members []uint32
		edges   []uint64
	}
	groups := map[uint32]*group{}
	for x := range parent {
		r := find(x)
		g := groups[r]
		if g == nil {
			g = &group{}
			groups[r] = g
		}
		g.members = append(g.members, x)
	}
	// Each group gets its own edges in one pass: looking through every
	// edge for every group cost O(groups × edges) per evaluation, 15.5 s
	// of 18 s over 2 days of a stream where thousands of accounts replied
	// together under the same posts.
	for k, ed := range d.st.Edges {
		if ed.Last >= cut {
			g := groups[find(uint32(k>>32))]
			g.edges = append(g.edges, k)
		}
	}
	var out []Finding
	for _, g := range groups {
		if len(g.members) < c.MinComponent {
			continue
		}
		if f, ok := d.componentFinding(g.members, g.edges, cut, now); ok {
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Scope < out[j].Scope })
	return out
}

// componentFinding describes a connected group: its members and its edges
// (those still inside the window).
func (d *coordDet) componentFinding(members []uint32, edgeKeys []uint64, cut int64, now time.Time) (Finding, bool) {
	c := d.spec.CoReply
	// the earliest strong edge names the group, so its key is stable while
	// the group grows
	var firstKey uint64
	var first *coEdge
	edges, maxW := 0, 0
	var coPosts = map[uint32]bool{}
	for _, k := range edgeKeys {
		ed := d.st.Edges[k]
		edges++
		maxW = max(maxW, len(ed.Posts))
		for _, p := range ed.Posts {
			coPosts[p] = true
		}
		if first == nil || ed.First < first.First || (ed.First == first.First && k < firstKey) {
			first, firstKey = ed, k
		}
	}
	targets := map[string]bool{}
	platforms := map[model.Platform]bool{}
	var keys, accounts []string
	var samples []model.Sample
	var authors []model.Author
	var times []time.Time
	end := first.Last
	for _, m := range members {
		name := d.st.Accts[m]
		accounts = append(accounts, name)
		authors = append(authors, d.st.Authors[m])
		for i := range d.recent[m] {
			r := &d.recent[m][i]
			if r.T < cut {
				continue
			}
			src := &d.srcs[r.Src]
			targets[src.Target] = true
			platforms[src.Platform] = true
			keys = append(keys, d.refKey(r))
			times = append(times, time.Unix(0, r.T))
			end = max(end, r.T)
		}
	}
	if len(targets) < c.MinTargets {
		return Finding{}, false
	}
	sort.Strings(accounts)
	for _, name := range accounts {
		if s, ok := d.st.Samples[name]; ok && len(samples) < maxSamples {
			samples = append(samples, s)
		}
	}
	tl := mapKeys(targets)
	var pl []model.Platform
	for p := range platforms {
		pl = append(pl, p)
	}
	a, b := d.st.Accts[uint32(firstKey>>32)], d.st.Accts[uint32(firstKey)]
	if a > b {
		a, b = b, a
	}
	start := time.Unix(0, first.First).UTC().Truncate(time.Second)
	sig := ComputeSignals(authors, times, now, d.spec.Signals)
	summary := fmt.Sprintf("%d accounts replied together under the same posts within %s of each other, across %d targets (%s)",
		len(members), c.TimeWindow, len(tl), strings.Join(limitList(tl, 5), ", "))
	return Finding{
		Scope: "coreply:" + a + "|" + b, WindowStart: start, WindowEnd: time.Unix(0, end).UTC(),
		Size: float64(len(members)), Summary: summary,
		Targets: tl, Platforms: pl, Accounts: accounts, ReplyIDs: keys,
		Metrics: map[string]float64{
			"accounts": float64(len(members)), "targets": float64(len(tl)), "edges": float64(edges),
			"max_edge_weight": float64(maxW), "posts": float64(len(coPosts)), "replies": float64(len(keys)),
			"signal_score": sig.Score,
		},
		Evidence: model.Evidence{Reason: summary, Count: float64(len(keys)), Samples: samples, Signals: &sig},
	}, true
}

func (d *coordDet) bursts(now time.Time) []Finding {
	resolveAfter := d.spec.ResolveAfter.D()
	var out []Finding
	for _, target := range sortedKeys(d.st.BurstEps) {
		b := d.st.Bursts[target]
		if b == nil || b.Ep == nil {
			delete(d.st.BurstEps, target)
			continue
		}
		ep := b.Ep
		// A burst read long after it happened (history loaded at start-up)
		// is not news: only bursts within resolve_after of now are reported.
		if ep.Fresh && now.UnixNano()-ep.LastT < int64(resolveAfter) {
			ep.LastHot = now
		}
		ep.Fresh = false
		if now.Sub(ep.LastHot) >= resolveAfter {
			b.Ep = nil
			delete(d.st.BurstEps, target)
			continue
		}
		if !ep.LastHot.Equal(now) {
			continue // not hot at this evaluation: let the alert age towards resolution
		}
		if o := d.spec.Burst.Organic; o != nil && d.organicBurst(o, ep) {
			continue // a crowd, not a network: no alert while it stays one
		}
		var accounts []string
		var authors []model.Author
		var times []time.Time
		var samples []model.Sample
		platforms := map[model.Platform]bool{}
		for a := range ep.Accounts {
			accounts = append(accounts, d.st.Accts[a])
			authors = append(authors, d.st.Authors[a])
			for _, r := range d.recent[a] {
				if d.srcs[r.Src].Target == target && r.T >= ep.Start {
					times = append(times, time.Unix(0, r.T))
				}
			}
		}
		sort.Strings(accounts)
		for _, name := range accounts {
			if s, ok := d.st.Samples[name]; ok && len(samples) < maxSamples && s.Target == target {
				samples = append(samples, s)
			}
		}
		for _, k := range ep.Keys {
			p, _, _ := strings.Cut(k, ":")
			platforms[model.Platform(p)] = true
		}
		var pl []model.Platform
		for p := range platforms {
			pl = append(pl, p)
		}
		sig := ComputeSignals(authors, times, now, d.spec.Signals)
		summary := fmt.Sprintf("%d distinct accounts replied to %s within %s (%d accounts in the burst so far)",
			ep.Peak, target, d.spec.Burst.Window, len(accounts))
		start := time.Unix(0, ep.Start).UTC().Truncate(time.Second)
		out = append(out, Finding{
			Scope: "burst:target:" + target, WindowStart: start, WindowEnd: now.UTC(),
			Size: float64(len(accounts)), Summary: summary,
			Targets: []string{target}, Platforms: pl, Accounts: accounts, ReplyIDs: slices.Clone(ep.Keys),
			Metrics: map[string]float64{"peak_accounts": float64(ep.Peak), "accounts": float64(len(accounts)),
				"replies": float64(len(ep.Keys)), "signal_score": sig.Score},
			Evidence: model.Evidence{Reason: summary, Count: float64(len(ep.Keys)), Samples: samples, Signals: &sig},
		})
	}
	return out
}

// organicBurst reports whether a burst's accounts look like an ordinary
// crowd (see OrganicCrowd).
func (d *coordDet) organicBurst(o *OrganicCrowd, ep *burstEpisode) bool {
	var t crowdTally
	at := time.Unix(0, ep.Start)
	for a := range ep.Accounts {
		t.add(o.flags(d.st.Authors[a], at), 0, true)
	}
	for _, h := range ep.Texts {
		t.add(0, h, false)
	}
	return o.organic(t)
}

// gcEvery is how often (in data time) expired state is swept: a sixth of
// the co-reply window, at least an hour. Readers check times themselves, so
// a sweep only bounds memory (to 7/6 of the window) and its cost is spread
// over many evaluations however much state there is.
func (d *coordDet) gcEvery() time.Duration { return max(time.Hour, d.spec.CoReply.Window.D()/6) }

// gc forgets what fell out of every window.
func (d *coordDet) gc(now time.Time) {
	c := d.spec.CoReply
	cut := now.Add(-c.Window.D()).UnixNano()
	tw := int64(c.TimeWindow.D())
	if now.UnixNano()-d.st.LastGC < int64(d.gcEvery()) {
		return
	}
	d.st.LastGC = now.UnixNano()
	for k, ed := range d.st.Edges {
		if ed.Last < cut {
			delete(d.st.Edges, k)
		}
	}
	for p, wp := range d.st.PostWin {
		if win := *wp; len(win) == 0 || win[len(win)-1].T < now.UnixNano()-tw {
			delete(d.st.PostWin, p)
		}
	}
	keepBurst := now.Add(-max(d.spec.Burst.Window.D(), d.spec.ResolveAfter.D())).UnixNano()
	for target, b := range d.st.Bursts {
		if b.Ep == nil && (len(b.Q) == 0 || b.Q[len(b.Q)-1].T < keepBurst) {
			delete(d.st.Bursts, target)
		}
	}
	// Posts are forgotten below, so no target may keep a post id. A
	// target's entry and sources stay: like srcs they are bounded by the
	// watchlist, and building them again after every sweep (a map lookup
	// by joined name per target and platform) was 0.16 s of coordination's
	// 2.7 s Observe over 5 × 400,000 replies.
	for target, tg := range d.tgt {
		*tg = coTarget{burst: d.st.Bursts[target], srcs: tg.srcs}
	}
	// Only the accounts that replied in an hour starting before cut can
	// hold replies older than cut. An hour that straddles cut is trimmed
	// again at the next sweep, for its later replies.
	n := 0
	for n < len(d.expiry) && d.expiry[n].start < cut {
		for _, a := range d.expiry[n].accts {
			d.trimRecent(a, cut)
		}
		if d.expiry[n].start+coExpiryStep > cut {
			break
		}
		n++
	}
	if n > 0 {
		clear(d.expiry[:n])
		d.expiry = append(d.expiry[:0], d.expiry[n:]...)
	}
	for k, s := range d.st.Samples {
		if s.CreatedAt.UnixNano() < cut {
			delete(d.st.Samples, k)
		}
	}
	// Posts are interned only while someone may still co-reply under them.
	for k, pid := range d.st.Posts {
		if _, ok := d.st.PostWin[pid]; !ok {
			delete(d.st.Posts, k)
		}
	}
	d.compact()
}

// trimRecent forgets account a's replies before cut, and the account's
// evidence once none is left.
func (d *coordDet) trimRecent(a uint32, cut int64) {
	rs := d.recent[a]
	if len(rs) == 0 {
		return
	}
	n := 0
	for _, r := range rs {
		if r.T >= cut {
			rs[n] = r
			n++
		}
	}
	if n == 0 {
		d.recent[a] = nil
		d.nRecent--
		delete(d.st.Authors, a)
		delete(d.st.Samples, d.st.Accts[a])
		return
	}
	clear(rs[n:])
	d.recent[a] = rs[:n]
}

// compact renumbers the interned accounts keeping only those still
// referenced, so the table does not grow with every account ever seen.
func (d *coordDet) compact() {
	// Accounts with recent replies are live, so when they alone are half
	// the table there is nothing to gain; this spares building the live
	// set of every account at every sweep.
	if len(d.st.Accts) < 1024 || d.nRecent*2 > len(d.st.Accts) {
		return
	}
	// live and remap are slices by account id: this runs over every
	// account in the table, so map operations per account add up.
	live := make([]bool, len(d.st.Accts))
	mark := func(a uint32) {
		if int(a) < len(live) { // a restored state may name an unknown id
			live[a] = true
		}
	}
	for a, rs := range d.recent {
		if len(rs) > 0 {
			live[a] = true
		}
	}
	for _, wp := range d.st.PostWin {
		for _, e := range *wp {
			mark(e.Acct)
		}
	}
	for k := range d.st.Edges {
		mark(uint32(k >> 32))
		mark(uint32(k))
	}
	for _, b := range d.st.Bursts {
		for _, e := range b.Q {
			mark(e.Acct)
		}
		if b.Ep != nil {
			for a := range b.Ep.Accounts {
				mark(a)
			}
		}
	}
	nLive := 0
	for _, l := range live {
		if l {
			nLive++
		}
	}
	if nLive*2 > len(d.st.Accts) {
		return
	}
	old := d.st.Accts
	const gone = ^uint32(0)
	ids := make([]uint32, len(old))
	// The table is sized for the next compaction, which comes when it has
	// doubled again, so it is filled without regrowing.
	size := 2*nLive + 1024
	d.st.Accts = make([]string, 0, size)
	// The name table too: it has room for every account of the table,
	// which is about that size, so it is emptied and filled again rather
	// than allocated anew (made for the live accounts, it grew back by
	// doubling: 0.3 s of intern's 0.83 s over 5 × 400,000 replies went to
	// inserting new names), unless the table had grown far beyond it (a
	// one-off flood of accounts is not kept).
	d.acctID.reset(size)
	for a := range old {
		ids[a] = gone
		if live[a] {
			id := uint32(len(d.st.Accts))
			ids[a] = id
			d.st.Accts = append(d.st.Accts, old[a])
			d.acctID.put(nameHash(old[a]), old[a], id)
		}
	}
	// remap gives 0 for an account that is not live, as the map it
	// replaces did; only live accounts are remapped this way.
	remap := func(a uint32) uint32 {
		if int(a) >= len(ids) || ids[a] == gone {
			return 0
		}
		return ids[a]
	}
	lookup := func(a uint32) (uint32, bool) {
		if int(a) >= len(ids) || ids[a] == gone {
			return 0, false
		}
		return ids[a], true
	}
	authors := make(map[uint32]model.Author, len(d.st.Authors))
	for a, au := range d.st.Authors {
		if id, ok := lookup(a); ok {
			authors[id] = au
		}
	}
	d.st.Authors = authors
	recent := make([][]coRef, len(d.st.Accts), size)
	for a, rs := range d.recent {
		if len(rs) > 0 {
			recent[remap(uint32(a))] = rs
		}
	}
	d.recent = recent
	for i := range d.expiry {
		ex := &d.expiry[i]
		m := 0
		for _, a := range ex.accts {
			// an account that is not live has no replies left to expire
			if id, ok := lookup(a); ok {
				ex.accts[m] = id
				m++
			}
		}
		ex.accts = ex.accts[:m]
	}
	for _, wp := range d.st.PostWin {
		win := *wp
		for i := range win {
			win[i].Acct = remap(win[i].Acct)
		}
	}
	edges := make(map[uint64]*coEdge, len(d.st.Edges))
	for k, ed := range d.st.Edges {
		edges[pairKey(remap(uint32(k>>32)), remap(uint32(k)))] = ed
	}
	d.st.Edges = edges
	for _, b := range d.st.Bursts {
		for i := range b.Q {
			b.Q[i].Acct = remap(b.Q[i].Acct)
		}
		if b.Counts != nil {
			counts := make(map[uint32]int, len(b.Counts))
			for a, n := range b.Counts {
				counts[remap(a)] = n
			}
			b.Counts = counts
		}
		if b.Ep != nil {
			accs := make(map[uint32]bool, len(b.Ep.Accounts))
			for a := range b.Ep.Accounts {
				accs[remap(a)] = true
			}
			b.Ep.Accounts = accs
		}
	}
}

func (d *coordDet) MarshalState() ([]byte, error) {
	d.st.Recent = make(map[uint32][]coRefJSON, d.nRecent)
	for a, rs := range d.recent {
		if len(rs) == 0 {
			continue
		}
		ws := make([]coRefJSON, len(rs))
		for i := range rs {
			r := &rs[i]
			src := d.srcs[r.Src]
			ws[i] = coRefJSON{T: r.T, Key: d.refKey(r), Target: src.Target, Platform: src.Platform, Post: r.Post}
		}
		d.st.Recent[uint32(a)] = ws
	}
	// The saved state has every queue's counts, as before burstSmall.
	var counted []*burstState
	for _, bs := range d.st.Bursts {
		if bs.Counts == nil {
			bs.Counts = countAccts(bs.Q)
			counted = append(counted, bs)
		}
	}
	b, err := json.Marshal(&d.st)
	d.st.Recent = nil
	for _, bs := range counted {
		bs.Counts = nil
	}
	if err != nil {
		return nil, fmt.Errorf("encode coordination state: %w", err)
	}
	return b, nil
}

func (d *coordDet) UnmarshalState(b []byte) error {
	d.reset()
	if err := json.Unmarshal(b, &d.st); err != nil {
		d.reset()
		return fmt.Errorf("decode coordination state: %w", err)
	}
	for i, name := range d.st.Accts {
		d.acctID.put(nameHash(name), name, uint32(i))
	}
	if d.st.Authors == nil {
		d.st.Authors = map[uint32]model.Author{}
	}
	if d.st.Posts == nil {
		d.st.Posts = map[string]uint32{}
	}
	if d.st.PostWin == nil {
		d.st.PostWin = map[uint32]*[]coEvent{}
	}
	for pid, wp := range d.st.PostWin {
		if wp == nil { // a window saved as null: an empty one, as before
			d.st.PostWin[pid] = new([]coEvent)
		}
	}
	if d.st.Edges == nil {
		d.st.Edges = map[uint64]*coEdge{}
	}
	if d.st.BurstEps == nil {
		d.st.BurstEps = map[string]bool{}
	}
	d.recent = make([][]coRef, len(d.st.Accts))
	for _, a := range slices.Sorted(maps.Keys(d.st.Recent)) {
		ws := d.st.Recent[a]
		if int(a) >= len(d.recent) || len(ws) == 0 {
			continue // names no interned account: nothing can reach it
		}
		rs := make([]coRef, len(ws))
		for i, w := range ws {
			rs[i] = coRef{T: w.T, ID: unjoin(w.Platform, w.Key), Src: d.src(w.Target, w.Platform), Post: w.Post}
		}
		d.recent[a] = rs
		d.nRecent++
		for _, r := range rs {
			d.expire(a, r.T)
		}
	}
	d.st.Recent = nil
	if d.st.Bursts == nil {
		d.st.Bursts = map[string]*burstState{}
	}
	for target, bs := range d.st.Bursts {
		if bs == nil {
			delete(d.st.Bursts, target)
			continue
		}
		if bs.Counts == nil || len(bs.Q) <= burstSmall {
			bs.Counts = countAccts(bs.Q)
		}
		if len(bs.Q) <= burstSmall {
			bs.distinct, bs.Counts = len(bs.Counts), nil
		}
	}
	if d.st.Samples == nil {
		d.st.Samples = map[string]model.Sample{}
	}
	return nil
}

func mapKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func limitList(xs []string, n int) []string {
	if len(xs) <= n {
		return xs
	}
	return append(slices.Clone(xs[:n]), fmt.Sprintf("and %d more", len(xs)-n))
}
