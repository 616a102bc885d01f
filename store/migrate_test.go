package store

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mpwatch/mpwatch/model"
)

func latestVersion(t *testing.T) int {
	t.Helper()
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	return ms[len(ms)-1].version
}

func appliedVersions(t *testing.T, db *sql.DB) []int {
	t.Helper()
	rows, err := db.Query(`SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	return vs
}

func TestMigrateFresh(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fresh.db")
	for i := range 2 { // the second open applies nothing
		db, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		v, err := db.SchemaVersion(ctx)
		if err != nil || v != latestVersion(t) {
			t.Errorf("open %d: version %d, err %v; want %d", i, v, err, latestVersion(t))
		}
		ms, _ := migrations()
		if got := appliedVersions(t, db.SQL()); len(got) != len(ms) {
			t.Errorf("open %d: applied %v, want one row per migration (%d)", i, got, len(ms))
		}
		var mode string
		if err := db.SQL().QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
			t.Errorf("journal_mode %q, err %v", mode, err)
		}
		db.Close()
	}
}

// TestMigrateFromOlder builds by hand a database that only saw migration 1,
// with data in it, as an older mpwatch would have left it.
func TestMigrateFromOlder(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if ms[0].version != 1 {
		t.Fatalf("first migration is %s", ms[0].name)
	}
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`,
		ms[0].sql,
		`INSERT INTO schema_migrations VALUES (1, '0001_core.sql', '2026-01-01T00:00:00.000000000Z')`,
		`INSERT INTO replies (platform, id, target, created_at, text, author_key, collected_at, updated_at)
			VALUES ('mastodon', '42', 'jane', 1767225600000000000, 'from the old schema', '', 1, 1)`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%.40s: %v", q, err)
		}
	}
	raw.Close()

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, _ := db.SchemaVersion(ctx); v != latestVersion(t) {
		t.Errorf("version %d, want %d", v, latestVersion(t))
	}
	if got := appliedVersions(t, db.SQL()); len(got) != len(ms) || got[0] != 1 {
		t.Errorf("applied %v", got)
	}
	r, ok, err := db.Reply(ctx, "mastodon:42")
	if err != nil || !ok || r.Text != "from the old schema" {
		t.Errorf("old data: %+v ok %v err %v", r, ok, err)
	}
	if added, err := db.SaveReplies(ctx, []model.Reply{reply("43", at(0), "a")}); err != nil || added != 1 {
		t.Errorf("write after migration: added %d err %v", added, err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "newer.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	next := latestVersion(t) + 1
	if _, err := db.SQL().Exec(`INSERT INTO schema_migrations VALUES (?, '9999_future.sql', '')`, next); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = Open(ctx, path)
	if !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("err %v, want ErrNewerSchema", err)
	}
	for _, want := range []string{path, "schema version", "upgrade mpwatch"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestFailedMigrationRollsBack(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	base := latestVersion(t)
	ms := []migration{
		{base + 1, "good.sql", `CREATE TABLE good (x INTEGER);`},
		{base + 2, "bad.sql", `CREATE TABLE half (x INTEGER); INSERT INTO nosuch VALUES (1);`},
	}
	err := db.applyMigrations(ctx, ms)
	if err == nil || !strings.Contains(err.Error(), "migration bad.sql") {
		t.Fatalf("err %v, want one naming bad.sql", err)
	}
	if v, _ := db.SchemaVersion(ctx); v != base+1 {
		t.Errorf("version %d, want %d (good applied, bad not)", v, base+1)
	}
	var n int
	db.SQL().QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE name = 'half'`).Scan(&n)
	if n != 0 {
		t.Error("table from the failed migration exists")
	}
}
