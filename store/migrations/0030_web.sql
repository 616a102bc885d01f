-- Read paths of the status and evidence pages (store/web.go): every event of
-- one alert key in order, and the newest events first.
CREATE INDEX IF NOT EXISTS notify_events_key_seq ON notify_events(alert_key, seq);
CREATE INDEX IF NOT EXISTS notify_events_received ON notify_events(received_at);
