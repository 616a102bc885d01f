package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mpwatch/mpwatch/model"
)

// Silence mutes every alert that all its matchers match, from StartsAt until
// EndsAt. Silenced alerts are recorded in the outbox, not sent.
type Silence struct {
	ID        string
	Matchers  []Matcher
	StartsAt  time.Time
	EndsAt    time.Time
	Author    string
	Reason    string
	CreatedAt time.Time
}

// Active reports whether the silence applies at t.
func (s Silence) Active(t time.Time) bool { return !t.Before(s.StartsAt) && t.Before(s.EndsAt) }

// Matches reports whether the silence covers the alert (at any time).
func (s Silence) Matches(a model.Alert) bool { return len(s.Matchers) > 0 && MatchAll(s.Matchers, a) }

// String is the one-line form used in listings and outbox reasons.
func (s Silence) String() string {
	ms := make([]string, len(s.Matchers))
	for i, m := range s.Matchers {
		ms[i] = m.String()
	}
	return fmt.Sprintf("%s {%s} until %s by %s: %s", s.ID, strings.Join(ms, ", "), s.EndsAt.UTC().Format(time.RFC3339), s.Author, s.Reason)
}

func silenceToModel(s Silence) model.Silence {
	out := model.Silence{ID: s.ID, StartsAt: s.StartsAt, EndsAt: s.EndsAt, Author: s.Author, Reason: s.Reason, CreatedAt: s.CreatedAt}
	for _, m := range s.Matchers {
		out.Matchers = append(out.Matchers, model.SilenceMatcher{Name: m.Name, Value: m.Value, IsRegex: m.IsRegex, Negate: m.Negate})
	}
	return out
}

func silenceFromModel(s model.Silence) Silence {
	out := Silence{ID: s.ID, StartsAt: s.StartsAt, EndsAt: s.EndsAt, Author: s.Author, Reason: s.Reason, CreatedAt: s.CreatedAt}
	for _, m := range s.Matchers {
		mm := Matcher{Name: m.Name, Value: m.Value, IsRegex: m.IsRegex, Negate: m.Negate}
		_ = mm.compile() // checked when the silence was added
		out.Matchers = append(out.Matchers, mm)
	}
	return out
}

// AddSilence validates and stores a silence. StartsAt defaults to now; the ID
// is generated. Matchers are required (a silence of everything is refused).
func AddSilence(ctx context.Context, st SilenceStore, now time.Time, s Silence) (Silence, error) {
	var errs []error
	if len(s.Matchers) == 0 {
		errs = append(errs, errors.New("at least one --match is required"))
	}
	for i := range s.Matchers {
		if !knownLabel(s.Matchers[i].Name) {
			errs = append(errs, fmt.Errorf("matcher %s: unknown label %q", s.Matchers[i], s.Matchers[i].Name))
		} else if err := s.Matchers[i].compile(); err != nil {
			errs = append(errs, fmt.Errorf("matcher %s: %w", s.Matchers[i], err))
		}
	}
	if s.StartsAt.IsZero() {
		s.StartsAt = now
	}
	if !s.EndsAt.After(s.StartsAt) {
		errs = append(errs, errors.New("the silence must end after it starts (use --for 4h)"))
	}
	if strings.TrimSpace(s.Author) == "" {
		errs = append(errs, errors.New("an author is required"))
	}
	if strings.TrimSpace(s.Reason) == "" {
		errs = append(errs, errors.New("a reason is required"))
	}
	if len(errs) > 0 {
		return Silence{}, fmt.Errorf("add silence: %w", errors.Join(errs...))
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	s.ID = hex.EncodeToString(b[:])
	s.CreatedAt = now
	if err := st.AddSilence(ctx, silenceToModel(s)); err != nil {
		return Silence{}, fmt.Errorf("add silence: %w", err)
	}
	return s, nil
}

// ListSilences returns the silences active at now, or all with expired.
func ListSilences(ctx context.Context, st SilenceStore, now time.Time, expired bool) ([]Silence, error) {
	ms, err := st.Silences(ctx)
	if err != nil {
		return nil, fmt.Errorf("list silences: %w", err)
	}
	var out []Silence
	for _, m := range ms {
		s := silenceFromModel(m)
		if expired || s.EndsAt.After(now) {
			out = append(out, s)
		}
	}
	return out, nil
}

// ExpireSilence ends a silence now.
func ExpireSilence(ctx context.Context, st SilenceStore, id string, now time.Time) error {
	ok, err := st.ExpireSilence(ctx, id, now)
	if err != nil {
		return fmt.Errorf("expire silence %s: %w", id, err)
	}
	if !ok {
		return fmt.Errorf("expire silence %s: no active silence has this id", id)
	}
	return nil
}
