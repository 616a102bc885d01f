package crawler

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RateLimit is what a response said about the client's request budget.
type RateLimit struct {
	Limit     int
	Remaining int
	Reset     time.Time // zero when the server did not say
}

// ParseRateLimit reads the rate-limit headers platforms send:
// X-RateLimit-* (Mastodon, GoToSocial: reset as ISO 8601), x-rate-limit-*
// (X: reset as epoch seconds) and the IETF draft RateLimit-* (reset as
// seconds from now). ok is false when no remaining count is present.
func ParseRateLimit(h http.Header, now time.Time) (RateLimit, bool) {
	for _, p := range []string{"X-Ratelimit-", "X-Rate-Limit-", "Ratelimit-"} {
		rem := strings.TrimSpace(h.Get(p + "Remaining"))
		if rem == "" {
			continue
		}
		n, err := strconv.Atoi(rem)
		if err != nil {
			continue
		}
		rl := RateLimit{Remaining: n, Limit: -1}
		if l, err := strconv.Atoi(strings.TrimSpace(h.Get(p + "Limit"))); err == nil {
			rl.Limit = l
		}
		if t, ok := ParseReset(h.Get(p+"Reset"), now); ok {
			rl.Reset = t
		}
		return rl, true
	}
	return RateLimit{}, false
}

// ParseReset reads a rate-limit reset in any of the forms in use: an ISO 8601
// timestamp (Mastodon "2020-09-08T13:25:00.019685Z"), epoch seconds (X,
// "1705323000"), seconds from now (IETF draft, "30"), or an HTTP date. A
// number is taken as epoch seconds when it is past 2001-09-09 (1e9), which no
// sane delta reaches.
func ParseReset(v string, now time.Time) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, false
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) && f >= 0 {
		if f >= 1e9 {
			sec, frac := math.Modf(f)
			return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
		}
		return now.Add(time.Duration(f * float64(time.Second))), true
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// ParseRetryAfter reads Retry-After: delay seconds or an HTTP date.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		if n > 1<<31 {
			n = 1 << 31
		}
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}
