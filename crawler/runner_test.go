package crawler_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/crawler"
	"github.com/mpwatch/mpwatch/model"
)

// memStore is the runner's Store in memory: health by key and replies by
// (platform, id), counting only new ones as added, like the real store.
type memStore struct {
	mu      sync.Mutex
	health  map[string]model.SourceHealth
	replies map[string]model.Reply
	saves   int
}

func newMemStore() *memStore {
	return &memStore{health: map[string]model.SourceHealth{}, replies: map[string]model.Reply{}}
}

func (m *memStore) SourceHealth(_ context.Context, key string) (model.SourceHealth, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h, ok := m.health[key]
	return h, ok, nil
}

func (m *memStore) SaveCrawl(_ context.Context, h model.SourceHealth, _ []model.Post, rs []model.Reply) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.saves++
	m.health[h.SourceKey] = h
	added := 0
	for _, r := range rs {
		if _, ok := m.replies[r.Key()]; !ok {
			added++
		}
		m.replies[r.Key()] = r
	}
	return added, nil
}

// scripted is a source whose answers a test sets per account handle.
type scripted struct {
	platform model.Platform
	mu       sync.Mutex
	answer   map[string]func(req crawler.Request) (crawler.Result, error)
	calls    map[string]int
	cursors  []string
}

func (s *scripted) Platform() model.Platform { return s.platform }

func (s *scripted) Crawl(_ context.Context, req crawler.Request) (crawler.Result, error) {
	s.mu.Lock()
	s.calls[req.Account.Handle]++
	s.cursors = append(s.cursors, req.Cursor)
	f := s.answer[req.Account.Handle]
	s.mu.Unlock()
	return f(req)
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func setup(handles ...string) (*memStore, *scripted, *clock, *crawler.Runner, []model.Target) {
	st := newMemStore()
	src := &scripted{platform: model.Mastodon, answer: map[string]func(crawler.Request) (crawler.Result, error){}, calls: map[string]int{}}
	clk := &clock{t: now}
	r := crawler.NewRunner(st, map[model.Platform]crawler.Source{model.Mastodon: src}, crawler.RunnerOptions{
		Now: clk.now, Interval: func(model.Account) time.Duration { return 10 * time.Minute }, BackoffMaxFactor: 8,
	})
	var ts []model.Target
	for _, h := range handles {
		ts = append(ts, model.Target{ID: "t-" + h, Accounts: []model.Account{{Platform: model.Mastodon, Handle: h}}})
	}
	return st, src, clk, r, ts
}

func reply(id string) model.Reply {
	return model.Reply{Platform: model.Mastodon, ID: id, Target: "t", Text: "x", CreatedAt: now}
}

func TestBackoffGrowsCapsAndNeverDisables(t *testing.T) {
	st, src, clk, r, ts := setup("@a@x.example")
	src.answer["@a@x.example"] = func(crawler.Request) (crawler.Result, error) {
		return crawler.Result{}, &crawler.Error{Kind: crawler.KindServer, URL: "https://x.example/api", Status: 502}
	}
	tgt, acct := ts[0], ts[0].Accounts[0]
	ctx := context.Background()
	interval := 10 * time.Minute
	for n := 1; n <= 8; n++ {
		o, err := r.CrawlAccount(ctx, tgt, acct)
		if err != nil || o.Skipped || o.Err == nil || o.ConsecutiveFailures != n {
			t.Fatalf("failure %d: %+v, %v", n, o, err)
		}
		full := min(interval<<(n-1), 8*interval)
		wait := o.NextCheck.Sub(clk.t)
		if wait < full*8/10 || wait > full {
			t.Errorf("failure %d: next check in %v, want within [%v, %v]", n, wait, full*8/10, full)
		}
		h := st.health[model.SourceKey(tgt.ID, acct)]
		if h.ConsecutiveFailures != n || !strings.Contains(h.LastError, "https://x.example/api") || !h.NextCheck.Equal(o.NextCheck) {
			t.Errorf("stored health = %+v", h)
		}
		// Before next_check the source is skipped, not called.
		calls := src.calls["@a@x.example"]
		clk.t = o.NextCheck.Add(-time.Second)
		if o2, _ := r.CrawlAccount(ctx, tgt, acct); !o2.Skipped || src.calls["@a@x.example"] != calls {
			t.Fatalf("not skipped while backing off: %+v", o2)
		}
		clk.t = o.NextCheck
	}
	src.answer["@a@x.example"] = func(crawler.Request) (crawler.Result, error) {
		return crawler.Result{Replies: []model.Reply{reply("1")}, Cursor: "c1"}, nil
	}
	o, err := r.CrawlAccount(ctx, tgt, acct)
	if err != nil || o.Err != nil || o.ConsecutiveFailures != 0 || o.Added != 1 {
		t.Fatalf("recovery: %+v, %v", o, err)
	}
	h := st.health[model.SourceKey(tgt.ID, acct)]
	if h.LastError != "" || h.Cursor != "c1" || !h.LastSuccess.Equal(clk.t) {
		t.Errorf("health after recovery = %+v", h)
	}
}

func TestServerWaitAndForce(t *testing.T) {
	_, src, clk, r, ts := setup("@a@x.example")
	src.answer["@a@x.example"] = func(crawler.Request) (crawler.Result, error) {
		return crawler.Result{}, &crawler.Error{Kind: crawler.KindRateLimited, RetryAfter: 30 * time.Minute}
	}
	o, _ := r.CrawlAccount(context.Background(), ts[0], ts[0].Accounts[0])
	if got := o.NextCheck.Sub(clk.t); got != 30*time.Minute {
		t.Errorf("next check in %v, want the server's 30m", got)
	}
	sum := r.CrawlAll(context.Background(), ts, true)
	if sum.Skipped != 0 || src.calls["@a@x.example"] != 2 {
		t.Errorf("force must ignore backoff: %+v", sum)
	}
	if sum = r.CrawlAll(context.Background(), ts, false); sum.Skipped != 1 {
		t.Errorf("without force the source backs off: %+v", sum)
	}
}

func TestPartialResultKeepsDataAndCursor(t *testing.T) {
	st, src, _, r, ts := setup("@a@x.example")
	src.answer["@a@x.example"] = func(req crawler.Request) (crawler.Result, error) {
		return crawler.Result{Replies: []model.Reply{reply("1"), reply("2")}, Cursor: "partial"}, errors.New("page 2 failed")
	}
	o, _ := r.CrawlAccount(context.Background(), ts[0], ts[0].Accounts[0])
	if o.Added != 2 || o.Err == nil || st.health[o.SourceKey].Cursor != "partial" {
		t.Fatalf("outcome = %+v, health = %+v", o, st.health[o.SourceKey])
	}
	src.answer["@a@x.example"] = func(req crawler.Request) (crawler.Result, error) {
		return crawler.Result{}, errors.New("down")
	}
	r.CrawlAll(context.Background(), ts, true)
	if st.health[o.SourceKey].Cursor != "partial" {
		t.Error("a failure without a cursor lost the stored one")
	}
	if src.cursors[len(src.cursors)-1] != "partial" {
		t.Errorf("source was not given its cursor: %q", src.cursors)
	}
}

func TestNetworkDownIsOneCondition(t *testing.T) {
	st, src, _, r, ts := setup("@a@x.example", "@b@y.example", "@c@z.example")
	netErr := func(crawler.Request) (crawler.Result, error) {
		return crawler.Result{}, &crawler.Error{Kind: crawler.KindNetwork, URL: "https://x", Err: errors.New("dial tcp: connection refused")}
	}
	for _, h := range []string{"@a@x.example", "@b@y.example", "@c@z.example"} {
		src.answer[h] = netErr
	}
	sum := r.CrawlAll(context.Background(), ts, false)
	if !sum.NetworkDown || sum.Attempted != 3 || !strings.Contains(sum.NetworkErr, "connection refused") {
		t.Fatalf("summary = %+v", sum)
	}
	for k, h := range st.health {
		if h.ConsecutiveFailures != 0 || !strings.HasPrefix(h.LastError, "network down: ") || h.NextCheck.Sub(now) != time.Minute {
			t.Errorf("%s: %+v; an outage must not count against the source", k, h)
		}
	}
	// One source answers: the others' network errors are theirs.
	src.answer["@b@y.example"] = func(crawler.Request) (crawler.Result, error) { return crawler.Result{}, nil }
	sum = r.CrawlAll(context.Background(), ts, true)
	if sum.NetworkDown || sum.Failed != 2 {
		t.Fatalf("summary = %+v", sum)
	}
	if h := st.health["t-@a@x.example/mastodon:@a@x.example"]; h.ConsecutiveFailures != 1 {
		t.Errorf("health = %+v", h)
	}
}

type panicky struct{}

func (panicky) Platform() model.Platform { return model.Bluesky }
func (panicky) Crawl(context.Context, crawler.Request) (crawler.Result, error) {
	var m map[string]int
	m["boom"]++
	return crawler.Result{}, nil
}

func TestPanicAndMissingSourceAreRecorded(t *testing.T) {
	st := newMemStore()
	r := crawler.NewRunner(st, map[model.Platform]crawler.Source{model.Bluesky: panicky{}}, crawler.RunnerOptions{Now: func() time.Time { return now }})
	ts := []model.Target{{ID: "t", Accounts: []model.Account{
		{Platform: model.Bluesky, Handle: "a.test"}, {Platform: model.YouTube, Handle: "UC123"},
	}}}
	sum := r.CrawlAll(context.Background(), ts, false)
	if sum.Failed != 2 || sum.NetworkDown {
		t.Fatalf("summary = %+v", sum)
	}
	if h := st.health["t/bluesky:a.test"]; !strings.Contains(h.LastError, "panicked") || h.ConsecutiveFailures != 1 {
		t.Errorf("panic health = %+v", h)
	}
	if h := st.health["t/youtube:uc123"]; !strings.Contains(h.LastError, "no crawler source") {
		t.Errorf("missing source health = %+v", h)
	}
}

func TestCancelledRunRecordsNothing(t *testing.T) {
	st, src, _, r, ts := setup("@a@x.example", "@b@y.example")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, h := range []string{"@a@x.example", "@b@y.example"} {
		src.answer[h] = func(crawler.Request) (crawler.Result, error) {
			cancel()
			return crawler.Result{}, &crawler.Error{Kind: crawler.KindNetwork, Msg: "crawl cancelled", Err: context.Canceled}
		}
	}
	sum := r.CrawlAll(ctx, ts, false)
	if sum.NetworkDown || len(st.health) != 0 || st.saves != 0 {
		t.Errorf("cancelled run: %+v, health = %+v", sum, st.health)
	}
}

func TestLoneNetworkFailureIsTheSources(t *testing.T) {
	st, src, _, r, ts := setup("@a@x.example")
	src.answer["@a@x.example"] = func(crawler.Request) (crawler.Result, error) {
		return crawler.Result{}, &crawler.Error{Kind: crawler.KindNetwork, Err: errors.New("no such host")}
	}
	sum := r.CrawlAll(context.Background(), ts, false)
	if sum.NetworkDown || st.health["t-@a@x.example/mastodon:@a@x.example"].ConsecutiveFailures != 1 {
		t.Errorf("summary = %+v, health = %+v", sum, st.health)
	}
}
