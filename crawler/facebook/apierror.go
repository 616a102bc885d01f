package facebook

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/mpwatch/mpwatch/crawler"
)

// APIError is a Graph API error body:
// {"error":{"message","type","code","error_subcode","fbtrace_id"}}.
type APIError struct {
	Status    int    `json:"-"`
	Message   string `json:"message"`
	Type      string `json:"type"`
	Code      int    `json:"code"`
	Subcode   int    `json:"error_subcode"`
	UserTitle string `json:"error_user_title"`
	UserMsg   string `json:"error_user_msg"`
	FBTraceID string `json:"fbtrace_id"`
}

func (e *APIError) Error() string {
	code := fmt.Sprintf("%d", e.Code)
	if e.Subcode != 0 {
		code += fmt.Sprintf("/%d", e.Subcode)
	}
	s := fmt.Sprintf("graph api error %s", code)
	if e.Type != "" {
		s += " (" + e.Type + ")"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.FBTraceID != "" {
		s += " [fbtrace_id " + e.FBTraceID + "]"
	}
	return s
}

// ParseError decodes a Graph error body; ok is false when body is not one.
func ParseError(status int, body []byte) (e *APIError, ok bool) {
	var raw struct {
		Error *APIError `json:"error"`
	}
	if json.Unmarshal(body, &raw) != nil || raw.Error == nil || (raw.Error.Code == 0 && raw.Error.Message == "") {
		return nil, false
	}
	raw.Error.Status = status
	return raw.Error, true
}

// class is what the crawler should do about a Graph error.
type class int

const (
	classOther      class = iota
	classAuth             // the token is missing, expired or revoked: an administrator must act
	classPermission       // the token lacks a permission: an administrator must act
	classRateLimit        // throttled: wait
	classNotFound         // the page or post is gone or not visible
	classTransient        // Graph-side hiccup: retry later
)

// classify maps Graph codes to a class, following Meta's "Handling Errors" guide.
func classify(e *APIError) class {
	switch {
	case e.Code == 190 || e.Code == 102 || e.Code == 104 || e.Type == "OAuthException" && e.Code == 0:
		return classAuth
	case e.Code == 10 || (e.Code >= 200 && e.Code <= 299):
		return classPermission
	case e.Code == 4 || e.Code == 17 || e.Code == 32 || e.Code == 613 || e.Code == 341 ||
		(e.Code >= 80000 && e.Code <= 80099):
		return classRateLimit
	case e.Code == 100 && e.Subcode == 33, e.Code == 803:
		return classNotFound
	case e.Code == 1 || e.Code == 2:
		return classTransient
	}
	return classOther
}

// subcodeReason explains the OAuth subcodes Meta documents for code 190.
func subcodeReason(sub int) string {
	switch sub {
	case 458:
		return "the app is no longer installed for the user who issued the token"
	case 459:
		return "the user who issued the token must log in to facebook.com to pass a checkpoint"
	case 460:
		return "the user who issued the token changed their password"
	case 463:
		return "the token has expired"
	case 464:
		return "the user who issued the token is not confirmed"
	case 467:
		return "the token is invalid (logged out or revoked)"
	case 492:
		return "the user who issued the token is no longer an admin of the page"
	}
	return "the token is missing, invalid or expired"
}

// adminAdvice is the admin-facing explanation for an error that a person has
// to fix; page is the watched page id, env describes where the token comes from.
func adminAdvice(e *APIError, page string) string {
	switch classify(e) {
	case classAuth:
		return fmt.Sprintf("facebook page %s: %s (graph code %d/%d); ask the MP's office for a new Page access token "+
			"(a long-lived token from a page admin with pages_read_engagement and pages_read_user_content), "+
			"put it in the environment variable the watchlist names for this account's token, and reload",
			page, subcodeReason(e.Subcode), e.Code, e.Subcode)
	case classPermission:
		return fmt.Sprintf("facebook page %s: the token lacks a permission (graph code %d); the Page token must be "+
			"issued by someone with the MODERATE task on the page and carry pages_read_engagement and pages_read_user_content",
			page, e.Code)
	case classNotFound:
		return fmt.Sprintf("facebook page %s: the page or post does not exist or is not visible to this token (graph code %d/%d); check the page id in the watchlist",
			page, e.Code, e.Subcode)
	case classRateLimit:
		return fmt.Sprintf("facebook page %s: graph api rate limit reached (code %d); crawling resumes at the next schedule", page, e.Code)
	}
	return fmt.Sprintf("facebook page %s: graph api refused the request (code %d/%d)", page, e.Code, e.Subcode)
}

// redactURL keeps credentials out of URLs shown anywhere (see crawler.RedactURL).
func redactURL(raw string) string { return crawler.RedactURL(raw) }

// stripToken removes credential parameters from a paging URL before it is
// requested again: the token travels in the Authorization header instead, so
// it never sits in a URL the HTTP client might log or put in an error.
func stripToken(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("parse paging url %q: %w", redactURL(raw), err)
	}
	q := u.Query()
	for _, p := range crawler.SecretParams {
		q.Del(p)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// scrub replaces every occurrence of secret in s; Graph echoes a malformed
// token back in its error message.
func scrub(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "<secret>")
}
