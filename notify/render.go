package notify

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/mpwatch/mpwatch/model"
)

// Fact is one labelled value of an alert, unescaped; notifiers escape it.
type Fact struct{ Label, Value string }

// Headline is the one-line title: status, severity, rule and targets.
func Headline(a model.Alert) string {
	s := strings.ToUpper(string(a.Severity)) + " · " + a.Rule
	if len(a.Targets) > 0 {
		s += " · " + strings.Join(a.Targets, ", ")
	}
	switch a.Status {
	case model.StatusResolved:
		s = "RESOLVED: " + s
	case model.StatusUpdated:
		s = "UPDATED: " + s
	}
	return s
}

// Reason is the one sentence saying why the rule fired.
func Reason(a model.Alert) string {
	if a.Evidence.Reason != "" {
		return a.Evidence.Reason
	}
	return a.Summary
}

// Facts are the labelled numbers a reader acts on, in display order.
func Facts(a model.Alert) []Fact {
	var fs []Fact
	add := func(l, v string) {
		if v != "" {
			fs = append(fs, Fact{l, v})
		}
	}
	add("Target", strings.Join(a.Targets, ", "))
	ps := make([]string, len(a.Platforms))
	for i, p := range a.Platforms {
		ps[i] = string(p)
	}
	add("Platform", strings.Join(ps, ", "))
	add("Window", Window(a.WindowStart, a.WindowEnd))
	e := a.Evidence
	if e.Count != 0 || e.Baseline != 0 {
		v := num(e.Count) + " vs baseline " + num(e.Baseline)
		var extra []string
		if e.Ratio != 0 {
			extra = append(extra, "×"+num(e.Ratio))
		}
		if e.Z != 0 {
			extra = append(extra, "z "+num(e.Z))
		}
		if len(extra) > 0 {
			v += " (" + strings.Join(extra, ", ") + ")"
		}
		add("Count", v)
	}
	accounts := len(a.Accounts)
	if e.Signals != nil && e.Signals.Accounts > accounts {
		accounts = e.Signals.Accounts
	}
	if accounts > 0 {
		add("Accounts", strconv.Itoa(accounts))
	}
	if len(a.Targets) > 1 {
		add("Targets", strconv.Itoa(len(a.Targets)))
	}
	if s := e.Signals; s != nil {
		add("Account signals", fmt.Sprintf("new %s, digit handles %s, low followers %s, default avatar %s (score %s)",
			pct(s.NewAccountShare), pct(s.DigitHandleShare), pct(s.LowFollowerShare), pct(s.DefaultAvatarShare), num(s.Score)))
	}
	add("Representative text", e.Representative)
	add("Alert", a.EventID())
	return fs
}

// Window formats an alert window in UTC.
func Window(from, to time.Time) string {
	if from.IsZero() {
		return ""
	}
	f, t := from.UTC(), to.UTC()
	if f.Format("2006-01-02") == t.Format("2006-01-02") {
		return f.Format("2006-01-02 15:04") + "–" + t.Format("15:04") + " UTC"
	}
	return f.Format("2006-01-02 15:04") + " – " + t.Format("2006-01-02 15:04") + " UTC"
}

func num(f float64) string { return strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64) }

func pct(f float64) string { return strconv.Itoa(int(f*100+0.5)) + "%" }

// Samples returns up to n sample replies.
func Samples(a model.Alert, n int) []model.Sample {
	if len(a.Evidence.Samples) <= n {
		return a.Evidence.Samples
	}
	return a.Evidence.Samples[:n]
}

// Truncate cuts s to at most n runes, ending with "…".
func Truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n <= 1 {
		return "…"
	}
	return string(r[:n-1]) + "…"
}

// DigestCounts counts a digest's alerts by severity, most severe first,
// as "2 critical, 5 high".
func DigestCounts(as []model.Alert) string {
	c := map[model.Severity]int{}
	for _, a := range as {
		c[a.Severity]++
	}
	var parts []string
	sv := model.Severities()
	for i := len(sv) - 1; i >= 0; i-- {
		if c[sv[i]] > 0 {
			parts = append(parts, strconv.Itoa(c[sv[i]])+" "+string(sv[i]))
		}
	}
	return strings.Join(parts, ", ")
}

// Title is a one-line title for a whole message.
func Title(m Message) string {
	switch {
	case m.Kind == KindTest:
		return "[TEST] mpwatch notification test"
	case m.Kind == KindDigest:
		return fmt.Sprintf("mpwatch digest: %d alert(s) (%s)", len(m.Alerts), DigestCounts(m.Alerts))
	case len(m.Alerts) == 1:
		t := Headline(m.Alerts[0])
		if m.Kind == KindReminder {
			t = "STILL FIRING: " + t
		}
		return t
	case len(m.Alerts) == 0:
		return "mpwatch"
	}
	t := fmt.Sprintf("%d alerts (%s) · %s", len(m.Alerts), DigestCounts(m.Alerts), m.Alerts[0].Rule)
	if m.Kind == KindReminder {
		t = "STILL FIRING: " + t
	}
	return t
}
