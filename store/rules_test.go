package store

import (
	"context"
	"path/filepath"
	"testing"
)

func TestRulesState(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "rules.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SaveRulesState(ctx,
		map[string][]byte{"engine": []byte(`{"last_seq":7}`), "rule/spike/abc": {0, 1, 2}},
		map[string][]byte{"k1": []byte(`{"open":true}`), "k2": []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	// an update overwrites, a nil value deletes
	if err := db.SaveRulesState(ctx, map[string][]byte{"rule/spike/abc": {9}}, map[string][]byte{"k2": nil}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = Open(ctx, path) // survives a reopen
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dets, alerts, err := db.LoadRulesState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(dets) != 2 || string(dets["engine"]) != `{"last_seq":7}` || len(dets["rule/spike/abc"]) != 1 || dets["rule/spike/abc"][0] != 9 {
		t.Errorf("detector states %q", dets)
	}
	if len(alerts) != 1 || string(alerts["k1"]) != `{"open":true}` {
		t.Errorf("alert states %q", alerts)
	}
}
