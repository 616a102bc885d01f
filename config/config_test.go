package config

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/mpwatch/mpwatch/internal/yamlx"
	"github.com/mpwatch/mpwatch/model"
)

// TestLoadErrors loads one fixture per class of mistake and compares the
// whole error text, so a missing, extra or misplaced error fails the test.
func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		want []string
	}{
		{"unknown_key", []string{
			`config.yaml:1:1: stor: unknown key "stor" (did you mean "store"?)`,
			`config.yaml:4:3: crawler.timout: unknown key "timout" (did you mean "timeout"?)`,
		}},
		{"wrong_type", []string{
			"config.yaml:2:16: crawler.max_body_mb: cannot unmarshal !!str `lots` into int",
			"config.yaml:3:23: crawler.respect_robots_txt: cannot unmarshal !!str `maybe` into bool",
			"config.yaml:9:11: targets[0].tags: cannot unmarshal !!str `red` into []string",
		}},
		{"bad_duration", []string{
			`config.yaml:2:14: store.retention: invalid duration "3 months" (use a number with a unit: 30s, 5m, 1h, 7d, 2w)`,
			`config.yaml:4:12: crawler.timeout: duration "-5s" must not be negative`,
		}},
		{"bad_cron", []string{
			`config.yaml:2:12: schedule.default: invalid cron spec "every 5m": expected exactly 5 fields, found 2: [every 5m]`,
			`config.yaml:3:14: schedule.retention: invalid cron spec "@dailyy": unrecognized descriptor: @dailyy`,
			`watchlists/team.yaml:2:13: defaults.schedule: invalid cron spec "* * *": expected exactly 5 fields, found 3: [* * *]`,
			`watchlists/team.yaml:9:19: targets[0].accounts[0].schedule: invalid cron spec "61 * * * *": end of range (61) above maximum (59): 61`,
		}},
		{"duplicate_target", []string{
			`watchlists/b.yaml:2:9: targets[0].id: duplicate target id "sam-roe" (first defined at watchlists/a.yaml:2:9)`,
			`watchlists/b.yaml:6:9: targets[1].id: duplicate target id "jane-doe" (first defined at config.yaml:3:9)`,
		}},
		{"duplicate_account", []string{
			`team.yaml:13:17: targets[1].accounts[0].handle: duplicate account "mastodon:@office@social.example" (first defined at team.yaml:6:17)`,
			`team.yaml:15:14: targets[1].accounts[1].url: duplicate account "rss:https://news.example/feed.xml" (first defined at team.yaml:8:14)`,
		}},
		{"missing_required", []string{
			`team.yaml:2:5: targets[0].id: missing required key "id" (a slug such as "jane-doe")`,
			`team.yaml:5:5: targets[1].name: missing required key "name"`,
			`team.yaml:7:9: targets[1].accounts[0].platform: missing required key "platform" (known: bluesky, facebook, html, mastodon, rss, x, youtube)`,
			`team.yaml:8:5: targets[2].accounts: missing required key "accounts" (at least one account or page to watch)`,
			`team.yaml:13:9: targets[3].accounts[0].html: missing required key "html" (CSS selectors with at least item and text)`,
			`team.yaml:13:9: targets[3].accounts[0].url: missing required key "url" (the page address)`,
		}},
		{"unknown_platform", []string{
			`watchlists/ontario.yaml:5:19: targets[0].accounts[0].platform: unknown platform "mastadon" (known: bluesky, facebook, html, mastodon, rss, x, youtube)`,
		}},
		{"platforms", []string{
			`team.yaml:6:17: targets[0].accounts[0].handle: invalid mastodon handle "@justauser" (want @user@instance.social)`,
			`team.yaml:8:17: targets[0].accounts[1].handle: invalid mastodon handle "@user@not_a_host": instance is not a domain name (want e.g. example.social)`,
			`team.yaml:10:17: targets[0].accounts[2].handle: invalid bluesky handle "nodots": is not a domain name (want e.g. example.social)`,
			`team.yaml:12:17: targets[0].accounts[3].handle: invalid did:plc identifier "did:plc:TOOSHORT" (24 characters a-z, 2-7 after did:plc:)`,
			`team.yaml:14:17: targets[0].accounts[4].handle: unsupported DID method in "did:key:z6Mk" (use did:plc or did:web)`,
			`team.yaml:15:9: targets[0].accounts[5].token: facebook needs a page access token, e.g. token: ${FACEBOOK_TOKEN}`,
			`team.yaml:18:17: targets[0].accounts[6].handle: invalid x username "@this_name_is_far_too_long" (1 to 15 letters, digits or _)`,
			`team.yaml:21:17: targets[0].accounts[7].handle: invalid youtube channel id "notachannel" (want UC followed by 22 characters)`,
			`team.yaml:23:9: targets[0].accounts[8].handle: missing required key "handle" (the channel id, UC…) or options.video_ids`,
			`team.yaml:26:17: targets[0].accounts[9].handle: not used by platform rss (use url)`,
			`team.yaml:27:14: targets[0].accounts[9].url: invalid URL "ftp://news.example/feed": want an http or https address`,
			`team.yaml:30:14: targets[0].accounts[10].url: not used by platform bluesky (use handle)`,
			`team.yaml:31:15: targets[0].accounts[10].html: selectors apply only to platform html`,
			`team.yaml:32:20: targets[0].accounts[10].max_pages: must not be negative, got -1`,
		}},
		{"options", []string{
			`team.yaml:9:11: targets[0].accounts[0].options.api_version: option "api_version" is not used by platform x (its options: max_reads_per_day)`,
			`team.yaml:10:30: targets[0].accounts[0].options.max_reads_per_day: must be at least 1, got 0`,
			`team.yaml:14:36: targets[0].accounts[1].options.video_ids[1]: invalid youtube video id "short" (11 characters)`,
			`team.yaml:17:19: targets[0].accounts[2].options.video_ids: option "video_ids" is not used by platform rss (it takes no options)`,
			`team.yaml:21:32: targets[0].accounts[3].options.api_version: invalid Graph API version "21" (want e.g. v21.0)`,
			`team.yaml:21:38: targets[0].accounts[3].options.colour: unknown key "colour" (known: api_version, max_reads_per_day, video_ids)`,
		}},
		{"globs", []string{
			`config.yaml:2:5: watchlists[0]: bad file pattern "watch[lists/*.yaml": syntax error in pattern`,
			`config.yaml:3:5: watchlists[1]: file "missing.yaml" does not exist`,
			`config.yaml:5:5: watchlists[3]: empty file pattern`,
			`config.yaml:6:28: rule_files[1]: file "rules/extra.yaml" does not exist`,
		}},
		{"secrets_unset", []string{
			`config.yaml:2:17: http.bearer_token: environment variable MPWATCH_TEST_UNSET_A is not set (it holds this secret; set it, or write ${MPWATCH_TEST_UNSET_A:-} to make it optional)`,
			`config.yaml:3:39: http.basic_auth.password: required when basic_auth.user is set (environment variable MPWATCH_TEST_UNSET_B is empty)`,
			`config.yaml:6:29: crawler.instances.social.example.token: environment variable MPWATCH_TEST_UNSET_C is not set (it holds this secret; set it, or write ${MPWATCH_TEST_UNSET_C:-} to make it optional)`,
			`config.yaml:15:16: targets[0].accounts[0].token: environment variable MPWATCH_TEST_UNSET_D is not set (it holds this secret; set it, or write ${MPWATCH_TEST_UNSET_D:-} to make it optional)`,
			`config.yaml:18:16: targets[0].accounts[1].token: youtube needs an API key, e.g. token: ${YOUTUBE_TOKEN} (environment variable MPWATCH_TEST_UNSET_E is empty)`,
			`config.yaml:21:16: targets[0].accounts[2].token: a secret written as $NAME is taken literally; write ${MPWATCH_TEST_UNSET_F} to read the environment variable`,
		}},
		{"syntax", []string{
			`config.yaml:2:14: log.level: unknown level "loud" (known: debug, info, warn, error)`,
			`watchlists/broken.yaml:2:1: did not find expected ',' or ']'`,
		}},
		{"settings", []string{
			`config.yaml:1:15: store.path: must not be empty`,
			`config.yaml:3:11: http.listen: invalid listen address "localhost" (want host:port, e.g. 127.0.0.1:8080)`,
			`config.yaml:4:15: http.public_url: invalid URL "mpwatch.example.org": want an http or https address`,
			`config.yaml:5:15: http.basic_auth.password: required when basic_auth.user is set`,
			`config.yaml:6:14: log.level: unknown level "verbose" (known: debug, info, warn, error)`,
			`config.yaml:6:31: log.format: unknown format "xml" (known: json, text)`,
			`config.yaml:8:15: crawler.user_agent: must not be empty`,
			`config.yaml:9:12: crawler.contact: invalid contact "not an address": want an email address or an http(s) URL`,
			`config.yaml:10:12: crawler.timeout: must be longer than 0, got 0s`,
			`config.yaml:11:16: crawler.max_body_mb: must be at least 1, got 0`,
			`config.yaml:12:16: crawler.parallelism: must be at least 1, got 0`,
			`config.yaml:13:16: crawler.max_retries: must be at least 0, got -1`,
			`config.yaml:14:23: crawler.backoff_max_factor: must be at least 1, got 0`,
			`config.yaml:16:11: crawler.rescan: 12h0m0s is longer than crawler.lookback (6h0m0s): posts older than lookback are never read`,
			`config.yaml:18:17: crawler.instances.bad host: instance "bad host": is not a domain name (want e.g. example.social)`,
		}},
		{"html", []string{
			`config.yaml:10:11: targets[0].accounts[0].html.item: missing required key "item" (a CSS selector)`,
			`config.yaml:10:17: targets[0].accounts[0].html.text: invalid CSS selector "div..body": expected identifier, found . instead`,
			`config.yaml:11:24: targets[0].accounts[0].html.time_layout: set without html.time, which says where the time is`,
			`config.yaml:19:11: targets[0].accounts[1].html.idd: unknown key "idd" (did you mean "id"?)`,
		}},
		{"slug", []string{
			`config.yaml:4:9: targets[0].id: invalid id "Jane_Doe": use lower-case letters, digits and hyphens, starting with a letter or digit, at most 63 characters`,
			`config.yaml:8:9: targets[1].id: invalid id "-leading": use lower-case letters, digits and hyphens, starting with a letter or digit, at most 63 characters`,
		}},
		// Problems in three files come back together, in file order.
		{"multi", []string{
			`config.yaml:1:14: log.level: unknown level "chatty" (known: debug, info, warn, error)`,
			`config.yaml:2:12: schedule.jiter: unknown key "jiter" (did you mean "jitter"?)`,
			`watchlists/a.yaml:5:20: targets[0].accounts[0].platform: unknown platform "mastadon" (known: bluesky, facebook, html, mastodon, rss, x, youtube)`,
			`watchlists/b.yaml:1:21: defaults.colour: unknown key "colour" (known: schedule, tags, team)`,
			`watchlists/b.yaml:3:9: targets[0].id: duplicate target id "a" (first defined at watchlists/a.yaml:2:9)`,
			`watchlists/b.yaml:6:62: targets[0].accounts[0].lookback: invalid duration "forever" (use a number with a unit: 30s, 5m, 1h, 7d, 2w)`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load(filepath.Join("testdata", tt.name, "config.yaml"))
			if err == nil {
				t.Fatalf("Load succeeded, want errors:\n%s", strings.Join(tt.want, "\n"))
			}
			if cfg != nil {
				t.Errorf("Load returned a config together with errors")
			}
			var es yamlx.Errors
			if !errors.As(err, &es) {
				t.Fatalf("error is %T, want yamlx.Errors", err)
			}
			if got, want := err.Error(), strings.Join(tt.want, "\n"); got != want {
				t.Errorf("errors differ\n got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// setSecrets puts distinctive values in the environment so a test can tell
// whether any of them leaked.
func setSecrets(t *testing.T) map[string]string {
	t.Helper()
	env := map[string]string{
		"MPWATCH_TEST_BEARER":   "bearer-s3cr3t-1a",
		"MPWATCH_TEST_PASSWORD": "password-s3cr3t-2b",
		"MPWATCH_TEST_GTS":      "gts-s3cr3t-3c",
		"MPWATCH_TEST_OWN":      "own-s3cr3t-4d",
		"MPWATCH_TEST_FB":       "fb-s3cr3t-5e",
		"MPWATCH_TEST_X":        "x-s3cr3t-6f",
		"MPWATCH_TEST_YT":       "yt-s3cr3t-7g",
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	return env
}

func TestLoadValid(t *testing.T) {
	env := setSecrets(t)
	cfg, err := Load("testdata/valid/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := filepath.Abs("testdata/valid")
	if cfg.Dir != dir || cfg.File != filepath.Join(dir, "config.yaml") {
		t.Errorf("Dir, File = %q, %q", cfg.Dir, cfg.File)
	}
	if want := (Store{Path: filepath.Join(dir, "data/state.db"), Retention: 30 * 24 * time.Hour}); cfg.Store != want {
		t.Errorf("Store = %+v, want %+v", cfg.Store, want)
	}
	if want := (Schedule{Default: "*/10 * * * *", Jitter: time.Minute, Retention: "0 3 * * *"}); cfg.Schedule != want {
		t.Errorf("Schedule = %+v, want %+v", cfg.Schedule, want)
	}
	h := cfg.HTTP
	if h.Listen != ":9090" || h.PublicURL != "https://mpwatch.example.org" || h.BearerToken.Value() != env["MPWATCH_TEST_BEARER"] ||
		h.BasicAuth.User != "admin" || h.BasicAuth.Password.Value() != env["MPWATCH_TEST_PASSWORD"] {
		t.Errorf("HTTP = %+v", h)
	}
	if cfg.Log != (Log{Level: slog.LevelDebug, Format: "json"}) {
		t.Errorf("Log = %+v", cfg.Log)
	}
	c := cfg.Crawler
	wantCrawler := Crawler{
		UserAgent: "mpwatch-test/{version}", Contact: "ops@example.org", Timeout: 10 * time.Second,
		MaxBodyBytes: 2 << 20, Parallelism: 1, Delay: 2 * time.Second, RandomDelay: 0, MaxRetries: 0,
		RespectRobotsTxt: false, Lookback: 48 * time.Hour, Rescan: 12 * time.Hour, BackoffMaxFactor: 4,
		Instances: map[string]model.Secret{"gts.example": model.Secret(env["MPWATCH_TEST_GTS"])},
	}
	if !reflect.DeepEqual(c, wantCrawler) {
		t.Errorf("Crawler =\n%+v\nwant\n%+v", c, wantCrawler)
	}
	wantRules := []string{filepath.Join(dir, "rules/a.yaml"), filepath.Join(dir, "rules/b.yaml")}
	if !reflect.DeepEqual(cfg.RuleFiles, wantRules) {
		t.Errorf("RuleFiles = %q, want %q (sorted, without duplicates)", cfg.RuleFiles, wantRules)
	}
	wantFiles := []string{filepath.Join(dir, "config.yaml"), filepath.Join(dir, "lists/team.yaml")}
	if !reflect.DeepEqual(cfg.Files, wantFiles) {
		t.Errorf("Files = %q, want %q", cfg.Files, wantFiles)
	}
	wantDirs := []string{dir, filepath.Join(dir, "lists"), filepath.Join(dir, "rules")}
	if !reflect.DeepEqual(cfg.WatchDirs, wantDirs) {
		t.Errorf("WatchDirs = %q, want %q", cfg.WatchDirs, wantDirs)
	}
	if !cfg.Notify.Present() || cfg.Notify.Path != "notify" {
		t.Errorf("Notify section not kept: %+v", cfg.Notify)
	}

	const day = 24 * time.Hour
	want := []model.Target{
		{ID: "inline-one", Name: "Inline One", Accounts: []model.Account{
			// no token of its own: the instance's, whatever the case it was written in
			{Platform: model.Mastodon, Handle: "@one@gts.example", Schedule: "*/10 * * * *", Lookback: 2 * day, Token: model.Secret(env["MPWATCH_TEST_GTS"])},
			{Platform: model.Mastodon, Handle: "@one@other.example", Schedule: "*/10 * * * *", Lookback: 2 * day, Token: model.Secret(env["MPWATCH_TEST_OWN"])},
		}},
		{ID: "two", Name: "Two", Team: "west", Tags: []string{"east", "federal", "cabinet"}, Aliases: []string{"Deux", "二"}, Accounts: []model.Account{
			{Platform: model.Bluesky, Handle: "two.bsky.social", Schedule: "@hourly", Lookback: 2 * day},
			{Platform: model.Bluesky, Handle: "did:web:two.example", Schedule: "@every 10m", Lookback: 2 * day},
			{Platform: model.Facebook, Handle: "100012345", Schedule: "@every 10m", Lookback: 2 * day, Token: model.Secret(env["MPWATCH_TEST_FB"]),
				Options: map[string]string{"api_version": "v21.0"}},
			{Platform: model.X, Handle: "Two_MP", Schedule: "@every 10m", Lookback: 2 * day, Token: model.Secret(env["MPWATCH_TEST_X"]),
				Options: map[string]string{"max_reads_per_day": "500"}},
			{Platform: model.YouTube, Schedule: "@every 10m", Lookback: 7 * day, Token: model.Secret(env["MPWATCH_TEST_YT"]),
				Options: map[string]string{"video_ids": "dQw4w9WgXcQ,abcdefghijk"}},
			{Platform: model.HTML, URL: "https://two.example/news", Schedule: "@every 10m", Lookback: 2 * day, MaxPages: 4,
				HTML: &model.HTMLSelectors{Item: ".c", Text: ".c-body", Time: "time@datetime", TimeLayout: "2006-01-02"}},
			{Platform: model.RSS, URL: "https://news.example/feed.xml", Schedule: "@every 10m", Lookback: 2 * day},
		}},
	}
	if !reflect.DeepEqual(cfg.Targets, want) {
		t.Errorf("Targets =\n%s\nwant\n%s", dumpTargets(cfg.Targets), dumpTargets(want))
	}
	if tg, ok := cfg.Target("two"); !ok || tg.Name != "Two" {
		t.Errorf("Target(two) = %+v, %v", tg, ok)
	}
}

// dumpTargets shows tokens too, which %+v hides: a test must be able to
// say which token differs.
func dumpTargets(ts []model.Target) string {
	var b strings.Builder
	for _, t := range ts {
		fmt.Fprintf(&b, "%s %q team=%q tags=%q aliases=%q\n", t.ID, t.Name, t.Team, t.Tags, t.Aliases)
		for _, a := range t.Accounts {
			fmt.Fprintf(&b, "  %s %q %q sched=%q lb=%s pages=%d token=%q html=%+v opts=%v\n",
				a.Platform, a.Handle, a.URL, a.Schedule, a.Lookback, a.MaxPages, a.Token.Value(), a.HTML, a.Options)
		}
	}
	return b.String()
}

// TestSecretsNeverShown checks every way a Config is shown: Redacted, the
// fmt verbs, and errors reported next to secrets.
func TestSecretsNeverShown(t *testing.T) {
	env := setSecrets(t)
	cfg, err := Load("testdata/valid/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{"literal-hook-secret"}
	for _, v := range env {
		secrets = append(secrets, v)
	}
	red := cfg.Redacted()
	shown := map[string]string{
		"Redacted":   red,
		"%v":         fmt.Sprintf("%v", cfg),
		"%+v":        fmt.Sprintf("%+v", cfg),
		"%#v":        fmt.Sprintf("%#v", cfg),
		"%v value":   fmt.Sprintf("%+v", *cfg),
		"targets %v": fmt.Sprint(cfg.Targets),
	}
	for how, s := range shown {
		for _, sec := range secrets {
			if strings.Contains(s, sec) {
				t.Errorf("%s shows secret %q:\n%s", how, sec, s)
			}
		}
	}
	for _, want := range []string{
		"bearer_token: ${MPWATCH_TEST_BEARER}",
		"password: ${MPWATCH_TEST_PASSWORD}",
		"token: ${MPWATCH_TEST_FB}",
		"webhook_url: <secret>",
	} {
		if !strings.Contains(red, want) {
			t.Errorf("Redacted lacks %q:\n%s", want, red)
		}
	}

	// Literal secrets next to mistakes: the errors name places, not values.
	data := []byte(`http: {bearer_token: literal-bearer-9z, listen: nope}
watchlists: []
rule_files: []
targets:
  - id: a
    name: A
    accounts:
      - {platform: x, handle: "bad handle!", token: literal-x-8y, colour: red}
      - {platform: facebook, handle: "1", token: [literal-fb-7x]}
`)
	_, err = Parse("config.yaml", data, memFS(nil))
	if err == nil {
		t.Fatal("Parse succeeded")
	}
	for _, sec := range []string{"literal-bearer-9z", "literal-x-8y", "literal-fb-7x"} {
		if strings.Contains(err.Error(), sec) {
			t.Errorf("error shows secret %q:\n%s", sec, err)
		}
	}
}

func TestRedactedReloads(t *testing.T) {
	setSecrets(t)
	cfg, err := Load("testdata/valid/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The dump inlines every target; loaded next to the original (so that
	// rule globs resolve the same), it describes the same configuration.
	// The notify webhook is "<secret>" in the dump, which is all it loses.
	again, err := Parse(filepath.Join(cfg.Dir, "dump.yaml"), []byte(cfg.Redacted()), OSFS())
	if err != nil {
		t.Fatalf("dump does not load: %v\n%s", err, cfg.Redacted())
	}
	if !reflect.DeepEqual(again.Targets, cfg.Targets) {
		t.Errorf("targets differ after reload:\n%s\nwant\n%s", dumpTargets(again.Targets), dumpTargets(cfg.Targets))
	}
	if again.Crawler.Rescan != cfg.Crawler.Rescan || again.Store != cfg.Store || !reflect.DeepEqual(again.RuleFiles, cfg.RuleFiles) ||
		again.HTTP.BearerToken != cfg.HTTP.BearerToken || again.Crawler.RespectRobotsTxt {
		t.Errorf("settings differ after reload:\n%s", again.Redacted())
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := Parse("/srv/mpwatch/config.yaml", []byte("# nothing set\n"), memFS(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Dir:      "/srv/mpwatch",
		File:     "/srv/mpwatch/config.yaml",
		Store:    Store{Path: "/srv/mpwatch/mpwatch.db", Retention: 90 * 24 * time.Hour},
		Schedule: Schedule{Default: "@every 5m", Jitter: 30 * time.Second, Retention: "@daily"},
		HTTP:     HTTP{Listen: "127.0.0.1:8080"},
		Log:      Log{Level: slog.LevelInfo, Format: "text"},
		Crawler: Crawler{UserAgent: DefaultUserAgent, Timeout: 20 * time.Second, MaxBodyBytes: 10 << 20,
			Parallelism: 2, Delay: time.Second, RandomDelay: 500 * time.Millisecond, MaxRetries: 3,
			RespectRobotsTxt: true, Lookback: 72 * time.Hour, Rescan: 6 * time.Hour, BackoffMaxFactor: 8,
			Instances: map[string]model.Secret{}},
		Files:     []string{"/srv/mpwatch/config.yaml"},
		WatchDirs: []string{"/srv/mpwatch", "/srv/mpwatch/rules/default", "/srv/mpwatch/watchlists"},
	}
	got := *cfg
	got.src, got.Notify = nil, yamlx.Section{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", got, want)
	}
	if cfg.Notify.Present() {
		t.Errorf("absent notify section reported present")
	}

	// A value written wins over its default, even a zero one.
	cfg, err = Parse("config.yaml", []byte("store: {retention: 0s}\ncrawler: {respect_robots_txt: false, max_retries: 0}\nnotify:\n"), memFS(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Store.Retention != 0 || cfg.Crawler.RespectRobotsTxt || cfg.Crawler.MaxRetries != 0 || cfg.Store.Path != "mpwatch.db" {
		t.Errorf("explicit zero values lost: %+v %+v", cfg.Store, cfg.Crawler)
	}
	if cfg.Notify.Present() {
		t.Errorf("empty notify: reported present")
	}
}

// memFS serves files from memory, relative to ".", through the FS seam.
func memFS(files map[string]string) FS {
	m := fstest.MapFS{}
	for name, data := range files {
		m[name] = &fstest.MapFile{Data: []byte(data)}
	}
	return FS{
		ReadFile: func(name string) ([]byte, error) { return fs.ReadFile(m, filepath.ToSlash(name)) },
		Glob:     func(pattern string) ([]string, error) { return fs.Glob(m, filepath.ToSlash(pattern)) },
	}
}

func TestUnreadableWatchlist(t *testing.T) {
	fsys := memFS(map[string]string{
		"watchlists/a.yaml": "targets: [{id: a, name: A, accounts: [{platform: rss, url: 'https://a.example/f'}]}]\n",
		"watchlists/x.yaml": "",
	})
	read := fsys.ReadFile
	fsys.ReadFile = func(name string) ([]byte, error) {
		if name == "watchlists/x.yaml" {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
		}
		return read(name)
	}
	_, err := Parse("config.yaml", []byte("log: {format: yaml}\n"), fsys)
	want := "config.yaml:1:15: log.format: unknown format \"yaml\" (known: json, text)\n" +
		"watchlists/x.yaml: open: permission denied"
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}

	// A config file that cannot be read is one error naming it.
	_, err = Load("testdata/no-such-dir/config.yaml")
	if err == nil || err.Error() != "config.yaml: open: no such file or directory" {
		t.Errorf("missing config: %v", err)
	}
}

func TestExampleConfigLoads(t *testing.T) {
	cfg, err := Load("../config.yaml")
	if err != nil {
		t.Fatalf("the shipped config.yaml does not load:\n%v", err)
	}
	if len(cfg.Targets) < 4 {
		t.Fatalf("example has %d targets", len(cfg.Targets))
	}
	platforms := map[model.Platform]bool{}
	teams := map[string]bool{}
	for _, tg := range cfg.Targets {
		teams[tg.Team] = true
		for _, a := range tg.Accounts {
			platforms[a.Platform] = true
		}
	}
	for _, p := range []model.Platform{model.Mastodon, model.Bluesky, model.RSS, model.HTML} {
		if !platforms[p] {
			t.Errorf("example watches no %s account", p)
		}
	}
	if len(teams) < 2 {
		t.Errorf("example has teams %v, want two or more", teams)
	}
	if !cfg.Notify.Present() {
		t.Errorf("example has no notify section")
	}
}

func TestHandleNormalisation(t *testing.T) {
	tests := []struct {
		platform, in, want string
	}{
		{"mastodon", "user@Mastodon.Social", "@user@mastodon.social"},
		{"mastodon", "@User_1@social.example:8443", "@User_1@social.example:8443"},
		{"bluesky", "@Name.BSky.Social", "name.bsky.social"},
		{"bluesky", "did:plc:z72i7hdynmk6r22z27h6tvur", "did:plc:z72i7hdynmk6r22z27h6tvur"},
		{"x", "@Some_MP", "Some_MP"},
	}
	for _, tt := range tests {
		src := fmt.Sprintf("watchlists: []\nrule_files: []\ntargets: [{id: a, name: A, accounts: [{platform: %s, handle: %q, token: t}]}]\n", tt.platform, tt.in)
		cfg, err := Parse("config.yaml", []byte(src), memFS(nil))
		if err != nil {
			t.Errorf("%s %q: %v", tt.platform, tt.in, err)
			continue
		}
		if got := cfg.Targets[0].Accounts[0].Handle; got != tt.want {
			t.Errorf("%s %q: handle %q, want %q", tt.platform, tt.in, got, tt.want)
		}
	}
}

func TestSplitAttr(t *testing.T) {
	tests := []struct{ in, sel, attr string }{
		{"time@datetime", "time", "datetime"},
		{"@data-id", "", "data-id"},
		{"a.more", "a.more", ""},
		{"a[href^='mailto:x@y.org']", "a[href^='mailto:x@y.org']", ""},
		{"a[href*='@'] @href", "a[href*='@']", "href"},
	}
	for _, tt := range tests {
		if sel, attr := splitAttr(tt.in); sel != tt.sel || attr != tt.attr {
			t.Errorf("splitAttr(%q) = %q, %q; want %q, %q", tt.in, sel, attr, tt.sel, tt.attr)
		}
	}
}

func TestUserAgentFor(t *testing.T) {
	tests := []struct{ ua, contact, version, want string }{
		{DefaultUserAgent, "", "1.2.0", "mpwatch/1.2.0 (+https://github.com/mpwatch/mpwatch)"},
		{DefaultUserAgent, "ops@example.org", "1.2.0", "mpwatch/1.2.0 (+https://github.com/mpwatch/mpwatch; ops@example.org)"},
		{"acme-monitor/{version}", "https://acme.example/bot", "", "acme-monitor/dev (https://acme.example/bot)"},
	}
	for _, tt := range tests {
		if got := (Crawler{UserAgent: tt.ua, Contact: tt.contact}).UserAgentFor(tt.version); got != tt.want {
			t.Errorf("UserAgentFor = %q, want %q", got, tt.want)
		}
	}
}

func TestBroadGlobSkipsConfigFile(t *testing.T) {
	fsys := memFS(map[string]string{
		"config.yaml": "watchlists: ['*.yaml']\n",
		"team.yaml":   "targets: [{id: a, name: A, accounts: [{platform: rss, url: 'https://a.example/f'}]}]\n",
	})
	cfg, err := Parse("config.yaml", []byte("watchlists: ['*.yaml']\nrule_files: []\n"), fsys)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"config.yaml", "team.yaml"}; !reflect.DeepEqual(cfg.Files, want) {
		t.Errorf("Files = %q, want %q", cfg.Files, want)
	}
}

func TestTagErrorsPointAtTheTargetsOwnList(t *testing.T) {
	fsys := memFS(map[string]string{
		"watchlists/a.yaml": "defaults: {tags: [x, y]}\ntargets:\n  - id: a\n    name: A\n    tags: [z, '']\n    accounts: [{platform: rss, url: 'https://a.example/f'}]\n",
	})
	_, err := Parse("config.yaml", []byte("rule_files: []\n"), fsys)
	if want := "watchlists/a.yaml:5:15: targets[0].tags[1]: must not be empty"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}
