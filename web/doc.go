// Package web serves mpwatch's operations surfaces over HTTP:
//
//	/healthz             process up (never behind auth, for probes)
//	/readyz              a configuration is loaded and the database answers
//	/metrics             Prometheus exposition (internal/metrics)
//	/                    status: config state, recent alerts, every target's
//	                     sources with health and a 7-day hourly volume chart
//	/targets/{id}        one target's sources, chart and alerts
//	/alerts/{key}        an alert's evidence page, the link Slack and email carry
//	/alerts/{key}.csv    the evidence replies as CSV
//	/alerts/{key}.json   the alert, its events and replies as JSON
//
// Pages are server-rendered with html/template and inline SVG charts; there is
// no JavaScript at all, and the Content-Security-Policy forbids any, so the
// pages work with scripts disabled and an injection that slipped past
// escaping still could not run. The only stylesheet is embedded and allowed by
// its hash.
//
// Everything shown comes from people on the internet (reply text, author
// names, URLs, even target names come from a config others edit), so it is
// only ever placed through html/template's contextual escaping, links are
// made clickable only for absolute http and https URLs (with rel="nofollow
// noopener noreferrer"), and CSV cells that a spreadsheet would evaluate as a
// formula are prefixed with an apostrophe.
//
// web reads through the small DataSource interface and never imports the
// store, rules, notify, crawler or config packages; app adapts the store.
// Times "now" come from Options.Now so pages are reproducible in tests.
//
// Auth, when configured, is a bearer token, HTTP basic credentials or both,
// compared in constant time; every route but /healthz requires it.
package web
