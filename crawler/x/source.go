package x

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mpwatch/mpwatch/crawler"
	"github.com/mpwatch/mpwatch/model"
)

// DefaultBaseURL is the X API host.
const DefaultBaseURL = "https://api.x.com"

// DefaultMaxReadsPerDay is the read budget of an account without
// options.max_reads_per_day: 1,000 post reads, $5 a day at $0.005 a read.
const DefaultMaxReadsPerDay = 1000

// searchWindow is how far back recent search reaches.
const searchWindow = 7 * 24 * time.Hour

// Options configure the x source. Zero values take the defaults.
type Options struct {
	// BaseURL is the API root (tests point it at an httptest server).
	BaseURL string
	// MaxReadsPerDay applies when an account has no options.max_reads_per_day.
	MaxReadsPerDay int
	// MaxSearchPages bounds paging through one conversation (default 10).
	MaxSearchPages int
	Logger         *slog.Logger
}

// Source reads replies to an X account's recent posts with recent search
// over each post's conversation.
type Source struct {
	client *crawler.Client
	opts   Options
	log    *slog.Logger
}

var _ crawler.Source = (*Source)(nil)

// New returns an x source fetching through client.
func New(client *crawler.Client, opts Options) *Source {
	if opts.BaseURL == "" {
		opts.BaseURL = DefaultBaseURL
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	if opts.MaxReadsPerDay <= 0 {
		opts.MaxReadsPerDay = DefaultMaxReadsPerDay
	}
	if opts.MaxSearchPages <= 0 {
		opts.MaxSearchPages = 10
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Source{client: client, opts: opts, log: log.With("platform", string(model.X))}
}

// Platform reports model.X.
func (s *Source) Platform() model.Platform { return model.X }

// BudgetOf returns the daily read budget of an account: options
// max_reads_per_day, else def. Config validates the option; an unparsable
// value here falls back to def rather than to "unlimited".
func BudgetOf(a model.Account, def int) int {
	if v := strings.TrimSpace(a.Options["max_reads_per_day"]); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			return n
		}
	}
	return def
}

const (
	tweetFields  = "author_id,created_at,conversation_id,in_reply_to_user_id,referenced_tweets,lang,public_metrics"
	userFields   = "created_at,public_metrics,profile_image_url"
	searchMinMax = 10 // max_results bounds of recent search
	searchMaxMax = 100
	timelineMin  = 5 // max_results bounds of the user timeline
)

type crawl struct {
	s      *Source
	req    crawler.Request
	handle string // username without "@", for URLs and messages
	// account is the handle as the watchlist writes it, for Post.Account
	// and Reply.Account.
	account string
	token   string
	hdr     http.Header
	now     time.Time
	cur     *cursor
	budget  int
	log     *slog.Logger
}

// Crawl finds the account's new posts on its timeline, then reads each
// recent post's conversation with recent search, newer than what it read
// last time, within the daily read budget.
func (s *Source) Crawl(ctx context.Context, req crawler.Request) (crawler.Result, error) {
	handle := strings.TrimPrefix(strings.TrimSpace(req.Account.Handle), "@")
	c := &crawl{s: s, req: req, handle: handle, account: strings.TrimSpace(req.Account.Handle), token: req.Account.Token.Value(),
		log: s.log.With("target", req.Target.ID, "account", handle)}
	if handle == "" {
		return crawler.Result{Cursor: req.Cursor}, &crawler.Error{Kind: crawler.KindBadResponse,
			Msg: "x account has no handle; set handle to the X username in the watchlist"}
	}
	if c.token == "" {
		return crawler.Result{Cursor: req.Cursor}, &crawler.Error{Kind: crawler.KindAuth,
			Msg: fmt.Sprintf("x account @%s: no bearer token configured; X cannot be read anonymously: "+
				"set token: ${ENV_VAR} on this account in the watchlist and put the app's Bearer Token in that variable", handle)}
	}
	c.hdr = http.Header{"Authorization": {"Bearer " + c.token}}
	c.now = req.Now
	if c.now.IsZero() {
		c.now = s.client.Now()
	}
	c.budget = BudgetOf(req.Account, s.opts.MaxReadsPerDay)
	cur, err := decodeCursor(req.Cursor)
	if err != nil {
		c.log.Warn("x cursor unreadable, starting afresh", "error", err)
	}
	c.cur = &cur

	lookback := req.Account.Lookback
	if lookback <= 0 {
		lookback = s.client.Options().Lookback
	}
	if lookback > searchWindow {
		// Recent search cannot see replies older than seven days.
		lookback = searchWindow
	}
	oldest := c.now.Add(-lookback)

	var res crawler.Result
	finish := func(err error) (crawler.Result, error) {
		res.Cursor = cur.encode(oldest)
		return res, err
	}

	if cur.UserID == "" || !strings.EqualFold(cur.Username, handle) {
		id, name, err := c.lookupUser(ctx)
		if err != nil {
			return finish(err)
		}
		cur.UserID, cur.Username, cur.NewestID = id, name, ""
		cur.Posts = map[string]convMark{}
	}

	posts, err := c.timeline(ctx, oldest)
	res.Posts = posts
	if err != nil {
		return finish(err)
	}

	// Oldest first, so that when the budget runs out the posts not reached
	// are the newest, which the next crawl reaches first.
	ids := make([]string, 0, len(cur.Posts))
	for id, m := range cur.Posts {
		if !m.Created.Before(oldest) {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool {
		a, b := cur.Posts[ids[i]], cur.Posts[ids[j]]
		if !a.Created.Equal(b.Created) {
			return a.Created.Before(b.Created)
		}
		return ids[i] < ids[j]
	})
	for _, id := range ids {
		post := model.Post{Platform: model.X, ID: id, Target: req.Target.ID, Account: c.account}
		replies, err := c.conversation(ctx, post)
		res.Replies = append(res.Replies, replies...)
		if err != nil {
			return finish(err)
		}
	}
	return finish(nil)
}

func (c *crawl) lookupUser(ctx context.Context) (string, string, error) {
	u := c.s.opts.BaseURL + "/2/users/by/username/" + url.PathEscape(c.handle)
	body, err := c.get(ctx, u)
	if err != nil {
		return "", "", err
	}
	id, name, err := ParseUser(body)
	if errors.Is(err, errUserNotFound) {
		return "", "", &crawler.Error{Kind: crawler.KindNotFound, URL: u,
			Msg: fmt.Sprintf("x account @%s does not exist or is suspended; check the handle in the watchlist", c.handle),
			Err: errors.New(c.scrub(err.Error()))}
	}
	if err != nil {
		return "", "", c.badBody(u, err)
	}
	return id, name, nil
}

// timeline reads the account's own posts newer than the cursor's newest_id
// (original posts only: replies and reposts excluded) and adds them to the
// cursor's watched posts.
func (c *crawl) timeline(ctx context.Context, oldest time.Time) ([]model.Post, error) {
	q := url.Values{
		"tweet.fields": {"created_at,conversation_id,public_metrics"},
		"exclude":      {"retweets,replies"},
		"start_time":   {oldest.UTC().Format(time.RFC3339)},
	}
	if c.cur.NewestID != "" {
		q.Set("since_id", c.cur.NewestID)
	}
	base := c.s.opts.BaseURL + "/2/users/" + url.PathEscape(c.cur.UserID) + "/tweets"
	var out []model.Post
	newest := ""
	token := ""
	for page := 0; page < c.s.opts.MaxSearchPages; page++ {
		n, err := c.pageSize(timelineMin)
		if err != nil {
			return out, err
		}
		q.Set("max_results", strconv.Itoa(n))
		if token != "" {
			q.Set("pagination_token", token)
		}
		u := base + "?" + q.Encode()
		body, err := c.get(ctx, u)
		if err != nil {
			return out, err
		}
		p, err := ParseTimeline(body, c.req.Target.ID, c.account)
		if err != nil {
			return out, c.badBody(u, err)
		}
		c.cur.spend(c.now, p.Reads)
		if newest == "" {
			newest = p.NewestID
		}
		for _, post := range p.Posts {
			if _, ok := c.cur.Posts[post.ID]; !ok {
				c.cur.Posts[post.ID] = convMark{Created: post.CreatedAt}
			}
			out = append(out, post)
		}
		if p.NextToken == "" {
			break
		}
		token = p.NextToken
	}
	// Like search, the timeline's since_id stays fixed while paging, and the
	// first page's newest_id becomes the next since_id once all pages are in.
	if newest != "" {
		c.cur.NewestID = newest
	}
	return out, nil
}

// conversation reads one post's replies newer than its since_id. since_id
// stays the same on every page; page 1's newest_id becomes the next since_id
// only when the last page was read, so an interrupted conversation is read
// again from the same point.
func (c *crawl) conversation(ctx context.Context, post model.Post) ([]model.Reply, error) {
	mark := c.cur.Posts[post.ID]
	q := url.Values{
		"query":        {"conversation_id:" + post.ID},
		"tweet.fields": {tweetFields},
		"expansions":   {"author_id"},
		"user.fields":  {userFields},
	}
	if mark.SinceID != "" {
		q.Set("since_id", mark.SinceID)
	}
	base := c.s.opts.BaseURL + "/2/tweets/search/recent"
	var out []model.Reply
	newest := ""
	for page := 0; ; page++ {
		if page >= c.s.opts.MaxSearchPages {
			// The unread pages are the oldest replies. since_id still moves
			// on: holding it back would pay for the same pages on every crawl
			// and never get further.
			c.log.Warn("x conversation has more pages than max_search_pages; its oldest new replies are skipped", "post_id", post.ID)
			break
		}
		n, err := c.pageSize(searchMinMax)
		if err != nil {
			return out, err
		}
		q.Set("max_results", strconv.Itoa(n))
		u := base + "?" + q.Encode()
		body, err := c.get(ctx, u)
		if err != nil {
			return out, err
		}
		p, err := ParseSearch(body, post, c.cur.UserID)
		if err != nil {
			return out, c.badBody(u, err)
		}
		c.cur.spend(c.now, p.Reads)
		out = append(out, p.Replies...)
		if newest == "" {
			newest = p.NewestID
		}
		if p.NextToken == "" {
			break
		}
		q.Set("next_token", p.NextToken)
	}
	if newest != "" {
		mark.SinceID = newest
		c.cur.Posts[post.ID] = mark
	}
	return out, nil
}

// pageSize is the max_results for the next call: at most what the budget
// has left, so a crawl never reads past the cap. It fails with
// ErrBudgetExhausted when less than the endpoint's minimum page is left.
func (c *crawl) pageSize(floor int) (int, error) {
	left := c.budget - c.cur.readsToday(c.now)
	if left < floor {
		u := c.now.UTC()
		midnight := time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
		c.log.Warn("x read budget exhausted", "reads_today", c.cur.Reads, "max_reads_per_day", c.budget)
		return 0, &crawler.Error{Kind: crawler.KindRateLimited, RetryAfter: midnight.Sub(c.now), Err: ErrBudgetExhausted,
			Msg: fmt.Sprintf("x account @%s: %d of %d post reads used today (UTC); reading resumes after midnight UTC; "+
				"raise options.max_reads_per_day to spend more (each read costs $0.005)", c.handle, c.cur.Reads, c.budget)}
	}
	return min(left, searchMaxMax), nil
}

func (c *crawl) get(ctx context.Context, u string) ([]byte, error) {
	resp, err := c.s.client.Get(ctx, u, c.hdr)
	if err != nil {
		return nil, c.fail(u, resp, err)
	}
	return resp.Body, nil
}

func (c *crawl) scrub(s string) string {
	if c.token == "" {
		return s
	}
	return strings.ReplaceAll(s, c.token, "<secret>")
}

// fail rebuilds a client error into one that names the account, says what to
// do, and cannot carry the token (X never echoes it, but a proxy might).
func (c *crawl) fail(u string, resp *crawler.Response, err error) error {
	var ce *crawler.Error
	errors.As(err, &ce)
	out := &crawler.Error{Kind: crawler.KindUnknown, URL: u}
	if ce != nil {
		out.Kind, out.Status, out.RetryAfter = ce.Kind, ce.Status, ce.RetryAfter
	}
	var ae *APIError
	if resp != nil {
		ae, _ = ParseError(resp.Status, resp.Body)
	}
	if ae != nil {
		clean := *ae
		clean.Title = crawler.CleanLine(c.scrub(clean.Title), 100)
		clean.Detail = crawler.CleanLine(c.scrub(clean.Detail), 300)
		clean.Errors = nil
		for _, p := range ae.Errors {
			p.Detail, p.Message, p.Title, p.Value = crawler.CleanLine(c.scrub(p.Detail), 200), crawler.CleanLine(c.scrub(p.Message), 200), crawler.CleanLine(c.scrub(p.Title), 100), ""
			clean.Errors = append(clean.Errors, p)
		}
		out.Err = &clean
		switch {
		case clean.creditsDepleted():
			out.Kind = crawler.KindRateLimited
			out.Err = fmt.Errorf("%w: %w", ErrCreditsDepleted, &clean)
			out.Msg = fmt.Sprintf("x account @%s: the X developer account has no API credits left; "+
				"buy credits in the developer console (pay-per-use: $0.005 per post read)", c.handle)
		case clean.rateLimited():
			out.Kind = crawler.KindRateLimited
			out.Msg = fmt.Sprintf("x account @%s: X rate limit reached (recent search allows 450 requests per 15 minutes per app)", c.handle)
		case resp.Status == http.StatusUnauthorized:
			out.Kind = crawler.KindAuth
			out.Msg = fmt.Sprintf("x account @%s: X rejected the bearer token (401 %s); regenerate the app's Bearer Token "+
				"in the X developer console (Projects & Apps → Keys and tokens), put it in the environment variable "+
				"this account's token names, and reload", c.handle, clean.Title)
		case resp.Status == http.StatusForbidden:
			out.Kind = crawler.KindAuth
			out.Msg = fmt.Sprintf("x account @%s: X refused the app (403 %s); the app must belong to a Project with "+
				"pay-per-use (or Basic/Pro) access that includes recent search", c.handle, clean.Title)
		default:
			out.Msg = fmt.Sprintf("x account @%s: X refused the request", c.handle)
		}
	} else if ce != nil {
		out.Msg = "x account @" + c.handle + ": " + c.scrub(ce.Msg)
		if ce.Err != nil {
			out.Err = ce.Err
			if c.token != "" && strings.Contains(ce.Err.Error(), c.token) {
				out.Err = errors.New(c.scrub(ce.Err.Error()))
			}
		}
	} else {
		out.Msg = "x account @" + c.handle + ": " + c.scrub(err.Error())
	}
	c.log.Warn("x request failed", "error", out, "status", out.Status)
	return out
}

func (c *crawl) badBody(u string, err error) error {
	return &crawler.Error{Kind: crawler.KindBadResponse, URL: u,
		Msg: "x account @" + c.handle + ": unexpected response", Err: errors.New(c.scrub(err.Error()))}
}
