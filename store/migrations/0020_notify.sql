-- Notification outbox, owned by the notify package (store/outbox.go).
-- Every alert event is written here before any send; each (event, receiver)
-- has one note; deliveries are claimed, sent and marked in separate steps.
CREATE TABLE notify_events (
	event_id    TEXT PRIMARY KEY,
	alert_key   TEXT NOT NULL,
	seq         INTEGER NOT NULL,
	status      TEXT NOT NULL,
	body        TEXT NOT NULL,
	received_at TEXT NOT NULL
);
CREATE TABLE notify_alerts (
	alert_key    TEXT PRIMARY KEY,
	seq          INTEGER NOT NULL,
	status       TEXT NOT NULL,
	body         TEXT NOT NULL
);
-- unresolved alerts by target, for inhibition lookups
CREATE TABLE notify_alert_targets (
	target    TEXT NOT NULL,
	alert_key TEXT NOT NULL,
	PRIMARY KEY (target, alert_key)
);
CREATE INDEX notify_alert_targets_key ON notify_alert_targets(alert_key);
CREATE TABLE notify_notes (
	event_id    TEXT NOT NULL,
	receiver    TEXT NOT NULL,
	alert_key   TEXT NOT NULL,
	group_key   TEXT NOT NULL,
	state       TEXT NOT NULL,
	reason      TEXT NOT NULL DEFAULT '',
	delivery_id INTEGER,
	created_at  TEXT NOT NULL,
	PRIMARY KEY (event_id, receiver)
);
CREATE INDEX notify_notes_group ON notify_notes(group_key, state);
CREATE TABLE notify_groups (
	group_key     TEXT PRIMARY KEY,
	receiver      TEXT NOT NULL,
	route         TEXT NOT NULL,
	labels        TEXT NOT NULL,
	next_flush_at TEXT NOT NULL DEFAULT '',
	last_flush_at TEXT NOT NULL DEFAULT '',
	repeat_at     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX notify_groups_next ON notify_groups(next_flush_at);
CREATE INDEX notify_groups_repeat ON notify_groups(repeat_at);
CREATE TABLE notify_active (
	receiver  TEXT NOT NULL,
	alert_key TEXT NOT NULL,
	group_key TEXT NOT NULL,
	body      TEXT NOT NULL,
	PRIMARY KEY (receiver, alert_key)
);
CREATE INDEX notify_active_group ON notify_active(group_key);
CREATE TABLE notify_deliveries (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	receiver        TEXT NOT NULL,
	group_key       TEXT NOT NULL,
	kind            TEXT NOT NULL,
	message         TEXT NOT NULL,
	event_ids       TEXT NOT NULL,
	state           TEXT NOT NULL, -- pending | sending | sent | failed
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at TEXT NOT NULL,
	lease_until     TEXT NOT NULL DEFAULT '',
	created_at      TEXT NOT NULL,
	sent_at         TEXT NOT NULL DEFAULT '',
	last_error      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX notify_deliveries_due ON notify_deliveries(state, next_attempt_at);
CREATE INDEX notify_deliveries_group ON notify_deliveries(receiver, group_key, state);
CREATE TABLE notify_threads (
	receiver     TEXT NOT NULL,
	alert_key    TEXT NOT NULL,
	ref          TEXT NOT NULL DEFAULT '',
	last_sent_at TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (receiver, alert_key)
);
CREATE TABLE notify_silences (
	id         TEXT PRIMARY KEY,
	matchers   TEXT NOT NULL,
	starts_at  TEXT NOT NULL,
	ends_at    TEXT NOT NULL,
	author     TEXT NOT NULL,
	reason     TEXT NOT NULL,
	created_at TEXT NOT NULL
);
