package web

import (
	"context"
	"time"

	"github.com/mpwatch/mpwatch/model"
)

// DataSource is everything the pages read. It is read-only and deliberately
// small; app adapts the store to it.
type DataSource interface {
	// Targets is the watchlist as currently configured.
	Targets(ctx context.Context) ([]model.Target, error)
	// SourceHealth is the crawl state of every source the store knows,
	// including sources of targets no longer configured (the page drops those).
	SourceHealth(ctx context.Context) ([]model.SourceHealth, error)
	// Volume counts replies created in [from, to) per target, platform and
	// bucket; Start is the bucket's start. Empty buckets may be omitted.
	Volume(ctx context.Context, from, to time.Time, bucket time.Duration) ([]VolumePoint, error)
	// RecentAlerts is the latest event of each alert key, newest first.
	RecentAlerts(ctx context.Context, limit int) ([]model.Alert, error)
	// AlertEvents is every event of one alert key, oldest first; empty when
	// the key is unknown.
	AlertEvents(ctx context.Context, key string) ([]model.Alert, error)
	// Replies returns the stored replies among keys ("platform:id"); unknown
	// keys are skipped, order does not matter.
	Replies(ctx context.Context, keys []string) ([]model.Reply, error)
}

// VolumePoint is the number of replies to one target on one platform created
// in the bucket starting at Start.
type VolumePoint struct {
	Target   string
	Platform model.Platform
	Start    time.Time
	Count    int
}

// ConfigStatus says which configuration is running and whether the last
// attempt to reload it failed.
type ConfigStatus struct {
	// LoadedAt is when the running configuration was applied; zero means no
	// configuration is loaded yet (and /readyz fails).
	LoadedAt time.Time
	// Files are the config, watchlist and rule files the running
	// configuration was read from.
	Files []string
	// LastReloadAt is the last reload attempt, successful or not.
	LastReloadAt time.Time
	// LastError is the last failed reload's error, one "file:line:col: path:
	// message" per line; empty when the last reload succeeded. The old
	// configuration keeps running while it is set.
	LastError string
}
