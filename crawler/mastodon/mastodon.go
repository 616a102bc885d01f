// Package mastodon collects public replies to a Mastodon (or GoToSocial, or
// any Mastodon-API) account.
//
// For "@user@instance" it resolves the account (/api/v1/accounts/lookup, the
// id is then kept in the cursor), lists its recent statuses
// (/api/v1/accounts/:id/statuses, reblogs excluded, following Link "next"
// verbatim) and, for each status younger than the lookback, reads the thread
// (/api/v1/statuses/:id/context). Descendants come as a flat list; each
// reply's ParentID is its in_reply_to_id, so the tree can be rebuilt.
//
// Incremental: the cursor keeps, per recent post, its replies_count and a
// fingerprint of the reply ids seen. A post's thread is re-read when it is
// new, when its replies_count moved, or when it is younger than the re-scan
// window (nested replies do not move replies_count). When the fingerprint is
// unchanged the thread's replies are not returned again.
//
// Ids are opaque strings (snowflakes on Mastodon, ULIDs on GoToSocial) and
// are never parsed or compared. Servers that refuse unauthenticated reads
// (GoToSocial, DISALLOW_UNAUTHENTICATED_API_ACCESS) answer 401: the account's
// token or the instance token is then needed, and the error says so.
// Replies by authors who set noindex (opted out of indexing) are skipped, as
// are the watched account's own replies and statuses that are replies
// (threads continue under the root post and are read there).
// Unauthenticated context responses are capped by Mastodon at 60
// descendants; a token raises the cap.
package mastodon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mpwatch/mpwatch/crawler"
	"github.com/mpwatch/mpwatch/model"
)

// Options configure the source. Zero values take the client's settings.
type Options struct {
	Lookback time.Duration
	Rescan   time.Duration
	// Tokens are access tokens by instance host; an account's own token wins.
	Tokens map[string]model.Secret
	// MaxPages caps status-list pages per crawl (default 5 of 40).
	MaxPages int
	// Scheme is the instance URL scheme (default https). Account.URL, when
	// set, gives the instance base URL instead (demo and tests).
	Scheme string
}

// Source is the Mastodon crawler source.
type Source struct {
	c    *crawler.Client
	opts Options
}

var _ crawler.Source = (*Source)(nil)

// New builds the source on the shared client.
func New(c *crawler.Client, opts Options) *Source {
	co := c.Options()
	if opts.Lookback <= 0 {
		opts.Lookback = co.Lookback
	}
	if opts.Rescan <= 0 {
		opts.Rescan = co.Rescan
	}
	if opts.Tokens == nil {
		opts.Tokens = co.InstanceTokens
	}
	if opts.MaxPages <= 0 {
		opts.MaxPages = 5
	}
	if opts.Scheme == "" {
		opts.Scheme = "https"
	}
	return &Source{c: c, opts: opts}
}

// Platform is model.Mastodon.
func (s *Source) Platform() model.Platform { return model.Mastodon }

// ParseHandle splits "@user@instance" (or "user@instance") into its parts.
func ParseHandle(h string) (user, host string, err error) {
	user, host, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(h), "@"), "@")
	if !ok || user == "" || host == "" || strings.ContainsAny(user, "/?#@ ") || strings.ContainsAny(host, "/?#@ ") {
		return "", "", fmt.Errorf("mastodon handle %q is not of the form @user@instance", h)
	}
	return user, strings.ToLower(host), nil
}

type cursor struct {
	AccountID string               `json:"acct_id,omitempty"`
	Posts     map[string]postState `json:"posts,omitempty"`
}

type postState struct {
	Created int64  `json:"t"`           // unix seconds, to prune past lookback
	Count   int    `json:"rc"`          // replies_count last seen
	Seen    string `json:"h,omitempty"` // SetHash of reply ids last returned
}

// Wire types: only the fields we use; unknown fields are ignored.
type account struct {
	ID             string `json:"id"`
	Username       string `json:"username"`
	Acct           string `json:"acct"`
	DisplayName    string `json:"display_name"`
	URL            string `json:"url"`
	Avatar         string `json:"avatar"`
	Bot            bool   `json:"bot"`
	CreatedAt      string `json:"created_at"`
	FollowersCount int    `json:"followers_count"`
	Noindex        bool   `json:"noindex"`
	FollowingCount int    `json:"following_count"`
	StatusesCount  int    `json:"statuses_count"`
}

type status struct {
	ID           string          `json:"id"`
	CreatedAt    string          `json:"created_at"`
	InReplyToID  *string         `json:"in_reply_to_id"`
	SpoilerText  string          `json:"spoiler_text"`
	Visibility   string          `json:"visibility"`
	Language     *string         `json:"language"`
	URI          string          `json:"uri"`
	URL          *string         `json:"url"`
	RepliesCount int             `json:"replies_count"`
	Content      string          `json:"content"`
	Reblog       json.RawMessage `json:"reblog"`
	Account      account         `json:"account"`
}

type threadContext struct {
	Ancestors   []status `json:"ancestors"`
	Descendants []status `json:"descendants"`
}

type instance struct {
	base, host string
	hdr        http.Header
}

func (s *Source) instance(acct model.Account, host string) instance {
	in := instance{base: s.opts.Scheme + "://" + host, host: host, hdr: http.Header{}}
	if acct.URL != "" {
		if u, err := url.Parse(acct.URL); err == nil && u.Scheme != "" && u.Host != "" {
			in.base = u.Scheme + "://" + u.Host
		}
	}
	tok := acct.Token
	if tok == "" {
		tok = s.opts.Tokens[host]
	}
	if tok != "" {
		in.hdr.Set("Authorization", "Bearer "+tok.Value())
	}
	return in
}

func (s *Source) get(ctx context.Context, in instance, handle, u string, v any) (*crawler.Response, error) {
	resp, err := s.c.GetJSON(ctx, u, in.hdr, v)
	if err != nil {
		return resp, explain(err, in, handle)
	}
	return resp, nil
}

// explain adds what to do to the errors an administrator can fix.
func explain(err error, in instance, handle string) error {
	var ce *crawler.Error
	if errors.As(err, &ce) {
		switch ce.Kind {
		case crawler.KindAuth:
			if in.hdr.Get("Authorization") == "" {
				ce.Msg += fmt.Sprintf("; set crawler.instances.%s.token or the account's token", in.host)
			} else {
				ce.Msg += fmt.Sprintf("; the access token for %s was refused: check it has read scope and a user", in.host)
			}
		case crawler.KindNotFound:
			if handle != "" {
				ce.Msg = crawler.CleanLine(ce.Msg+"; account "+handle+" or its post is gone (check the watchlist handle)", 300)
			}
		}
	}
	return err
}

// Crawl reads new replies under the account's recent posts.
func (s *Source) Crawl(ctx context.Context, req crawler.Request) (crawler.Result, error) {
	handle := req.Account.Handle
	user, host, err := ParseHandle(handle)
	if err != nil {
		return crawler.Result{}, err
	}
	in := s.instance(req.Account, host)
	var cur cursor
	if req.Cursor != "" {
		// A cursor we cannot read only costs a full re-read.
		_ = json.Unmarshal([]byte(req.Cursor), &cur)
	}
	if cur.Posts == nil {
		cur.Posts = map[string]postState{}
	}
	lookback := s.opts.Lookback
	if req.Account.Lookback > 0 {
		lookback = req.Account.Lookback
	}
	since := req.Now.Add(-lookback)

	statuses, acctID, err := s.listRecent(ctx, in, user, handle, cur.AccountID, since)
	if err != nil {
		return crawler.Result{}, err
	}
	next := cursor{AccountID: acctID, Posts: map[string]postState{}}
	var res crawler.Result
	var errs []error
	stop := false
	for _, st := range statuses {
		created, _ := time.Parse(time.RFC3339Nano, st.CreatedAt)
		post := model.Post{Platform: model.Mastodon, ID: st.ID, URL: statusURL(st), Target: req.Target.ID,
			Account: handle, CreatedAt: created, Text: crawler.HTMLToText(st.Content), ReplyCount: st.RepliesCount}
		res.Posts = append(res.Posts, post)
		prev, seen := cur.Posts[st.ID]
		if stop {
			if seen {
				next.Posts[st.ID] = prev // not read this time; keep what we knew
			}
			continue
		}
		state := postState{Created: created.Unix(), Count: st.RepliesCount, Seen: prev.Seen}
		fresh := req.Now.Sub(created) < s.opts.Rescan
		changed := !seen || prev.Count != st.RepliesCount
		// No direct reply means no reply at all; a fresh post is re-read
		// anyway because counts lag behind federation.
		if !fresh && (!changed || st.RepliesCount == 0) {
			next.Posts[st.ID] = state
			continue
		}
		replies, err := s.thread(ctx, in, req, st.ID, acctID)
		if err != nil {
			errs = append(errs, fmt.Errorf("read replies to %s: %w", st.ID, err))
			switch crawler.KindOf(err) {
			case crawler.KindNotFound:
				continue // deleted since it was listed
			case crawler.KindBadResponse, crawler.KindTooLarge:
				if seen {
					next.Posts[st.ID] = prev
				}
				continue
			default:
				// Rate limits, auth and network trouble affect every
				// further request: stop here, keep what we have.
				stop = true
				if seen {
					next.Posts[st.ID] = prev
				}
				continue
			}
		}
		ids := make([]string, len(replies))
		for i, r := range replies {
			ids[i] = r.ID
		}
		state.Seen = crawler.SetHash(ids)
		if !seen || state.Seen != prev.Seen {
			res.Replies = append(res.Replies, replies...)
		}
		next.Posts[st.ID] = state
	}
	b, _ := json.Marshal(next)
	res.Cursor = string(b)
	return res, errors.Join(errs...)
}

func statusURL(st status) string {
	if st.URL != nil && *st.URL != "" {
		return *st.URL
	}
	return st.URI
}

// listRecent returns the account's own statuses newer than since (reblogs
// excluded), newest first, and the account id.
func (s *Source) listRecent(ctx context.Context, in instance, user, handle, acctID string, since time.Time) ([]status, string, error) {
	cached := acctID != ""
	for attempt := 0; attempt < 2; attempt++ {
		if acctID == "" {
			var a account
			q := url.Values{"acct": {user}}
			if _, err := s.get(ctx, in, handle, in.base+"/api/v1/accounts/lookup?"+q.Encode(), &a); err != nil {
				return nil, "", fmt.Errorf("look up mastodon account %s: %w", handle, err)
			}
			if a.ID == "" {
				return nil, "", &crawler.Error{Kind: crawler.KindBadResponse, URL: in.base + "/api/v1/accounts/lookup", Msg: "account without an id"}
			}
			acctID = a.ID
		}
		out, err := s.statuses(ctx, in, acctID, since)
		if err != nil && cached && crawler.KindOf(err) == crawler.KindNotFound {
			// The cached id went stale (account moved or re-created).
			acctID, cached = "", false
			continue
		}
		if err != nil {
			return out, acctID, fmt.Errorf("list statuses of %s: %w", handle, err)
		}
		return out, acctID, nil
	}
	return nil, "", fmt.Errorf("list statuses of %s: account id keeps changing", handle)
}

func (s *Source) statuses(ctx context.Context, in instance, acctID string, since time.Time) ([]status, error) {
	u := in.base + "/api/v1/accounts/" + url.PathEscape(acctID) + "/statuses?limit=40&exclude_reblogs=true"
	var out []status
	for page := 0; page < s.opts.MaxPages && u != ""; page++ {
		var batch []status
		resp, err := s.get(ctx, in, "", u, &batch)
		if err != nil {
			return out, err
		}
		older := false
		for _, st := range batch {
			if len(st.Reblog) > 0 && string(st.Reblog) != "null" {
				continue
			}
			// The account's replies (even to its own threads) are not watched
			// posts: replies under them are already in the root's context.
			if (st.Account.ID != "" && st.Account.ID != acctID) || st.InReplyToID != nil {
				continue
			}
			if st.Visibility != "" && st.Visibility != "public" && st.Visibility != "unlisted" {
				continue
			}
			created, err := time.Parse(time.RFC3339Nano, st.CreatedAt)
			if err != nil {
				continue
			}
			if created.Before(since) {
				older = true
				continue
			}
			out = append(out, st)
		}
		if older || len(batch) == 0 {
			break
		}
		u = crawler.LinkRel(resp.Header, "next")
	}
	return out, nil
}

// thread reads the replies under postID by accounts other than the watched one.
func (s *Source) thread(ctx context.Context, in instance, req crawler.Request, postID, ownID string) ([]model.Reply, error) {
	var tc threadContext
	if _, err := s.get(ctx, in, req.Account.Handle, in.base+"/api/v1/statuses/"+url.PathEscape(postID)+"/context", &tc); err != nil {
		return nil, err
	}
	out := make([]model.Reply, 0, len(tc.Descendants))
	for _, st := range tc.Descendants {
		// noindex: the author opted out of being indexed; honoured as the
		// instance terms ask.
		if st.ID == "" || st.Account.ID == ownID || st.Account.Noindex {
			continue
		}
		r, ok := toReply(st, in.host, req, postID)
		if ok {
			out = append(out, r)
		}
	}
	return out, nil
}

func toReply(st status, host string, req crawler.Request, postID string) (model.Reply, bool) {
	created, err := time.Parse(time.RFC3339Nano, st.CreatedAt)
	if err != nil {
		return model.Reply{}, false
	}
	text := crawler.HTMLToText(st.Content)
	if st.SpoilerText != "" {
		text = crawler.CleanLine(st.SpoilerText, 500) + "\n\n" + text
	}
	r := model.Reply{
		Platform: model.Mastodon, ID: st.ID, URL: statusURL(st), Kind: model.KindReply,
		Target: req.Target.ID, Account: req.Account.Handle, PostID: postID,
		CreatedAt: created.UTC(), Text: text, Author: toAuthor(st.Account, host),
	}
	if st.InReplyToID != nil {
		r.ParentID = *st.InReplyToID
	}
	if st.Language != nil {
		r.Lang = *st.Language
	}
	return r, true
}

// toAuthor fills the author and the signals the coordination detector reads.
// acct is "user" for accounts local to the instance, so it is qualified with
// the instance host to make one id per account across the fediverse.
func toAuthor(a account, host string) model.Author {
	acct := strings.ToLower(a.Acct)
	if acct == "" {
		acct = strings.ToLower(a.Username)
	}
	if !strings.Contains(acct, "@") {
		acct += "@" + host
	}
	au := model.Author{
		ID: acct, Handle: "@" + acct, Name: crawler.CleanLine(a.DisplayName, 200), URL: a.URL,
		Followers: a.FollowersCount, Following: a.FollowingCount, Posts: a.StatusesCount, Bot: a.Bot,
		DefaultAvatar: a.Avatar == "" || strings.Contains(a.Avatar, "missing.png") || strings.Contains(a.Avatar, "default_avatars"),
	}
	if t, err := time.Parse(time.RFC3339Nano, a.CreatedAt); err == nil {
		t = t.UTC()
		au.CreatedAt = &t
	}
	return au
}
