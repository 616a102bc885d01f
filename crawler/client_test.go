package crawler_test

import (
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/crawler"
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

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

var now = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func newClient(t testing.TB, sl *sleeps, mod func(*crawler.Options)) *crawler.Client {
	t.Helper()
	o := crawler.Options{NoDelay: true, Timeout: 300 * time.Millisecond, MaxBodyBytes: 64 << 10, MaxRetries: 3,
		RetryBase: 100 * time.Millisecond, RetryMax: time.Second, Sleep: sl.sleep, Now: func() time.Time { return now },
		Version: "1.2", Contact: "ops@example.org"}
	if mod != nil {
		mod(&o)
	}
	c, err := crawler.NewClient(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestUserAgentAndGzip(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ua := r.Header.Get("User-Agent"); ua != "mpwatch/1.2 (+https://github.com/mpwatch/mpwatch; ops@example.org)" {
			t.Errorf("User-Agent = %q", ua)
		}
		if r.Header.Get("X-Custom") != "yes" {
			t.Error("custom header not sent")
		}
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			t.Error("gzip not offered")
		}
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Type", "application/json")
		gz := gzip.NewWriter(w)
		_, _ = gz.Write([]byte(`{"hello":"wörld"}`))
		_ = gz.Close()
	}))
	defer srv.Close()
	var v struct{ Hello string }
	_, err := newClient(t, &sleeps{}, nil).GetJSON(context.Background(), srv.URL, http.Header{"X-Custom": {"yes"}}, &v)
	if err != nil || v.Hello != "wörld" {
		t.Fatalf("got %+v, %v", v, err)
	}
}

func TestRetryBackoffBounds(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	sl := &sleeps{}
	_, err := newClient(t, sl, nil).Get(context.Background(), srv.URL+"/x", nil)
	var ce *crawler.Error
	if !errors.As(err, &ce) || ce.Kind != crawler.KindServer || ce.Status != 503 || ce.URL != srv.URL+"/x" {
		t.Fatalf("err = %v", err)
	}
	if n.Load() != 4 {
		t.Errorf("requests = %d, want 1 + 3 retries", n.Load())
	}
	d := sl.all()
	if len(d) != 3 {
		t.Fatalf("sleeps = %v", d)
	}
	for i, got := range d {
		full := 100 * time.Millisecond << i
		if got < full/2 || got > full {
			t.Errorf("retry %d slept %v, want within [%v, %v]", i, got, full/2, full)
		}
	}
}

func TestNoRetryOnClientErrors(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"The access token is invalid"}`))
	}))
	defer srv.Close()
	_, err := newClient(t, &sleeps{}, nil).Get(context.Background(), srv.URL, nil)
	if crawler.KindOf(err) != crawler.KindAuth || n.Load() != 1 || !strings.Contains(err.Error(), "The access token is invalid") {
		t.Fatalf("err = %v after %d requests", err, n.Load())
	}
}

func TestRateLimitHeadersMakeTheClientWait(t *testing.T) {
	tests := []struct {
		name  string
		hdr   http.Header
		wait  time.Duration
		fails bool
	}{
		{"mastodon iso", http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {now.Add(90 * time.Second).Format("2006-01-02T15:04:05.000000Z")}}, 90 * time.Second, false},
		{"x epoch", http.Header{"X-Rate-Limit-Remaining": {"0"}, "X-Rate-Limit-Reset": {"1795867260"}}, 60 * time.Second, false},
		{"draft delta", http.Header{"Ratelimit-Remaining": {"0"}, "Ratelimit-Reset": {"30"}}, 30 * time.Second, false},
		{"budget left", http.Header{"X-Ratelimit-Remaining": {"12"}, "X-Ratelimit-Reset": {now.Add(time.Hour).Format(time.RFC3339)}}, 0, false},
		{"too far", http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {now.Add(2 * time.Hour).Format(time.RFC3339)}}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				for k, v := range tt.hdr {
					w.Header()[k] = v
				}
				_, _ = w.Write([]byte(`{}`))
			}))
			defer srv.Close()
			sl := &sleeps{}
			c := newClient(t, sl, nil)
			if _, err := c.Get(context.Background(), srv.URL+"/1", nil); err != nil {
				t.Fatal(err)
			}
			_, err := c.Get(context.Background(), srv.URL+"/2", nil)
			if tt.fails {
				if crawler.KindOf(err) != crawler.KindRateLimited || n.Load() != 1 {
					t.Fatalf("err = %v after %d requests; want rate_limited without hammering", err, n.Load())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			d := sl.all()
			if tt.wait == 0 && len(d) != 0 || tt.wait != 0 && (len(d) != 1 || d[0] != tt.wait) {
				t.Errorf("sleeps = %v, want %v", d, tt.wait)
			}
		})
	}
}

func TestRetryAfterHTTPDate(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", now.Add(45*time.Second).Format(http.TimeFormat))
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		_, _ = w.Write([]byte(`ok`))
	}))
	defer srv.Close()
	sl := &sleeps{}
	resp, err := newClient(t, sl, nil).Get(context.Background(), srv.URL, nil)
	if err != nil || string(resp.Body) != "ok" {
		t.Fatal(err)
	}
	if d := sl.all(); len(d) != 1 || d[0] != 45*time.Second {
		t.Errorf("sleeps = %v", d)
	}
}

func TestPerHostParallelism(t *testing.T) {
	var cur, peak atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := cur.Add(1)
		for {
			p := peak.Load()
			if c <= p || peak.CompareAndSwap(p, c) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		cur.Add(-1)
	}))
	defer srv.Close()
	c := newClient(t, &sleeps{}, func(o *crawler.Options) { o.Parallelism = 2 })
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Get(context.Background(), srv.URL+"/"+string(rune('a'+i)), nil); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if peak.Load() > 2 {
		t.Errorf("peak concurrency on one host = %d, want <= 2", peak.Load())
	}
}

func TestCancelledContextIsNotRetried(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	sl := &sleeps{}
	_, err := newClient(t, sl, nil).Get(ctx, srv.URL, nil)
	if !errors.Is(err, context.Canceled) || len(sl.all()) != 0 {
		t.Fatalf("err = %v, sleeps = %v", err, sl.all())
	}
}

func TestParseReset(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2020-09-08T13:25:00.019685Z", time.Date(2020, 9, 8, 13, 25, 0, 19685000, time.UTC), true},
		{"2026-11-28T12:11:17.000Z", time.Date(2026, 11, 28, 12, 11, 17, 0, time.UTC), true},
		{"1705323000", time.Unix(1705323000, 0).UTC(), true},
		{"30", now.Add(30 * time.Second), true},
		{"Sat, 28 Nov 2026 12:01:00 GMT", time.Date(2026, 11, 28, 12, 1, 0, 0, time.UTC), true},
		{"soon", time.Time{}, false},
		{"", time.Time{}, false},
		{"-5", time.Time{}, false},
	}
	for _, tt := range tests {
		got, ok := crawler.ParseReset(tt.in, now)
		if ok != tt.ok || !got.Equal(tt.want) {
			t.Errorf("ParseReset(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"120", 2 * time.Minute, true},
		{now.Add(time.Minute).Format(http.TimeFormat), time.Minute, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{"-1", 0, false},
		{"later", 0, false},
	}
	for _, tt := range tests {
		got, ok := crawler.ParseRetryAfter(tt.in, now)
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParseRetryAfter(%q) = %v, %v", tt.in, got, ok)
		}
	}
}

func TestLinkRel(t *testing.T) {
	gts := `<http://localhost:18080/api/v1/accounts/01KJRJF193XV15CDQTD9QM8CSR/statuses?limit=2&max_id=01M8H0T28AJVZW95P8YDVEWJEZ&exclude_replies=false>; rel="next", <http://localhost:18080/api/v1/accounts/01KJRJF193XV15CDQTD9QM8CSR/statuses?limit=2&min_id=01M8H0T29AVN7S3B1P9W146CVZ>; rel="prev"`
	tests := []struct {
		hdr       []string
		rel, want string
	}{
		{[]string{gts}, "next", "http://localhost:18080/api/v1/accounts/01KJRJF193XV15CDQTD9QM8CSR/statuses?limit=2&max_id=01M8H0T28AJVZW95P8YDVEWJEZ&exclude_replies=false"},
		{[]string{gts}, "prev", "http://localhost:18080/api/v1/accounts/01KJRJF193XV15CDQTD9QM8CSR/statuses?limit=2&min_id=01M8H0T29AVN7S3B1P9W146CVZ"},
		{[]string{`<https://m.example/a?x=1,2>; rel="prev next"`}, "next", "https://m.example/a?x=1,2"},
		{[]string{`<https://m.example/p>; title="a, b"; rel=prev`, `<https://m.example/n>; rel=next`}, "next", "https://m.example/n"},
		{[]string{`garbage`}, "next", ""},
		{nil, "next", ""},
	}
	for _, tt := range tests {
		h := http.Header{"Link": tt.hdr}
		if got := crawler.LinkRel(h, tt.rel); got != tt.want {
			t.Errorf("LinkRel(%q, %s) = %q, want %q", tt.hdr, tt.rel, got, tt.want)
		}
	}
}

func TestHTMLToText(t *testing.T) {
	tests := []struct{ in, want string }{
		{`<p><span class="h-card"><a href="https://m.example/@mp" class="u-url mention">@<span>mp</span></a></span> you are a disgrace</p>`, "@mp you are a disgrace"},
		{"<p>one<br>two<br/>three</p><p>para &amp; &lt;b&gt; &#x1F600;</p>", "one\ntwo\nthree\n\npara & <b> 😀"},
		{`<p>see <a href="https://x.example/long"><span class="invisible">https://</span><span class="ellipsis">x.example/lo</span><span class="invisible">ng</span></a></p>`, "see https://x.example/long"},
		{"<script>alert(1)</script><style>p{}</style>ok", "ok"},
		{"plain text", "plain text"},
		{"bad \xff byte", "bad \uFFFD byte"},
		{"<p>unclosed <b>bold", "unclosed bold"},
		{"<pre>a\n  b</pre>", "a\nb"}, // pre keeps its line breaks
		{"", ""},
	}
	for _, tt := range tests {
		if got := crawler.HTMLToText(tt.in); got != tt.want {
			t.Errorf("HTMLToText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCleanLine(t *testing.T) {
	if got := crawler.CleanLine("a\x1b[31m\nb\u2028c  d", 100); got != "a [31m b c d" {
		t.Errorf("CleanLine = %q", got)
	}
	if got := crawler.CleanLine("ééééé", 5); got != "éé…" {
		t.Errorf("CleanLine cut = %q", got)
	}
}

func TestErrorsNeverShowCredentialParameters(t *testing.T) {
	e := &crawler.Error{Kind: crawler.KindAuth, URL: "https://graph.example/v21.0/1/comments?access_token=SEKRET&after=x&key=K3Y", Status: 401}
	s := e.Error()
	if strings.Contains(s, "SEKRET") || strings.Contains(s, "K3Y") || !strings.Contains(s, "after=x") {
		t.Fatalf("error text %q", s)
	}
	if got := crawler.RedactURL("http://a b/?key=1"); strings.Contains(got, "key=1") {
		t.Fatalf("unparseable URL kept its query: %q", got)
	}
}
