package rules

import (
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/mpwatch/mpwatch/model"
	"github.com/mpwatch/mpwatch/rules/text"
)

// OrganicCrowd says when the distinct accounts behind a volume signal (the
// repliers to one post in a spike, the accounts in a burst) look like an
// ordinary crowd rather than a network: their ages mostly known, few of them
// new, few with auto-generated handles, few of their texts copies. It only
// ever keeps an alert quiet; it never fires one.
//
// A network of old, bought or hijacked accounts writing their own words
// passes it: that is the price of not paging anyone for a viral post, and the
// narrative and co-reply rules still watch what those accounts write and
// where they go together.
type OrganicCrowd struct {
	// NewAccountDays: an account younger than this when it replied is new.
	NewAccountDays int `yaml:"new_account_days" json:"new_account_days"`
	// HandleTrailingDigits: a handle whose user part ends in this many
	// digits is digit-suffixed (auto-generated names).
	HandleTrailingDigits int `yaml:"handle_trailing_digits" json:"handle_trailing_digits"`
	// MinKnownShare of the accounts must have a known creation date: a
	// crowd is vouched for only on evidence.
	MinKnownShare float64 `yaml:"min_known_share" json:"min_known_share"`
	// MaxNewShare of the dated accounts may be new.
	MaxNewShare float64 `yaml:"max_new_share" json:"max_new_share"`
	// MaxDigitShare of the accounts with a handle may be digit-suffixed.
	MaxDigitShare float64 `yaml:"max_digit_share" json:"max_digit_share"`
	// MaxCopyShare of the long replies (25+ letters or 13+ Han characters
	// after normalisation) may repeat another reply's text exactly: old,
	// hijacked accounts pasting one line are not a crowd.
	MaxCopyShare float64 `yaml:"max_copy_share" json:"max_copy_share"`
}

func (o *OrganicCrowd) validate(prefix string, report func(key, format string, args ...any)) {
	if o.NewAccountDays == 0 {
		o.NewAccountDays = 90
	}
	if o.HandleTrailingDigits == 0 {
		o.HandleTrailingDigits = 6
	}
	if o.NewAccountDays < 1 {
		report(prefix+".new_account_days", "must be at least 1")
	}
	if o.HandleTrailingDigits < 1 {
		report(prefix+".handle_trailing_digits", "must be at least 1")
	}
	for _, f := range []struct {
		key string
		v   float64
	}{{"min_known_share", o.MinKnownShare}, {"max_new_share", o.MaxNewShare}, {"max_digit_share", o.MaxDigitShare}, {"max_copy_share", o.MaxCopyShare}} {
		if f.v < 0 || f.v > 1 {
			report(prefix+"."+f.key, "must be a share between 0 and 1, got %g", f.v)
		}
	}
}

const (
	crowdDated  uint8 = 1 << iota // the author's creation date is known
	crowdNew                      // ...and the account was new when it replied
	crowdHandle                   // the author has a handle
	crowdDigits                   // ...ending in many digits
)

// flags describes an author, replying at time at, for the crowd test.
func (o *OrganicCrowd) flags(a model.Author, at time.Time) uint8 {
	var f uint8
	if a.CreatedAt != nil {
		f |= crowdDated
		if at.Sub(*a.CreatedAt) < time.Duration(o.NewAccountDays)*24*time.Hour {
			f |= crowdNew
		}
	}
	if h := signalHandle(a.Handle); h != "" {
		f |= crowdHandle
		if signalDigits(h) >= o.HandleTrailingDigits {
			f |= crowdDigits
		}
	}
	return f
}

// crowdText is a normalised text's hash when it is long enough to count as
// a copy, else 0: short replies ("thank you!", "congrats") repeat in any
// crowd. The floors are the narrative rules' defaults.
func crowdText(n text.Normalized) uint64 {
	if !crowdLong(n) {
		return 0
	}
	return xxhash.Sum64String(n.Text)
}

// crowdLong reports whether a text is long enough for crowdText to hash.
func crowdLong(n text.Normalized) bool { return n.Latin*13+n.Han*25 >= 25*13 }

// crowdTally counts a crowd for OrganicCrowd.organic.
type crowdTally struct {
	n, dated, young, handles, digits float64
	texts                            map[uint64]int
}

// add counts one reply: its author's flags when it is the author's first in
// the crowd (newAcct), its text hash (0 for short texts) always.
func (t *crowdTally) add(flags uint8, txt uint64, newAcct bool) {
	if txt != 0 {
		if t.texts == nil {
			t.texts = map[uint64]int{}
		}
		t.texts[txt]++
	}
	if !newAcct {
		return
	}
	t.n++
	if flags&crowdDated != 0 {
		t.dated++
		if flags&crowdNew != 0 {
			t.young++
		}
	}
	if flags&crowdHandle != 0 {
		t.handles++
		if flags&crowdDigits != 0 {
			t.digits++
		}
	}
}

func (o *OrganicCrowd) organic(t crowdTally) bool {
	if t.n == 0 || t.dated == 0 || t.dated/t.n < o.MinKnownShare {
		return false
	}
	if t.young/t.dated > o.MaxNewShare {
		return false
	}
	if t.handles > 0 && t.digits/t.handles > o.MaxDigitShare {
		return false
	}
	long, copies := 0.0, 0.0
	for _, c := range t.texts {
		long += float64(c)
		if c > 1 {
			copies += float64(c)
		}
	}
	return long == 0 || copies/long <= o.MaxCopyShare
}
