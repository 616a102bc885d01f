package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/mpwatch/mpwatch/model"
)

// SyncTargets makes the targets and accounts tables match the watchlist:
// listed targets and accounts are upserted and marked active; those no longer
// listed are marked inactive, never deleted, so their replies and crawl
// history stay readable. Account tokens are never stored.
func (db *DB) SyncTargets(ctx context.Context, targets []model.Target) error {
	now := fmtTime(db.now())
	err := db.tx(ctx, func(tx *sql.Tx) error {
		// Everything starts inactive; what the watchlist names is revived.
		if _, err := tx.ExecContext(ctx, `UPDATE targets SET active = 0, updated_at = ? WHERE active = 1`, now); err != nil {
			return fmt.Errorf("deactivate targets: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET active = 0, updated_at = ? WHERE active = 1`, now); err != nil {
			return fmt.Errorf("deactivate accounts: %w", err)
		}
		ts, err := tx.PrepareContext(ctx, `INSERT INTO targets (id, name, riding, party, team, tags, aliases, active, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, riding = excluded.riding, party = excluded.party,
				team = excluded.team, tags = excluded.tags, aliases = excluded.aliases, active = 1,
				updated_at = excluded.updated_at`)
		if err != nil {
			return fmt.Errorf("prepare target upsert: %w", err)
		}
		defer ts.Close()
		as, err := tx.PrepareContext(ctx, `INSERT INTO accounts (target, account_key, platform, handle, url, schedule, active, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, 1, ?)
			ON CONFLICT (target, account_key) DO UPDATE SET platform = excluded.platform, handle = excluded.handle,
				url = excluded.url, schedule = excluded.schedule, active = 1, updated_at = excluded.updated_at`)
		if err != nil {
			return fmt.Errorf("prepare account upsert: %w", err)
		}
		defer as.Close()
		for _, t := range targets {
			if t.ID == "" {
				return errors.New("a target has an empty id")
			}
			tags, _ := json.Marshal(nonNil(t.Tags))
			aliases, _ := json.Marshal(nonNil(t.Aliases))
			if _, err := ts.ExecContext(ctx, t.ID, t.Name, t.Riding, t.Party, t.Team, string(tags), string(aliases), now); err != nil {
				return fmt.Errorf("upsert target %q: %w", t.ID, err)
			}
			for _, a := range t.Accounts {
				if _, err := as.ExecContext(ctx, t.ID, a.Key(), string(a.Platform), a.Handle, a.URL, a.Schedule, now); err != nil {
					return fmt.Errorf("upsert account %q of target %q: %w", a.Key(), t.ID, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: sync targets: %w", err)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// StoredTarget is a target as last synced, with whether the watchlist still
// names it. Accounts carry platform, handle, URL and schedule only.
type StoredTarget struct {
	model.Target
	Active bool
	// InactiveAccounts are accounts the watchlist named once and no longer does.
	InactiveAccounts []model.Account
}

// Targets returns every target ever synced, active or not, by id.
func (db *DB) Targets(ctx context.Context) ([]StoredTarget, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT id, name, riding, party, team, tags, aliases, active FROM targets ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: list targets: %w", err)
	}
	var out []StoredTarget
	index := map[string]int{}
	for rows.Next() {
		var (
			t             StoredTarget
			tags, aliases string
		)
		if err := rows.Scan(&t.ID, &t.Name, &t.Riding, &t.Party, &t.Team, &tags, &aliases, &t.Active); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: list targets: %w", err)
		}
		if err := json.Unmarshal([]byte(tags), &t.Tags); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: list targets: %q tags: %w", t.ID, err)
		}
		if err := json.Unmarshal([]byte(aliases), &t.Aliases); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: list targets: %q aliases: %w", t.ID, err)
		}
		if len(t.Tags) == 0 {
			t.Tags = nil
		}
		if len(t.Aliases) == 0 {
			t.Aliases = nil
		}
		index[t.ID] = len(out)
		out = append(out, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list targets: %w", err)
	}
	rows, err = db.sql.QueryContext(ctx, `SELECT target, platform, handle, url, schedule, active FROM accounts ORDER BY target, account_key`)
	if err != nil {
		return nil, fmt.Errorf("store: list accounts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			target, platform string
			a                model.Account
			active           bool
		)
		if err := rows.Scan(&target, &platform, &a.Handle, &a.URL, &a.Schedule, &active); err != nil {
			return nil, fmt.Errorf("store: list accounts: %w", err)
		}
		a.Platform = model.Platform(platform)
		i, ok := index[target]
		if !ok {
			continue
		}
		if active {
			out[i].Accounts = append(out[i].Accounts, a)
		} else {
			out[i].InactiveAccounts = append(out[i].InactiveAccounts, a)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list accounts: %w", err)
	}
	return out, nil
}

// SaveCrawl stores one crawl of one source in a single transaction: posts,
// then authors and replies (upserted as in SaveReplies), then the source's
// health and cursor. If any part fails nothing is kept, so the cursor never
// runs ahead of the replies it covers. added counts the new replies.
func (db *DB) SaveCrawl(ctx context.Context, h model.SourceHealth, posts []model.Post, replies []model.Reply) (added int, err error) {
	if h.SourceKey == "" {
		return 0, errors.New("store: save crawl: source health has an empty source key")
	}
	var aw authorWrites
	err = db.tx(ctx, func(tx *sql.Tx) error {
		if err := db.savePosts(ctx, tx, posts); err != nil {
			return err
		}
		n, w, err := db.saveReplies(ctx, tx, replies)
		if err != nil {
			return err
		}
		aw = w
		if err := putHealth(ctx, tx, h); err != nil {
			return err
		}
		added = n
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: save crawl of %s: %w", h.SourceKey, err)
	}
	db.authors.remember(aw)
	return added, nil
}

func (db *DB) savePosts(ctx context.Context, tx *sql.Tx, posts []model.Post) error {
	if len(posts) == 0 {
		return nil
	}
	now := db.now().UnixNano()
	st, err := tx.PrepareContext(ctx, `INSERT INTO posts (platform, id, url, target, account, created_at, text, reply_count, collected_at, seen_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (platform, id) DO UPDATE SET url = excluded.url, target = excluded.target,
			account = excluded.account, created_at = excluded.created_at, text = excluded.text,
			reply_count = excluded.reply_count, seen_at = excluded.seen_at`)
	if err != nil {
		return fmt.Errorf("prepare post upsert: %w", err)
	}
	defer st.Close()
	for _, p := range posts {
		if p.Platform == "" || p.ID == "" {
			return fmt.Errorf("post %q has no platform or id", model.ReplyKey(p.Platform, p.ID))
		}
		var created any
		if !p.CreatedAt.IsZero() {
			created = p.CreatedAt.UnixNano()
		}
		if _, err := st.ExecContext(ctx, string(p.Platform), p.ID, p.URL, p.Target, p.Account, created, p.Text, p.ReplyCount, now, now); err != nil {
			return fmt.Errorf("upsert post %s: %w", model.ReplyKey(p.Platform, p.ID), err)
		}
	}
	return nil
}

// Post returns the stored watched post with the given platform and id.
func (db *DB) Post(ctx context.Context, platform model.Platform, id string) (model.Post, bool, error) {
	var (
		p       model.Post
		plat    string
		created sql.NullInt64
	)
	err := db.sql.QueryRowContext(ctx, `SELECT platform, id, url, target, account, created_at, text, reply_count
		FROM posts WHERE platform = ? AND id = ?`, string(platform), id).
		Scan(&plat, &p.ID, &p.URL, &p.Target, &p.Account, &created, &p.Text, &p.ReplyCount)
	if errors.Is(err, sql.ErrNoRows) {
		return model.Post{}, false, nil
	}
	if err != nil {
		return model.Post{}, false, fmt.Errorf("store: post %s: %w", model.ReplyKey(platform, id), err)
	}
	p.Platform = model.Platform(plat)
	if created.Valid {
		p.CreatedAt = fromNanos(created.Int64)
	}
	return p, true, nil
}

func putHealth(ctx context.Context, tx *sql.Tx, h model.SourceHealth) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO crawl_state (source_key, target, platform, cursor, last_attempt,
			last_success, consecutive_failures, last_error, next_check)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (source_key) DO UPDATE SET target = excluded.target, platform = excluded.platform,
			cursor = excluded.cursor, last_attempt = excluded.last_attempt, last_success = excluded.last_success,
			consecutive_failures = excluded.consecutive_failures, last_error = excluded.last_error,
			next_check = excluded.next_check`,
		h.SourceKey, h.Target, string(h.Platform), h.Cursor, fmtTime(h.LastAttempt), fmtTime(h.LastSuccess),
		h.ConsecutiveFailures, h.LastError, fmtTime(h.NextCheck))
	if err != nil {
		return fmt.Errorf("save health of %s: %w", h.SourceKey, err)
	}
	return nil
}

const healthColumns = `source_key, target, platform, cursor, last_attempt, last_success,
	consecutive_failures, last_error, next_check FROM crawl_state`

func scanHealth(s rowScanner) (model.SourceHealth, error) {
	var (
		h                           model.SourceHealth
		platform                    string
		attempt, success, nextCheck string
	)
	if err := s.Scan(&h.SourceKey, &h.Target, &platform, &h.Cursor, &attempt, &success,
		&h.ConsecutiveFailures, &h.LastError, &nextCheck); err != nil {
		return h, err
	}
	h.Platform = model.Platform(platform)
	h.LastAttempt, h.LastSuccess, h.NextCheck = parseTime(attempt), parseTime(success), parseTime(nextCheck)
	return h, nil
}

// SourceHealth returns the crawl state of one source (model.SourceKey).
func (db *DB) SourceHealth(ctx context.Context, key string) (model.SourceHealth, bool, error) {
	h, err := scanHealth(db.sql.QueryRowContext(ctx, `SELECT `+healthColumns+` WHERE source_key = ?`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return model.SourceHealth{}, false, nil
	}
	if err != nil {
		return model.SourceHealth{}, false, fmt.Errorf("store: source health %q: %w", key, err)
	}
	return h, true, nil
}

// ListSourceHealth returns the crawl state of every source ever crawled,
// ordered by source key.
func (db *DB) ListSourceHealth(ctx context.Context) ([]model.SourceHealth, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+healthColumns+` ORDER BY source_key`)
	if err != nil {
		return nil, fmt.Errorf("store: list source health: %w", err)
	}
	defer rows.Close()
	var out []model.SourceHealth
	for rows.Next() {
		h, err := scanHealth(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list source health: %w", err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list source health: %w", err)
	}
	return out, nil
}
