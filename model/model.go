package model

import (
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Platform names a social platform or page kind a reply came from.
type Platform string

// The platforms mpwatch knows. The string values appear in YAML, in the replay
// format and in the store, so they never change.
const (
	Mastodon Platform = "mastodon"
	Bluesky  Platform = "bluesky"
	HTML     Platform = "html"
	RSS      Platform = "rss"
	Facebook Platform = "facebook"
	X        Platform = "x"
	YouTube  Platform = "youtube"
)

// Platforms lists every known platform in a stable order, for error messages.
func Platforms() []Platform {
	return []Platform{Bluesky, Facebook, HTML, Mastodon, RSS, X, YouTube}
}

// Valid reports whether p is a known platform.
func (p Platform) Valid() bool {
	for _, k := range Platforms() {
		if p == k {
			return true
		}
	}
	return false
}

// ReplyKind says how a collected item relates to the watched account.
type ReplyKind string

const (
	KindReply   ReplyKind = "reply"   // a reply in a thread under a watched post
	KindMention ReplyKind = "mention" // an item that names the target (RSS, news pages)
	KindQuote   ReplyKind = "quote"   // a quote-post of a watched post
)

// Valid reports whether k is a known kind.
func (k ReplyKind) Valid() bool {
	return k == KindReply || k == KindMention || k == KindQuote
}

// Author is the public account that wrote a reply, with the signals the
// coordination detector scores (never used alone to alert).
type Author struct {
	ID            string     `json:"id"`
	Handle        string     `json:"handle,omitempty"`
	Name          string     `json:"name,omitempty"`
	URL           string     `json:"url,omitempty"`
	CreatedAt     *time.Time `json:"created_at,omitempty"`
	Followers     int        `json:"followers,omitempty"`
	Following     int        `json:"following,omitempty"`
	Posts         int        `json:"posts,omitempty"`
	Bot           bool       `json:"bot,omitempty"`
	DefaultAvatar bool       `json:"default_avatar,omitempty"`
}

// Reply is one collected public reply (or mention, or quote). Its identity is
// (Platform, ID); IDs are opaque strings (Mastodon snowflakes, GoToSocial ULIDs,
// Bluesky at-URIs) and are never parsed or compared as numbers.
//
// The JSON form is the replay format (one Reply per line, JSON Lines).
type Reply struct {
	Platform  Platform  `json:"platform"`
	ID        string    `json:"id"`
	URL       string    `json:"url,omitempty"`
	Kind      ReplyKind `json:"kind,omitempty"`
	Target    string    `json:"target"`
	Account   string    `json:"account,omitempty"`
	PostID    string    `json:"post_id,omitempty"`
	ParentID  string    `json:"parent_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	Text      string    `json:"text"`
	Lang      string    `json:"lang,omitempty"`
	Author    Author    `json:"author"`
}

// Key is the reply's global identity, "platform:id", as used in alert evidence.
func (r Reply) Key() string { return ReplyKey(r.Platform, r.ID) }

// ReplyKey joins a platform and a platform id into the "platform:id" form.
func ReplyKey(p Platform, id string) string { return string(p) + ":" + id }

// Post is a watched account's own post under which replies are collected.
type Post struct {
	Platform   Platform  `json:"platform"`
	ID         string    `json:"id"`
	URL        string    `json:"url,omitempty"`
	Target     string    `json:"target"`
	Account    string    `json:"account"`
	CreatedAt  time.Time `json:"created_at"`
	Text       string    `json:"text,omitempty"`
	ReplyCount int       `json:"reply_count,omitempty"`
}

// Secret holds a credential. It formats, logs and marshals as "<secret>" so it
// can never leak into a log line, an error or a config dump; use Value to read it.
type Secret string

const redacted = "<secret>"

func (s Secret) Value() string { return string(s) }
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}
func (s Secret) GoString() string                  { return s.String() }
func (s Secret) Format(f fmt.State, verb rune)     { _, _ = f.Write([]byte(s.String())) }
func (s Secret) LogValue() slog.Value              { return slog.StringValue(s.String()) }
func (s Secret) MarshalText() ([]byte, error)      { return []byte(s.String()), nil }
func (s Secret) MarshalYAML() (interface{}, error) { return s.String(), nil }

// HTMLSelectors tell the html source where the parts of each comment are on a
// page. CSS selectors are relative to Item; ID, Author and Time may name an
// attribute with "selector@attr".
type HTMLSelectors struct {
	Item       string `json:"item" yaml:"item"`
	ID         string `json:"id,omitempty" yaml:"id,omitempty"`
	Text       string `json:"text" yaml:"text"`
	Author     string `json:"author,omitempty" yaml:"author,omitempty"`
	Time       string `json:"time,omitempty" yaml:"time,omitempty"`
	TimeLayout string `json:"time_layout,omitempty" yaml:"time_layout,omitempty"`
	Link       string `json:"link,omitempty" yaml:"link,omitempty"`
	Next       string `json:"next,omitempty" yaml:"next,omitempty"`
}

// Account is one watched account of a target on one platform.
type Account struct {
	Platform Platform `json:"platform"`
	// Handle is the platform's name for the account: "@user@instance.social",
	// "name.bsky.social" or a DID, a Facebook page id, an X username, a YouTube
	// channel id. Empty for html and rss, which use URL.
	Handle string `json:"handle,omitempty"`
	URL    string `json:"url,omitempty"`
	// Schedule is a robfig/cron spec ("@every 5m", "*/10 * * * *"); empty means
	// the config's default.
	Schedule string `json:"schedule,omitempty"`
	// Token is the credential for this account, already read from the
	// environment variable the config names.
	Token Secret `json:"token,omitempty"`
	// Lookback bounds how old a watched post may be and still be read for
	// replies; zero means the crawler's default.
	Lookback time.Duration `json:"lookback,omitempty"`
	// MaxPages caps pagination for html and feed sources; zero means default.
	MaxPages int            `json:"max_pages,omitempty"`
	HTML     *HTMLSelectors `json:"html,omitempty"`
	// Options carries platform-specific settings (for example a pinned API
	// version or a daily read budget). Keys are validated by config.
	Options map[string]string `json:"options,omitempty"`
}

// Key identifies the account across the system: "platform:handle" or
// "platform:url". Crawl state, schedules and health are keyed by it.
func (a Account) Key() string {
	id := a.Handle
	if id == "" {
		id = a.URL
	}
	return string(a.Platform) + ":" + strings.ToLower(id)
}

// Target is a watched person (an MP) with their accounts.
type Target struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Riding   string    `json:"riding,omitempty"`
	Party    string    `json:"party,omitempty"`
	Team     string    `json:"team,omitempty"`
	Tags     []string  `json:"tags,omitempty"`
	Aliases  []string  `json:"aliases,omitempty"`
	Accounts []Account `json:"accounts,omitempty"`
}

// SourceHealth is the crawl state of one (target, account) source.
type SourceHealth struct {
	SourceKey           string    `json:"source_key"` // target id + "/" + Account.Key()
	Target              string    `json:"target"`
	Platform            Platform  `json:"platform"`
	Cursor              string    `json:"cursor,omitempty"` // opaque to all but the source
	LastAttempt         time.Time `json:"last_attempt,omitzero"`
	LastSuccess         time.Time `json:"last_success,omitzero"`
	ConsecutiveFailures int       `json:"consecutive_failures"`
	LastError           string    `json:"last_error,omitempty"`
	NextCheck           time.Time `json:"next_check,omitzero"`
}

// SourceKey joins a target id and an account into the key of its crawl state.
func SourceKey(target string, a Account) string { return target + "/" + a.Key() }
