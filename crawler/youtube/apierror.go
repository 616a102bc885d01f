package youtube

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mpwatch/mpwatch/crawler"
)

var (
	// ErrQuotaExceeded says the Google Cloud project's daily YouTube Data
	// API quota is used up. It resets at midnight Pacific time.
	ErrQuotaExceeded = errors.New("youtube api quota exceeded")
	// ErrCommentsDisabled says the video's owner turned comments off. It is a
	// state of the video, not a failure of the crawler.
	ErrCommentsDisabled = errors.New("youtube comments disabled")
)

// APIError is a Google API error body:
// {"error":{"code","message","errors":[{"message","domain","reason"}],
// "status","details":[{"@type","reason","domain"}]}}.
type APIError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Status  string `json:"status"`
	Errors  []struct {
		Message string `json:"message"`
		Domain  string `json:"domain"`
		Reason  string `json:"reason"`
	} `json:"errors"`
	Details []struct {
		Type   string `json:"@type"`
		Reason string `json:"reason"`
		Domain string `json:"domain"`
	} `json:"details"`
}

// Reason is the first specific reason: errors[].reason, or for the newer
// body shape the ErrorInfo reason (API_KEY_INVALID) when errors[] only says
// "badRequest".
func (e *APIError) Reason() string {
	for _, d := range e.Details {
		if d.Reason != "" {
			return d.Reason
		}
	}
	for _, er := range e.Errors {
		if er.Reason != "" {
			return er.Reason
		}
	}
	return e.Status
}

func (e *APIError) hasReason(rs ...string) bool {
	for _, r := range rs {
		for _, er := range e.Errors {
			if er.Reason == r {
				return true
			}
		}
		for _, d := range e.Details {
			if d.Reason == r {
				return true
			}
		}
	}
	return false
}

func (e *APIError) Error() string {
	return fmt.Sprintf("youtube api error %d %s: %s", e.Code, e.Reason(), stripTags(e.Message))
}

// ParseError decodes a Google error body; ok is false when body is not one.
func ParseError(body []byte) (*APIError, bool) {
	var raw struct {
		Error *APIError `json:"error"`
	}
	if json.Unmarshal(body, &raw) != nil || raw.Error == nil || (raw.Error.Code == 0 && raw.Error.Message == "") {
		return nil, false
	}
	return raw.Error, true
}

// stripTags removes the HTML Google puts in its messages (<code>, <a href>)
// so they read as plain text in logs and Slack.
func stripTags(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
		case r == '>' && in:
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// pacific is where YouTube's daily quota day turns over.
var pacific = func() *time.Location {
	if l, err := time.LoadLocation("America/Los_Angeles"); err == nil {
		return l
	}
	// No tz database: standard time is the conservative guess (an hour late
	// in summer, never early).
	return time.FixedZone("PST", -8*60*60)
}()

// quotaReset is the next midnight Pacific time after now.
func quotaReset(now time.Time) time.Time {
	p := now.In(pacific)
	return time.Date(p.Year(), p.Month(), p.Day()+1, 0, 0, 0, 0, pacific).UTC()
}

// redactURL keeps credentials out of URLs shown anywhere (see crawler.RedactURL).
func redactURL(raw string) string { return crawler.RedactURL(raw) }
