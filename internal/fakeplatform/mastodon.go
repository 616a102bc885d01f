package fakeplatform

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MastodonOptions choose the flavour of the fake server.
type MastodonOptions struct {
	// GoToSocial makes ids 26-character ULIDs, keeps account created_at
	// exact, uses GoToSocial's default avatar paths and error bodies.
	GoToSocial bool
	// Token, when set, is required as "Authorization: Bearer <Token>";
	// requests without it get GoToSocial's 401.
	Token string
	// RateLimit is the request budget per 5-minute window (0: unlimited,
	// headers still say 300).
	RateLimit int
	// Now is the server's clock (default time.Now).
	Now func() time.Time
}

// MastodonAccount is an account on the fake server.
type MastodonAccount struct {
	Username    string
	DisplayName string
	CreatedAt   time.Time
	Followers   int
	Following   int
	Statuses    int
	Bot         bool
	// DefaultAvatar leaves the avatar at the server's default image.
	DefaultAvatar bool
	// Noindex is the author's opt-out of indexing.
	Noindex bool
}

type mAccount struct {
	MastodonAccount
	id string
}

type mStatus struct {
	id        string
	account   *mAccount
	created   time.Time
	content   string
	lang      string
	parent    string
	reblogOf  string
	children  []string
	directRep int
}

// Mastodon is a fake Mastodon-API server.
type Mastodon struct {
	faults
	Server *httptest.Server
	opts   MastodonOptions

	mu       sync.RWMutex
	seq      uint64
	accounts map[string]*mAccount // by lower-case username
	byID     map[string]*mAccount
	statuses map[string]*mStatus
	timeline map[string][]string // account id → status ids, newest first
	ctxCache map[string][]byte
	window   time.Time
	used     int
}

// NewMastodon starts a fake Mastodon server on 127.0.0.1. Close it with Close.
func NewMastodon(opts MastodonOptions) *Mastodon {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	m := &Mastodon{opts: opts, accounts: map[string]*mAccount{}, byID: map[string]*mAccount{},
		statuses: map[string]*mStatus{}, timeline: map[string][]string{}, ctxCache: map[string][]byte{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/accounts/lookup", m.lookup)
	mux.HandleFunc("GET /api/v1/accounts/{id}/statuses", m.accountStatuses)
	mux.HandleFunc("GET /api/v1/statuses/{id}/context", m.context)
	mux.HandleFunc("GET /api/v1/statuses/{id}", m.status)
	m.Server = httptest.NewServer(m.middleware(m.auth(mux)))
	return m
}

// URL is the server's base URL.
func (m *Mastodon) URL() string { return m.Server.URL }

// Host is the server's host:port, the instance part of a handle.
func (m *Mastodon) Host() string { return strings.TrimPrefix(m.Server.URL, "http://") }

// Close stops the server.
func (m *Mastodon) Close() { m.Server.Close() }

func (m *Mastodon) newID(t time.Time) string {
	m.seq++
	if m.opts.GoToSocial {
		return ulid(t, m.seq)
	}
	// Snowflake-like: milliseconds in the high bits, a sequence below (22
	// bits rather than Mastodon's 16, so fakes with millions of statuses at
	// equal timestamps never collide).
	return strconv.FormatUint(uint64(t.UnixMilli())<<22|(m.seq&(1<<22-1)), 10)
}

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

func ulid(t time.Time, seq uint64) string {
	var b [26]byte
	ms := uint64(t.UnixMilli())
	for i := 9; i >= 0; i-- {
		b[i] = crockford[ms&31]
		ms >>= 5
	}
	r := seq*2654435761 + 0x5bd1e995
	for i := 25; i >= 10; i-- {
		b[i] = crockford[r&31]
		r = r>>5 | r<<59
	}
	return string(b[:])
}

// AddAccount creates an account and returns its id.
func (m *Mastodon) AddAccount(a MastodonAccount) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if a.CreatedAt.IsZero() {
		a.CreatedAt = m.opts.Now().Add(-365 * 24 * time.Hour)
	}
	if a.DisplayName == "" {
		a.DisplayName = a.Username
	}
	acc := &mAccount{MastodonAccount: a, id: m.newID(a.CreatedAt)}
	m.accounts[strings.ToLower(a.Username)] = acc
	m.byID[acc.id] = acc
	return acc.id
}

// AddStatus adds a top-level status (HTML content) by username and returns its id.
func (m *Mastodon) AddStatus(username string, created time.Time, html string) string {
	return m.add(username, "", created, html, "")
}

// AddReply adds a reply to parentID and returns its id.
func (m *Mastodon) AddReply(parentID, username string, created time.Time, html string) string {
	return m.add(username, parentID, created, html, "")
}

// AddReblog adds a reblog of statusID by username (crawlers must skip it).
func (m *Mastodon) AddReblog(username, statusID string, created time.Time) string {
	return m.add(username, "", created, "", statusID)
}

func (m *Mastodon) add(username, parent string, created time.Time, html, reblog string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	acc, ok := m.accounts[strings.ToLower(username)]
	if !ok {
		panic(fmt.Sprintf("fakeplatform: no account %q", username))
	}
	s := &mStatus{id: m.newID(created), account: acc, created: created, content: html, lang: "en", parent: parent, reblogOf: reblog}
	m.statuses[s.id] = s
	if parent != "" {
		p, ok := m.statuses[parent]
		if !ok {
			panic(fmt.Sprintf("fakeplatform: no status %q", parent))
		}
		p.children = append(p.children, s.id)
		p.directRep++
	}
	tl := m.timeline[acc.id]
	i, _ := slices.BinarySearchFunc(tl, s, func(id string, s *mStatus) int {
		return s.created.Compare(m.statuses[id].created)
	})
	m.timeline[acc.id] = slices.Insert(tl, i, s.id)
	acc.Statuses++
	clear(m.ctxCache)
	return s.id
}

func (m *Mastodon) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.rateHeaders(w)
		if m.limited() {
			writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": "Too many requests"})
			return
		}
		if m.opts.Token != "" && r.Header.Get("Authorization") != "Bearer "+m.opts.Token {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "Unauthorized: token not supplied"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (m *Mastodon) limited() bool {
	if m.opts.RateLimit <= 0 {
		return false
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.used > m.opts.RateLimit
}

func (m *Mastodon) rateHeaders(w http.ResponseWriter) {
	m.mu.Lock()
	now := m.opts.Now()
	if now.Sub(m.window) >= 5*time.Minute {
		m.window = now.Truncate(5 * time.Minute)
		m.used = 0
	}
	m.used++
	limit := m.opts.RateLimit
	if limit <= 0 {
		limit = 300
	}
	rem := max(limit-m.used, 0)
	if m.opts.RateLimit <= 0 {
		rem = limit - 1
	}
	reset := m.window.Add(5 * time.Minute)
	m.mu.Unlock()
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(rem))
	if m.opts.GoToSocial {
		h.Set("X-RateLimit-Reset", reset.UTC().Format("2006-01-02T15:04:05.000Z"))
		h.Set("Server", "gotosocial")
		h.Add("X-Robots-Tag", "noindex, nofollow")
		h.Add("X-Robots-Tag", "noai, noimageai")
	} else {
		h.Set("X-RateLimit-Reset", reset.UTC().Format("2006-01-02T15:04:05.000000Z"))
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (m *Mastodon) notFound(w http.ResponseWriter, what string) {
	if m.opts.GoToSocial {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "Not Found: target " + what + " not found"})
		return
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"error": "Record not found"})
}

func (m *Mastodon) lookup(w http.ResponseWriter, r *http.Request) {
	acct := strings.TrimPrefix(r.URL.Query().Get("acct"), "@")
	user, domain, _ := strings.Cut(acct, "@")
	m.mu.RLock()
	defer m.mu.RUnlock()
	a, ok := m.accounts[strings.ToLower(user)]
	if !ok || (domain != "" && !strings.EqualFold(domain, r.Host) && !strings.EqualFold(domain, m.Host())) {
		m.notFound(w, "account")
		return
	}
	writeJSON(w, http.StatusOK, m.accountJSON(r, a))
}

func (m *Mastodon) base(r *http.Request) string { return "http://" + r.Host }

// Wire shapes: typed structs, not maps, so large fakes (the benchmark)
// encode fast; field names and null-ability follow the Mastodon API.
type accountWire struct {
	ID             string  `json:"id"`
	Username       string  `json:"username"`
	Acct           string  `json:"acct"`
	DisplayName    string  `json:"display_name"`
	Locked         bool    `json:"locked"`
	Bot            bool    `json:"bot"`
	Discoverable   bool    `json:"discoverable"`
	Group          bool    `json:"group"`
	Indexable      *bool   `json:"indexable,omitempty"`
	CreatedAt      string  `json:"created_at"`
	Note           string  `json:"note"`
	URL            string  `json:"url"`
	URI            string  `json:"uri,omitempty"`
	Avatar         string  `json:"avatar"`
	AvatarStatic   string  `json:"avatar_static"`
	Header         string  `json:"header"`
	HeaderStatic   string  `json:"header_static"`
	Noindex        bool    `json:"noindex"`
	FollowersCount int     `json:"followers_count"`
	FollowingCount int     `json:"following_count"`
	StatusesCount  int     `json:"statuses_count"`
	LastStatusAt   *string `json:"last_status_at"`
	Emojis         []any   `json:"emojis"`
	Fields         []any   `json:"fields"`
}

type statusWire struct {
	ID                 string       `json:"id"`
	CreatedAt          string       `json:"created_at"`
	EditedAt           *string      `json:"edited_at"`
	InReplyToID        *string      `json:"in_reply_to_id"`
	InReplyToAccountID *string      `json:"in_reply_to_account_id"`
	Sensitive          bool         `json:"sensitive"`
	SpoilerText        string       `json:"spoiler_text"`
	Visibility         string       `json:"visibility"`
	Language           *string      `json:"language"`
	URI                string       `json:"uri"`
	URL                *string      `json:"url"`
	RepliesCount       int          `json:"replies_count"`
	ReblogsCount       int          `json:"reblogs_count"`
	FavouritesCount    int          `json:"favourites_count"`
	Content            string       `json:"content"`
	Reblog             *statusWire  `json:"reblog"`
	Account            *accountWire `json:"account"`
	MediaAttachments   []any        `json:"media_attachments"`
	Mentions           []any        `json:"mentions"`
	Tags               []any        `json:"tags"`
	Emojis             []any        `json:"emojis"`
	Card               any          `json:"card"`
	Poll               any          `json:"poll"`
	Text               *string      `json:"text,omitempty"`
	ContentType        string       `json:"content_type,omitempty"`
}

var empty = []any{}

func (m *Mastodon) accountJSON(r *http.Request, a *mAccount) *accountWire {
	base := m.base(r)
	created := a.CreatedAt.UTC()
	avatar := base + "/system/accounts/avatars/" + a.id + "/original/avatar.png"
	if a.DefaultAvatar {
		if m.opts.GoToSocial {
			avatar = base + "/assets/default_avatars/GoToSocial_icon4.webp"
		} else {
			avatar = base + "/avatars/original/missing.png"
		}
	}
	w := &accountWire{ID: a.id, Username: a.Username, Acct: a.Username, DisplayName: a.DisplayName,
		Bot: a.Bot, Noindex: a.Noindex, Discoverable: true, Note: "<p></p>", URL: base + "/@" + a.Username,
		Avatar: avatar, AvatarStatic: avatar, Header: base + "/headers/original/missing.png", HeaderStatic: base + "/headers/original/missing.png",
		FollowersCount: a.Followers, FollowingCount: a.Following, StatusesCount: a.Statuses, Emojis: empty, Fields: empty}
	if m.opts.GoToSocial {
		w.Locked = true // GoToSocial's default for new accounts
	} else {
		created = created.Truncate(24 * time.Hour) // Mastodon rounds to midnight
		t := true
		w.Indexable = &t
		w.URI = base + "/users/" + a.Username
	}
	w.CreatedAt = created.Format("2006-01-02T15:04:05.000Z")
	if tl := m.timeline[a.id]; len(tl) > 0 {
		d := m.statuses[tl[0]].created.UTC().Format("2006-01-02")
		w.LastStatusAt = &d
	}
	return w
}

func (m *Mastodon) statusJSON(r *http.Request, s *mStatus) *statusWire {
	base := m.base(r)
	w := &statusWire{ID: s.id, CreatedAt: s.created.UTC().Format("2006-01-02T15:04:05.000Z"),
		Visibility: "public", URI: base + "/users/" + s.account.Username + "/statuses/" + s.id,
		RepliesCount: s.directRep, Content: s.content, Account: m.accountJSON(r, s.account),
		MediaAttachments: empty, Mentions: empty, Tags: empty, Emojis: empty}
	if s.lang != "" {
		lang := s.lang
		w.Language = &lang
	}
	if s.parent != "" {
		p, pa := s.parent, m.statuses[s.parent].account.id
		w.InReplyToID, w.InReplyToAccountID = &p, &pa
	}
	if s.reblogOf != "" {
		w.Reblog = m.statusJSON(r, m.statuses[s.reblogOf])
	}
	u := base + "/@" + s.account.Username + "/" + s.id
	if m.opts.GoToSocial {
		u = base + "/@" + s.account.Username + "/statuses/" + s.id
		w.ContentType = "text/plain"
	}
	w.URL = &u
	return w
}

func (m *Mastodon) accountStatuses(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	q := r.URL.Query()
	limit := 20
	if l, err := strconv.Atoi(q.Get("limit")); err == nil && l > 0 {
		limit = min(l, 40)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	a, ok := m.byID[id]
	if !ok {
		m.notFound(w, "account")
		return
	}
	tl := m.timeline[a.id]
	start := 0
	if maxID := q.Get("max_id"); maxID != "" {
		start = len(tl)
		for i, sid := range tl {
			if sid == maxID {
				start = i + 1
				break
			}
		}
	}
	out := []*statusWire{}
	end := start
	for ; end < len(tl) && len(out) < limit; end++ {
		s := m.statuses[tl[end]]
		if s.reblogOf != "" && q.Get("exclude_reblogs") == "true" {
			continue
		}
		if s.parent != "" && q.Get("exclude_replies") == "true" {
			continue
		}
		out = append(out, m.statusJSON(r, s))
	}
	if len(out) > 0 {
		path := m.base(r) + "/api/v1/accounts/" + a.id + "/statuses"
		nq := url.Values{}
		for k, v := range q {
			if k != "max_id" && k != "min_id" && k != "since_id" {
				nq[k] = v
			}
		}
		var links []string
		if len(out) == limit && end < len(tl) {
			nq.Set("max_id", out[len(out)-1].ID)
			links = append(links, "<"+path+"?"+nq.Encode()+`>; rel="next"`)
			nq.Del("max_id")
		}
		nq.Set("min_id", out[0].ID)
		links = append(links, "<"+path+"?"+nq.Encode()+`>; rel="prev"`)
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	writeJSON(w, http.StatusOK, out)
}

func (m *Mastodon) status(w http.ResponseWriter, r *http.Request) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	s, ok := m.statuses[r.PathValue("id")]
	if !ok {
		m.notFound(w, "status")
		return
	}
	writeJSON(w, http.StatusOK, m.statusJSON(r, s))
}

func (m *Mastodon) context(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	m.mu.RLock()
	if b, ok := m.ctxCache[id]; ok {
		m.mu.RUnlock()
		writeRaw(w, http.StatusOK, b)
		return
	}
	s, ok := m.statuses[id]
	if !ok {
		m.mu.RUnlock()
		m.notFound(w, "status")
		return
	}
	anc := []*statusWire{}
	for p := s.parent; p != ""; p = m.statuses[p].parent {
		anc = append([]*statusWire{m.statusJSON(r, m.statuses[p])}, anc...)
	}
	desc := []*statusWire{}
	var walk func(ids []string)
	walk = func(ids []string) {
		for _, c := range ids {
			cs := m.statuses[c]
			desc = append(desc, m.statusJSON(r, cs))
			walk(cs.children)
		}
	}
	walk(s.children)
	gen := m.seq
	m.mu.RUnlock()
	b, err := json.Marshal(struct {
		Ancestors   []*statusWire `json:"ancestors"`
		Descendants []*statusWire `json:"descendants"`
	}{anc, desc})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	m.mu.Lock()
	if m.seq == gen { // nothing was added while rendering
		if len(m.ctxCache) >= 256 {
			clear(m.ctxCache) // bounded: big fakes (the benchmark) must not hold every thread
		}
		m.ctxCache[id] = b
	}
	m.mu.Unlock()
	writeRaw(w, http.StatusOK, b)
}
