package rules

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/mpwatch/mpwatch/model"
	"github.com/mpwatch/mpwatch/rules/text"
)

// ReplayOptions configure Replay.
type ReplayOptions struct {
	// Step is how often the virtual clock evaluates, as the daemon would
	// after each crawl cycle (default 5m).
	Step time.Duration
	// Start and End bound the virtual clock; zero means from the first reply
	// to the last one.
	Start, End time.Time
	// Env carries watchlist targets when there is one (tags and teams in
	// rule scopes need it); replay works without.
	Env       Env
	Logger    *slog.Logger
	Normalize func(string) text.Normalized
}

// ReplayStats say what a replay did.
type ReplayStats struct {
	Replies    int
	Steps      int
	Events     int
	Start, End time.Time
}

// LineError is a problem on one line of a replay file.
type LineError struct {
	File string
	Line int
	Msg  string
}

func (e LineError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// maxLineErrors stops a hopeless file from printing a million errors.
const maxLineErrors = 50

// ReadReplay reads the replay format: JSON Lines, one model.Reply per line.
// Unknown fields are errors; platform, id, target, created_at and text are
// required; other fields may be left out. Every bad line is reported (up to
// 50), each as "name:line: message", joined with errors.Join.
func ReadReplay(r io.Reader, name string) ([]model.Reply, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	var out []model.Reply
	var errs []error
	more := 0
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(b)) > 0 {
			rep, msg := parseReplayLine(b)
			switch {
			case msg == "":
				out = append(out, rep)
			case len(errs) < maxLineErrors:
				errs = append(errs, LineError{name, line, msg})
			default:
				more++
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
	}
	if more > 0 {
		errs = append(errs, fmt.Errorf("%s: and %d more bad lines", name, more))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func parseReplayLine(b []byte) (model.Reply, string) {
	var r model.Reply
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		msg := strings.TrimPrefix(err.Error(), "json: ")
		var se *json.SyntaxError
		if errors.Is(err, io.ErrUnexpectedEOF) {
			msg = "invalid JSON: the line ends inside a value"
		} else if errors.As(err, &se) {
			msg = fmt.Sprintf("invalid JSON at byte %d: %s", se.Offset, msg)
		}
		return r, msg
	}
	if dec.More() {
		return r, "more than one JSON value on the line"
	}
	var missing []string
	if r.Platform == "" {
		missing = append(missing, "platform")
	}
	if r.ID == "" {
		missing = append(missing, "id")
	}
	if r.Target == "" {
		missing = append(missing, "target")
	}
	if r.CreatedAt.IsZero() {
		missing = append(missing, "created_at")
	}
	if r.Text == "" {
		// an empty text is fine (an image reply); an absent one is not
		var m map[string]json.RawMessage
		if json.Unmarshal(b, &m) == nil {
			if _, ok := m["text"]; !ok {
				missing = append(missing, "text")
			}
		}
	}
	if len(missing) > 0 {
		return r, "missing required field(s): " + strings.Join(missing, ", ")
	}
	if !r.Platform.Valid() {
		var ps []string
		for _, p := range model.Platforms() {
			ps = append(ps, string(p))
		}
		return r, fmt.Sprintf("unknown platform %q (known: %s)", r.Platform, strings.Join(ps, ", "))
	}
	if r.Kind != "" && !r.Kind.Valid() {
		return r, fmt.Sprintf("unknown kind %q (known: reply, mention, quote)", r.Kind)
	}
	return r, ""
}

// Replay reads a replay file and runs it through the rules on a virtual
// clock: every Step it ingests the replies created up to the clock and
// evaluates, and emit receives each alert event with FiredAt the virtual
// time it would have fired. No notification is sent and no state is kept.
func Replay(ctx context.Context, rules []Rule, r io.Reader, opts ReplayOptions, emit func(model.Alert) error) (ReplayStats, error) {
	name := "replay"
	if f, ok := r.(interface{ Name() string }); ok {
		name = f.Name()
	}
	replies, err := ReadReplay(r, name)
	if err != nil {
		return ReplayStats{}, err
	}
	return ReplayReplies(ctx, rules, replies, opts, emit)
}

// MaxEvaluationGap is the longest time between two evaluations that every
// enabled rule of rs tolerates, and the rule that sets it (0 and "" when
// none has a limit): an evaluation tests the current spike bucket and the
// one that has just ended, so with evaluations further apart than a spike
// rule's timeframe the buckets in between are never tested.
func MaxEvaluationGap(rs []Rule) (time.Duration, string) {
	var gap time.Duration
	var name string
	for _, r := range rs {
		if s, ok := r.Spec.(*SpikeSpec); ok && r.Enabled() && (gap == 0 || s.Timeframe.D() < gap) {
			gap, name = s.Timeframe.D(), r.Name()
		}
	}
	return gap, name
}

// checkStep refuses an evaluation step longer than MaxEvaluationGap.
func checkStep(rules []Rule, step time.Duration) error {
	if gap, name := MaxEvaluationGap(rules); gap > 0 && step > gap {
		return fmt.Errorf("step %s is longer than the timeframe of spike rule %q (%s): the buckets between two evaluations would never be tested; use a step of at most %s",
			step, name, gap, gap)
	}
	return nil
}

// ReplayReplies is Replay over replies already in memory (demo, tests,
// benchmarks). The slice is sorted by created_at in place.
func ReplayReplies(ctx context.Context, rules []Rule, replies []model.Reply, opts ReplayOptions, emit func(model.Alert) error) (ReplayStats, error) {
	step := opts.Step
	if step <= 0 {
		step = 5 * time.Minute
	}
	if err := checkStep(rules, step); err != nil {
		return ReplayStats{}, err
	}
	var st ReplayStats
	eng, err := NewEngine(rules, EngineOptions{Env: opts.Env, Logger: opts.Logger, Normalize: opts.Normalize})
	if err != nil {
		return st, err
	}
	sort.SliceStable(replies, func(i, j int) bool { return replies[i].CreatedAt.Before(replies[j].CreatedAt) })
	if len(replies) == 0 && (opts.Start.IsZero() || opts.End.IsZero()) {
		return st, nil
	}
	start, end := opts.Start, opts.End
	if start.IsZero() {
		start = replies[0].CreatedAt.Truncate(step)
	}
	if end.IsZero() {
		end = replies[len(replies)-1].CreatedAt.Truncate(step).Add(step)
	}
	st.Start, st.End = start.UTC(), end.UTC()
	i := 0
	for i < len(replies) && replies[i].CreatedAt.Before(start) {
		i++ // before the window: not part of this replay
	}
	clock := start
	next := func() ([]model.Reply, time.Time, bool) {
		clock = clock.Add(step)
		if clock.After(end) {
			return nil, clock, false
		}
		j := i
		for j < len(replies) && !replies[j].CreatedAt.After(clock) {
			j++
		}
		batch := replies[i:j]
		i = j
		return batch, clock, true
	}
	err = RunPipeline(ctx, eng, next, func(at time.Time, n int, events []model.Alert) error {
		st.Steps++
		st.Replies += n
		for _, a := range events {
			st.Events++
			if err := emit(a); err != nil {
				return err
			}
		}
		return nil
	})
	return st, err
}

// AlertLine is the JSON form of an alert event in `monitor replay --format
// json`: exactly these keys, reply ids as platform:id.
type AlertLine struct {
	Key         string             `json:"key"`
	Rule        string             `json:"rule"`
	Type        string             `json:"type"`
	Severity    model.Severity     `json:"severity"`
	Status      model.AlertStatus  `json:"status"`
	Targets     []string           `json:"targets"`
	Platforms   []model.Platform   `json:"platforms"`
	WindowStart time.Time          `json:"window_start"`
	WindowEnd   time.Time          `json:"window_end"`
	FiredAt     time.Time          `json:"fired_at"`
	Summary     string             `json:"summary"`
	Metrics     map[string]float64 `json:"metrics"`
	Accounts    []string           `json:"accounts"`
	ReplyIDs    []string           `json:"reply_ids"`
}

// ToLine converts an alert event to its JSON line form.
func ToLine(a model.Alert) AlertLine {
	nz := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	l := AlertLine{
		Key: a.Key, Rule: a.Rule, Type: a.Type, Severity: a.Severity, Status: a.Status,
		Targets: nz(a.Targets), Platforms: a.Platforms, WindowStart: a.WindowStart, WindowEnd: a.WindowEnd,
		FiredAt: a.FiredAt, Summary: a.Summary, Metrics: a.Metrics, Accounts: nz(a.Accounts), ReplyIDs: nz(a.ReplyIDs),
	}
	if l.Platforms == nil {
		l.Platforms = []model.Platform{}
	}
	if l.Metrics == nil {
		l.Metrics = map[string]float64{}
	}
	return l
}

// WriteJSON writes one alert event as one JSON line.
func WriteJSON(w io.Writer, a model.Alert) error {
	b, err := json.Marshal(ToLine(a))
	if err != nil {
		return fmt.Errorf("encode alert %s: %w", a.EventID(), err)
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

// FormatText renders an alert event for a terminal: a header line and the
// summary. Text that came from the internet (targets, summaries) has its
// control and bidirectional-override characters escaped, so a reply cannot
// rewrite the operator's terminal.
func FormatText(a model.Alert) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %-8s %-8s %s #%d  %s  key=%s\n",
		a.FiredAt.UTC().Format(time.RFC3339), strings.ToUpper(string(a.Status)), a.Severity, a.Rule, a.Seq, a.Type, a.Key)
	var ps []string
	for _, p := range a.Platforms {
		ps = append(ps, string(p))
	}
	fmt.Fprintf(&b, "  targets: %s  platforms: %s  window: %s .. %s\n",
		SafeText(strings.Join(a.Targets, ", ")), strings.Join(ps, ", "),
		a.WindowStart.UTC().Format(time.RFC3339), a.WindowEnd.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "  %s\n", SafeText(a.Summary))
	if len(a.Accounts) > 0 || len(a.ReplyIDs) > 0 {
		fmt.Fprintf(&b, "  %d accounts, %d replies\n", len(a.Accounts), len(a.ReplyIDs))
	}
	return b.String()
}

// SafeText escapes control, format and bidi characters for a terminal or log.
func SafeText(s string) string {
	clean := true
	for _, r := range s {
		if unsafeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unsafeRune(r) {
			fmt.Fprintf(&b, "\\u%04x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
}
