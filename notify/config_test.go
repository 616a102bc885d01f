package notify_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/internal/yamlx"
	"github.com/mpwatch/mpwatch/notify"
)

func parseErr(t *testing.T, src string) string {
	t.Helper()
	doc, err := yamlx.Parse("config.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	_, err = notify.ParseConfig(yamlx.Section{Doc: doc, Node: yamlx.Get(doc.Root, "notify"), Path: "notify"})
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestParseConfigReportsEveryProblemWithPosition(t *testing.T) {
	old := yamlx.LookupEnv
	yamlx.LookupEnv = func(k string) (string, bool) {
		if k == "SLACK_TOKEN" {
			return "xoxb-very-secret", true
		}
		return "", false
	}
	t.Cleanup(func() { yamlx.LookupEnv = old })
	src := `notify:
  receivers:
    - name: comms
      type: slack
      slack: {token: "${SLACK_TOKEN}"}
    - name: x
      type: slak
    - name: mail
      type: email
      email: {host: smtp.example.org, from: "not an address", to: [], tls: ssl}
      quiet_hours: {tz: Mars/Base, from: "22:00", to: "7am", mode: sleep}
    - name: hook
      type: webhook
      webhook: {url: "${HOOK_URL}"}
      colour: red
  default:
    receiver: comms
    group_by: [rule, mp]
  routes:
    - receiver: nobody
      match: ["severity=~(", "riding=east"]
  inhibit_rules:
    - source_match: [type=narrative]
      equal: [target]
`
	got := parseErr(t, src)
	want := []string{
		`config.yaml:5:14: notify.receivers[0].slack.channel: a bot token needs a channel`,
		`config.yaml:7:13: notify.receivers[1].type: unknown receiver type "slak" (known: console, email, slack, webhook)`,
		`config.yaml:10:67: notify.receivers[2].email.to: at least one recipient is required`,
		`notify.receivers[2].email.from: bad address "not an address"`,
		`config.yaml:10:76: notify.receivers[2].email.tls: unknown tls mode "ssl" (known: starttls, tls, none)`,
		`notify.receivers[2].quiet_hours.tz: unknown time zone "Mars/Base"`,
		`notify.receivers[2].quiet_hours.to: want a time of day as HH:MM (24-hour), got "7am"`,
		`notify.receivers[2].quiet_hours.mode: unknown mode "sleep" (known: hold, digest)`,
		`config.yaml:14:22: notify.receivers[3].webhook.url: environment variable HOOK_URL is not set`,
		`config.yaml:15:7: notify.receivers[3].colour: unknown key "colour"`,
		`config.yaml:18:22: notify.default.group_by[1]: unknown label "mp"`,
		`config.yaml:20:17: notify.routes[0].receiver: unknown receiver "nobody" (known: comms, hook, mail, x)`,
		`config.yaml:21:15: notify.routes[0].match[0]: matcher "severity=~(": bad regular expression`,
		`config.yaml:21:30: notify.routes[0].match[1]: matcher "riding=east": unknown label "riding"`,
		`config.yaml:23:7: notify.inhibit_rules[0]: an inhibit rule needs source_match and target_match`,
		`notify.ops_receiver: required when the default receiver "comms" is not a console`,
	}
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q", w)
		}
	}
	if strings.Contains(got, "xoxb-very-secret") {
		t.Fatal("secret leaked into errors")
	}
	if t.Failed() {
		t.Logf("got:\n%s", got)
	}
}

func TestAbsentSectionIsOneConsole(t *testing.T) {
	c, err := notify.ParseConfig(yamlx.Section{Path: "notify"})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Receivers) != 1 || c.Receivers[0].Type != notify.TypeConsole || c.Default.Receiver != "console" || c.OpsReceiver != "console" {
		t.Fatalf("got %+v", c)
	}
	if c.Default.GroupWait.D() != 30*time.Second || c.Default.GroupInterval.D() != 5*time.Minute || c.Default.RepeatInterval.D() != 4*time.Hour {
		t.Fatalf("timing %+v", c.Default.Timing)
	}
	if len(*c.InhibitRules) != 1 {
		t.Fatal("default inhibit rule missing")
	}
}

func TestRouteInheritsDefaultTiming(t *testing.T) {
	c := parseConfig(t, `
notify:
  receivers: [{name: c, type: console}, {name: d, type: console}]
  default: {receiver: c, group_wait: 10s, repeat_interval: 0s}
  routes:
    - {receiver: d, match: [team=east], group_interval: 1m}
`)
	r := c.Routes[0]
	if r.GroupWait.D() != 10*time.Second || r.GroupInterval.D() != time.Minute || r.RepeatInterval.D() != 0 || len(r.Matchers) != 1 {
		t.Fatalf("route %+v", r)
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	old := yamlx.LookupEnv
	yamlx.LookupEnv = func(k string) (string, bool) { return "https://hooks.slack.com/services/T/B/very-secret", true }
	t.Cleanup(func() { yamlx.LookupEnv = old })
	c := parseConfig(t, `
notify:
  receivers: [{name: c, type: slack, slack: {webhook_url: "${HOOK}"}}, {name: a, type: console}]
  default: {receiver: c}
  ops_receiver: a
`)
	r, _ := c.Receiver("c")
	if r.Slack.WebhookURL.Value() == "" {
		t.Fatal("secret not read")
	}
	for _, s := range []string{fmtAll(c), fmtAll(r.Slack)} {
		if strings.Contains(s, "very-secret") {
			t.Fatalf("secret printed: %s", s)
		}
	}
}

func fmtAll(v any) string {
	return strings.Join([]string{fmt.Sprintf("%v", v), fmt.Sprintf("%+v", v), fmt.Sprintf("%#v", v)}, "\n")
}

func TestEmptySectionAndDeliveryChecks(t *testing.T) {
	for _, src := range []string{"notify:\n", "notify: {}\n"} {
		if got := parseErr(t, src); got != "" {
			t.Errorf("%q: %s", src, got)
		}
	}
	got := parseErr(t, "notify:\n  delivery: {lease: 10s, timeout: 30s, min_backoff: 10m, max_backoff: 1m, workers: 100}\n")
	for _, w := range []string{
		`config.yaml:2:21: notify.delivery.lease: must be longer than delivery.timeout (30s)`,
		`notify.delivery.min_backoff: is greater than max_backoff (1m0s)`,
		`notify.delivery.workers: must be between 1 and 64`,
	} {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in\n%s", w, got)
		}
	}
}
