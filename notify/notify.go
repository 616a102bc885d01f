package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mpwatch/mpwatch/model"
)

// MessageKind says why a message is being sent.
type MessageKind string

const (
	KindAlert    MessageKind = "alert"    // new or changed alerts of a group
	KindReminder MessageKind = "reminder" // unchanged firing alerts, after repeat_interval
	KindDigest   MessageKind = "digest"   // a summary of everything since the last digest
	KindTest     MessageKind = "test"     // monitor notify-test
)

// Message is one notification to one receiver: the alerts of one group (1..n),
// a digest, or a test. Every field that came from the outside world
// (summaries, sample replies, names, URLs) is untrusted; each notifier escapes
// it for its own sink.
type Message struct {
	ID          string            `json:"id"` // delivery id, stable across retries
	Kind        MessageKind       `json:"kind"`
	Receiver    string            `json:"receiver"`
	GroupKey    string            `json:"group_key"`
	GroupLabels map[string]string `json:"group_labels,omitempty"`
	// Alerts are the latest events of the group's alerts, most severe first.
	Alerts []model.Alert `json:"alerts"`
	// Thread is the reference a previous message about these alerts got back
	// from this receiver (Slack ts, email Message-ID); empty for a first message.
	Thread string `json:"thread,omitempty"`
	// From and To bound a digest.
	From      time.Time `json:"from,omitzero"`
	To        time.Time `json:"to,omitzero"`
	CreatedAt time.Time `json:"created_at"`
}

// EventIDs lists the events the message carries.
func (m Message) EventIDs() []string {
	out := make([]string, len(m.Alerts))
	for i, a := range m.Alerts {
		out[i] = a.EventID()
	}
	return out
}

// Receipt is what a notifier learnt by sending: the reference later messages
// about the same alerts thread under (Slack ts, email Message-ID), if any.
type Receipt struct {
	Thread string
}

// Notifier sends a message to one receiver. An error is retried with backoff
// unless it is a *PermanentError; a *RetryableError may say how long to wait.
type Notifier interface {
	Notify(ctx context.Context, m Message) (Receipt, error)
}

// NotifierFunc adapts a function to Notifier.
type NotifierFunc func(ctx context.Context, m Message) (Receipt, error)

// Notify calls f.
func (f NotifierFunc) Notify(ctx context.Context, m Message) (Receipt, error) { return f(ctx, m) }

// RetryableError is a failure worth retrying (HTTP 429, 5xx, a timeout).
// RetryAfter, when set, is the wait the remote side asked for.
type RetryableError struct {
	Err        error
	RetryAfter time.Duration
}

func (e *RetryableError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("%v (retry after %s)", e.Err, e.RetryAfter)
	}
	return e.Err.Error()
}
func (e *RetryableError) Unwrap() error { return e.Err }

// PermanentError is a failure that retrying cannot fix (bad token, unknown
// channel, rejected recipient). The delivery is marked failed and the
// administrators are told.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as a *PermanentError.
func Permanent(err error) error { return &PermanentError{Err: err} }

// Retryable wraps err as a *RetryableError waiting at least after.
func Retryable(err error, after time.Duration) error {
	return &RetryableError{Err: err, RetryAfter: after}
}

// IsPermanent reports whether err is (or wraps) a *PermanentError.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// retryAfter returns the wait a *RetryableError asks for, or 0.
func retryAfter(err error) time.Duration {
	var r *RetryableError
	if errors.As(err, &r) {
		return r.RetryAfter
	}
	return 0
}
