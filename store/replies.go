package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/mpwatch/mpwatch/model"
)

// Bucket is the number of replies one target received on one platform in
// the bucket [Start, Start+bucket). Starts are multiples of the bucket length
// since the Unix epoch, so buckets from different queries line up.
type Bucket struct {
	Target   string
	Platform model.Platform
	Start    time.Time
	Count    int
}

// scanPage is how many rows a scan reads before it closes its cursor and
// calls back: a callback never runs inside an open read, so it may use the
// store itself, and a long scan never pins the WAL against checkpoints.
const scanPage = 1000

// SaveReplies upserts replies (and their authors) in transactions of at most
// saveBatch replies. A reply already stored, by (platform, id), is updated in
// place and keeps its seq; added counts only replies stored for the first time.
// On error, the transactions already committed stay (added counts their new
// replies) and the failing one leaves nothing; saving again is safe.
func (db *DB) SaveReplies(ctx context.Context, replies []model.Reply) (added int, err error) {
	for start := 0; start < len(replies); start += saveBatch {
		end := min(start+saveBatch, len(replies))
		var (
			n  int
			aw authorWrites
		)
		err := db.tx(ctx, func(tx *sql.Tx) error {
			var err error
			n, aw, err = db.saveReplies(ctx, tx, replies[start:end])
			return err
		})
		if err != nil {
			return added, fmt.Errorf("store: save replies %d-%d of %d: %w", start, end, len(replies), err)
		}
		db.authors.remember(aw)
		added += n
	}
	return added, nil
}

// saveBatch bounds one SaveReplies transaction, so a replay of millions of
// replies holds the write lock for under half a second at a time, while
// large enough that the pages every batch touches (one per target in the
// target index) are written once per 20,000 replies, not once per 5,000.
const saveBatch = 20000

// replyRowsPerStmt rows of replyCols values stay far below SQLite's limit
// of 32,766 bound parameters.
const (
	replyRowsPerStmt = 64
	replyCols        = 14
)

// upsertReplySQL inserts n replies. A reply already stored keeps its seq and
// collected_at; its other fields take the new values, and the row is only
// written when one of them changed.
func upsertReplySQL(n int) string {
	row := "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	return `INSERT INTO replies
	(platform, id, url, kind, target, account, post_id, parent_id, created_at, text, lang, author_key, collected_at, updated_at)
	VALUES ` + strings.Repeat(row+", ", n-1) + row + `
	ON CONFLICT (platform, id) DO UPDATE SET
		url = excluded.url, kind = excluded.kind, target = excluded.target, account = excluded.account,
		post_id = excluded.post_id, parent_id = excluded.parent_id, created_at = excluded.created_at,
		text = excluded.text, lang = excluded.lang, author_key = excluded.author_key,
		updated_at = excluded.updated_at
	WHERE url IS NOT excluded.url OR kind IS NOT excluded.kind OR target IS NOT excluded.target
		OR account IS NOT excluded.account OR post_id IS NOT excluded.post_id
		OR parent_id IS NOT excluded.parent_id OR created_at IS NOT excluded.created_at
		OR text IS NOT excluded.text OR lang IS NOT excluded.lang OR author_key IS NOT excluded.author_key`
}

// The WHERE clause skips the write when nothing changed: authors recur in
// every batch, and an unchanged row costs a lookup instead of a page write.
const (
	authorRowsPerStmt = 64
	authorCols        = 14
)

func upsertAuthorSQL(n int) string {
	row := "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	return `INSERT INTO authors
	(platform, akey, id, handle, name, url, created_at, followers, following, posts, bot, default_avatar, updated_at, last_seen)
	VALUES ` + strings.Repeat(row+", ", n-1) + row + `
	ON CONFLICT (platform, akey) DO UPDATE SET
		id = excluded.id, handle = excluded.handle, name = excluded.name, url = excluded.url,
		created_at = excluded.created_at, followers = excluded.followers, following = excluded.following,
		posts = excluded.posts, bot = excluded.bot, default_avatar = excluded.default_avatar,
		updated_at = excluded.updated_at, last_seen = MAX(last_seen, excluded.last_seen)
	WHERE last_seen < excluded.last_seen OR id IS NOT excluded.id OR handle IS NOT excluded.handle OR name IS NOT excluded.name
		OR url IS NOT excluded.url OR created_at IS NOT excluded.created_at
		OR followers IS NOT excluded.followers OR following IS NOT excluded.following
		OR posts IS NOT excluded.posts OR bot IS NOT excluded.bot
		OR default_avatar IS NOT excluded.default_avatar`
}

// saveReplies writes one batch inside tx and returns how many replies were
// new, and the author writes to pass to db.authors.remember after commit.
func (db *DB) saveReplies(ctx context.Context, tx *sql.Tx, replies []model.Reply) (int, authorWrites, error) {
	if len(replies) == 0 {
		return 0, authorWrites{}, nil
	}
	now := db.now().UnixNano()
	// Under the write lock no one else inserts, so every seq above the
	// current maximum belongs to a reply this batch stored for the first time.
	var before int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM replies`).Scan(&before); err != nil {
		return 0, authorWrites{}, fmt.Errorf("read last seq: %w", err)
	}

	ws, err := db.saveAuthors(ctx, tx, replies, now)
	if err != nil {
		return 0, authorWrites{}, err
	}

	// Many rows per statement: the per-statement cost of database/sql and
	// the driver is larger than SQLite's own per-row work.
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	args := make([]any, 0, replyRowsPerStmt*replyCols)
	for start := 0; start < len(replies); start += replyRowsPerStmt {
		chunk := replies[start:min(start+replyRowsPerStmt, len(replies))]
		args = args[:0]
		for i := range chunk {
			r := &chunk[i]
			if r.Platform == "" || r.ID == "" {
				return 0, authorWrites{}, fmt.Errorf("reply %d has no platform or id (%q)", start+i, r.Key())
			}
			args = append(args, string(r.Platform), r.ID, r.URL, string(r.Kind), r.Target, r.Account,
				r.PostID, r.ParentID, toNanos(r.CreatedAt), r.Text, r.Lang, authorKey(r.Author), now, now)
		}
		var err error
		if len(chunk) == replyRowsPerStmt {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, upsertReplySQL(replyRowsPerStmt)); err != nil {
					return 0, authorWrites{}, fmt.Errorf("prepare reply upsert: %w", err)
				}
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, upsertReplySQL(len(chunk)), args...)
		}
		if err != nil {
			return 0, authorWrites{}, fmt.Errorf("upsert replies %s..%s: %w", chunk[0].Key(), chunk[len(chunk)-1].Key(), err)
		}
	}
	var added int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM replies WHERE seq > ?`, before).Scan(&added); err != nil {
		return 0, authorWrites{}, fmt.Errorf("count new replies: %w", err)
	}
	return added, ws, nil
}

// saveAuthors upserts, many rows per statement, each distinct author of
// replies once (with the signals of its last reply in the batch: the latest
// crawl wins), skipping those the cache knows are stored unchanged.
func (db *DB) saveAuthors(ctx context.Context, tx *sql.Tx, replies []model.Reply, now int64) (authorWrites, error) {
	var purged int64
	if err := tx.QueryRowContext(ctx, `SELECT value FROM store_meta WHERE key = 'authors_purged'`).Scan(&purged); err != nil {
		return authorWrites{}, fmt.Errorf("read purge generation: %w", err)
	}
	db.authors.sync(purged)
	index := make(map[authorID]int, len(replies)/2+1)
	var (
		ids      []authorID
		authors  []*model.Author
		lastSeen []int64
	)
	today := dayStart(now)
	for i := range replies {
		r := &replies[i]
		id := authorID{string(r.Platform), authorKey(r.Author)}
		seen := max(today, dayStart(toNanos(r.CreatedAt)))
		if j, ok := index[id]; ok {
			authors[j] = &r.Author
			lastSeen[j] = max(lastSeen[j], seen)
			continue
		}
		index[id] = len(ids)
		ids = append(ids, id)
		authors = append(authors, &r.Author)
		lastSeen = append(lastSeen, seen)
	}
	ws := make([]authorWrite, 0, len(ids))
	for i, id := range ids {
		h := db.authors.hash(authors[i], lastSeen[i])
		if db.authors.unchanged(id, h) {
			continue
		}
		ws = append(ws, authorWrite{id, h})
	}
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	args := make([]any, 0, authorRowsPerStmt*authorCols)
	for start := 0; start < len(ws); start += authorRowsPerStmt {
		chunk := ws[start:min(start+authorRowsPerStmt, len(ws))]
		args = args[:0]
		for _, w := range chunk {
			j := index[w.id]
			a := authors[j]
			var created any
			if a.CreatedAt != nil {
				created = toNanos(*a.CreatedAt)
			}
			args = append(args, w.id.platform, w.id.key, a.ID, a.Handle, a.Name, a.URL, created,
				a.Followers, a.Following, a.Posts, a.Bot, a.DefaultAvatar, now, lastSeen[j])
		}
		var err error
		if len(chunk) == authorRowsPerStmt {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, upsertAuthorSQL(authorRowsPerStmt)); err != nil {
					return authorWrites{}, fmt.Errorf("prepare author upsert: %w", err)
				}
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, upsertAuthorSQL(len(chunk)), args...)
		}
		if err != nil {
			return authorWrites{}, fmt.Errorf("upsert authors: %w", err)
		}
	}
	return authorWrites{purged, ws}, nil
}

// dayStart truncates Unix nanoseconds to the start of their UTC day.
func dayStart(n int64) int64 {
	const day = int64(24 * time.Hour)
	if n < math.MinInt64+day {
		return math.MinInt64 // the zero time; flooring would overflow
	}
	d := n / day
	if n%day < 0 {
		d--
	}
	return d * day
}

// authorKey names an author within its platform: the platform's id, or for
// sources that show no id (some HTML comment sections), the visible identity
// behind a NUL byte, which no platform id contains.
func authorKey(a model.Author) string {
	if a.ID != "" {
		return a.ID
	}
	if a.Handle == "" && a.Name == "" && a.URL == "" {
		return ""
	}
	return "\x00" + a.Handle + "\x00" + a.Name + "\x00" + a.URL
}

// replyColumns reads a reply joined with its author; scanReply matches it.
const replyColumns = `r.seq, r.platform, r.id, r.url, r.kind, r.target, r.account, r.post_id, r.parent_id,
	r.created_at, r.text, r.lang,
	a.id, a.handle, a.name, a.url, a.created_at, a.followers, a.following, a.posts, a.bot, a.default_avatar
	FROM replies r LEFT JOIN authors a ON a.platform = r.platform AND a.akey = r.author_key`

type rowScanner interface{ Scan(...any) error }

func scanReply(s rowScanner) (int64, model.Reply, error) {
	var (
		r                           model.Reply
		seq, created                int64
		platform, kind              string
		aid, handle, name, url      sql.NullString
		acreated                    sql.NullInt64
		followers, following, posts sql.NullInt64
		bot, defaultAvatar          sql.NullBool
	)
	err := s.Scan(&seq, &platform, &r.ID, &r.URL, &kind, &r.Target, &r.Account, &r.PostID, &r.ParentID,
		&created, &r.Text, &r.Lang,
		&aid, &handle, &name, &url, &acreated, &followers, &following, &posts, &bot, &defaultAvatar)
	if err != nil {
		return 0, r, err
	}
	r.Platform = model.Platform(platform)
	r.Kind = model.ReplyKind(kind)
	r.CreatedAt = fromNanos(created)
	r.Author = model.Author{
		ID: aid.String, Handle: handle.String, Name: name.String, URL: url.String,
		Followers: int(followers.Int64), Following: int(following.Int64), Posts: int(posts.Int64),
		Bot: bot.Bool, DefaultAvatar: defaultAvatar.Bool,
	}
	if acreated.Valid {
		t := fromNanos(acreated.Int64)
		r.Author.CreatedAt = &t
	}
	return seq, r, nil
}

// toNanos is the stored form of a reply time: Unix nanoseconds, with the
// zero time (a source that gave no date) as the smallest integer, so it
// round-trips, sorts first and falls to any retention cut. Times outside
// 1678-2262 are not representable (time.Time.UnixNano).
func toNanos(t time.Time) int64 {
	if t.IsZero() {
		return math.MinInt64
	}
	return t.UnixNano()
}

// fromNanos is the inverse of toNanos, in UTC.
func fromNanos(n int64) time.Time {
	if n == math.MinInt64 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// ScanReplies calls fn for every reply created in [from, to), oldest first
// (ties in ingest order). It stops at fn's first error and returns it.
func (db *DB) ScanReplies(ctx context.Context, from, to time.Time, fn func(model.Reply) error) error {
	lo, hi := toNanos(from), toNanos(to)
	var afterSeq int64 = -1
	page := make([]model.Reply, 0, scanPage)
	seqs := make([]int64, 0, scanPage)
	for {
		page, seqs = page[:0], seqs[:0]
		// keyset paging on (created_at, seq), which the created_at index
		// serves in order (the rowid is its tail); the range is stated
		// plainly so the planner seeks to it instead of walking an OR
		rows, err := db.sql.QueryContext(ctx, `SELECT `+replyColumns+`
			WHERE r.created_at >= ?1 AND r.created_at < ?2 AND (r.created_at > ?1 OR r.seq > ?3)
			ORDER BY r.created_at, r.seq LIMIT ?4`, lo, hi, afterSeq, scanPage)
		if err != nil {
			return fmt.Errorf("store: scan replies: %w", err)
		}
		for rows.Next() {
			seq, r, err := scanReply(rows)
			if err != nil {
				rows.Close()
				return fmt.Errorf("store: scan replies: %w", err)
			}
			page = append(page, r)
			seqs = append(seqs, seq)
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("store: scan replies: %w", err)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: scan replies: %w", err)
		}
		for _, r := range page {
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(page) < scanPage {
			return nil
		}
		last := page[len(page)-1]
		lo, afterSeq = toNanos(last.CreatedAt), seqs[len(seqs)-1]
	}
}

// ScanRepliesAfter calls fn for up to limit replies (all when limit <= 0)
// whose seq is greater than afterSeq, in ingest order, and returns the last
// seq passed to fn (afterSeq when there was none), from which to resume.
func (db *DB) ScanRepliesAfter(ctx context.Context, afterSeq int64, limit int, fn func(seq int64, r model.Reply) error) (last int64, err error) {
	last = afterSeq
	type item struct {
		seq int64
		r   model.Reply
	}
	page := make([]item, 0, scanPage)
	for done := 0; limit <= 0 || done < limit; {
		n := scanPage
		if limit > 0 {
			n = min(n, limit-done)
		}
		page = page[:0]
		rows, err := db.sql.QueryContext(ctx, `SELECT `+replyColumns+` WHERE r.seq > ? ORDER BY r.seq LIMIT ?`, last, n)
		if err != nil {
			return last, fmt.Errorf("store: scan replies after %d: %w", last, err)
		}
		for rows.Next() {
			seq, r, err := scanReply(rows)
			if err != nil {
				rows.Close()
				return last, fmt.Errorf("store: scan replies after %d: %w", last, err)
			}
			page = append(page, item{seq, r})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return last, fmt.Errorf("store: scan replies after %d: %w", last, err)
		}
		for _, it := range page {
			if err := fn(it.seq, it.r); err != nil {
				return last, err
			}
			last = it.seq
		}
		done += len(page)
		if len(page) < n {
			break
		}
	}
	return last, nil
}

// splitKey splits "platform:id"; ids may themselves contain colons
// (Bluesky at-URIs), platform names never do.
func splitKey(key string) (model.Platform, string, bool) {
	p, id, ok := strings.Cut(key, ":")
	if !ok || p == "" || id == "" {
		return "", "", false
	}
	return model.Platform(p), id, true
}

// Reply returns the reply stored under key ("platform:id").
func (db *DB) Reply(ctx context.Context, key string) (model.Reply, bool, error) {
	p, id, ok := splitKey(key)
	if !ok {
		return model.Reply{}, false, fmt.Errorf("store: reply %q: key must be platform:id", key)
	}
	_, r, err := scanReply(db.sql.QueryRowContext(ctx, `SELECT `+replyColumns+` WHERE r.platform = ? AND r.id = ?`, string(p), id))
	if errors.Is(err, sql.ErrNoRows) {
		return model.Reply{}, false, nil
	}
	if err != nil {
		return model.Reply{}, false, fmt.Errorf("store: reply %q: %w", key, err)
	}
	return r, true, nil
}

// RepliesByKeys returns the stored replies among keys, in the order of keys;
// keys not stored (purged, or never seen) are left out.
func (db *DB) RepliesByKeys(ctx context.Context, keys []string) ([]model.Reply, error) {
	out := make([]model.Reply, 0, len(keys))
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: replies by keys: %w", err)
	}
	defer conn.Close()
	st, err := conn.PrepareContext(ctx, `SELECT `+replyColumns+` WHERE r.platform = ? AND r.id = ?`)
	if err != nil {
		return nil, fmt.Errorf("store: replies by keys: %w", err)
	}
	defer st.Close()
	for _, key := range keys {
		p, id, ok := splitKey(key)
		if !ok {
			return nil, fmt.Errorf("store: replies by keys: %q: key must be platform:id", key)
		}
		_, r, err := scanReply(st.QueryRowContext(ctx, string(p), id))
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("store: replies by keys: %q: %w", key, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// CountReplies counts the replies created in [from, to) per target,
// platform and bucket, ordered by start, target and platform. Buckets are
// aligned to the Unix epoch, so the first and last may cover only part of
// the range; empty buckets are not returned.
func (db *DB) CountReplies(ctx context.Context, from, to time.Time, bucket time.Duration) ([]Bucket, error) {
	if bucket <= 0 {
		return nil, fmt.Errorf("store: count replies: bucket must be > 0, got %s", bucket)
	}
	b := int64(bucket)
	// created_at may be negative (before 1970); floor division keeps
	// such buckets aligned too.
	rows, err := db.sql.QueryContext(ctx, `SELECT target, platform,
			(created_at / ?1 - (created_at % ?1 < 0)) * ?1 AS start, COUNT(*)
		FROM replies WHERE created_at >= ?2 AND created_at < ?3
		GROUP BY start, target, platform ORDER BY start, target, platform`, b, toNanos(from), toNanos(to))
	if err != nil {
		return nil, fmt.Errorf("store: count replies: %w", err)
	}
	defer rows.Close()
	var out []Bucket
	for rows.Next() {
		var (
			bk       Bucket
			platform string
			start    int64
		)
		if err := rows.Scan(&bk.Target, &platform, &start, &bk.Count); err != nil {
			return nil, fmt.Errorf("store: count replies: %w", err)
		}
		bk.Platform = model.Platform(platform)
		bk.Start = fromNanos(start)
		out = append(out, bk)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: count replies: %w", err)
	}
	return out, nil
}

// purgeChunk bounds each retention transaction so the crawler's writes wait
// for at most a few milliseconds behind it.
const purgeChunk = 2000

// PurgeRepliesBefore deletes the replies created before t, in transactions of
// purgeChunk rows, then the authors and posts no longer needed: authors not
// saved with any reply created on or after t's UTC day (authors.last_seen),
// and posts created before t that no crawl has stored since t (a crawl stores
// the post with the replies it reads under it). It returns how many replies
// it deleted.
func (db *DB) PurgeRepliesBefore(ctx context.Context, t time.Time) (int64, error) {
	cut := toNanos(t)
	var total int64
	steps := []struct {
		what string
		sql  string
		arg  int64
	}{
		{"replies", `DELETE FROM replies WHERE seq IN
			(SELECT seq FROM replies WHERE created_at < ? ORDER BY created_at LIMIT ?)`, cut},
		{"authors", `DELETE FROM authors WHERE (platform, akey) IN
			(SELECT platform, akey FROM authors WHERE last_seen < ? LIMIT ?)`, dayStart(cut)},
		{"posts", `DELETE FROM posts WHERE (platform, id) IN
			(SELECT platform, id FROM posts WHERE seen_at < ?1 AND COALESCE(created_at, collected_at) < ?1 LIMIT ?2)`, cut},
	}
	for _, st := range steps {
		for {
			var n int64
			err := db.tx(ctx, func(tx *sql.Tx) error {
				res, err := tx.ExecContext(ctx, st.sql, st.arg, purgeChunk)
				if err != nil {
					return err
				}
				if n, err = res.RowsAffected(); err != nil {
					return err
				}
				if st.what == "authors" && n > 0 {
					// in the same transaction: every author cache learns
					// of the deletion at its next save (authorcache.go)
					if _, err := tx.ExecContext(ctx, `UPDATE store_meta SET value = value + 1 WHERE key = 'authors_purged'`); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return total, fmt.Errorf("store: purge %s before %s: %w", st.what, t.UTC().Format(time.RFC3339), err)
			}
			if st.what == "replies" {
				total += n
			}
			if n < purgeChunk {
				break
			}
		}
	}
	return total, nil
}
