package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mpwatch/mpwatch/model"
	"github.com/mpwatch/mpwatch/notify"
	"github.com/mpwatch/mpwatch/rules"
	"github.com/mpwatch/mpwatch/store"
)

// ReplayOptions are `monitor replay`'s flags.
type ReplayOptions struct {
	ConfigPath string
	Input      string   // file, or "-" for stdin
	RuleFiles  []string // overrides the config's rules
	Format     string   // text | json
	Step       time.Duration
}

// Replay is `monitor replay`: it feeds a replay file through the rules on a
// virtual clock and prints each alert event when it would have fired. No
// watchlist is needed and nothing is sent.
func Replay(ctx context.Context, o ReplayOptions, out IO) error {
	if o.Input == "" {
		return fmt.Errorf("--input is required (a replay file, JSON Lines, or - for stdin)")
	}
	if o.Format != "text" && o.Format != "json" {
		return fmt.Errorf("--format must be text or json, not %q", o.Format)
	}
	var rs []rules.Rule
	env := rules.Env{}
	if len(o.RuleFiles) > 0 {
		var err error
		if rs, err = rules.LoadFiles(o.RuleFiles); err != nil {
			return fmt.Errorf("load rules:\n%w", err)
		}
	} else {
		b, err := Load(o.ConfigPath)
		if err != nil {
			return fmt.Errorf("load %s (or name rule files with --rules):\n%w", o.ConfigPath, err)
		}
		rs = b.Rules
		env.Targets = map[string]model.Target{}
		for _, t := range b.Config.Targets {
			env.Targets[t.ID] = t
		}
	}
	var in io.Reader = os.Stdin
	if o.Input != "-" {
		f, err := os.Open(o.Input)
		if err != nil {
			return fmt.Errorf("open replay file: %w", err)
		}
		defer f.Close()
		in = f
	}
	events := 0
	stats, err := rules.Replay(ctx, rs, in, rules.ReplayOptions{Step: o.Step, Env: env}, func(a model.Alert) error {
		events++
		if o.Format == "json" {
			return rules.WriteJSON(out.Stdout, a)
		}
		_, err := fmt.Fprintln(out.Stdout, rules.FormatText(a))
		return err
	})
	if err != nil {
		return fmt.Errorf("replay %s: %w", o.Input, err)
	}
	fmt.Fprintf(out.Stderr, "replayed %d replies from %s to %s in %d steps of %s: %d alert event(s)\n",
		stats.Replies, stats.Start.Format(time.RFC3339), stats.End.Format(time.RFC3339), stats.Steps, o.Step, events)
	return nil
}

// NotifyTest is `monitor notify-test`: one clearly marked test message to
// one receiver, sent directly (not through the outbox).
func NotifyTest(ctx context.Context, path, receiver string, out IO) error {
	b, err := Load(path)
	if err != nil {
		return fmt.Errorf("load %s:\n%w", path, err)
	}
	if _, ok := b.Notify.Receiver(receiver); !ok {
		var names []string
		for _, r := range b.Notify.Receivers {
			names = append(names, r.Name)
		}
		return fmt.Errorf("no receiver named %q (configured: %s)", receiver, strings.Join(names, ", "))
	}
	a, err := New(ctx, b, Options{IO: out, NoHTTP: true})
	if err != nil {
		return err
	}
	defer a.Close()
	_, _, _, disp := a.current()
	if err := disp.SendTest(ctx, receiver); err != nil {
		return fmt.Errorf("send test message to %s: %w", receiver, err)
	}
	fmt.Fprintf(out.Stderr, "test message sent to %s\n", receiver)
	return nil
}

// WriteSchemas is `monitor schema`: JSON Schemas for editors.
func WriteSchemas(dir string, out IO) error {
	schemas, err := Schemas()
	if err != nil {
		return fmt.Errorf("build schemas: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	names := make([]string, 0, len(schemas))
	for n := range schemas {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, schemas[n], 0o644); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		fmt.Fprintln(out.Stdout, p)
	}
	return nil
}

// SilenceOptions are `monitor silence add`'s flags.
type SilenceOptions struct {
	Matchers []string
	For      time.Duration
	Reason   string
	Author   string
}

// openStore opens the configured database without building anything else
// (silences need only the store).
func openStore(ctx context.Context, path string) (*store.DB, error) {
	b, err := Load(path)
	if err != nil {
		return nil, fmt.Errorf("load %s:\n%w", path, err)
	}
	return store.Open(ctx, b.Config.Store.Path)
}

// SilenceAdd is `monitor silence add`.
func SilenceAdd(ctx context.Context, path string, o SilenceOptions, out IO) error {
	if len(o.Matchers) == 0 {
		return fmt.Errorf("at least one --match label=value is required (a silence of everything is refused)")
	}
	if strings.TrimSpace(o.Reason) == "" {
		return fmt.Errorf("--reason is required: say why, so the team knows later")
	}
	if o.For <= 0 {
		return fmt.Errorf("--for must be positive, got %s", o.For)
	}
	var ms []notify.Matcher
	for _, s := range o.Matchers {
		m, err := notify.ParseMatcher(s)
		if err != nil {
			return fmt.Errorf("--match %q: %w", s, err)
		}
		ms = append(ms, m)
	}
	db, err := openStore(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	now := time.Now()
	author := o.Author
	if author == "" {
		author = "unknown"
	}
	s, err := notify.AddSilence(ctx, db, now, notify.Silence{Matchers: ms, EndsAt: now.Add(o.For), Author: author, Reason: o.Reason})
	if err != nil {
		return err
	}
	fmt.Fprintln(out.Stdout, s.ID)
	fmt.Fprintf(out.Stderr, "silenced until %s: %s\n", s.EndsAt.Format(time.RFC3339), s.String())
	return nil
}

// SilenceList is `monitor silence list`.
func SilenceList(ctx context.Context, path string, all bool, out IO) error {
	db, err := openStore(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	ss, err := notify.ListSilences(ctx, db, time.Now(), all)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tMATCHERS\tENDS\tAUTHOR\tREASON")
	for _, s := range ss {
		var ms []string
		for _, m := range s.Matchers {
			ms = append(ms, m.String())
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.ID, strings.Join(ms, ","), s.EndsAt.Format(time.RFC3339),
			oneLine(s.Author), oneLine(s.Reason))
	}
	return tw.Flush()
}

// SilenceExpire is `monitor silence expire ID`.
func SilenceExpire(ctx context.Context, path, id string, out IO) error {
	db, err := openStore(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := notify.ExpireSilence(ctx, db, id, time.Now()); err != nil {
		return err
	}
	fmt.Fprintf(out.Stderr, "silence %s expired\n", id)
	return nil
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
