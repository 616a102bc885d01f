-- Core tables: watched targets and accounts, watched posts, authors, replies,
-- per-source crawl state and the detectors' key-value state. Owned by the
-- store package (store/replies.go, store/crawl.go, store/state.go).
--
-- Times in the hot tables (posts, authors, replies) are INTEGER nanoseconds
-- since the Unix epoch, UTC: half the bytes of RFC 3339 text, and range scans
-- and bucket arithmetic are integer operations. NULL means "not known".
-- Tables written rarely (targets, crawl_state, state) use the fixed-width
-- RFC 3339 text of fmtTime so they read well in the sqlite3 shell.

-- The watchlist as last configured. A target or account that leaves the
-- watchlist is marked inactive, never deleted, so its history stays readable.
CREATE TABLE targets (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL DEFAULT '',
    riding     TEXT NOT NULL DEFAULT '',
    party      TEXT NOT NULL DEFAULT '',
    team       TEXT NOT NULL DEFAULT '',
    tags       TEXT NOT NULL DEFAULT '[]', -- JSON array
    aliases    TEXT NOT NULL DEFAULT '[]', -- JSON array
    active     INTEGER NOT NULL DEFAULT 1,
    updated_at TEXT NOT NULL
) WITHOUT ROWID;

-- Tokens are never stored: they come from the environment at each start.
CREATE TABLE accounts (
    target      TEXT NOT NULL REFERENCES targets(id),
    account_key TEXT NOT NULL, -- model.Account.Key()
    platform    TEXT NOT NULL,
    handle      TEXT NOT NULL DEFAULT '',
    url         TEXT NOT NULL DEFAULT '',
    schedule    TEXT NOT NULL DEFAULT '',
    active      INTEGER NOT NULL DEFAULT 1,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (target, account_key)
) WITHOUT ROWID;

CREATE TABLE posts (
    platform     TEXT NOT NULL,
    id           TEXT NOT NULL,
    url          TEXT NOT NULL DEFAULT '',
    target       TEXT NOT NULL DEFAULT '',
    account      TEXT NOT NULL DEFAULT '',
    created_at   INTEGER,
    text         TEXT NOT NULL DEFAULT '',
    reply_count  INTEGER NOT NULL DEFAULT 0,
    collected_at INTEGER NOT NULL, -- first stored
    seen_at      INTEGER NOT NULL, -- last stored by a crawl
    PRIMARY KEY (platform, id)
) WITHOUT ROWID;

-- One row per (platform, author); the latest crawl's signals win. akey is the
-- platform's author id, or for pages that show no id a key derived from the
-- handle, name and URL (see authorKey in replies.go); id keeps the real id.
CREATE TABLE authors (
    platform       TEXT NOT NULL,
    akey           TEXT NOT NULL,
    id             TEXT NOT NULL DEFAULT '',
    handle         TEXT NOT NULL DEFAULT '',
    name           TEXT NOT NULL DEFAULT '',
    url            TEXT NOT NULL DEFAULT '',
    created_at     INTEGER, -- NULL: the platform did not say
    followers      INTEGER NOT NULL DEFAULT 0,
    following      INTEGER NOT NULL DEFAULT 0,
    posts          INTEGER NOT NULL DEFAULT 0,
    bot            INTEGER NOT NULL DEFAULT 0,
    default_avatar INTEGER NOT NULL DEFAULT 0,
    updated_at     INTEGER NOT NULL,
    -- start of the UTC day of the newest reply time (created or collected)
    -- this author was saved with; never decreases. Every stored reply's
    -- author has last_seen >= the day the reply was created, so retention
    -- deletes authors with last_seen before the cut's day without a join.
    last_seen      INTEGER NOT NULL,
    PRIMARY KEY (platform, akey)
) WITHOUT ROWID;

-- seq is the ingest order: AUTOINCREMENT so a number is never reused, even
-- after retention deletes the newest rows, because readers resume from the
-- last seq they saw (ScanRepliesAfter).
CREATE TABLE replies (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    platform     TEXT NOT NULL,
    id           TEXT NOT NULL,
    url          TEXT NOT NULL DEFAULT '',
    kind         TEXT NOT NULL DEFAULT '',
    target       TEXT NOT NULL DEFAULT '',
    account      TEXT NOT NULL DEFAULT '',
    post_id      TEXT NOT NULL DEFAULT '',
    parent_id    TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    text         TEXT NOT NULL DEFAULT '',
    lang         TEXT NOT NULL DEFAULT '',
    author_key   TEXT NOT NULL DEFAULT '',
    collected_at INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (platform, id)
);
-- windows over all targets (detectors, retention)
CREATE INDEX replies_created ON replies (created_at);
-- one target's window (status page, per-target detectors)
CREATE INDEX replies_target_created ON replies (target, created_at);
-- No index on the author: ingest cost is dominated by random index pages,
-- and retention finds stale authors through authors.last_seen instead.
-- seq is the rowid, so ingest-order reads need no index of their own.

CREATE TABLE crawl_state (
    source_key           TEXT PRIMARY KEY,
    target               TEXT NOT NULL DEFAULT '',
    platform             TEXT NOT NULL DEFAULT '',
    cursor               TEXT NOT NULL DEFAULT '',
    last_attempt         TEXT NOT NULL DEFAULT '',
    last_success         TEXT NOT NULL DEFAULT '',
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_error           TEXT NOT NULL DEFAULT '',
    next_check           TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

-- Small durable values for detectors and schedulers (baselines, last
-- evaluation time). Keys are namespaced by their owner ("rules/...").
CREATE TABLE state (
    key        TEXT PRIMARY KEY,
    value      BLOB NOT NULL,
    updated_at TEXT NOT NULL
) WITHOUT ROWID;

-- Counters the store keeps for itself. authors_purged grows each time
-- retention deletes authors, so every process's author cache (authorcache.go)
-- knows to forget what it believed stored.
CREATE TABLE store_meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO store_meta (key, value) VALUES ('authors_purged', 0);
