package web

import (
	"fmt"
	"html/template"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mpwatch/mpwatch/model"
)

func fmtTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "never"
	}
	return t.In(loc).Format("2006-01-02 15:04 MST")
}

func fmtDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d%(24*time.Hour) == 0:
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	case d%time.Minute == 0:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	}
	return d.Round(time.Second).String()
}

// ago is a coarse "how long before now", enough to spot a stale source.
func ago(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		s = strconv.Itoa(int(d/time.Second)) + "s"
	case d < time.Hour:
		s = strconv.Itoa(int(d/time.Minute)) + "m"
	case d < 48*time.Hour:
		s = strconv.Itoa(int(d/time.Hour)) + "h"
	default:
		s = strconv.Itoa(int(d/(24*time.Hour))) + "d"
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

// linkURL returns u when it is an absolute http or https URL, the only links
// pages make clickable; anything else (javascript:, data:, relative paths)
// is shown as plain text.
func linkURL(u string) (string, bool) {
	p, err := url.Parse(strings.TrimSpace(u))
	if err != nil || p.Host == "" {
		return "", false
	}
	switch strings.ToLower(p.Scheme) {
	case "http", "https":
		return p.String(), true
	}
	return "", false
}

// fmtNum prints a metric compactly: integers without decimals, others with
// up to two.
func fmtNum(f float64) string {
	if f == float64(int64(f)) {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'f', 2, 64)
}

func fmtPct(f float64) string { return strconv.FormatFloat(f*100, 'f', 0, 64) + "%" }

func joinPlatforms(ps []model.Platform) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = string(p)
	}
	return strings.Join(s, ", ")
}

type kv struct {
	Key   string
	Value string
}

func sortedMetrics(m map[string]float64) []kv {
	out := make([]kv, 0, len(m))
	for k, v := range m {
		out = append(out, kv{k, fmtNum(v)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// alertPath is the evidence page of key, relative to the site root. Keys are
// path-escaped so one with "/" or "?" still names one page.
func alertPath(key string) string { return "/alerts/" + url.PathEscape(key) }

func targetPath(id string) string { return "/targets/" + url.PathEscape(id) }

// funcs are the template helpers. They depend only on the display zone, which
// is fixed per server; anything relative to "now" is computed per request in
// the view models instead.
func funcs(loc *time.Location) template.FuncMap {
	return template.FuncMap{
		"time":       func(t time.Time) string { return fmtTime(t, loc) },
		"iso":        func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"dur":        fmtDuration,
		"num":        fmtNum,
		"pct":        fmtPct,
		"platforms":  joinPlatforms,
		"join":       strings.Join,
		"alertPath":  alertPath,
		"targetPath": targetPath,
		"link": func(u string) string {
			s, _ := linkURL(u)
			return s
		},
		"str": func(v any) string { return fmt.Sprint(v) },
	}
}
