package crawler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/mpwatch/mpwatch/model"
)

// Request asks a source for what is new under one watched account.
type Request struct {
	Target  model.Target
	Account model.Account
	// Cursor is what the source returned last time (empty on the first crawl).
	Cursor string
	// Now is the crawl's clock; lookback and re-scan windows are measured from it.
	Now time.Time
}

// Result is what one crawl found. Cursor replaces the stored cursor only
// together with the posts and replies it covers.
type Result struct {
	Posts   []model.Post
	Replies []model.Reply
	Cursor  string
}

// Source collects replies from one platform.
type Source interface {
	Platform() model.Platform
	// Crawl may return a partial Result together with an error: what was read
	// before the failure is kept, and the cursor then only covers that part.
	Crawl(ctx context.Context, req Request) (Result, error)
}

// Options are the crawler's settings; the app fills them from config.
// Zero values mean the defaults listed in DefaultOptions.
type Options struct {
	Version      string // goes into the User-Agent
	UserAgent    string // full override; normally built from Version, ProjectURL and Contact
	ProjectURL   string
	Contact      string // an e-mail or URL where server operators can reach the operator
	Timeout      time.Duration
	MaxBodyBytes int64
	// Parallelism, Delay and RandomDelay are applied per host.
	Parallelism int
	Delay       time.Duration
	RandomDelay time.Duration
	// NoDelay turns politeness delays off (benchmarks and local fakes only).
	NoDelay    bool
	MaxRetries int
	// RetryBase and RetryMax bound the exponential backoff between retries of
	// one request; MaxWait bounds how long a 429 or an exhausted rate limit is
	// waited out before the request fails as rate limited.
	RetryBase time.Duration
	RetryMax  time.Duration
	MaxWait   time.Duration
	// MaxRedirects stops redirect loops.
	MaxRedirects  int
	RespectRobots bool
	// Lookback bounds the age of watched posts read for replies; Rescan is the
	// age below which a post is re-read on every crawl even if its reply count
	// looks unchanged (replies keep arriving for hours, nested replies do not
	// change the count).
	Lookback time.Duration
	Rescan   time.Duration
	// BackoffMaxFactor caps a failing source's backoff at schedule × factor.
	BackoffMaxFactor int
	// InstanceTokens are access tokens per host (Mastodon instances that
	// refuse unauthenticated reads).
	InstanceTokens map[string]model.Secret
	Now            func() time.Time
	Logger         *slog.Logger
	// Sleep waits for d or until ctx is done; tests replace it so nothing
	// waits for real.
	Sleep func(ctx context.Context, d time.Duration) error
}

// DefaultOptions are the values used for zero fields.
func DefaultOptions() Options {
	return Options{
		Version:          "dev",
		ProjectURL:       "https://github.com/mpwatch/mpwatch",
		Timeout:          20 * time.Second,
		MaxBodyBytes:     32 << 20, // a 4096-reply Mastodon context is ~10 MB
		Parallelism:      2,
		Delay:            time.Second,
		RandomDelay:      500 * time.Millisecond,
		MaxRetries:       3,
		RetryBase:        time.Second,
		RetryMax:         30 * time.Second,
		MaxWait:          5 * time.Minute,
		MaxRedirects:     5,
		RespectRobots:    true,
		Lookback:         72 * time.Hour,
		Rescan:           6 * time.Hour,
		BackoffMaxFactor: 8,
	}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Version == "" {
		o.Version = d.Version
	}
	if o.ProjectURL == "" {
		o.ProjectURL = d.ProjectURL
	}
	if o.Timeout <= 0 {
		o.Timeout = d.Timeout
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = d.MaxBodyBytes
	}
	if o.Parallelism <= 0 {
		o.Parallelism = d.Parallelism
	}
	if o.NoDelay {
		o.Delay, o.RandomDelay = 0, 0
	} else {
		if o.Delay == 0 {
			o.Delay = d.Delay
		}
		if o.RandomDelay == 0 {
			o.RandomDelay = d.RandomDelay
		}
	}
	if o.MaxRetries < 0 {
		o.MaxRetries = 0
	} else if o.MaxRetries == 0 {
		o.MaxRetries = d.MaxRetries
	}
	if o.RetryBase <= 0 {
		o.RetryBase = d.RetryBase
	}
	if o.RetryMax <= 0 {
		o.RetryMax = d.RetryMax
	}
	if o.MaxWait <= 0 {
		o.MaxWait = d.MaxWait
	}
	if o.MaxRedirects <= 0 {
		o.MaxRedirects = d.MaxRedirects
	}
	if o.Lookback <= 0 {
		o.Lookback = d.Lookback
	}
	if o.Rescan <= 0 {
		o.Rescan = d.Rescan
	}
	if o.BackoffMaxFactor <= 0 {
		o.BackoffMaxFactor = d.BackoffMaxFactor
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Sleep == nil {
		o.Sleep = SleepContext
	}
	if o.UserAgent == "" {
		o.UserAgent = "mpwatch/" + o.Version + " (+" + o.ProjectURL
		if o.Contact != "" {
			o.UserAgent += "; " + o.Contact
		}
		o.UserAgent += ")"
	}
	return o
}

// SleepContext waits for d, or returns ctx's error if ctx ends first.
func SleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Kind classifies a crawl failure so callers can decide what to do.
type Kind int

const (
	KindUnknown           Kind = iota
	KindAuth                   // 401/403: credentials needed or refused
	KindNotFound               // 404/410: the account or post is gone
	KindRateLimited            // 429, or a rate limit that would take too long to wait out
	KindServer                 // 5xx after retries
	KindNetwork                // connection refused, DNS, timeout, reset
	KindBadResponse            // malformed or unexpected body, redirect loop, odd status
	KindTooLarge               // body over the configured cap
	KindForbiddenByRobots      // robots.txt (or the author's own opt-out) forbids reading
)

var kindNames = [...]string{"unknown", "auth", "not_found", "rate_limited", "server", "network", "bad_response", "too_large", "forbidden_by_robots"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Error is a failed fetch or parse, naming the URL and what to do about it.
type Error struct {
	Kind   Kind
	URL    string
	Status int
	Msg    string
	Err    error
	// RetryAfter is how long the server asked us to wait (429), if it said.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	s := e.Kind.String()
	if e.URL != "" {
		s += ": " + RedactURL(e.URL)
	}
	if e.Status != 0 {
		s += fmt.Sprintf(": status %d", e.Status)
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of the first *Error in err's chain, KindNetwork for
// a context deadline, and KindUnknown otherwise.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return KindNetwork
	}
	return KindUnknown
}
