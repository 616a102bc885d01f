// Package store keeps mpwatch's state in one SQLite file (modernc.org/sqlite,
// pure Go): the watchlist, watched posts, authors, replies, per-source crawl
// state, detector state, and the tables other packages add through their
// own migrations (rules, notify outbox, web).
//
// # Opening
//
// Open applies the embedded migrations (store/migrations/NNNN_name.sql, each
// once, in order, in its own transaction) and refuses, with ErrNewerSchema, a
// database that a newer mpwatch has migrated further. The database runs in
// WAL mode with synchronous=NORMAL: a transaction that has returned from
// commit survives the process being killed (not necessarily a power cut),
// and readers never wait for the writer. Writers take the lock at BEGIN
// (IMMEDIATE) and wait for each other up to the 10 s busy timeout, so
// concurrent writers, in this process or another, queue instead of failing.
//
// # Replies
//
// A reply is identified by (platform, id); its key is "platform:id". Saving
// a reply already stored updates its fields in place (edited text wins)
// and never duplicates it; the count a save returns is of replies stored for
// the first time. Each reply gets a seq when first stored: an increasing
// number that is never changed or reused (even after retention), giving the
// ingest order that ScanRepliesAfter resumes from.
//
// Authors are stored once per (platform, author id) and the latest saved
// signals win: a reply read back carries its author's current signals.
// Authors without an id (some HTML comment sections) are told apart by
// handle, name and URL.
//
// Reply, post and author times are stored as Unix nanoseconds in UTC and
// read back in UTC; the zero time round-trips, and sorts before every other
// time. Time ranges are half-open, [from, to).
//
// # Retention
//
// PurgeRepliesBefore deletes in transactions of a few thousand rows so the
// crawler's writes are never held up for long. Authors go when no reply
// created on or after the cut's UTC day was saved with them; watched posts
// go when they were created before the cut and no crawl has stored them
// since. Targets and accounts removed from the watchlist are only marked
// inactive (SyncTargets), so their history stays readable. The file does
// not shrink after a purge; SQLite reuses the freed pages for new replies.
//
// # Concurrency
//
// A DB is safe for concurrent use. Scans read a page of rows at a time and
// call back outside any open statement, so a callback may use the store, and
// a long scan does not hold a read snapshot that stops WAL checkpoints.
//
// # For other owners of this package
//
// Write your methods in your own file, add migrations in your number range
// (0010+ rules, 0020+ notify, 0030+ web/app), run multi-statement writes in
// db.tx, and store times with fmtTime / parseTime (fixed-width RFC 3339, so
// text order is time order).
package store
