package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/mpwatch/mpwatch/internal/metrics"
)

//go:embed templates/*.html templates/style.css
var files embed.FS

// Auth protects every route but /healthz. With neither set, the server is
// open (it listens on loopback by default). With both set, either credential
// is accepted.
type Auth struct {
	BearerToken   string
	BasicUser     string
	BasicPassword string
}

func (a Auth) enabled() bool { return a.BearerToken != "" || a.BasicUser != "" }

// Options configure a Server. Data is required; the rest have defaults.
type Options struct {
	Data    DataSource
	Metrics *metrics.Metrics // nil: /metrics answers 404
	// Ready reports whether the database is reachable; nil means always.
	Ready func(ctx context.Context) error
	Auth  Auth
	Now   func() time.Time
	// Location is the zone times are shown in; nil means UTC.
	Location *time.Location
	Logger   *slog.Logger
	// ConfigStatus reports the running configuration; nil hides the section
	// and does not gate /readyz.
	ConfigStatus func() ConfigStatus
	// AlertLimit caps the status page's recent alerts; zero means 50.
	AlertLimit int
}

// Server serves the operations pages.
type Server struct {
	opt  Options
	log  *slog.Logger
	now  func() time.Time
	loc  *time.Location
	tmpl *template.Template
	css  template.CSS
	csp  string
	mux  *http.ServeMux
}

// New builds a Server. It panics only if the embedded templates are broken,
// which the package's tests catch.
func New(opts Options) *Server {
	s := &Server{opt: opts, log: opts.Logger, now: opts.Now, loc: opts.Location}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.loc == nil {
		s.loc = time.UTC
	}
	if s.opt.AlertLimit <= 0 {
		s.opt.AlertLimit = 50
	}
	css, err := files.ReadFile("templates/style.css")
	if err != nil {
		panic(err)
	}
	s.css = template.CSS(css)
	// The stylesheet is pinned by hash rather than 'unsafe-inline': an
	// injected <style> or style attribute is refused by the browser even if
	// some escaping were ever missed. No script source is allowed at all.
	sum := sha256.Sum256(css)
	s.csp = "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	s.tmpl = template.Must(template.New("").Funcs(funcs(s.loc)).ParseFS(files, "templates/*.html"))

	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.HandleFunc("GET /metrics", s.metrics)
	s.mux.HandleFunc("GET /{$}", s.status)
	s.mux.HandleFunc("GET /alerts/{key...}", s.alert)
	s.mux.HandleFunc("GET /targets/{id}", s.target)
	return s
}

// Handler is the server's root handler: security headers, then auth (except
// for /healthz), then the routes.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", s.csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		if r.URL.Path != "/healthz" && !s.authorized(r) {
			s.challenge(w)
			return
		}
		s.mux.ServeHTTP(w, r)
	})
}

func (s *Server) authorized(r *http.Request) bool {
	a := s.opt.Auth
	if !a.enabled() {
		return true
	}
	authz := r.Header.Get("Authorization")
	if a.BearerToken != "" {
		// The scheme name is case-insensitive (RFC 9110 11.1).
		if len(authz) > 7 && strings.EqualFold(authz[:7], "Bearer ") && equal(authz[7:], a.BearerToken) {
			return true
		}
	}
	if a.BasicUser != "" {
		if u, p, ok := r.BasicAuth(); ok {
			// Both compared every time, so timing says nothing about which
			// one was wrong.
			uok := equal(u, a.BasicUser)
			pok := equal(p, a.BasicPassword)
			return uok && pok
		}
	}
	return false
}

// equal compares secrets in constant time. Hashing first makes the compare
// independent of the lengths too, which subtle.ConstantTimeCompare is not.
func equal(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

func (s *Server) challenge(w http.ResponseWriter) {
	if s.opt.Auth.BasicUser != "" {
		w.Header().Add("WWW-Authenticate", `Basic realm="mpwatch", charset="UTF-8"`)
	}
	if s.opt.Auth.BearerToken != "" {
		w.Header().Add("WWW-Authenticate", `Bearer realm="mpwatch"`)
	}
	http.Error(w, "unauthorized", http.StatusUnauthorized)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if s.opt.ConfigStatus != nil && s.opt.ConfigStatus().LoadedAt.IsZero() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("not ready: no configuration loaded\n"))
		return
	}
	if s.opt.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if err := s.opt.Ready(ctx); err != nil {
			s.log.Warn("readiness check failed", "error", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready: database unreachable\n"))
			return
		}
	}
	_, _ = w.Write([]byte("ok\n"))
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	if s.opt.Metrics == nil {
		http.NotFound(w, r)
		return
	}
	s.opt.Metrics.Handler().ServeHTTP(w, r)
}

// render executes a page into a buffer first, so a template error yields a
// clean 500 instead of half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, code int, name string, data any) {
	var buf bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		s.log.Error("render page", "page", name, "path", r.URL.Path, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// fail logs err with what was being done and shows a generic error page; the
// details stay in the log, not in front of whoever holds the link.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, doing string, err error) {
	s.log.Error(doing, "path", r.URL.Path, "error", err)
	s.render(w, r, http.StatusInternalServerError, "error.html", s.page("Error", errorView{
		Code: http.StatusInternalServerError, Message: "Something went wrong while " + doing + ". The details are in the server log.",
	}))
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request, msg string) {
	s.render(w, r, http.StatusNotFound, "error.html", s.page("Not found", errorView{Code: http.StatusNotFound, Message: msg}))
}

type errorView struct {
	Code    int
	Message string
}

// pageView wraps every page's own data with what the layout needs.
type pageView struct {
	Title       string
	CSS         template.CSS
	GeneratedAt time.Time
	Body        any
}

func (s *Server) page(title string, body any) pageView {
	return pageView{Title: title, CSS: s.css, GeneratedAt: s.now(), Body: body}
}
