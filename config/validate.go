package config

import (
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/andybalholm/cascadia"
	"github.com/robfig/cron/v3"

	"github.com/mpwatch/mpwatch/internal/yamlx"
	"github.com/mpwatch/mpwatch/model"
)

// settings validates the top-level sections and copies them into cfg.
func (p *parser) settings(doc *yamlx.Doc, s *ConfigFile, cfg *Config) {
	// store
	switch path := strings.TrimSpace(s.Store.Path); {
	case path == "":
		p.add(doc.Errorf("store.path", "must not be empty"))
	case path == ":memory:" || strings.HasPrefix(path, "file:") || filepath.IsAbs(path):
		cfg.Store.Path = path
	default:
		cfg.Store.Path = filepath.Join(p.dir, path)
	}
	cfg.Store.Retention = s.Store.Retention.D()

	// schedule
	p.cron(doc, "schedule.default", s.Schedule.Default)
	p.cron(doc, "schedule.retention", s.Schedule.Retention)
	cfg.Schedule = Schedule{Default: s.Schedule.Default, Jitter: s.Schedule.Jitter.D(), Retention: s.Schedule.Retention}

	// http
	if s.HTTP.Listen != "" {
		if err := checkListen(s.HTTP.Listen); err != nil {
			p.add(doc.Errorf("http.listen", "%v", err))
		}
	}
	if s.HTTP.PublicURL != "" {
		if err := checkURL(s.HTTP.PublicURL); err != nil {
			p.add(doc.Errorf("http.public_url", "%v", err))
		}
	}
	ba := s.HTTP.BasicAuth
	p.secret(doc, "http.bearer_token", s.HTTP.BearerToken)
	p.secret(doc, "http.basic_auth.password", ba.Password)
	if ba.User != "" && ba.Password.Value() == "" && !p.hasErr(doc.File, "http.basic_auth.password") {
		p.add(doc.Errorf("http.basic_auth.password", "%s", emptySecret("required when basic_auth.user is set", ba.Password)))
	}
	if ba.User == "" && ba.Password.Value() != "" {
		p.add(doc.Errorf("http.basic_auth.user", "required when basic_auth.password is set"))
	}
	cfg.HTTP = HTTP{
		Listen:      s.HTTP.Listen,
		PublicURL:   strings.TrimRight(s.HTTP.PublicURL, "/"),
		BearerToken: s.HTTP.BearerToken.Secret,
		BasicAuth:   BasicAuth{User: ba.User, Password: ba.Password.Secret},
	}

	// log
	var level slog.Level
	switch s.Log.Level {
	case "debug":
		level = slog.LevelDebug
	case "info":
		level = slog.LevelInfo
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		p.add(doc.Errorf("log.level", "unknown level %q (known: debug, info, warn, error)", s.Log.Level))
	}
	if s.Log.Format != "text" && s.Log.Format != "json" {
		p.add(doc.Errorf("log.format", "unknown format %q (known: json, text)", s.Log.Format))
	}
	cfg.Log = Log{Level: level, Format: s.Log.Format}

	// crawler
	c := s.Crawler
	if strings.TrimSpace(c.UserAgent) == "" {
		p.add(doc.Errorf("crawler.user_agent", "must not be empty"))
	} else if hasControl(c.UserAgent) {
		p.add(doc.Errorf("crawler.user_agent", "must not contain control characters"))
	}
	if c.Contact != "" {
		if err := checkContact(c.Contact); err != nil {
			p.add(doc.Errorf("crawler.contact", "%v", err))
		}
	}
	p.positive(doc, "crawler.timeout", int64(c.Timeout), c.Timeout.String())
	p.atLeast(doc, "crawler.max_body_mb", c.MaxBodyMB, 1)
	p.atLeast(doc, "crawler.parallelism", c.Parallelism, 1)
	p.atLeast(doc, "crawler.max_retries", c.MaxRetries, 0)
	p.atLeast(doc, "crawler.backoff_max_factor", c.BackoffMaxFactor, 1)
	p.positive(doc, "crawler.lookback", int64(c.Lookback), c.Lookback.String())
	p.positive(doc, "crawler.rescan", int64(c.Rescan), c.Rescan.String())
	if c.Rescan > c.Lookback && c.Lookback > 0 {
		p.add(doc.Errorf("crawler.rescan", "%s is longer than crawler.lookback (%s): posts older than lookback are never read", c.Rescan, c.Lookback))
	}
	cfg.Crawler = Crawler{
		UserAgent:        c.UserAgent,
		Contact:          c.Contact,
		Timeout:          c.Timeout.D(),
		MaxBodyBytes:     int64(c.MaxBodyMB) << 20,
		Parallelism:      c.Parallelism,
		Delay:            c.Delay.D(),
		RandomDelay:      c.RandomDelay.D(),
		MaxRetries:       c.MaxRetries,
		RespectRobotsTxt: c.RespectRobotsTxt,
		Lookback:         c.Lookback.D(),
		Rescan:           c.Rescan.D(),
		BackoffMaxFactor: c.BackoffMaxFactor,
		Instances:        map[string]model.Secret{},
	}
	for host, in := range c.Instances {
		if err := checkHost(host); err != nil {
			p.add(doc.Errorf(yamlx.Join("crawler.instances", host), "instance %q: %v", host, err))
			continue
		}
		p.secret(doc, yamlx.Join(yamlx.Join("crawler.instances", host), "token"), in.Token)
		cfg.Crawler.Instances[strings.ToLower(host)] = in.Token.Secret
	}
}

// defaults validates a watchlist file's defaults section.
func (p *parser) defaults(doc *yamlx.Doc, d *DefaultsSpec) {
	if d.Schedule != "" {
		p.cron(doc, "defaults.schedule", d.Schedule)
	}
	d.Tags = p.labels(doc, "defaults.tags", d.Tags)
}

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// target validates one target and converts it. It returns false when the
// target is too broken to keep (its errors are recorded either way).
func (p *parser) target(doc *yamlx.Doc, path string, t TargetSpec, d DefaultsSpec, cfg *Config) (resolved, bool) {
	ok := true
	idPath := yamlx.Join(path, "id")
	switch {
	case t.ID == "":
		if !p.hasErr(doc.File, idPath) {
			p.add(doc.Errorf(idPath, "missing required key \"id\" (a slug such as \"jane-doe\")"))
		}
		ok = false
	case !slugRE.MatchString(t.ID):
		p.add(doc.Errorf(idPath, "invalid id %q: use lower-case letters, digits and hyphens, starting with a letter or digit, at most 63 characters", t.ID))
		ok = false
	default:
		if first, dup := p.ids[t.ID]; dup {
			p.add(doc.Errorf(idPath, "duplicate target id %q (first defined at %s)", t.ID, first))
			ok = false
		} else {
			p.ids[t.ID] = where(doc, idPath)
		}
	}
	if strings.TrimSpace(t.Name) == "" && !p.hasErr(doc.File, yamlx.Join(path, "name")) {
		p.add(doc.Errorf(yamlx.Join(path, "name"), "missing required key \"name\""))
	}
	if t.Team == "" {
		t.Team = d.Team
	}
	t.Tags = mergeLabels(d.Tags, p.labels(doc, yamlx.Join(path, "tags"), t.Tags))
	t.Aliases = p.labels(doc, yamlx.Join(path, "aliases"), t.Aliases)

	accPath := yamlx.Join(path, "accounts")
	if len(t.Accounts) == 0 && !p.hasErr(doc.File, accPath) {
		p.add(doc.Errorf(accPath, "missing required key \"accounts\" (at least one account or page to watch)"))
	}
	mt := model.Target{ID: t.ID, Name: strings.TrimSpace(t.Name), Riding: t.Riding, Party: t.Party,
		Team: t.Team, Tags: t.Tags, Aliases: t.Aliases}
	for i := range t.Accounts {
		ap := yamlx.Index(accPath, i)
		a, good := p.account(doc, ap, &t.Accounts[i], d, cfg)
		if !good {
			continue
		}
		where := where(doc, keyPath(ap, a))
		if first, dup := p.accounts[a.Key()]; dup {
			p.add(doc.Errorf(keyPath(ap, a), "duplicate account %q (first defined at %s)", a.Key(), first))
			continue
		}
		p.accounts[a.Key()] = where
		mt.Accounts = append(mt.Accounts, a)
	}
	return resolved{model: mt, spec: t}, ok
}

// keyPath is the key whose value makes the account's identity.
func keyPath(ap string, a model.Account) string {
	if a.Handle != "" {
		return yamlx.Join(ap, "handle")
	}
	return yamlx.Join(ap, "url")
}

func where(doc *yamlx.Doc, path string) string {
	pos := doc.Pos(path)
	return fmt.Sprintf("%s:%d:%d", doc.File, pos.Line, pos.Column)
}

// labels checks a list of free-text labels (tags, aliases) and drops
// duplicates, keeping the first.
func (p *parser) labels(doc *yamlx.Doc, path string, in []string) []string {
	var out []string
	seen := map[string]bool{}
	for i, s := range in {
		s = strings.TrimSpace(s)
		if s == "" {
			p.add(doc.Errorf(yamlx.Index(path, i), "must not be empty"))
			continue
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// mergeLabels appends own to defaults, dropping repeats.
func mergeLabels(defaults, own []string) []string {
	out := append([]string(nil), defaults...)
	for _, s := range own {
		if !contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// optionsByPlatform lists the options each platform reads.
var optionsByPlatform = map[model.Platform][]string{
	model.Facebook: {"api_version"},
	model.X:        {"max_reads_per_day"},
	model.YouTube:  {"video_ids"},
}

var (
	mastodonRE   = regexp.MustCompile(`^@?([A-Za-z0-9_][A-Za-z0-9_.-]*)@([^@\s]+)$`)
	didPLCRE     = regexp.MustCompile(`^did:plc:[a-z2-7]{24}$`)
	facebookRE   = regexp.MustCompile(`^[A-Za-z0-9.-]{1,100}$`)
	xHandleRE    = regexp.MustCompile(`^@?[A-Za-z0-9_]{1,15}$`)
	channelRE    = regexp.MustCompile(`^UC[A-Za-z0-9_-]{22}$`)
	videoRE      = regexp.MustCompile(`^[A-Za-z0-9_-]{11}$`)
	apiVersionRE = regexp.MustCompile(`^v[0-9]+\.[0-9]+$`)
)

// account validates one account, normalises its handle, fills in its
// schedule and lookback, and converts it. It returns false when the account
// cannot be used (its errors are recorded).
func (p *parser) account(doc *yamlx.Doc, ap string, a *AccountSpec, d DefaultsSpec, cfg *Config) (model.Account, bool) {
	at := func(k string) string { return yamlx.Join(ap, k) }
	fail := func(k, format string, args ...any) { p.add(doc.Errorf(at(k), format, args...)) }
	known := platformList()

	pl := model.Platform(a.Platform)
	switch {
	case a.Platform == "":
		if !p.hasErr(doc.File, at("platform")) {
			fail("platform", "missing required key \"platform\" (known: %s)", known)
		}
		return model.Account{}, false
	case !pl.Valid():
		fail("platform", "unknown platform %q (known: %s)", a.Platform, known)
		return model.Account{}, false
	}
	before := len(p.errs)

	// Which of handle and url the platform takes.
	usesHandle := pl != model.HTML && pl != model.RSS
	if usesHandle && doc.Has(at("url")) {
		fail("url", "not used by platform %s (use handle)", pl)
	}
	if !usesHandle && doc.Has(at("handle")) {
		fail("handle", "not used by platform %s (use url)", pl)
	}
	if pl != model.HTML && a.HTML != nil {
		fail("html", "selectors apply only to platform html")
	}

	handle := strings.TrimSpace(a.Handle)
	needHandle := func(what string) bool {
		if handle == "" {
			fail("handle", "missing required key \"handle\" (%s)", what)
			return false
		}
		return true
	}
	switch pl {
	case model.Mastodon:
		if needHandle(`"@user@instance.social"`) {
			m := mastodonRE.FindStringSubmatch(handle)
			if m == nil {
				fail("handle", "invalid mastodon handle %q (want @user@instance.social)", handle)
			} else if err := checkHost(m[2]); err != nil {
				fail("handle", "invalid mastodon handle %q: instance %v", handle, err)
			} else {
				handle = "@" + m[1] + "@" + strings.ToLower(m[2])
			}
		}
	case model.Bluesky:
		if needHandle(`"name.bsky.social" or a did:plc:/did:web: identifier`) {
			handle = strings.TrimPrefix(handle, "@")
			switch {
			case strings.HasPrefix(handle, "did:plc:"):
				if !didPLCRE.MatchString(handle) {
					fail("handle", "invalid did:plc identifier %q (24 characters a-z, 2-7 after did:plc:)", handle)
				}
			case strings.HasPrefix(handle, "did:web:"):
				if err := checkDomain(strings.TrimPrefix(handle, "did:web:")); err != nil {
					fail("handle", "invalid did:web identifier %q: %v", handle, err)
				}
			case strings.HasPrefix(handle, "did:"):
				fail("handle", "unsupported DID method in %q (use did:plc or did:web)", handle)
			default:
				if err := checkDomain(handle); err != nil {
					fail("handle", "invalid bluesky handle %q: %v", handle, err)
				} else {
					handle = strings.ToLower(handle)
				}
			}
		}
	case model.Facebook:
		if needHandle("the page id") && !facebookRE.MatchString(handle) {
			fail("handle", "invalid facebook page id %q", handle)
		}
	case model.X:
		if needHandle("the username") {
			if !xHandleRE.MatchString(handle) {
				fail("handle", "invalid x username %q (1 to 15 letters, digits or _)", handle)
			}
			handle = strings.TrimPrefix(handle, "@")
		}
	case model.YouTube:
		if handle == "" && (a.Options == nil || len(a.Options.VideoIDs) == 0) {
			fail("handle", "missing required key \"handle\" (the channel id, UC…) or options.video_ids")
		} else if handle != "" && !channelRE.MatchString(handle) {
			fail("handle", "invalid youtube channel id %q (want UC followed by 22 characters)", handle)
		}
	case model.HTML, model.RSS:
		if a.URL == "" {
			if !p.hasErr(doc.File, at("url")) {
				fail("url", "missing required key \"url\" (the %s address)", map[model.Platform]string{model.HTML: "page", model.RSS: "feed"}[pl])
			}
		} else if err := checkURL(a.URL); err != nil {
			fail("url", "%v", err)
		}
	}
	if pl == model.HTML {
		p.selectors(doc, at("html"), a.HTML)
	}

	// Credentials.
	p.secret(doc, at("token"), a.Token)
	token := a.Token.Secret
	if pl == model.Mastodon && token == "" {
		if i := strings.LastIndexByte(handle, '@'); i > 0 {
			token = cfg.Crawler.Instances[handle[i+1:]]
		}
	}
	if need := map[model.Platform]string{
		model.Facebook: "a page access token",
		model.X:        "an API bearer token",
		model.YouTube:  "an API key",
	}[pl]; need != "" && token == "" && !p.hasErr(doc.File, at("token")) {
		fail("token", "%s", emptySecret(fmt.Sprintf("%s needs %s, e.g. token: ${%s_TOKEN}", pl, need, strings.ToUpper(string(pl))), a.Token))
	}

	// Options.
	if a.Options != nil {
		allowed := optionsByPlatform[pl]
		for _, k := range []string{"api_version", "max_reads_per_day", "video_ids"} {
			if !doc.Has(at("options." + k)) {
				continue
			}
			if !contains(allowed, k) {
				if len(allowed) == 0 {
					p.add(keyErr(doc, at("options."+k), "option %q is not used by platform %s (it takes no options)", k, pl))
				} else {
					p.add(keyErr(doc, at("options."+k), "option %q is not used by platform %s (its options: %s)", k, pl, strings.Join(allowed, ", ")))
				}
			}
		}
		if pl == model.Facebook && doc.Has(at("options.api_version")) && !apiVersionRE.MatchString(a.Options.APIVersion) {
			fail("options.api_version", "invalid Graph API version %q (want e.g. v21.0)", a.Options.APIVersion)
		}
		if pl == model.X && doc.Has(at("options.max_reads_per_day")) && a.Options.MaxReadsPerDay < 1 && !p.hasErr(doc.File, at("options.max_reads_per_day")) {
			fail("options.max_reads_per_day", "must be at least 1, got %d", a.Options.MaxReadsPerDay)
		}
		if pl == model.YouTube {
			for i, v := range a.Options.VideoIDs {
				if !videoRE.MatchString(v) {
					p.add(doc.Errorf(yamlx.Index(at("options.video_ids"), i), "invalid youtube video id %q (11 characters)", v))
				}
			}
		}
	}

	// Schedule and lookback, resolved so that no consumer has to.
	switch {
	case a.Schedule != "":
		p.cron(doc, at("schedule"), a.Schedule)
	case d.Schedule != "":
		a.Schedule = d.Schedule
	default:
		a.Schedule = cfg.Schedule.Default
	}
	if a.Lookback == 0 {
		a.Lookback = yamlx.Duration(cfg.Crawler.Lookback)
	}
	if a.MaxPages < 0 {
		fail("max_pages", "must not be negative, got %d", a.MaxPages)
	}

	if len(p.errs) > before {
		return model.Account{}, false
	}
	if usesHandle {
		a.Handle = handle
	}
	out := model.Account{
		Platform: pl,
		Handle:   a.Handle,
		URL:      a.URL,
		Schedule: a.Schedule,
		Token:    token,
		Lookback: a.Lookback.D(),
		MaxPages: a.MaxPages,
	}
	if a.HTML != nil {
		h := *a.HTML
		out.HTML = &h
	}
	if a.Options != nil {
		out.Options = map[string]string{}
		if a.Options.APIVersion != "" {
			out.Options["api_version"] = a.Options.APIVersion
		}
		if doc.Has(at("options.max_reads_per_day")) {
			out.Options["max_reads_per_day"] = strconv.Itoa(a.Options.MaxReadsPerDay)
		}
		if len(a.Options.VideoIDs) > 0 {
			// The model keeps options as strings; video ids never hold commas.
			out.Options["video_ids"] = strings.Join(a.Options.VideoIDs, ",")
		}
		if len(out.Options) == 0 {
			out.Options = nil
		}
	}
	return out, true
}

// keyErr positions an error at a key rather than its value: an option that
// is not allowed is wrong whatever its value.
func keyErr(doc *yamlx.Doc, path, format string, args ...any) yamlx.Error {
	e := doc.Errorf(path, format, args...)
	pos := doc.KeyPos(path)
	e.Line, e.Column = pos.Line, pos.Column
	return e
}

// selectors checks that an html account says where items and their text
// are, and that every selector compiles.
func (p *parser) selectors(doc *yamlx.Doc, path string, h *model.HTMLSelectors) {
	if h == nil {
		if !p.hasErr(doc.File, path) {
			p.add(doc.Errorf(path, "missing required key \"html\" (CSS selectors with at least item and text)"))
		}
		return
	}
	type field struct {
		key, sel    string
		required    bool
		attrAllowed bool
	}
	for _, f := range []field{
		{"item", h.Item, true, false},
		{"text", h.Text, true, false},
		{"id", h.ID, false, true},
		{"author", h.Author, false, true},
		{"time", h.Time, false, true},
		{"link", h.Link, false, true},
		{"next", h.Next, false, true},
	} {
		fp := yamlx.Join(path, f.key)
		if f.sel == "" {
			if f.required {
				p.add(doc.Errorf(fp, "missing required key %q (a CSS selector)", f.key))
			}
			continue
		}
		sel := f.sel
		if f.attrAllowed {
			sel, _ = splitAttr(sel)
			if sel == "" {
				continue // "@attr" reads the attribute of the item itself
			}
		}
		if _, err := compileSelector(sel); err != nil {
			p.add(doc.Errorf(fp, "invalid CSS selector %q: %v", f.sel, err))
		}
	}
	if h.TimeLayout != "" && h.Time == "" {
		p.add(doc.Errorf(yamlx.Join(path, "time_layout"), "set without html.time, which says where the time is"))
	}
}

var attrRE = regexp.MustCompile(`^[A-Za-z_:][-A-Za-z0-9_:.]*$`)

// splitAttr splits "selector@attr". An "@" inside an attribute selector
// ("a[href^='mailto:x@y']") is left alone, because what follows it is not
// an attribute name.
func splitAttr(s string) (sel, attr string) {
	i := strings.LastIndexByte(s, '@')
	if i < 0 || !attrRE.MatchString(s[i+1:]) {
		return s, ""
	}
	return strings.TrimSpace(s[:i]), s[i+1:]
}

func (p *parser) cron(doc *yamlx.Doc, path, spec string) {
	if strings.TrimSpace(spec) == "" {
		p.add(doc.Errorf(path, "must not be empty (a cron spec such as \"@every 5m\" or \"*/10 * * * *\")"))
		return
	}
	if _, err := cron.ParseStandard(spec); err != nil {
		p.add(doc.Errorf(path, "invalid cron spec %q: %v", spec, err))
	}
}

// secret catches "$NAME", which YAML reads as a literal secret, and which
// was surely meant to name an environment variable.
func (p *parser) secret(doc *yamlx.Doc, path string, s yamlx.Secret) {
	if v := s.Value(); s.Env == "" && strings.HasPrefix(v, "$") {
		p.add(doc.Errorf(path, "a secret written as $NAME is taken literally; write ${%s} to read the environment variable", strings.Trim(v, "${}")))
	}
}

func (p *parser) atLeast(doc *yamlx.Doc, path string, v, min int) {
	if v < min && !p.hasErr(doc.File, path) {
		p.add(doc.Errorf(path, "must be at least %d, got %d", min, v))
	}
}

func (p *parser) positive(doc *yamlx.Doc, path string, v int64, shown string) {
	if v <= 0 && !p.hasErr(doc.File, path) {
		p.add(doc.Errorf(path, "must be longer than 0, got %s", shown))
	}
}

// emptySecret explains a missing secret, naming the variable when the
// config pointed at one that is empty.
func emptySecret(msg string, s yamlx.Secret) string {
	if s.Env != "" {
		return fmt.Sprintf("%s (environment variable %s is empty)", msg, s.Env)
	}
	return msg
}

func platformList() string {
	var names []string
	for _, p := range model.Platforms() {
		names = append(names, string(p))
	}
	return strings.Join(names, ", ")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}

func checkListen(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("invalid listen address %q (want host:port, e.g. 127.0.0.1:8080)", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("invalid port %q in %q", port, s)
	}
	if host != "" && net.ParseIP(host) == nil {
		if err := checkDomain(host); err != nil {
			return fmt.Errorf("invalid host in %q: %v", s, err)
		}
	}
	return nil
}

// checkURL accepts absolute http and https URLs only: those are what the
// crawler fetches and what people can open.
func checkURL(s string) error {
	if hasControl(s) || strings.ContainsAny(s, " ") {
		return fmt.Errorf("invalid URL %q: contains spaces or control characters", s)
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("invalid URL %q", s)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("invalid URL %q: want an http or https address", s)
	}
	if u.Host == "" {
		return fmt.Errorf("invalid URL %q: no host", s)
	}
	return nil
}

func checkContact(s string) error {
	if hasControl(s) || strings.ContainsAny(s, "()") {
		return fmt.Errorf("invalid contact %q: contains control characters or parentheses", s)
	}
	if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
		return checkURL(s)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return fmt.Errorf("invalid contact %q: want an email address or an http(s) URL", s)
	}
	return nil
}

// checkHost accepts a domain name or IP address with an optional port, as
// instances are written in handles and crawler.instances.
func checkHost(s string) error {
	host := s
	if h, port, err := net.SplitHostPort(s); err == nil {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("has an invalid port %q", port)
		}
		host = h
	}
	if net.ParseIP(host) != nil {
		return nil
	}
	return checkDomain(host)
}

var labelRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

// checkDomain accepts a DNS name of at least two labels (Bluesky handles and
// fediverse instances are always fully qualified) or "localhost".
func checkDomain(s string) error {
	if s == "localhost" {
		return nil
	}
	labels := strings.Split(s, ".")
	if len(s) > 253 || len(labels) < 2 {
		return fmt.Errorf("is not a domain name (want e.g. example.social)")
	}
	for _, l := range labels {
		if !labelRE.MatchString(l) {
			return fmt.Errorf("is not a domain name (bad part %q)", l)
		}
	}
	if _, err := strconv.Atoi(labels[len(labels)-1]); err == nil {
		return fmt.Errorf("is not a domain name (numeric top-level part)")
	}
	return nil
}

func compileSelector(s string) (cascadia.Selector, error) { return cascadia.Compile(s) }
