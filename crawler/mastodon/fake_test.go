package mastodon_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/crawler"
	"github.com/mpwatch/mpwatch/crawler/mastodon"
	"github.com/mpwatch/mpwatch/internal/fakeplatform"
	"github.com/mpwatch/mpwatch/model"
)

var t0 = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

type world struct {
	m       *fakeplatform.Mastodon
	handle  string
	first   string // newest post, with a nested thread
	paged   string // a post on the second status page
	replies int
}

func newWorld(t *testing.T, opts fakeplatform.MastodonOptions) *world {
	t.Helper()
	opts.Now = func() time.Time { return t0 }
	m := fakeplatform.NewMastodon(opts)
	t.Cleanup(m.Close)
	m.AddAccount(fakeplatform.MastodonAccount{Username: "mp", Followers: 5000})
	m.AddAccount(fakeplatform.MastodonAccount{Username: "alice", Followers: 10, CreatedAt: t0.Add(-400 * 24 * time.Hour)})
	m.AddAccount(fakeplatform.MastodonAccount{Username: "bot4821", Bot: true, DefaultAvatar: true, CreatedAt: t0.Add(-48 * time.Hour)})
	w := &world{m: m, handle: "@mp@" + m.Host()}
	m.AddStatus("mp", t0.Add(-100*time.Hour), "<p>too old</p>")
	var ids []string
	for i := 44; i >= 0; i-- {
		ids = append(ids, m.AddStatus("mp", t0.Add(-time.Hour-time.Duration(i)*time.Minute), fmt.Sprintf("<p>post %d</p>", i)))
	}
	m.AddReblog("mp", ids[0], t0.Add(-10*time.Minute))
	w.first, w.paged = ids[len(ids)-1], ids[0]
	r1 := m.AddReply(w.first, "alice", t0.Add(-50*time.Minute), `<p><span class="h-card"><a href="x" class="u-url mention">@<span>mp</span></a></span> shame &amp; disgrace<br>resign</p>`)
	m.AddReply(w.first, "bot4821", t0.Add(-49*time.Minute), "<p>resign now</p>")
	m.AddReply(r1, "bot4821", t0.Add(-48*time.Minute), "<p>agreed</p>")
	m.AddReply(r1, "mp", t0.Add(-47*time.Minute), "<p>thanks for the feedback</p>")
	m.AddReply(w.paged, "alice", t0.Add(-40*time.Minute), "<p>old post reply</p>")
	w.replies = 4
	return w
}

func TestPaginationThreadAndIncremental(t *testing.T) {
	w := newWorld(t, fakeplatform.MastodonOptions{})
	c := newClient(t, nil, t0)
	src := mastodon.New(c, mastodon.Options{Scheme: "http"})
	ctx := context.Background()

	res, err := src.Crawl(ctx, request(w.handle, "", t0))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Posts) != 45 {
		t.Errorf("posts = %d, want 45 (not the old one, not the reblog)", len(res.Posts))
	}
	if n := w.m.Requests("/api/v1/accounts/"); n != 3 { // lookup + 2 status pages
		t.Errorf("account requests = %d, want 3", n)
	}
	if len(res.Replies) != w.replies {
		t.Fatalf("replies = %d, want %d: %+v", len(res.Replies), w.replies, res.Replies)
	}
	byText := map[string]model.Reply{}
	for _, r := range res.Replies {
		byText[r.Text] = r
	}
	alice := byText["@mp shame & disgrace\nresign"]
	if alice.ID == "" || alice.ParentID != w.first || alice.PostID != w.first {
		t.Fatalf("alice's reply = %+v", alice)
	}
	if nested := byText["agreed"]; nested.ParentID != alice.ID || nested.PostID != w.first {
		t.Errorf("nested reply parent = %q post = %q, want %q under %q", nested.ParentID, nested.PostID, alice.ID, w.first)
	}
	if b := byText["resign now"].Author; !b.Bot || !b.DefaultAvatar || b.CreatedAt == nil || !b.CreatedAt.Equal(t0.Add(-48*time.Hour).Truncate(24*time.Hour)) {
		t.Errorf("bot author signals = %+v", b)
	}
	if _, ok := byText["thanks for the feedback"]; ok {
		t.Error("the watched account's own reply was collected")
	}

	// Later, nothing changed and the posts are past the re-scan window:
	// no thread is read and nothing is returned.
	later := t0.Add(7 * time.Hour)
	ctxBefore := w.m.Requests("/api/v1/statuses/")
	res2, err := src.Crawl(ctx, crawler.Request{Target: model.Target{ID: "mp-1"}, Account: model.Account{Platform: model.Mastodon, Handle: w.handle}, Cursor: res.Cursor, Now: later})
	if err != nil {
		t.Fatal(err)
	}
	if len(res2.Replies) != 0 || w.m.Requests("/api/v1/statuses/") != ctxBefore {
		t.Errorf("second crawl: %d replies, %d thread reads; want none", len(res2.Replies), w.m.Requests("/api/v1/statuses/")-ctxBefore)
	}
	if w.m.Requests("/api/v1/accounts/lookup") != 1 {
		t.Error("account id was looked up again instead of read from the cursor")
	}

	// A new reply moves replies_count: only that thread is read.
	w.m.AddReply(w.paged, "bot4821", later.Add(-time.Minute), "<p>new one</p>")
	res3, err := src.Crawl(ctx, crawler.Request{Target: model.Target{ID: "mp-1"}, Account: model.Account{Platform: model.Mastodon, Handle: w.handle}, Cursor: res2.Cursor, Now: later})
	if err != nil {
		t.Fatal(err)
	}
	if got := w.m.Requests("/api/v1/statuses/") - ctxBefore; got != 1 {
		t.Errorf("thread reads = %d, want 1", got)
	}
	found := false
	for _, r := range res3.Replies {
		found = found || r.Text == "new one"
		if r.PostID != w.paged {
			t.Errorf("reply from an unchanged thread returned: %+v", r)
		}
	}
	if !found {
		t.Errorf("new reply not returned: %+v", res3.Replies)
	}
}

func TestFreshPostsRescannedWithoutRepeats(t *testing.T) {
	w := newWorld(t, fakeplatform.MastodonOptions{GoToSocial: true})
	src := mastodon.New(newClient(t, nil, t0), mastodon.Options{Scheme: "http"})
	res, err := src.Crawl(context.Background(), request(w.handle, "", t0))
	if err != nil || len(res.Replies) != w.replies {
		t.Fatalf("first crawl: %d replies, %v", len(res.Replies), err)
	}
	if len(res.Replies[0].ID) != 26 {
		t.Errorf("GoToSocial id %q is not a ULID", res.Replies[0].ID)
	}
	before := w.m.Requests("/api/v1/statuses/")
	req := request(w.handle, "", t0.Add(time.Minute))
	req.Cursor = res.Cursor
	res2, err := src.Crawl(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if w.m.Requests("/api/v1/statuses/") == before {
		t.Error("fresh posts with replies were not re-read")
	}
	if len(res2.Replies) != 0 {
		t.Errorf("re-scan returned %d already-seen replies", len(res2.Replies))
	}
}

func TestInstanceToken(t *testing.T) {
	w := newWorld(t, fakeplatform.MastodonOptions{GoToSocial: true, Token: "s3cret"})
	host := w.m.Host()
	_, err := mastodon.New(newClient(t, nil, t0), mastodon.Options{Scheme: "http"}).Crawl(context.Background(), request(w.handle, "", t0))
	if crawler.KindOf(err) != crawler.KindAuth || !strings.Contains(err.Error(), "crawler.instances."+host+".token") {
		t.Fatalf("without token: %v", err)
	}
	src := mastodon.New(newClient(t, nil, t0), mastodon.Options{Scheme: "http", Tokens: map[string]model.Secret{host: "s3cret"}})
	res, err := src.Crawl(context.Background(), request(w.handle, "", t0))
	if err != nil || len(res.Replies) != w.replies {
		t.Fatalf("with instance token: %d replies, %v", len(res.Replies), err)
	}
	req := request(w.handle, "", t0)
	req.Account.Token = "wrong"
	_, err = src.Crawl(context.Background(), req)
	if crawler.KindOf(err) != crawler.KindAuth || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("account token must win over the instance token: %v", err)
	}
}

func TestFaults(t *testing.T) {
	for _, fc := range fakeplatform.FaultCases("/api/v1/statuses/") {
		t.Run(fc.Name, func(t *testing.T) {
			w := newWorld(t, fakeplatform.MastodonOptions{})
			w.m.Inject(fc.Fault)
			sl := &sleeps{}
			src := mastodon.New(newClient(t, sl, t0), mastodon.Options{Scheme: "http"})
			res, err := src.Crawl(context.Background(), request(w.handle, "", t0))
			if got := kindName(err); got != fc.WantKind {
				t.Fatalf("kind = %q (%v), want %q", got, err, fc.WantKind)
			}
			if len(res.Posts) != 45 {
				t.Errorf("posts = %d: the good part was lost", len(res.Posts))
			}
			if err != nil && !strings.Contains(err.Error(), w.m.URL()) {
				t.Errorf("error does not name the URL: %v", err)
			}
			if fc.WantKind == "" && len(res.Replies) != w.replies {
				t.Errorf("replies = %d after recovery, want %d", len(res.Replies), w.replies)
			}
			if fc.WantSleep > 0 && (len(sl.d) == 0 || sl.d[0] != fc.WantSleep) {
				t.Errorf("sleeps = %v, want %v first (Retry-After honoured)", sl.d, fc.WantSleep)
			}
		})
	}
}

func kindName(err error) string {
	if err == nil {
		return ""
	}
	return crawler.KindOf(err).String()
}

func TestInvalidUTF8AndUnknownFields(t *testing.T) {
	w := newWorld(t, fakeplatform.MastodonOptions{})
	body := `{"ancestors":[],"descendants":[{"id":"9","created_at":"2026-03-02T11:30:00.000Z","in_reply_to_id":"` + w.first +
		`","content":"<p>bad ` + "\xff" + ` byte</p>","language":null,"url":null,"uri":"https://elsewhere.example/s/9","future_field":{"x":[1,2]},` +
		`"account":{"id":"77","acct":"zed@elsewhere.example","avatar":"https://elsewhere.example/avatars/original/missing.png","created_at":"2026-03-01T00:00:00.000Z"}}]}`
	w.m.Inject(fakeplatform.Fault{Path: "/api/v1/statuses/" + w.first + "/context", Body: body})
	src := mastodon.New(newClient(t, nil, t0), mastodon.Options{Scheme: "http"})
	res, err := src.Crawl(context.Background(), request(w.handle, "", t0))
	if err != nil {
		t.Fatal(err)
	}
	var got *model.Reply
	for i := range res.Replies {
		if res.Replies[i].ID == "9" {
			got = &res.Replies[i]
		}
	}
	if got == nil {
		t.Fatalf("reply with invalid UTF-8 dropped: %+v", res.Replies)
	}
	if got.Text != "bad \uFFFD byte" || got.URL != "https://elsewhere.example/s/9" || got.Author.ID != "zed@elsewhere.example" || !got.Author.DefaultAvatar {
		t.Errorf("reply = %+v", *got)
	}
}

func TestRateLimitIsWaitedOutNotHammered(t *testing.T) {
	w := newWorld(t, fakeplatform.MastodonOptions{RateLimit: 3})
	sl := &sleeps{}
	src := mastodon.New(newClient(t, sl, t0), mastodon.Options{Scheme: "http"})
	before := w.m.Requests("/")
	_, err := src.Crawl(context.Background(), request(w.handle, "", t0))
	if crawler.KindOf(err) != crawler.KindRateLimited {
		t.Fatalf("err = %v", err)
	}
	// The server's window resets at 12:05: every wait is until then.
	for _, d := range sl.d {
		if d != 5*time.Minute {
			t.Errorf("waited %v, want 5m (the X-RateLimit-Reset)", d)
		}
	}
	if len(sl.d) == 0 {
		t.Error("never waited for the rate limit")
	}
	if n := w.m.Requests("/") - before; n > 3+3 {
		t.Errorf("%d requests against a budget of 3: hammering", n)
	}
}

func TestNoindexAuthorsSkipped(t *testing.T) {
	w := newWorld(t, fakeplatform.MastodonOptions{})
	w.m.AddAccount(fakeplatform.MastodonAccount{Username: "private", Noindex: true})
	w.m.AddReply(w.first, "private", t0.Add(-10*time.Minute), "<p>do not index me</p>")
	res, err := mastodon.New(newClient(t, nil, t0), mastodon.Options{Scheme: "http"}).Crawl(context.Background(), request(w.handle, "", t0))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Replies {
		if r.Text == "do not index me" {
			t.Error("reply by a noindex author collected")
		}
	}
	if len(res.Replies) != w.replies {
		t.Errorf("replies = %d, want %d", len(res.Replies), w.replies)
	}
}
