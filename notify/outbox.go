package notify

import (
	"context"
	"time"

	"github.com/mpwatch/mpwatch/model"
)

// Outbox is the durable state notify needs; *store.DB implements it (see
// store/outbox.go). Each method is one transaction.
type Outbox interface {
	SilenceStore
	// Enqueue records events and per-receiver notes before anything is
	// sent; an event seen before is ignored. Returns how many were new.
	Enqueue(ctx context.Context, now time.Time, events []model.OutboxEvent) (int, error)
	// ActiveAlerts is the latest event of each unresolved alert naming target.
	ActiveAlerts(ctx context.Context, target string) ([]model.Alert, error)
	Threads(ctx context.Context, receiver string, alertKeys []string) (map[string]model.OutboxThread, error)
	DueGroups(ctx context.Context, now time.Time, limit int) ([]model.OutboxGroup, error)
	GroupPending(ctx context.Context, groupKey string) ([]model.Alert, error)
	GroupActive(ctx context.Context, groupKey string) ([]model.Alert, error)
	RescheduleGroup(ctx context.Context, groupKey string, nextFlush, repeatAt time.Time) error
	AddDelivery(ctx context.Context, now time.Time, d model.OutboxDelivery, repeatAt time.Time) (int64, error)
	ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]model.OutboxDelivery, error)
	MarkSent(ctx context.Context, id int64, now time.Time, receiver, thread string, alertKeys []string) error
	MarkRetry(ctx context.Context, id int64, next time.Time, errMsg string) error
	MarkFailed(ctx context.Context, id int64, now time.Time, errMsg string) error
}

// SilenceStore keeps silences; the CLI uses it without a Dispatcher.
type SilenceStore interface {
	AddSilence(ctx context.Context, s model.Silence) error
	Silences(ctx context.Context) ([]model.Silence, error)
	ExpireSilence(ctx context.Context, id string, now time.Time) (bool, error)
}

// Note states recorded in the outbox.
const (
	StatePending    = "pending"    // waiting in its group
	StateSilenced   = "silenced"   // a silence matched
	StateInhibited  = "inhibited"  // an inhibit rule matched
	StateSuppressed = "suppressed" // realert: an update too soon after the last send
	StateSkipped    = "skipped"    // resolved, and the receiver does not want resolved notices
)
