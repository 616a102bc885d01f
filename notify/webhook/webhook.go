// Package webhook POSTs the machine form of each notify message as JSON, for
// other tools. The body is Payload; alerts carry every field of model.Alert
// (all reply ids of the evidence included). JSON encoding escapes <, > and &,
// so the body is safe to embed in HTML as well.
//
// 2xx is success; 408, 429 and 5xx are retried (429 and 503 honour
// Retry-After); any other status is a permanent failure.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/mpwatch/mpwatch/model"
	"github.com/mpwatch/mpwatch/notify"
)

// Version is the payload format version; it changes only with incompatible changes.
const Version = "1"

// Payload is the JSON body.
type Payload struct {
	Version     string             `json:"version"`
	ID          string             `json:"id"` // delivery id: the same on a retry, for de-duplication
	Kind        notify.MessageKind `json:"kind"`
	Receiver    string             `json:"receiver"`
	GroupKey    string             `json:"group_key"`
	GroupLabels map[string]string  `json:"group_labels,omitempty"`
	Alerts      []model.Alert      `json:"alerts"`
	From        time.Time          `json:"from,omitzero"`
	To          time.Time          `json:"to,omitzero"`
	SentAt      time.Time          `json:"sent_at"`
}

// Notifier posts to one URL.
type Notifier struct {
	url    string
	client *http.Client
	now    func() time.Time
}

// Options are the notifier's injected dependencies.
type Options struct {
	HTTPClient *http.Client
	Now        func() time.Time
}

// New makes a notifier for cfg.
func New(cfg notify.WebhookConfig, opts Options) *Notifier {
	hc := opts.HTTPClient
	if hc == nil {
		t := cfg.Timeout.D()
		if t == 0 {
			t = 10 * time.Second
		}
		hc = &http.Client{Timeout: t}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Notifier{url: cfg.URL.Value(), client: hc, now: opts.Now}
}

// Notify posts the message. The URL is never put in errors (it may hold a token).
func (n *Notifier) Notify(ctx context.Context, m notify.Message) (notify.Receipt, error) {
	p := Payload{Version: Version, ID: m.ID, Kind: m.Kind, Receiver: m.Receiver, GroupKey: m.GroupKey, GroupLabels: m.GroupLabels,
		Alerts: m.Alerts, From: m.From, To: m.To, SentAt: n.now().UTC()}
	if p.Alerts == nil {
		p.Alerts = []model.Alert{}
	}
	body, err := json.Marshal(p)
	if err != nil {
		return notify.Receipt{}, notify.Permanent(fmt.Errorf("encode webhook payload: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url, bytes.NewReader(body))
	if err != nil {
		return notify.Receipt{}, notify.Permanent(fmt.Errorf("build webhook request: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "mpwatch-notify/"+Version)
	resp, err := n.client.Do(req)
	if err != nil {
		// *url.Error carries the URL; keep only what happened
		return notify.Receipt{}, notify.Retryable(fmt.Errorf("post webhook: %w", unwrapURL(err)), 0)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return notify.Receipt{}, nil
	case c == http.StatusTooManyRequests || c == http.StatusRequestTimeout || c >= 500:
		return notify.Receipt{}, notify.Retryable(fmt.Errorf("post webhook: %s", resp.Status), retryAfter(resp.Header.Get("Retry-After"), n.now()))
	default:
		return notify.Receipt{}, notify.Permanent(fmt.Errorf("post webhook: %s", resp.Status))
	}
}

func unwrapURL(err error) error {
	if ue, ok := err.(interface{ Unwrap() error }); ok {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}

// retryAfter reads Retry-After as seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
