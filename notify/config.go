package notify

import (
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/mpwatch/mpwatch/internal/yamlx"
)

// Receiver types.
const (
	TypeConsole = "console"
	TypeEmail   = "email"
	TypeSlack   = "slack"
	TypeWebhook = "webhook"
)

var receiverTypes = []string{TypeConsole, TypeEmail, TypeSlack, TypeWebhook}

// Config is the notify: section of config.yaml.
type Config struct {
	Receivers []ReceiverConfig `yaml:"receivers"`
	// Default is the route taken when no route matches; its timing is the
	// default of every route.
	Default RouteConfig `yaml:"default"`
	// OpsReceiver gets operations alerts (source failures, flatlines,
	// permanent delivery failures) that no route with audience=ops takes.
	OpsReceiver string        `yaml:"ops_receiver"`
	Routes      []RouteConfig `yaml:"routes"`
	// InhibitRules: nil (key absent) means DefaultInhibitRules; [] means none.
	InhibitRules *[]InhibitRule `yaml:"inhibit_rules"`
	Delivery     DeliveryConfig `yaml:"delivery"`
}

// Timing is the Alertmanager-style grouping and noise control of a route.
// Unset values are inherited from the default route, then the built-in
// defaults.
type Timing struct {
	GroupBy        []string        `yaml:"group_by"`
	GroupWait      *yamlx.Duration `yaml:"group_wait"`
	GroupInterval  *yamlx.Duration `yaml:"group_interval"`
	RepeatInterval *yamlx.Duration `yaml:"repeat_interval"`
	Realert        *yamlx.Duration `yaml:"realert"`
}

// RouteConfig sends alerts matching all of Match to Receiver.
type RouteConfig struct {
	Receiver string   `yaml:"receiver"`
	Match    []string `yaml:"match"`
	Continue bool     `yaml:"continue"`
	Timing   `yaml:",inline"`

	Matchers []Matcher `yaml:"-"`
}

// InhibitRule mutes alerts matching TargetMatch while an active alert
// matching SourceMatch has the same values of Equal (and, with SameWindow,
// an overlapping window).
type InhibitRule struct {
	SourceMatch []string `yaml:"source_match"`
	TargetMatch []string `yaml:"target_match"`
	Equal       []string `yaml:"equal"`
	SameWindow  *bool    `yaml:"same_window"`

	Source []Matcher `yaml:"-"`
	Target []Matcher `yaml:"-"`
}

// DefaultInhibitRules: a narrative or repeated_narrative alert for a target suppresses the
// plain spike alert for the same target and window.
func DefaultInhibitRules() []InhibitRule {
	t := true
	r := InhibitRule{SourceMatch: []string{"type=~narrative|repeated_narrative"}, TargetMatch: []string{"type=spike"}, Equal: []string{"target"}, SameWindow: &t}
	r.Source, _ = parseMatchers(r.SourceMatch)
	r.Target, _ = parseMatchers(r.TargetMatch)
	return []InhibitRule{r}
}

// DeliveryConfig tunes the outbox workers.
type DeliveryConfig struct {
	Workers int `yaml:"workers"`
	// MinBackoff and MaxBackoff bound the exponential wait between attempts.
	MinBackoff yamlx.Duration `yaml:"min_backoff"`
	MaxBackoff yamlx.Duration `yaml:"max_backoff"`
	// GiveUpAfter turns a still-failing delivery into a permanent failure.
	GiveUpAfter yamlx.Duration `yaml:"give_up_after"`
	// Lease is how long a claimed delivery is owned by one sender; a claim
	// older than this (the process died mid-send) is taken again.
	Lease yamlx.Duration `yaml:"lease"`
	// Timeout bounds one send.
	Timeout yamlx.Duration `yaml:"timeout"`
	// Poll is how often Run looks for due work when nothing wakes it.
	Poll yamlx.Duration `yaml:"poll"`
}

// ReceiverConfig is one named destination. Exactly the block named by Type
// is set (console needs none).
type ReceiverConfig struct {
	Name         string         `yaml:"name"`
	Type         string         `yaml:"type"`
	SendResolved *bool          `yaml:"send_resolved"`
	QuietHours   *QuietHours    `yaml:"quiet_hours"`
	Digest       *DigestConfig  `yaml:"digest"`
	Slack        *SlackConfig   `yaml:"slack"`
	Email        *EmailConfig   `yaml:"email"`
	Webhook      *WebhookConfig `yaml:"webhook"`
}

// SendsResolved reports whether resolved events go to this receiver (default true).
func (r ReceiverConfig) SendsResolved() bool { return r.SendResolved == nil || *r.SendResolved }

// QuietHours hold or fold a receiver's messages during a daily span.
type QuietHours struct {
	TZ   string `yaml:"tz"`
	From string `yaml:"from"` // "22:00"
	To   string `yaml:"to"`   // "07:00"; may be before From (spans midnight)
	Mode string `yaml:"mode"` // hold (send when it ends) | digest (fold into the digest)

	loc      *time.Location
	from, to int // minutes after midnight
}

// DigestConfig makes a receiver get one summary a day instead of real-time messages.
type DigestConfig struct {
	At string `yaml:"at"` // "08:00"
	TZ string `yaml:"tz"`

	loc *time.Location
	at  int
}

// SlackConfig: either WebhookURL (incoming webhook) or Token + Channel
// (chat.postMessage, which threads updates under the first message).
type SlackConfig struct {
	WebhookURL yamlx.Secret   `yaml:"webhook_url"`
	Token      yamlx.Secret   `yaml:"token"`
	Channel    string         `yaml:"channel"`
	APIURL     string         `yaml:"api_url"` // for tests and Slack-compatible servers
	Timeout    yamlx.Duration `yaml:"timeout"`
	MaxSamples int            `yaml:"max_samples"`
}

// EmailConfig is an SMTP destination.
type EmailConfig struct {
	Host     string         `yaml:"host"`
	Port     int            `yaml:"port"`
	TLS      string         `yaml:"tls"` // starttls (default) | tls (implicit) | none
	Username string         `yaml:"username"`
	Password yamlx.Secret   `yaml:"password"`
	From     string         `yaml:"from"`
	To       []string       `yaml:"to"`
	Timeout  yamlx.Duration `yaml:"timeout"`
}

// WebhookConfig posts the JSON form of each message.
type WebhookConfig struct {
	URL     yamlx.Secret   `yaml:"url"`
	Timeout yamlx.Duration `yaml:"timeout"`
}

// Defaults.
const (
	DefaultGroupWait      = 30 * time.Second
	DefaultGroupInterval  = 5 * time.Minute
	DefaultRepeatInterval = 4 * time.Hour
	DefaultRealert        = time.Minute
)

// DefaultGroupBy groups an alert with others of its rule and target.
var DefaultGroupBy = []string{"rule", "target"}

// DefaultConfig is what an absent notify: section means: one console
// receiver and the default route to it.
func DefaultConfig() Config {
	c := Config{
		Receivers: []ReceiverConfig{{Name: "console", Type: TypeConsole}},
		Default:   RouteConfig{Receiver: "console"},
	}
	c.fill()
	return c
}

func dur(d time.Duration) *yamlx.Duration { v := yamlx.Duration(d); return &v }

func (c *Config) fill() {
	t := &c.Default.Timing
	if t.GroupBy == nil {
		t.GroupBy = DefaultGroupBy
	}
	if t.GroupWait == nil {
		t.GroupWait = dur(DefaultGroupWait)
	}
	if t.GroupInterval == nil {
		t.GroupInterval = dur(DefaultGroupInterval)
	}
	if t.RepeatInterval == nil {
		t.RepeatInterval = dur(DefaultRepeatInterval)
	}
	if t.Realert == nil {
		t.Realert = dur(DefaultRealert)
	}
	for i := range c.Routes {
		r := &c.Routes[i].Timing
		if r.GroupBy == nil {
			r.GroupBy = t.GroupBy
		}
		if r.GroupWait == nil {
			r.GroupWait = t.GroupWait
		}
		if r.GroupInterval == nil {
			r.GroupInterval = t.GroupInterval
		}
		if r.RepeatInterval == nil {
			r.RepeatInterval = t.RepeatInterval
		}
		if r.Realert == nil {
			r.Realert = t.Realert
		}
	}
	if c.OpsReceiver == "" {
		c.OpsReceiver = c.Default.Receiver
	}
	if c.InhibitRules == nil {
		d := DefaultInhibitRules()
		c.InhibitRules = &d
	}
	d := &c.Delivery
	if d.Workers == 0 {
		d.Workers = 4
	}
	if d.MinBackoff == 0 {
		d.MinBackoff = yamlx.Duration(2 * time.Second)
	}
	if d.MaxBackoff == 0 {
		d.MaxBackoff = yamlx.Duration(5 * time.Minute)
	}
	if d.GiveUpAfter == 0 {
		d.GiveUpAfter = yamlx.Duration(24 * time.Hour)
	}
	if d.Timeout == 0 {
		d.Timeout = yamlx.Duration(30 * time.Second)
	}
	if d.Lease == 0 {
		d.Lease = yamlx.Duration(2 * time.Minute)
	}
	if d.Poll == 0 {
		d.Poll = yamlx.Duration(time.Second)
	}
}

// Receiver returns the receiver named name.
func (c Config) Receiver(name string) (ReceiverConfig, bool) {
	for _, r := range c.Receivers {
		if r.Name == name {
			return r, true
		}
	}
	return ReceiverConfig{}, false
}

// ParseConfig decodes and validates the notify: section. An absent section
// gives DefaultConfig. The error is yamlx.Errors listing every problem.
func ParseConfig(sec yamlx.Section) (Config, error) {
	if !sec.Present() {
		return DefaultConfig(), nil
	}
	var c Config
	errs := sec.Decode(&c)
	if len(c.Receivers) == 0 && c.Default.Receiver == "" && len(c.Routes) == 0 {
		def := DefaultConfig()
		c.Receivers, c.Default.Receiver = def.Receivers, def.Default.Receiver
	}
	errs = append(errs, c.validate(sec)...)
	if len(errs) > 0 {
		return Config{}, errs
	}
	c.fill()
	return c, nil
}

func (c *Config) validate(sec yamlx.Section) yamlx.Errors {
	var errs yamlx.Errors
	bad := func(path, format string, args ...any) { errs = append(errs, sec.Errorf(path, format, args...)) }
	names := map[string]bool{}
	for i := range c.Receivers {
		r := &c.Receivers[i]
		p := yamlx.Index("receivers", i)
		switch {
		case r.Name == "":
			bad(p+".name", "a receiver needs a name")
		case names[r.Name]:
			bad(p+".name", "receiver %q is defined twice", r.Name)
		}
		names[r.Name] = true
		if !slices.Contains(receiverTypes, r.Type) {
			bad(p+".type", "unknown receiver type %q (known: %s)", r.Type, strings.Join(receiverTypes, ", "))
		}
		blocks := map[string]bool{TypeSlack: r.Slack != nil, TypeEmail: r.Email != nil, TypeWebhook: r.Webhook != nil}
		for _, t := range receiverTypes {
			if blocks[t] && t != r.Type && slices.Contains(receiverTypes, r.Type) {
				bad(p+"."+t, "a %s block on a receiver of type %q", t, r.Type)
			}
		}
		switch r.Type {
		case TypeSlack:
			if r.Slack == nil {
				bad(p, "a slack receiver needs a slack: block with webhook_url, or token and channel")
				break
			}
			s := r.Slack
			hasHook, hasTok := s.WebhookURL.Value() != "", s.Token.Value() != ""
			switch {
			case hasHook && hasTok:
				bad(p+".slack", "set webhook_url or token, not both")
			case !hasHook && !hasTok:
				bad(p+".slack", "set webhook_url (incoming webhook) or token and channel (bot token)")
			case hasTok && s.Channel == "":
				bad(p+".slack.channel", "a bot token needs a channel")
			case hasHook && s.Channel != "":
				bad(p+".slack.channel", "an incoming webhook posts to its own channel; remove channel")
			}
			if hasHook {
				checkURL(s.WebhookURL.Value(), p+".slack.webhook_url", false, bad)
			}
			if s.APIURL != "" {
				checkURL(s.APIURL, p+".slack.api_url", true, bad)
			}
			if s.MaxSamples < 0 || s.MaxSamples > 10 {
				bad(p+".slack.max_samples", "must be between 0 and 10 (default 5)")
			}
		case TypeEmail:
			if r.Email == nil {
				bad(p, "an email receiver needs an email: block with host, from and to")
				break
			}
			e := r.Email
			if e.Host == "" {
				bad(p+".email.host", "required")
			}
			if e.Port < 0 || e.Port > 65535 {
				bad(p+".email.port", "port %d is out of range", e.Port)
			}
			if e.TLS != "" && e.TLS != "starttls" && e.TLS != "tls" && e.TLS != "none" {
				bad(p+".email.tls", "unknown tls mode %q (known: starttls, tls, none)", e.TLS)
			}
			if _, err := mail.ParseAddress(e.From); err != nil {
				bad(p+".email.from", "bad address %q: %v", e.From, err)
			}
			if len(e.To) == 0 {
				bad(p+".email.to", "at least one recipient is required")
			}
			for j, to := range e.To {
				if _, err := mail.ParseAddress(to); err != nil {
					bad(yamlx.Index(p+".email.to", j), "bad address %q: %v", to, err)
				}
			}
		case TypeWebhook:
			if r.Webhook == nil || (r.Webhook.URL.Value() == "" && r.Webhook.URL.Env == "") {
				bad(p, "a webhook receiver needs webhook: {url: ...}")
				break
			}
			if r.Webhook.URL.Value() == "" {
				break // the unset variable is already reported
			}
			checkURL(r.Webhook.URL.Value(), p+".webhook.url", false, bad)
		}
		if q := r.QuietHours; q != nil {
			var err error
			if q.loc, err = time.LoadLocation(q.TZ); err != nil || q.TZ == "" {
				bad(p+".quiet_hours.tz", "unknown time zone %q (use an IANA name such as America/Toronto)", q.TZ)
			}
			if q.from, err = clock(q.From); err != nil {
				bad(p+".quiet_hours.from", "%v", err)
			}
			if q.to, err = clock(q.To); err != nil {
				bad(p+".quiet_hours.to", "%v", err)
			}
			if q.Mode == "" {
				q.Mode = "hold"
			}
			if q.Mode != "hold" && q.Mode != "digest" {
				bad(p+".quiet_hours.mode", "unknown mode %q (known: hold, digest)", q.Mode)
			}
		}
		if d := r.Digest; d != nil {
			var err error
			if d.TZ == "" {
				d.TZ = "UTC"
			}
			if d.loc, err = time.LoadLocation(d.TZ); err != nil {
				bad(p+".digest.tz", "unknown time zone %q (use an IANA name such as America/Toronto)", d.TZ)
			}
			if d.at, err = clock(d.At); err != nil {
				bad(p+".digest.at", "%v", err)
			}
		}
	}
	checkRecv := func(path, name string) {
		if name != "" && !names[name] {
			known := make([]string, 0, len(names))
			for n := range names {
				known = append(known, n)
			}
			slices.Sort(known)
			bad(path, "unknown receiver %q (known: %s)", name, strings.Join(known, ", "))
		}
	}
	if c.Default.Receiver == "" {
		bad("default.receiver", "required: the receiver of alerts no route takes")
	}
	checkRecv("default.receiver", c.Default.Receiver)
	if len(c.Default.Match) > 0 || c.Default.Continue {
		bad("default", "the default route takes everything; match and continue belong in routes")
	}
	checkTiming := func(p string, t Timing) {
		for j, g := range t.GroupBy {
			if !knownLabel(g) {
				bad(yamlx.Index(p+".group_by", j), "unknown label %q (known: %s)", g, strings.Join(LabelNames, ", "))
			}
		}
		if t.GroupInterval != nil && *t.GroupInterval == 0 {
			bad(p+".group_interval", "must be greater than 0")
		}
	}
	checkTiming("default", c.Default.Timing)
	for i := range c.Routes {
		r := &c.Routes[i]
		r.Matchers = nil
		p := yamlx.Index("routes", i)
		if r.Receiver == "" {
			bad(p+".receiver", "required")
		}
		checkRecv(p+".receiver", r.Receiver)
		for j, s := range r.Match {
			m, err := ParseMatcher(s)
			if err != nil {
				bad(yamlx.Index(p+".match", j), "%v", err)
				continue
			}
			r.Matchers = append(r.Matchers, m)
		}
		checkTiming(p, r.Timing)
	}
	checkRecv("ops_receiver", c.OpsReceiver)
	ops := c.OpsReceiver
	if ops == "" {
		ops = c.Default.Receiver
	}
	if rc, ok := c.Receiver(ops); ok && c.OpsReceiver == "" && rc.Type != TypeConsole {
		bad("ops_receiver", "required when the default receiver %q is not a console: operations alerts go to administrators, never to the comms channel", ops)
	}
	if c.InhibitRules != nil {
		for i := range *c.InhibitRules {
			r := &(*c.InhibitRules)[i]
			r.Source, r.Target = nil, nil
			p := yamlx.Index("inhibit_rules", i)
			if len(r.SourceMatch) == 0 || len(r.TargetMatch) == 0 {
				bad(p, "an inhibit rule needs source_match and target_match")
			}
			for j, s := range r.SourceMatch {
				m, err := ParseMatcher(s)
				if err != nil {
					bad(yamlx.Index(p+".source_match", j), "%v", err)
					continue
				}
				r.Source = append(r.Source, m)
			}
			for j, s := range r.TargetMatch {
				m, err := ParseMatcher(s)
				if err != nil {
					bad(yamlx.Index(p+".target_match", j), "%v", err)
					continue
				}
				r.Target = append(r.Target, m)
			}
			for j, e := range r.Equal {
				if !knownLabel(e) {
					bad(yamlx.Index(p+".equal", j), "unknown label %q (known: %s)", e, strings.Join(LabelNames, ", "))
				}
			}
			if r.SameWindow == nil {
				t := true
				r.SameWindow = &t
			}
		}
	}
	if c.Delivery.Workers < 0 || c.Delivery.Workers > 64 {
		bad("delivery.workers", "must be between 1 and 64")
	}
	lease, timeout := c.Delivery.Lease.D(), c.Delivery.Timeout.D()
	if lease == 0 {
		lease = 2 * time.Minute
	}
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	if lease <= timeout {
		// a send still running when its lease ends would be claimed and sent twice
		bad("delivery.lease", "must be longer than delivery.timeout (%s)", yamlx.Duration(timeout))
	}
	if c.Delivery.MaxBackoff != 0 && c.Delivery.MinBackoff > c.Delivery.MaxBackoff {
		bad("delivery.min_backoff", "is greater than max_backoff (%s)", c.Delivery.MaxBackoff)
	}
	return errs
}

func checkURL(s, path string, printable bool, bad func(string, string, ...any)) {
	u, err := url.Parse(s)
	if err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		return
	}
	if printable {
		bad(path, "%q is not an http(s) URL", s)
	} else {
		// the URL carries a secret; say what is wrong without printing it
		bad(path, "not an http(s) URL")
	}
}

// clock parses "HH:MM" into minutes after midnight.
func clock(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("want a time of day as HH:MM (24-hour), got %q", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}
