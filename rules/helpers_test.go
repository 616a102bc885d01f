package rules

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/internal/yamlx"
	"github.com/mpwatch/mpwatch/model"
)

// t0 is a Monday at midnight UTC.
var t0 = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)

func mustParse(t testing.TB, y string) []Rule {
	t.Helper()
	rs, err := Parse("test.yaml", []byte(y))
	if err != nil {
		t.Fatalf("parse rules: %v", err)
	}
	return rs
}

func mustEngine(t testing.TB, rs []Rule, opts EngineOptions) *Engine {
	t.Helper()
	e, err := NewEngine(rs, opts)
	if err != nil {
		t.Fatalf("new engine: %v", err)
	}
	return e
}

func eval(t testing.TB, e *Engine, now time.Time) []model.Alert {
	t.Helper()
	as, err := e.Evaluate(context.Background(), now)
	if err != nil {
		t.Fatalf("evaluate at %s: %v", now, err)
	}
	return as
}

var replySeq int

// reply makes a reply to target by author on post at time at.
func reply(target string, p model.Platform, author, post string, at time.Time) model.Reply {
	replySeq++
	return model.Reply{
		Platform: p, ID: fmt.Sprintf("r%d", replySeq), Target: target, PostID: post,
		URL:       fmt.Sprintf("https://example.social/@%s/%d", author, replySeq),
		CreatedAt: at, Text: fmt.Sprintf("reply %d from %s", replySeq, author),
		Author: model.Author{ID: author, Handle: author},
	}
}

// spread makes n replies to target evenly over [from, from+d), each by a
// different author on post.
func spread(target, post string, n int, from time.Time, d time.Duration, prefix string) []model.Reply {
	out := make([]model.Reply, n)
	for i := range out {
		at := from.Add(time.Duration(int64(d) * int64(i) / int64(max(n, 1))))
		out[i] = reply(target, model.Mastodon, fmt.Sprintf("%s%d", prefix, i), post, at)
	}
	return out
}

// scripted is a rule type whose findings the test sets directly, to test
// the lifecycle without any detector's arithmetic.
type scriptedSpec struct {
	Common
	findings *[]Finding
}

func (s *scriptedSpec) Base() *Common                         { return &s.Common }
func (s *scriptedSpec) SetDefaults()                          {}
func (s *scriptedSpec) Validate(func(string, string, ...any)) {}
func (s *scriptedSpec) Audience() model.Audience              { return model.AudienceComms }
func (s *scriptedSpec) NewDetector(Env) (Detector, error)     { return &scriptedDet{s.findings}, nil }

type scriptedDet struct{ findings *[]Finding }

func (d *scriptedDet) Observe(*Item)                 {}
func (d *scriptedDet) Evaluate(time.Time) []Finding  { return append([]Finding(nil), *d.findings...) }
func (d *scriptedDet) MarshalState() ([]byte, error) { return []byte("{}"), nil }
func (d *scriptedDet) UnmarshalState(b []byte) error { return nil }

func scriptedRule(name string, findings *[]Finding, resolveAfter time.Duration) Rule {
	return Rule{Spec: &scriptedSpec{Common: Common{Name: name, Type: "scripted", Severity: model.SeverityHigh,
		ResolveAfter: yamlx.Duration(resolveAfter), UpdateGrowth: 0.5}, findings: findings}, Hash: "h"}
}

func statuses(as []model.Alert) string {
	s := ""
	for _, a := range as {
		if s != "" {
			s += ","
		}
		s += fmt.Sprintf("%s#%d", a.Status, a.Seq)
	}
	return s
}
