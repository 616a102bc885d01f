package facebook

import (
	"encoding/json"
	"net/http"
	"time"
)

// Usage is the highest rate-limit usage Graph reported on a response, from
// X-App-Usage ({"call_count","total_cputime","total_time"}, percentages of
// the app's platform limit) and X-Business-Use-Case-Usage
// ({"<business-object-id>":[{"type","call_count","total_cputime","total_time",
// "estimated_time_to_regain_access"}]}, percentages of the page's BUC limit,
// which is the one a Page token counts against). Page tokens are under BUC
// limits, app and user tokens under platform limits, so both are read.
type Usage struct {
	// Percent is the largest of every call_count, total_cputime and total_time seen.
	Percent int
	// RegainIn is estimated_time_to_regain_access (minutes in the header):
	// non-zero only when Graph is already throttling.
	RegainIn time.Duration
	// Present is false when neither header was sent; Graph omits them until
	// an app has made enough calls, and absence is not the same as headroom zero.
	Present bool
}

type usageCounts struct {
	CallCount    int `json:"call_count"`
	TotalCPUTime int `json:"total_cputime"`
	TotalTime    int `json:"total_time"`
	RegainMin    int `json:"estimated_time_to_regain_access"`
}

func (u *Usage) add(c usageCounts) {
	u.Present = true
	for _, v := range []int{c.CallCount, c.TotalCPUTime, c.TotalTime} {
		if v > u.Percent {
			u.Percent = v
		}
	}
	if d := time.Duration(c.RegainMin) * time.Minute; d > u.RegainIn {
		u.RegainIn = d
	}
}

// ParseUsage reads the usage headers of a Graph response. Malformed header
// values are ignored: they must never fail a crawl that otherwise worked.
func ParseUsage(h http.Header) Usage {
	var u Usage
	if v := h.Get("X-App-Usage"); v != "" {
		var c usageCounts
		if json.Unmarshal([]byte(v), &c) == nil {
			u.add(c)
		}
	}
	if v := h.Get("X-Business-Use-Case-Usage"); v != "" {
		var m map[string][]usageCounts
		if json.Unmarshal([]byte(v), &m) == nil {
			for _, list := range m {
				for _, c := range list {
					u.add(c)
				}
			}
		}
	}
	return u
}

// Throttle decides how to pace the next request from the last usage: below
// SlowAt percent go on, between SlowAt and StopAt pause for a delay growing
// with usage, at StopAt or when Graph already throttles stop this crawl.
type Throttle struct {
	SlowAt   int           // default 75
	StopAt   int           // default 95
	MaxPause time.Duration // pause at StopAt-1; default 30s
}

func (t Throttle) withDefaults() Throttle {
	if t.SlowAt <= 0 {
		t.SlowAt = 75
	}
	if t.StopAt <= 0 || t.StopAt <= t.SlowAt {
		t.StopAt = 95
	}
	if t.MaxPause <= 0 {
		t.MaxPause = 30 * time.Second
	}
	return t
}

// Decide returns the pause before the next call, or stop=true.
func (t Throttle) Decide(u Usage) (pause time.Duration, stop bool) {
	t = t.withDefaults()
	if !u.Present {
		return 0, false
	}
	if u.RegainIn > 0 || u.Percent >= t.StopAt {
		return 0, true
	}
	if u.Percent < t.SlowAt {
		return 0, false
	}
	// Linear from a small pause at SlowAt up to MaxPause just below StopAt.
	span := t.StopAt - t.SlowAt
	frac := float64(u.Percent-t.SlowAt+1) / float64(span)
	return time.Duration(frac * float64(t.MaxPause)), false
}
