package x

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/crawler"
	"github.com/mpwatch/mpwatch/model"
)

const (
	userID = "1500000000000000001"
	post3  = "1862100000000000003"
	post2  = "1861900000000000002"
	token  = "AAAAAAAAAAAAAAAAAAAAAXtestBearerDISTINCTIVE%2Fq9Zz"
)

var now = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakeX serves the testdata fixtures the way the X API v2 does: bearer
// auth, x-rate-limit-* headers with an epoch reset, next_token paging and
// since_id filtering.
type fakeX struct {
	t    *testing.T
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []*http.Request
	// override answers a request instead of the fixtures when ok.
	override  func(r *http.Request) (status int, hdr http.Header, body []byte, ok bool)
	remaining int
	reset     time.Duration
}

func newFakeX(t *testing.T) *fakeX {
	f := &fakeX{t: t, remaining: 450, reset: 15 * time.Minute}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeX) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.reqs = append(f.reqs, r.Clone(context.Background()))
	f.remaining--
	rem := f.remaining
	f.mu.Unlock()
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("x-rate-limit-limit", "450")
	h.Set("x-rate-limit-remaining", strconv.Itoa(max(rem, 0)))
	h.Set("x-rate-limit-reset", strconv.FormatInt(now.Add(f.reset).Unix(), 10))
	if f.override != nil {
		if st, hdr, body, ok := f.override(r); ok {
			for k, v := range hdr {
				h[k] = v
			}
			w.WriteHeader(st)
			_, _ = w.Write(body)
			return
		}
	}
	if r.Header.Get("Authorization") != "Bearer "+token {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write(fixture(f.t, "error_401.json"))
		return
	}
	q := r.URL.Query()
	switch {
	case r.URL.Path == "/2/users/by/username/JaneDoeMP":
		_, _ = w.Write(fixture(f.t, "user_by_username.json"))
	case strings.HasPrefix(r.URL.Path, "/2/users/by/username/"):
		_, _ = w.Write(fixture(f.t, "user_not_found.json"))
	case r.URL.Path == "/2/users/"+userID+"/tweets":
		if n, _ := strconv.Atoi(q.Get("max_results")); n < 5 || n > 100 {
			f.invalid(w, "max_results")
			return
		}
		if q.Get("since_id") != "" {
			_, _ = w.Write(fixture(f.t, "timeline_empty.json"))
			return
		}
		_, _ = w.Write(fixture(f.t, "timeline.json"))
	case r.URL.Path == "/2/tweets/search/recent":
		if n, _ := strconv.Atoi(q.Get("max_results")); n < 10 || n > 100 {
			f.invalid(w, "max_results")
			return
		}
		if q.Get("since_id") != "" {
			_, _ = w.Write(fixture(f.t, "search_empty.json"))
			return
		}
		switch q.Get("query") {
		case "conversation_id:" + post3:
			if q.Get("next_token") == "b26v89c19zqg8o3fpzhkx1cxwg0j6g6bxiwb2knqc2ku5" {
				_, _ = w.Write(fixture(f.t, "search_p3_page2.json"))
				return
			}
			_, _ = w.Write(fixture(f.t, "search_p3_page1.json"))
		case "conversation_id:" + post2:
			_, _ = w.Write(fixture(f.t, "search_p2.json"))
		default:
			_, _ = w.Write(fixture(f.t, "search_empty.json"))
		}
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"errors":[{"message":"Sorry, that page does not exist","code":34}]}`))
	}
}

func (f *fakeX) invalid(w http.ResponseWriter, param string) {
	w.WriteHeader(http.StatusBadRequest)
	fmt.Fprintf(w, `{"errors":[{"parameters":{"%s":["0"]},"message":"The %s query parameter value is not between 10 and 100"}],"title":"Invalid Request","detail":"One or more parameters to your request was invalid.","type":"https://api.twitter.com/2/problems/invalid-request"}`, param, param)
}

func (f *fakeX) requests() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*http.Request(nil), f.reqs...)
}

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

func newSource(t *testing.T, f *fakeX, retries int, log *slog.Logger) (*Source, *sleeps) {
	t.Helper()
	sl := &sleeps{}
	cl, err := crawler.NewClient(crawler.Options{NoDelay: true, MaxRetries: retries, Sleep: sl.sleep,
		Now: func() time.Time { return now }, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return New(cl, Options{BaseURL: f.srv.URL, Logger: log}), sl
}

func request(cursor string) crawler.Request {
	return crawler.Request{
		Target:  model.Target{ID: "mp-jane-doe", Name: "Jane Doe"},
		Account: model.Account{Platform: model.X, Handle: "JaneDoeMP", Token: model.Secret(token)},
		Cursor:  cursor,
		Now:     now,
	}
}

func TestParseSearch(t *testing.T) {
	post := model.Post{Platform: model.X, ID: post3, Target: "mp-jane-doe", Account: "JaneDoeMP"}
	p, err := ParseSearch(fixture(t, "search_p3_page1.json"), post, userID)
	if err != nil {
		t.Fatal(err)
	}
	if p.Reads != 2 || p.NewestID != "1862150000000000012" || p.NextToken == "" || len(p.Replies) != 2 {
		t.Fatalf("page %+v", p)
	}
	created := time.Date(2026, 11, 20, 3, 14, 7, 0, time.UTC)
	want := model.Reply{
		Platform: model.X, ID: "1862150000000000012", URL: "https://x.com/jpike88213/status/1862150000000000012",
		Kind: model.KindReply, Target: "mp-jane-doe", Account: "JaneDoeMP", PostID: post3, ParentID: post3,
		CreatedAt: time.Date(2026, 11, 28, 11, 2, 45, 0, time.UTC),
		Text:      "@JaneDoeMP Stop lying to us. Everyone knows who you really work for.", Lang: "en",
		Author: model.Author{ID: "1790000000000000777", Handle: "jpike88213", Name: "Jordan Pike",
			URL: "https://x.com/jpike88213", CreatedAt: &created, Followers: 0, Following: 312, Posts: 840, DefaultAvatar: true},
	}
	got := p.Replies[0]
	if got.Author.CreatedAt == nil || !got.Author.CreatedAt.Equal(created) {
		t.Errorf("author created_at %v", got.Author.CreatedAt)
	}
	got.Author.CreatedAt, want.Author.CreatedAt = nil, nil
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Errorf("reply\n got %+v\nwant %+v", got, want)
	}
	if r := p.Replies[1]; r.ParentID != "1862130000000000010" || r.Lang != "zh" || r.Author.DefaultAvatar || r.Author.Name != "王伟" {
		t.Errorf("nested reply %+v", r)
	}

	// The account's own thread continuation is billed but is not a reply.
	p, err = ParseSearch(fixture(t, "search_p3_page2.json"), post, userID)
	if err != nil {
		t.Fatal(err)
	}
	if p.Reads != 2 || len(p.Replies) != 1 || p.Replies[0].Author.ID == userID || p.NextToken != "" {
		t.Errorf("page 2 %+v", p)
	}
	p, err = ParseSearch(fixture(t, "search_empty.json"), post, userID)
	if err != nil || p.Reads != 0 || len(p.Replies) != 0 {
		t.Errorf("empty %+v %v", p, err)
	}
}

func TestParseTimelineAndUser(t *testing.T) {
	p, err := ParseTimeline(fixture(t, "timeline.json"), "mp-jane-doe", "JaneDoeMP")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Posts) != 2 || p.Posts[0].ID != post3 || p.Posts[0].ReplyCount != 3 ||
		p.Posts[0].URL != "https://x.com/JaneDoeMP/status/"+post3 || p.NewestID != post3 || p.Reads != 2 {
		t.Errorf("timeline %+v", p)
	}
	id, name, err := ParseUser(fixture(t, "user_by_username.json"))
	if id != userID || name != "JaneDoeMP" || err != nil {
		t.Errorf("user %q %q %v", id, name, err)
	}
	if _, _, err := ParseUser(fixture(t, "user_not_found.json")); !errors.Is(err, errUserNotFound) || !strings.Contains(err.Error(), "nosuchmp") {
		t.Errorf("not found: %v", err)
	}
}

func TestCrawl(t *testing.T) {
	f := newFakeX(t)
	src, _ := newSource(t, f, -1, nil)
	res, err := src.Crawl(context.Background(), request(""))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range res.Replies {
		ids = append(ids, r.ID)
	}
	// Oldest watched post first.
	want := "1861950000000000020 1862150000000000012 1862140000000000011 1862130000000000010"
	if strings.Join(ids, " ") != want {
		t.Errorf("replies %s\nwant    %s", strings.Join(ids, " "), want)
	}
	if len(res.Posts) != 2 {
		t.Errorf("posts %d", len(res.Posts))
	}
	var sinceIDs []string
	for _, r := range f.requests() {
		if r.Header.Get("Authorization") != "Bearer "+token {
			t.Errorf("%s without bearer", r.URL)
		}
		if r.URL.Path == "/2/tweets/search/recent" {
			q := r.URL.Query()
			if q.Get("expansions") != "author_id" || !strings.Contains(q.Get("user.fields"), "created_at") ||
				!strings.Contains(q.Get("user.fields"), "public_metrics") {
				t.Errorf("search without author expansion: %s", r.URL.RawQuery)
			}
			sinceIDs = append(sinceIDs, q.Get("since_id"))
		}
	}
	if strings.Join(sinceIDs, ",") != ",," {
		t.Errorf("first crawl since_ids %q", sinceIDs)
	}
	cur, err := decodeCursor(res.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	if cur.UserID != userID || cur.NewestID != post3 || cur.Posts[post3].SinceID != "1862150000000000012" ||
		cur.Posts[post2].SinceID != "1861950000000000020" || cur.Day != "2026-11-28" || cur.Reads != 2+1+2+2 {
		t.Errorf("cursor %+v", cur)
	}

	// Second crawl: no user lookup, timeline and searches from the stored ids.
	n := len(f.requests())
	res2, err := src.Crawl(context.Background(), request(res.Cursor))
	if err != nil {
		t.Fatal(err)
	}
	if len(res2.Replies) != 0 {
		t.Errorf("second crawl replies %d", len(res2.Replies))
	}
	for _, r := range f.requests()[n:] {
		q := r.URL.Query()
		switch r.URL.Path {
		case "/2/users/by/username/JaneDoeMP":
			t.Error("user looked up again")
		case "/2/users/" + userID + "/tweets":
			if q.Get("since_id") != post3 {
				t.Errorf("timeline since_id %q", q.Get("since_id"))
			}
		case "/2/tweets/search/recent":
			if q.Get("since_id") == "" {
				t.Errorf("search without since_id: %s", q.Get("query"))
			}
		}
	}
}

func TestSinceIDKeptAcrossPages(t *testing.T) {
	f := newFakeX(t)
	var mu sync.Mutex
	var seen []string
	f.override = func(r *http.Request) (int, http.Header, []byte, bool) {
		q := r.URL.Query()
		if r.URL.Path != "/2/tweets/search/recent" || q.Get("query") != "conversation_id:"+post3 {
			return 0, nil, nil, false
		}
		mu.Lock()
		seen = append(seen, q.Get("since_id")+"|"+q.Get("next_token"))
		mu.Unlock()
		if q.Get("next_token") != "" {
			return 200, nil, fixture(t, "search_p3_page2.json"), true
		}
		return 200, nil, fixture(t, "search_p3_page1.json"), true
	}
	src, _ := newSource(t, f, -1, nil)
	cur := `{"user_id":"` + userID + `","username":"JaneDoeMP","newest_id":"` + post3 + `","posts":{"` + post3 + `":{"created":"2026-11-28T09:00:00Z","since_id":"1862100000000000005"}}}`
	res, err := src.Crawl(context.Background(), request(cur))
	if err != nil {
		t.Fatal(err)
	}
	want := "1862100000000000005|,1862100000000000005|b26v89c19zqg8o3fpzhkx1cxwg0j6g6bxiwb2knqc2ku5"
	if strings.Join(seen, ",") != want {
		t.Errorf("pages asked %v\nwant %s", seen, want)
	}
	c, _ := decodeCursor(res.Cursor)
	if c.Posts[post3].SinceID != "1862150000000000012" {
		t.Errorf("since_id after paging = %q, want page 1's newest_id", c.Posts[post3].SinceID)
	}
}

func TestBudget(t *testing.T) {
	f := newFakeX(t)
	src, _ := newSource(t, f, -1, nil)
	req := request("")
	req.Account.Options = map[string]string{"max_reads_per_day": "12"}

	// 12 reads: the timeline asks for 12 and gets 2, post 2's search asks
	// for 10 and gets 1, post 3 would need a page of at least 10 with 9 left.
	res, err := src.Crawl(context.Background(), req)
	var ce *crawler.Error
	if !errors.Is(err, ErrBudgetExhausted) || !errors.As(err, &ce) || ce.Kind != crawler.KindRateLimited ||
		ce.RetryAfter != 12*time.Hour || !strings.Contains(err.Error(), "3 of 12 post reads") {
		t.Fatalf("err = %v", err)
	}
	if len(res.Replies) != 1 || len(res.Posts) != 2 {
		t.Errorf("partial result: %d replies %d posts", len(res.Replies), len(res.Posts))
	}
	var asked []string
	for _, r := range f.requests() {
		if mr := r.URL.Query().Get("max_results"); mr != "" {
			asked = append(asked, mr)
		}
	}
	if strings.Join(asked, ",") != "12,10" {
		t.Errorf("max_results asked %v, want 12,10", asked)
	}

	// The count survives in the cursor: the same day the budget is still spent.
	n := len(f.requests())
	req.Cursor = res.Cursor
	_, err = src.Crawl(context.Background(), req)
	if !errors.Is(err, ErrBudgetExhausted) {
		t.Fatalf("same day: %v", err)
	}
	// A new UTC day starts a new budget: 12 fresh reads cover the empty
	// timeline, post 2's empty search and post 3's two pages (4 reads).
	req.Now = now.Add(13 * time.Hour)
	res, err = src.Crawl(context.Background(), req)
	if err != nil {
		t.Fatalf("next day: %v", err)
	}
	c, _ := decodeCursor(res.Cursor)
	if c.Day != "2026-11-29" || c.Reads != 4 || len(res.Replies) != 3 {
		t.Errorf("next day: cursor day %q reads %d, %d replies", c.Day, c.Reads, len(res.Replies))
	}
	if len(f.requests()) <= n {
		t.Errorf("no reads on the new day")
	}
}

func TestRateLimitHeaders(t *testing.T) {
	t.Run("remaining zero waits for the epoch reset", func(t *testing.T) {
		f := newFakeX(t)
		f.remaining = 2 // the second response says 0 left
		f.reset = 2 * time.Minute
		src, sl := newSource(t, f, -1, nil)
		if _, err := src.Crawl(context.Background(), request("")); err != nil {
			t.Fatal(err)
		}
		if len(sl.d) == 0 || sl.d[0] != 2*time.Minute {
			t.Errorf("sleeps %v, want a 2m wait for x-rate-limit-reset", sl.d)
		}
	})
	t.Run("a reset too far away stops the crawl with what was read", func(t *testing.T) {
		f := newFakeX(t)
		f.remaining = 3 // the third response (post 2's search) says 0 left
		src, sl := newSource(t, f, -1, nil)
		res, err := src.Crawl(context.Background(), request(""))
		if crawler.KindOf(err) != crawler.KindRateLimited || len(sl.d) != 0 {
			t.Fatalf("err %v, sleeps %v", err, sl.d)
		}
		c, _ := decodeCursor(res.Cursor)
		if len(res.Replies) != 1 || c.Posts[post2].SinceID == "" || c.Posts[post3].SinceID != "" {
			t.Errorf("partial result %d replies, cursor %+v", len(res.Replies), c)
		}
	})
	t.Run("429 honoured then retried", func(t *testing.T) {
		f := newFakeX(t)
		var once sync.Once
		f.override = func(r *http.Request) (int, http.Header, []byte, bool) {
			hit := false
			once.Do(func() { hit = true })
			if !hit {
				return 0, nil, nil, false
			}
			return 429, http.Header{"X-Rate-Limit-Remaining": {"0"}, "X-Rate-Limit-Reset": {strconv.FormatInt(now.Add(2*time.Minute).Unix(), 10)}},
				fixture(t, "error_429.json"), true
		}
		src, sl := newSource(t, f, 2, nil)
		if _, err := src.Crawl(context.Background(), request("")); err != nil {
			t.Fatal(err)
		}
		if len(sl.d) == 0 || sl.d[0] != 2*time.Minute {
			t.Errorf("sleeps %v, want 2m", sl.d)
		}
	})
}

func TestCrawlErrors(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		kind     crawler.Kind
		is       error
		contains []string
	}{
		{"401", 401, "error_401.json", crawler.KindAuth, nil, []string{"@JaneDoeMP", "rejected the bearer token", "Bearer Token", "environment variable"}},
		{"403 not enrolled", 403, "error_403_client_forbidden.json", crawler.KindAuth, nil, []string{"Client Forbidden", "Project"}},
		{"402 credits", 402, "error_402_credits.json", crawler.KindRateLimited, ErrCreditsDepleted, []string{"no API credits"}},
		{"429 problem", 429, "error_429.json", crawler.KindRateLimited, nil, []string{"rate limit"}},
		{"429 code 88", 429, "error_429_v1.json", crawler.KindRateLimited, nil, []string{"code 88"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeX(t)
			f.override = func(r *http.Request) (int, http.Header, []byte, bool) {
				return tc.status, http.Header{"Retry-After": {"3600"}}, fixture(t, tc.body), true
			}
			src, _ := newSource(t, f, -1, nil)
			_, err := src.Crawl(context.Background(), request(""))
			if crawler.KindOf(err) != tc.kind {
				t.Fatalf("kind %v want %v: %v", crawler.KindOf(err), tc.kind, err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("not %v: %v", tc.is, err)
			}
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Errorf("no APIError in %v", err)
			}
			for _, s := range tc.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%q lacks %q", err, s)
				}
			}
		})
	}
	t.Run("unknown user", func(t *testing.T) {
		f := newFakeX(t)
		src, _ := newSource(t, f, -1, nil)
		req := request("")
		req.Account.Handle = "@nosuchmp"
		_, err := src.Crawl(context.Background(), req)
		if crawler.KindOf(err) != crawler.KindNotFound || !strings.Contains(err.Error(), "@nosuchmp does not exist") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("missing token", func(t *testing.T) {
		f := newFakeX(t)
		src, _ := newSource(t, f, -1, nil)
		req := request("")
		req.Account.Token = ""
		_, err := src.Crawl(context.Background(), req)
		if crawler.KindOf(err) != crawler.KindAuth || !strings.Contains(err.Error(), "no bearer token") || len(f.requests()) != 0 {
			t.Errorf("err = %v, %d requests", err, len(f.requests()))
		}
	})
}

func TestTokenNeverLeaks(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cases := []struct {
		status int
		body   string
	}{
		{401, string(fixture(t, "error_401.json"))},
		{403, string(fixture(t, "error_403_client_forbidden.json"))},
		{402, string(fixture(t, "error_402_credits.json"))},
		{429, string(fixture(t, "error_429.json"))},
		{401, `{"title":"Unauthorized","detail":"Bearer {{TOKEN}} is not valid","type":"about:blank","status":401}`},
		{400, `bad request for Authorization: Bearer {{TOKEN}}`},
		{200, `{"data":{"id":"1","username":"JaneDoeMP"}} trailing {{TOKEN}}`},
	}
	for i, tc := range cases {
		f := newFakeX(t)
		f.override = func(r *http.Request) (int, http.Header, []byte, bool) {
			return tc.status, nil, []byte(strings.ReplaceAll(tc.body, "{{TOKEN}}", token)), true
		}
		src, _ := newSource(t, f, 1, log)
		res, err := src.Crawl(context.Background(), request(""))
		if err == nil {
			t.Errorf("case %d: no error", i)
			continue
		}
		for _, s := range []string{err.Error(), fmt.Sprintf("%+v %#v", err, err), fmt.Sprintf("%+v", res)} {
			if strings.Contains(s, token) {
				t.Errorf("case %d: token leaked: %s", i, s)
			}
		}
		log.Error("crawl failed", "error", err, "result", res)
	}
	if logs.Len() == 0 {
		t.Fatal("nothing logged")
	}
	if strings.Contains(logs.String(), token) {
		t.Errorf("token in logs:\n%s", logs.String())
	}
}

func TestSearchPageCap(t *testing.T) {
	f := newFakeX(t)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	cl, err := crawler.NewClient(crawler.Options{NoDelay: true, MaxRetries: -1, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	src := New(cl, Options{BaseURL: f.srv.URL, MaxSearchPages: 1, Logger: log})
	res, err := src.Crawl(context.Background(), request(""))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := decodeCursor(res.Cursor)
	// Page 2 of post 3's conversation is not read, but since_id moves on so
	// the next crawl does not pay for page 1 again.
	if len(res.Replies) != 3 || c.Posts[post3].SinceID != "1862150000000000012" {
		t.Errorf("%d replies, cursor %+v", len(res.Replies), c)
	}
	if !strings.Contains(logs.String(), "max_search_pages") {
		t.Errorf("cap not logged: %s", logs.String())
	}
}

func BenchmarkParseSearch(b *testing.B) {
	body := fixture(b, "search_p3_page1.json")
	post := model.Post{Platform: model.X, ID: post3, Target: "mp-jane-doe", Account: "JaneDoeMP"}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := ParseSearch(body, post, userID); err != nil {
			b.Fatal(err)
		}
	}
}

func TestHandleWithAt(t *testing.T) {
	f := newFakeX(t)
	src, _ := newSource(t, f, -1, nil)
	req := request("")
	req.Account.Handle = "@JaneDoeMP"
	res, err := src.Crawl(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Posts[0].Account != "@JaneDoeMP" || res.Posts[0].URL != "https://x.com/JaneDoeMP/status/"+post3 ||
		res.Replies[0].Account != "@JaneDoeMP" {
		t.Errorf("post %+v reply account %q", res.Posts[0], res.Replies[0].Account)
	}
}
