package app

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mpwatch/mpwatch/config"
	"github.com/mpwatch/mpwatch/internal/yamlx"
	"github.com/mpwatch/mpwatch/notify"
	"github.com/mpwatch/mpwatch/rules"
)

// Bundle is one complete configuration: config.yaml with its watchlists, the
// rules it names and its notify section, all validated together. The daemon
// only ever runs a whole Bundle, so a typo in one file never half-applies.
type Bundle struct {
	Config *config.Config
	Rules  []rules.Rule
	Notify notify.Config
	// DefaultRules is set when no rule file matched and the embedded default
	// rule set is in use.
	DefaultRules bool
}

// Load reads and validates everything config.yaml names. The error, when not
// nil, lists every problem in every file (yamlx.Errors, file:line:col).
func Load(path string) (*Bundle, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	var errs yamlx.Errors
	b := &Bundle{Config: cfg}
	if len(cfg.RuleFiles) == 0 {
		b.Rules, err = rules.LoadDefault()
		b.DefaultRules = true
	} else {
		b.Rules, err = rules.LoadFiles(cfg.RuleFiles)
	}
	if err != nil {
		// rule files are named relative to config.yaml, as the user wrote them
		for _, e := range yamlx.AsErrors(err) {
			if rel, rerr := filepath.Rel(cfg.Dir, e.File); rerr == nil && !strings.HasPrefix(rel, "..") {
				e.File = rel
			}
			errs = append(errs, e)
		}
	}
	b.Notify, err = notify.ParseConfig(cfg.Notify)
	if err != nil {
		errs = append(errs, yamlx.AsErrors(err)...)
	}
	if len(errs) > 0 {
		return nil, errs.Sorted()
	}
	return b, nil
}

// Files are every file the bundle was read from, for the reload watcher.
func (b *Bundle) Files() []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range append(append([]string{}, b.Config.Files...), b.Config.RuleFiles...) {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out
}

// Validate checks a configuration and prints every error, or a summary.
func Validate(path string, out IO) error {
	b, err := Load(path)
	if err != nil {
		es := yamlx.AsErrors(err)
		for _, e := range es.Sorted() {
			fmt.Fprintln(out.Stderr, e.Error())
		}
		fmt.Fprintf(out.Stderr, "%d problem%s found; nothing was changed\n", len(es), plural(len(es)))
		return ExitError{Code: 1, Quiet: true, Err: err}
	}
	accounts := 0
	platforms := map[string]int{}
	for _, t := range b.Config.Targets {
		accounts += len(t.Accounts)
		for _, a := range t.Accounts {
			platforms[string(a.Platform)]++
		}
	}
	enabled := 0
	for _, r := range b.Rules {
		if r.Enabled() {
			enabled++
		}
	}
	var ps []string
	for p, n := range platforms {
		ps = append(ps, fmt.Sprintf("%s %d", p, n))
	}
	sort.Strings(ps)
	rulesFrom := fmt.Sprintf("%d rule file%s", len(b.Config.RuleFiles), plural(len(b.Config.RuleFiles)))
	if b.DefaultRules {
		rulesFrom = "the built-in default rules"
	}
	fmt.Fprintf(out.Stdout, "%s: ok\n", path)
	fmt.Fprintf(out.Stdout, "  %d target%s, %d account%s (%s)\n", len(b.Config.Targets), plural(len(b.Config.Targets)),
		accounts, plural(accounts), strings.Join(ps, ", "))
	fmt.Fprintf(out.Stdout, "  %d rule%s (%d enabled) from %s\n", len(b.Rules), plural(len(b.Rules)), enabled, rulesFrom)
	fmt.Fprintf(out.Stdout, "  %d receiver%s, %d route%s\n", len(b.Notify.Receivers), plural(len(b.Notify.Receivers)),
		len(b.Notify.Routes), plural(len(b.Notify.Routes)))
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// newLogger builds the process logger from the config's log section.
func newLogger(w io.Writer, level slog.Level, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

var errNoTargets = errors.New("the watchlist has no targets")
