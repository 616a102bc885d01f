-- Core tables: watched targets and accounts, watched posts, authors, replies,
-- and per-source crawl state. Owned by the store package.
CREATE TABLE IF NOT EXISTS placeholder_core (id INTEGER PRIMARY KEY);
