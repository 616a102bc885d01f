package rules

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/mpwatch/mpwatch/model"
	"github.com/mpwatch/mpwatch/rules/text"
)

// ReplySource is where the daemon's engine reads new replies: the store, in
// ingest order. (*store.DB implements it.)
type ReplySource interface {
	ScanRepliesAfter(ctx context.Context, afterSeq int64, limit int, fn func(seq int64, r model.Reply) error) (last int64, err error)
}

// HealthSource lists the crawl health of every source, for flatline rules.
// (*store.DB implements it.)
type HealthSource interface {
	ListSourceHealth(ctx context.Context) ([]model.SourceHealth, error)
}

// StateStore keeps the engine's state across restarts: each detector's state
// and the lifecycle of every alert key, written together in one transaction.
// A nil value deletes its key. (*store.DB implements it in store/rules.go.)
type StateStore interface {
	LoadRulesState(ctx context.Context) (detectors, alerts map[string][]byte, err error)
	SaveRulesState(ctx context.Context, detectors, alerts map[string][]byte) error
}

// healthAware is implemented by detectors that also read source health
// (flatline); the engine hands them the latest list before Evaluate.
type healthAware interface {
	SetHealth(hs []model.SourceHealth)
}

// EngineOptions configure NewEngine. Every field is optional.
type EngineOptions struct {
	Replies ReplySource
	State   StateStore
	Health  HealthSource
	Env     Env
	Logger  *slog.Logger
	// Normalize is the shared text normaliser; nil means text.Normalize.
	Normalize func(string) text.Normalized
	// KeepResolved is how long a resolved alert key is remembered so that it
	// is never fired again (default 30 days).
	KeepResolved time.Duration
	// Workers bounds the goroutines used to normalise and to run the rules
	// side by side (default GOMAXPROCS).
	Workers int
	// StateEvery is how often (by evaluation time) detector states are
	// written; 0 means at every evaluation. Alert lifecycles are written at
	// every evaluation regardless, so nothing re-fires; detector states are
	// written with the reply seq they cover, so after a crash the replies
	// since the last write are read again rather than lost or counted twice.
	StateEvery time.Duration
}

// Engine runs loaded rules over replies and turns their findings into alert
// events. Its methods are safe for concurrent use.
type Engine struct {
	mu        sync.Mutex
	rules     []*running
	byName    map[string]*running
	opts      EngineOptions
	log       *slog.Logger
	norm      func(string) text.Normalized
	restored  bool
	lastSeq   int64 // last store seq read from Replies
	localSeq  int64 // seq given to pushed replies
	targets   targetNums
	alerts    map[string]*alertState
	dirty     map[string]bool
	observed  int64
	lastPrune time.Time
	lastSave  time.Time
}

type running struct {
	rule     Rule
	det      Detector
	prep     Preparer // nil: none
	stateKey string
	match    func(*Item) bool
}

// alertState is the lifecycle of one alert key.
type alertState struct {
	Rule       string      `json:"rule"`
	Last       model.Alert `json:"last"` // the last event emitted
	LastSize   float64     `json:"last_size"`
	LastSeen   time.Time   `json:"last_seen"`
	Open       bool        `json:"open"`
	ResolvedAt time.Time   `json:"resolved_at,omitzero"`
}

const engineStateKey = "engine"

// NewEngine builds the detectors of the enabled rules.
func NewEngine(rules []Rule, opts EngineOptions) (*Engine, error) {
	e := &Engine{
		byName: map[string]*running{},
		opts:   opts,
		log:    opts.Logger,
		norm:   opts.Normalize,
		alerts: map[string]*alertState{},
		dirty:  map[string]bool{},
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.norm == nil {
		e.norm = defaultNormalize
	}
	if e.opts.KeepResolved <= 0 {
		e.opts.KeepResolved = 30 * 24 * time.Hour
	}
	if e.opts.Workers <= 0 {
		e.opts.Workers = runtime.GOMAXPROCS(0)
	}
	for _, r := range rules {
		if !r.Enabled() {
			continue
		}
		if _, dup := e.byName[r.Name()]; dup {
			return nil, fmt.Errorf("build rules: duplicate rule name %q", r.Name())
		}
		d, err := r.Spec.NewDetector(opts.Env)
		if err != nil {
			return nil, fmt.Errorf("build rule %q: %w", r.Name(), err)
		}
		run := &running{rule: r, det: d, stateKey: "rule/" + r.Name() + "/" + r.Hash, match: compileScope(r.Spec.Base().Scope, opts.Env)}
		if p, ok := d.(preparing); ok {
			run.prep = p.Preparer()
		}
		e.rules = append(e.rules, run)
		e.byName[r.Name()] = run
	}
	return e, nil
}

// Rules returns the enabled rules the engine runs, in load order.
func (e *Engine) Rules() []Rule {
	out := make([]Rule, len(e.rules))
	for i, r := range e.rules {
		out[i] = r.rule
	}
	return out
}

func compileScope(s Scope, env Env) func(*Item) bool {
	if len(s.Targets)+len(s.Tags)+len(s.Teams)+len(s.Platforms) == 0 {
		return func(*Item) bool { return true }
	}
	return func(it *Item) bool {
		r := &it.Reply
		if len(s.Platforms) > 0 && !slices.Contains(s.Platforms, r.Platform) {
			return false
		}
		if len(s.Targets) > 0 && !slices.Contains(s.Targets, r.Target) {
			return false
		}
		if len(s.Tags) == 0 && len(s.Teams) == 0 {
			return true
		}
		t, ok := env.Targets[r.Target]
		if !ok {
			return false // tags and teams come from the watchlist
		}
		if len(s.Teams) > 0 && !slices.Contains(s.Teams, t.Team) {
			return false
		}
		if len(s.Tags) > 0 && !slices.ContainsFunc(s.Tags, func(tag string) bool { return slices.Contains(t.Tags, tag) }) {
			return false
		}
		return true
	}
}

// Restore loads the durable state (detector states, alert lifecycles, the
// last reply seq read). Evaluate calls it on first use; call it yourself
// before Ingest when the engine has a StateStore.
func (e *Engine) Restore(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.restoreLocked(ctx)
}

func (e *Engine) restoreLocked(ctx context.Context) error {
	if e.restored {
		return nil
	}
	e.restored = true
	if e.opts.State == nil {
		return nil
	}
	dets, alerts, err := e.opts.State.LoadRulesState(ctx)
	if err != nil {
		return fmt.Errorf("restore rules state: %w", err)
	}
	if b, ok := dets[engineStateKey]; ok {
		var es struct {
			LastSeq int64 `json:"last_seq"`
		}
		if err := json.Unmarshal(b, &es); err != nil {
			return fmt.Errorf("restore engine state: %w", err)
		}
		e.lastSeq = es.LastSeq
	}
	for _, r := range e.rules {
		b, ok := dets[r.stateKey]
		if !ok {
			continue
		}
		if err := r.det.UnmarshalState(b); err != nil {
			// A state this build cannot read is dropped, not fatal: the
			// rule relearns its baseline, and alert keys still stop re-fires.
			e.log.Warn("detector state unreadable, starting fresh", "rule", r.rule.Name(), "error", err)
		}
	}
	for k, b := range alerts {
		var st alertState
		if err := json.Unmarshal(b, &st); err != nil {
			e.log.Warn("alert state unreadable, dropped", "alert_key", k, "error", err)
			continue
		}
		e.alerts[k] = &st
	}
	return nil
}

// Ingest pushes replies into the rules (replay, tests, benchmarks). Texts are
// normalised once, on several goroutines, and every rule whose scope matches
// sees the reply in the order given.
func (e *Engine) Ingest(replies ...model.Reply) {
	if len(replies) == 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.restoreBeforeIngest()
	items := make([]Item, len(replies))
	for i := range replies {
		e.localSeq++
		items[i] = Item{Reply: replies[i], Seq: e.localSeq}
	}
	e.ingestLocked(items)
}

// IngestNormalized pushes items whose Norm the caller has already computed
// (a pipeline normalising on another goroutine); an item with an empty Norm
// and non-empty text is normalised here. Seq is assigned when zero.
func (e *Engine) IngestNormalized(items []Item) {
	if len(items) == 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.restoreBeforeIngest()
	for i := range items {
		if items[i].Seq == 0 {
			e.localSeq++
			items[i].Seq = e.localSeq
		}
	}
	e.observeLocked(items, false)
}

// NormalizeBatch normalises replies into items on the engine's worker pool,
// without touching any detector, so it can run ahead of Ingest.
func (e *Engine) NormalizeBatch(replies []model.Reply) []Item {
	items := make([]Item, len(replies))
	e.parallel(len(items), func(i int) {
		items[i].Reply = replies[i]
		items[i].Norm = e.norm(replies[i].Text)
		e.prepare(&items[i])
	})
	return items
}

// prepare runs the rules' Preparers on a normalised item. It reads only
// what does not change after NewEngine, so NormalizeBatch may run it while
// another goroutine ingests.
func (e *Engine) prepare(it *Item) {
	it.prep = it.prep[:0]
	for _, r := range e.rules {
		if r.prep != nil && r.match(it) {
			it.prep = append(it.prep, itemPrep{by: r.prep, v: r.prep.Prepare(it)})
		}
	}
}

// restoreBeforeIngest loads durable state before the first pushed reply,
// which would otherwise be overwritten by the restore in Evaluate.
func (e *Engine) restoreBeforeIngest() {
	if e.restored || e.opts.State == nil {
		return
	}
	if err := e.restoreLocked(context.Background()); err != nil {
		e.log.Error("restore rules state before ingest", "error", err)
	}
}

// ObserveReply pushes one reply.
func (e *Engine) ObserveReply(r model.Reply) { e.Ingest(r) }

func (e *Engine) ingestLocked(items []Item) { e.observeLocked(items, true) }

func (e *Engine) observeLocked(items []Item, normalize bool) {
	e.parallel(len(items), func(i int) {
		it := &items[i]
		if normalize || (it.Norm.Text == "" && it.Reply.Text != "") {
			it.Norm = e.norm(it.Reply.Text)
			e.prepare(it)
		} else if len(it.prep) == 0 {
			e.prepare(it)
		}
	})
	e.targets.number(items)
	ptrs := make([]*Item, len(items))
	for i := range items {
		ptrs[i] = &items[i]
	}
	// Each detector is touched by one goroutine only, so rules run side by
	// side without locks.
	e.parallel(len(e.rules), func(k int) {
		r := e.rules[k]
		for _, it := range ptrs {
			if r.match(it) {
				r.det.Observe(it)
			}
		}
	})
	// The preparations were for Observe; a caller keeping its items should
	// not keep them too.
	for i := range items {
		clear(items[i].prep)
		items[i].prep = nil
	}
	e.observed += int64(len(items))
}

// parallel runs fn(0..n-1) on up to Workers goroutines; small jobs run inline.
func (e *Engine) parallel(n int, fn func(i int)) {
	w := min(e.opts.Workers, n)
	if w <= 1 || n < 2 {
		for i := 0; i < n; i++ {
			fn(i)
		}
		return
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := 0
	for g := 0; g < w; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// pullBatch is how many stored replies Evaluate reads per query.
const pullBatch = 2000

// Evaluate reads new replies from the ReplySource (when there is one), lets
// every rule evaluate at now, and returns the alert events: firing for a new
// key, updated when an open alert grew by UpdateGrowth, resolved once after
// ResolveAfter without the finding. Calling it again with the same now and
// no new replies returns nothing. State is saved before it returns.
func (e *Engine) Evaluate(ctx context.Context, now time.Time) ([]model.Alert, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.restoreLocked(ctx); err != nil {
		return nil, err
	}
	if e.opts.Replies != nil {
		for {
			var batch []Item
			last, err := e.opts.Replies.ScanRepliesAfter(ctx, e.lastSeq, pullBatch, func(seq int64, r model.Reply) error {
				batch = append(batch, Item{Reply: r, Seq: seq})
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("read new replies after seq %d: %w", e.lastSeq, err)
			}
			if len(batch) > 0 {
				e.ingestLocked(batch)
			}
			if last > e.lastSeq {
				e.lastSeq = last
			}
			if len(batch) < pullBatch {
				break
			}
		}
	}
	if e.opts.Health != nil {
		hs, err := e.opts.Health.ListSourceHealth(ctx)
		if err != nil {
			return nil, fmt.Errorf("read source health: %w", err)
		}
		for _, r := range e.rules {
			if h, ok := r.det.(healthAware); ok {
				h.SetHealth(hs)
			}
		}
	}
	findings := make([][]Finding, len(e.rules))
	e.parallel(len(e.rules), func(k int) { findings[k] = e.rules[k].det.Evaluate(now) })
	return e.conclude(ctx, now, findings)
}

// conclude turns the rules' findings at now (findings[k] from rule k) into
// alert events, and saves the state.
func (e *Engine) conclude(ctx context.Context, now time.Time, findings [][]Finding) ([]model.Alert, error) {
	var events []model.Alert
	open := e.openKeys()
	for k, r := range e.rules {
		events = append(events, e.lifecycle(r, findings[k], now, open[r.rule.Name()])...)
	}
	events = append(events, e.resolveOrphans(now)...)
	e.prune(now)
	if err := e.saveLocked(ctx, now); err != nil {
		return events, err
	}
	for _, a := range events {
		e.log.Info("alert event", "rule", a.Rule, "alert_key", a.Key, "seq", a.Seq, "status", string(a.Status), "severity", string(a.Severity))
	}
	return events, nil
}

// AlertKey is the deterministic key of an alert: 16 hex digits of a hash of
// the rule name, the finding's scope and its window start (RFC 3339, UTC).
func AlertKey(rule, scope string, windowStart time.Time) string {
	h := sha256.Sum256([]byte(rule + "\x00" + scope + "\x00" + windowStart.UTC().Format(time.RFC3339)))
	return hex.EncodeToString(h[:8])
}

// openKeys lists the open alert keys of each rule, sorted.
func (e *Engine) openKeys() map[string][]string {
	out := map[string][]string{}
	for k, st := range e.alerts {
		if st.Open {
			out[st.Rule] = append(out[st.Rule], k)
		}
	}
	for _, ks := range out {
		sort.Strings(ks)
	}
	return out
}

func (e *Engine) lifecycle(r *running, fs []Finding, now time.Time, open []string) []model.Alert {
	c := r.rule.Spec.Base()
	var out []model.Alert
	seen := map[string]bool{}
	for i := range fs {
		f := &fs[i]
		key := AlertKey(c.Name, f.Scope, f.WindowStart)
		if seen[key] {
			continue
		}
		seen[key] = true
		st := e.alerts[key]
		switch {
		case st == nil:
			a := e.toAlert(r, f, key, 1, model.StatusFiring, now)
			e.alerts[key] = &alertState{Rule: c.Name, Last: a, LastSize: f.Size, LastSeen: now, Open: true}
			e.dirty[key] = true
			out = append(out, a)
		case !st.Open:
			// resolved keys never fire again: a new episode has a new window start
		default:
			if !st.LastSeen.Equal(now) {
				st.LastSeen = now
				e.dirty[key] = true
			}
			// An open alert is updated when it grew materially or its
			// severity rose (a spike past its watch level, a cluster
			// reaching its escalation); it never falls back to a lower
			// severity within one episode.
			sev := f.Severity
			if sev == "" {
				sev = c.Severity
			}
			rose := sev.Rank() > st.Last.Severity.Rank()
			if rose || f.Size > st.LastSize && f.Size >= st.LastSize*(1+c.UpdateGrowth) {
				g := *f
				g.Severity = sev
				if !rose {
					g.Severity = st.Last.Severity
				}
				a := e.toAlert(r, &g, key, st.Last.Seq+1, model.StatusUpdated, now)
				st.Last, st.LastSize = a, max(f.Size, st.LastSize)
				e.dirty[key] = true
				out = append(out, a)
			}
		}
	}
	resolveAfter := c.ResolveAfter.D()
	for _, key := range open {
		st := e.alerts[key]
		if !st.Open || seen[key] || now.Sub(st.LastSeen) < resolveAfter {
			continue
		}
		out = append(out, e.resolve(key, st, now, "quiet for "+resolveAfter.String()))
	}
	return out
}

func (e *Engine) resolve(key string, st *alertState, now time.Time, why string) model.Alert {
	a := st.Last
	a.Seq++
	a.Status = model.StatusResolved
	a.FiredAt = now
	a.Summary = "Resolved (" + why + "): " + st.Last.Summary
	st.Last, st.Open, st.ResolvedAt = a, false, now
	e.dirty[key] = true
	return a
}

// resolveOrphans resolves open alerts of rules that are no longer loaded (a
// rule removed or disabled by a reload), so nobody waits for them forever.
func (e *Engine) resolveOrphans(now time.Time) []model.Alert {
	var out []model.Alert
	var orphans []string
	for key, st := range e.alerts {
		if _, ok := e.byName[st.Rule]; !ok && st.Open {
			orphans = append(orphans, key)
		}
	}
	sort.Strings(orphans)
	for _, key := range orphans {
		st := e.alerts[key]
		out = append(out, e.resolve(key, st, now, "rule no longer active"))
	}
	return out
}

func (e *Engine) prune(now time.Time) {
	if now.Sub(e.lastPrune) < time.Hour {
		return
	}
	e.lastPrune = now
	for k, st := range e.alerts {
		if !st.Open && now.Sub(st.ResolvedAt) > e.opts.KeepResolved {
			delete(e.alerts, k)
			e.dirty[k] = true
		}
	}
}

func (e *Engine) toAlert(r *running, f *Finding, key string, seq int, status model.AlertStatus, now time.Time) model.Alert {
	c := r.rule.Spec.Base()
	sev := f.Severity
	if sev == "" {
		sev = c.Severity
	}
	a := model.Alert{
		Key: key, Seq: seq, Rule: c.Name, Type: c.Type, Severity: sev, Status: status,
		Audience:    r.rule.Spec.Audience(),
		Targets:     sortedUnique(f.Targets),
		WindowStart: f.WindowStart.UTC(), WindowEnd: f.WindowEnd.UTC(), FiredAt: now.UTC(),
		Summary: f.Summary, Accounts: sortedUnique(f.Accounts), ReplyIDs: sortedUnique(f.ReplyIDs),
		Evidence: f.Evidence,
	}
	if len(f.Metrics) > 0 {
		a.Metrics = make(map[string]float64, len(f.Metrics))
		for k, v := range f.Metrics {
			a.Metrics[k] = v
		}
	}
	ps := slices.Clone(f.Platforms)
	slices.Sort(ps)
	a.Platforms = slices.Compact(ps)
	if a.Evidence.Reason == "" {
		a.Evidence.Reason = f.Summary
	}
	var teams, tags []string
	for _, id := range a.Targets {
		if t, ok := r.envTarget(e.opts.Env, id); ok {
			if t.Team != "" {
				teams = append(teams, t.Team)
			}
			tags = append(tags, t.Tags...)
		}
	}
	a.Teams, a.Tags = sortedUnique(teams), sortedUnique(tags)
	return a
}

func (r *running) envTarget(env Env, id string) (model.Target, bool) {
	t, ok := env.Targets[id]
	return t, ok
}

func sortedUnique(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

func (e *Engine) saveLocked(ctx context.Context, now time.Time) error {
	if e.opts.State == nil {
		clear(e.dirty)
		return nil
	}
	dets := map[string][]byte{}
	saveDets := e.lastSave.IsZero() || now.Sub(e.lastSave) >= e.opts.StateEvery
	for _, r := range e.rules {
		if !saveDets {
			break
		}
		b, err := r.det.MarshalState()
		if err != nil {
			return fmt.Errorf("save state of rule %q: %w", r.rule.Name(), err)
		}
		dets[r.stateKey] = b
	}
	if saveDets {
		es, _ := json.Marshal(struct {
			LastSeq int64 `json:"last_seq"`
		}{e.lastSeq})
		dets[engineStateKey] = es
	}
	alerts := map[string][]byte{}
	for k := range e.dirty {
		st, ok := e.alerts[k]
		if !ok {
			alerts[k] = nil
			continue
		}
		b, err := json.Marshal(st)
		if err != nil {
			return fmt.Errorf("save alert state %s: %w", k, err)
		}
		alerts[k] = b
	}
	if err := e.opts.State.SaveRulesState(ctx, dets, alerts); err != nil {
		return fmt.Errorf("save rules state: %w", err)
	}
	if saveDets {
		e.lastSave = now
	}
	clear(e.dirty)
	return nil
}

// Observed is how many replies the engine has taken in since it started.
func (e *Engine) Observed() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.observed
}

func itoa(n int) string { return strconv.Itoa(n) }
