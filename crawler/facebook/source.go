package facebook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mpwatch/mpwatch/crawler"
	"github.com/mpwatch/mpwatch/model"
)

// DefaultAPIVersion is the Graph API version used when the account's
// options do not pin one. Graph versions live about two years; pinning keeps
// a field rename from changing what we parse without notice.
const DefaultAPIVersion = "v21.0"

// DefaultBaseURL is the Graph API host.
const DefaultBaseURL = "https://graph.facebook.com"

// Options configure the facebook source. Zero values take the defaults.
type Options struct {
	// BaseURL is the Graph API root (tests point it at an httptest server).
	BaseURL string
	// APIVersion is used when an account has no options.api_version.
	APIVersion string
	// MaxPostPages bounds paging through /{page-id}/posts (default 4).
	MaxPostPages int
	// MaxCommentPages bounds paging through one post's comments (default 20).
	MaxCommentPages int
	// PostsLimit and CommentsLimit are the limit= page sizes (25 and 100).
	PostsLimit    int
	CommentsLimit int
	// Throttle decides when usage headers call for slowing down or stopping.
	Throttle Throttle
	Logger   *slog.Logger
}

// Source reads replies to a Facebook Page's posts with the Page's own token.
type Source struct {
	client *crawler.Client
	opts   Options
	log    *slog.Logger
}

var _ crawler.Source = (*Source)(nil)

// New returns a facebook source fetching through client.
func New(client *crawler.Client, opts Options) *Source {
	if opts.BaseURL == "" {
		opts.BaseURL = DefaultBaseURL
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	if opts.APIVersion == "" {
		opts.APIVersion = DefaultAPIVersion
	}
	if opts.MaxPostPages <= 0 {
		opts.MaxPostPages = 4
	}
	if opts.MaxCommentPages <= 0 {
		opts.MaxCommentPages = 20
	}
	if opts.PostsLimit <= 0 {
		opts.PostsLimit = 25
	}
	if opts.CommentsLimit <= 0 {
		opts.CommentsLimit = 100
	}
	opts.Throttle = opts.Throttle.withDefaults()
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Source{client: client, opts: opts, log: log.With("platform", string(model.Facebook))}
}

// Platform reports model.Facebook.
func (s *Source) Platform() model.Platform { return model.Facebook }

const (
	postFields    = "id,message,created_time,permalink_url,comments.summary(true).limit(0)"
	commentFields = "id,message,created_time,from,permalink_url,parent{id}"
)

// crawl is the state of one Crawl call.
type crawl struct {
	s     *Source
	req   crawler.Request
	page  string
	token string
	ver   string
	hdr   http.Header
	log   *slog.Logger
}

// Crawl lists the page's posts inside the lookback window and reads each
// post's comments newest first, down to the newest comment seen last time.
func (s *Source) Crawl(ctx context.Context, req crawler.Request) (crawler.Result, error) {
	page := strings.TrimSpace(req.Account.Handle)
	c := &crawl{s: s, req: req, page: page, token: req.Account.Token.Value(),
		log: s.log.With("target", req.Target.ID, "account", page)}
	if page == "" {
		return crawler.Result{Cursor: req.Cursor}, &crawler.Error{Kind: crawler.KindBadResponse,
			Msg: "facebook account has no page id (handle); set handle to the numeric Page id in the watchlist"}
	}
	if c.token == "" {
		return crawler.Result{Cursor: req.Cursor}, &crawler.Error{Kind: crawler.KindAuth,
			Msg: fmt.Sprintf("facebook page %s: no Page access token configured; the page is not readable anonymously: "+
				"set token: ${ENV_VAR} on this account in the watchlist and put a Page access token with "+
				"pages_read_engagement and pages_read_user_content in that variable", page)}
	}
	c.ver = s.opts.APIVersion
	if v := strings.TrimSpace(req.Account.Options["api_version"]); v != "" {
		c.ver = v
	}
	// The token goes in a header, never in a URL: URLs end up in logs and
	// errors, headers do not.
	c.hdr = http.Header{"Authorization": {"Bearer " + c.token}}

	cur, err := decodeCursor(req.Cursor)
	if err != nil {
		c.log.Warn("facebook cursor unreadable, starting afresh", "error", err)
	}
	now := req.Now
	if now.IsZero() {
		now = s.client.Now()
	}
	opts := s.client.Options()
	lookback := req.Account.Lookback
	if lookback <= 0 {
		lookback = opts.Lookback
	}
	oldest := now.Add(-lookback)
	rescanAfter := now.Add(-opts.Rescan)

	var res crawler.Result
	finish := func(err error) (crawler.Result, error) {
		res.Cursor = cur.encode(oldest)
		return res, err
	}

	q := url.Values{
		"fields": {postFields},
		"limit":  {strconv.Itoa(s.opts.PostsLimit)},
		"since":  {strconv.FormatInt(oldest.Unix(), 10)},
	}
	next := c.endpoint(page+"/posts", q)
	var posts []model.Post
	for pageNo := 0; next != "" && pageNo < s.opts.MaxPostPages; pageNo++ {
		body, err := c.get(ctx, next)
		if err != nil {
			return finish(err)
		}
		pp, err := ParsePosts(body, req.Target.ID, page)
		if err != nil {
			return finish(c.badBody(next, err))
		}
		older := false
		for _, p := range pp.Posts {
			if p.CreatedAt.Before(oldest) {
				older = true
				continue
			}
			posts = append(posts, p)
		}
		if older || pp.Next == "" {
			break
		}
		if next, err = stripToken(pp.Next); err != nil {
			return finish(c.badBody(redactURL(pp.Next), err))
		}
	}
	res.Posts = posts

	for _, p := range posts {
		mark, seen := cur.Posts[p.ID]
		mark.Created = p.CreatedAt
		if seen && p.ReplyCount == mark.Count && p.CreatedAt.Before(rescanAfter) {
			// Nothing new at the top level and the post is past its busy hours.
			cur.Posts[p.ID] = mark
			continue
		}
		replies, newest, err := c.comments(ctx, p, mark.Newest)
		res.Replies = append(res.Replies, replies...)
		if err != nil {
			// This post's mark is not advanced: its comments are re-read next
			// time, and the store's upsert absorbs the overlap.
			if !seen {
				mark.Newest = time.Time{}
			}
			cur.Posts[p.ID] = mark
			return finish(err)
		}
		if newest.After(mark.Newest) {
			mark.Newest = newest
		}
		mark.Count = p.ReplyCount
		cur.Posts[p.ID] = mark
	}
	return finish(nil)
}

// comments reads one post's comments newest first, stopping at since.
func (c *crawl) comments(ctx context.Context, p model.Post, since time.Time) ([]model.Reply, time.Time, error) {
	q := url.Values{
		"filter": {"stream"},
		"order":  {"reverse_chronological"},
		"fields": {commentFields},
		"limit":  {strconv.Itoa(c.s.opts.CommentsLimit)},
	}
	next := c.endpoint(p.ID+"/comments", q)
	var out []model.Reply
	var newest time.Time
	for pageNo := 0; next != "" && pageNo < c.s.opts.MaxCommentPages; pageNo++ {
		body, err := c.get(ctx, next)
		if err != nil {
			return out, newest, err
		}
		cp, err := ParseComments(body, p)
		if err != nil {
			return out, newest, c.badBody(next, err)
		}
		if cp.Newest.After(newest) {
			newest = cp.Newest
		}
		for _, r := range cp.Replies {
			// Equal times are kept: Graph times have second resolution and
			// two comments can share one; the store's upsert removes repeats.
			if r.CreatedAt.Before(since) {
				continue
			}
			out = append(out, r)
		}
		if cp.Next == "" || (!since.IsZero() && cp.Oldest.Before(since)) {
			break
		}
		if next, err = stripToken(cp.Next); err != nil {
			return out, newest, c.badBody(redactURL(cp.Next), err)
		}
	}
	return out, newest, nil
}

func (c *crawl) endpoint(path string, q url.Values) string {
	return c.s.opts.BaseURL + "/" + url.PathEscape(c.ver) + "/" + path + "?" + q.Encode()
}

// get fetches one Graph URL, turns Graph error bodies into admin-facing
// errors and paces the next call by the usage headers.
func (c *crawl) get(ctx context.Context, u string) ([]byte, error) {
	resp, err := c.s.client.Get(ctx, u, c.hdr)
	if err != nil {
		return nil, c.fail(u, resp, err)
	}
	usage := ParseUsage(resp.Header)
	pause, stop := c.s.opts.Throttle.Decide(usage)
	if stop {
		return nil, &crawler.Error{Kind: crawler.KindRateLimited, URL: redactURL(u), RetryAfter: usage.RegainIn,
			Msg: fmt.Sprintf("facebook page %s: graph api usage at %d%% of the limit (regain in %s); stopping this crawl before Meta throttles the app",
				c.page, usage.Percent, usage.RegainIn)}
	}
	if pause > 0 {
		c.log.Info("facebook usage high, slowing down", "pause", pause, "usage_percent", usage.Percent)
		if err := c.s.client.Options().Sleep(ctx, pause); err != nil {
			return nil, &crawler.Error{Kind: crawler.KindNetwork, URL: redactURL(u), Msg: "crawl cancelled", Err: err}
		}
	}
	return resp.Body, nil
}

// fail rebuilds a client error so that it names the page, says what to do,
// and can carry no secret: the URL is redacted, and Graph's message (which
// echoes a malformed token verbatim) is scrubbed.
func (c *crawl) fail(u string, resp *crawler.Response, err error) error {
	ru := redactURL(u)
	var ce *crawler.Error
	if resp != nil {
		if ge, ok := ParseError(resp.Status, resp.Body); ok {
			clean := *ge
			clean.Message = crawler.CleanLine(scrub(clean.Message, c.token), 300)
			clean.UserMsg = crawler.CleanLine(scrub(clean.UserMsg, c.token), 300)
			clean.UserTitle = crawler.CleanLine(scrub(clean.UserTitle, c.token), 100)
			clean.FBTraceID = crawler.CleanLine(clean.FBTraceID, 60)
			out := &crawler.Error{URL: ru, Status: resp.Status, Msg: adminAdvice(&clean, c.page), Err: &clean}
			switch classify(&clean) {
			case classAuth, classPermission:
				out.Kind = crawler.KindAuth
			case classRateLimit:
				out.Kind = crawler.KindRateLimited
				if errors.As(err, &ce) {
					out.RetryAfter = ce.RetryAfter
				}
				if u := ParseUsage(resp.Header); u.RegainIn > out.RetryAfter {
					out.RetryAfter = u.RegainIn
				}
			case classNotFound:
				out.Kind = crawler.KindNotFound
			case classTransient:
				out.Kind = crawler.KindServer
			default:
				out.Kind = crawler.KindBadResponse
				if errors.As(err, &ce) && ce.Kind != crawler.KindUnknown {
					out.Kind = ce.Kind
				}
			}
			c.log.Warn("facebook graph error", "error", out, "status", resp.Status, "graph_code", clean.Code, "graph_subcode", clean.Subcode)
			return out
		}
	}
	if errors.As(err, &ce) {
		out := &crawler.Error{Kind: ce.Kind, URL: ru, Status: ce.Status, RetryAfter: ce.RetryAfter,
			Msg: "facebook page " + c.page + ": " + scrub(redactInText(ce.Msg), c.token)}
		if ce.Err != nil {
			if strings.Contains(ce.Err.Error(), c.token) {
				out.Err = errors.New(scrub(ce.Err.Error(), c.token))
			} else {
				out.Err = ce.Err
			}
		}
		return out
	}
	return &crawler.Error{Kind: crawler.KindUnknown, URL: ru, Msg: "facebook page " + c.page + ": " + scrub(redactInText(err.Error()), c.token)}
}

func (c *crawl) badBody(u string, err error) error {
	return &crawler.Error{Kind: crawler.KindBadResponse, URL: redactURL(u),
		Msg: "facebook page " + c.page + ": unexpected graph response", Err: errors.New(scrub(err.Error(), c.token))}
}

// redactInText redacts any URL inside free text (a client message may quote one).
func redactInText(s string) string {
	if !strings.Contains(s, "access_token=") && !strings.Contains(s, "key=") {
		return s
	}
	fields := strings.Fields(s)
	for i, f := range fields {
		if strings.Contains(f, "://") {
			fields[i] = redactURL(f)
		}
	}
	return strings.Join(fields, " ")
}
