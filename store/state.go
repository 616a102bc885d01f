package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// GetState returns the value stored under key.
func (db *DB) GetState(ctx context.Context, key string) ([]byte, bool, error) {
	var v []byte
	err := db.sql.QueryRowContext(ctx, `SELECT value FROM state WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: get state %q: %w", key, err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, true, nil
}

// PutState stores v under key, replacing any earlier value, durably once it
// returns. A nil v is stored as an empty value (the key then exists).
func (db *DB) PutState(ctx context.Context, key string, v []byte) error {
	if v == nil {
		v = []byte{}
	}
	_, err := db.sql.ExecContext(ctx, `INSERT INTO state (key, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		key, v, fmtTime(db.now()))
	if err != nil {
		return fmt.Errorf("store: put state %q: %w", key, err)
	}
	return nil
}

// DeleteState removes key; deleting a missing key is not an error.
func (db *DB) DeleteState(ctx context.Context, key string) error {
	if _, err := db.sql.ExecContext(ctx, `DELETE FROM state WHERE key = ?`, key); err != nil {
		return fmt.Errorf("store: delete state %q: %w", key, err)
	}
	return nil
}
