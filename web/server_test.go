package web

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/internal/metrics"
)

func newTestServer(f *fakeData, mod func(*Options)) *Server {
	o := Options{
		Data: f,
		Now:  func() time.Time { return fixedNow },
		ConfigStatus: func() ConfigStatus {
			return ConfigStatus{LoadedAt: fixedNow.Add(-time.Hour), Files: []string{"config.yaml", "watchlists/ontario.yaml"}}
		},
	}
	if mod != nil {
		mod(&o)
	}
	return New(o)
}

func get(t *testing.T, h http.Handler, path string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestAuth(t *testing.T) {
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("ops:s3cret"))
	wrongBasic := "Basic " + base64.StdEncoding.EncodeToString([]byte("ops:nope"))
	tests := []struct {
		name      string
		auth      Auth
		path      string
		header    string
		want      int
		challenge []string
	}{
		{"open without auth", Auth{}, "/", "", 200, nil},
		{"healthz open with auth", Auth{BearerToken: "tok"}, "/healthz", "", 200, nil},
		{"status needs token", Auth{BearerToken: "tok"}, "/", "", 401, []string{`Bearer realm="mpwatch"`}},
		{"metrics needs token", Auth{BearerToken: "tok"}, "/metrics", "", 401, []string{`Bearer realm="mpwatch"`}},
		{"readyz needs token", Auth{BearerToken: "tok"}, "/readyz", "", 401, []string{`Bearer realm="mpwatch"`}},
		{"evidence needs token", Auth{BearerToken: "tok"}, alertPath(spikeKey), "", 401, []string{`Bearer realm="mpwatch"`}},
		{"right token", Auth{BearerToken: "tok"}, "/", "Bearer tok", 200, nil},
		{"scheme is case-insensitive", Auth{BearerToken: "tok"}, "/", "bearer tok", 200, nil},
		{"token is case-sensitive", Auth{BearerToken: "tok"}, "/", "Bearer TOK", 401, []string{`Bearer realm="mpwatch"`}},
		{"wrong token", Auth{BearerToken: "tok"}, "/", "Bearer tok2", 401, []string{`Bearer realm="mpwatch"`}},
		{"token prefix is not enough", Auth{BearerToken: "tok"}, "/", "Bearer to", 401, []string{`Bearer realm="mpwatch"`}},
		{"basic right", Auth{BasicUser: "ops", BasicPassword: "s3cret"}, "/", basic, 200, nil},
		{"basic wrong password", Auth{BasicUser: "ops", BasicPassword: "s3cret"}, "/", wrongBasic, 401, []string{`Basic realm="mpwatch", charset="UTF-8"`}},
		{"basic given a bearer", Auth{BasicUser: "ops", BasicPassword: "s3cret"}, "/", "Bearer s3cret", 401, []string{`Basic realm="mpwatch", charset="UTF-8"`}},
		{"both configured, basic used", Auth{BearerToken: "tok", BasicUser: "ops", BasicPassword: "s3cret"}, "/", basic, 200, nil},
		{"both configured, bearer used", Auth{BearerToken: "tok", BasicUser: "ops", BasicPassword: "s3cret"}, "/", "Bearer tok", 200, nil},
		{"both configured, none", Auth{BearerToken: "tok", BasicUser: "ops", BasicPassword: "s3cret"}, "/", "", 401,
			[]string{`Basic realm="mpwatch", charset="UTF-8"`, `Bearer realm="mpwatch"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(fixture(), func(o *Options) { o.Auth = tt.auth; o.Metrics = metrics.New() })
			var hdr []string
			if tt.header != "" {
				hdr = []string{"Authorization", tt.header}
			}
			rec := get(t, s.Handler(), tt.path, hdr...)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d", rec.Code, tt.want)
			}
			got := rec.Header().Values("WWW-Authenticate")
			if strings.Join(got, "|") != strings.Join(tt.challenge, "|") {
				t.Errorf("WWW-Authenticate %q, want %q", got, tt.challenge)
			}
		})
	}
}

func TestReadyz(t *testing.T) {
	tests := []struct {
		name   string
		ready  func(context.Context) error
		loaded bool
		want   int
	}{
		{"ready", func(context.Context) error { return nil }, true, 200},
		{"no ready func", nil, true, 200},
		{"database down", func(context.Context) error { return errDB }, true, 503},
		{"no config loaded", func(context.Context) error { return nil }, false, 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(fixture(), func(o *Options) {
				o.Ready = tt.ready
				o.ConfigStatus = func() ConfigStatus {
					if tt.loaded {
						return ConfigStatus{LoadedAt: fixedNow}
					}
					return ConfigStatus{}
				}
			})
			rec := get(t, s.Handler(), "/readyz")
			if rec.Code != tt.want {
				t.Errorf("status %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			if strings.Contains(rec.Body.String(), "secret-path") {
				t.Errorf("readyz leaks the error detail: %s", rec.Body)
			}
		})
	}
}

func TestHealthz(t *testing.T) {
	// Healthy even when the data source is broken: it says the process is up.
	f := fixture()
	f.err = errDB
	rec := get(t, newTestServer(f, nil).Handler(), "/healthz")
	if rec.Code != 200 || rec.Body.String() != "ok\n" {
		t.Errorf("healthz = %d %q", rec.Code, rec.Body)
	}
}

func TestMetricsRoute(t *testing.T) {
	m := metrics.New()
	m.AlertEvent("spike-jane", "firing")
	rec := get(t, newTestServer(fixture(), func(o *Options) { o.Metrics = m }).Handler(), "/metrics")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `mpwatch_alert_events_total{rule="spike-jane",status="firing"} 1`) {
		t.Errorf("metrics = %d\n%s", rec.Code, rec.Body)
	}
	rec = get(t, newTestServer(fixture(), nil).Handler(), "/metrics")
	if rec.Code != 404 {
		t.Errorf("metrics without a registry = %d, want 404", rec.Code)
	}
}

var styleRE = regexp.MustCompile(`(?s)<style>(.*?)</style>`)

func TestSecurityHeaders(t *testing.T) {
	s := newTestServer(fixture(), nil)
	for _, path := range []string{"/", alertPath(spikeKey), "/targets/jane", "/alerts/nope"} {
		rec := get(t, s.Handler(), path)
		csp := rec.Header().Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "img-src data:", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "script-src") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP %q must allow no scripts and no inline style", path, csp)
		}
		if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q", path, got)
		}
		// The style hash in the CSP must match the style the page carries,
		// or browsers would drop the stylesheet.
		m := styleRE.FindStringSubmatch(rec.Body.String())
		if m == nil {
			t.Fatalf("%s: no <style>", path)
		}
		sum := sha256.Sum256([]byte(m[1]))
		if h := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(csp, h) {
			t.Errorf("%s: CSP %q does not allow the page's style %s", path, csp, h)
		}
	}
}

func TestStatusPage(t *testing.T) {
	f := fixture()
	s := newTestServer(f, func(o *Options) {
		o.ConfigStatus = func() ConfigStatus {
			return ConfigStatus{
				LoadedAt: fixedNow.Add(-time.Hour), LastReloadAt: fixedNow.Add(-time.Minute),
				Files:     []string{"config.yaml"},
				LastError: "rules/default/spike.yaml:12:7: rules[0].window: invalid duration \"5x\"\nconfig.yaml:3:1: http.listen: " + hostileScript,
			}
		}
	})
	rec := get(t, s.Handler(), "/")
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("content type %q", ct)
	}
	d := parseDOM(t, rec.Body.String())
	assertNoInjection(t, d, 2)

	rows := d.elems("tr", "alert-row")
	if len(rows) != 2 {
		t.Fatalf("%d alert rows, want 2", len(rows))
	}
	// Newest first, latest event of each key.
	if k, _ := attr(rows[0], "data-key"); k != spikeKey {
		t.Errorf("first alert row %q, want %q", k, spikeKey)
	}
	if !hasClass(rows[0], "sev-critical") || !strings.Contains(text(rows[0]), "updated") {
		t.Errorf("first row should show the latest event (critical, updated): %q", text(rows[0]))
	}
	var links []string
	for _, a := range d.elems("a", "") {
		h, _ := attr(a, "href")
		links = append(links, h)
	}
	if !contains(links, "/alerts/spike-jane%2Fjane%2F2026-11-20T12:00Z") {
		t.Errorf("no escaped evidence link among %q", links)
	}

	states := map[string]int{}
	for _, tr := range d.elems("tr", "source") {
		for _, st := range []string{"ok", "failing", "overdue", "never"} {
			if hasClass(tr, "state-"+st) {
				states[st]++
			}
		}
	}
	want := map[string]int{"ok": 1, "failing": 1, "overdue": 1, "never": 2}
	for k, v := range want {
		if states[k] != v {
			t.Errorf("sources in state %s: %d, want %d (all: %v)", k, states[k], v, states)
		}
	}

	body := d.bodyText()
	for _, s := range []string{
		hostileScript + " Bob",                           // target name as text
		"HTTP 502 " + hostileImg,                         // source error as text
		"Reply spike on Jane Doe " + hostileSVG,          // alert summary as text
		"rules/default/spike.yaml:12:7: rules[0].window", // reload error with its position
		"previous configuration is still running",
		"1 source(s) in the database belong to targets or accounts no longer configured",
		"1 source(s) failing",
	} {
		if !strings.Contains(body, s) {
			t.Errorf("status page text lacks %q", s)
		}
	}

	// Charts: one per target, accessible, scaled, with the spike tallest.
	svgs := d.elems("svg", "")
	for _, svg := range svgs {
		if w, _ := attr(svg, "width"); w != "100%" {
			t.Errorf("svg width %q, want 100%%", w)
		}
		if vb, _ := attr(svg, "viewBox"); vb == "" {
			t.Error("svg without viewBox")
		}
		if role, _ := attr(svg, "role"); role != "img" {
			t.Errorf("svg role %q", role)
		}
	}
	janeBars := dom{svgs[0]}.elems("rect", "bar")
	if len(janeBars) != 7*24 {
		t.Fatalf("jane's chart has %d bars, want %d", len(janeBars), 7*24)
	}
	titles := dom{svgs[0]}.elems("title", "")
	if len(titles) == 0 || !strings.Contains(text(titles[0]), "Jane Doe") {
		t.Errorf("chart title %v", titles)
	}
	// 41 per hour during the spike (40 mastodon + 1 bluesky).
	last := janeBars[len(janeBars)-2] // 14:00 bucket; the 15:00 one is partial
	if got := text(last); !strings.HasSuffix(got, ": 41") {
		t.Errorf("14:00 bar tooltip %q, want count 41", got)
	}
}

func TestStatusPageWithoutConfigStatus(t *testing.T) {
	s := newTestServer(fixture(), func(o *Options) { o.ConfigStatus = nil })
	rec := get(t, s.Handler(), "/")
	if rec.Code != 200 || strings.Contains(rec.Body.String(), "Configuration") {
		t.Errorf("status %d; config section shown without ConfigStatus", rec.Code)
	}
}

func TestTargetPage(t *testing.T) {
	s := newTestServer(fixture(), nil)
	rec := get(t, s.Handler(), "/targets/bob")
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	d := parseDOM(t, rec.Body.String())
	assertNoInjection(t, d, 1)
	rows := d.elems("tr", "alert-row")
	if len(rows) != 1 {
		t.Fatalf("%d alert rows, want bob's one", len(rows))
	}
	if k, _ := attr(rows[0], "data-key"); k != "flatline-bob/bob" {
		t.Errorf("row %q", k)
	}
	if !strings.Contains(d.bodyText(), "5 replies in 7 days") {
		t.Errorf("bob's weekly count missing: %q", d.bodyText())
	}
	if rec := get(t, s.Handler(), "/targets/nobody"); rec.Code != 404 {
		t.Errorf("unknown target: %d", rec.Code)
	}
}

func TestNotFound(t *testing.T) {
	s := newTestServer(fixture(), nil)
	for _, p := range []string{"/alerts/nope", "/alerts/nope.csv", "/alerts/nope.json", "/nothing-here"} {
		if rec := get(t, s.Handler(), p); rec.Code != 404 {
			t.Errorf("%s: %d, want 404", p, rec.Code)
		}
	}
}

func TestDataErrorsDoNotLeak(t *testing.T) {
	f := fixture()
	f.err = errDB
	s := newTestServer(f, nil)
	for _, p := range []string{"/", "/targets/jane", alertPath(spikeKey), alertPath(spikeKey + ".csv")} {
		rec := get(t, s.Handler(), p)
		if rec.Code != 500 {
			t.Errorf("%s: %d, want 500", p, rec.Code)
		}
		if strings.Contains(rec.Body.String(), "secret-path") {
			t.Errorf("%s: error detail leaked to the page", p)
		}
	}
}

func TestRenderErrorIsClean(t *testing.T) {
	s := newTestServer(fixture(), nil)
	rec := httptest.NewRecorder()
	s.render(rec, httptest.NewRequest("GET", "/", nil), 200, "no-such-template", nil)
	if rec.Code != 500 {
		t.Errorf("render error gave %d", rec.Code)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
