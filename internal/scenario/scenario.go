// Package scenario generates realistic reply traffic for the demo and the
// detection quality benchmark: organic replies drawn from real public text
// (see corpus/SOURCE.md), popular posts that draw a crowd, and coordinated
// campaigns shaped like the 2023 "Spamouflage" attack on Canadian MPs — new,
// digit-suffixed accounts posting one accusation narrative in English, French
// and Chinese across several MPs, in waves, with paraphrases and the
// obfuscations spam networks use (homoglyphs, zero-width characters, emoji,
// stripped accents, Traditional characters).
//
// Generation is deterministic for a seed, so tests and benchmarks can assert
// exact outcomes.
package scenario

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/mpwatch/mpwatch/model"
)

//go:embed corpus/*.txt corpus/*.jsonl
var corpusFS embed.FS

// Corpus is organic text by language.
type Corpus struct {
	EN, FR, ZH []string
}

// LoadCorpus returns the embedded organic corpus.
func LoadCorpus() Corpus {
	return Corpus{
		EN: append(lines("corpus/en_pheme.txt"), lines("corpus/en_youtube_ham.txt")...),
		FR: lines("corpus/fr_handwritten.txt"),
		ZH: lines("corpus/zh_weibo.txt"),
	}
}

func lines(name string) []string {
	b, err := corpusFS.ReadFile(name)
	if err != nil {
		panic(fmt.Sprintf("scenario: embedded %s: %v", name, err))
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// SpamComment is one comment of the real YouTube spam collection.
type SpamComment struct {
	ID     string `json:"id"`
	Author string `json:"author"`
	Date   string `json:"date"`
	Text   string `json:"text"`
	Video  string `json:"video"`
}

// YouTubeSpam returns the real spam comments (CLASS 1) of the UCI collection.
func YouTubeSpam() []SpamComment { return youtube("corpus/youtube_spam.jsonl") }

// YouTubeHam returns the same collection's ordinary comments (CLASS 0).
func YouTubeHam() []SpamComment { return youtube("corpus/youtube_ham.jsonl") }

func youtube(name string) []SpamComment {
	b, err := corpusFS.ReadFile(name)
	if err != nil {
		panic(err)
	}
	var out []SpamComment
	dec := json.NewDecoder(bytes.NewReader(b))
	for dec.More() {
		var c SpamComment
		if err := dec.Decode(&c); err != nil {
			panic(fmt.Sprintf("scenario: %s: %v", name, err))
		}
		out = append(out, c)
	}
	return out
}

// Target is a watched MP in a scenario.
type Target struct {
	ID       string
	Name     string
	Platform model.Platform
	Handle   string
	// Lang is the language mix of organic replies: "en", "fr", "zh" weights.
	Lang map[string]float64
	// RepliesPerHour is the organic mean at the daily peak.
	RepliesPerHour float64
}

// Campaign is one coordinated narrative push.
type Campaign struct {
	Name     string
	Langs    []string // languages of the narrative, e.g. en, fr
	Accounts int      // distinct bot accounts
	Targets  []string // target ids hit
	Start    time.Time
	Span     time.Duration // from first to last reply
	Waves    int           // bursts within the span (>=1)
	// PerAccount is how many replies each account posts over the campaign.
	PerAccount int
	// Paraphrase varies openers, closers and wording between copies.
	Paraphrase bool
	// Obfuscate applies homoglyphs, zero-width characters, emoji and
	// Traditional characters to some copies.
	Obfuscate bool
	// Narrative picks the narrative family (see Narrative): 0 and 1 are the
	// hand-written Narratives, higher numbers distinct storylines.
	Narrative int
}

// Popular is a watched post that draws an organic crowd: a volume spike that
// must not be reported as an attack.
type Popular struct {
	Target  string
	At      time.Time
	Replies int
	Over    time.Duration
}

// Config describes a scenario.
type Config struct {
	Seed      uint64
	Start     time.Time
	Duration  time.Duration
	Targets   []Target
	Campaigns []Campaign
	Popular   []Popular
	// PostEvery is how often each target posts (replies go under recent posts).
	PostEvery time.Duration
}

// Event is one generated reply, with where it came from ("" for organic,
// "popular:<target>" or the campaign's name).
type Event struct {
	Reply  model.Reply
	Source string
}

// Scenario is the generated traffic.
type Scenario struct {
	Posts  []model.Post
	Events []Event // sorted by Reply.CreatedAt
}

// Generate builds a scenario. The same Config gives the same Scenario.
func Generate(cfg Config, corpus Corpus) Scenario {
	g := &gen{cfg: cfg, corpus: corpus, r: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)), seen: map[string]bool{}, decks: map[string]*deck{}}
	if g.cfg.PostEvery <= 0 {
		g.cfg.PostEvery = 6 * time.Hour
	}
	g.posts()
	for _, t := range cfg.Targets {
		g.organic(t)
	}
	for _, p := range cfg.Popular {
		g.popular(p)
	}
	g.dealOrganic()
	for _, c := range cfg.Campaigns {
		g.campaign(c)
	}
	sort.SliceStable(g.events, func(i, j int) bool {
		a, b := g.events[i].Reply, g.events[j].Reply
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.Before(b.CreatedAt)
		}
		return a.ID < b.ID
	})
	return Scenario{Posts: g.allPosts, Events: g.events}
}

type gen struct {
	cfg      Config
	corpus   Corpus
	r        *rand.Rand
	events   []Event
	allPosts []model.Post
	byTarget map[string][]model.Post
	seq      int
	seen     map[string]bool
	decks    map[string]*deck
	// untexted are the organic events still waiting for their text
	untexted []int
}

// dealOrganic gives the organic replies their texts in time order. Dealt
// MP by MP, the deck went round once every MP or two, so each text landed
// at random times a dozen times over the scenario, and a few inevitably fell
// within one narrative window from five "accounts" on five MPs: copy-paste
// campaigns that never happened. Dealt in time order, a text comes back only
// after the whole deck, i.e. days later.
func (g *gen) dealOrganic() {
	sort.SliceStable(g.untexted, func(i, j int) bool {
		a, b := g.events[g.untexted[i]].Reply, g.events[g.untexted[j]].Reply
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.Before(b.CreatedAt)
		}
		return a.ID < b.ID
	})
	for _, k := range g.untexted {
		r := &g.events[k].Reply
		r.Text = g.organicText(r.Lang)
	}
	g.untexted = nil
}

func (g *gen) target(id string) Target {
	for _, t := range g.cfg.Targets {
		if t.ID == id {
			return t
		}
	}
	panic(fmt.Sprintf("scenario: unknown target %q", id))
}

func (g *gen) posts() {
	g.byTarget = map[string][]model.Post{}
	for _, t := range g.cfg.Targets {
		// posts start one interval before the scenario so early replies have a parent
		for at := g.cfg.Start.Add(-g.cfg.PostEvery); at.Before(g.cfg.Start.Add(g.cfg.Duration)); at = at.Add(g.cfg.PostEvery) {
			p := model.Post{Platform: t.Platform, ID: g.id("p"), Target: t.ID, Account: t.Handle,
				CreatedAt: at, Text: "Update from the riding, " + at.Format("Jan 2")}
			g.byTarget[t.ID] = append(g.byTarget[t.ID], p)
			g.allPosts = append(g.allPosts, p)
		}
	}
}

// postAt returns the target's most recent post at time at.
func (g *gen) postAt(target string, at time.Time) model.Post {
	ps := g.byTarget[target]
	best := ps[0]
	for _, p := range ps {
		if !p.CreatedAt.After(at) {
			best = p
		}
	}
	return best
}

func (g *gen) id(prefix string) string {
	g.seq++
	return fmt.Sprintf("%s%09d", prefix, g.seq)
}

// diurnal is the share of the peak rate at an hour of the target's day
// (Eastern time): quiet at night, busy at lunch and in the evening.
func diurnal(t time.Time) float64 {
	h := float64((t.UTC().Hour() + 24 - 5) % 24)
	return 0.15 + 0.85*math.Max(0, math.Sin((h-6)/18*math.Pi))
}

func (g *gen) organic(t Target) {
	end := g.cfg.Start.Add(g.cfg.Duration)
	for at := g.cfg.Start; at.Before(end); at = at.Add(time.Hour) {
		n := poisson(g.r, t.RepliesPerHour*diurnal(at))
		for i := 0; i < n; i++ {
			when := at.Add(time.Duration(g.r.Int64N(int64(time.Hour))))
			if !when.Before(end) {
				continue
			}
			lang := g.pickLang(t.Lang)
			g.add(t, when, "", lang, g.organicAuthor(), "")
			g.untexted = append(g.untexted, len(g.events)-1)
		}
	}
}

func (g *gen) pickLang(w map[string]float64) string {
	if len(w) == 0 {
		return "en"
	}
	keys := make([]string, 0, len(w))
	total := 0.0
	for k, v := range w {
		keys = append(keys, k)
		total += v
	}
	sort.Strings(keys)
	x := g.r.Float64() * total
	for _, k := range keys {
		if x < w[k] {
			return k
		}
		x -= w[k]
	}
	return keys[len(keys)-1]
}

// organicText deals organic texts from a shuffled deck per language, so a
// text is reused only after the whole corpus has been used: sampling with
// replacement would fill ordinary traffic with exact copies by distinct
// accounts, a copy-paste campaign that never happened. Scenarios keep each
// language's volume below its deck size per detection window (French has
// only 50 lines, so French organic traffic must stay sparse).
func (g *gen) organicText(lang string) string {
	d := g.decks[lang]
	if d == nil {
		d = &deck{}
		g.decks[lang] = d
	}
	pool := g.pool(lang)
	if d.next >= len(d.order) {
		d.order = g.r.Perm(len(pool))
		d.next = 0
	}
	k := d.order[d.next]
	d.next++
	return pool[k]
}

type deck struct {
	order []int
	next  int
}

func (g *gen) pool(lang string) []string {
	switch lang {
	case "fr":
		return g.corpus.FR
	case "zh":
		return g.corpus.ZH
	default:
		return g.corpus.EN
	}
}

var firstNames = []string{"alex", "sam", "jordan", "marie", "li", "wei", "olivia", "noah", "chloe", "liam",
	"emma", "lucas", "zoe", "ethan", "mia", "jun", "ana", "omar", "sara", "felix"}

// organicAuthor is an ordinary account: years old, followers, its own avatar.
func (g *gen) organicAuthor() model.Author {
	n := g.r.IntN(100000)
	name := firstNames[g.r.IntN(len(firstNames))]
	handle := fmt.Sprintf("%s_%s", name, []string{"ott", "mtl", "to", "van", "cgy", "hfx", "wpg", "qc"}[n%8])
	if g.r.IntN(3) == 0 {
		handle += fmt.Sprint(g.r.IntN(100))
	}
	handle = fmt.Sprintf("%s.%d", handle, n)
	created := g.cfg.Start.AddDate(-1-g.r.IntN(10), -g.r.IntN(12), 0)
	return model.Author{ID: fmt.Sprintf("u%06d", n), Handle: handle, Name: strings.ToUpper(name[:1]) + name[1:],
		CreatedAt: &created, Followers: 20 + g.r.IntN(3000), Following: 50 + g.r.IntN(800), Posts: 100 + g.r.IntN(20000)}
}

func (g *gen) add(t Target, when time.Time, text, lang string, a model.Author, source string) {
	post := g.postAt(t.ID, when)
	id := g.id("r")
	r := model.Reply{Platform: t.Platform, ID: id, Kind: model.KindReply, Target: t.ID, Account: t.Handle,
		PostID: post.ID, ParentID: post.ID, CreatedAt: when.UTC().Truncate(time.Second), Text: text, Lang: lang, Author: a,
		URL: fmt.Sprintf("https://%s.example/%s/%s", t.Platform, strings.TrimPrefix(t.Handle, "@"), id)}
	g.events = append(g.events, Event{Reply: r, Source: source})
}

func (g *gen) popular(p Popular) {
	t := g.target(p.Target)
	post := model.Post{Platform: t.Platform, ID: g.id("p"), Target: t.ID, Account: t.Handle, CreatedAt: p.At,
		Text: "Big news for the riding: the new hospital wing opens today!"}
	g.byTarget[t.ID] = append(g.byTarget[t.ID], post)
	sort.Slice(g.byTarget[t.ID], func(i, j int) bool { return g.byTarget[t.ID][i].CreatedAt.Before(g.byTarget[t.ID][j].CreatedAt) })
	g.allPosts = append(g.allPosts, post)
	for i := 0; i < p.Replies; i++ {
		// replies to a popular post decay: most arrive in the first third
		f := math.Pow(g.r.Float64(), 2)
		when := p.At.Add(time.Duration(f * float64(p.Over)))
		lang := g.pickLang(t.Lang)
		a := g.organicAuthor()
		r := model.Reply{Platform: t.Platform, ID: g.id("r"), Kind: model.KindReply, Target: t.ID, Account: t.Handle,
			PostID: post.ID, ParentID: post.ID, CreatedAt: when.UTC().Truncate(time.Second), Lang: lang, Author: a}
		r.URL = fmt.Sprintf("https://%s.example/%s/%s", t.Platform, strings.TrimPrefix(t.Handle, "@"), r.ID)
		g.events = append(g.events, Event{Reply: r, Source: "popular:" + t.ID})
		g.untexted = append(g.untexted, len(g.events)-1)
	}
}

// botAuthor is a campaign account: weeks old, a name and many digits, no
// followers, the default avatar.
func (g *gen) botAuthor(campaign string, i int) model.Author {
	name := firstNames[g.r.IntN(len(firstNames))]
	digits := fmt.Sprintf("%08d", g.r.IntN(100000000))
	created := g.cfg.Start.AddDate(0, 0, -3-g.r.IntN(40))
	return model.Author{ID: fmt.Sprintf("b-%s-%04d", slug(campaign), i), Handle: name + digits,
		Name: strings.ToUpper(name[:1]) + name[1:] + " " + digits[:3], CreatedAt: &created,
		Followers: g.r.IntN(6), Following: g.r.IntN(40), Posts: 5 + g.r.IntN(60), DefaultAvatar: g.r.IntN(10) < 8}
}

func slug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	return b.String()
}

// beijingOfficeHour picks a time in the campaign's span that falls in Beijing
// office hours (09-12, 14-18, 19-22 China Standard Time), the shift pattern
// Meta reported for Spamouflage.
func (g *gen) beijingOfficeHour(start time.Time, span time.Duration) time.Time {
	for try := 0; try < 50; try++ {
		t := start.Add(time.Duration(g.r.Int64N(int64(max(span, time.Minute)))))
		h := (t.UTC().Hour() + 8) % 24
		if (h >= 9 && h < 12) || (h >= 14 && h < 18) || (h >= 19 && h < 22) {
			return t
		}
	}
	return start.Add(time.Duration(g.r.Int64N(int64(max(span, time.Minute)))))
}

func (g *gen) campaign(c Campaign) {
	if c.Waves < 1 {
		c.Waves = 1
	}
	if c.PerAccount < 1 {
		c.PerAccount = 1
	}
	langs := c.Langs
	if len(langs) == 0 {
		langs = []string{"en"}
	}
	fam := Narrative(c.Narrative)
	bots := make([]model.Author, c.Accounts)
	for i := range bots {
		bots[i] = g.botAuthor(c.Name, i)
	}
	waveSpan := c.Span / time.Duration(c.Waves)
	for i, bot := range bots {
		for k := 0; k < c.PerAccount; k++ {
			wave := (i + k) % c.Waves
			ws := c.Start.Add(time.Duration(wave) * waveSpan)
			when := g.beijingOfficeHour(ws, waveSpan)
			tid := c.Targets[(i+k)%len(c.Targets)]
			t := g.target(tid)
			lang := langs[(i+k)%len(langs)]
			text := fam.Render(g.r, lang, t.Name, c.Paraphrase)
			if c.Obfuscate && g.r.IntN(2) == 0 {
				text = Obfuscate(g.r, text, lang)
			}
			g.add(t, when, text, lang, bot, c.Name)
		}
	}
}

func poisson(r *rand.Rand, lambda float64) int {
	if lambda <= 0 {
		return 0
	}
	if lambda > 30 {
		n := int(math.Round(lambda + math.Sqrt(lambda)*r.NormFloat64()))
		return max(n, 0)
	}
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}
