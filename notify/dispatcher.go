package notify

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mpwatch/mpwatch/internal/yamlx"
	"github.com/mpwatch/mpwatch/model"
)

// Options are the Dispatcher's injected dependencies.
type Options struct {
	Now    func() time.Time
	Logger *slog.Logger
	// PublicURL is the web UI's base; when set, each alert's evidence link is
	// PublicURL + "/alerts/" + key.
	PublicURL string
}

// Dispatcher routes alert events, records them in the outbox and delivers them.
type Dispatcher struct {
	cfg       Config
	out       Outbox
	notifiers map[string]Notifier
	now       func() time.Time
	log       *slog.Logger
	publicURL string
	wake      chan struct{}
	flushMu   sync.Mutex // one flush pass at a time (Run and Flush may overlap)
}

// New checks cfg (it may be built in code, not only by ParseConfig) and that
// every receiver has a notifier.
func New(cfg Config, outbox Outbox, notifiers map[string]Notifier, opts Options) (*Dispatcher, error) {
	if errs := cfg.validate(yamlx.Section{Path: "notify"}); len(errs) > 0 {
		return nil, fmt.Errorf("notify: %w", errs)
	}
	cfg.fill()
	var missing []string
	for _, r := range cfg.Receivers {
		if notifiers[r.Name] == nil {
			missing = append(missing, r.Name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("notify: no notifier for receivers %s", strings.Join(missing, ", "))
	}
	d := &Dispatcher{cfg: cfg, out: outbox, notifiers: notifiers, now: opts.Now, log: opts.Logger,
		publicURL: strings.TrimRight(opts.PublicURL, "/"), wake: make(chan struct{}, 1)}
	if d.now == nil {
		d.now = time.Now
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	return d, nil
}

// Config returns the configuration in use, with defaults filled in.
func (d *Dispatcher) Config() Config { return d.cfg }

type routed struct {
	receiver string
	route    string // "default", "ops" or "routes[i]"
	timing   Timing
}

// Route returns the receivers an alert goes to, in order. Routes are tried
// in order; the first match wins unless it says continue. An operations
// alert only takes routes that name audience=ops, else the ops receiver, so it
// can never fall through to the comms channel.
func (d *Dispatcher) Route(a model.Alert) []string {
	var out []string
	for _, r := range d.route(a) {
		out = append(out, r.receiver)
	}
	return out
}

func (d *Dispatcher) route(a model.Alert) []routed {
	ops := a.Audience == model.AudienceOps
	var out []routed
	seen := map[string]bool{}
	for i, r := range d.cfg.Routes {
		if ops && !namesOps(r.Matchers) {
			continue
		}
		if !MatchAll(r.Matchers, a) {
			continue
		}
		if !seen[r.Receiver] {
			seen[r.Receiver] = true
			out = append(out, routed{r.Receiver, yamlx.Index("routes", i), r.Timing})
		}
		if !r.Continue {
			return out
		}
	}
	if len(out) > 0 {
		return out
	}
	if ops {
		return []routed{{d.cfg.OpsReceiver, "ops", d.cfg.Default.Timing}}
	}
	return []routed{{d.cfg.Default.Receiver, "default", d.cfg.Default.Timing}}
}

func namesOps(ms []Matcher) bool {
	for _, m := range ms {
		if m.Name == "audience" && !m.Negate && !m.IsRegex && m.Value == string(model.AudienceOps) {
			return true
		}
	}
	return false
}

func (d *Dispatcher) timing(route string) Timing {
	if i, ok := strings.CutPrefix(route, "routes["); ok {
		if n, err := strconv.Atoi(strings.TrimSuffix(i, "]")); err == nil && n < len(d.cfg.Routes) {
			return d.cfg.Routes[n].Timing
		}
	}
	return d.cfg.Default.Timing
}

func groupKey(receiver, route string, a model.Alert, by []string) (string, map[string]string) {
	labels := map[string]string{}
	var b strings.Builder
	b.WriteString(receiver + "|" + route)
	for _, n := range by {
		vs := slices.Clone(Labels(a, n))
		slices.Sort(vs)
		v := strings.Join(vs, ",")
		labels[n] = v
		b.WriteString("|" + n + "=" + v)
	}
	return b.String(), labels
}

const digestPrefix = "digest|"

// Submit routes alert events, applies silences, inhibition, send_resolved
// and realert, and writes every (event, receiver) decision to the outbox in
// one transaction before anything is sent. Events already recorded are
// ignored, so re-submitting after a restart sends nothing twice.
func (d *Dispatcher) Submit(ctx context.Context, alerts []model.Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	now := d.now()
	sil, err := ListSilences(ctx, d.out, now, false)
	if err != nil {
		return fmt.Errorf("notify: submit: %w", err)
	}
	batch := map[string]model.Alert{}
	for _, a := range alerts {
		if b, ok := batch[a.Key]; !ok || a.Seq >= b.Seq {
			batch[a.Key] = a
		}
	}
	active := map[string][]model.Alert{} // per target, loaded once per Submit
	events := make([]model.OutboxEvent, 0, len(alerts))
	for _, a := range alerts {
		if d.publicURL != "" && a.Evidence.Link == "" {
			a.Evidence.Link = d.publicURL + "/alerts/" + a.Key
		}
		inhibit, err := d.inhibited(ctx, a, batch, active)
		if err != nil {
			return fmt.Errorf("notify: submit: %w", err)
		}
		silence := ""
		for _, s := range sil {
			if s.Active(now) && s.Matches(a) {
				silence = "silence " + s.String()
				break
			}
		}
		ev := model.OutboxEvent{Alert: a}
		for _, r := range d.route(a) {
			rc, _ := d.cfg.Receiver(r.receiver)
			gk, labels := groupKey(r.receiver, r.route, a, r.timing.GroupBy)
			n := model.OutboxNote{Receiver: r.receiver, Route: r.route, GroupKey: gk, Labels: labels, State: StatePending,
				FirstFlush: now.Add(r.timing.GroupWait.D()), Interval: r.timing.GroupInterval.D()}
			switch {
			case silence != "":
				n.State, n.Reason = StateSilenced, silence
			case inhibit != "":
				n.State, n.Reason = StateInhibited, inhibit
			case a.Status == model.StatusResolved && !rc.SendsResolved():
				n.State, n.Reason = StateSkipped, "send_resolved is off"
			case a.Status == model.StatusUpdated && r.timing.Realert.D() > 0:
				th, err := d.out.Threads(ctx, r.receiver, []string{a.Key})
				if err != nil {
					return fmt.Errorf("notify: submit: %w", err)
				}
				if t, ok := th[a.Key]; ok && now.Sub(t.LastSentAt) < r.timing.Realert.D() {
					n.State, n.Reason = StateSuppressed, fmt.Sprintf("realert: last sent %s ago (realert %s)", now.Sub(t.LastSentAt).Round(time.Second), r.timing.Realert)
				}
			}
			if n.State == StatePending {
				switch {
				case rc.Digest != nil:
					n.GroupKey, n.Labels, n.FirstFlush, n.Interval = digestPrefix+r.receiver, nil, rc.Digest.Next(now), 0
				case rc.QuietHours != nil && rc.QuietHours.Mode == "digest" && rc.QuietHours.InQuiet(now):
					n.GroupKey, n.Labels, n.FirstFlush, n.Interval = digestPrefix+r.receiver, nil, rc.QuietHours.End(now), 0
				}
			} else {
				d.log.Info("alert not sent", "alert_key", a.Key, "rule", a.Rule, "receiver", r.receiver, "state", n.State, "reason", n.Reason)
			}
			ev.Notes = append(ev.Notes, n)
		}
		events = append(events, ev)
	}
	if _, err := d.out.Enqueue(ctx, now, events); err != nil {
		return fmt.Errorf("notify: submit: %w", err)
	}
	select {
	case d.wake <- struct{}{}:
	default:
	}
	return nil
}

// inhibited names the alert that inhibits a, or "".
func (d *Dispatcher) inhibited(ctx context.Context, a model.Alert, batch map[string]model.Alert, active map[string][]model.Alert) (string, error) {
	if a.Status == model.StatusResolved {
		return "", nil // a resolution is always news
	}
	for _, r := range *d.cfg.InhibitRules {
		if !MatchAll(r.Target, a) {
			continue
		}
		var cands []model.Alert
		for _, t := range a.Targets {
			if _, ok := active[t]; !ok {
				as, err := d.out.ActiveAlerts(ctx, t)
				if err != nil {
					return "", fmt.Errorf("inhibition of %s: %w", a.Key, err)
				}
				active[t] = as
			}
			cands = append(cands, active[t]...)
		}
		for _, b := range batch {
			cands = append(cands, b)
		}
		for _, s := range cands {
			if nb, ok := batch[s.Key]; ok {
				s = nb // this batch is newer than the store
			}
			if s.Key == a.Key || s.Status == model.StatusResolved || !MatchAll(r.Source, s) {
				continue
			}
			if !equalLabels(r.Equal, a, s) {
				continue
			}
			if r.SameWindow != nil && *r.SameWindow && !overlaps(a, s) {
				continue
			}
			return "inhibited by " + s.Key + " (" + s.Rule + ")", nil
		}
	}
	return "", nil
}

func equalLabels(names []string, a, b model.Alert) bool {
	for _, n := range names {
		av, bv := Labels(a, n), Labels(b, n)
		if !slices.ContainsFunc(av, func(v string) bool { return slices.Contains(bv, v) }) {
			return false
		}
	}
	return true
}

func overlaps(a, b model.Alert) bool {
	if a.WindowStart.IsZero() || b.WindowStart.IsZero() || a.WindowEnd.IsZero() || b.WindowEnd.IsZero() {
		return true
	}
	return a.WindowStart.Before(b.WindowEnd) && b.WindowStart.Before(a.WindowEnd)
}

// Run delivers until ctx is cancelled: each pass flushes due groups and sends
// due deliveries; it wakes on Submit and at least every delivery.poll.
func (d *Dispatcher) Run(ctx context.Context) error {
	t := time.NewTicker(d.cfg.Delivery.Poll.D())
	defer t.Stop()
	for {
		if err := d.Flush(ctx, d.now()); err != nil && ctx.Err() == nil {
			d.log.Error("notification pass failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-d.wake:
		}
	}
}

// Flush makes one synchronous pass at now: due groups become deliveries,
// and every due delivery is sent (retries are scheduled, not waited for).
func (d *Dispatcher) Flush(ctx context.Context, now time.Time) error {
	d.flushMu.Lock()
	defer d.flushMu.Unlock()
	var errs []error
	// groups are flushed a chunk at a time with sends in between, so a burst
	// of thousands of groups does not hold every message back until the last
	// group is built
	for ctx.Err() == nil {
		n, err := d.flushGroups(ctx, now)
		if err != nil {
			errs = append(errs, err)
		}
		if err := d.deliver(ctx, now); err != nil {
			errs = append(errs, err)
		}
		if n < flushChunk || len(errs) > 0 {
			break // a failing group must not spin the pass; Run retries it
		}
	}
	return errors.Join(errs...)
}

const flushChunk = 64

func (d *Dispatcher) flushGroups(ctx context.Context, now time.Time) (int, error) {
	groups, err := d.out.DueGroups(ctx, now, flushChunk)
	if err != nil {
		return 0, fmt.Errorf("notify: flush: %w", err)
	}
	var errs []error
	for _, g := range groups {
		if err := d.flushGroup(ctx, now, g); err != nil {
			errs = append(errs, fmt.Errorf("notify: flush group %s: %w", g.Key, err))
		}
	}
	return len(groups), errors.Join(errs...)
}

func (d *Dispatcher) flushGroup(ctx context.Context, now time.Time, g model.OutboxGroup) error {
	rc, ok := d.cfg.Receiver(g.Receiver)
	if !ok {
		// the receiver left the configuration; its queue stays for a later config
		d.log.Warn("group for unknown receiver", "receiver", g.Receiver, "group", g.Key)
		return d.out.RescheduleGroup(ctx, g.Key, time.Time{}, time.Time{})
	}
	tm := d.timing(g.Route)
	digest := strings.HasPrefix(g.Key, digestPrefix)
	if q := rc.QuietHours; q != nil && !digest && q.InQuiet(now) {
		// hold mode, or notes queued before quiet hours began: send when they end
		next, rep := time.Time{}, g.RepeatAt
		if !g.NextFlushAt.IsZero() {
			next = q.End(now)
		}
		if !rep.IsZero() {
			rep = q.End(now)
		}
		return d.out.RescheduleGroup(ctx, g.Key, next, rep)
	}
	repeatAt := time.Time{}
	if tm.RepeatInterval.D() > 0 && !digest {
		repeatAt = now.Add(tm.RepeatInterval.D())
	}
	if !g.NextFlushAt.IsZero() && !g.NextFlushAt.After(now) {
		pending, err := d.out.GroupPending(ctx, g.Key)
		if err != nil {
			return err
		}
		if len(pending) > 0 {
			m := Message{Kind: KindAlert, Receiver: g.Receiver, GroupKey: g.Key, GroupLabels: g.Labels, Alerts: latest(pending), CreatedAt: now}
			if digest {
				m.Kind, m.From, m.To = KindDigest, g.LastFlushAt, now
			}
			return d.add(ctx, now, m, pending, repeatAt)
		}
		if g.RepeatAt.IsZero() || g.RepeatAt.After(now) {
			return d.out.RescheduleGroup(ctx, g.Key, time.Time{}, g.RepeatAt)
		}
	}
	if g.RepeatAt.IsZero() || g.RepeatAt.After(now) {
		return nil
	}
	act, err := d.out.GroupActive(ctx, g.Key)
	if err != nil {
		return err
	}
	if len(act) == 0 || repeatAt.IsZero() {
		return d.out.RescheduleGroup(ctx, g.Key, time.Time{}, time.Time{})
	}
	m := Message{Kind: KindReminder, Receiver: g.Receiver, GroupKey: g.Key, GroupLabels: g.Labels, Alerts: latest(act), CreatedAt: now}
	return d.add(ctx, now, m, nil, repeatAt)
}

func (d *Dispatcher) add(ctx context.Context, now time.Time, m Message, carried []model.Alert, repeatAt time.Time) error {
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode message: %w", err)
	}
	ids := make([]string, len(carried))
	for i, a := range carried {
		ids[i] = a.EventID()
	}
	_, err = d.out.AddDelivery(ctx, now, model.OutboxDelivery{Receiver: m.Receiver, GroupKey: m.GroupKey, Kind: string(m.Kind), Message: body, EventIDs: ids}, repeatAt)
	return err
}

// latest keeps the newest event of each alert key, most severe first.
func latest(as []model.Alert) []model.Alert {
	by := map[string]model.Alert{}
	for _, a := range as {
		if b, ok := by[a.Key]; !ok || a.Seq >= b.Seq {
			by[a.Key] = a
		}
	}
	out := make([]model.Alert, 0, len(by))
	for _, a := range by {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b model.Alert) int {
		if c := cmp.Compare(b.Severity.Rank(), a.Severity.Rank()); c != 0 {
			return c
		}
		return cmp.Compare(a.Key, b.Key)
	})
	return out
}

func (d *Dispatcher) deliver(ctx context.Context, now time.Time) error {
	workers := d.cfg.Delivery.Workers
	var errs []error
	for ctx.Err() == nil {
		batch, err := d.out.ClaimDeliveries(ctx, now, d.cfg.Delivery.Lease.D(), workers*8)
		if err != nil {
			return errors.Join(append(errs, fmt.Errorf("notify: deliver: %w", err))...)
		}
		if len(batch) == 0 {
			break
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		next := make(chan model.OutboxDelivery)
		for range min(workers, len(batch)) {
			wg.Go(func() {
				for od := range next {
					if err := d.send(ctx, od); err != nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
					}
				}
			})
		}
		for _, od := range batch {
			next <- od
		}
		close(next)
		wg.Wait()
	}
	return errors.Join(errs...)
}

// send makes one attempt at a claimed delivery and records the outcome at
// once, so a crash after a successful send cannot make it go out again
// (except inside the instant between the remote answer and this commit).
func (d *Dispatcher) send(ctx context.Context, od model.OutboxDelivery) error {
	var m Message
	if err := json.Unmarshal(od.Message, &m); err != nil {
		return d.fail(ctx, od, Message{}, fmt.Errorf("decode message: %w", err))
	}
	m.ID = strconv.FormatInt(od.ID, 10)
	keys := make([]string, 0, len(m.Alerts))
	for _, a := range m.Alerts {
		keys = append(keys, a.Key)
	}
	th, err := d.out.Threads(ctx, m.Receiver, keys)
	if err != nil {
		return fmt.Errorf("notify: deliver %d: %w", od.ID, err)
	}
	for _, k := range keys {
		if t := th[k]; t.Ref != "" {
			m.Thread = t.Ref
			break
		}
	}
	n := d.notifiers[m.Receiver]
	if n == nil {
		return d.fail(ctx, od, m, fmt.Errorf("receiver %q is not configured", m.Receiver))
	}
	sctx, cancel := context.WithTimeout(ctx, d.cfg.Delivery.Timeout.D())
	rec, err := n.Notify(sctx, m)
	cancel()
	// record the outcome even when shutting down: it is what makes
	// "sent once" true across restarts
	wctx := context.WithoutCancel(ctx)
	now := d.now()
	if err == nil {
		if err := d.out.MarkSent(wctx, od.ID, now, m.Receiver, rec.Thread, keys); err != nil {
			return fmt.Errorf("notify: deliver %d: %w", od.ID, err)
		}
		d.log.Debug("notification sent", "receiver", m.Receiver, "delivery", od.ID, "kind", m.Kind, "alerts", len(m.Alerts))
		return nil
	}
	if IsPermanent(err) || now.Sub(od.CreatedAt) >= d.cfg.Delivery.GiveUpAfter.D() {
		return d.fail(ctx, od, m, err)
	}
	wait := d.backoff(od.Attempts)
	if ra := retryAfter(err); ra > 0 {
		wait = ra
	}
	if ctx.Err() != nil {
		wait = 0 // interrupted by shutdown: due again at once on restart
	}
	d.log.Warn("notification failed, will retry", "receiver", m.Receiver, "delivery", od.ID, "attempt", od.Attempts, "retry_in", wait, "error", err)
	if err := d.out.MarkRetry(wctx, od.ID, now.Add(wait), err.Error()); err != nil {
		return fmt.Errorf("notify: deliver %d: %w", od.ID, err)
	}
	return nil
}

func (d *Dispatcher) backoff(attempts int) time.Duration {
	w := d.cfg.Delivery.MinBackoff.D()
	for i := 1; i < attempts && w < d.cfg.Delivery.MaxBackoff.D(); i++ {
		w *= 2
	}
	return min(w, d.cfg.Delivery.MaxBackoff.D())
}

// RuleDeliveryFailure is the rule name of the operations alert raised when a
// receiver fails permanently.
const RuleDeliveryFailure = "notify.delivery_failure"

// fail marks a delivery failed for good and tells the administrators, unless
// the failing message was itself such a report (no loops).
func (d *Dispatcher) fail(ctx context.Context, od model.OutboxDelivery, m Message, cause error) error {
	wctx := context.WithoutCancel(ctx)
	now := d.now()
	d.log.Error("notification failed permanently", "receiver", od.Receiver, "delivery", od.ID, "attempt", od.Attempts, "error", cause)
	if err := d.out.MarkFailed(wctx, od.ID, now, cause.Error()); err != nil {
		return fmt.Errorf("notify: deliver %d: %w", od.ID, err)
	}
	for _, a := range m.Alerts {
		if a.Rule == RuleDeliveryFailure {
			return nil
		}
	}
	reason := fmt.Sprintf("Notifications to receiver %q failed and will not be retried: %v. Check its configuration (token, channel, address); %d alert(s) in this message were not delivered.",
		od.Receiver, cause, len(m.Alerts))
	report := model.Alert{
		Key: RuleDeliveryFailure + ":" + od.Receiver + ":" + now.UTC().Format("2006-01-02"), Seq: int(od.ID),
		Rule: RuleDeliveryFailure, Type: "delivery_failure", Severity: model.SeverityHigh, Status: model.StatusFiring,
		Audience: model.AudienceOps, Targets: []string{od.Receiver}, FiredAt: now,
		Summary: reason, Evidence: model.Evidence{Reason: reason},
	}
	if err := d.Submit(wctx, []model.Alert{report}); err != nil {
		return fmt.Errorf("notify: report failure of delivery %d: %w", od.ID, err)
	}
	return nil
}

// SendTest sends a clearly marked test message straight to one receiver,
// bypassing routing and the outbox (monitor notify-test).
func (d *Dispatcher) SendTest(ctx context.Context, receiver string) error {
	n := d.notifiers[receiver]
	if n == nil {
		names := make([]string, 0, len(d.notifiers))
		for k := range d.notifiers {
			names = append(names, k)
		}
		slices.Sort(names)
		return fmt.Errorf("notify: test %s: unknown receiver (known: %s)", receiver, strings.Join(names, ", "))
	}
	m := TestMessage(receiver, d.now())
	if d.publicURL != "" {
		m.Alerts[0].Evidence.Link = d.publicURL + "/alerts/" + m.Alerts[0].Key
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Delivery.Timeout.D())
	defer cancel()
	if _, err := n.Notify(ctx, m); err != nil {
		return fmt.Errorf("notify: test %s: %w", receiver, err)
	}
	return nil
}

// TestMessage is the message notify-test sends.
func TestMessage(receiver string, now time.Time) Message {
	reason := "TEST MESSAGE from mpwatch notify-test: if you can read this, receiver " + strconv.Quote(receiver) + " works. No action is needed."
	a := model.Alert{Key: "notify-test", Seq: 1, Rule: "notify-test", Type: "test", Severity: model.SeverityInfo, Status: model.StatusFiring,
		Audience: model.AudienceOps, Targets: []string{"test"}, FiredAt: now, Summary: reason, Evidence: model.Evidence{Reason: reason}}
	return Message{ID: "test", Kind: KindTest, Receiver: receiver, GroupKey: "test", Alerts: []model.Alert{a}, CreatedAt: now}
}
