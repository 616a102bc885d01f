// Package metrics holds mpwatch's Prometheus collectors behind typed methods,
// so callers record events ("a crawl finished") rather than juggling label
// values, and every metric name, label set and help text lives in one place.
//
// Each Metrics has its own prometheus.Registry (with the Go runtime and
// process collectors) instead of the global default registry: tests can build
// as many as they like without "duplicate metrics collector registration"
// panics, and nothing a library registers globally leaks into /metrics.
//
// All metric names carry the mpwatch_ prefix. Label values are bounded by
// configuration (platforms, rule names, receiver names, fixed outcomes), never
// by data such as reply text or author handles, so cardinality stays small.
//
// A nil *Metrics is valid and records nothing, so packages may take an
// optional *Metrics without nil checks at every call site.
package metrics
