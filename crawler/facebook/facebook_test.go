package facebook

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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/crawler"
	"github.com/mpwatch/mpwatch/model"
)

const (
	pageID = "104381512345678"
	post3  = "104381512345678_122110000000000003"
	post2  = "104381512345678_122110000000000002"
	token  = "EAAGfbTESTtokenZX9q7Lm2VdistinctiveSECRET"
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

// graph is a fake Graph API serving the testdata fixtures. Like Graph, it
// accepts the token from the Authorization header or access_token, and its
// paging.next links embed access_token.
type graph struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []*http.Request
	routes map[string][]string // path -> fixtures, by "after" cursor order
	// override returns a status, headers and body for a path, or ok=false.
	override func(r *http.Request) (status int, hdr http.Header, body []byte, ok bool)
	usage    string // X-Business-Use-Case-Usage on every answer
}

func newGraph(t *testing.T) *graph {
	g := &graph{t: t, routes: map[string][]string{
		"/v21.0/" + pageID + "/posts":   {"posts_page1.json", "posts_page2.json"},
		"/v21.0/" + post3 + "/comments": {"comments_p3_page1.json", "comments_p3_page2.json"},
		"/v21.0/" + post2 + "/comments": {"comments_p2.json"},
	}}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *graph) serve(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	g.reqs = append(g.reqs, r.Clone(context.Background()))
	g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	if g.usage != "" {
		w.Header().Set("X-Business-Use-Case-Usage", g.usage)
	}
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if tok == "" {
		tok = r.URL.Query().Get("access_token")
	}
	if g.override != nil {
		if st, hdr, body, ok := g.override(r); ok {
			for k, v := range hdr {
				w.Header()[k] = v
			}
			w.WriteHeader(st)
			_, _ = w.Write(g.fill(body, tok))
			return
		}
	}
	switch {
	case tok == "":
		w.Header().Set("WWW-Authenticate", `OAuth "Facebook Platform" "invalid_request" "An access token is required to request this resource."`)
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(fixture(g.t, "error_no_token.json"))
		return
	case tok != token:
		w.Header().Set("WWW-Authenticate", `OAuth "Facebook Platform" "invalid_token" "Malformed access token"`)
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(g.fill(fixture(g.t, "error_malformed_token.json"), tok))
		return
	}
	files, ok := g.routes[r.URL.Path]
	if !ok {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(fixture(g.t, "error_not_found.json"))
		return
	}
	i := 0
	if r.URL.Query().Get("after") != "" {
		i = 1
	}
	if i >= len(files) {
		_, _ = w.Write(fixture(g.t, "comments_empty.json"))
		return
	}
	_, _ = w.Write(g.fill(fixture(g.t, files[i]), tok))
}

func (g *graph) fill(b []byte, tok string) []byte {
	b = bytes.ReplaceAll(b, []byte("{{BASE}}"), []byte(g.srv.URL))
	return bytes.ReplaceAll(b, []byte("{{TOKEN}}"), []byte(tok))
}

func (g *graph) requests() []*http.Request {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]*http.Request(nil), g.reqs...)
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

func newSource(t *testing.T, g *graph, log *slog.Logger) (*Source, *sleeps) {
	t.Helper()
	sl := &sleeps{}
	cl, err := crawler.NewClient(crawler.Options{NoDelay: true, MaxRetries: -1, Sleep: sl.sleep,
		Now: func() time.Time { return now }, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return New(cl, Options{BaseURL: g.srv.URL, Logger: log}), sl
}

func request(cursor string) crawler.Request {
	return crawler.Request{
		Target:  model.Target{ID: "mp-jane-doe", Name: "Jane Doe"},
		Account: model.Account{Platform: model.Facebook, Handle: pageID, Token: model.Secret(token)},
		Cursor:  cursor,
		Now:     now,
	}
}

func TestParseComments(t *testing.T) {
	post := model.Post{Platform: model.Facebook, ID: post3, Target: "mp-jane-doe", Account: pageID}
	cp, err := ParseComments(fixture(t, "comments_p3_page1.json"), post)
	if err != nil {
		t.Fatal(err)
	}
	if len(cp.Replies) != 2 {
		t.Fatalf("got %d replies, want 2", len(cp.Replies))
	}
	r := cp.Replies[0]
	want := model.Reply{
		Platform: model.Facebook, ID: "122110000000000003_998877665544332",
		URL:  "https://www.facebook.com/104381512345678/posts/122110000000000003?comment_id=998877665544332",
		Kind: model.KindReply, Target: "mp-jane-doe", Account: pageID, PostID: post3,
		ParentID:  "122110000000000003_998877665544330",
		CreatedAt: time.Date(2026, 11, 28, 11, 2, 45, 0, time.UTC),
		Text:      "Stop lying to us. Everyone knows who you really work for.",
		Author:    model.Author{ID: "7400112233445566", Name: "Jordan Pike"},
	}
	if fmt.Sprintf("%+v", r) != fmt.Sprintf("%+v", want) {
		t.Errorf("reply\n got %+v\nwant %+v", r, want)
	}
	// A top-level comment without from (what PPCA apps get) keeps an empty
	// author and hangs off the post.
	r = cp.Replies[1]
	if r.Author != (model.Author{}) || r.ParentID != post3 || !strings.HasPrefix(r.Text, "给我们一个解释") {
		t.Errorf("second reply = %+v", r)
	}
	if !strings.Contains(cp.Next, "after=WTI5") || !cp.Oldest.Equal(time.Date(2026, 11, 28, 10, 55, 0, 0, time.UTC)) ||
		!cp.Newest.Equal(want.CreatedAt) {
		t.Errorf("paging: next %q oldest %v newest %v", cp.Next, cp.Oldest, cp.Newest)
	}

	// The page's own comment is not a reply to it.
	cp, err = ParseComments(fixture(t, "comments_p3_page2.json"), post)
	if err != nil {
		t.Fatal(err)
	}
	if len(cp.Replies) != 1 || cp.Replies[0].Author.ID == pageID || cp.Next != "" {
		t.Errorf("page 2: %+v", cp)
	}
	if _, err := ParseComments([]byte(`{"data":[{"id":"1","created_time":"yesterday"}]}`), post); err == nil {
		t.Error("bad created_time accepted")
	}
}

func TestParsePosts(t *testing.T) {
	pp, err := ParsePosts(fixture(t, "posts_page1.json"), "mp-jane-doe", pageID)
	if err != nil {
		t.Fatal(err)
	}
	if len(pp.Posts) != 2 || pp.Posts[0].ID != post3 || pp.Posts[0].ReplyCount != 4 ||
		!pp.Posts[0].CreatedAt.Equal(time.Date(2026, 11, 28, 9, 15, 2, 0, time.UTC)) ||
		pp.Posts[0].URL == "" || pp.Posts[0].Platform != model.Facebook || pp.Posts[0].Target != "mp-jane-doe" {
		t.Errorf("posts: %+v", pp.Posts)
	}
	if !strings.Contains(pp.Next, "access_token={{TOKEN}}") {
		t.Errorf("next = %q", pp.Next)
	}
}

func TestCrawl(t *testing.T) {
	g := newGraph(t)
	src, _ := newSource(t, g, nil)
	res, err := src.Crawl(context.Background(), request(""))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Posts) != 2 {
		t.Errorf("posts = %d, want 2 (the 8-day-old post is outside the lookback)", len(res.Posts))
	}
	var ids []string
	for _, r := range res.Replies {
		ids = append(ids, r.ID)
		if r.Target != "mp-jane-doe" || r.Account != pageID || r.Platform != model.Facebook || r.Kind != model.KindReply {
			t.Errorf("reply %s: %+v", r.ID, r)
		}
	}
	wantIDs := "122110000000000003_998877665544332 122110000000000003_998877665544331 122110000000000003_998877665544330 122110000000000002_998877665544100"
	if strings.Join(ids, " ") != wantIDs {
		t.Errorf("replies\n got %s\nwant %s", strings.Join(ids, " "), wantIDs)
	}
	for _, r := range g.requests() {
		if r.URL.Query().Has("access_token") {
			t.Errorf("token sent in URL %s", r.URL)
		}
		if r.Header.Get("Authorization") != "Bearer "+token {
			t.Errorf("request %s without the bearer token", r.URL.Path)
		}
		if !strings.HasPrefix(r.URL.Path, "/v21.0/") {
			t.Errorf("request %s not on the pinned version", r.URL.Path)
		}
		if strings.HasSuffix(r.URL.Path, "/comments") && (r.URL.Query().Get("filter") != "stream" || r.URL.Query().Get("order") != "reverse_chronological") {
			t.Errorf("comments request %s", r.URL)
		}
	}
	if n := len(g.requests()); n != 5 {
		t.Errorf("%d requests, want 5 (2 posts pages, 2+1 comments pages)", n)
	}

	// Second crawl: post 3 is fresh, so it is re-read but only down to the
	// newest comment seen; post 2's count is unchanged and it is past the
	// re-scan window, so it is not read at all.
	before := len(g.requests())
	res2, err := src.Crawl(context.Background(), request(res.Cursor))
	if err != nil {
		t.Fatal(err)
	}
	var comments []string
	for _, r := range g.requests()[before:] {
		if strings.HasSuffix(r.URL.Path, "/comments") {
			comments = append(comments, r.URL.Path+"?after="+r.URL.Query().Get("after"))
		}
	}
	if len(comments) != 1 || !strings.Contains(comments[0], post3) || !strings.HasSuffix(comments[0], "after=") {
		t.Errorf("second crawl read comments %v, want only post 3's first page", comments)
	}
	if len(res2.Replies) != 1 || res2.Replies[0].ID != "122110000000000003_998877665544332" {
		t.Errorf("second crawl replies %+v, want only the newest (same second as the mark)", res2.Replies)
	}
}

func TestCrawlAPIVersionOption(t *testing.T) {
	g := newGraph(t)
	g.routes = map[string][]string{"/v19.0/" + pageID + "/posts": {"posts_page2.json"}}
	src, _ := newSource(t, g, nil)
	req := request("")
	req.Account.Options = map[string]string{"api_version": "v19.0"}
	if _, err := src.Crawl(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if p := g.requests()[0].URL.Path; p != "/v19.0/"+pageID+"/posts" {
		t.Errorf("path %s", p)
	}
}

func TestCrawlErrors(t *testing.T) {
	tests := []struct {
		name     string
		fixture  string
		status   int
		token    string
		kind     crawler.Kind
		contains []string
	}{
		{"expired token", "error_expired_token.json", 400, token, crawler.KindAuth,
			[]string{"facebook page " + pageID, "the token has expired", "190/463", "new Page access token", "environment variable"}},
		{"permission", "error_permission.json", 403, token, crawler.KindAuth,
			[]string{"lacks a permission", "pages_read_user_content", "MODERATE"}},
		{"page rate limit", "error_rate_limit.json", 400, token, crawler.KindRateLimited, []string{"rate limit", "80001"}},
		{"not found", "error_not_found.json", 400, token, crawler.KindNotFound, []string{"check the page id"}},
		{"wrong token", "", 0, "EAAGwrongTOKENvalue999", crawler.KindAuth, []string{"190", "Malformed access token <secret>"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newGraph(t)
			if tc.fixture != "" {
				g.override = func(r *http.Request) (int, http.Header, []byte, bool) {
					return tc.status, nil, fixture(t, tc.fixture), true
				}
			}
			src, _ := newSource(t, g, nil)
			req := request("")
			req.Account.Token = model.Secret(tc.token)
			_, err := src.Crawl(context.Background(), req)
			if crawler.KindOf(err) != tc.kind {
				t.Fatalf("kind %v, want %v (err %v)", crawler.KindOf(err), tc.kind, err)
			}
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Errorf("error does not carry the graph error: %v", err)
			}
			for _, s := range tc.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if strings.Contains(err.Error(), tc.token) {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}

func TestCrawlMissingToken(t *testing.T) {
	g := newGraph(t)
	src, _ := newSource(t, g, nil)
	req := request(`{"posts":{}}`)
	req.Account.Token = ""
	res, err := src.Crawl(context.Background(), req)
	if crawler.KindOf(err) != crawler.KindAuth || !strings.Contains(err.Error(), "no Page access token") {
		t.Fatalf("err = %v", err)
	}
	if len(g.requests()) != 0 || res.Cursor != req.Cursor {
		t.Errorf("requests %d, cursor %q", len(g.requests()), res.Cursor)
	}
}

func TestCrawlPartial(t *testing.T) {
	g := newGraph(t)
	g.override = func(r *http.Request) (int, http.Header, []byte, bool) {
		if strings.Contains(r.URL.Path, post2) {
			return 500, nil, []byte(`{"error":{"message":"An unknown error has occurred.","type":"OAuthException","code":1,"fbtrace_id":"Ax"}}`), true
		}
		return 0, nil, nil, false
	}
	src, _ := newSource(t, g, nil)
	res, err := src.Crawl(context.Background(), request(""))
	if crawler.KindOf(err) != crawler.KindServer {
		t.Fatalf("err = %v", err)
	}
	if len(res.Replies) != 3 {
		t.Errorf("partial replies = %d, want post 3's 3", len(res.Replies))
	}
	cur, err := decodeCursor(res.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	if m := cur.Posts[post3]; !m.Newest.Equal(time.Date(2026, 11, 28, 11, 2, 45, 0, time.UTC)) {
		t.Errorf("post 3 mark %+v", m)
	}
	if m := cur.Posts[post2]; !m.Newest.IsZero() {
		t.Errorf("failed post advanced: %+v", m)
	}
}

func TestCrawlUsageHeaders(t *testing.T) {
	t.Run("slow down", func(t *testing.T) {
		g := newGraph(t)
		g.usage = `{"` + pageID + `":[{"type":"pages","call_count":85,"total_cputime":10,"total_time":12,"estimated_time_to_regain_access":0}]}`
		src, sl := newSource(t, g, nil)
		if _, err := src.Crawl(context.Background(), request("")); err != nil {
			t.Fatal(err)
		}
		if len(sl.d) != len(g.requests()) {
			t.Fatalf("%d pauses for %d requests", len(sl.d), len(g.requests()))
		}
		for _, d := range sl.d {
			if d <= 0 || d > 30*time.Second {
				t.Errorf("pause %v", d)
			}
		}
	})
	t.Run("stop", func(t *testing.T) {
		g := newGraph(t)
		g.usage = `{"` + pageID + `":[{"type":"pages","call_count":100,"total_cputime":30,"total_time":40,"estimated_time_to_regain_access":17}]}`
		src, _ := newSource(t, g, nil)
		_, err := src.Crawl(context.Background(), request(""))
		var ce *crawler.Error
		if !errors.As(err, &ce) || ce.Kind != crawler.KindRateLimited || ce.RetryAfter != 17*time.Minute {
			t.Fatalf("err = %#v", err)
		}
		if len(g.requests()) != 1 {
			t.Errorf("%d requests after usage hit 100%%", len(g.requests()))
		}
	})
}

func TestParseUsageAndThrottle(t *testing.T) {
	tests := []struct {
		name      string
		app, buc  string
		percent   int
		regain    time.Duration
		pause     bool
		stop      bool
		noHeaders bool
	}{
		{"none", "", "", 0, 0, false, false, true},
		{"app low", `{"call_count":28,"total_time":25,"total_cputime":25}`, "", 28, 0, false, false, false},
		{"app cpu high", `{"call_count":10,"total_time":25,"total_cputime":80}`, "", 80, 0, true, false, false},
		{"buc max of list", "", `{"1":[{"type":"pages","call_count":5,"total_cputime":1,"total_time":1,"estimated_time_to_regain_access":0}],"2":[{"type":"pages","call_count":96,"total_cputime":1,"total_time":1,"estimated_time_to_regain_access":0}]}`, 96, 0, false, true, false},
		{"throttled", "", `{"1":[{"type":"pages","call_count":20,"total_cputime":1,"total_time":1,"estimated_time_to_regain_access":3}]}`, 20, 3 * time.Minute, false, true, false},
		{"malformed ignored", `{call_count:`, "", 0, 0, false, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.app != "" {
				h.Set("X-App-Usage", tc.app)
			}
			if tc.buc != "" {
				h.Set("X-Business-Use-Case-Usage", tc.buc)
			}
			u := ParseUsage(h)
			if u.Percent != tc.percent || u.RegainIn != tc.regain || u.Present == tc.noHeaders {
				t.Errorf("usage %+v", u)
			}
			pause, stop := Throttle{}.Decide(u)
			if (pause > 0) != tc.pause || stop != tc.stop {
				t.Errorf("pause %v stop %v", pause, stop)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://graph.facebook.com/v21.0/1/posts?access_token=EAAB123&limit=2":         "https://graph.facebook.com/v21.0/1/posts?access_token=REDACTED&limit=2",
		"https://www.googleapis.com/youtube/v3/commentThreads?key=AIzaXYZ&part=snippet": "https://www.googleapis.com/youtube/v3/commentThreads?key=REDACTED&part=snippet",
		"https://graph.facebook.com/v21.0/1/posts?limit=2":                              "https://graph.facebook.com/v21.0/1/posts?limit=2",
		"http://[::1%zz/x?access_token=EAAB":                                            "http://[::1%zz/x?<redacted>",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
	got, err := stripToken("https://graph.facebook.com/v21.0/1/comments?access_token=EAAB123&after=abc")
	if err != nil || strings.Contains(got, "EAAB123") || !strings.Contains(got, "after=abc") {
		t.Errorf("stripToken = %q, %v", got, err)
	}
}

// TestTokenNeverLeaks runs the source against a server answering with every
// kind of error, one of which echoes the token, and looks for the token in
// the logs (source and client), the errors and the results.
func TestTokenNeverLeaks(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	bodies := []struct {
		status int
		body   string
	}{
		{400, string(fixture(t, "error_expired_token.json"))},
		{400, string(fixture(t, "error_malformed_token.json"))},
		{401, `{"error":{"message":"Invalid OAuth access token - Cannot parse access token {{TOKEN}}","type":"OAuthException","code":190,"fbtrace_id":"A1"}}`},
		{403, string(fixture(t, "error_permission.json"))},
		{429, string(fixture(t, "error_rate_limit.json"))},
		{500, `upstream failed for access_token={{TOKEN}}`},
		{200, `{"data":[{"id":"1_2","created_time":"2026-11-28T10:00:00+0000","message":"x"}],"paging":{"next":"http://[::1%zz/v21.0/1_2/posts?access_token={{TOKEN}}&after=x"}}`},
	}
	for i, b := range bodies {
		g := newGraph(t)
		g.override = func(r *http.Request) (int, http.Header, []byte, bool) {
			return b.status, http.Header{"Retry-After": {"1"}}, []byte(b.body), true
		}
		src, _ := newSource(t, g, log)
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
		t.Fatal("nothing logged; the test would not see a leak")
	}
	if strings.Contains(logs.String(), token) {
		t.Errorf("token in logs:\n%s", logs.String())
	}
}

func BenchmarkParseComments(b *testing.B) {
	body := fixture(b, "comments_p3_page1.json")
	post := model.Post{Platform: model.Facebook, ID: post3, Target: "mp-jane-doe", Account: pageID}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := ParseComments(body, post); err != nil {
			b.Fatal(err)
		}
	}
}
