package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mpwatch/mpwatch/model"
)

// The notification outbox (notify.Outbox). notify decides; these methods only
// keep its decisions durable, each in one transaction.

// Enqueue records alert events and their notes. An event already recorded
// (the rules engine re-emitted it after a restart) is ignored with its notes,
// so each (event, receiver) is noted once. Returns how many events were new.
func (db *DB) Enqueue(ctx context.Context, now time.Time, events []model.OutboxEvent) (int, error) {
	added := 0
	err := db.tx(ctx, func(tx *sql.Tx) error {
		added = 0
		for _, ev := range events {
			a := ev.Alert
			body, err := json.Marshal(a)
			if err != nil {
				return fmt.Errorf("encode alert %s: %w", a.EventID(), err)
			}
			res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO notify_events(event_id, alert_key, seq, status, body, received_at)
				VALUES (?, ?, ?, ?, ?, ?)`, a.EventID(), a.Key, a.Seq, string(a.Status), string(body), fmtTime(now))
			if err != nil {
				return fmt.Errorf("insert event %s: %w", a.EventID(), err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue
			}
			added++
			res, err = tx.ExecContext(ctx, `INSERT INTO notify_alerts(alert_key, seq, status, body) VALUES (?, ?, ?, ?)
				ON CONFLICT(alert_key) DO UPDATE SET seq=excluded.seq, status=excluded.status, body=excluded.body
				WHERE excluded.seq >= notify_alerts.seq`,
				a.Key, a.Seq, string(a.Status), string(body))
			if err != nil {
				return fmt.Errorf("update alert %s: %w", a.Key, err)
			}
			if n, _ := res.RowsAffected(); n > 0 { // this event is the alert's latest
				if _, err := tx.ExecContext(ctx, `DELETE FROM notify_alert_targets WHERE alert_key = ?`, a.Key); err != nil {
					return fmt.Errorf("update targets of %s: %w", a.Key, err)
				}
				if a.Status != model.StatusResolved {
					for _, t := range a.Targets {
						if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO notify_alert_targets(target, alert_key) VALUES (?, ?)`, t, a.Key); err != nil {
							return fmt.Errorf("update targets of %s: %w", a.Key, err)
						}
					}
				}
			}
			if a.Status == model.StatusResolved {
				if _, err := tx.ExecContext(ctx, `DELETE FROM notify_active WHERE alert_key = ?`, a.Key); err != nil {
					return fmt.Errorf("clear active %s: %w", a.Key, err)
				}
			}
			for _, n := range ev.Notes {
				if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO notify_notes(event_id, receiver, alert_key, group_key, state, reason, created_at)
					VALUES (?, ?, ?, ?, ?, ?, ?)`, a.EventID(), n.Receiver, a.Key, n.GroupKey, n.State, n.Reason, fmtTime(now)); err != nil {
					return fmt.Errorf("insert note %s for %s: %w", a.EventID(), n.Receiver, err)
				}
				if n.State != "pending" {
					continue
				}
				if a.Status != model.StatusResolved {
					if _, err := tx.ExecContext(ctx, `INSERT INTO notify_active(receiver, alert_key, group_key, body) VALUES (?, ?, ?, ?)
						ON CONFLICT(receiver, alert_key) DO UPDATE SET group_key=excluded.group_key, body=excluded.body`,
						n.Receiver, a.Key, n.GroupKey, string(body)); err != nil {
						return fmt.Errorf("mark active %s for %s: %w", a.Key, n.Receiver, err)
					}
				}
				if err := scheduleGroup(ctx, tx, n); err != nil {
					return fmt.Errorf("schedule group %s: %w", n.GroupKey, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: enqueue alert events: %w", err)
	}
	return added, nil
}

// scheduleGroup gives a group with a new pending note its next flush: kept if
// one is already set, else the later of FirstFlush and the last flush plus
// Interval (so changes are batched per group_interval).
func scheduleGroup(ctx context.Context, tx *sql.Tx, n model.OutboxNote) error {
	var next, last string
	err := tx.QueryRowContext(ctx, `SELECT next_flush_at, last_flush_at FROM notify_groups WHERE group_key = ?`, n.GroupKey).Scan(&next, &last)
	if errors.Is(err, sql.ErrNoRows) {
		labels, _ := json.Marshal(n.Labels)
		_, err = tx.ExecContext(ctx, `INSERT INTO notify_groups(group_key, receiver, route, labels, next_flush_at) VALUES (?, ?, ?, ?, ?)`,
			n.GroupKey, n.Receiver, n.Route, string(labels), fmtTime(n.FirstFlush))
		return err
	}
	if err != nil {
		return err
	}
	if next != "" {
		return nil
	}
	at := n.FirstFlush
	if l := parseTime(last); !l.IsZero() && l.Add(n.Interval).After(at) {
		at = l.Add(n.Interval)
	}
	_, err = tx.ExecContext(ctx, `UPDATE notify_groups SET next_flush_at = ?, route = ? WHERE group_key = ?`, fmtTime(at), n.Route, n.GroupKey)
	return err
}

// ActiveAlerts returns the latest event of every unresolved alert naming target.
func (db *DB) ActiveAlerts(ctx context.Context, target string) ([]model.Alert, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT a.body FROM notify_alert_targets t JOIN notify_alerts a ON a.alert_key = t.alert_key
		WHERE t.target = ? AND a.status != 'resolved' ORDER BY a.alert_key`, target)
	if err != nil {
		return nil, fmt.Errorf("store: active alerts of %s: %w", target, err)
	}
	out, err := scanAlerts(rows)
	if err != nil {
		return nil, fmt.Errorf("store: active alerts of %s: %w", target, err)
	}
	return out, nil
}

func scanAlerts(rows *sql.Rows) ([]model.Alert, error) {
	defer rows.Close()
	var out []model.Alert
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, err
		}
		var a model.Alert
		if err := json.Unmarshal([]byte(body), &a); err != nil {
			return nil, fmt.Errorf("decode alert: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Threads returns what receiver last recorded for each of the alert keys.
func (db *DB) Threads(ctx context.Context, receiver string, alertKeys []string) (map[string]model.OutboxThread, error) {
	out := map[string]model.OutboxThread{}
	for _, k := range alertKeys {
		var ref, last string
		err := db.sql.QueryRowContext(ctx, `SELECT ref, last_sent_at FROM notify_threads WHERE receiver = ? AND alert_key = ?`, receiver, k).Scan(&ref, &last)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("store: thread of %s for %s: %w", k, receiver, err)
		}
		out[k] = model.OutboxThread{Ref: ref, LastSentAt: parseTime(last)}
	}
	return out, nil
}

// DueGroups returns up to limit groups whose flush or reminder time has
// come, the longest waiting first.
func (db *DB) DueGroups(ctx context.Context, now time.Time, limit int) ([]model.OutboxGroup, error) {
	n := fmtTime(now)
	rows, err := db.sql.QueryContext(ctx, `SELECT group_key, receiver, route, labels, next_flush_at, last_flush_at, repeat_at FROM notify_groups
		WHERE (next_flush_at != '' AND next_flush_at <= ?) OR (repeat_at != '' AND repeat_at <= ?)
		ORDER BY next_flush_at, group_key LIMIT ?`, n, n, limit)
	if err != nil {
		return nil, fmt.Errorf("store: due groups: %w", err)
	}
	defer rows.Close()
	var out []model.OutboxGroup
	for rows.Next() {
		var g model.OutboxGroup
		var labels, next, last, rep string
		if err := rows.Scan(&g.Key, &g.Receiver, &g.Route, &labels, &next, &last, &rep); err != nil {
			return nil, fmt.Errorf("store: due groups: %w", err)
		}
		_ = json.Unmarshal([]byte(labels), &g.Labels)
		g.NextFlushAt, g.LastFlushAt, g.RepeatAt = parseTime(next), parseTime(last), parseTime(rep)
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: due groups: %w", err)
	}
	return out, nil
}

// GroupPending returns the alerts of a group's pending notes, in arrival order.
func (db *DB) GroupPending(ctx context.Context, groupKey string) ([]model.Alert, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT e.body FROM notify_notes n JOIN notify_events e ON e.event_id = n.event_id
		WHERE n.group_key = ? AND n.state = 'pending' ORDER BY n.rowid`, groupKey)
	if err != nil {
		return nil, fmt.Errorf("store: pending of group %s: %w", groupKey, err)
	}
	out, err := scanAlerts(rows)
	if err != nil {
		return nil, fmt.Errorf("store: pending of group %s: %w", groupKey, err)
	}
	return out, nil
}

// GroupActive returns the firing alerts last sent or queued in a group.
func (db *DB) GroupActive(ctx context.Context, groupKey string) ([]model.Alert, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT body FROM notify_active WHERE group_key = ? ORDER BY alert_key`, groupKey)
	if err != nil {
		return nil, fmt.Errorf("store: active of group %s: %w", groupKey, err)
	}
	out, err := scanAlerts(rows)
	if err != nil {
		return nil, fmt.Errorf("store: active of group %s: %w", groupKey, err)
	}
	return out, nil
}

// RescheduleGroup moves a group's next flush (quiet hours) and reminder;
// a zero time clears it.
func (db *DB) RescheduleGroup(ctx context.Context, groupKey string, nextFlush, repeatAt time.Time) error {
	if _, err := db.sql.ExecContext(ctx, `UPDATE notify_groups SET next_flush_at = ?, repeat_at = ? WHERE group_key = ?`,
		fmtTime(nextFlush), fmtTime(repeatAt), groupKey); err != nil {
		return fmt.Errorf("store: reschedule group %s: %w", groupKey, err)
	}
	return nil
}

// AddDelivery queues a message in one transaction with its bookkeeping: the
// notes it carries become batched, the group is flushed at now (next flush
// cleared) and its reminder set to repeatAt while it has firing alerts.
func (db *DB) AddDelivery(ctx context.Context, now time.Time, d model.OutboxDelivery, repeatAt time.Time) (int64, error) {
	var id int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		ids, _ := json.Marshal(d.EventIDs)
		res, err := tx.ExecContext(ctx, `INSERT INTO notify_deliveries(receiver, group_key, kind, message, event_ids, state, next_attempt_at, created_at)
			VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)`, d.Receiver, d.GroupKey, d.Kind, string(d.Message), string(ids), fmtTime(now), fmtTime(now))
		if err != nil {
			return err
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		for _, e := range d.EventIDs {
			if _, err := tx.ExecContext(ctx, `UPDATE notify_notes SET state = 'batched', delivery_id = ? WHERE event_id = ? AND receiver = ? AND state = 'pending'`,
				id, e, d.Receiver); err != nil {
				return err
			}
		}
		if d.GroupKey == "" {
			return nil
		}
		var active int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM notify_active WHERE group_key = ?`, d.GroupKey).Scan(&active); err != nil {
			return err
		}
		rep := ""
		if active > 0 && !repeatAt.IsZero() {
			rep = fmtTime(repeatAt)
		}
		var pending int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM notify_notes WHERE group_key = ? AND state = 'pending'`, d.GroupKey).Scan(&pending); err != nil {
			return err
		}
		next := ""
		if pending > 0 {
			// notes that arrived while this message was built go on the next pass
			next = fmtTime(now)
		}
		_, err = tx.ExecContext(ctx, `UPDATE notify_groups SET last_flush_at = ?, next_flush_at = ?, repeat_at = ? WHERE group_key = ?`,
			fmtTime(now), next, rep, d.GroupKey)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: add delivery to %s: %w", d.Receiver, err)
	}
	return id, nil
}

// ClaimDeliveries takes up to limit due deliveries for sending: pending ones
// whose next attempt has come, and ones a dead sender left "sending" past
// their lease. A delivery waits while an earlier one of its group to the same
// receiver is unsent, so updates follow (and thread under) the first message.
func (db *DB) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]model.OutboxDelivery, error) {
	var out []model.OutboxDelivery
	n := fmtTime(now)
	err := db.tx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		rows, err := tx.QueryContext(ctx, `UPDATE notify_deliveries SET state = 'sending', lease_until = ?, attempts = attempts + 1
			WHERE id IN (SELECT d.id FROM notify_deliveries d
				WHERE ((d.state = 'pending' AND d.next_attempt_at <= ?) OR (d.state = 'sending' AND d.lease_until <= ?))
				AND NOT EXISTS (SELECT 1 FROM notify_deliveries p WHERE p.receiver = d.receiver AND p.group_key = d.group_key
					AND p.group_key != '' AND p.id < d.id AND p.state IN ('pending', 'sending'))
				ORDER BY d.id LIMIT ?)
			RETURNING id, receiver, group_key, kind, message, event_ids, attempts, created_at`,
			fmtTime(now.Add(lease)), n, n, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var d model.OutboxDelivery
			var msg, ids, created string
			if err := rows.Scan(&d.ID, &d.Receiver, &d.GroupKey, &d.Kind, &msg, &ids, &d.Attempts, &created); err != nil {
				return err
			}
			d.Message = []byte(msg)
			_ = json.Unmarshal([]byte(ids), &d.EventIDs)
			d.CreatedAt = parseTime(created)
			out = append(out, d)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim deliveries: %w", err)
	}
	return out, nil
}

// MarkSent records a delivery as sent and, for each alert key it carried,
// the send time and the thread reference (kept from the first message).
func (db *DB) MarkSent(ctx context.Context, id int64, now time.Time, receiver, thread string, alertKeys []string) error {
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE notify_deliveries SET state = 'sent', sent_at = ?, lease_until = '', last_error = '' WHERE id = ?`,
			fmtTime(now), id); err != nil {
			return err
		}
		for _, k := range alertKeys {
			if _, err := tx.ExecContext(ctx, `INSERT INTO notify_threads(receiver, alert_key, ref, last_sent_at) VALUES (?, ?, ?, ?)
				ON CONFLICT(receiver, alert_key) DO UPDATE SET last_sent_at = excluded.last_sent_at,
					ref = CASE WHEN notify_threads.ref = '' THEN excluded.ref ELSE notify_threads.ref END`,
				receiver, k, thread, fmtTime(now)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: mark delivery %d sent: %w", id, err)
	}
	return nil
}

// MarkRetry puts a failed delivery back with its next attempt time.
func (db *DB) MarkRetry(ctx context.Context, id int64, next time.Time, errMsg string) error {
	if _, err := db.sql.ExecContext(ctx, `UPDATE notify_deliveries SET state = 'pending', next_attempt_at = ?, lease_until = '', last_error = ? WHERE id = ?`,
		fmtTime(next), errMsg, id); err != nil {
		return fmt.Errorf("store: mark delivery %d for retry: %w", id, err)
	}
	return nil
}

// MarkFailed ends a delivery that will never be sent.
func (db *DB) MarkFailed(ctx context.Context, id int64, now time.Time, errMsg string) error {
	if _, err := db.sql.ExecContext(ctx, `UPDATE notify_deliveries SET state = 'failed', sent_at = ?, lease_until = '', last_error = ? WHERE id = ?`,
		fmtTime(now), errMsg, id); err != nil {
		return fmt.Errorf("store: mark delivery %d failed: %w", id, err)
	}
	return nil
}

// DeliveryCounts counts deliveries by state (for status pages and tests).
func (db *DB) DeliveryCounts(ctx context.Context) (map[string]int, error) {
	return countBy(ctx, db.sql, `SELECT state, COUNT(*) FROM notify_deliveries GROUP BY state`)
}

// NoteCounts counts (event, receiver) notes by state: pending, batched,
// silenced, inhibited, suppressed, skipped.
func (db *DB) NoteCounts(ctx context.Context) (map[string]int, error) {
	return countBy(ctx, db.sql, `SELECT state, COUNT(*) FROM notify_notes GROUP BY state`)
}

func countBy(ctx context.Context, q *sql.DB, query string) (map[string]int, error) {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("store: count: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return nil, fmt.Errorf("store: count: %w", err)
		}
		out[k] = n
	}
	return out, rows.Err()
}
