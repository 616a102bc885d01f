package web

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/mpwatch/mpwatch/model"
)

// maxEvidenceBars bounds the evidence chart's resolution.
const maxEvidenceBars = 96

type evidenceView struct {
	Alert    alertRow
	Latest   model.Alert
	Events   []model.Alert
	Numbers  []kv // Count, Baseline, Ratio, Z where set
	Metrics  []kv // the rule's own metrics
	Chart    chart
	Replies  []replyView
	Missing  int // reply keys in the evidence the store no longer has
	Posts    []linkView
	Signals  *model.AccountSignals
	CSVPath  string
	JSONPath string
}

type replyView struct {
	Key, Target, Text, Lang string
	Platform                model.Platform
	CreatedAt               time.Time
	URL                     linkView
	Author                  string // handle, or id when there is no handle
	AuthorName              string
	AuthorURL               linkView
	AuthorID                string
}

// linkView is a URL that is clickable only when it is http(s); Text is always
// what the page shows, so other schemes appear as inert text.
type linkView struct {
	Href string // empty: show Text without a link
	Text string
}

func newLink(u string) linkView {
	href, _ := linkURL(u)
	return linkView{Href: href, Text: u}
}

// evidence is what all three forms of an alert's evidence are made from.
type evidence struct {
	events  []model.Alert
	latest  model.Alert
	replies []model.Reply
	missing int
}

// alert serves /alerts/{key}, /alerts/{key}.csv and /alerts/{key}.json. The
// suffixes are reserved: an alert key never ends in ".csv" or ".json".
func (s *Server) alert(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	format := "html"
	if k, ok := strings.CutSuffix(key, ".csv"); ok {
		key, format = k, "csv"
	} else if k, ok := strings.CutSuffix(key, ".json"); ok {
		key, format = k, "json"
	}
	ev, found, err := s.loadEvidence(r.Context(), key)
	if err != nil {
		s.fail(w, r, "reading alert evidence", err)
		return
	}
	if !found {
		if format == "html" {
			s.notFound(w, r, "No alert with this key. It may have been purged by retention.")
		} else {
			http.NotFound(w, r)
		}
		return
	}
	switch format {
	case "csv":
		s.writeCSV(w, r, key, ev.replies)
	case "json":
		s.writeJSON(w, r, ev)
	default:
		s.evidencePage(w, r, ev)
	}
}

func (s *Server) loadEvidence(ctx context.Context, key string) (evidence, bool, error) {
	events, err := s.opt.Data.AlertEvents(ctx, key)
	if err != nil {
		return evidence{}, false, fmt.Errorf("read events of alert %q: %w", key, err)
	}
	if len(events) == 0 {
		return evidence{}, false, nil
	}
	ev := evidence{events: events, latest: events[len(events)-1]}
	keys := evidenceKeys(ev.latest)
	if len(keys) == 0 {
		return ev, true, nil
	}
	stored, err := s.opt.Data.Replies(ctx, keys)
	if err != nil {
		return evidence{}, false, fmt.Errorf("read replies of alert %q: %w", key, err)
	}
	byKey := make(map[string]model.Reply, len(stored))
	for _, rp := range stored {
		byKey[rp.Key()] = rp
	}
	samples := map[string]model.Sample{}
	for _, sm := range ev.latest.Evidence.Samples {
		samples[sm.ReplyKey] = sm
	}
	for _, k := range keys {
		if rp, ok := byKey[k]; ok {
			ev.replies = append(ev.replies, rp)
			continue
		}
		// Retention may have purged the reply; the sample quoted in the alert
		// is still worth showing.
		if sm, ok := samples[k]; ok {
			ev.replies = append(ev.replies, replyFromSample(sm))
			continue
		}
		ev.missing++
	}
	sort.SliceStable(ev.replies, func(i, j int) bool { return ev.replies[i].CreatedAt.Before(ev.replies[j].CreatedAt) })
	return ev, true, nil
}

// evidenceKeys are the replies an alert cites: its ReplyIDs, then any samples
// not among them, without duplicates.
func evidenceKeys(a model.Alert) []string {
	seen := map[string]bool{}
	var keys []string
	add := func(k string) {
		if k != "" && !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	for _, k := range a.ReplyIDs {
		add(k)
	}
	for _, sm := range a.Evidence.Samples {
		add(sm.ReplyKey)
	}
	return keys
}

func replyFromSample(sm model.Sample) model.Reply {
	id := sm.ReplyKey
	if _, rest, ok := strings.Cut(sm.ReplyKey, ":"); ok {
		id = rest
	}
	return model.Reply{
		Platform: sm.Platform, ID: id, URL: sm.URL, Target: sm.Target, CreatedAt: sm.CreatedAt,
		Text: sm.Text, Author: model.Author{Handle: sm.Author, URL: sm.AuthorURL},
	}
}

func (s *Server) evidencePage(w http.ResponseWriter, r *http.Request, ev evidence) {
	ctx := r.Context()
	a := ev.latest
	v := evidenceView{
		Alert: newAlertRow(a, s.now()), Latest: a, Events: ev.events, Missing: ev.missing,
		Signals: a.Evidence.Signals, Metrics: sortedMetrics(a.Metrics),
		CSVPath: alertPath(a.Key + ".csv"), JSONPath: alertPath(a.Key + ".json"),
	}
	e := a.Evidence
	for _, n := range []struct {
		name string
		v    float64
	}{{"Count", e.Count}, {"Baseline", e.Baseline}, {"Ratio", e.Ratio}, {"Z-score", e.Z}} {
		if n.v != 0 {
			v.Numbers = append(v.Numbers, kv{n.name, fmtNum(n.v)})
		}
	}
	for _, p := range e.Posts {
		v.Posts = append(v.Posts, newLink(p))
	}
	for _, rp := range ev.replies {
		rv := replyView{
			Key: rp.Key(), Target: rp.Target, Text: rp.Text, Lang: rp.Lang, Platform: rp.Platform,
			CreatedAt: rp.CreatedAt, URL: newLink(rp.URL), Author: rp.Author.Handle,
			AuthorName: rp.Author.Name, AuthorURL: newLink(rp.Author.URL), AuthorID: rp.Author.ID,
		}
		if rv.Author == "" {
			rv.Author = rp.Author.ID
		}
		v.Replies = append(v.Replies, rv)
	}

	from, to, bucket := chartRange(a, s.now())
	vol, err := s.opt.Data.Volume(ctx, from, to, bucket)
	if err != nil {
		s.fail(w, r, "reading reply volume", err)
		return
	}
	targets := map[string]bool{}
	for _, t := range a.Targets {
		targets[t] = true
	}
	platforms := map[model.Platform]bool{}
	for _, p := range a.Platforms {
		platforms[p] = true
	}
	ser := newSeries(from, bucket, int(to.Sub(from)/bucket), vol, func(p VolumePoint) bool {
		return (len(targets) == 0 || targets[p.Target]) && (len(platforms) == 0 || platforms[p.Platform])
	})
	v.Chart = buildChart("vol-alert", "Replies around the alert window", ser, s.loc, a.WindowStart, a.WindowEnd)
	s.render(w, r, http.StatusOK, "evidence.html", s.page(a.Rule+" – mpwatch alert", v))
}

// chartRange frames the alert window with context: twice its length before
// (at least 6 h, so a short spike is seen against its baseline) and half that
// after, cut at the next bucket after now.
func chartRange(a model.Alert, now time.Time) (from, to time.Time, bucket time.Duration) {
	ws, we := a.WindowStart, a.WindowEnd
	if ws.IsZero() {
		ws = a.FiredAt.Add(-time.Hour)
	}
	if we.Before(ws) || we.IsZero() {
		we = ws.Add(time.Hour)
	}
	pad := 2 * we.Sub(ws)
	if pad < 6*time.Hour {
		pad = 6 * time.Hour
	}
	from, to = ws.Add(-pad), we.Add(pad/2)
	if !now.IsZero() && to.After(now) && now.After(we) {
		to = now
	}
	bucket = pickBucket(to.Sub(from), maxEvidenceBars)
	from = from.Truncate(bucket)
	to = to.Truncate(bucket).Add(bucket)
	return from, to, bucket
}

// csvHeader is the evidence CSV's column order; analysts' spreadsheets depend
// on it, so columns are only ever appended.
var csvHeader = []string{"reply_key", "platform", "target", "created_at", "author_handle", "author_id", "url", "text"}

func (s *Server) writeCSV(w http.ResponseWriter, r *http.Request, key string, replies []model.Reply) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+csvFilename(key)+`"`)
	if err := writeEvidenceCSV(w, replies); err != nil {
		s.log.Warn("write evidence csv", "alert_key", key, "error", err)
	}
}

// writeEvidenceCSV writes RFC 4180 CSV (CRLF line ends, quotes where
// needed). Cells are guarded against formula injection: a reply saying
// "=HYPERLINK(...)" must stay text when the file is opened in a spreadsheet.
func writeEvidenceCSV(w interface{ Write([]byte) (int, error) }, replies []model.Reply) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(csvHeader); err != nil {
		return fmt.Errorf("write csv header: %w", err)
	}
	for _, rp := range replies {
		row := []string{
			rp.Key(), string(rp.Platform), rp.Target, rp.CreatedAt.UTC().Format(time.RFC3339),
			rp.Author.Handle, rp.Author.ID, rp.URL, rp.Text,
		}
		for i := range row {
			row[i] = guardCell(row[i])
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("write csv row %s: %w", rp.Key(), err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("flush csv: %w", err)
	}
	return nil
}

// guardCell prefixes an apostrophe to cells a spreadsheet would evaluate.
func guardCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// csvFilename makes a download name from an alert key, keeping only
// characters that are safe in a header and on every file system.
func csvFilename(key string) string {
	var b strings.Builder
	b.WriteString("mpwatch-evidence-")
	for _, r := range key {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() > 120 {
			break
		}
	}
	b.WriteString(".csv")
	return b.String()
}

type evidenceJSON struct {
	Alert   model.Alert   `json:"alert"`
	Events  []model.Alert `json:"events"`
	Replies []model.Reply `json:"replies"`
	Missing int           `json:"missing_replies"`
}

func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, ev evidence) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	out := evidenceJSON{Alert: ev.latest, Events: ev.events, Replies: ev.replies, Missing: ev.missing}
	if out.Replies == nil {
		out.Replies = []model.Reply{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		s.log.Warn("write evidence json", "alert_key", ev.latest.Key, "error", err)
	}
}
