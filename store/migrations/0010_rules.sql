-- Rules engine state (owned by rules; written through store/rules.go).
-- rule_detector_state holds each detector's serialised state (baselines, open
-- clusters, episodes) keyed by rule name + spec hash, so a changed rule starts
-- fresh; rule_alert_state holds the lifecycle of every alert key the engine has
-- fired, so a restart neither re-fires nor forgets to resolve.
CREATE TABLE IF NOT EXISTS rule_detector_state (
	key        TEXT PRIMARY KEY,
	value      BLOB NOT NULL,
	updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rule_alert_state (
	key        TEXT PRIMARY KEY,
	value      BLOB NOT NULL,
	updated_at TEXT NOT NULL
);
