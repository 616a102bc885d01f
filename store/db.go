package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver (pure Go, no cgo)
)

//go:embed migrations/*.sql
var migrationFS embed.FS

var memSeq atomic.Int64

// DB is the SQLite store. It is safe for concurrent use.
type DB struct {
	sql     *sql.DB
	path    string
	now     func() time.Time
	authors *authorCache
}

// Option configures Open.
type Option func(*DB)

// WithClock injects the clock used for timestamps the store sets itself
// (collected_at, retention cut-offs). Tests use a fixed clock.
func WithClock(now func() time.Time) Option { return func(db *DB) { db.now = now } }

// ErrNewerSchema is returned by Open for a database written by a newer mpwatch.
var ErrNewerSchema = errors.New("database schema is newer than this mpwatch")

// Open opens (creating if needed) the SQLite database at path, switches it to
// WAL mode with a busy timeout, and applies the embedded migrations. path
// ":memory:" gives a private in-memory database (for tests).
func Open(ctx context.Context, path string, opts ...Option) (*DB, error) {
	dsn := path
	memory := path == ":memory:"
	if memory {
		// a name of its own, so parallel tests do not share one database
		dsn = fmt.Sprintf("file:mpwatch-mem-%d?mode=memory&cache=shared", memSeq.Add(1))
	}
	// Why each setting (BenchmarkSaveReplies measures the effect):
	//   busy_timeout, _txlock=immediate: writers queue at BEGIN instead of
	//     failing with SQLITE_BUSY when they upgrade a read to a write;
	//   synchronous=NORMAL: in WAL a commit survives a process crash, and
	//     the fsync moves to checkpoints;
	//   cache_size 64 MiB (per connection, filled only as used): the index
	//     pages a 20k-reply batch touches stay in memory;
	//   wal_autocheckpoint 10,000 pages: hot pages rewritten by successive
	//     commits are copied to the database once per checkpoint;
	//   temp_store=MEMORY: multi-row upserts keep their statement journal
	//     in memory instead of a temporary file.
	q := "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=cache_size(-65536)&_pragma=wal_autocheckpoint(10000)&_pragma=temp_store(MEMORY)&_txlock=immediate"
	if !memory {
		q = "_pragma=journal_mode(WAL)&" + q
	}
	if strings.Contains(dsn, "?") {
		dsn += "&" + q
	} else {
		dsn = "file:" + dsn + "?" + q
	}
	sqldb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if memory {
		sqldb.SetMaxOpenConns(1)
	} else {
		// SQLite has one writer; a few readers may run beside it in WAL mode.
		sqldb.SetMaxOpenConns(4)
	}
	db := &DB{sql: sqldb, path: path, now: time.Now, authors: newAuthorCache()}
	for _, o := range opts {
		o(db)
	}
	if err := sqldb.PingContext(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := db.migrate(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("store: migrate %s: %w", path, err)
	}
	return db, nil
}

// Close closes the database, first letting SQLite refresh the planner
// statistics it finds stale (bounded by analysis_limit, so it is quick).
func (db *DB) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// best effort: a failure here loses nothing
	_, _ = db.sql.ExecContext(ctx, `PRAGMA analysis_limit = 400; PRAGMA optimize`)
	if err := db.sql.Close(); err != nil {
		return fmt.Errorf("store: close %s: %w", db.path, err)
	}
	return nil
}

// SQL exposes the handle for packages' own tests and tools in this module.
func (db *DB) SQL() *sql.DB { return db.sql }

// Ping checks that the database answers (for /readyz).
func (db *DB) Ping(ctx context.Context) error { return db.sql.PingContext(ctx) }

type migration struct {
	version int
	name    string
	sql     string
}

func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number and '_'", name)
		}
		b, err := migrationFS.ReadFile(path.Join("migrations", name))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{v, name, string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s share version %d", out[i-1].name, out[i].name, out[i].version)
		}
	}
	return out, nil
}

// migrate applies, each in its own transaction, the embedded migrations the
// database has not seen, and refuses a database that has seen migrations
// this binary does not know (it was written by a newer mpwatch).
func (db *DB) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	return db.applyMigrations(ctx, ms)
}

func (db *DB) applyMigrations(ctx context.Context, ms []migration) error {
	if _, err := db.sql.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	var have int
	if err := db.sql.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	latest := 0
	if len(ms) > 0 {
		latest = ms[len(ms)-1].version
	}
	if have > latest {
		return fmt.Errorf("%w: the database is at schema version %d, this binary knows up to %d; upgrade mpwatch or use another database file",
			ErrNewerSchema, have, latest)
	}
	for _, m := range ms {
		if m.version <= have {
			continue
		}
		err := db.tx(ctx, func(tx *sql.Tx) error {
			// Another process may have applied it since we looked: the
			// check is repeated under the write lock.
			var done int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&done); err != nil {
				return err
			}
			if done > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, fmtTime(db.now())); err != nil {
				return fmt.Errorf("record: %w", err)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	return nil
}

// SchemaVersion returns the highest applied migration.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := db.sql.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// tx runs fn in one transaction, committing only when fn returns nil.
func (db *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Times are stored as RFC 3339 text in UTC with fixed-width nanoseconds so
// that text order is time order.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeLayout)
}

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		t, _ = time.Parse(time.RFC3339Nano, s)
	}
	return t
}
