package rss_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/crawler"
	"github.com/mpwatch/mpwatch/crawler/rss"
	"github.com/mpwatch/mpwatch/internal/fakeplatform"
	"github.com/mpwatch/mpwatch/model"
)

type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

var now = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func newClient(t *testing.T, sl *sleeps) *crawler.Client {
	t.Helper()
	if sl == nil {
		sl = &sleeps{}
	}
	c, err := crawler.NewClient(crawler.Options{NoDelay: true, Timeout: 300 * time.Millisecond, MaxBodyBytes: 64 << 10,
		MaxRetries: 2, RetryBase: time.Millisecond, Sleep: sl.sleep, Now: func() time.Time { return now }, RespectRobots: true})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var target = model.Target{ID: "mp-1", Name: "Jane Roe", Aliases: []string{"羅簡", "Jeanne Roé"}}

func serve(t *testing.T, path, file, ct string) *fakeplatform.Web {
	t.Helper()
	b, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	web := fakeplatform.NewWeb()
	t.Cleanup(web.Close)
	web.Set(path, ct, string(b))
	return web
}

func crawl(t *testing.T, src *rss.Source, url, cursor string) crawler.Result {
	t.Helper()
	res, err := src.Crawl(context.Background(), crawler.Request{Target: target, Account: model.Account{Platform: model.RSS, URL: url}, Cursor: cursor, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestRSS2Mentions(t *testing.T) {
	web := serve(t, "/feed/", "news_rss2.xml", "application/rss+xml; charset=UTF-8")
	src := rss.New(newClient(t, nil), rss.Options{})
	feedURL := web.URL() + "/feed/"
	res := crawl(t, src, feedURL, "")
	var ids []string
	for _, r := range res.Replies {
		ids = append(ids, r.ID)
		if r.Kind != model.KindMention || r.Target != "mp-1" || r.Account != feedURL || r.Lang != "en-CA" {
			t.Errorf("reply fields = %+v", r)
		}
	}
	want := []string{"https://news.example/?p=1001", feedURL + "#1003", feedURL + "#1004", feedURL + "#1005"}
	if len(ids) != len(want) {
		t.Fatalf("ids = %v, want %v (Roebuck and weather must not match)", ids, want)
	}
	for i := range want {
		if ids[i] != want[i] {
			t.Errorf("id[%d] = %q, want %q", i, ids[i], want[i])
		}
	}
	r := res.Replies[0]
	if r.Text != "Jane Roe votes for the housing bill\n\nThe MP for Someplace said yes on Friday.\n\nCritics disagreed." ||
		r.URL != "https://news.example/2026/11/28/jane-roe-housing/" || r.Author.Name != "Sam Reporter" ||
		!r.CreatedAt.Equal(time.Date(2026, 11, 28, 8, 30, 0, 0, time.UTC)) {
		t.Errorf("first mention = %+v", r)
	}
	if res.Replies[1].Author.Name != "Riding Daily News" {
		t.Errorf("author falls back to the feed title: %+v", res.Replies[1].Author)
	}

	// Unchanged feed: 304, nothing returned, cursor kept.
	res2 := crawl(t, src, feedURL, res.Cursor)
	if len(res2.Replies) != 0 || res2.Cursor != res.Cursor {
		t.Errorf("unchanged feed returned %d", len(res2.Replies))
	}
	// Changed feed with one new mention: only it comes back.
	web.Set("/feed/", "application/rss+xml", fakeplatform.RSS("Riding Daily News", "https://news.example", []fakeplatform.FeedItem{
		{GUID: "https://news.example/?p=2000", Title: "Jane Roe answers", Link: "https://news.example/2000", Published: now},
		{GUID: "https://news.example/?p=1001", Title: "Jane Roe votes for the housing bill", Link: "https://news.example/2026/11/28/jane-roe-housing/", Published: now.Add(-time.Hour)},
	}))
	res3 := crawl(t, src, feedURL, res2.Cursor)
	if len(res3.Replies) != 1 || res3.Replies[0].ID != "https://news.example/?p=2000" {
		t.Errorf("after update: %+v", res3.Replies)
	}
}

func TestAtomChineseScripts(t *testing.T) {
	web := serve(t, "/atom", "wechat_atom.xml", "application/atom+xml")
	res := crawl(t, rss.New(newClient(t, nil), rss.Options{}), web.URL()+"/atom", "")
	if len(res.Replies) != 1 {
		t.Fatalf("replies = %+v; the Simplified 罗简 must match the Traditional alias 羅簡", res.Replies)
	}
	r := res.Replies[0]
	if r.ID != "urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a" || r.Text != "罗简的真面目\n\n据悉，罗简议员……" ||
		r.Lang != "zh-CN" || !r.CreatedAt.Equal(time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC)) || r.Author.Name != "海外华人资讯" {
		t.Errorf("reply = %+v", r)
	}
}

func TestMatcher(t *testing.T) {
	m := rss.NewMatcher([]string{"Jane Roe", "羅簡", "Jeanne Roé", "O'Neil"})
	tests := []struct {
		text string
		want bool
	}{
		{"jane roe said", true},
		{"JANE\u00a0ROE", true},
		{"Ｊａｎｅ Ｒｏｅ", true}, // full-width
		{"janeroe", false},
		{"Jane Roebuck", false},
		{"MJane Roe", false},
		{"(Jane Roe)", true},
		{"jeanne roe", true},
		{"议员罗简今天", true},
		{"羅簡", true},
		{"罗", false},
		{"o'neil's office", true},
		{"", false},
	}
	for _, tt := range tests {
		if got := m.Match(tt.text); got != tt.want {
			t.Errorf("Match(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}
}

func TestFaults(t *testing.T) {
	feed := fakeplatform.RSS("News", "https://news.example", []fakeplatform.FeedItem{{GUID: "g1", Title: "Jane Roe speaks", Published: now}})
	for _, fc := range fakeplatform.FaultCases("/feed") {
		t.Run(fc.Name, func(t *testing.T) {
			web := fakeplatform.NewWeb()
			defer web.Close()
			web.Set("/feed", "application/rss+xml", feed)
			web.Inject(fc.Fault)
			sl := &sleeps{}
			res, err := rss.New(newClient(t, sl), rss.Options{}).Crawl(context.Background(),
				crawler.Request{Target: target, Account: model.Account{Platform: model.RSS, URL: web.URL() + "/feed"}, Now: now})
			got := ""
			if err != nil {
				got = crawler.KindOf(err).String()
			}
			if got != fc.WantKind {
				t.Fatalf("kind = %q (%v), want %q", got, err, fc.WantKind)
			}
			if fc.WantKind == "" && len(res.Replies) != 1 {
				t.Errorf("replies = %d after recovery", len(res.Replies))
			}
			if fc.WantSleep > 0 && (len(sl.d) == 0 || sl.d[0] != fc.WantSleep) {
				t.Errorf("sleeps = %v", sl.d)
			}
		})
	}
}
