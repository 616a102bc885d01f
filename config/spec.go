package config

import (
	"github.com/mpwatch/mpwatch/internal/yamlx"
	"github.com/mpwatch/mpwatch/model"
)

// The types in this file are the YAML schema: what an administrator writes.
// They are decoded strictly (every key must be a field here) and reflect
// cleanly into a JSON Schema for editors. Load turns them into the Go-typed
// Config that the rest of mpwatch reads.

// ConfigFile is the top level of config.yaml.
type ConfigFile struct {
	// Store says where replies, crawl state and alert state are kept.
	Store StoreSpec `yaml:"store" json:"store,omitempty"`
	// Schedule holds the default crawl schedule and housekeeping schedules.
	Schedule ScheduleSpec `yaml:"schedule" json:"schedule,omitempty"`
	// HTTP configures the health, metrics and status endpoints.
	HTTP HTTPSpec `yaml:"http" json:"http,omitempty"`
	// Log chooses the log level and format.
	Log LogSpec `yaml:"log" json:"log,omitempty"`
	// Crawler holds politeness and retry settings shared by every source.
	Crawler CrawlerSpec `yaml:"crawler" json:"crawler,omitempty"`
	// Watchlists are glob patterns, relative to this file's directory, naming
	// watchlist files. A pattern with no wildcard must match a file.
	Watchlists []string `yaml:"watchlists" json:"watchlists,omitempty"`
	// Targets may also be listed inline, with the same schema as in a watchlist.
	Targets []TargetSpec `yaml:"targets" json:"targets,omitempty"`
	// RuleFiles are glob patterns, relative to this file's directory, naming
	// detection rule files.
	RuleFiles []string `yaml:"rule_files" json:"rule_files,omitempty"`
	// Notify configures receivers, routes, grouping and inhibition. Its schema
	// belongs to the notify package, which decodes it.
	Notify map[string]any `yaml:"notify" json:"notify,omitempty"`
}

// StoreSpec is the store section.
type StoreSpec struct {
	// Path is the SQLite database file, relative to the config's directory.
	Path string `yaml:"path" json:"path,omitempty"`
	// Retention is how long stored replies are kept ("90d"); 0 keeps them forever.
	Retention yamlx.Duration `yaml:"retention" json:"retention,omitempty"`
}

// ScheduleSpec is the schedule section. Specs are robfig/cron specs: five
// fields ("*/10 * * * *") or a descriptor ("@every 5m", "@hourly", "@daily").
type ScheduleSpec struct {
	// Default is the crawl schedule of every account that sets none.
	Default string `yaml:"default" json:"default,omitempty"`
	// Jitter is the largest random delay added to each scheduled crawl, so
	// accounts on the same schedule do not all start at once.
	Jitter yamlx.Duration `yaml:"jitter" json:"jitter,omitempty"`
	// Retention is when old replies are purged.
	Retention string `yaml:"retention" json:"retention,omitempty"`
}

// HTTPSpec is the http section.
type HTTPSpec struct {
	// Listen is the host:port of the status server; empty disables it.
	Listen string `yaml:"listen" json:"listen,omitempty"`
	// PublicURL is the address people reach the status pages at, used for
	// evidence links in alerts ("https://mpwatch.example.org").
	PublicURL string `yaml:"public_url" json:"public_url,omitempty"`
	// BearerToken, when set, is required on every request but /healthz.
	BearerToken yamlx.Secret `yaml:"bearer_token" json:"bearer_token,omitempty"`
	// BasicAuth, when its user is set, is an alternative to the bearer token.
	BasicAuth BasicAuthSpec `yaml:"basic_auth" json:"basic_auth,omitempty"`
}

// BasicAuthSpec is a user name and password for HTTP basic authentication.
type BasicAuthSpec struct {
	// User is the user name.
	User string `yaml:"user" json:"user,omitempty"`
	// Password is the password, normally "${MPWATCH_HTTP_PASSWORD}".
	Password yamlx.Secret `yaml:"password" json:"password,omitempty"`
}

// LogSpec is the log section.
type LogSpec struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level" json:"level,omitempty"`
	// Format is text or json.
	Format string `yaml:"format" json:"format,omitempty"`
}

// CrawlerSpec is the crawler section.
type CrawlerSpec struct {
	// UserAgent identifies mpwatch to the sites it reads; "{version}" is
	// replaced by the running version.
	UserAgent string `yaml:"user_agent" json:"user_agent,omitempty"`
	// Contact is an email address or URL appended to the User-Agent so site
	// operators can reach whoever runs this instance. Recommended.
	Contact string `yaml:"contact" json:"contact,omitempty"`
	// Timeout bounds one HTTP request.
	Timeout yamlx.Duration `yaml:"timeout" json:"timeout,omitempty"`
	// MaxBodyMB is the largest response body read, in mebibytes.
	MaxBodyMB int `yaml:"max_body_mb" json:"max_body_mb,omitempty"`
	// Parallelism is the number of concurrent requests per host.
	Parallelism int `yaml:"parallelism" json:"parallelism,omitempty"`
	// Delay is the pause between two requests to the same host.
	Delay yamlx.Duration `yaml:"delay" json:"delay,omitempty"`
	// RandomDelay is the largest random pause added to Delay.
	RandomDelay yamlx.Duration `yaml:"random_delay" json:"random_delay,omitempty"`
	// MaxRetries is how many times a failed request is retried in one crawl.
	MaxRetries int `yaml:"max_retries" json:"max_retries,omitempty"`
	// RespectRobotsTxt makes page sources (html, rss) obey robots.txt.
	RespectRobotsTxt bool `yaml:"respect_robots_txt" json:"respect_robots_txt,omitempty"`
	// Lookback is how old a watched post may be and still be read for replies.
	Lookback yamlx.Duration `yaml:"lookback" json:"lookback,omitempty"`
	// Rescan: posts younger than this are re-read on every run, because
	// replies keep arriving; older ones only while within Lookback.
	Rescan yamlx.Duration `yaml:"rescan" json:"rescan,omitempty"`
	// BackoffMaxFactor caps the back-off of a failing source at this many
	// times its schedule. A failing source is never dropped.
	BackoffMaxFactor int `yaml:"backoff_max_factor" json:"backoff_max_factor,omitempty"`
	// Instances holds per-server settings keyed by host name, for example a
	// token for a GoToSocial server that answers 401 without one.
	Instances map[string]InstanceSpec `yaml:"instances" json:"instances,omitempty"`
}

// InstanceSpec is the settings of one Mastodon-API server.
type InstanceSpec struct {
	// Token is an access token for the server, normally "${NAME}".
	Token yamlx.Secret `yaml:"token" json:"token,omitempty"`
}

// WatchlistFile is one watchlist file: a team's list of watched people.
type WatchlistFile struct {
	// Defaults apply to every target of this file.
	Defaults DefaultsSpec `yaml:"defaults,omitempty" json:"defaults,omitempty"`
	// Targets are the watched people.
	Targets []TargetSpec `yaml:"targets,omitempty" json:"targets,omitempty"`
}

// DefaultsSpec are the settings a watchlist file gives all its targets.
type DefaultsSpec struct {
	// Team routes alerts; a target's own team wins.
	Team string `yaml:"team,omitempty" json:"team,omitempty"`
	// Tags are added before each target's own tags.
	Tags []string `yaml:"tags,omitempty" json:"tags,omitempty"`
	// Schedule is the crawl schedule of accounts that set none.
	Schedule string `yaml:"schedule,omitempty" json:"schedule,omitempty"`
}

// TargetSpec is one watched person.
type TargetSpec struct {
	// ID is a stable slug ("jane-doe"): lower-case letters, digits and
	// hyphens, at most 63 characters. Stored replies and alerts refer to it.
	ID string `yaml:"id,omitempty" json:"id"`
	// Name is the person's display name. Required.
	Name string `yaml:"name,omitempty" json:"name"`
	// Riding is the electoral district.
	Riding string `yaml:"riding,omitempty" json:"riding,omitempty"`
	// Party is the political party.
	Party string `yaml:"party,omitempty" json:"party,omitempty"`
	// Team is the communications team alerts about this person go to.
	Team string `yaml:"team,omitempty" json:"team,omitempty"`
	// Tags label the target for routing and filtering rules.
	Tags []string `yaml:"tags,omitempty" json:"tags,omitempty"`
	// Aliases are other names of the person, in any script, that the RSS
	// mention source matches.
	Aliases []string `yaml:"aliases,omitempty" json:"aliases,omitempty"`
	// Accounts are the person's accounts and pages to watch.
	Accounts []AccountSpec `yaml:"accounts,omitempty" json:"accounts,omitempty"`
}

// AccountSpec is one watched account.
type AccountSpec struct {
	// Platform is one of bluesky, facebook, html, mastodon, rss, x, youtube.
	Platform string `yaml:"platform,omitempty" json:"platform"`
	// Handle names the account: "@user@instance" (mastodon), "name.bsky.social"
	// or a DID (bluesky), a page id (facebook), a username (x), a channel id
	// (youtube).
	Handle string `yaml:"handle,omitempty" json:"handle,omitempty"`
	// URL is the page or feed address (html, rss).
	URL string `yaml:"url,omitempty" json:"url,omitempty"`
	// Schedule overrides the crawl schedule for this account.
	Schedule string `yaml:"schedule,omitempty" json:"schedule,omitempty"`
	// Token is the account's credential, normally "${NAME}".
	Token yamlx.Secret `yaml:"token,omitempty" json:"token,omitempty"`
	// Lookback overrides crawler.lookback for this account.
	Lookback yamlx.Duration `yaml:"lookback,omitempty" json:"lookback,omitempty"`
	// MaxPages caps pagination (html, rss); 0 means the source's default.
	MaxPages int `yaml:"max_pages,omitempty" json:"max_pages,omitempty"`
	// HTML says where the comments are on an html page.
	HTML *model.HTMLSelectors `yaml:"html,omitempty" json:"html,omitempty"`
	// Options are platform-specific settings.
	Options *OptionsSpec `yaml:"options,omitempty" json:"options,omitempty"`
}

// OptionsSpec lists every platform option; each platform accepts only its own.
type OptionsSpec struct {
	// APIVersion pins the Graph API version (facebook), e.g. "v21.0".
	APIVersion string `yaml:"api_version,omitempty" json:"api_version,omitempty"`
	// MaxReadsPerDay caps post reads per day (x), which are billed.
	MaxReadsPerDay int `yaml:"max_reads_per_day,omitempty" json:"max_reads_per_day,omitempty"`
	// VideoIDs are videos whose comments are read (youtube), instead of or
	// besides the channel's.
	VideoIDs []string `yaml:"video_ids,omitempty" json:"video_ids,omitempty"`
}
