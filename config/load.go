package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/mpwatch/mpwatch/internal/yamlx"
	"github.com/mpwatch/mpwatch/model"
)

// FS is how Parse reads the files a config names. Names are the config's
// directory joined with what the config wrote (or what it wrote, when that is
// absolute), in the operating system's form.
type FS struct {
	ReadFile func(name string) ([]byte, error)
	// Glob has filepath.Glob's semantics: no error for no match, and a
	// pattern without wildcards matches itself only if it exists.
	Glob func(pattern string) ([]string, error)
}

// OSFS reads the real file system.
func OSFS() FS { return FS{ReadFile: os.ReadFile, Glob: filepath.Glob} }

// Load reads the config file at path and every watchlist it names, applies
// defaults and validates all of it. On failure the error is a yamlx.Errors
// listing every problem in every file, each as "file:line:col: key.path:
// message" with file names relative to the config's directory.
func Load(path string) (*Config, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, yamlx.Errors{{File: path, Msg: fmt.Sprintf("resolve path: %v", err)}}
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		return nil, yamlx.Errors{{File: filepath.Base(abs), Msg: describeFileError(err)}}
	}
	return Parse(abs, data, OSFS())
}

// Parse is Load on a config file already read: path locates it (its
// directory anchors relative names; errors show only its base name) and data
// is its content. Watchlists are read through fsys.
func Parse(path string, data []byte, fsys FS) (*Config, error) {
	p := &parser{dir: filepath.Dir(path), file: path, fsys: fsys, ids: map[string]string{}, accounts: map[string]string{}}
	cfg, errs := p.parse(path, data)
	if len(errs) > 0 {
		return nil, errs.Sorted()
	}
	return cfg, nil
}

// parser carries what spans files: the errors so far and the target ids and
// account keys already seen, with where they were defined.
type parser struct {
	dir      string
	file     string // the config file, which a broad glob must not pick up
	fsys     FS
	errs     yamlx.Errors
	ids      map[string]string // target id -> "file:line:col"
	accounts map[string]string // Account.Key() -> "file:line:col"
}

func (p *parser) add(es ...yamlx.Error) { p.errs = append(p.errs, es...) }

// hasErr reports whether a problem was already reported at path or below it
// in file, so that a value that failed to decode does not also get reported
// as missing.
func (p *parser) hasErr(file, path string) bool {
	for _, e := range p.errs {
		if e.File == file && (e.Path == path || strings.HasPrefix(e.Path, path+".") || strings.HasPrefix(e.Path, path+"[")) {
			return true
		}
	}
	return false
}

func (p *parser) parse(path string, data []byte) (*Config, yamlx.Errors) {
	display := filepath.Base(path)
	doc, err := yamlx.Parse(display, data)
	if err != nil {
		return nil, yamlx.AsErrors(err)
	}
	spec := defaults()
	p.add(doc.Decode(&spec)...)

	cfg := &Config{Dir: p.dir, File: path, Files: []string{path}}
	p.settings(doc, &spec, cfg)

	src := &sources{file: spec}
	for i, t := range spec.Targets {
		if rt, ok := p.target(doc, yamlx.Index("targets", i), t, DefaultsSpec{}, cfg); ok {
			cfg.Targets = append(cfg.Targets, rt.model)
			src.targets = append(src.targets, rt.spec)
		}
	}

	watchDirs := map[string]bool{p.dir: true}
	for _, f := range p.glob(doc, "watchlists", spec.Watchlists, watchDirs) {
		cfg.Files = append(cfg.Files, f.path)
		p.watchlist(f, cfg, src)
	}
	for _, f := range p.glob(doc, "rule_files", spec.RuleFiles, watchDirs) {
		cfg.RuleFiles = append(cfg.RuleFiles, f.path)
	}
	for d := range watchDirs {
		cfg.WatchDirs = append(cfg.WatchDirs, d)
	}
	sort.Strings(cfg.WatchDirs)

	notify := yamlx.Get(doc.Root, "notify")
	if notify != nil && notify.Kind == yaml.ScalarNode && notify.Tag == "!!null" {
		notify = nil // "notify:" with nothing under it is the same as no section
	}
	cfg.Notify = yamlx.Section{Doc: doc, Node: notify, Path: "notify"}
	src.notify = notify
	cfg.src = src
	return cfg, p.errs
}

// watchlist reads one watchlist file and adds its targets.
func (p *parser) watchlist(f match, cfg *Config, src *sources) {
	data, err := p.fsys.ReadFile(f.path)
	if err != nil {
		p.add(yamlx.Error{File: f.display, Msg: describeFileError(err)})
		return
	}
	doc, err := yamlx.Parse(f.display, data)
	if err != nil {
		p.add(yamlx.AsErrors(err)...)
		return
	}
	var wl WatchlistFile
	p.add(doc.Decode(&wl)...)
	p.defaults(doc, &wl.Defaults)
	for i, t := range wl.Targets {
		if rt, ok := p.target(doc, yamlx.Index("targets", i), t, wl.Defaults, cfg); ok {
			cfg.Targets = append(cfg.Targets, rt.model)
			src.targets = append(src.targets, rt.spec)
		}
	}
}

// match is one file a glob matched: its path for reading and its name as
// the user would write it, for messages.
type match struct{ path, display string }

// glob resolves the patterns at key (a list in the config file) into files,
// sorted by path and without duplicates, and records the directories to
// watch for new matches.
func (p *parser) glob(doc *yamlx.Doc, key string, patterns []string, watchDirs map[string]bool) []match {
	seen := map[string]bool{}
	var out []match
	for i, pat := range patterns {
		path := yamlx.Index(key, i)
		if strings.TrimSpace(pat) == "" {
			p.add(doc.Errorf(path, "empty file pattern"))
			continue
		}
		full := pat
		if !filepath.IsAbs(pat) {
			full = filepath.Join(p.dir, pat)
		}
		watchDirs[staticDir(full)] = true
		ms, err := p.fsys.Glob(full)
		if err != nil {
			p.add(doc.Errorf(path, "bad file pattern %q: %v", pat, err))
			continue
		}
		if len(ms) == 0 && !hasMeta(pat) {
			p.add(doc.Errorf(path, "file %q does not exist", pat))
			continue
		}
		for _, m := range ms {
			if seen[m] || m == p.file {
				continue
			}
			seen[m] = true
			d := m
			if !filepath.IsAbs(pat) {
				if rel, err := filepath.Rel(p.dir, m); err == nil {
					d = rel
				}
			}
			out = append(out, match{path: m, display: filepath.ToSlash(d)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}

func hasMeta(s string) bool { return strings.ContainsAny(s, `*?[\`) }

// staticDir is the deepest directory of a pattern that has no wildcard: the
// one to watch for files appearing.
func staticDir(pattern string) string {
	d := filepath.Dir(pattern)
	for hasMeta(d) {
		d = filepath.Dir(d)
	}
	return d
}

// describeFileError says what went wrong reading a file without repeating
// its path, which the message already starts with.
func describeFileError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Op + ": " + pe.Err.Error()
	}
	return err.Error()
}

// sources are the resolved YAML values behind a Config, for Redacted.
type sources struct {
	file    ConfigFile
	targets []TargetSpec
	notify  *yaml.Node
}

// resolved is one target both as the model sees it and as YAML, with
// defaults applied to both.
type resolved struct {
	model model.Target
	spec  TargetSpec
}
