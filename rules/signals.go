package rules

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // office-hours signalZones must load on hosts without zoneinfo

	"github.com/mpwatch/mpwatch/model"
)

// SignalConfig sets how account signals are scored (detection.md
// account_signals). Signals describe the accounts behind a finding for the
// reader; they never fire an alert on their own.
type SignalConfig struct {
	// NewAccountDays: an account created less than this many days before the
	// evaluation counts as new.
	NewAccountDays int `yaml:"new_account_days" json:"new_account_days"`
	// HandleTrailingDigits: a handle whose local part ends in at least this
	// many digits counts as digit-suffixed (X gives name+8 digits by default).
	HandleTrailingDigits int `yaml:"handle_trailing_digits" json:"handle_trailing_digits"`
	// FollowersMax: an account with at most this many followers counts as
	// low-follower (only accounts whose profile is known are counted).
	FollowersMax int `yaml:"followers_max" json:"followers_max"`
	// OfficeHoursZone is the IANA time zone of the suspected operators'
	// working day (Asia/Shanghai for Spamouflage shift work).
	OfficeHoursZone string `yaml:"office_hours_zone" json:"office_hours_zone"`
	// OfficeHours are local hour ranges "HH-HH" (start inclusive, end
	// exclusive) of that working day.
	OfficeHours []string `yaml:"office_hours" json:"office_hours"`
}

// DefaultSignalConfig is detection.md's account_signals.
func DefaultSignalConfig() SignalConfig {
	return SignalConfig{
		NewAccountDays:       90,
		HandleTrailingDigits: 6,
		FollowersMax:         10,
		OfficeHoursZone:      "Asia/Shanghai",
		OfficeHours:          []string{"09-12", "14-18", "19-22"},
	}
}

// Validate reports bad values under prefix (the key the config sits at,
// e.g. "signals").
func (c SignalConfig) Validate(prefix string, report func(key, format string, args ...any)) {
	key := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	if c.NewAccountDays < 1 {
		report(key("new_account_days"), "must be at least 1, got %d", c.NewAccountDays)
	}
	if c.HandleTrailingDigits < 1 {
		report(key("handle_trailing_digits"), "must be at least 1, got %d", c.HandleTrailingDigits)
	}
	if c.FollowersMax < 0 {
		report(key("followers_max"), "must not be negative, got %d", c.FollowersMax)
	}
	if c.OfficeHoursZone != "" {
		if _, err := signalZone(c.OfficeHoursZone); err != nil {
			report(key("office_hours_zone"), "unknown time zone %q (use an IANA name such as Asia/Shanghai)", c.OfficeHoursZone)
		}
	}
	for i, h := range c.OfficeHours {
		if _, _, err := signalHours(h); err != nil {
			report(fmt.Sprintf("%s[%d]", key("office_hours"), i), "%v", err)
		}
	}
}

var signalZones sync.Map // zone name -> *time.Location; loading reads tzdata

func signalZone(name string) (*time.Location, error) {
	if l, ok := signalZones.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	signalZones.Store(name, l)
	return l, nil
}

func signalHours(s string) (from, to int, err error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
	if ok {
		from, err = strconv.Atoi(a)
		if err == nil {
			to, err = strconv.Atoi(b)
		}
	}
	if !ok || err != nil || from < 0 || to > 24 || from >= to {
		return 0, 0, fmt.Errorf("hour range %q must be HH-HH with 0 <= start < end <= 24, e.g. 09-12", s)
	}
	return from, to, nil
}

// ComputeSignals summarises the accounts behind a finding. authors are the
// distinct accounts; times are the reply times (one per reply, any order),
// used for the office-hours share. Shares of profile signals are over the
// accounts whose profile is known (creation date, or any count), so sources
// that give only a name (html) do not read as "all low-follower". Score is the
// mean of the profile shares and of the office-hours excess over what
// round-the-clock traffic would give, in 0..1.
func ComputeSignals(authors []model.Author, times []time.Time, now time.Time, cfg SignalConfig) model.AccountSignals {
	s := model.AccountSignals{Accounts: len(authors)}
	var (
		newAcc, dated     float64
		digits, handles   float64
		low, avatar, prof float64
	)
	for _, a := range authors {
		if a.CreatedAt != nil {
			dated++
			if now.Sub(*a.CreatedAt) < time.Duration(cfg.NewAccountDays)*24*time.Hour {
				newAcc++
			}
		}
		if h := signalHandle(a.Handle); h != "" {
			handles++
			if cfg.HandleTrailingDigits > 0 && signalDigits(h) >= cfg.HandleTrailingDigits {
				digits++
			}
		}
		if a.CreatedAt != nil || a.Followers > 0 || a.Following > 0 || a.Posts > 0 {
			prof++
			if a.Followers <= cfg.FollowersMax {
				low++
			}
			if a.DefaultAvatar {
				avatar++
			}
		}
	}
	share := func(x, n float64) float64 {
		if n == 0 {
			return 0
		}
		return math.Round(1000*x/n) / 1000
	}
	s.NewAccountShare = share(newAcc, dated)
	s.DigitHandleShare = share(digits, handles)
	s.LowFollowerShare = share(low, prof)
	s.DefaultAvatarShare = share(avatar, prof)
	parts := []float64{s.NewAccountShare, s.DigitHandleShare, s.LowFollowerShare, s.DefaultAvatarShare}
	if loc, err := signalZone(cfg.OfficeHoursZone); err == nil && cfg.OfficeHoursZone != "" && len(cfg.OfficeHours) > 0 && len(times) > 0 {
		var inHour [24]bool
		covered := 0
		for _, h := range cfg.OfficeHours {
			from, to, err := signalHours(h)
			if err != nil {
				continue
			}
			for x := from; x < to; x++ {
				if !inHour[x] {
					inHour[x] = true
					covered++
				}
			}
		}
		in := 0
		for _, t := range times {
			if inHour[t.In(loc).Hour()] {
				in++
			}
		}
		s.OfficeHoursZone = cfg.OfficeHoursZone
		s.OfficeHoursShare = share(float64(in), float64(len(times)))
		if base := float64(covered) / 24; base < 1 {
			parts = append(parts, math.Max(0, (s.OfficeHoursShare-base)/(1-base)))
		}
	}
	var sum float64
	for _, p := range parts {
		sum += p
	}
	s.Score = math.Round(1000*sum/float64(len(parts))) / 1000
	return s
}

// signalHandle is the user part of a handle: "@user123@host" and
// "user123.bsky.social" both give "user123".
func signalHandle(h string) string {
	h = strings.TrimLeft(h, "@")
	if i := strings.IndexAny(h, "@."); i >= 0 {
		h = h[:i]
	}
	return h
}

func signalDigits(s string) int {
	n := 0
	for i := len(s) - 1; i >= 0 && s[i] >= '0' && s[i] <= '9'; i-- {
		n++
	}
	return n
}
