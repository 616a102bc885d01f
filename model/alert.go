package model

import (
	"strconv"
	"time"
)

// Severity orders how urgent an alert is.
type Severity string

const (
	SeverityInfo     Severity = "info"
	SeverityWarning  Severity = "warning"
	SeverityHigh     Severity = "high"
	SeverityCritical Severity = "critical"
)

// Severities lists the severities from least to most urgent.
func Severities() []Severity {
	return []Severity{SeverityInfo, SeverityWarning, SeverityHigh, SeverityCritical}
}

// Rank is the severity's position in Severities, or -1 when unknown.
func (s Severity) Rank() int {
	for i, k := range Severities() {
		if s == k {
			return i
		}
	}
	return -1
}

// Valid reports whether s is a known severity.
func (s Severity) Valid() bool { return s.Rank() >= 0 }

// AlertStatus is where an alert is in its lifecycle.
type AlertStatus string

const (
	StatusFiring   AlertStatus = "firing"   // first detection
	StatusUpdated  AlertStatus = "updated"  // grew materially since the last event
	StatusResolved AlertStatus = "resolved" // quiet for the rule's clear period
)

// Audience says who an alert is for. Operations alerts (a source failing, a
// flatline) go to administrators and never to the communications channel.
type Audience string

const (
	AudienceComms Audience = "comms"
	AudienceOps   Audience = "ops"
)

// Alert is one event in an alert's life. Key is deterministic (rule, scope,
// window start), so re-evaluating the same data yields the same key; Seq counts
// the events of that key (1 = firing), so (Key, Seq) names one event and the
// outbox delivers each event to each receiver once.
type Alert struct {
	Key         string             `json:"key"`
	Seq         int                `json:"seq"`
	Rule        string             `json:"rule"`
	Type        string             `json:"type"`
	Severity    Severity           `json:"severity"`
	Status      AlertStatus        `json:"status"`
	Audience    Audience           `json:"audience"`
	Targets     []string           `json:"targets"`
	Platforms   []Platform         `json:"platforms"`
	Teams       []string           `json:"teams,omitempty"`
	Tags        []string           `json:"tags,omitempty"`
	WindowStart time.Time          `json:"window_start"`
	WindowEnd   time.Time          `json:"window_end"`
	FiredAt     time.Time          `json:"fired_at"`
	Summary     string             `json:"summary"`
	Metrics     map[string]float64 `json:"metrics,omitempty"`
	Accounts    []string           `json:"accounts,omitempty"`
	ReplyIDs    []string           `json:"reply_ids,omitempty"`
	Evidence    Evidence           `json:"evidence"`
}

// EventID names this event of the alert: "key#seq".
func (a Alert) EventID() string { return a.Key + "#" + strconv.Itoa(a.Seq) }

// Evidence is what a person needs to act on an alert from the message alone.
type Evidence struct {
	// Reason is the one sentence that says why the rule fired.
	Reason string `json:"reason"`
	// Count, Baseline, Ratio and Z are the numbers against normal, where the
	// rule has them (zero otherwise).
	Count    float64 `json:"count,omitempty"`
	Baseline float64 `json:"baseline,omitempty"`
	Ratio    float64 `json:"ratio,omitempty"`
	Z        float64 `json:"z,omitempty"`
	// Representative is the text that stands for a narrative cluster.
	Representative string          `json:"representative,omitempty"`
	Samples        []Sample        `json:"samples,omitempty"`
	Signals        *AccountSignals `json:"signals,omitempty"`
	// Posts are the URLs of the watched posts the replies were under.
	Posts []string `json:"posts,omitempty"`
	// Link is the evidence page, filled in by whoever knows the public URL.
	Link string `json:"link,omitempty"`
}

// Sample is one reply quoted as evidence.
type Sample struct {
	ReplyKey  string    `json:"reply_key"`
	Platform  Platform  `json:"platform"`
	Target    string    `json:"target"`
	URL       string    `json:"url,omitempty"`
	Author    string    `json:"author"`
	AuthorURL string    `json:"author_url,omitempty"`
	Text      string    `json:"text"`
	CreatedAt time.Time `json:"created_at"`
}

// AccountSignals summarise the accounts behind an alert. They inform a reader;
// they never fire an alert alone.
type AccountSignals struct {
	Accounts           int     `json:"accounts"`
	NewAccountShare    float64 `json:"new_account_share"`  // created within new_account_days
	DigitHandleShare   float64 `json:"digit_handle_share"` // handle ends in many digits
	LowFollowerShare   float64 `json:"low_follower_share"` // followers <= followers_max
	DefaultAvatarShare float64 `json:"default_avatar_share"`
	OfficeHoursZone    string  `json:"office_hours_zone,omitempty"`
	OfficeHoursShare   float64 `json:"office_hours_share,omitempty"`
	Score              float64 `json:"score"` // 0..1
}
