package fakeplatform

import (
	"net/http"
	"strings"
	"time"
)

// FaultCase is one misbehaviour every source must survive, with the crawler
// error kind it must end in ("" when a retry or a wait recovers it).
// WantSleep is a wait the client must have asked for (Retry-After).
type FaultCase struct {
	Name      string
	Fault     Fault
	WantKind  string
	WantSleep time.Duration
}

// FaultCases lists the standard faults for requests under path. They assume
// a client with a timeout well under 500ms, a body cap under 64 KiB, and at
// least one retry.
func FaultCases(path string) []FaultCase {
	big := `{"pad":"` + strings.Repeat("x", 100<<10) + `"}`
	return []FaultCase{
		{Name: "401", Fault: Fault{Path: path, Status: http.StatusUnauthorized, Body: `{"error":"Unauthorized: token not supplied"}`}, WantKind: "auth"},
		{Name: "404", Fault: Fault{Path: path, Status: http.StatusNotFound, Body: `{"error":"Not Found: target status not found"}`}, WantKind: "not_found"},
		{Name: "429-retry-after", Fault: Fault{Path: path, Status: http.StatusTooManyRequests, Body: `{"error":"Too many requests"}`,
			Header: http.Header{"Retry-After": {"7"}}, Times: 1}, WantSleep: 7 * time.Second},
		{Name: "429-too-long", Fault: Fault{Path: path, Status: http.StatusTooManyRequests, Body: `{"error":"Too many requests"}`,
			Header: http.Header{"Retry-After": {"86400"}}}, WantKind: "rate_limited"},
		{Name: "500-then-ok", Fault: Fault{Path: path, Status: http.StatusInternalServerError, Body: `{"error":"boom"}`, Times: 1}},
		{Name: "500", Fault: Fault{Path: path, Status: http.StatusBadGateway, ContentType: "text/html", Body: `<html><body>502 Bad Gateway</body></html>`}, WantKind: "server"},
		{Name: "timeout", Fault: Fault{Path: path, Delay: 3 * time.Second, Body: `[]`}, WantKind: "network"},
		{Name: "slow-body", Fault: Fault{Path: path, SlowBody: 100 * time.Millisecond, Body: `[{"id":"1"},{"id":"2"},{"id":"3"},{"id":"4"}]`}, WantKind: "network"},
		{Name: "malformed-json", Fault: Fault{Path: path, Body: `{"id":"1","created_at":`}, WantKind: "bad_response"},
		{Name: "html-not-json", Fault: Fault{Path: path, ContentType: "text/html; charset=utf-8", Body: `<!DOCTYPE html><html><body>Login required</body></html>`}, WantKind: "bad_response"},
		{Name: "truncated", Fault: Fault{Path: path, Body: `{"id":"1","created_at":"2026-`, Truncate: true}, WantKind: "network"},
		{Name: "oversized", Fault: Fault{Path: path, Body: big}, WantKind: "too_large"},
		{Name: "redirect-loop", Fault: Fault{Path: path, RedirectLoop: true}, WantKind: "bad_response"},
	}
}
