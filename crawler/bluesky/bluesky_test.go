package bluesky_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/crawler"
	"github.com/mpwatch/mpwatch/crawler/bluesky"
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

func newClient(t *testing.T, sl *sleeps, now time.Time) *crawler.Client {
	t.Helper()
	if sl == nil {
		sl = &sleeps{}
	}
	c, err := crawler.NewClient(crawler.Options{NoDelay: true, Timeout: 300 * time.Millisecond, MaxBodyBytes: 64 << 10,
		MaxRetries: 2, RetryBase: time.Millisecond, Sleep: sl.sleep, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const root = "at://did:plc:z72i7hdynmk6r22z27h6tvur/app.bsky.feed.post/3lbtqxyzabc2k"

func TestFixtures(t *testing.T) {
	var threadReqs []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		q := r.URL.Query()
		switch r.URL.Path {
		case "/xrpc/app.bsky.actor.getProfile":
			if q.Get("actor") != "jane-roe-mp.bsky.social" {
				w.WriteHeader(400)
				_, _ = w.Write(fixture(t, "profile_notfound_400.json"))
				return
			}
			_, _ = w.Write(fixture(t, "profile.json"))
		case "/xrpc/app.bsky.feed.getAuthorFeed":
			if q.Get("actor") != "did:plc:z72i7hdynmk6r22z27h6tvur" || q.Get("filter") != "posts_no_replies" {
				t.Errorf("author feed query = %v", q)
			}
			if q.Get("cursor") != "" {
				_, _ = w.Write([]byte(`{"feed":[]}`))
				return
			}
			_, _ = w.Write(fixture(t, "author_feed.json"))
		case "/xrpc/app.bsky.feed.getPostThread":
			threadReqs = append(threadReqs, q.Get("uri"))
			if q.Get("uri") != root {
				w.WriteHeader(400)
				_, _ = w.Write(fixture(t, "notfound_400.json"))
				return
			}
			if q.Get("depth") == "" || q.Get("parentHeight") != "0" {
				t.Errorf("thread query = %v", q)
			}
			_, _ = w.Write(fixture(t, "thread.json"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	src := bluesky.New(newClient(t, nil, now), bluesky.Options{BaseURL: srv.URL})
	req := crawler.Request{Target: model.Target{ID: "mp-1"}, Account: model.Account{Platform: model.Bluesky, Handle: "jane-roe-mp.bsky.social"}, Now: now}
	res, err := src.Crawl(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Posts) != 1 || res.Posts[0].ID != root || res.Posts[0].URL != "https://bsky.app/profile/did:plc:z72i7hdynmk6r22z27h6tvur/post/3lbtqxyzabc2k" {
		t.Fatalf("posts = %+v (the pinned old post and the repost must be skipped)", res.Posts)
	}
	if len(threadReqs) != 1 {
		t.Errorf("thread requests = %v", threadReqs)
	}
	got := map[string]model.Reply{}
	for _, r := range res.Replies {
		got[r.Text] = r
	}
	if len(res.Replies) != 3 {
		t.Fatalf("replies = %+v; want 3 (not the MP's own, not notFound/blocked/!no-unauthenticated/unknown)", res.Replies)
	}
	r1 := got["Traitor. Resign.\nNow."]
	if r1.ParentID != root || r1.PostID != root || r1.Lang != "en" || !r1.Author.Bot || !r1.Author.DefaultAvatar ||
		r1.Author.Handle != "patriot84729.bsky.social" || r1.Author.CreatedAt == nil || r1.Kind != model.KindReply ||
		r1.URL != "https://bsky.app/profile/did:plc:aaaa1111aaaa1111aaaa1111/post/3lbtr00000001" {
		t.Errorf("r1 = %+v", r1)
	}
	if r2 := got["That is not fair."]; r2.ParentID != r1.ID || r2.Author.DefaultAvatar || r2.Author.Bot {
		t.Errorf("r2 = %+v", r2)
	}
	if r4 := got["No."]; r4.ParentID != "at://did:plc:z72i7hdynmk6r22z27h6tvur/app.bsky.feed.post/3lbtr00000003" || r4.PostID != root {
		t.Errorf("reply under the MP's own reply = %+v", r4)
	}

	req.Account.Handle = "nobody.bsky.social"
	_, err = src.Crawl(context.Background(), req)
	if crawler.KindOf(err) != crawler.KindNotFound || !strings.Contains(err.Error(), "Profile not found") {
		t.Errorf("unknown profile: %v", err)
	}
}

var t0 = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

type world struct {
	b       *fakeplatform.Bluesky
	first   string
	old     string
	replies int
}

func newWorld(t *testing.T) *world {
	b := fakeplatform.NewBluesky()
	t.Cleanup(b.Close)
	b.AddProfile(fakeplatform.BlueskyProfile{Handle: "mp.test", DisplayName: "MP"})
	b.AddProfile(fakeplatform.BlueskyProfile{Handle: "alice.test", Followers: 3})
	b.AddProfile(fakeplatform.BlueskyProfile{Handle: "bot.test", Bot: true, NoAvatar: true})
	b.AddProfile(fakeplatform.BlueskyProfile{Handle: "shy.test", NoUnauthenticated: true})
	w := &world{b: b}
	b.AddPost("mp.test", t0.Add(-200*time.Hour), "ancient")
	var ids []string
	for i := 59; i >= 0; i-- {
		ids = append(ids, b.AddPost("mp.test", t0.Add(-time.Hour-time.Duration(i)*time.Minute), fmt.Sprintf("post %d", i)))
	}
	w.first, w.old = ids[len(ids)-1], ids[0]
	r1 := b.AddReply(w.first, "alice.test", t0.Add(-30*time.Minute), "first!")
	b.AddReply(r1, "bot.test", t0.Add(-29*time.Minute), "nested")
	b.AddReply(r1, "shy.test", t0.Add(-28*time.Minute), "hidden")
	b.AddNotFound(w.first)
	b.AddBlocked(w.first, "alice.test")
	b.AddReply(w.old, "bot.test", t0.Add(-20*time.Minute), "on page two")
	w.replies = 3
	return w
}

func req(cursor string, now time.Time) crawler.Request {
	return crawler.Request{Target: model.Target{ID: "mp-1"}, Account: model.Account{Platform: model.Bluesky, Handle: "mp.test"}, Cursor: cursor, Now: now}
}

func TestFakePaginationAndIncremental(t *testing.T) {
	w := newWorld(t)
	src := bluesky.New(newClient(t, nil, t0), bluesky.Options{BaseURL: w.b.URL()})
	ctx := context.Background()
	res, err := src.Crawl(ctx, req("", t0))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Posts) != 60 || w.b.Requests("/xrpc/app.bsky.feed.getAuthorFeed") != 2 {
		t.Errorf("posts = %d over %d feed pages; want 60 over 2", len(res.Posts), w.b.Requests("/xrpc/app.bsky.feed.getAuthorFeed"))
	}
	if len(res.Replies) != w.replies {
		t.Fatalf("replies = %+v", res.Replies)
	}
	later := t0.Add(8 * time.Hour)
	before := w.b.Requests("/xrpc/app.bsky.feed.getPostThread")
	res2, err := src.Crawl(ctx, req(res.Cursor, later))
	if err != nil || len(res2.Replies) != 0 || w.b.Requests("/xrpc/app.bsky.feed.getPostThread") != before {
		t.Fatalf("second crawl: %d replies, %d thread reads, %v", len(res2.Replies), w.b.Requests("/xrpc/app.bsky.feed.getPostThread")-before, err)
	}
	w.b.AddReply(w.old, "alice.test", later.Add(-time.Minute), "late reply")
	res3, err := src.Crawl(ctx, req(res2.Cursor, later))
	if err != nil {
		t.Fatal(err)
	}
	if len(res3.Replies) != 2 || w.b.Requests("/xrpc/app.bsky.feed.getPostThread")-before != 1 {
		t.Errorf("third crawl: %+v", res3.Replies)
	}
}

func TestNoUnauthenticatedAccount(t *testing.T) {
	w := newWorld(t)
	src := bluesky.New(newClient(t, nil, t0), bluesky.Options{BaseURL: w.b.URL()})
	r := req("", t0)
	r.Account.Handle = "shy.test"
	_, err := src.Crawl(context.Background(), r)
	if crawler.KindOf(err) != crawler.KindForbiddenByRobots || !strings.Contains(err.Error(), "!no-unauthenticated") {
		t.Fatalf("err = %v", err)
	}
	if w.b.Requests("/xrpc/app.bsky.feed.") != 0 {
		t.Error("posts of an opted-out account were read")
	}
}

func TestFaults(t *testing.T) {
	for _, fc := range fakeplatform.FaultCases("/xrpc/app.bsky.feed.getPostThread") {
		t.Run(fc.Name, func(t *testing.T) {
			w := newWorld(t)
			w.b.Inject(fc.Fault)
			sl := &sleeps{}
			src := bluesky.New(newClient(t, sl, t0), bluesky.Options{BaseURL: w.b.URL()})
			res, err := src.Crawl(context.Background(), req("", t0))
			got := ""
			if err != nil {
				got = crawler.KindOf(err).String()
			}
			if got != fc.WantKind {
				t.Fatalf("kind = %q (%v), want %q", got, err, fc.WantKind)
			}
			if len(res.Posts) != 60 {
				t.Errorf("posts = %d: the good part was lost", len(res.Posts))
			}
			if fc.WantKind == "" && len(res.Replies) != w.replies {
				t.Errorf("replies = %d after recovery", len(res.Replies))
			}
			if fc.WantSleep > 0 && (len(sl.d) == 0 || sl.d[0] != fc.WantSleep) {
				t.Errorf("sleeps = %v, want %v", sl.d, fc.WantSleep)
			}
		})
	}
}
