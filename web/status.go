package web

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/mpwatch/mpwatch/model"
)

// statusDays is how far back the status page's volume charts reach.
const statusDays = 7

type statusView struct {
	Config  *configView
	Targets []targetView
	Alerts  []alertRow
	// Orphans counts health rows of sources no longer configured; they are
	// not crawled any more and not shown.
	Orphans int
}

type configView struct {
	LoadedAt     time.Time
	Files        []string
	LastReloadAt time.Time
	Errors       []string
}

type targetView struct {
	ID, Name, Riding, Party, Team string
	Sources                       []sourceView
	Chart                         chart
	Week                          int // replies in the chart's range
	Failing                       int // sources whose last crawl failed
}

type sourceView struct {
	Platform    model.Platform
	Account     string
	State       string // ok, failing, overdue, never
	LastSuccess time.Time
	SuccessAgo  string
	LastAttempt time.Time
	AttemptAgo  string
	Failures    int
	LastError   string
	NextCheck   time.Time
}

type alertRow struct {
	Key, Rule, Type, Summary string
	Severity                 model.Severity
	Status                   model.AlertStatus
	Audience                 model.Audience
	Targets                  []string
	Platforms                []model.Platform
	FiredAt                  time.Time
	FiredAgo                 string
	Seq                      int
}

// overdueGrace is how late a source's next check may be before the page calls
// it overdue: crawls queue behind each other and back off, so a few minutes
// late is normal.
const overdueGrace = 15 * time.Minute

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now := s.now()
	targets, err := s.opt.Data.Targets(ctx)
	if err != nil {
		s.fail(w, r, "reading targets", err)
		return
	}
	health, err := s.opt.Data.SourceHealth(ctx)
	if err != nil {
		s.fail(w, r, "reading source health", err)
		return
	}
	to := now.Truncate(time.Hour).Add(time.Hour)
	from := to.Add(-statusDays * 24 * time.Hour)
	vol, err := s.opt.Data.Volume(ctx, from, to, time.Hour)
	if err != nil {
		s.fail(w, r, "reading reply volume", err)
		return
	}
	alerts, err := s.opt.Data.RecentAlerts(ctx, s.opt.AlertLimit)
	if err != nil {
		s.fail(w, r, "reading recent alerts", err)
		return
	}

	v := statusView{Config: s.configView()}
	byKey := map[string]model.SourceHealth{}
	for _, h := range health {
		byKey[h.SourceKey] = h
	}
	byTarget := map[string][]VolumePoint{}
	for _, p := range vol {
		byTarget[p.Target] = append(byTarget[p.Target], p)
	}
	configured := map[string]bool{}
	for i, t := range targets {
		for _, a := range t.Accounts {
			configured[model.SourceKey(t.ID, a)] = true
		}
		tv := s.targetView(t, byKey, now)
		ser := newSeries(from, time.Hour, statusDays*24, byTarget[t.ID], nil)
		tv.Week = ser.total()
		tv.Chart = buildChart(fmt.Sprintf("vol-%d", i), "Replies to "+t.Name+", last 7 days, hourly", ser, s.loc, time.Time{}, time.Time{})
		v.Targets = append(v.Targets, tv)
	}
	for k := range byKey {
		if !configured[k] {
			v.Orphans++
		}
	}
	for _, a := range alerts {
		v.Alerts = append(v.Alerts, newAlertRow(a, now))
	}
	s.render(w, r, http.StatusOK, "status.html", s.page("mpwatch status", v))
}

// target is one target's page: the same sources and chart as the status page
// plus its recent alerts, at a stable address to bookmark.
func (s *Server) target(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now := s.now()
	id := r.PathValue("id")
	targets, err := s.opt.Data.Targets(ctx)
	if err != nil {
		s.fail(w, r, "reading targets", err)
		return
	}
	var t *model.Target
	for i := range targets {
		if targets[i].ID == id {
			t = &targets[i]
		}
	}
	if t == nil {
		s.notFound(w, r, "No target with this id is configured.")
		return
	}
	health, err := s.opt.Data.SourceHealth(ctx)
	if err != nil {
		s.fail(w, r, "reading source health", err)
		return
	}
	byKey := map[string]model.SourceHealth{}
	for _, h := range health {
		byKey[h.SourceKey] = h
	}
	to := now.Truncate(time.Hour).Add(time.Hour)
	from := to.Add(-statusDays * 24 * time.Hour)
	vol, err := s.opt.Data.Volume(ctx, from, to, time.Hour)
	if err != nil {
		s.fail(w, r, "reading reply volume", err)
		return
	}
	alerts, err := s.opt.Data.RecentAlerts(ctx, s.opt.AlertLimit)
	if err != nil {
		s.fail(w, r, "reading recent alerts", err)
		return
	}
	tv := s.targetView(*t, byKey, now)
	ser := newSeries(from, time.Hour, statusDays*24, vol, func(p VolumePoint) bool { return p.Target == t.ID })
	tv.Week = ser.total()
	tv.Chart = buildChart("vol-0", "Replies to "+t.Name+", last 7 days, hourly", ser, s.loc, time.Time{}, time.Time{})
	v := statusView{Targets: []targetView{tv}}
	for _, a := range alerts {
		for _, at := range a.Targets {
			if at == t.ID {
				v.Alerts = append(v.Alerts, newAlertRow(a, now))
				break
			}
		}
	}
	s.render(w, r, http.StatusOK, "target.html", s.page(t.Name+" – mpwatch", v))
}

func (s *Server) configView() *configView {
	if s.opt.ConfigStatus == nil {
		return nil
	}
	cs := s.opt.ConfigStatus()
	cv := &configView{LoadedAt: cs.LoadedAt, Files: cs.Files, LastReloadAt: cs.LastReloadAt}
	for _, line := range strings.Split(strings.TrimSpace(cs.LastError), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			cv.Errors = append(cv.Errors, line)
		}
	}
	return cv
}

func (s *Server) targetView(t model.Target, health map[string]model.SourceHealth, now time.Time) targetView {
	tv := targetView{ID: t.ID, Name: t.Name, Riding: t.Riding, Party: t.Party, Team: t.Team}
	for _, a := range t.Accounts {
		key := model.SourceKey(t.ID, a)
		h, ok := health[key]
		sv := sourceView{Platform: a.Platform, Account: a.Handle, State: "never"}
		if sv.Account == "" {
			sv.Account = a.URL
		}
		if ok {
			sv.LastSuccess, sv.LastAttempt = h.LastSuccess, h.LastAttempt
			sv.SuccessAgo, sv.AttemptAgo = ago(h.LastSuccess, now), ago(h.LastAttempt, now)
			sv.Failures, sv.LastError, sv.NextCheck = h.ConsecutiveFailures, h.LastError, h.NextCheck
			sv.State = sourceState(h, now)
		} else {
			sv.SuccessAgo, sv.AttemptAgo = "never", "never"
		}
		if sv.State == "failing" {
			tv.Failing++
		}
		tv.Sources = append(tv.Sources, sv)
	}
	return tv
}

func sourceState(h model.SourceHealth, now time.Time) string {
	switch {
	case h.ConsecutiveFailures > 0:
		return "failing"
	case h.LastAttempt.IsZero() && h.LastSuccess.IsZero():
		return "never"
	case !h.NextCheck.IsZero() && now.Sub(h.NextCheck) > overdueGrace:
		return "overdue"
	}
	return "ok"
}

func newAlertRow(a model.Alert, now time.Time) alertRow {
	targets := append([]string(nil), a.Targets...)
	sort.Strings(targets)
	return alertRow{
		Key: a.Key, Rule: a.Rule, Type: a.Type, Summary: a.Summary, Severity: a.Severity,
		Status: a.Status, Audience: a.Audience, Targets: targets, Platforms: a.Platforms,
		FiredAt: a.FiredAt, FiredAgo: ago(a.FiredAt, now), Seq: a.Seq,
	}
}
