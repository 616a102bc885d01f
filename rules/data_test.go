package rules

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/model"
)

// weiboDir is the CED Weibo data set in the team's shared folder; tests that
// use it skip when it is absent.
const weiboDir = "/work/shared/data/weibo-ced"

type cedRepost struct {
	UID  string `json:"uid"`
	MID  string `json:"mid"`
	Text string `json:"text"`
	Date string `json:"date"`
}

// readCED turns every repost thread into replies to one "target" (the
// thread), so the 108 threads stand for 108 watched accounts.
func readCED(t *testing.T) []model.Reply {
	t.Helper()
	beijing := time.FixedZone("CST", 8*3600)
	var out []model.Reply
	for _, sub := range []string{"non-rumor-repost", "rumor-repost"} {
		files, _ := filepath.Glob(filepath.Join(weiboDir, sub, "*.json"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var rs []cedRepost
			if err := json.Unmarshal(b, &rs); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			thread := filepath.Base(f)
			for _, r := range rs {
				at, err := time.ParseInLocation("2006-01-02 15:04:05", r.Date, beijing)
				if err != nil {
					continue
				}
				out = append(out, model.Reply{Platform: model.X, ID: r.MID, Target: "weibo-" + thread, PostID: thread,
					CreatedAt: at.UTC(), Text: r.Text, Author: model.Author{ID: r.UID, Handle: r.UID}})
			}
		}
	}
	return out
}

// TestDefaultCoordinationOnWeibo replays 36,724 real Weibo reposts through
// the shipped coordination rule: organic reposting must not look like a
// co-reply network, and only the two most extreme rumour threads may count
// as bursts (the data the burst threshold was tuned on).
func TestDefaultCoordinationOnWeibo(t *testing.T) {
	if testing.Short() {
		t.Skip("replays the full CED set")
	}
	if _, err := os.Stat(weiboDir); err != nil {
		t.Skip("shared data folder absent")
	}
	all, err := LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	var rs []Rule
	for _, r := range all {
		if r.Type() == "coordination" {
			rs = append(rs, r)
		}
	}
	replies := readCED(t)
	if len(replies) < 30000 {
		t.Fatalf("read %d reposts", len(replies))
	}
	bursts := map[string]bool{}
	_, err = ReplayReplies(context.Background(), rs, replies, ReplayOptions{Step: time.Hour}, func(a model.Alert) error {
		if a.Status != model.StatusFiring {
			return nil
		}
		if a.Metrics["peak_accounts"] > 0 {
			bursts[a.Targets[0]] = true
			return nil
		}
		t.Errorf("organic reposts made a co-reply network: %s", a.Summary)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(bursts) > 2 {
		t.Errorf("%d organic threads counted as bursts: %v", len(bursts), bursts)
	}
	t.Logf("bursts: %v", bursts)
}
