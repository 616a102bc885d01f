package html_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/crawler"
	"github.com/mpwatch/mpwatch/crawler/html"
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

var wordpress = model.HTMLSelectors{
	Item: "li.comment > article.comment-body", ID: "@id", Text: ".comment-content", Author: ".comment-author .fn",
	Time: "time@datetime", TimeLayout: time.RFC3339, Link: ".comment-metadata a@href", Next: ".nav-previous a@href",
}

func TestWordPressFixture(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var name string
		switch r.URL.Path {
		case "/robots.txt":
			_, _ = w.Write([]byte("User-agent: *\nDisallow: /wp-admin/\n"))
			return
		case "/2026/11/jane-roe-housing/":
			name = "wordpress_page1.html"
		case "/2026/11/jane-roe-housing/comment-page-2/":
			name = "wordpress_page2.html"
		default:
			http.NotFound(w, r)
			return
		}
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Error(err)
		}
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		_, _ = w.Write(b)
	}))
	defer srv.Close()
	page := srv.URL + "/2026/11/jane-roe-housing/"
	src := html.New(newClient(t, nil), html.Options{})
	req := crawler.Request{Target: model.Target{ID: "mp-1"}, Now: now,
		Account: model.Account{Platform: model.HTML, URL: page, HTML: &wordpress}}
	res, err := src.Crawl(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Posts) != 1 || res.Posts[0].Text != "Jane Roe on the housing bill – Riding News" {
		t.Errorf("posts = %+v", res.Posts)
	}
	if len(res.Replies) != 4 {
		t.Fatalf("replies = %d: %+v (want 101, 102, 104 and page two's 90; 103 is empty)", len(res.Replies), res.Replies)
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	r := res.Replies[0]
	want := model.Reply{Platform: model.HTML, ID: host + "/2026/11/jane-roe-housing/#div-comment-101",
		URL: "https://news.example/2026/11/jane-roe-housing/#comment-101", Kind: model.KindReply, Target: "mp-1",
		Account: page, PostID: page, CreatedAt: time.Date(2026, 11, 27, 10, 15, 0, 0, time.UTC),
		Text:   "She should resign — now.\nSecond line.\n\nSecond paragraph with a link.",
		Author: model.Author{ID: host + ":john & mary", Handle: "John & Mary", Name: "John & Mary"}}
	if r != want {
		t.Errorf("reply\n got %+v\nwant %+v", r, want)
	}
	if got := res.Replies[1].Text; got != "Invalid byte here: A \uFFFD ok" {
		t.Errorf("invalid UTF-8 text = %q", got)
	}
	if res.Replies[2].Text != "No readable time." || !res.Replies[2].CreatedAt.Equal(now) {
		t.Errorf("unreadable time must keep the crawl time: %+v", res.Replies[2])
	}
	if res.Replies[3].Text != "First page two comment" {
		t.Errorf("page two = %+v", res.Replies[3])
	}

	req.Cursor = res.Cursor
	res2, err := src.Crawl(context.Background(), req)
	if err != nil || len(res2.Replies) != 0 {
		t.Errorf("re-crawl returned %d seen comments (%v)", len(res2.Replies), err)
	}
}

func comments(n int) []fakeplatform.Comment {
	var cs []fakeplatform.Comment
	for i := range n {
		cs = append(cs, fakeplatform.Comment{ID: "c" + string(rune('a'+i)), Author: "user" + string(rune('a'+i)),
			Time: now.Add(-time.Duration(i) * time.Hour), HTML: "<p>comment <i>" + string(rune('a'+i)) + "</i></p>"})
	}
	return cs
}

func TestConditionalAndIncremental(t *testing.T) {
	web := fakeplatform.NewWeb()
	defer web.Close()
	web.Set("/article", "text/html", fakeplatform.CommentsPage("Article", comments(3), ""))
	src := html.New(newClient(t, nil), html.Options{})
	sel := fakeplatform.CommentSelectors
	req := crawler.Request{Target: model.Target{ID: "mp-1"}, Now: now, Account: model.Account{Platform: model.HTML, URL: web.URL() + "/article", HTML: &sel}}
	res, err := src.Crawl(context.Background(), req)
	if err != nil || len(res.Replies) != 3 {
		t.Fatalf("first: %d, %v", len(res.Replies), err)
	}
	if res.Replies[0].Text != "comment a" || res.Replies[0].Author.Handle != "usera" || !res.Replies[0].CreatedAt.Equal(now) {
		t.Errorf("reply = %+v", res.Replies[0])
	}
	req.Cursor = res.Cursor
	res2, err := src.Crawl(context.Background(), req)
	if err != nil || len(res2.Replies) != 0 || res2.Cursor != res.Cursor {
		t.Fatalf("unchanged page: %d replies, cursor kept %v, %v", len(res2.Replies), res2.Cursor == res.Cursor, err)
	}
	web.Set("/article", "text/html", fakeplatform.CommentsPage("Article", comments(4), ""))
	res3, err := src.Crawl(context.Background(), req)
	if err != nil || len(res3.Replies) != 1 || res3.Replies[0].Text != "comment d" {
		t.Fatalf("after one new comment: %+v, %v", res3.Replies, err)
	}
}

func TestRobotsDisallow(t *testing.T) {
	web := fakeplatform.NewWeb()
	defer web.Close()
	web.Set("/robots.txt", "text/plain", "User-agent: mpwatch\nDisallow: /private/\n\nUser-agent: *\nAllow: /\n")
	web.Set("/private/page", "text/html", fakeplatform.CommentsPage("Private", comments(2), ""))
	sel := fakeplatform.CommentSelectors
	req := crawler.Request{Now: now, Account: model.Account{Platform: model.HTML, URL: web.URL() + "/private/page", HTML: &sel}}
	_, err := html.New(newClient(t, nil), html.Options{}).Crawl(context.Background(), req)
	if crawler.KindOf(err) != crawler.KindForbiddenByRobots || !strings.Contains(err.Error(), "/private/page") {
		t.Fatalf("err = %v", err)
	}
	if web.Requests("/private/") != 0 {
		t.Error("a disallowed page was fetched")
	}
}

func TestFaults(t *testing.T) {
	for _, fc := range fakeplatform.FaultCases("/article") {
		t.Run(fc.Name, func(t *testing.T) {
			web := fakeplatform.NewWeb()
			defer web.Close()
			web.Set("/article", "text/html", fakeplatform.CommentsPage("Article", comments(3), "/article2"))
			web.Set("/article2", "text/html", fakeplatform.CommentsPage("Article 2", comments(5)[3:], ""))
			web.Inject(fc.Fault)
			sl := &sleeps{}
			sel := fakeplatform.CommentSelectors
			req := crawler.Request{Now: now, Account: model.Account{Platform: model.HTML, URL: web.URL() + "/article", HTML: &sel}}
			res, err := html.New(newClient(t, sl), html.Options{}).Crawl(context.Background(), req)
			got := ""
			if err != nil {
				got = crawler.KindOf(err).String()
			}
			if got != fc.WantKind {
				t.Fatalf("kind = %q (%v), want %q", got, err, fc.WantKind)
			}
			if fc.WantKind == "" && len(res.Replies) != 5 {
				t.Errorf("replies = %d after recovery, want 5", len(res.Replies))
			}
			if fc.WantSleep > 0 && (len(sl.d) == 0 || sl.d[0] != fc.WantSleep) {
				t.Errorf("sleeps = %v", sl.d)
			}
		})
	}
	t.Run("second-page-fails", func(t *testing.T) {
		web := fakeplatform.NewWeb()
		defer web.Close()
		web.Set("/article", "text/html", fakeplatform.CommentsPage("Article", comments(3), "/article2"))
		sel := fakeplatform.CommentSelectors
		req := crawler.Request{Now: now, Account: model.Account{Platform: model.HTML, URL: web.URL() + "/article", HTML: &sel}}
		res, err := html.New(newClient(t, nil), html.Options{}).Crawl(context.Background(), req)
		if crawler.KindOf(err) != crawler.KindNotFound || len(res.Replies) != 3 || res.Cursor == "" {
			t.Fatalf("page one must be kept when page two fails: %d replies, %v", len(res.Replies), err)
		}
	})
}

func TestNextLinkStaysOnSite(t *testing.T) {
	other := fakeplatform.NewWeb()
	defer other.Close()
	other.Set("/elsewhere", "text/html", fakeplatform.CommentsPage("Other", comments(2), ""))
	web := fakeplatform.NewWeb()
	defer web.Close()
	web.Set("/article", "text/html", fakeplatform.CommentsPage("Article", comments(1), other.URL()+"/elsewhere"))
	sel := fakeplatform.CommentSelectors
	req := crawler.Request{Now: now, Account: model.Account{Platform: model.HTML, URL: web.URL() + "/article", HTML: &sel}}
	res, err := html.New(newClient(t, nil), html.Options{}).Crawl(context.Background(), req)
	if err != nil || len(res.Replies) != 1 || other.Requests("/elsewhere") != 0 {
		t.Fatalf("followed a next link off the site: %d replies, %d requests, %v", len(res.Replies), other.Requests("/elsewhere"), err)
	}
}
