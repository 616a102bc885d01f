package config

import (
	"log/slog"
	"strings"
	"time"

	"github.com/mpwatch/mpwatch/internal/yamlx"
	"github.com/mpwatch/mpwatch/model"
)

// Config is a loaded, validated configuration with every default resolved.
// Paths are joined to the config's directory. Secrets are model.Secret, so
// printing a Config never shows one.
type Config struct {
	// Dir is the config file's directory (absolute when loaded by Load).
	Dir string
	// File is the config file's path.
	File string

	Store    Store
	Schedule Schedule
	HTTP     HTTP
	Log      Log
	Crawler  Crawler

	// Targets are the watched people: inline targets first, then each
	// watchlist file's in path order. Every account has its Schedule and
	// Lookback filled in and its handle normalised.
	Targets []model.Target
	// RuleFiles are the rule files the rule_files globs matched, sorted and
	// without duplicates. The rules package parses them.
	RuleFiles []string
	// Notify is the notify section, undecoded; notify.ParseConfig reads it.
	Notify yamlx.Section
	// Files are the files read (the config and every watchlist), and
	// WatchDirs the directories whose changes can change the configuration
	// (a new file matching a glob), for hot reload.
	Files     []string
	WatchDirs []string

	// src keeps the resolved YAML values, with the environment variable
	// names of secrets, for Redacted. A pointer, so that fmt never walks
	// into it (fmt does not call String or Format on unexported fields).
	src *sources
}

// Store is where state is kept.
type Store struct {
	// Path is the SQLite file, joined to Dir.
	Path string
	// Retention is how long replies are kept; 0 keeps them forever.
	Retention time.Duration
}

// Schedule holds cron specs (robfig/cron/v3, standard parser with descriptors).
type Schedule struct {
	Default   string
	Jitter    time.Duration
	Retention string
}

// HTTP configures the status server.
type HTTP struct {
	// Listen is host:port; empty disables the server.
	Listen      string
	PublicURL   string
	BearerToken model.Secret
	BasicAuth   BasicAuth
}

// BasicAuth is HTTP basic authentication; unused when User is empty.
type BasicAuth struct {
	User     string
	Password model.Secret
}

// Log says how to log.
type Log struct {
	Level  slog.Level
	Format string // "text" or "json"
}

// Crawler holds the settings every source shares.
type Crawler struct {
	// UserAgent may hold "{version}"; use UserAgentFor to build the header.
	UserAgent        string
	Contact          string
	Timeout          time.Duration
	MaxBodyBytes     int64
	Parallelism      int
	Delay            time.Duration
	RandomDelay      time.Duration
	MaxRetries       int
	RespectRobotsTxt bool
	Lookback         time.Duration
	Rescan           time.Duration
	BackoffMaxFactor int
	// Instances maps a Mastodon-API host name to its access token. Accounts
	// on such a host already carry the token in Account.Token.
	Instances map[string]model.Secret
}

// UserAgentFor returns the User-Agent header for the running version, with
// the contact inside the trailing comment so operators see who to write to:
// "mpwatch/1.2 (+https://github.com/mpwatch/mpwatch; ops@example.org)".
func (c Crawler) UserAgentFor(version string) string {
	if version == "" {
		version = "dev"
	}
	ua := strings.ReplaceAll(c.UserAgent, "{version}", version)
	if c.Contact == "" {
		return ua
	}
	if strings.HasSuffix(ua, ")") {
		return ua[:len(ua)-1] + "; " + c.Contact + ")"
	}
	return ua + " (" + c.Contact + ")"
}

// DefaultUserAgent is the crawler's User-Agent unless the config sets one.
const DefaultUserAgent = "mpwatch/{version} (+https://github.com/mpwatch/mpwatch)"

// defaults returns config.yaml as it is when every key is left out. Decoding
// over it keeps whatever the file does not set.
func defaults() ConfigFile {
	return ConfigFile{
		Store: StoreSpec{Path: "mpwatch.db", Retention: yamlx.Duration(90 * 24 * time.Hour)},
		Schedule: ScheduleSpec{
			Default:   "@every 5m",
			Jitter:    yamlx.Duration(30 * time.Second),
			Retention: "@daily",
		},
		HTTP: HTTPSpec{Listen: "127.0.0.1:8080"},
		Log:  LogSpec{Level: "info", Format: "text"},
		Crawler: CrawlerSpec{
			UserAgent:        DefaultUserAgent,
			Timeout:          yamlx.Duration(20 * time.Second),
			MaxBodyMB:        10,
			Parallelism:      2,
			Delay:            yamlx.Duration(time.Second),
			RandomDelay:      yamlx.Duration(500 * time.Millisecond),
			MaxRetries:       3,
			RespectRobotsTxt: true,
			Lookback:         yamlx.Duration(72 * time.Hour),
			Rescan:           yamlx.Duration(6 * time.Hour),
			BackoffMaxFactor: 8,
		},
		Watchlists: []string{"watchlists/*.yaml"},
		RuleFiles:  []string{"rules/default/*.yaml"},
	}
}

// Target returns the target with the given id.
func (c *Config) Target(id string) (model.Target, bool) {
	for _, t := range c.Targets {
		if t.ID == id {
			return t, true
		}
	}
	return model.Target{}, false
}
