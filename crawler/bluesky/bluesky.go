// Package bluesky collects public replies to a Bluesky account through the
// public AppView (no credentials).
//
// For a handle ("name.bsky.social") or a DID it reads the profile
// (app.bsky.actor.getProfile), the account's own top-level posts
// (app.bsky.feed.getAuthorFeed, filter posts_no_replies, cursor passed back
// as is; reposts skipped) and, for each post younger than the lookback, the
// thread (app.bsky.feed.getPostThread with depth). Replies nest; each reply's
// ParentID is its record's reply.parent uri. notFoundPost and blockedPost
// entries are skipped, and so is anything by an author carrying the
// "!no-unauthenticated" label (they ask not to be shown to logged-out
// viewers); a watched account with that label is not read at all and the
// source reports why. Web URLs are built from at-URIs:
// at://<did>/app.bsky.feed.post/<rkey> → https://bsky.app/profile/<did>/post/<rkey>.
//
// Incremental as in the mastodon source: per recent post the cursor keeps
// replyCount and a fingerprint of the reply uris; a thread is re-read when
// new, when replyCount moved, or when younger than the re-scan window, and its
// replies are returned only when the set changed.
package bluesky

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mpwatch/mpwatch/crawler"
	"github.com/mpwatch/mpwatch/model"
)

// Options configure the source. Zero values take defaults.
type Options struct {
	// BaseURL is the AppView (default https://public.api.bsky.app).
	BaseURL string
	// WebURL is where post links point (default https://bsky.app).
	WebURL   string
	Lookback time.Duration
	Rescan   time.Duration
	// MaxPages caps author-feed pages per crawl (default 5 of 50).
	MaxPages int
	// Depth is the reply depth asked of getPostThread (default 20, max 1000).
	Depth int
}

// Source is the Bluesky crawler source.
type Source struct {
	c    *crawler.Client
	opts Options
}

var _ crawler.Source = (*Source)(nil)

// New builds the source on the shared client.
func New(c *crawler.Client, opts Options) *Source {
	co := c.Options()
	if opts.BaseURL == "" {
		opts.BaseURL = "https://public.api.bsky.app"
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	if opts.WebURL == "" {
		opts.WebURL = "https://bsky.app"
	}
	opts.WebURL = strings.TrimRight(opts.WebURL, "/")
	if opts.Lookback <= 0 {
		opts.Lookback = co.Lookback
	}
	if opts.Rescan <= 0 {
		opts.Rescan = co.Rescan
	}
	if opts.MaxPages <= 0 {
		opts.MaxPages = 5
	}
	if opts.Depth <= 0 {
		opts.Depth = 20
	}
	opts.Depth = min(opts.Depth, 1000)
	return &Source{c: c, opts: opts}
}

// Platform is model.Bluesky.
func (s *Source) Platform() model.Platform { return model.Bluesky }

type cursor struct {
	DID   string               `json:"did,omitempty"`
	Posts map[string]postState `json:"posts,omitempty"`
}

type postState struct {
	Created int64  `json:"t"`
	Count   int    `json:"rc"`
	Seen    string `json:"h,omitempty"`
}

type label struct {
	Val string `json:"val"`
}

type profile struct {
	DID         string  `json:"did"`
	Handle      string  `json:"handle"`
	DisplayName string  `json:"displayName"`
	Avatar      string  `json:"avatar"`
	CreatedAt   string  `json:"createdAt"`
	Followers   int     `json:"followersCount"`
	Follows     int     `json:"followsCount"`
	Posts       int     `json:"postsCount"`
	Labels      []label `json:"labels"`
}

type postView struct {
	URI    string  `json:"uri"`
	Author profile `json:"author"`
	Record struct {
		Text      string   `json:"text"`
		CreatedAt string   `json:"createdAt"`
		Langs     []string `json:"langs"`
		Reply     *struct {
			Parent struct {
				URI string `json:"uri"`
			} `json:"parent"`
		} `json:"reply"`
	} `json:"record"`
	ReplyCount int     `json:"replyCount"`
	IndexedAt  string  `json:"indexedAt"`
	Labels     []label `json:"labels"`
}

type feedResponse struct {
	Cursor string `json:"cursor"`
	Feed   []struct {
		Post   postView `json:"post"`
		Reason *struct {
			Type string `json:"$type"`
		} `json:"reason"`
	} `json:"feed"`
}

type threadNode struct {
	Type    string       `json:"$type"`
	Post    *postView    `json:"post"`
	Replies []threadNode `json:"replies"`
}

func hasLabel(ls []label, v string) bool {
	for _, l := range ls {
		if l.Val == v {
			return true
		}
	}
	return false
}

// get calls an XRPC method. The AppView answers a missing record with 400
// {"error":"NotFound"} or {"message":"Profile not found"}; those become
// KindNotFound so the caller skips rather than fails.
func (s *Source) get(ctx context.Context, method string, q url.Values, v any) error {
	_, err := s.c.GetJSON(ctx, s.opts.BaseURL+"/xrpc/"+method+"?"+q.Encode(), nil, v)
	var ce *crawler.Error
	if errors.As(err, &ce) && ce.Status == 400 && (strings.HasPrefix(ce.Msg, "NotFound") || strings.Contains(ce.Msg, "not found")) {
		ce.Kind = crawler.KindNotFound
	}
	return err
}

// Crawl reads new replies under the account's recent posts.
func (s *Source) Crawl(ctx context.Context, req crawler.Request) (crawler.Result, error) {
	actor := strings.TrimPrefix(strings.TrimSpace(req.Account.Handle), "@")
	if actor == "" {
		return crawler.Result{}, fmt.Errorf("bluesky account has no handle or DID")
	}
	var cur cursor
	if req.Cursor != "" {
		_ = json.Unmarshal([]byte(req.Cursor), &cur)
	}
	lookback := s.opts.Lookback
	if req.Account.Lookback > 0 {
		lookback = req.Account.Lookback
	}
	since := req.Now.Add(-lookback)

	var prof profile
	if err := s.get(ctx, "app.bsky.actor.getProfile", url.Values{"actor": {actor}}, &prof); err != nil {
		return crawler.Result{}, fmt.Errorf("read bluesky profile %s: %w", actor, err)
	}
	if prof.DID == "" {
		return crawler.Result{}, &crawler.Error{Kind: crawler.KindBadResponse, URL: s.opts.BaseURL + "/xrpc/app.bsky.actor.getProfile", Msg: "profile without a did"}
	}
	if hasLabel(prof.Labels, "!no-unauthenticated") {
		return crawler.Result{}, &crawler.Error{Kind: crawler.KindForbiddenByRobots, URL: s.opts.WebURL + "/profile/" + prof.DID,
			Msg: "the account carries !no-unauthenticated (asks not to be shown to logged-out viewers); not collected"}
	}
	posts, err := s.recent(ctx, prof.DID, since)
	if err != nil {
		err = fmt.Errorf("list posts of %s: %w", actor, err)
		if len(posts) == 0 {
			return crawler.Result{}, err
		}
	}
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	next := cursor{DID: prof.DID, Posts: map[string]postState{}}
	var res crawler.Result
	stop := false
	for _, p := range posts {
		created := postTime(p)
		res.Posts = append(res.Posts, model.Post{Platform: model.Bluesky, ID: p.URI, URL: s.webURL(p.URI), Target: req.Target.ID,
			Account: req.Account.Handle, CreatedAt: created, Text: crawler.CleanText(p.Record.Text), ReplyCount: p.ReplyCount})
		prev, seen := cur.Posts[p.URI]
		if stop {
			if seen {
				next.Posts[p.URI] = prev
			}
			continue
		}
		state := postState{Created: created.Unix(), Count: p.ReplyCount, Seen: prev.Seen}
		fresh := req.Now.Sub(created) < s.opts.Rescan
		changed := !seen || prev.Count != p.ReplyCount
		if !fresh && (!changed || p.ReplyCount == 0) {
			next.Posts[p.URI] = state
			continue
		}
		replies, err := s.thread(ctx, req, p.URI, prof.DID)
		if err != nil {
			errs = append(errs, fmt.Errorf("read replies to %s: %w", p.URI, err))
			switch crawler.KindOf(err) {
			case crawler.KindNotFound:
			case crawler.KindBadResponse, crawler.KindTooLarge:
				if seen {
					next.Posts[p.URI] = prev
				}
			default:
				stop = true
				if seen {
					next.Posts[p.URI] = prev
				}
			}
			continue
		}
		ids := make([]string, len(replies))
		for i, r := range replies {
			ids[i] = r.ID
		}
		state.Seen = crawler.SetHash(ids)
		if !seen || state.Seen != prev.Seen {
			res.Replies = append(res.Replies, replies...)
		}
		next.Posts[p.URI] = state
	}
	b, _ := json.Marshal(next)
	res.Cursor = string(b)
	return res, errors.Join(errs...)
}

func postTime(p postView) time.Time {
	if t, err := time.Parse(time.RFC3339Nano, p.Record.CreatedAt); err == nil {
		return t.UTC()
	}
	t, _ := time.Parse(time.RFC3339Nano, p.IndexedAt)
	return t.UTC()
}

// recent lists the account's own top-level posts newer than since, newest
// first, without reposts; a pinned old post does not end the listing.
func (s *Source) recent(ctx context.Context, did string, since time.Time) ([]postView, error) {
	var out []postView
	seen := map[string]bool{}
	cur := ""
	for page := 0; page < s.opts.MaxPages; page++ {
		q := url.Values{"actor": {did}, "limit": {"50"}, "filter": {"posts_no_replies"}}
		if cur != "" {
			q.Set("cursor", cur)
		}
		var fr feedResponse
		if err := s.get(ctx, "app.bsky.feed.getAuthorFeed", q, &fr); err != nil {
			return out, err
		}
		older := false
		for _, it := range fr.Feed {
			p := it.Post
			pinned := it.Reason != nil && strings.HasSuffix(it.Reason.Type, "#reasonPin")
			if it.Reason != nil && !pinned || p.Author.DID != did || p.URI == "" || seen[p.URI] || p.Record.Reply != nil {
				continue
			}
			if postTime(p).Before(since) {
				if !pinned {
					older = true
				}
				continue
			}
			seen[p.URI] = true
			out = append(out, p)
		}
		if older || fr.Cursor == "" || len(fr.Feed) == 0 {
			break
		}
		cur = fr.Cursor
	}
	return out, nil
}

func (s *Source) thread(ctx context.Context, req crawler.Request, uri, ownDID string) ([]model.Reply, error) {
	var tr struct {
		Thread threadNode `json:"thread"`
	}
	q := url.Values{"uri": {uri}, "depth": {strconv.Itoa(s.opts.Depth)}, "parentHeight": {"0"}}
	if err := s.get(ctx, "app.bsky.feed.getPostThread", q, &tr); err != nil {
		return nil, err
	}
	var out []model.Reply
	var walk func(n threadNode, parent string, depth int)
	walk = func(n threadNode, parent string, depth int) {
		if depth > 1000 {
			return
		}
		for _, c := range n.Replies {
			if c.Post == nil || (c.Type != "" && !strings.HasSuffix(c.Type, "#threadViewPost")) {
				continue // notFoundPost, blockedPost, or a kind we do not know
			}
			p := *c.Post
			if hasLabel(p.Author.Labels, "!no-unauthenticated") {
				continue // neither them nor what hangs under them
			}
			if p.Author.DID != ownDID {
				out = append(out, s.toReply(req, p, uri, parent))
			}
			walk(c, p.URI, depth+1)
		}
	}
	if tr.Thread.Post == nil {
		return nil, nil
	}
	walk(tr.Thread, uri, 0)
	return out, nil
}

func (s *Source) toReply(req crawler.Request, p postView, postURI, parent string) model.Reply {
	if p.Record.Reply != nil && p.Record.Reply.Parent.URI != "" {
		parent = p.Record.Reply.Parent.URI
	}
	r := model.Reply{Platform: model.Bluesky, ID: p.URI, URL: s.webURL(p.URI), Kind: model.KindReply,
		Target: req.Target.ID, Account: req.Account.Handle, PostID: postURI, ParentID: parent,
		CreatedAt: postTime(p), Text: crawler.CleanText(p.Record.Text)}
	if len(p.Record.Langs) > 0 {
		r.Lang = p.Record.Langs[0]
	}
	a := p.Author
	r.Author = model.Author{ID: a.DID, Handle: a.Handle, Name: crawler.CleanLine(a.DisplayName, 200), URL: s.opts.WebURL + "/profile/" + a.DID,
		Followers: a.Followers, Following: a.Follows, Posts: a.Posts,
		Bot: hasLabel(a.Labels, "bot"), DefaultAvatar: a.Avatar == ""}
	if t, err := time.Parse(time.RFC3339Nano, a.CreatedAt); err == nil {
		t = t.UTC()
		r.Author.CreatedAt = &t
	}
	return r
}

// webURL turns at://<did>/app.bsky.feed.post/<rkey> into the bsky.app link.
func (s *Source) webURL(uri string) string {
	rest, ok := strings.CutPrefix(uri, "at://")
	if !ok {
		return ""
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || parts[1] != "app.bsky.feed.post" {
		return ""
	}
	return s.opts.WebURL + "/profile/" + parts[0] + "/post/" + parts[2]
}
