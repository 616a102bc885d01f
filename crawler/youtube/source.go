package youtube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	_ "time/tzdata" // quota resets at midnight America/Los_Angeles, also on hosts without a tz database

	"github.com/mpwatch/mpwatch/crawler"
	"github.com/mpwatch/mpwatch/model"
)

// DefaultBaseURL is the YouTube Data API v3 root.
const DefaultBaseURL = "https://www.googleapis.com/youtube/v3"

// disabledRecheck is how long a video with comments turned off is left alone.
const disabledRecheck = 24 * time.Hour

// Options configure the youtube source. Zero values take the defaults.
type Options struct {
	// BaseURL is the API root (tests point it at an httptest server).
	BaseURL string
	// MaxPages bounds commentThreads.list pages per scope per crawl (default 10).
	MaxPages int
	// MaxReplyPages bounds comments.list pages per thread (default 5).
	MaxReplyPages int
	Logger        *slog.Logger
}

// Source reads comments under a channel's videos (or listed videos) with
// an API key.
type Source struct {
	client *crawler.Client
	opts   Options
	log    *slog.Logger
}

var _ crawler.Source = (*Source)(nil)

// New returns a youtube source fetching through client.
func New(client *crawler.Client, opts Options) *Source {
	if opts.BaseURL == "" {
		opts.BaseURL = DefaultBaseURL
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	if opts.MaxPages <= 0 {
		opts.MaxPages = 10
	}
	if opts.MaxReplyPages <= 0 {
		opts.MaxReplyPages = 5
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Source{client: client, opts: opts, log: log.With("platform", string(model.YouTube))}
}

// Platform reports model.YouTube.
func (s *Source) Platform() model.Platform { return model.YouTube }

// VideoIDs returns the account's options.video_ids, split on commas.
func VideoIDs(a model.Account) []string {
	var out []string
	for _, v := range strings.Split(a.Options["video_ids"], ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

type scope struct {
	key   string // cursor key
	param string // videoId or allThreadsRelatedToChannelId
	id    string
}

type crawl struct {
	s     *Source
	req   crawler.Request
	ref   Ref
	key   string
	hdr   http.Header
	now   time.Time
	units int
	label string // "channel UC…" or "videos a,b" for messages
	log   *slog.Logger
}

// Crawl reads new comment threads (and their replies) per scope: each
// listed video, or the whole channel when no videos are listed.
func (s *Source) Crawl(ctx context.Context, req crawler.Request) (crawler.Result, error) {
	channel := strings.TrimSpace(req.Account.Handle)
	videos := VideoIDs(req.Account)
	name := channel
	if name == "" {
		name = strings.Join(videos, ",")
	}
	c := &crawl{s: s, req: req, key: req.Account.Token.Value(), label: "channel " + channel,
		ref: Ref{Target: req.Target.ID, Account: channel, Channel: channel},
		log: s.log.With("target", req.Target.ID, "account", name)}
	if channel == "" {
		c.label = "videos " + name
	}
	if channel == "" && len(videos) == 0 {
		return crawler.Result{Cursor: req.Cursor}, &crawler.Error{Kind: crawler.KindBadResponse,
			Msg: "youtube account has neither a channel id (handle) nor options.video_ids; set one in the watchlist"}
	}
	if c.key == "" {
		return crawler.Result{Cursor: req.Cursor}, &crawler.Error{Kind: crawler.KindAuth,
			Msg: fmt.Sprintf("youtube %s: no API key configured; set token: ${ENV_VAR} on this account in the watchlist "+
				"and put a YouTube Data API v3 key in that variable", name)}
	}
	// Google accepts the key as a header as well as key=; the header keeps
	// it out of every URL, and so out of logs and errors.
	c.hdr = http.Header{"X-Goog-Api-Key": {c.key}}
	c.now = req.Now
	if c.now.IsZero() {
		c.now = s.client.Now()
	}
	cur, err := decodeCursor(req.Cursor)
	if err != nil {
		c.log.Warn("youtube cursor unreadable, starting afresh", "error", err)
	}

	var scopes []scope
	if len(videos) > 0 {
		for _, v := range videos {
			scopes = append(scopes, scope{key: "video:" + v, param: "videoId", id: v})
		}
	} else {
		scopes = append(scopes, scope{key: "channel:" + channel, param: "allThreadsRelatedToChannelId", id: channel})
	}
	keep := map[string]bool{}
	for _, sc := range scopes {
		keep[sc.key] = true
	}

	var res crawler.Result
	finish := func(err error) (crawler.Result, error) {
		res.Cursor = cur.encode(keep)
		c.log.Debug("youtube crawl done", "quota_units", c.units, "replies", len(res.Replies))
		return res, err
	}

	if c.now.Before(cur.QuotaUntil) {
		return finish(c.quotaError("", cur.QuotaUntil))
	}
	cur.QuotaUntil = time.Time{}

	lookback := req.Account.Lookback
	if lookback <= 0 {
		lookback = s.client.Options().Lookback
	}
	oldest := c.now.Add(-lookback)

	disabled := 0
	for _, sc := range scopes {
		if t, ok := cur.Disabled[sc.key]; ok && c.now.Sub(t) < disabledRecheck {
			disabled++
			continue
		}
		since := cur.Newest[sc.key]
		if since.Before(oldest) {
			since = oldest
		}
		replies, newest, err := c.scope(ctx, sc, since)
		res.Replies = append(res.Replies, replies...)
		if errors.Is(err, ErrCommentsDisabled) {
			disabled++
			cur.Disabled[sc.key] = c.now
			c.log.Info("youtube comments disabled", "scope", sc.key)
			continue
		}
		if errors.Is(err, ErrQuotaExceeded) {
			var ce *crawler.Error
			if errors.As(err, &ce) {
				cur.QuotaUntil = c.now.Add(ce.RetryAfter)
			}
			return finish(err)
		}
		if err != nil {
			return finish(err)
		}
		delete(cur.Disabled, sc.key)
		if newest.After(cur.Newest[sc.key]) {
			cur.Newest[sc.key] = newest
		}
	}
	if disabled == len(scopes) {
		return finish(&crawler.Error{Kind: crawler.KindForbiddenByRobots, Err: ErrCommentsDisabled,
			Msg: fmt.Sprintf("youtube %s: comments are turned off on every watched video; nothing to read until the owner turns them on (checked again daily)", name)})
	}
	return finish(nil)
}

// scope pages through one scope's threads newest first, down to since.
func (c *crawl) scope(ctx context.Context, sc scope, since time.Time) ([]model.Reply, time.Time, error) {
	q := url.Values{
		"part":       {"snippet,replies"},
		sc.param:     {sc.id},
		"maxResults": {"100"},
		"order":      {"time"},
		"textFormat": {"plainText"},
	}
	var out []model.Reply
	var newest time.Time
	note := func(t time.Time) {
		if t.After(newest) {
			newest = t
		}
	}
	for page := 0; page < c.s.opts.MaxPages; page++ {
		u := c.s.opts.BaseURL + "/commentThreads?" + q.Encode()
		body, err := c.get(ctx, u)
		if err != nil {
			return out, newest, err
		}
		tp, err := ParseThreads(body, c.ref)
		if err != nil {
			return out, newest, c.badBody(u, err)
		}
		reachedOld := false
		for _, th := range tp.Threads {
			note(th.Top.CreatedAt)
			if th.Top.CreatedAt.Before(since) {
				// Older thread: only its new replies are of interest, and
				// order=time puts every newer thread before it.
				reachedOld = true
			} else if !th.Own {
				out = append(out, th.Top)
			}
			replies := th.Replies
			if th.TotalReplies > th.Inline && !th.Top.CreatedAt.Before(since) {
				// The thread carried only part of its replies: read them all.
				all, err := c.replies(ctx, th)
				if err != nil {
					return out, newest, err
				}
				replies = all
			}
			for _, r := range replies {
				note(r.CreatedAt)
				if !r.CreatedAt.Before(since) {
					out = append(out, r)
				}
			}
		}
		if reachedOld || tp.NextPageToken == "" {
			return out, newest, nil
		}
		q.Set("pageToken", tp.NextPageToken)
	}
	c.log.Warn("youtube scope has more pages than max_pages; older threads are skipped this time", "scope", sc.key)
	return out, newest, nil
}

// replies reads a thread's replies with comments.list?parentId=.
func (c *crawl) replies(ctx context.Context, th Thread) ([]model.Reply, error) {
	q := url.Values{
		"part":       {"snippet"},
		"parentId":   {th.ID},
		"maxResults": {"100"},
		"textFormat": {"plainText"},
	}
	var out []model.Reply
	for page := 0; page < c.s.opts.MaxReplyPages; page++ {
		u := c.s.opts.BaseURL + "/comments?" + q.Encode()
		body, err := c.get(ctx, u)
		if err != nil {
			return out, err
		}
		ref := c.ref
		if ref.Channel == "" {
			ref.Channel = th.Owner
		}
		rp, err := ParseReplies(body, th.VideoID, th.ID, ref)
		if err != nil {
			return out, c.badBody(u, err)
		}
		out = append(out, rp.Replies...)
		if rp.NextPageToken == "" {
			break
		}
		q.Set("pageToken", rp.NextPageToken)
	}
	return out, nil
}

func (c *crawl) get(ctx context.Context, u string) ([]byte, error) {
	c.units++ // every list call costs one quota unit, whatever it returns
	resp, err := c.s.client.Get(ctx, u, c.hdr)
	if err != nil {
		return nil, c.fail(u, resp, err)
	}
	return resp.Body, nil
}

func (c *crawl) scrub(s string) string {
	if c.key == "" {
		return s
	}
	return strings.ReplaceAll(s, c.key, "<secret>")
}

func (c *crawl) name() string { return c.label }

func (c *crawl) quotaError(u string, until time.Time) error {
	return &crawler.Error{Kind: crawler.KindRateLimited, URL: u, RetryAfter: until.Sub(c.now), Err: ErrQuotaExceeded,
		Msg: fmt.Sprintf("youtube %s: the Google Cloud project's daily YouTube Data API quota (10,000 units by default, "+
			"1 unit per list call) is used up; it resets at midnight Pacific time (%s UTC); ask for more in the "+
			"Google Cloud console (IAM & Admin → Quotas) or poll less often", c.name(), until.UTC().Format("2006-01-02 15:04"))}
}

// fail turns a client error into one for the administrator, carrying no
// key: URLs are redacted and Google's messages scrubbed.
func (c *crawl) fail(u string, resp *crawler.Response, err error) error {
	ru := redactURL(u)
	var ce *crawler.Error
	errors.As(err, &ce)
	if resp != nil {
		if ae, ok := ParseError(resp.Body); ok {
			clean := *ae
			clean.Message = crawler.CleanLine(c.scrub(stripTags(clean.Message)), 300)
			clean.Errors = nil
			for _, e := range ae.Errors {
				e.Message = crawler.CleanLine(c.scrub(stripTags(e.Message)), 300)
				clean.Errors = append(clean.Errors, e)
			}
			out := &crawler.Error{URL: ru, Status: resp.Status, Err: &clean}
			switch {
			case clean.hasReason("quotaExceeded", "dailyLimitExceeded", "RATE_LIMIT_EXCEEDED"):
				qe := c.quotaError(ru, quotaReset(c.now)).(*crawler.Error)
				qe.Status, qe.Err = resp.Status, fmt.Errorf("%w: %w", ErrQuotaExceeded, &clean)
				return qe
			case clean.hasReason("commentsDisabled"):
				out.Kind = crawler.KindForbiddenByRobots
				out.Err = fmt.Errorf("%w: %w", ErrCommentsDisabled, &clean)
				out.Msg = fmt.Sprintf("youtube %s: comments are turned off on this video", c.name())
				return out
			case clean.hasReason("keyInvalid", "API_KEY_INVALID", "keyExpired", "API_KEY_EXPIRED"):
				out.Kind = crawler.KindAuth
				out.Msg = fmt.Sprintf("youtube %s: Google rejected the API key (%s); create a key in the Google Cloud console "+
					"(APIs & Services → Credentials) for a project with YouTube Data API v3 enabled, put it in the environment "+
					"variable this account's token names, and reload", c.name(), clean.Reason())
			case clean.hasReason("accessNotConfigured", "SERVICE_DISABLED"):
				out.Kind = crawler.KindAuth
				out.Msg = fmt.Sprintf("youtube %s: YouTube Data API v3 is not enabled for the key's Google Cloud project; "+
					"enable it under APIs & Services → Library", c.name())
			case clean.hasReason("videoNotFound", "channelNotFound"):
				out.Kind = crawler.KindNotFound
				out.Msg = fmt.Sprintf("youtube %s: %s; check the channel id or video_ids in the watchlist", c.name(), clean.Reason())
			case resp.Status == http.StatusUnauthorized || resp.Status == http.StatusForbidden:
				out.Kind = crawler.KindAuth
				out.Msg = fmt.Sprintf("youtube %s: Google refused the request (%s); check the API key and its restrictions "+
					"(an HTTP-referrer-restricted key does not work from a server)", c.name(), clean.Reason())
			default:
				out.Kind = crawler.KindBadResponse
				if ce != nil && ce.Kind != crawler.KindUnknown {
					out.Kind = ce.Kind
				}
				out.Msg = fmt.Sprintf("youtube %s: request refused (%s)", c.name(), clean.Reason())
			}
			if ce != nil {
				out.RetryAfter = ce.RetryAfter
			}
			c.log.Warn("youtube api error", "error", out, "status", resp.Status, "reason", clean.Reason())
			return out
		}
	}
	out := &crawler.Error{Kind: crawler.KindUnknown, URL: ru, Msg: "youtube " + c.name() + ": " + c.scrub(err.Error())}
	if ce != nil {
		out.Kind, out.Status, out.RetryAfter = ce.Kind, ce.Status, ce.RetryAfter
		out.Msg = "youtube " + c.name() + ": " + c.scrub(ce.Msg)
		if ce.Err != nil {
			out.Err = ce.Err
			if strings.Contains(ce.Err.Error(), c.key) {
				out.Err = errors.New(c.scrub(ce.Err.Error()))
			}
		}
	}
	c.log.Warn("youtube request failed", "error", out)
	return out
}

func (c *crawl) badBody(u string, err error) error {
	return &crawler.Error{Kind: crawler.KindBadResponse, URL: redactURL(u),
		Msg: "youtube " + c.name() + ": unexpected response", Err: errors.New(c.scrub(err.Error()))}
}
