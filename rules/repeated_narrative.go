package rules

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/cespare/xxhash/v2"
	"github.com/mpwatch/mpwatch/internal/yamlx"
	"github.com/mpwatch/mpwatch/model"
	"github.com/mpwatch/mpwatch/rules/text"
)

func init() {
	register("repeated_narrative", func() Spec { return &RepeatedNarrativeSpec{} })
}

// RepeatedNarrativeSpec finds the same text, or near-copies of it, posted by
// many distinct accounts within a sliding window: a copy-paste campaign.
type RepeatedNarrativeSpec struct {
	Common `yaml:",inline"`
	// Window is how far back replies are compared, by their created_at
	// relative to the evaluation time (default 48h).
	Window yamlx.Duration `yaml:"window" json:"window"`
	// JaccardMin is the character-shingle Jaccard similarity at which two
	// replies are near-copies (default 0.6). Every LSH candidate is checked
	// against it exactly.
	JaccardMin float64 `yaml:"jaccard_min" json:"jaccard_min"`
	// MinAccounts is the number of distinct authors a cluster needs to fire
	// (default 5). One account repeating itself counts once.
	MinAccounts int `yaml:"min_accounts" json:"min_accounts"`
	// MinTargets is the number of distinct targets a cluster must reach to
	// fire (default 1: any target).
	MinTargets int `yaml:"min_targets" json:"min_targets"`
	// MinChars is the Latin-script length (letters and digits after
	// normalisation) below which a reply is too short to compare ("thank
	// you", "lol"); default 25.
	MinChars int `yaml:"min_chars" json:"min_chars"`
	// MinHanChars is the same floor for Chinese, Japanese and Korean
	// characters (default 13, above detection.md's 10: a chain of three
	// four-character idioms, 12 characters, is a stock phrase that real
	// Weibo users repeat to each other). Mixed texts count proportionally.
	MinHanChars int `yaml:"min_han_chars" json:"min_han_chars"`
	// MinNewAccountShare, when above 0, also requires that share of the
	// cluster's accounts (whose creation date is known) to be new, per
	// signals.new_account_days (detection.md's narrative
	// min_new_account_share 0.5). Off by default: hijacked old accounts
	// post campaigns too, and most sources do not give account ages.
	MinNewAccountShare float64 `yaml:"min_new_account_share" json:"min_new_account_share"`
	// KeepQuoted compares retweet-style copies whole. By default (false)
	// only the replier's own words count: a manual retweet ("RT @user: …",
	// "MT @user: …") or quote ("“@user: …” my comment") carries someone
	// else's words, and
	// breaking news is retweeted by many real accounts (QUT's toolkit also
	// leaves retweets out of its text types).
	KeepQuoted bool `yaml:"keep_quoted" json:"keep_quoted"`
	// MinHash sets the LSH banding (default 30 bands of 4 rows, as the
	// shipped rule: rules/default/narrative.yaml says why).
	MinHash MinHashConfig `yaml:"minhash" json:"minhash"`
	// Escalate raises the severity of large or cross-target clusters.
	Escalate Escalation `yaml:"escalate" json:"escalate"`
	// Signals sets how the accounts behind a cluster are described.
	Signals SignalConfig `yaml:"signals" json:"signals"`
}

// MinHashConfig is the banding of the near-duplicate index. A pair with
// Jaccard J shares a band with probability 1-(1-J^rows)^bands (see package
// rules/text for the curve) and is then a candidate; when the bands are
// many enough that nine in ten pairs at jaccard_min share two, a candidate
// must share two (see rnMinHits).
type MinHashConfig struct {
	// Bands of the signature (default 20).
	Bands int `yaml:"bands" json:"bands"`
	// Rows per band (default 5).
	Rows int `yaml:"rows" json:"rows"`
}

// Escalation raises a cluster's severity when it is large or spread:
// detection.md's "copy-paste by >= 10 accounts, or by >= 3 accounts across
// >= 3 MPs". A zero threshold disables that condition.
type Escalation struct {
	// Severity given to an escalated cluster (default high).
	Severity model.Severity `yaml:"severity" json:"severity"`
	// Accounts: a cluster with at least this many distinct authors
	// escalates (default 10).
	Accounts int `yaml:"accounts" json:"accounts"`
	// CrossTargetAccounts and CrossTargets: a cluster with at least
	// CrossTargetAccounts authors reaching at least CrossTargets targets
	// escalates (default 3 and 3).
	CrossTargetAccounts int `yaml:"cross_target_accounts" json:"cross_target_accounts"`
	CrossTargets        int `yaml:"cross_targets" json:"cross_targets"`
}

func (s *RepeatedNarrativeSpec) Base() *Common            { return &s.Common }
func (s *RepeatedNarrativeSpec) Audience() model.Audience { return model.AudienceComms }

func (s *RepeatedNarrativeSpec) SetDefaults() {
	s.Window = yamlx.Duration(48 * time.Hour)
	s.JaccardMin = 0.6
	s.MinAccounts = 5
	s.MinTargets = 1
	s.MinChars = 25
	s.MinHanChars = 13
	s.MinHash = MinHashConfig{Bands: 30, Rows: 4}
	s.Escalate = Escalation{Severity: model.SeverityHigh, Accounts: 10, CrossTargetAccounts: 3, CrossTargets: 3}
	s.Signals = DefaultSignalConfig()
}

func (s *RepeatedNarrativeSpec) Validate(report func(key, format string, args ...any)) {
	if s.Window.D() < time.Minute {
		report("window", "must be at least 1m, got %s", s.Window)
	}
	if s.JaccardMin <= 0 || s.JaccardMin > 1 {
		report("jaccard_min", "must be in (0, 1], got %g", s.JaccardMin)
	} else if s.JaccardMin < 0.3 {
		report("jaccard_min", "%g would group unrelated replies on the same topic; use 0.5 or more", s.JaccardMin)
	}
	if s.MinAccounts < 2 {
		report("min_accounts", "must be at least 2, got %d (one account repeating itself is not a campaign)", s.MinAccounts)
	}
	if s.MinTargets < 1 {
		report("min_targets", "must be at least 1, got %d", s.MinTargets)
	}
	if s.MinNewAccountShare < 0 || s.MinNewAccountShare > 1 {
		report("min_new_account_share", "must be between 0 and 1, got %g", s.MinNewAccountShare)
	}
	if s.MinChars < 1 {
		report("min_chars", "must be at least 1, got %d", s.MinChars)
	}
	if s.MinHanChars < 1 {
		report("min_han_chars", "must be at least 1, got %d", s.MinHanChars)
	}
	if s.MinHash.Bands < 1 || s.MinHash.Bands > 64 {
		report("minhash.bands", "must be between 1 and 64, got %d", s.MinHash.Bands)
	}
	if s.MinHash.Rows < 1 || s.MinHash.Rows > 16 {
		report("minhash.rows", "must be between 1 and 16, got %d", s.MinHash.Rows)
	}
	e := s.Escalate
	if !e.Severity.Valid() {
		report("escalate.severity", "unknown severity %q (known: info, warning, high, critical)", e.Severity)
	}
	if e.Accounts < 0 {
		report("escalate.accounts", "must not be negative, got %d", e.Accounts)
	}
	if e.CrossTargetAccounts < 0 {
		report("escalate.cross_target_accounts", "must not be negative, got %d", e.CrossTargetAccounts)
	}
	if e.CrossTargets < 0 {
		report("escalate.cross_targets", "must not be negative, got %d", e.CrossTargets)
	}
	s.Signals.Validate("signals", report)
}

func (s *RepeatedNarrativeSpec) NewDetector(env Env) (Detector, error) {
	lsh := text.NewLSH(s.MinHash.Bands, s.MinHash.Rows)
	lsh.SetMaxChain(rnMaxChain)
	mh := text.NewMinHasher(lsh.SigLen(), rnSeed)
	return &rnDetector{
		spec:    *s,
		env:     env,
		prepper: &rnPrepper{spec: *s, mh: mh, lsh: text.NewLSH(s.MinHash.Bands, s.MinHash.Rows)},
		minHits: rnMinHits(s.MinHash.Bands, s.MinHash.Rows, s.JaccardMin),
		lsh:     lsh,
		mh:      mh,
		uf:      text.NewUnionFind(0),
		cache:   make(map[string]rnCached),
		big:     make(map[int32]bool),
		cids:    make(map[int32]bool),
		marks:   new(text.Marks),

		batchDup: make(map[uint64]int32),
	}, nil
}

// rnMaxChain bounds the bucket entries examined per band when a new text
// is indexed: walking all of them for each of 10,000 distinct variants of a
// campaign would make indexing quadratic. The 4 newest entries per band
// are enough: a bucket fuller than that is a band value many unrelated
// texts share (frequent shingles winning their bins) or a campaign whose
// newest copies are already one cluster, and a near-copy shares several
// bands, most of them rarer, with many earlier copies to pair with. The
// quality benchmark gives the same alerts and lags with 4, 6, 8, 16 and
// 32, and the 1M-reply benchmark the same events with 4, 6 and 8. There,
// where such buckets are many, two thirds of the entries a walk reads
// are matches: the walk and the candidates took 5.6 s of CPU with 8 (7.3
// s with 16) against 4.7 s with 4.
const rnMaxChain = 4

// rnMaxConfirm bounds the exact Jaccard checks per new text against
// candidates outside its component. Text with a small vocabulary (or
// template-made variants) can make hundreds of candidates that miss the
// threshold; the ones sharing the most bands, the likeliest near-copies,
// are tried first, and a true near-copy shares many.
const rnMaxConfirm = 16

// rnMinHits is how many bands a candidate must share with a new text to be
// checked: two where the banding leaves at least rnMinHitsRecall of the
// pairs at jaccard_min sharing two bands, else one. Most candidates share
// one band by chance (a frequent shingle winning a band's rows, Jaccard
// 0.1-0.2), and checking them was a fifth of the detector's time; a
// second band costs little recall where the bands are many (30 bands of
// 4 rows at 0.6: 0.915 instead of 0.984 for a single pair, and a campaign's
// copies are joined by many pairs), while with few bands it would lose
// most near-copies.
func rnMinHits(bands, rows int, jmin float64) int {
	p := math.Pow(jmin, float64(rows))
	b := float64(bands)
	atLeast2 := 1 - math.Pow(1-p, b) - b*p*math.Pow(1-p, b-1)
	if atLeast2 >= rnMinHitsRecall {
		return 2
	}
	return 1
}

const rnMinHitsRecall = 0.9

// rnSeed fixes the MinHash family; state holds texts, not signatures, so it
// could change without breaking saved state.
const rnSeed = 0x6d7077617463682d // "mpwatch-"

// rnDetector keeps the window as nodes: one node per distinct normalised
// text (exact copies share a node, its shingles and its LSH entry) holding
// the replies that posted it. Confirmed near-duplicate pairs are kept as a
// spanning forest of edges between nodes (an edge only when it joins two
// components, so fewer edges than nodes); clusters are its connected
// components, kept in a union-find. When replies leave the window, a
// component that lost a node is taken apart and joined again from its
// remaining edges, and the former neighbours of the freed node look for
// near-copies again, so a cluster held together by an old reply stays
// together if its newer members are near-copies of each other.
type rnDetector struct {
	spec    RepeatedNarrativeSpec
	env     Env
	prepper *rnPrepper
	// minHits is rnMinHits of the spec.
	minHits int
	lsh     *text.LSH
	mh      *text.MinHasher
	nodes   []*rnNode // by slot; nil = free
	// shLen is the size of each slot's shingle set (0 = free). The sets
	// themselves are not kept: they were a third of the detector's memory
	// (two bytes per character of every text in the window), and only
	// about one text in eight is ever compared exactly with an older one,
	// so a candidate's set is computed again from its text when needed
	// (shingles).
	shLen []uint32
	free  []int32
	spare []*rnNode // freed nodes, for newNode
	// hashes is each slot's text hash, and exact finds a slot by it.
	hashes []uint64
	exact  rnExact
	strs   nameTable // index in names
	names  []string  // targets and platforms, for rnMember
	uf     *text.UnionFind
	// Components are kept incrementally: ring links each node to the next
	// node of its component (a circular list, spliced on union), weight
	// counts a component's replies at its root, and big holds the roots
	// of components with at least min_accounts replies, the only ones an
	// evaluation looks at.
	ring   []int32
	weight []int32
	big    map[int32]bool
	isBig  []bool              // big's membership by slot, to skip map writes
	cids   map[int32]bool      // slots carrying a cluster id
	expiry []rnExpiry          // min-heap by created_at: when replies leave
	cache  map[string]rnCached // last finding per cluster id
	// build's scratch
	bscratch struct {
		members  []rnReply
		authors  map[rnWho]rnAuthor
		targets  map[string]bool
		plats    map[model.Platform]bool
		handles  map[string]bool
		seen     map[rnWho]bool  // a node's authors
		keys     map[string]bool // reply keys already listed
		sorted   []rnReply       // members in time order
		order    []int32
		profiles []model.Author
		times    []time.Time
	}

	// scratch
	scr       rnScratch
	keys      []uint32
	cand      []int32
	linkCands []rnCand
	// replies observed and not yet indexed (see flush)
	pend     []rnPending
	pendKeys []uint32
	work     []*rnWork
	rkeys    []uint32
	marks    *text.Marks // the shingles of the node being linked
	own      []uint16    // scratch: a repaired node's shingles
	other    []uint16    // scratch: a candidate's shingles
	// seq orders nodes by when they were indexed (newest candidates
	// first); nextSeq is the next one's.
	seq     []uint32
	nextSeq uint32
	// evict's scratch: stamp[slot] == epoch marks a slot seen
	touched, emptied, comp, repair []int32
	stamp                          []uint32
	epoch                          uint32
	// flush's batch tables
	slots    []int32
	addIDs   []int32
	addKeys  [][]uint32
	batchDup map[uint64]int32
	btab     []rnBatchSlot
	bnext    []int32
}

type rnNode struct {
	orig    string // first poster's original text, for evidence and restore
	members []rnMember
	// ext holds what few nodes have (near-copy edges, a cluster id): kept
	// apart, and with the text hash in the detector's hashes, the node is
	// 48 bytes instead of 128.
	ext *rnNodeExt
}

type rnNodeExt struct {
	edges []rnEdge
	// cid is the id of the firing cluster this node belonged to at the last
	// evaluation, and cidAt that cluster's window start: a cluster keeps
	// the id of its earliest member even after that member leaves the
	// window, and a merge keeps the older cluster's id.
	cid   string
	cidAt int64
}

func (n *rnNode) edges() []rnEdge {
	if n.ext == nil {
		return nil
	}
	return n.ext.edges
}

func (n *rnNode) cid() (string, int64) {
	if n.ext == nil {
		return "", 0
	}
	return n.ext.cid, n.ext.cidAt
}

func (n *rnNode) setEdges(es []rnEdge) {
	if n.ext == nil {
		if len(es) == 0 {
			return
		}
		n.ext = &rnNodeExt{}
	}
	n.ext.edges = es
	n.tidy()
}

func (n *rnNode) setCID(cid string, at int64) {
	if n.ext == nil {
		if cid == "" {
			return
		}
		n.ext = &rnNodeExt{}
	}
	n.ext.cid, n.ext.cidAt = cid, at
	n.tidy()
}

func (n *rnNode) tidy() {
	if n.ext.cid == "" && len(n.ext.edges) == 0 {
		n.ext = nil
	}
}

// rnExpiry says a reply of the node in slot was created at at; the heap
// finds the replies leaving the window without scanning all nodes.
type rnExpiry struct {
	at   int64
	slot int32
}

// rnCached is a cluster's last finding and the fingerprint of the nodes and
// replies it was built from.
type rnCached struct {
	fp uint64
	f  Finding
}

type rnEdge struct {
	to int32
	j  float32
}

// rnMember is one reply of a node as the window holds it: there is one per
// reply, so the reply key is not kept (it is platform:id, and joining it
// cost an allocation per reply) and the target and platform are indexes in
// the detector's name table rather than string headers; 136 bytes instead
// of 160 plus the key.
type rnMember struct {
	id     string // the platform's reply id, or the whole key (rnWholeKey)
	url    string
	author rnAuthor
	at     int64  // created_at, unix nanoseconds
	target uint32 // index in names
	plat   uint32 // index in names, with rnWholeKey
}

// rnWholeKey marks a member whose id is its whole reply key: restored
// state whose key did not start with its platform.
const rnWholeKey = 1 << 31

// rnReply is a member with its strings resolved, for building findings and
// saving state.
type rnReply struct {
	key      string
	text     string // the node's text (build only)
	url      string
	target   string
	platform model.Platform
	author   rnAuthor
	at       int64
}

func (d *rnDetector) reply(m *rnMember) rnReply {
	p := model.Platform(d.names[m.plat&^rnWholeKey])
	key := m.id
	if m.plat&rnWholeKey == 0 {
		key = model.ReplyKey(p, m.id)
	}
	return rnReply{key: key, url: m.url, target: d.names[m.target], platform: p, author: m.author, at: m.at}
}

// compact is reply's inverse.
func (d *rnDetector) compact(r rnReply) rnMember {
	m := rnMember{id: r.key, url: r.url, author: r.author, at: r.at,
		target: d.intern(r.target), plat: d.intern(string(r.platform))}
	if id, ok := strings.CutPrefix(r.key, string(r.platform)+":"); ok {
		m.id = id
	} else {
		m.plat |= rnWholeKey
	}
	return m
}

// rnAuthor is what evidence needs of a reply's author, kept inline: most
// organic authors post once in a window, and a shared table with counts
// cost more than the copy.
type rnAuthor struct {
	id, handle, name, url string
	created               int64 // unix nanoseconds, 0 when unknown
	followers, following  int32
	posts                 int32
	defaultAvatar         bool
}

func newRNAuthor(a model.Author) rnAuthor {
	ra := rnAuthor{id: a.ID, handle: a.Handle, name: a.Name, url: a.URL,
		followers: int32(a.Followers), following: int32(a.Following), posts: int32(a.Posts), defaultAvatar: a.DefaultAvatar}
	if a.CreatedAt != nil {
		ra.created = a.CreatedAt.UnixNano()
	}
	return ra
}

func (a rnAuthor) profile() model.Author {
	p := model.Author{ID: a.id, Handle: a.handle, Name: a.name, URL: a.url,
		Followers: int(a.followers), Following: int(a.following), Posts: int(a.posts), DefaultAvatar: a.defaultAvatar}
	if a.created != 0 {
		t := time.Unix(0, a.created).UTC()
		p.CreatedAt = &t
	}
	return p
}

// who is the member's account identity for counting distinct authors: the
// platform's account id, else the handle; an unknown author is only itself.
// rnWho is who() as a map key, without building the string: a cluster's
// evidence is rebuilt whenever it changes, and joining a string per member
// per use was most of that.
type rnWho struct {
	plat  model.Platform
	id    string // the account id, else the handle
	reply string // the reply key when both are unknown
}

func (m *rnReply) whoKey() rnWho {
	id := m.author.id
	if id == "" {
		id = m.author.handle
	}
	if id == "" {
		return rnWho{reply: m.key}
	}
	return rnWho{plat: m.platform, id: id}
}

// whoOf is d.reply(m).whoKey() without joining the reply key unless the
// author is unknown.
func (d *rnDetector) whoOf(m *rnMember) rnWho {
	id := m.author.id
	if id == "" {
		id = m.author.handle
	}
	if id == "" {
		r := d.reply(m)
		return r.whoKey()
	}
	return rnWho{plat: model.Platform(d.names[m.plat&^rnWholeKey]), id: id}
}

func (w rnWho) String() string {
	if w.reply != "" {
		return "reply:" + w.reply
	}
	return string(w.plat) + ":" + w.id
}

func (m *rnReply) who() string {
	id := m.author.id
	if id == "" {
		id = m.author.handle
	}
	if id == "" {
		return "reply:" + m.key
	}
	return string(m.platform) + ":" + id
}

func (d *rnDetector) intern(s string) uint32 {
	h := nameHash(s)
	if v, ok := nameGet(&d.strs, h, s, d.names); ok {
		return v
	}
	v := uint32(len(d.names))
	d.names = append(d.names, s)
	d.strs.put(h, s, v)
	return v
}

// rnPrepper is a rule's per-reply text work (the text's hash, shingle set
// and band keys), which depends on its parameters alone: the engine runs it
// on the goroutines that normalise replies (Preparer).
type rnPrepper struct {
	spec RepeatedNarrativeSpec
	mh   *text.MinHasher
	lsh  *text.LSH // banding only: never holds an item
	pool sync.Pool // *rnScratch
	// preps holds *rnPrep that flush has finished with. A preparation is
	// read by this rule's Observe and flush only: the item may keep
	// pointing at it (RunPipeline drops its items only once every rule
	// has seen them), but nothing reads it there again, so flush hands
	// it back rather than leave 0.42 GB per million replies to the
	// collector (the struct, its band keys and its shingles).
	preps sync.Pool
}

// rnPrep is a prepared reply; a nil *rnPrep is a text too short to compare.
type rnPrep struct {
	hash     uint64
	shingles []uint16
	keys     []uint32
}

type rnScratch struct {
	set   []uint32
	sig   []uint32
	set16 []uint16
	seen  text.Marks // Distinct16's, empty between calls
}

// work computes the shingle set (w.set16) and MinHash signature (w.sig) of
// an accent-free normalised text.
func (w *rnScratch) work(mh *text.MinHasher, folded string) {
	w.set = text.AppendShingleHashes(w.set, folded)
	w.set16 = w.seen.Distinct16(w.set, w.set16)
	w.sig = mh.Signature(w.set, w.sig)
}

func (d *rnDetector) Preparer() Preparer { return d.prepper }

func (p *rnPrepper) Prepare(it *Item) any {
	norm, ok := p.norm(it)
	if !ok {
		return (*rnPrep)(nil)
	}
	w, _ := p.pool.Get().(*rnScratch)
	if w == nil {
		w = &rnScratch{}
	}
	defer p.pool.Put(w)
	w.work(p.mh, norm.Folded)
	pr, _ := p.preps.Get().(*rnPrep)
	if pr == nil {
		pr = &rnPrep{keys: make([]uint32, 0, p.lsh.Bands())}
	}
	pr.hash = xxhash.Sum64String(norm.Text)
	// The scratch's set becomes the preparation's, and the preparation's
	// old buffer the scratch's next one: copying the set into it cost
	// 0.22 s of CPU per million replies, the buffers being cold.
	pr.shingles, w.set16 = w.set16, pr.shingles[:0]
	pr.keys = p.lsh.BandKeys(w.sig, pr.keys)
	return pr
}

// release takes back a preparation nothing reads any more.
func (p *rnPrepper) release(pr *rnPrep) { p.preps.Put(pr) }

// norm is the text compared for a reply (its own words unless keep_quoted),
// and whether it is long enough to compare.
func (p *rnPrepper) norm(it *Item) (text.Normalized, bool) {
	if !p.longEnough(it.Norm) {
		return text.Normalized{}, false
	}
	norm := it.Norm
	if !p.spec.KeepQuoted {
		if own, quoted := rnOwnWords(it.Reply.Text); quoted {
			if norm = text.Normalize(own); !p.longEnough(norm) {
				return text.Normalized{}, false
			}
		}
	}
	return norm, true
}

// longEnough applies min_chars and min_han_chars, counting a mixed text
// proportionally: latin/min_chars + han/min_han_chars >= 1.
func (p *rnPrepper) longEnough(n text.Normalized) bool {
	return n.Latin*p.spec.MinHanChars+n.Han*p.spec.MinChars >= p.spec.MinChars*p.spec.MinHanChars
}

func (d *rnDetector) Observe(it *Item) {
	r := &it.Reply
	p := rnPending{orig: r.Text}
	if v, ok := it.Prepared(d.prepper); ok {
		if p.prep = v.(*rnPrep); p.prep == nil {
			return // too short
		}
	} else {
		// not prepared: flush does the text work
		if p.norm, ok = d.prepper.norm(it); !ok {
			return
		}
	}
	p.m = d.member(r)
	d.pend = append(d.pend, p)
	if len(d.pend) >= rnBatch {
		d.flush()
	}
}

// rnBatch bounds the replies Observe holds before their text work is done.
// Small enough that most batches are indexed while the engine is still
// handing replies to the other rules (on the other cores), rather than all
// at the evaluation, when the other rules have little left to do.
const rnBatch = 256

// rnPending is an observed reply whose text work (hash, shingles, MinHash,
// band keys, the LSH walk, the exact Jaccard of its likeliest candidates) is
// not done yet. That work reads the window but does not change it, so flush
// does it for a whole batch on several goroutines, and only the updates
// (nodes, edges, components, the index) run one after another, in the
// order observed: the result is the same as handling each reply as it came.
type rnPending struct {
	prep     *rnPrep // the engine's preparation, or nil: flush does it
	norm     text.Normalized
	orig     string
	m        rnMember
	hash     uint64
	shingles []uint16 // in a worker's arena until the node is inserted
	keys     []uint32
	found    []int32 // index entries matching keys (LSH.Matches), in a worker's arena
	// dup is what the text is an exact copy of: rnNew (nothing), an index
	// slot (>= 0), or the batch's pend[-2-dup].
	dup   int32
	cands []rnCand // ordered candidates, in a worker's arena
}

const rnNew = -1

// rnCand is a candidate near-copy of a new text: a node of the index
// (ref >= 0, a slot) or a text of the same batch (pend[-1-ref]), with the
// bands it shares, its age and, once computed, the exact Jaccard.
type rnCand struct {
	ref  int32
	hits int32
	seq  uint32
	j    float32 // rnJUnknown, rnJBelow, or the exact Jaccard (>= jaccard_min)
}

const (
	rnJUnknown = -2
	rnJBelow   = -1
)

// rnPrecompute is how many of a new text's candidates flush verifies on
// the workers: the confirmation step takes at most rnMaxConfirm outside the
// new text's component, and a few more are computed for the candidates it
// will skip as already joined; the rest, rarely reached, are verified on
// the serial path.
const rnPrecompute = rnMaxConfirm + 8

// rnWork is one flush worker's scratch.
type rnWork struct {
	rnScratch
	arena  []uint16
	found  []int32
	cands  []rnCand
	walker text.LSHWalker
	hits   rnHits
	marks  text.Marks
	// a candidate's shingles, computed again
	oset  []uint32
	other []uint16
	roots []int32
	offs  []int
}

// flush indexes the pending replies. Every method that reads the window
// (Evaluate, MarshalState) flushes first.
//
// Candidates are ordered by shared bands, most first, then newest first:
// a near-copy shares many bands, and a campaign's newest copies are the
// ones its next copy most resembles. Up to rnMaxChain entries per band
// are taken, newest first, the batch's own earlier texts before the index.
func (d *rnDetector) flush() {
	pend := d.pend
	if len(pend) == 0 {
		return
	}
	bands := d.lsh.Bands()
	if need := len(pend) * bands; cap(d.pendKeys) < need {
		d.pendKeys = make([]uint32, need)
	}
	workers := min(runtime.GOMAXPROCS(0), len(pend)/32+1, 8)
	for len(d.work) < workers {
		d.work = append(d.work, &rnWork{})
	}
	// 1. Text work (unless the engine prepared it) and the walk of the
	// index as it was before the batch.
	d.spread(len(pend), workers, func(w *rnWork, lo, hi int) {
		w.arena, w.found = w.arena[:0], w.found[:0]
		// Shingle sets and matches go into arenas first and are sliced
		// once the arenas have stopped growing.
		offs := w.offs[:0]
		defer func() { w.offs = offs }()
		for i := lo; i < hi; i++ {
			p := &pend[i]
			offs = append(offs, len(w.arena), len(w.found))
			if p.prep != nil {
				p.hash, p.keys = p.prep.hash, p.prep.keys
			} else {
				p.hash = xxhash.Sum64String(p.norm.Text)
				w.work(d.mh, p.norm.Folded)
				w.arena = append(w.arena, w.set16...)
				p.keys = d.lsh.BandKeys(w.sig, d.pendKeys[i*bands:i*bands:(i+1)*bands])
			}
			// An exact copy of an indexed text needs no walk; batchBands
			// takes the slot found here rather than look it up again.
			if slot, dup := d.exact.get(p.hash, d.hashes); dup {
				p.dup = slot
			} else {
				p.dup = rnNew
				w.found = d.lsh.Matches(&w.walker, p.keys, w.found)
			}
		}
		offs = append(offs, len(w.arena), len(w.found))
		for i := lo; i < hi; i++ {
			k := 2 * (i - lo)
			if pend[i].prep != nil {
				pend[i].shingles = pend[i].prep.shingles
			} else {
				pend[i].shingles = w.arena[offs[k]:offs[k+2]:offs[k+2]]
			}
			pend[i].found = w.found[offs[k+1]:offs[k+3]:offs[k+3]]
		}
	})
	// 2. Exact copies, and the batch's own band keys: next[i*bands+b] is
	// the latest earlier new text of the batch with the same key in band b.
	next := d.batchBands(pend, bands)
	// 3. Candidates of each new text, ordered, the likeliest verified.
	base := d.nextSeq
	d.spread(len(pend), workers, func(w *rnWork, lo, hi int) {
		w.cands = w.cands[:0]
		offs := w.offs[:0]
		defer func() { w.offs = offs }()
		for i := lo; i < hi; i++ {
			offs = append(offs, len(w.cands))
			if pend[i].dup == rnNew {
				w.cands = d.candidates(w, pend, i, next, base, w.cands)
			}
		}
		offs = append(offs, len(w.cands))
		for i := lo; i < hi; i++ {
			pend[i].cands = w.cands[offs[i-lo]:offs[i-lo+1]:offs[i-lo+1]]
		}
	})
	// 4. The updates, in order.
	slots := d.slots[:0]
	for i := range pend {
		p := &pend[i]
		slot := p.dup
		if slot <= -2 {
			slot = slots[-2-slot]
		}
		if slot >= 0 {
			n := d.nodes[slot]
			n.members = append(n.members, p.m)
			d.expire(p.m.at, slot)
			d.weigh(d.uf.Find(slot), 1)
			slots = append(slots, slot)
			continue
		}
		n := d.newNode(p.orig)
		n.members = append(n.members, p.m)
		slot = d.alloc(n, len(p.shingles), p.hash)
		d.seq[slot] = base + uint32(i)
		slots = append(slots, slot)
		d.confirm(slot, p.shingles, p.cands, pend, slots)
		d.addIDs = append(d.addIDs, slot)
		d.addKeys = append(d.addKeys, p.keys)
		d.exact.put(p.hash, slot, d.hashes)
		d.expire(p.m.at, slot)
	}
	// The index takes the batch's new texts only now: confirm used the
	// candidates found before, and no walk reads the index until the next
	// batch.
	d.lsh.AddBatch(d.addIDs, d.addKeys)
	clear(d.addKeys)
	d.addIDs, d.addKeys = d.addIDs[:0], d.addKeys[:0]
	d.nextSeq = base + uint32(len(pend))
	d.slots = slots[:0]
	for i := range pend {
		if pend[i].prep != nil {
			d.prepper.release(pend[i].prep)
		}
	}
	clear(pend)
	d.pend = pend[:0]
}

// spread runs fn over [0,n) cut in contiguous parts, one per worker.
func (d *rnDetector) spread(n, workers int, fn func(w *rnWork, lo, hi int)) {
	if workers <= 1 {
		fn(d.work[0], 0, n)
		return
	}
	var wg sync.WaitGroup
	per := (n + workers - 1) / workers
	for k := 0; k < workers; k++ {
		lo, hi := k*per, min((k+1)*per, n)
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func(w *rnWork) {
			defer wg.Done()
			fn(w, lo, hi)
		}(d.work[k])
	}
	wg.Wait()
}

// batchBands finds the exact copies in a batch of an earlier text of the
// batch (flush's workers found those of indexed texts: pend[i].dup >= 0)
// and links each new text's band keys to the latest earlier new text of
// the batch sharing them, in an open-addressed table by band and key:
// next[i*bands+b] is that text, or -1.
//
// The table (16,384 entries for 256 texts of 30 bands) is cleared at
// every batch, which also brings it into the cache: with generation
// stamps instead, its probes missed and cost more than the clearing in
// the 1M-reply benchmark (0.21 s against 0.05 s). Its entries are 8 bytes
// (16 before), and the band keys, already hashes, are placed with a
// multiply rather than mixed again.
func (d *rnDetector) batchBands(pend []rnPending, bands int) []int32 {
	clear(d.batchDup)
	size := 1
	for size < 2*len(pend)*bands {
		size *= 2
	}
	// Batches come in two sizes (full ones from Observe, the rest at an
	// evaluation); the table is kept at the larger and only its first size
	// slots used, rather than made again at every change of size.
	if len(d.btab) < size {
		d.btab = make([]rnBatchSlot, size)
	}
	btab := d.btab[:size]
	clear(btab)
	mask := uint32(size - 1)
	next := slices.Grow(d.bnext[:0], len(pend)*bands)[:len(pend)*bands]
	for i := range pend {
		p := &pend[i]
		if p.dup >= 0 {
			continue
		}
		if j, ok := d.batchDup[p.hash]; ok {
			p.dup = -2 - j
			continue
		}
		d.batchDup[p.hash] = int32(i)
		p.dup = rnNew
		for b, k := range p.keys {
			h := (k + uint32(b)*0x9E3779B1) & mask
			for btab[h].ref != 0 && (btab[h].key != k || int(btab[h].band) != b) {
				h = (h + 1) & mask
			}
			next[i*bands+b] = int32(btab[h].ref) - 1
			btab[h] = rnBatchSlot{key: k, ref: int16(i + 1), band: uint8(b)}
		}
	}
	d.bnext = next
	return next
}

type rnBatchSlot struct {
	key  uint32
	ref  int16 // the latest text of the batch with key in band, + 1; 0 = empty
	band uint8 // bands <= 64 (Validate)
}

// A batch's texts (at most rnBatch) must fit rnBatchSlot.ref.
const _ = uint16(math.MaxInt16 - rnBatch)

// candidates appends pend[i]'s ordered candidates to dst, with the exact
// Jaccard of the first rnPrecompute that pass the size check.
func (d *rnDetector) candidates(w *rnWork, pend []rnPending, i int, next []int32, base uint32, dst []rnCand) []rnCand {
	p := &pend[i]
	bands := int32(len(p.keys))
	w.hits.reset()
	var taken [64]uint8 // bands <= 64 (Validate)
	for b := range p.keys {
		for j := next[i*int(bands)+b]; j >= 0 && int(taken[b]) < rnMaxChain; j = next[int(j)*int(bands)+b] {
			w.hits.add(-1 - j)
			taken[b]++
		}
	}
	for _, e := range p.found {
		if b := e % bands; int(taken[b]) < rnMaxChain {
			w.hits.add(e / bands)
			taken[b]++
		}
	}
	start := len(dst)
	for _, u := range w.hits.used {
		h := w.hits.tab[u]
		if int(h.hits) < d.minHits {
			continue
		}
		c := rnCand{ref: h.id, hits: h.hits, j: rnJUnknown}
		if c.ref >= 0 {
			c.seq = d.seq[c.ref]
		} else {
			c.seq = base + uint32(-1-c.ref)
		}
		dst = append(dst, c)
	}
	cs := dst[start:]
	rnOrder(cs)
	// Verify the likeliest first. Only the first candidate of a component
	// that reaches the threshold joins the new text to it (confirm skips
	// the rest as already joined), so at most two per component are
	// verified here: computing a candidate's shingles again costs about
	// as much as the new text's own.
	la := len(p.shingles)
	marked := false
	w.roots = w.roots[:0]
	done := 0
	for k := range cs {
		if done == rnPrecompute {
			break
		}
		var sb []uint16
		if r := cs[k].ref; r >= 0 {
			if !rnSizesMeet(la, int(d.shLen[r]), d.spec.JaccardMin) {
				cs[k].j = rnJBelow
				continue
			}
			root, seen := d.uf.Root(r), 0
			for _, x := range w.roots {
				if x == root {
					seen++
				}
			}
			if seen == 2 {
				continue
			}
			w.roots = append(w.roots, root)
			w.other = d.shingles(r, &w.oset, &w.seen, w.other)
			sb = w.other
		} else {
			sb = pend[-1-r].shingles
		}
		if !marked {
			w.marks.Mark(p.shingles)
			marked = true
		}
		cs[k].j = rnJaccard(&w.marks, la, sb, d.spec.JaccardMin)
		done++
	}
	if marked {
		w.marks.Unmark(p.shingles)
	}
	return dst
}

// rnOrder sorts candidates by shared bands, most first, then newest first.
func rnOrder(cs []rnCand) {
	if len(cs) < 2 {
		return
	}
	slices.SortFunc(cs, func(a, b rnCand) int {
		if a.hits != b.hits {
			return int(b.hits - a.hits)
		}
		return int(int32(b.seq - a.seq)) // wraps safely: seqs in a window are close
	})
}

// rnJaccard is the exact Jaccard similarity of the marked set (of la
// elements) and sb when it reaches jmin, else rnJBelow. Sets of very
// different sizes cannot reach it (|A∩B|/|A∪B| <= min/max), and most
// pairs that miss it show so early in the count.
func rnJaccard(marks *text.Marks, la int, sb []uint16, jmin float64) float32 {
	lb := len(sb)
	if !rnSizesMeet(la, lb, jmin) {
		return rnJBelow
	}
	inter, ok := marks.CommonAtLeast(sb, rnNeed(la, lb, jmin))
	if !ok {
		return rnJBelow
	}
	j := float64(inter) / float64(la+lb-inter)
	if j < jmin {
		return rnJBelow
	}
	return float32(j)
}

// rnHits counts the bands each candidate shares with a query, in an open
// addressed table as small as one query's candidates (it stays in cache).
type rnHits struct {
	tab  []rnHit
	used []int32
}

type rnHit struct {
	id   int32
	hits int32
	live bool
}

func (h *rnHits) reset() {
	for _, u := range h.used {
		h.tab[u].live = false
	}
	h.used = h.used[:0]
}

func (h *rnHits) add(id int32) {
	if 2*(len(h.used)+1) > len(h.tab) {
		old := h.tab
		h.tab = make([]rnHit, max(2*len(old), 128))
		used := h.used
		h.used = nil
		for _, u := range used {
			o := old[u]
			for n := o.hits; n > 0; n-- {
				h.add(o.id)
			}
		}
	}
	mask := uint32(len(h.tab) - 1)
	for i := uint32(id) * 0x9E3779B1 >> 7 & mask; ; i = (i + 1) & mask {
		e := &h.tab[i]
		if !e.live {
			*e = rnHit{id: id, hits: 1, live: true}
			h.used = append(h.used, int32(i))
			return
		}
		if e.id == id {
			e.hits++
			return
		}
	}
}

// normOf is what Observe compares for a reply text, for restoring state.
func (d *rnDetector) normOf(orig string) text.Normalized {
	if !d.spec.KeepQuoted {
		if own, quoted := rnOwnWords(orig); quoted {
			return text.Normalize(own)
		}
	}
	return text.Normalize(orig)
}

// rnOwnWords removes retweeted and quoted text: a leading "RT @user: …" or
// "MT @user: …" (a modified retweet) is all someone else's; "comment RT
// @user: …" keeps the comment; a quote "“@user: …”" (or with straight
// quotes) is cut out.
func rnOwnWords(s string) (string, bool) {
	if strings.IndexByte(s, '@') < 0 {
		return s, false // every form below names the quoted account
	}
	t := strings.TrimSpace(s)
	for _, p := range []string{"RT @", "RT: @", "rt @", "MT @", "MT: @"} {
		if strings.HasPrefix(t, p) {
			return "", true
		}
	}
	cut := -1
	for _, sep := range []string{" RT @", " MT @"} {
		if i := strings.Index(t, sep); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	if cut >= 0 {
		return t[:cut], true
	}
	for _, q := range [][2]string{{"“@", "”"}, {"\"@", "\""}} {
		i := strings.Index(t, q[0])
		if i < 0 {
			continue
		}
		j := strings.Index(t[i+len(q[0]):], q[1])
		if j < 0 {
			return t[:i], true
		}
		return t[:i] + " " + t[i+len(q[0])+j+len(q[1]):], true
	}
	return s, false
}

func (d *rnDetector) member(r *model.Reply) rnMember {
	return rnMember{
		id:     r.ID,
		url:    r.URL,
		target: d.intern(r.Target),
		plat:   d.intern(string(r.Platform)),
		author: newRNAuthor(r.Author),
		at:     r.CreatedAt.UnixNano(),
	}
}

// expire records when a reply of slot leaves the window (heap push).
func (d *rnDetector) expire(at int64, slot int32) {
	d.expiry = append(d.expiry, rnExpiry{at, slot})
	h := d.expiry
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if h[p].at <= h[i].at {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

// popExpired removes and returns the slot of the earliest reply created
// before cutoff, or -1.
func (d *rnDetector) popExpired(cutoff int64) int32 {
	h := d.expiry
	if len(h) == 0 || h[0].at >= cutoff {
		return -1
	}
	slot := h[0].slot
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h) && h[l].at < h[m].at {
			m = l
		}
		if r < len(h) && h[r].at < h[m].at {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	d.expiry = h
	return slot
}

// insert indexes a new node for the text whose accent-free form is folded.
func (d *rnDetector) insert(n *rnNode, hash uint64, folded string) {
	d.scr.work(d.mh, folded)
	d.keys = d.lsh.BandKeys(d.scr.sig, d.keys)
	d.index(n, hash, d.scr.set16, d.keys)
}

// index adds a node with its text hash and shingle set under its band keys.
func (d *rnDetector) index(n *rnNode, hash uint64, sh []uint16, keys []uint32) {
	slot := d.alloc(n, len(sh), hash)
	d.seq[slot] = d.nextSeq
	d.nextSeq++
	d.link(slot, sh, keys)
	d.lsh.Add(slot, keys)
	d.exact.put(hash, slot, d.hashes)
	for _, m := range n.members {
		d.expire(m.at, slot)
	}
}

// newNode returns an empty node for the text orig, one that evict freed
// if any: nodes were 0.21 GB of the 0.38 GB flush allocated per million
// replies.
func (d *rnDetector) newNode(orig string) *rnNode {
	if k := len(d.spare); k > 0 {
		n := d.spare[k-1]
		d.spare[k-1] = nil
		d.spare = d.spare[:k-1]
		n.orig = orig
		return n
	}
	return &rnNode{orig: orig}
}

// rnSpareMembers is the largest members capacity a freed node keeps for
// its next text: most nodes hold one reply, and a campaign's big slice
// would sit unused under a singleton.
const rnSpareMembers = 4

// recycle keeps a node evict freed (no members left) for newNode.
func (d *rnDetector) recycle(n *rnNode) {
	n.orig, n.ext = "", nil
	if cap(n.members) > rnSpareMembers {
		n.members = nil
	}
	n.members = n.members[:0]
	d.spare = append(d.spare, n)
}

func (d *rnDetector) alloc(n *rnNode, shLen int, hash uint64) int32 {
	var slot int32
	if k := len(d.free); k > 0 {
		slot = d.free[k-1]
		d.free = d.free[:k-1]
		d.nodes[slot] = n
		d.shLen[slot] = uint32(shLen)
		d.uf.MakeSet(slot) // its old component was rebuilt without it
	} else {
		slot = int32(len(d.nodes))
		d.nodes = append(d.nodes, n)
		d.shLen = append(d.shLen, uint32(shLen))
		d.hashes = append(d.hashes, 0)
		d.uf.Grow(len(d.nodes))
		d.ring = append(d.ring, 0)
		d.weight = append(d.weight, 0)
		d.isBig = append(d.isBig, false)
		d.seq = append(d.seq, 0)
	}
	d.hashes[slot] = hash
	d.ring[slot] = slot
	d.weight[slot] = 0
	d.weigh(slot, len(n.members))
	return slot
}

// link joins a node already in the index (or about to be added) to the
// near-copies among its LSH candidates: a node that lost the neighbour it
// was joined through, and restored state. own is its shingle set.
func (d *rnDetector) link(slot int32, own []uint16, keys []uint32) {
	d.cand = d.lsh.Candidates(keys, d.cand)
	cs := d.linkCands[:0]
	for _, c := range d.cand {
		if h := d.lsh.Hits(c); h >= d.minHits && c != slot {
			cs = append(cs, rnCand{ref: c, hits: int32(h), seq: d.seq[c], j: rnJUnknown})
		}
	}
	rnOrder(cs)
	d.confirm(slot, own, cs, nil, nil)
	d.linkCands = cs
}

// confirm joins slot's node (whose shingle set is own) to its ordered
// candidates that reach jaccard_min: at most rnMaxConfirm outside its
// component are verified. An edge is kept only when it merges two
// components, so edges stay fewer than nodes however dense a cluster is.
// pend and batch are the batch's texts and their slots.
func (d *rnDetector) confirm(slot int32, own []uint16, cands []rnCand, pend []rnPending, batch []int32) {
	n := d.nodes[slot]
	la := len(own)
	confirmed, marked := 0, false
	for k := range cands {
		c := cands[k].ref
		if c < 0 {
			c = batch[-1-c]
		}
		if c == slot || d.nodes[c] == nil {
			continue
		}
		if d.uf.Find(c) == d.uf.Find(slot) {
			continue
		}
		if confirmed++; confirmed > rnMaxConfirm {
			break
		}
		j := cands[k].j
		if j == rnJUnknown && !rnSizesMeet(la, int(d.shLen[c]), d.spec.JaccardMin) {
			j = rnJBelow
		}
		if j == rnJUnknown {
			var sb []uint16
			if r := cands[k].ref; r < 0 {
				sb = pend[-1-r].shingles
			} else {
				d.other = d.shingles(c, &d.scr.set, &d.scr.seen, d.other)
				sb = d.other
			}
			if !marked {
				d.marks.Mark(own)
				marked = true
			}
			j = rnJaccard(d.marks, la, sb, d.spec.JaccardMin)
		}
		if j < 0 {
			continue
		}
		d.union(slot, c)
		n.setEdges(append(n.edges(), rnEdge{to: c, j: j}))
		o := d.nodes[c]
		o.setEdges(append(o.edges(), rnEdge{to: slot, j: j}))
	}
	if marked {
		d.marks.Unmark(own)
	}
}

// shingles computes the shingle set of slot's text again, into buf (set
// and seen are scratch): the same set flush computed when the text
// arrived, since the text is normalised the same way.
func (d *rnDetector) shingles(slot int32, set *[]uint32, seen *text.Marks, buf []uint16) []uint16 {
	*set = text.AppendShingleHashes(*set, d.normOf(d.nodes[slot].orig).Folded)
	return seen.Distinct16(*set, buf)
}

// rnSizesMeet reports whether sets of la and lb elements can reach jmin:
// |A∩B|/|A∪B| <= min/max.
func rnSizesMeet(la, lb int, jmin float64) bool {
	return float64(min(la, lb)) >= jmin*float64(max(la, lb))
}

// rnNeed is the fewest common shingles two sets of la and lb elements need
// for their Jaccard similarity, computed as link computes it, to reach jmin:
// inter/(la+lb-inter) grows with inter, so the pairs that reach jmin are
// exactly those with at least this many.
func rnNeed(la, lb int, jmin float64) int {
	sum := la + lb
	need := max(int(math.Ceil(jmin*float64(sum)/(1+jmin))), 1)
	for need > 1 && float64(need-1)/float64(sum-need+1) >= jmin {
		need--
	}
	for need < sum && float64(need)/float64(sum-need) < jmin {
		need++
	}
	return need
}

// union joins the components of a and b, keeping rings and weights.
func (d *rnDetector) union(a, b int32) {
	ra, rb := d.uf.Find(a), d.uf.Find(b)
	if ra == rb {
		return
	}
	d.uf.Union(ra, rb)
	root := d.uf.Find(ra)
	w := d.weight[ra] + d.weight[rb]
	d.ring[a], d.ring[b] = d.ring[b], d.ring[a] // splice the two cycles
	d.unbig(ra)
	d.unbig(rb)
	d.weight[root] = 0
	d.weigh(root, int(w))
}

func (d *rnDetector) unbig(root int32) {
	if d.isBig[root] {
		d.isBig[root] = false
		delete(d.big, root)
	}
}

// weigh adds delta replies to the component rooted at root.
func (d *rnDetector) weigh(root int32, delta int) {
	d.weight[root] += int32(delta)
	if int(d.weight[root]) < d.spec.MinAccounts {
		d.unbig(root)
	} else if !d.isBig[root] {
		d.isBig[root] = true
		d.big[root] = true
	}
}

// component lists the slots of slot's component.
func (d *rnDetector) component(slot int32, dst []int32) []int32 {
	dst = append(dst[:0], slot)
	for s := d.ring[slot]; s != slot; s = d.ring[s] {
		dst = append(dst, s)
	}
	return dst
}

// evict drops replies created before cutoff, frees emptied nodes and
// re-links the nodes that were joined through them.
func (d *rnDetector) evict(cutoff int64) {
	touched := d.touched[:0]
	defer func() { d.touched = touched[:0] }()
	for {
		slot := d.popExpired(cutoff)
		if slot < 0 {
			break
		}
		touched = append(touched, slot)
	}
	slices.Sort(touched)
	touched = slices.Compact(touched)
	emptied := d.emptied[:0]
	defer func() { d.emptied = emptied[:0] }()
	for _, slot := range touched {
		n := d.nodes[slot]
		if n == nil {
			continue
		}
		kept := n.members[:0]
		for _, m := range n.members {
			if m.at >= cutoff {
				kept = append(kept, m)
			}
		}
		removed := len(n.members) - len(kept)
		clear(n.members[len(kept):])
		n.members = kept
		d.weigh(d.uf.Find(slot), -removed)
		if len(kept) == 0 {
			emptied = append(emptied, slot)
		}
	}
	if len(emptied) == 0 {
		return
	}
	// A union-find cannot delete, so each component that lost a node is
	// taken apart and joined again from its remaining edges; components
	// untouched by the eviction keep their structure.
	comp, repair := d.comp[:0], d.repair[:0]
	defer func() { d.comp, d.repair = comp[:0], repair[:0] }()
	// A slot is seen when stamp[slot] is this eviction's epoch.
	d.epoch++
	if d.epoch == 0 {
		clear(d.stamp)
		d.epoch = 1
	}
	if len(d.stamp) < len(d.nodes) {
		d.stamp = append(d.stamp, make([]uint32, len(d.nodes)-len(d.stamp))...)
	}
	for _, slot := range emptied {
		if d.stamp[slot] == d.epoch {
			continue
		}
		comp = d.component(slot, comp)
		d.unbig(d.uf.Find(slot))
		for _, s := range comp {
			d.stamp[s] = d.epoch
		}
		for _, s := range comp {
			n := d.nodes[s]
			if len(n.members) > 0 {
				continue
			}
			for _, e := range n.edges() {
				o := d.nodes[e.to]
				o.setEdges(slices.DeleteFunc(o.edges(), func(x rnEdge) bool { return x.to == s }))
				repair = append(repair, e.to)
			}
			n.setEdges(nil)
		}
		for _, s := range comp {
			d.uf.MakeSet(s)
			d.ring[s] = s
			d.weight[s] = int32(len(d.nodes[s].members))
		}
		for _, s := range comp {
			n := d.nodes[s]
			if len(n.members) == 0 {
				d.lsh.Remove(s)
				d.exact.del(d.hashes[s], s)
				delete(d.cids, s)
				d.nodes[s] = nil
				d.recycle(n)
				d.shLen[s] = 0
				d.free = append(d.free, s)
				continue
			}
			d.weigh(s, 0)
		}
		for _, s := range comp {
			if n := d.nodes[s]; n != nil {
				for _, e := range n.edges() {
					d.union(s, e.to)
				}
			}
		}
	}
	for _, slot := range repair {
		if d.nodes[slot] == nil {
			continue
		}
		d.rkeys = d.lsh.Keys(slot, d.rkeys)
		d.own = d.shingles(slot, &d.scr.set, &d.scr.seen, d.own)
		d.link(slot, d.own, d.rkeys)
	}
}

func (d *rnDetector) Evaluate(now time.Time) []Finding {
	d.flush()
	d.evict(now.Add(-d.spec.Window.D()).UnixNano())
	// Only components with enough replies can fire.
	comps := map[int32][]int32{}
	for root := range d.big {
		comps[root] = d.component(root, nil)
	}
	// Nodes of a cluster that fired before and no longer can lose its id.
	for s := range d.cids {
		if n := d.nodes[s]; n == nil || !d.isBig[d.uf.Find(s)] {
			if n != nil {
				n.setCID("", 0)
			}
			delete(d.cids, s)
		}
	}
	var out []Finding
	for _, slots := range comps {
		f, ok := d.finding(slots, now)
		if !ok {
			d.setCID(slots, "", 0)
			continue
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Scope < out[j].Scope })
	live := map[string]bool{}
	for _, f := range out {
		live[strings.TrimPrefix(f.Scope, "cluster:")] = true
	}
	for cid := range d.cache {
		if !live[cid] {
			delete(d.cache, cid)
		}
	}
	return out
}

func (d *rnDetector) setCID(slots []int32, cid string, at int64) {
	for _, s := range slots {
		d.nodes[s].setCID(cid, at)
		if cid == "" {
			delete(d.cids, s)
		} else {
			d.cids[s] = true
		}
	}
}

func (d *rnDetector) finding(slots []int32, now time.Time) (Finding, bool) {
	// An unchanged firing cluster (same nodes, same replies) gives the
	// same finding: reuse it rather than rebuild the evidence at every step.
	fp := uint64(len(slots))
	oldCID, oldAt := "", int64(0)
	for _, s := range slots {
		n := d.nodes[s]
		fp ^= rnMix(uint64(s)<<32 ^ uint64(len(n.members)) ^ uint64(n.members[0].at)*0x9E3779B97F4A7C15 ^ uint64(n.members[len(n.members)-1].at))
		if c, at := n.cid(); c != "" && (oldCID == "" || at < oldAt || at == oldAt && c < oldCID) {
			oldCID, oldAt = c, at
		}
	}
	if c, ok := d.cache[oldCID]; ok && oldCID != "" && c.fp == fp {
		d.setCID(slots, oldCID, oldAt)
		return c.f, true
	}
	f, ok := d.build(slots, now)
	if ok {
		d.cache[strings.TrimPrefix(f.Scope, "cluster:")] = rnCached{fp: fp, f: f}
	}
	return f, ok
}

// build computes a cluster's finding from its nodes.
func (d *rnDetector) build(slots []int32, now time.Time) (Finding, bool) {
	// A growing campaign's cluster is built again at every evaluation: its
	// scratch is kept (b), rather than allocated per member each time
	// (about half a gigabyte per million replies in the benchmark).
	b := &d.bscratch
	if b.authors == nil {
		b.authors, b.targets, b.plats, b.handles = map[rnWho]rnAuthor{}, map[string]bool{}, map[model.Platform]bool{}, map[string]bool{}
		b.seen, b.keys = map[rnWho]bool{}, map[string]bool{}
	}
	clear(b.authors)
	clear(b.targets)
	clear(b.plats)
	clear(b.handles)
	clear(b.members)
	var (
		members = b.members[:0]
		authors = b.authors // who -> profile
		targets = b.targets
		plats   = b.plats
	)
	defer func() { b.members = members }()
	for _, s := range slots {
		for i := range d.nodes[s].members {
			m := d.reply(&d.nodes[s].members[i])
			m.text = d.nodes[s].orig
			members = append(members, m)
			authors[m.whoKey()] = m.author
			targets[m.target] = true
			plats[m.platform] = true
		}
	}
	if len(authors) < d.spec.MinAccounts || len(targets) < d.spec.MinTargets {
		return Finding{}, false
	}
	handles := b.handles
	profiles := b.profiles[:0]
	defer func() { clear(profiles); b.profiles = profiles }()
	for who, a := range authors {
		h := a.handle
		if h == "" {
			h = who.String()
		}
		handles[h] = true
		profiles = append(profiles, a.profile())
	}
	times := b.times[:0]
	for _, m := range members {
		times = append(times, time.Unix(0, m.at))
	}
	b.times = times
	sig := ComputeSignals(profiles, times, now, d.spec.Signals)
	if d.spec.MinNewAccountShare > 0 && sig.NewAccountShare < d.spec.MinNewAccountShare {
		return Finding{}, false
	}
	// The members are ordered through their indexes: swapping the
	// 170-byte replies themselves was a third of build. slices.SortFunc
	// runs the same pattern-defeating quicksort as sort.Slice (one
	// template), and its choices depend only on the comparisons, so ties
	// land where sorting the replies with sort.Slice put them.
	order := b.order[:0]
	for i := range members {
		order = append(order, int32(i))
	}
	slices.SortFunc(order, func(x, y int32) int {
		a, b := &members[x], &members[y]
		if a.at != b.at {
			return cmp.Compare(a.at, b.at)
		}
		return strings.Compare(a.key, b.key)
	})
	b.order = order
	sorted := b.sorted[:0]
	for _, i := range order {
		sorted = append(sorted, members[i])
	}
	members, b.sorted = sorted, members
	clear(b.sorted)
	first, last := members[0], members[len(members)-1]

	// The cluster keeps the oldest id any of its nodes carried; a new
	// cluster is named after its earliest reply.
	cid, cidAt := "", int64(0)
	for _, s := range slots {
		n := d.nodes[s]
		if c, at := n.cid(); c != "" && (cid == "" || at < cidAt || at == cidAt && c < cid) {
			cid, cidAt = c, at
		}
	}
	if cid == "" {
		cid = first.key
		cidAt = time.Unix(0, first.at).UTC().Truncate(time.Hour).UnixNano()
	}
	d.setCID(slots, cid, cidAt)

	// Representative: the text posted by the most distinct accounts.
	rep, repAuthors := slots[0], -1
	seen := b.seen
	for _, s := range slots {
		clear(seen)
		for i := range d.nodes[s].members {
			seen[d.whoOf(&d.nodes[s].members[i])] = true
		}
		if len(seen) > repAuthors || len(seen) == repAuthors && d.nodes[s].members[0].at < d.nodes[rep].members[0].at {
			rep, repAuthors = s, len(seen)
		}
	}
	var simSum float64
	repSet := d.shingles(rep, &d.scr.set, &d.scr.seen, nil)
	d.marks.Mark(repSet)
	for _, s := range slots {
		j := 1.0
		if s != rep {
			d.other = d.shingles(s, &d.scr.set, &d.scr.seen, d.other)
			j = d.marks.JaccardMarked(repSet, d.other)
		}
		simSum += j * float64(len(d.nodes[s].members))
	}
	d.marks.Unmark(repSet)

	f := Finding{
		Scope:       "cluster:" + cid,
		WindowStart: time.Unix(0, cidAt).UTC(),
		WindowEnd:   time.Unix(0, last.at).UTC(),
		Size:        float64(len(authors)),
		Targets:     textSortedKeys(targets),
		Metrics:     map[string]float64{},
	}
	for p := range plats {
		f.Platforms = append(f.Platforms, p)
	}
	slices.Sort(f.Platforms)
	f.Accounts = textSortedKeys(handles)
	seenKey := b.keys
	clear(seenKey)
	f.ReplyIDs = make([]string, 0, len(members))
	for _, m := range members {
		if !seenKey[m.key] {
			seenKey[m.key] = true
			f.ReplyIDs = append(f.ReplyIDs, m.key)
		}
	}
	clear(seenKey)
	span := time.Duration(last.at - first.at)
	f.Metrics["accounts"] = float64(len(authors))
	f.Metrics["replies"] = float64(len(f.ReplyIDs))
	f.Metrics["targets"] = float64(len(targets))
	f.Metrics["platforms"] = float64(len(plats))
	f.Metrics["mean_jaccard"] = textRound(simSum/float64(len(members)), 3)
	f.Metrics["span_seconds"] = span.Seconds()
	f.Metrics["exact_copies"] = float64(len(d.nodes[rep].members))

	e := d.spec.Escalate
	if e.Accounts > 0 && len(authors) >= e.Accounts ||
		e.CrossTargets > 0 && e.CrossTargetAccounts > 0 && len(authors) >= e.CrossTargetAccounts && len(targets) >= e.CrossTargets {
		f.Severity = e.Severity
	}
	repText := textClip(d.nodes[rep].orig, 280)
	f.Summary = fmt.Sprintf("%d accounts posted the same narrative to %s within %s: \"%s\"",
		len(authors), textTargets(d.env, f.Targets), textSpan(span), textClip(d.nodes[rep].orig, 120))
	f.Evidence = model.Evidence{
		Reason:         f.Summary,
		Count:          float64(len(f.ReplyIDs)),
		Representative: repText,
		Samples:        d.samples(members),
		Signals:        &sig,
	}
	return f, true
}

// samples picks up to five replies by different authors, spreading over
// targets first, in time order.
func (d *rnDetector) samples(members []rnReply) []model.Sample {
	const want = 5
	var picked []rnReply
	usedA := map[rnWho]bool{}
	usedT := map[string]bool{}
	for pass := 0; pass < 2 && len(picked) < want; pass++ {
		for _, m := range members {
			if len(picked) == want {
				break
			}
			if usedA[m.whoKey()] || pass == 0 && usedT[m.target] {
				continue
			}
			usedA[m.whoKey()], usedT[m.target] = true, true
			picked = append(picked, m)
		}
	}
	sort.Slice(picked, func(i, j int) bool { return picked[i].at < picked[j].at })
	out := make([]model.Sample, 0, len(picked))
	for _, m := range picked {
		author := m.author.handle
		if author == "" {
			author = m.author.name
		}
		if author == "" {
			author = m.author.id
		}
		out = append(out, model.Sample{
			ReplyKey:  m.key,
			Platform:  m.platform,
			Target:    m.target,
			URL:       m.url,
			Author:    author,
			AuthorURL: m.author.url,
			Text:      textClip(m.text, 280),
			CreatedAt: time.Unix(0, m.at).UTC(),
		})
	}
	return out
}

// textTargets names the targets in a summary: the name of a single target,
// else how many.
func textTargets(env Env, ids []string) string {
	if len(ids) == 1 {
		if t, ok := env.Targets[ids[0]]; ok && t.Name != "" {
			return t.Name
		}
		return ids[0]
	}
	return fmt.Sprintf("%d MPs", len(ids))
}

// textSpan writes a duration the way the summary reads: "40m", "6h", "2d".
func textSpan(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "1m"
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()+0.5))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()+0.5))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24+0.5))
}

// textClip prepares a reply's original text for display: invisible
// characters (zero-width, bidi controls, variation selectors, tags) are
// dropped, since they only hide copies from byte comparison and break some
// renderers, whitespace is collapsed, and the result is cut to at most n
// runes with an ellipsis. Homoglyphs and emoji stay: they are the text as
// posted. Escaping for each sink is the sink's job.
func textClip(s string, n int) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	runes := 0
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Cf, r), r >= 0xFE00 && r <= 0xFE0F, r >= 0xE0100 && r <= 0xE01EF:
			continue
		case unicode.IsSpace(r) || unicode.IsControl(r):
			space = b.Len() > 0
			continue
		}
		if runes >= n-1 {
			// One more rune would need the ellipsis's place.
			b.WriteString("…")
			return b.String()
		}
		if space {
			b.WriteByte(' ')
			runes++
			space = false
		}
		b.WriteRune(r)
		runes++
	}
	return b.String()
}

func textRound(x float64, digits int) float64 {
	p := 1.0
	for range digits {
		p *= 10
	}
	if x < 0 {
		return -float64(int64(-x*p+0.5)) / p
	}
	return float64(int64(x*p+0.5)) / p
}

func textSortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// rnState is the saved window: original texts and replies, not shingles or
// signatures, so a restart normalises and indexes again (and may change the
// banding) without losing open clusters or their ids.
type rnState struct {
	Version int             `json:"version"`
	Authors []rnStateAuthor `json:"authors"`
	Nodes   []rnStateNode   `json:"nodes"`
}

type rnStateAuthor struct {
	ID     string       `json:"id"`
	Author model.Author `json:"author"`
}

type rnStateNode struct {
	Orig    string          `json:"orig"` // normalised again on restore
	CID     string          `json:"cid,omitempty"`
	CIDAt   int64           `json:"cid_at,omitempty"`
	Members []rnStateMember `json:"members"`
}

type rnStateMember struct {
	Key      string         `json:"k"`
	URL      string         `json:"u,omitempty"`
	Target   string         `json:"t"`
	Platform model.Platform `json:"p"`
	Author   int            `json:"a"` // index in Authors
	At       int64          `json:"at"`
}

func (d *rnDetector) MarshalState() ([]byte, error) {
	d.flush()
	st := rnState{Version: 1}
	aidx := map[string]int{} // who -> index in st.Authors
	for _, n := range d.nodes {
		if n == nil {
			continue
		}
		c, at := n.cid()
		sn := rnStateNode{Orig: n.orig, CID: c, CIDAt: at}
		for k := range n.members {
			m := d.reply(&n.members[k])
			who := m.who()
			i, ok := aidx[who]
			if !ok {
				i = len(st.Authors)
				aidx[who] = i
				st.Authors = append(st.Authors, rnStateAuthor{ID: who, Author: m.author.profile()})
			}
			sn.Members = append(sn.Members, rnStateMember{Key: m.key, URL: m.url, Target: m.target, Platform: m.platform, Author: i, At: m.at})
		}
		st.Nodes = append(st.Nodes, sn)
	}
	b, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("marshal repeated_narrative state: %w", err)
	}
	return b, nil
}

func (d *rnDetector) UnmarshalState(b []byte) error {
	var st rnState
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("unmarshal repeated_narrative state: %w", err)
	}
	if st.Version != 1 {
		return fmt.Errorf("unmarshal repeated_narrative state: unknown version %d", st.Version)
	}
	fresh, _ := d.spec.NewDetector(d.env)
	prepper := d.prepper // the engine holds it (Preparer)
	*d = *fresh.(*rnDetector)
	d.prepper = prepper
	authors := make([]rnAuthor, len(st.Authors))
	for i, a := range st.Authors {
		authors[i] = newRNAuthor(a.Author)
	}
	for _, sn := range st.Nodes {
		norm := d.normOf(sn.Orig)
		hash := xxhash.Sum64String(norm.Text)
		n := &rnNode{orig: sn.Orig}
		n.setCID(sn.CID, sn.CIDAt)
		for _, sm := range sn.Members {
			if sm.Author < 0 || sm.Author >= len(authors) {
				return fmt.Errorf("unmarshal repeated_narrative state: member %s names author %d of %d", sm.Key, sm.Author, len(authors))
			}
			a := authors[sm.Author]
			n.members = append(n.members, d.compact(rnReply{key: sm.Key, url: sm.URL, target: sm.Target, platform: sm.Platform, author: a, at: sm.At}))
		}
		if len(n.members) == 0 {
			continue
		}
		if slot, dup := d.exact.get(hash, d.hashes); dup {
			// Saved by a normaliser that told the texts apart.
			d.nodes[slot].members = append(d.nodes[slot].members, n.members...)
			for _, m := range n.members {
				d.expire(m.at, slot)
			}
			d.weigh(d.uf.Find(slot), len(n.members))
			continue
		}
		d.insert(n, hash, norm.Folded)
	}
	return nil
}

// rnMix is the splitmix64 finaliser, for fingerprints.
func rnMix(z uint64) uint64 {
	z += 0x9E3779B97F4A7C15
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}

// rnExact finds the node of a text by its hash: an open-addressed table
// (linear probing, deletion by backward shift) of 8-byte entries holding
// the hash's upper half, which also places the entry, and the slot; a
// matching entry is confirmed against the slot's full hash. It replaced a
// map[uint64]int32 whose lookups (by the flush workers and batchBands),
// inserts and deletes took 0.74 s of CPU in the 1M-reply benchmark, most
// of it cache misses in the map's groups.
type rnExact struct {
	tab []rnExactEntry // a power of two, at most half full
	n   int
}

type rnExactEntry struct {
	tag uint32 // hash >> 32
	ref int32  // slot + 1; 0 = empty
}

// get returns the slot whose hash (in hashes) is h. It only reads, so the
// flush workers call it side by side.
func (x *rnExact) get(h uint64, hashes []uint64) (int32, bool) {
	if x.n == 0 {
		return -1, false
	}
	tag := uint32(h >> 32)
	mask := uint32(len(x.tab) - 1)
	for i := tag & mask; ; i = (i + 1) & mask {
		e := x.tab[i]
		if e.ref == 0 {
			return -1, false
		}
		if e.tag == tag && hashes[e.ref-1] == h {
			return e.ref - 1, true
		}
	}
}

// put maps h to slot (hashes[slot] must already be h), replacing the slot
// of an equal hash.
func (x *rnExact) put(h uint64, slot int32, hashes []uint64) {
	if 2*(x.n+1) > len(x.tab) {
		x.grow()
	}
	tag := uint32(h >> 32)
	mask := uint32(len(x.tab) - 1)
	for i := tag & mask; ; i = (i + 1) & mask {
		e := &x.tab[i]
		if e.ref == 0 {
			*e = rnExactEntry{tag: tag, ref: slot + 1}
			x.n++
			return
		}
		if e.tag == tag && hashes[e.ref-1] == h {
			e.ref = slot + 1
			return
		}
	}
}

// del removes slot, whose hash is h, if the table maps h to it.
func (x *rnExact) del(h uint64, slot int32) {
	if x.n == 0 {
		return
	}
	tag := uint32(h >> 32)
	mask := uint32(len(x.tab) - 1)
	i := tag & mask
	for ; ; i = (i + 1) & mask {
		e := x.tab[i]
		if e.ref == 0 {
			return
		}
		if e.ref == slot+1 {
			break
		}
	}
	// Move back each following entry of the run that may sit at i: one
	// whose home is not cyclically in (i, j].
	for j := i; ; {
		j = (j + 1) & mask
		e := x.tab[j]
		if e.ref == 0 {
			break
		}
		if (j-e.tag)&mask >= (j-i)&mask {
			x.tab[i] = e
			i = j
		}
	}
	x.tab[i] = rnExactEntry{}
	x.n--
}

func (x *rnExact) grow() {
	old := x.tab
	x.tab = make([]rnExactEntry, max(2*len(old), 1024))
	mask := uint32(len(x.tab) - 1)
	for _, e := range old {
		if e.ref == 0 {
			continue
		}
		i := e.tag & mask
		for x.tab[i].ref != 0 {
			i = (i + 1) & mask
		}
		x.tab[i] = e
	}
}
