package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/mpwatch/mpwatch/model"
)

// AlertEvents returns every recorded event of one alert key, oldest first
// (the evidence page's history). Events are those notify recorded in its
// outbox before sending.
func (db *DB) AlertEvents(ctx context.Context, key string) ([]model.Alert, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT body FROM notify_events WHERE alert_key = ? ORDER BY seq`, key)
	if err != nil {
		return nil, fmt.Errorf("store: unable to read events of alert %s: %w", key, err)
	}
	return decodeAlerts(rows, "events of alert "+key)
}

// RecentAlerts returns the latest event of each alert key, newest first.
func (db *DB) RecentAlerts(ctx context.Context, limit int) ([]model.Alert, error) {
	if limit <= 0 {
		limit = 50
	}
	rows, err := db.sql.QueryContext(ctx, `
		SELECT e.body FROM notify_events e
		JOIN (SELECT alert_key, MAX(seq) AS seq FROM notify_events GROUP BY alert_key) last
		  ON last.alert_key = e.alert_key AND last.seq = e.seq
		ORDER BY e.received_at DESC, e.alert_key
		LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: unable to read recent alerts: %w", err)
	}
	return decodeAlerts(rows, "recent alerts")
}

func decodeAlerts(rows *sql.Rows, what string) ([]model.Alert, error) {
	defer rows.Close()
	var out []model.Alert
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, fmt.Errorf("store: unable to read %s: %w", what, err)
		}
		var a model.Alert
		if err := json.Unmarshal([]byte(body), &a); err != nil {
			return nil, fmt.Errorf("store: unable to decode %s: %w", what, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: unable to read %s: %w", what, err)
	}
	return out, nil
}
