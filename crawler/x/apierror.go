package x

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrBudgetExhausted says the account's max_reads_per_day is used up for
	// the current UTC day. The returned *crawler.Error has Kind
	// KindRateLimited and RetryAfter until the next UTC midnight.
	ErrBudgetExhausted = errors.New("daily read budget exhausted")
	// ErrCreditsDepleted says X refused the request because the developer
	// account has no pay-per-use credits left (402 CreditsDepleted).
	ErrCreditsDepleted = errors.New("x api credits depleted")

	errUserNotFound = errors.New("x user not found")
)

// APIError is an X API v2 error body. X answers in two shapes: an RFC 7807
// problem ({"title","detail","type","status"}, e.g. 401, 402, 403, 429) and,
// from the older rate limiter, {"errors":[{"code":88,"message":…}]}.
type APIError struct {
	Status int    `json:"status"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Type   string `json:"type"`
	Reason string `json:"reason"`
	Errors []partialError
}

func (e *APIError) Error() string {
	var parts []string
	if e.Title != "" {
		parts = append(parts, e.Title)
	}
	if e.Detail != "" && e.Detail != e.Title {
		parts = append(parts, e.Detail)
	}
	for _, p := range e.Errors {
		s := p.text()
		if p.Code != 0 {
			s = fmt.Sprintf("code %d: %s", p.Code, s)
		}
		parts = append(parts, s)
	}
	return fmt.Sprintf("x api error %d: %s", e.Status, strings.Join(parts, ": "))
}

// ParseError decodes an X error body; ok is false when body is not one.
func ParseError(status int, body []byte) (*APIError, bool) {
	var raw struct {
		Status int            `json:"status"`
		Title  string         `json:"title"`
		Detail string         `json:"detail"`
		Type   string         `json:"type"`
		Reason string         `json:"reason"`
		Errors []partialError `json:"errors"`
	}
	if json.Unmarshal(body, &raw) != nil || (raw.Title == "" && raw.Detail == "" && len(raw.Errors) == 0) {
		return nil, false
	}
	return &APIError{Status: status, Title: raw.Title, Detail: raw.Detail, Type: raw.Type, Reason: raw.Reason, Errors: raw.Errors}, true
}

func (e *APIError) rateLimited() bool {
	if e.Status == 429 {
		return true
	}
	for _, p := range e.Errors {
		if p.Code == 88 {
			return true
		}
	}
	return false
}

func (e *APIError) creditsDepleted() bool {
	return e.Status == 402 || e.Title == "CreditsDepleted" || strings.HasSuffix(e.Type, "/problems/credits")
}
