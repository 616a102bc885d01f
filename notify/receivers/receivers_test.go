package receivers_test

import (
	"testing"

	"github.com/mpwatch/mpwatch/internal/yamlx"
	"github.com/mpwatch/mpwatch/notify"
	"github.com/mpwatch/mpwatch/notify/console"
	"github.com/mpwatch/mpwatch/notify/email"
	"github.com/mpwatch/mpwatch/notify/receivers"
	"github.com/mpwatch/mpwatch/notify/slack"
	"github.com/mpwatch/mpwatch/notify/webhook"
)

func TestBuildsOneNotifierPerReceiver(t *testing.T) {
	doc, err := yamlx.Parse("config.yaml", []byte(`
notify:
  receivers:
    - {name: c, type: console}
    - {name: s, type: slack, slack: {webhook_url: "https://hooks.slack.com/services/T/B/X"}}
    - {name: e, type: email, email: {host: smtp.example.org, from: a@example.org, to: [b@example.org]}}
    - {name: w, type: webhook, webhook: {url: "https://tools.example.org/hook"}}
  default: {receiver: c}
`))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := notify.ParseConfig(yamlx.Section{Doc: doc, Node: yamlx.Get(doc.Root, "notify"), Path: "notify"})
	if err != nil {
		t.Fatal(err)
	}
	ns, err := receivers.Build(cfg, receivers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ns["c"].(*console.Notifier); !ok {
		t.Errorf("c is %T", ns["c"])
	}
	if _, ok := ns["s"].(*slack.Notifier); !ok {
		t.Errorf("s is %T", ns["s"])
	}
	if _, ok := ns["e"].(*email.Notifier); !ok {
		t.Errorf("e is %T", ns["e"])
	}
	if _, ok := ns["w"].(*webhook.Notifier); !ok {
		t.Errorf("w is %T", ns["w"])
	}
	if len(ns) != 4 {
		t.Errorf("%d notifiers", len(ns))
	}
}
