package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/mpwatch/mpwatch/model"
)

// AddSilence stores a silence (notify checks its matchers).
func (db *DB) AddSilence(ctx context.Context, s model.Silence) error {
	m, err := json.Marshal(s.Matchers)
	if err != nil {
		return fmt.Errorf("store: add silence %s: %w", s.ID, err)
	}
	if _, err := db.sql.ExecContext(ctx, `INSERT INTO notify_silences(id, matchers, starts_at, ends_at, author, reason, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, s.ID, string(m), fmtTime(s.StartsAt), fmtTime(s.EndsAt), s.Author, s.Reason, fmtTime(s.CreatedAt)); err != nil {
		return fmt.Errorf("store: add silence %s: %w", s.ID, err)
	}
	return nil
}

// Silences returns every stored silence, expired ones included, newest first.
func (db *DB) Silences(ctx context.Context) ([]model.Silence, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT id, matchers, starts_at, ends_at, author, reason, created_at FROM notify_silences ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("store: list silences: %w", err)
	}
	defer rows.Close()
	var out []model.Silence
	for rows.Next() {
		var s model.Silence
		var m, st, en, cr string
		if err := rows.Scan(&s.ID, &m, &st, &en, &s.Author, &s.Reason, &cr); err != nil {
			return nil, fmt.Errorf("store: list silences: %w", err)
		}
		if err := json.Unmarshal([]byte(m), &s.Matchers); err != nil {
			return nil, fmt.Errorf("store: silence %s: decode matchers: %w", s.ID, err)
		}
		s.StartsAt, s.EndsAt, s.CreatedAt = parseTime(st), parseTime(en), parseTime(cr)
		out = append(out, s)
	}
	return out, rows.Err()
}

// ExpireSilence ends a silence at now; false when no active silence has that id.
func (db *DB) ExpireSilence(ctx context.Context, id string, now time.Time) (bool, error) {
	var res sql.Result
	res, err := db.sql.ExecContext(ctx, `UPDATE notify_silences SET ends_at = ? WHERE id = ? AND ends_at > ?`, fmtTime(now), id, fmtTime(now))
	if err != nil {
		return false, fmt.Errorf("store: expire silence %s: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}
