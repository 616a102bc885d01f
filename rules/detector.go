package rules

import (
	"fmt"
	"sort"
	"time"

	"github.com/mpwatch/mpwatch/internal/yamlx"
	"github.com/mpwatch/mpwatch/model"
	"github.com/mpwatch/mpwatch/rules/text"
)

// Item is one reply as the detectors see it: the reply, its normalised text
// (computed once and shared by every rule) and its ingest sequence.
type Item struct {
	Reply model.Reply
	Norm  text.Normalized
	Seq   int64
	// tid is the engine's number for Reply.Target (see targets.go); 0 when
	// the engine did not number the item.
	tid uint32
	// prep is what rules worked out from this reply alone, ahead of
	// Observe (see Preparer).
	prep []itemPrep
}

type itemPrep struct {
	by Preparer
	v  any
}

// Prepared returns what p made of the item when the engine normalised it,
// and whether it did: an item pushed with its Norm already set (or by
// another engine) was not prepared, and the detector does the work itself.
func (it *Item) Prepared(p Preparer) (any, bool) {
	for _, x := range it.prep {
		if x.by == p {
			return x.v, true
		}
	}
	return nil, false
}

// Preparer is per-reply work that depends on the reply and the rule's
// parameters alone, never on the detector's state: the engine runs it on
// its normalising goroutines, where it runs side by side for many replies
// and, in a pipeline (RunPipeline), ahead of the rules still busy with the
// previous batch. It must be safe for concurrent use.
type Preparer interface {
	Prepare(it *Item) any
}

// preparing is a detector with a Preparer. The engine asks once, when it
// builds the detector, and keeps the answer: a detector that restores
// state must keep the same Preparer.
type preparing interface {
	Preparer() Preparer
}

// Finding is what a detector reports at an evaluation: something that is
// abnormal now. The engine turns findings into alert events: it derives the
// deterministic alert key from (rule name, Scope, WindowStart), so a detector
// must report a stable Scope and WindowStart for the same situation across
// evaluations and restarts (for a narrative cluster: the id of its earliest
// reply, and that reply's time truncated to the rule's step).
type Finding struct {
	Scope       string // e.g. "target:mp-a", "target:mp-a/platform:bluesky", "cluster:<id>"
	WindowStart time.Time
	WindowEnd   time.Time
	// Size is the magnitude used to decide whether an open alert grew
	// materially (accounts in a cluster, replies in a spike bucket).
	Size      float64
	Severity  model.Severity // empty means the rule's severity
	Summary   string         // one sentence: why it fired
	Targets   []string
	Platforms []model.Platform
	Accounts  []string // author handles (or ids)
	ReplyIDs  []string // "platform:id", every reply in the evidence
	Metrics   map[string]float64
	Evidence  model.Evidence
}

// Detector is one rule's running state. The engine calls Observe for every
// reply in the rule's scope, in ingest order, and Evaluate at each step with
// the engine's clock. Detectors never read the wall clock.
type Detector interface {
	Observe(it *Item)
	Evaluate(now time.Time) []Finding
	// MarshalState and UnmarshalState make the detector's state durable
	// (baselines, open clusters), so a restart neither forgets nor re-fires.
	MarshalState() ([]byte, error)
	UnmarshalState([]byte) error
}

// Scope limits a rule to some targets, tags, teams or platforms. An empty
// list places no limit; lists combine with AND, entries within one with OR.
type Scope struct {
	Targets   []string         `yaml:"targets,omitempty" json:"targets,omitempty"`
	Tags      []string         `yaml:"tags,omitempty" json:"tags,omitempty"`
	Teams     []string         `yaml:"teams,omitempty" json:"teams,omitempty"`
	Platforms []model.Platform `yaml:"platforms,omitempty" json:"platforms,omitempty"`
}

// Common holds the keys every rule has. Each rule type's spec embeds it with
// `yaml:",inline"` so a rule is one flat YAML mapping.
type Common struct {
	Name        string         `yaml:"name" json:"name"`
	Type        string         `yaml:"type" json:"type"`
	Description string         `yaml:"description,omitempty" json:"description,omitempty"`
	Severity    model.Severity `yaml:"severity,omitempty" json:"severity,omitempty"`
	Enabled     *bool          `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	Scope       Scope          `yaml:"scope,omitempty" json:"scope,omitempty"`
	// ResolveAfter is how long a finding must be absent before its alert is
	// resolved (hysteresis against flapping).
	ResolveAfter yamlx.Duration `yaml:"resolve_after,omitempty" json:"resolve_after,omitempty"`
	// UpdateGrowth is the relative growth of Finding.Size that makes an open
	// alert send an "updated" event (0.5 = +50 %).
	UpdateGrowth float64 `yaml:"update_growth,omitempty" json:"update_growth,omitempty"`
}

// Env is what a detector may use when it is built.
type Env struct {
	// Targets known from the watchlist, by id; empty in replay, where targets
	// come from the input.
	Targets map[string]model.Target
}

// Spec is a parsed rule of one type. A spec is a pointer to a struct that
// embeds Common inline; the loader decodes the rule's YAML mapping into it
// strictly after SetDefaults, then calls Validate.
type Spec interface {
	Base() *Common
	// SetDefaults fills the type's defaults before decoding.
	SetDefaults()
	// Validate reports problems through report, with a key path relative
	// to the rule ("min_accounts", "baseline.window_days").
	Validate(report func(key, format string, args ...any))
	// NewDetector builds the running state for this rule.
	NewDetector(env Env) (Detector, error)
	// Audience is comms for detection rules and ops for flatline.
	Audience() model.Audience
}

var kinds = map[string]func() Spec{}

// register makes a rule type known to the loader. Called from init in the
// file that implements the type.
func register(typ string, newSpec func() Spec) {
	if _, dup := kinds[typ]; dup {
		panic(fmt.Sprintf("rules: type %q registered twice", typ))
	}
	kinds[typ] = newSpec
}

// Types lists the known rule types, sorted.
func Types() []string {
	out := make([]string, 0, len(kinds))
	for k := range kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// NewSpec returns an empty spec of a type, with defaults, or false when the
// type is unknown. (Used by the loader and by JSON Schema generation.)
func NewSpec(typ string) (Spec, bool) {
	f, ok := kinds[typ]
	if !ok {
		return nil, false
	}
	s := f()
	s.SetDefaults()
	return s, true
}
