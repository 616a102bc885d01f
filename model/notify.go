package model

import "time"

// The types below are the seam between notify and its durable outbox in the
// store (notify.Outbox, implemented by *store.DB). They live here because the
// two packages never import each other; only notify gives them meaning.

// OutboxEvent is one alert event with what routing decided for each receiver.
type OutboxEvent struct {
	Alert Alert
	Notes []OutboxNote
}

// OutboxNote is the fate of one (event, receiver): State "pending" waits in
// its group for a send; "silenced", "inhibited", "suppressed" and "skipped"
// are recorded with Reason and never sent.
type OutboxNote struct {
	Receiver string
	GroupKey string
	Route    string
	Labels   map[string]string // the group's label values
	State    string
	Reason   string
	// FirstFlush is when an idle group sends at the earliest (now+group_wait,
	// or the digest time); Interval (group_interval) is the least gap after
	// the group's previous flush.
	FirstFlush time.Time
	Interval   time.Duration
}

// OutboxGroup is the durable state of one notification group.
type OutboxGroup struct {
	Key         string
	Receiver    string
	Route       string
	Labels      map[string]string
	NextFlushAt time.Time // zero: nothing waiting
	LastFlushAt time.Time
	RepeatAt    time.Time // zero: no reminder due (nothing firing)
}

// OutboxDelivery is one message to one receiver, sent at most once unless the
// sender died between the remote call and recording it.
type OutboxDelivery struct {
	ID        int64
	Receiver  string
	GroupKey  string
	Kind      string
	Message   []byte   // the notify.Message, JSON
	EventIDs  []string // the notes it carries (marked batched when it is added)
	Attempts  int
	CreatedAt time.Time
}

// OutboxThread is what a receiver last said about an alert key.
type OutboxThread struct {
	Ref        string // Slack ts or email Message-ID of the first message
	LastSentAt time.Time
}

// Silence mutes alerts matching all its matchers between StartsAt and EndsAt.
type Silence struct {
	ID        string           `json:"id"`
	Matchers  []SilenceMatcher `json:"matchers"`
	StartsAt  time.Time        `json:"starts_at"`
	EndsAt    time.Time        `json:"ends_at"`
	Author    string           `json:"author"`
	Reason    string           `json:"reason"`
	CreatedAt time.Time        `json:"created_at"`
}

// SilenceMatcher is a stored label matcher (see notify.ParseMatcher).
type SilenceMatcher struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	IsRegex bool   `json:"is_regex,omitempty"`
	Negate  bool   `json:"negate,omitempty"`
}
