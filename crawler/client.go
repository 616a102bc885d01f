package crawler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gocolly/colly/v2"
)

// Response is a fetched body with its final URL, status and headers.
type Response struct {
	URL    string
	Status int
	Header http.Header
	Body   []byte
}

// Client is the one HTTP client every source shares. It wraps a single colly
// collector (per-host limit rules, robots.txt cache, User-Agent, timeout, body
// cap) and adds what colly lacks for API work: a synchronous Get, retries
// with capped exponential backoff and jitter, 429 and rate-limit header
// handling, and typed errors.
type Client struct {
	opts Options
	base *colly.Collector

	mu    sync.Mutex
	hosts map[string]*hostState
}

type hostState struct {
	// blockedUntil is set when a response said the rate limit is used up.
	blockedUntil time.Time
}

var errRedirectLoop = errors.New("too many redirects")

// NewClient builds the shared client. Zero options take DefaultOptions.
func NewClient(opts Options) (*Client, error) {
	opts = opts.withDefaults()
	if opts.MaxBodyBytes >= int64(^uint(0)>>1) {
		return nil, fmt.Errorf("create crawler client: max body bytes %d too large", opts.MaxBodyBytes)
	}
	c := colly.NewCollector(colly.UserAgent(opts.UserAgent), colly.AllowURLRevisit(), colly.ParseHTTPErrorResponse())
	// One byte over the cap lets us tell a body that is exactly at the cap from
	// one colly silently truncated.
	c.MaxBodySize = int(opts.MaxBodyBytes) + 1
	c.SetRequestTimeout(opts.Timeout)
	c.DisableCookies()
	max := opts.MaxRedirects
	c.SetRedirectHandler(func(req *http.Request, via []*http.Request) error {
		if len(via) > max {
			return errRedirectLoop
		}
		return nil
	})
	return &Client{opts: opts, base: c, hosts: map[string]*hostState{}}, nil
}

// Options returns the effective options (defaults applied).
func (c *Client) Options() Options { return c.opts }

// Now is the client's clock.
func (c *Client) Now() time.Time { return c.opts.Now() }

// Get fetches an API URL. robots.txt is not consulted: API endpoints are
// governed by the platform's API terms, not by robots.txt.
func (c *Client) Get(ctx context.Context, u string, hdr http.Header) (*Response, error) {
	return c.do(ctx, u, hdr, false)
}

// GetPage fetches a web page or feed, honouring robots.txt when the options
// say so.
func (c *Client) GetPage(ctx context.Context, u string, hdr http.Header) (*Response, error) {
	return c.do(ctx, u, hdr, c.opts.RespectRobots)
}

// GetJSON fetches an API URL and decodes its JSON body into v. A body that is
// not JSON (an HTML error page, a truncated body) is a KindBadResponse error
// naming the URL; unknown fields are ignored and invalid UTF-8 in strings is
// replaced, so odd-but-valid JSON never loses the rest of the page.
func (c *Client) GetJSON(ctx context.Context, u string, hdr http.Header, v any) (*Response, error) {
	if hdr == nil {
		hdr = http.Header{}
	} else {
		hdr = hdr.Clone()
	}
	if hdr.Get("Accept") == "" {
		hdr.Set("Accept", "application/json")
	}
	resp, err := c.Get(ctx, u, hdr)
	if err != nil {
		return resp, err
	}
	if err := DecodeJSON(resp, v); err != nil {
		return resp, err
	}
	return resp, nil
}

// DecodeJSON decodes resp's body into v with the same checks as GetJSON.
func DecodeJSON(resp *Response, v any) error {
	body := bytes.TrimSpace(resp.Body)
	ct := resp.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	if len(body) == 0 {
		return &Error{Kind: KindBadResponse, URL: resp.URL, Status: resp.Status, Msg: "empty body where JSON was expected"}
	}
	if body[0] == '<' || strings.Contains(mt, "html") {
		return &Error{Kind: KindBadResponse, URL: resp.URL, Status: resp.Status,
			Msg: fmt.Sprintf("expected JSON but got %s (check that the URL is the API endpoint and not a web page)", describeType(mt))}
	}
	if err := json.Unmarshal(body, v); err != nil {
		return &Error{Kind: KindBadResponse, URL: resp.URL, Status: resp.Status, Msg: "malformed JSON", Err: err}
	}
	return nil
}

func describeType(mt string) string {
	if mt == "" {
		return "a non-JSON body"
	}
	return mt
}

func (c *Client) host(u string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return pu.Host
}

// ensureHost adds the per-host limit rule the first time a host is seen: a
// single glob rule would share one parallelism slot among all hosts.
func (c *Client) ensureHost(host string) *hostState {
	c.mu.Lock()
	defer c.mu.Unlock()
	if hs, ok := c.hosts[host]; ok {
		return hs
	}
	hs := &hostState{}
	c.hosts[host] = hs
	rule := &colly.LimitRule{
		DomainRegexp: "^" + regexp.QuoteMeta(host) + "$",
		Parallelism:  c.opts.Parallelism,
		Delay:        c.opts.Delay,
		RandomDelay:  c.opts.RandomDelay,
	}
	if err := c.base.Limit(rule); err != nil {
		c.opts.Logger.Warn("crawler limit rule not applied", "host", host, "error", err)
	}
	return hs
}

func (c *Client) do(ctx context.Context, u string, hdr http.Header, robots bool) (*Response, error) {
	host := c.host(u)
	if host == "" {
		return nil, &Error{Kind: KindBadResponse, URL: u, Msg: "not an absolute URL"}
	}
	hs := c.ensureHost(host)
	for attempt := 0; ; attempt++ {
		if err := c.waitHost(ctx, hs, u); err != nil {
			return nil, err
		}
		resp, err := c.once(ctx, u, hdr, robots)
		if err == nil {
			c.noteRateLimit(hs, resp.Header)
			return resp, nil
		}
		if ctx.Err() != nil {
			return resp, &Error{Kind: KindNetwork, URL: u, Msg: "crawl cancelled", Err: ctx.Err()}
		}
		var ce *Error
		if !errors.As(err, &ce) || !retryable(ce.Kind) || attempt >= c.opts.MaxRetries {
			return resp, err
		}
		wait := c.backoff(attempt)
		if ce.Kind == KindRateLimited {
			if ce.RetryAfter > 0 {
				wait = ce.RetryAfter
			}
			if wait > c.opts.MaxWait {
				ce.Msg += fmt.Sprintf("; server asks to wait %s, more than the %s allowed, will try at the next scheduled crawl", wait.Round(time.Second), c.opts.MaxWait)
				return resp, ce
			}
		}
		c.opts.Logger.Debug("crawler retry", "url", RedactURL(u), "attempt", attempt+1, "wait", wait, "error", err)
		if err := c.opts.Sleep(ctx, wait); err != nil {
			return resp, &Error{Kind: KindNetwork, URL: u, Msg: "crawl cancelled", Err: err}
		}
	}
}

func retryable(k Kind) bool {
	return k == KindServer || k == KindNetwork || k == KindRateLimited
}

// backoff is capped exponential with jitter in [d/2, d): spreading retries
// keeps many sources that failed together from retrying together.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.opts.RetryBase << min(attempt, 20)
	if d <= 0 || d > c.opts.RetryMax {
		d = c.opts.RetryMax
	}
	half := d / 2
	return half + rand.N(half+1)
}

func (c *Client) waitHost(ctx context.Context, hs *hostState, u string) error {
	c.mu.Lock()
	until := hs.blockedUntil
	c.mu.Unlock()
	wait := until.Sub(c.opts.Now())
	if wait <= 0 {
		return nil
	}
	if wait > c.opts.MaxWait {
		return &Error{Kind: KindRateLimited, URL: u, RetryAfter: wait,
			Msg: fmt.Sprintf("rate limit used up until %s; not waiting longer than %s", until.UTC().Format(time.RFC3339), c.opts.MaxWait)}
	}
	if err := c.opts.Sleep(ctx, wait); err != nil {
		return &Error{Kind: KindNetwork, URL: u, Msg: "crawl cancelled", Err: err}
	}
	return nil
}

func (c *Client) noteRateLimit(hs *hostState, h http.Header) {
	rl, ok := ParseRateLimit(h, c.opts.Now())
	if !ok || rl.Remaining > 0 || rl.Reset.IsZero() {
		return
	}
	c.mu.Lock()
	if rl.Reset.After(hs.blockedUntil) {
		hs.blockedUntil = rl.Reset
	}
	c.mu.Unlock()
}

func (c *Client) once(ctx context.Context, u string, hdr http.Header, robots bool) (*Response, error) {
	cc := c.base.Clone()
	cc.Context = ctx
	cc.IgnoreRobotsTxt = !robots
	var out *Response
	cc.OnResponse(func(r *colly.Response) {
		h := http.Header{}
		if r.Headers != nil {
			h = r.Headers.Clone()
		}
		out = &Response{URL: r.Request.URL.String(), Status: r.StatusCode, Header: h, Body: r.Body}
	})
	h := http.Header{}
	for k, v := range hdr {
		h[k] = append([]string(nil), v...)
	}
	if h.Get("User-Agent") == "" {
		h.Set("User-Agent", c.opts.UserAgent)
	}
	err := cc.Request(http.MethodGet, u, nil, nil, h)
	if err != nil {
		return nil, c.transportError(u, err)
	}
	if out == nil {
		return nil, &Error{Kind: KindBadResponse, URL: u, Msg: "no response"}
	}
	if int64(len(out.Body)) > c.opts.MaxBodyBytes {
		return out, &Error{Kind: KindTooLarge, URL: out.URL, Status: out.Status,
			Msg: fmt.Sprintf("body larger than the %d-byte cap (crawler.max_body_bytes)", c.opts.MaxBodyBytes)}
	}
	return out, statusError(out, c.opts.Now())
}

func (c *Client) transportError(u string, err error) error {
	switch {
	case errors.Is(err, colly.ErrRobotsTxtBlocked):
		return &Error{Kind: KindForbiddenByRobots, URL: u, Msg: "robots.txt disallows this URL for our User-Agent; remove it from the watchlist or ask the site", Err: err}
	case errors.Is(err, errRedirectLoop):
		return &Error{Kind: KindBadResponse, URL: u, Msg: fmt.Sprintf("more than %d redirects (redirect loop?)", c.opts.MaxRedirects), Err: err}
	case errors.Is(err, context.Canceled):
		return &Error{Kind: KindNetwork, URL: u, Msg: "crawl cancelled", Err: err}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &Error{Kind: KindNetwork, URL: u, Msg: fmt.Sprintf("timed out after %s (crawler.timeout)", c.opts.Timeout), Err: err}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return &Error{Kind: KindNetwork, URL: u, Err: err}
	}
	// Body read failures (truncated transfers, resets) and everything else
	// below HTTP are network trouble and worth a retry.
	return &Error{Kind: KindNetwork, URL: u, Err: err}
}

// statusError maps an HTTP status to a typed error; 2xx and 304 are success.
func statusError(r *Response, now time.Time) error {
	s := r.Status
	if (s >= 200 && s < 300) || s == http.StatusNotModified {
		return nil
	}
	e := &Error{URL: r.URL, Status: s, Msg: ServerMessage(r.Body)}
	switch {
	case s == http.StatusUnauthorized:
		e.Kind = KindAuth
		e.Msg = join("server requires an access token", e.Msg)
	case s == http.StatusForbidden:
		e.Kind = KindAuth
		e.Msg = join("server refused access", e.Msg)
	case s == http.StatusNotFound || s == http.StatusGone:
		e.Kind = KindNotFound
	case s == http.StatusTooManyRequests:
		e.Kind = KindRateLimited
		if d, ok := ParseRetryAfter(r.Header.Get("Retry-After"), now); ok {
			e.RetryAfter = d
		} else if rl, ok := ParseRateLimit(r.Header, now); ok && rl.Reset.After(now) {
			e.RetryAfter = rl.Reset.Sub(now)
		}
	case s >= 500:
		e.Kind = KindServer
	case s >= 300 && s < 400:
		e.Kind = KindBadResponse
		e.Msg = join("redirect not followed", e.Msg)
	default:
		e.Kind = KindBadResponse
	}
	return e
}

func join(a, b string) string {
	if b == "" {
		return a
	}
	return a + ": " + b
}

// ServerMessage extracts the error text a server put in its body
// ({"error":…} on Mastodon, {"error","message"} on Bluesky, {"errors":[…]}
// on X) or a short, cleaned prefix of a non-JSON body. The text is untrusted:
// control characters are removed and it is cut to 200 bytes.
func ServerMessage(body []byte) string {
	var m struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Errors  []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	var parts []string
	if json.Unmarshal(body, &m) == nil {
		var s string
		if json.Unmarshal(m.Error, &s) == nil && s != "" {
			parts = append(parts, s)
		}
		if m.Message != "" {
			parts = append(parts, m.Message)
		}
		for _, e := range m.Errors {
			if e.Message != "" {
				parts = append(parts, e.Message)
			}
		}
	}
	s := strings.Join(parts, ": ")
	if s == "" && len(body) > 0 && body[0] != '<' {
		s = string(body)
	}
	return CleanLine(s, 200)
}

// CleanLine makes untrusted text safe for a log line or an error: invalid
// UTF-8 and control characters become spaces, runs of space collapse, and the
// result is cut to at most max bytes on a rune boundary.
func CleanLine(s string, max int) string {
	s = strings.ToValidUTF8(s, " ")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
