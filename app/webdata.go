package app

import (
	"context"
	"net/http"
	"time"

	"github.com/mpwatch/mpwatch/model"
	"github.com/mpwatch/mpwatch/web"
)

// webData adapts the store and the running configuration to what the pages read.
type webData struct{ a *App }

func (d webData) Targets(context.Context) ([]model.Target, error) {
	b, _, _, _ := d.a.current()
	return b.Config.Targets, nil
}

func (d webData) SourceHealth(ctx context.Context) ([]model.SourceHealth, error) {
	return d.a.db.ListSourceHealth(ctx)
}

func (d webData) Volume(ctx context.Context, from, to time.Time, bucket time.Duration) ([]web.VolumePoint, error) {
	bs, err := d.a.db.CountReplies(ctx, from, to, bucket)
	if err != nil {
		return nil, err
	}
	out := make([]web.VolumePoint, len(bs))
	for i, b := range bs {
		out[i] = web.VolumePoint{Target: b.Target, Platform: b.Platform, Start: b.Start, Count: b.Count}
	}
	return out, nil
}

func (d webData) RecentAlerts(ctx context.Context, limit int) ([]model.Alert, error) {
	return d.a.db.RecentAlerts(ctx, limit)
}

func (d webData) AlertEvents(ctx context.Context, key string) ([]model.Alert, error) {
	return d.a.db.AlertEvents(ctx, key)
}

func (d webData) Replies(ctx context.Context, keys []string) ([]model.Reply, error) {
	return d.a.db.RepliesByKeys(ctx, keys)
}

// webHandler builds the status surface for the running configuration.
func (a *App) webHandler(status func() StatusSnapshot) http.Handler {
	b, _, _, _ := a.current()
	h := b.Config.HTTP
	srv := web.New(web.Options{
		Data:    webData{a},
		Metrics: a.metrics,
		Ready:   a.db.Ping,
		Auth: web.Auth{BearerToken: h.BearerToken.Value(), BasicUser: h.BasicAuth.User,
			BasicPassword: h.BasicAuth.Password.Value()},
		Now:    a.now,
		Logger: a.logger,
		ConfigStatus: func() web.ConfigStatus {
			s := status()
			return web.ConfigStatus{LoadedAt: s.LoadedAt, Files: s.Files, LastReloadAt: s.LastReloadAt, LastError: s.LastError}
		},
	})
	return srv.Handler()
}
