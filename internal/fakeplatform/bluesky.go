package fakeplatform

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// BlueskyProfile is an account on the fake AppView.
type BlueskyProfile struct {
	Handle      string
	DisplayName string
	CreatedAt   time.Time
	Followers   int
	Follows     int
	Posts       int
	Bot         bool // self-label "bot"
	// NoUnauthenticated sets the "!no-unauthenticated" self-label: the
	// author asks not to be shown to logged-out viewers.
	NoUnauthenticated bool
	// NoAvatar leaves the avatar unset (the default avatar).
	NoAvatar bool
}

type bProfile struct {
	BlueskyProfile
	did string
}

type bPost struct {
	uri, cid string
	author   *bProfile
	created  time.Time
	text     string
	parent   *bPost
	root     *bPost
	children []*bPost
	// tombstone is "notFound" or "blocked" for placeholder children.
	tombstone string
}

// Bluesky is a fake Bluesky AppView (public.api.bsky.app).
type Bluesky struct {
	faults
	Server *httptest.Server

	mu       sync.RWMutex
	seq      int
	profiles map[string]*bProfile // by handle and by did
	posts    map[string]*bPost
	feeds    map[string][]*bPost // did → own posts, newest first
}

// NewBluesky starts a fake AppView on 127.0.0.1.
func NewBluesky() *Bluesky {
	b := &Bluesky{profiles: map[string]*bProfile{}, posts: map[string]*bPost{}, feeds: map[string][]*bPost{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /xrpc/app.bsky.actor.getProfile", b.getProfile)
	mux.HandleFunc("GET /xrpc/app.bsky.feed.getAuthorFeed", b.getAuthorFeed)
	mux.HandleFunc("GET /xrpc/app.bsky.feed.getPostThread", b.getPostThread)
	b.Server = httptest.NewServer(b.middleware(mux))
	return b
}

// URL is the AppView base URL (what the source calls ".../xrpc/...").
func (b *Bluesky) URL() string { return b.Server.URL }

// Close stops the server.
func (b *Bluesky) Close() { b.Server.Close() }

// AddProfile creates an account and returns its DID.
func (b *Bluesky) AddProfile(p BlueskyProfile) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	if p.CreatedAt.IsZero() {
		p.CreatedAt = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	did := fmt.Sprintf("did:plc:fake%020d", b.seq)
	bp := &bProfile{BlueskyProfile: p, did: did}
	b.profiles[strings.ToLower(p.Handle)] = bp
	b.profiles[did] = bp
	return did
}

// AddPost adds a top-level post and returns its at-URI.
func (b *Bluesky) AddPost(handle string, created time.Time, text string) string {
	return b.add(handle, "", created, text, "")
}

// AddReply adds a reply under parentURI and returns its at-URI.
func (b *Bluesky) AddReply(parentURI, handle string, created time.Time, text string) string {
	return b.add(handle, parentURI, created, text, "")
}

// AddNotFound adds a deleted reply placeholder under parentURI.
func (b *Bluesky) AddNotFound(parentURI string) string {
	return b.add("", parentURI, time.Time{}, "", "notFound")
}

// AddBlocked adds a blocked reply placeholder under parentURI by handle.
func (b *Bluesky) AddBlocked(parentURI, handle string) string {
	return b.add(handle, parentURI, time.Time{}, "", "blocked")
}

func (b *Bluesky) add(handle, parent string, created time.Time, text, tomb string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	var author *bProfile
	if handle != "" {
		var ok bool
		author, ok = b.profiles[strings.ToLower(handle)]
		if !ok {
			panic(fmt.Sprintf("fakeplatform: no profile %q", handle))
		}
	}
	did := "did:plc:gone"
	if author != nil {
		did = author.did
	}
	rkey := tid(created, b.seq)
	p := &bPost{uri: "at://" + did + "/app.bsky.feed.post/" + rkey, cid: fmt.Sprintf("bafyreifake%08d", b.seq),
		author: author, created: created, text: text, tombstone: tomb}
	if parent != "" {
		pp, ok := b.posts[parent]
		if !ok {
			panic(fmt.Sprintf("fakeplatform: no post %q", parent))
		}
		p.parent = pp
		p.root = pp
		if pp.root != nil {
			p.root = pp.root
		}
		pp.children = append(pp.children, p)
	}
	b.posts[p.uri] = p
	if parent == "" && author != nil {
		f := b.feeds[did]
		i, _ := slices.BinarySearchFunc(f, p, func(a, p *bPost) int { return p.created.Compare(a.created) })
		b.feeds[did] = slices.Insert(f, i, p)
	}
	return p.uri
}

// tid makes a record key shaped like an atproto TID (13 base32-sortable chars).
func tid(t time.Time, seq int) string {
	const alpha = "234567abcdefghijklmnopqrstuvwxyz"
	v := uint64(t.UnixMicro())<<10 | uint64(seq&1023)
	var out [13]byte
	for i := 12; i >= 0; i-- {
		out[i] = alpha[v&31]
		v >>= 5
	}
	return string(out[:])
}

func xrpcError(w http.ResponseWriter, status int, name, msg string) {
	writeJSON(w, status, map[string]string{"error": name, "message": msg})
}

func (b *Bluesky) labels(p *bProfile) []any {
	out := []any{}
	add := func(v string) {
		out = append(out, map[string]any{"src": p.did, "uri": "at://" + p.did + "/app.bsky.actor.profile/self",
			"cid": "bafyreilabel", "val": v, "cts": "2024-01-01T00:00:00.000Z"})
	}
	if p.Bot {
		add("bot")
	}
	if p.NoUnauthenticated {
		add("!no-unauthenticated")
	}
	return out
}

func (b *Bluesky) basic(p *bProfile) map[string]any {
	m := map[string]any{"did": p.did, "handle": p.Handle, "displayName": p.DisplayName,
		"associated": map[string]any{"chat": map[string]any{"allowIncoming": "following"}},
		"labels":     b.labels(p), "createdAt": p.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z")}
	if !p.NoAvatar {
		m["avatar"] = "https://cdn.bsky.app/img/avatar/plain/" + p.did + "/bafkreiavatar@jpeg"
	}
	return m
}

func (b *Bluesky) getProfile(w http.ResponseWriter, r *http.Request) {
	actor := r.URL.Query().Get("actor")
	if actor == "" {
		xrpcError(w, http.StatusBadRequest, "InvalidRequest", `Error: Params must have the property "actor"`)
		return
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	p, ok := b.profiles[strings.ToLower(actor)]
	if !ok {
		xrpcError(w, http.StatusBadRequest, "InvalidRequest", "Profile not found")
		return
	}
	m := b.basic(p)
	m["description"] = ""
	m["indexedAt"] = p.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z")
	m["followersCount"] = p.Followers
	m["followsCount"] = p.Follows
	m["postsCount"] = p.Posts + len(b.feeds[p.did])
	writeJSON(w, http.StatusOK, m)
}

func (b *Bluesky) count(p *bPost) int {
	return len(p.children)
}

func (b *Bluesky) postView(p *bPost) map[string]any {
	rec := map[string]any{"$type": "app.bsky.feed.post", "text": p.text,
		"createdAt": p.created.UTC().Format("2006-01-02T15:04:05.000Z"), "langs": []string{"en"}}
	if p.parent != nil {
		rec["reply"] = map[string]any{
			"root":   map[string]any{"uri": p.root.uri, "cid": p.root.cid},
			"parent": map[string]any{"uri": p.parent.uri, "cid": p.parent.cid},
		}
	}
	return map[string]any{"uri": p.uri, "cid": p.cid, "author": b.basic(p.author), "record": rec,
		"replyCount": b.count(p), "repostCount": 0, "likeCount": 0, "quoteCount": 0,
		"indexedAt": p.created.UTC().Format("2006-01-02T15:04:05.000Z"), "labels": []any{}}
}

func (b *Bluesky) getAuthorFeed(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 50
	if l, err := strconv.Atoi(q.Get("limit")); err == nil {
		if l < 1 || l > 100 {
			xrpcError(w, http.StatusBadRequest, "InvalidRequest", "Error: limit must be between 1 and 100")
			return
		}
		limit = l
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	p, ok := b.profiles[strings.ToLower(q.Get("actor"))]
	if !ok {
		xrpcError(w, http.StatusBadRequest, "InvalidRequest", "Profile not found")
		return
	}
	var before time.Time
	if c := q.Get("cursor"); c != "" {
		t, err := time.Parse(time.RFC3339Nano, c)
		if err != nil {
			xrpcError(w, http.StatusBadRequest, "InvalidRequest", "Malformed cursor")
			return
		}
		before = t
	}
	feed := []any{}
	var last time.Time
	all := b.feeds[p.did]
	i := 0
	for ; i < len(all) && len(feed) < limit; i++ {
		fp := all[i]
		if !before.IsZero() && !fp.created.Before(before) {
			continue
		}
		feed = append(feed, map[string]any{"post": b.postView(fp)})
		last = fp.created
	}
	out := map[string]any{"feed": feed}
	if len(feed) == limit && i < len(all) {
		out["cursor"] = last.UTC().Format(time.RFC3339Nano)
	}
	writeJSON(w, http.StatusOK, out)
}

func (b *Bluesky) thread(p *bPost, depth int) map[string]any {
	switch p.tombstone {
	case "notFound":
		return map[string]any{"$type": "app.bsky.feed.defs#notFoundPost", "uri": p.uri, "notFound": true}
	case "blocked":
		return map[string]any{"$type": "app.bsky.feed.defs#blockedPost", "uri": p.uri, "blocked": true,
			"author": map[string]any{"did": p.author.did, "viewer": map[string]any{"blockedBy": true}}}
	}
	t := map[string]any{"$type": "app.bsky.feed.defs#threadViewPost", "post": b.postView(p)}
	if depth > 0 && len(p.children) > 0 {
		reps := make([]any, 0, len(p.children))
		for _, c := range p.children {
			reps = append(reps, b.thread(c, depth-1))
		}
		t["replies"] = reps
	}
	return t
}

func (b *Bluesky) getPostThread(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	depth := 6
	if d, err := strconv.Atoi(q.Get("depth")); err == nil {
		if d < 0 || d > 1000 {
			xrpcError(w, http.StatusBadRequest, "InvalidRequest", "Error: depth must be between 0 and 1000")
			return
		}
		depth = d
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	p, ok := b.posts[q.Get("uri")]
	if !ok || p.tombstone != "" {
		xrpcError(w, http.StatusBadRequest, "NotFound", "Post not found: "+q.Get("uri"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"thread": b.thread(p, depth)})
}
