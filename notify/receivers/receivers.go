// Package receivers builds the notifier of every configured receiver. It is
// the one place that knows all receiver types, so package notify stays free
// of their dependencies.
package receivers

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/mpwatch/mpwatch/notify"
	"github.com/mpwatch/mpwatch/notify/console"
	"github.com/mpwatch/mpwatch/notify/email"
	"github.com/mpwatch/mpwatch/notify/slack"
	"github.com/mpwatch/mpwatch/notify/webhook"
)

// Options are shared by the notifiers.
type Options struct {
	Stdout     io.Writer    // console output; nil is os.Stdout
	HTTPClient *http.Client // nil: each notifier makes one with its timeout
	Now        func() time.Time
}

// Build returns a notifier for each receiver of cfg, by name.
func Build(cfg notify.Config, opts Options) (map[string]notify.Notifier, error) {
	out := map[string]notify.Notifier{}
	for _, r := range cfg.Receivers {
		switch r.Type {
		case notify.TypeConsole:
			out[r.Name] = console.New(opts.Stdout)
		case notify.TypeSlack:
			out[r.Name] = slack.New(*r.Slack, slack.Options{HTTPClient: opts.HTTPClient})
		case notify.TypeEmail:
			out[r.Name] = email.New(*r.Email, email.Options{Now: opts.Now})
		case notify.TypeWebhook:
			out[r.Name] = webhook.New(*r.Webhook, webhook.Options{HTTPClient: opts.HTTPClient, Now: opts.Now})
		default:
			return nil, fmt.Errorf("notify: receiver %q: unknown type %q", r.Name, r.Type)
		}
	}
	return out, nil
}
