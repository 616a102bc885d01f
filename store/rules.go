package store

import (
	"context"
	"database/sql"
	"fmt"
)

// LoadRulesState returns the rules engine's saved detector states and alert
// states, each by key. The values are opaque to the store.
func (db *DB) LoadRulesState(ctx context.Context) (detectors, alerts map[string][]byte, err error) {
	detectors, err = db.loadKV(ctx, "rule_detector_state")
	if err != nil {
		return nil, nil, fmt.Errorf("store: load detector states: %w", err)
	}
	alerts, err = db.loadKV(ctx, "rule_alert_state")
	if err != nil {
		return nil, nil, fmt.Errorf("store: load alert states: %w", err)
	}
	return detectors, alerts, nil
}

func (db *DB) loadKV(ctx context.Context, table string) (map[string][]byte, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT key, value FROM `+table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var k string
		var v []byte
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, rows.Err()
}

// SaveRulesState writes detector and alert states in one transaction, so the
// alerts the engine has emitted and the detector state that produced them are
// never out of step after a crash. A nil value deletes its key.
func (db *DB) SaveRulesState(ctx context.Context, detectors, alerts map[string][]byte) error {
	now := fmtTime(db.now())
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if err := putKV(ctx, tx, "rule_detector_state", detectors, now); err != nil {
			return err
		}
		return putKV(ctx, tx, "rule_alert_state", alerts, now)
	})
	if err != nil {
		return fmt.Errorf("store: save rules state: %w", err)
	}
	return nil
}

func putKV(ctx context.Context, tx *sql.Tx, table string, kv map[string][]byte, now string) error {
	if len(kv) == 0 {
		return nil
	}
	put, err := tx.PrepareContext(ctx, `INSERT INTO `+table+`(key, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`)
	if err != nil {
		return err
	}
	defer put.Close()
	del, err := tx.PrepareContext(ctx, `DELETE FROM `+table+` WHERE key = ?`)
	if err != nil {
		return err
	}
	defer del.Close()
	for k, v := range kv {
		if v == nil {
			if _, err := del.ExecContext(ctx, k); err != nil {
				return fmt.Errorf("delete %s: %w", k, err)
			}
			continue
		}
		if _, err := put.ExecContext(ctx, k, v, now); err != nil {
			return fmt.Errorf("put %s: %w", k, err)
		}
	}
	return nil
}
