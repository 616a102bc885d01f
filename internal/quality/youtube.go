package quality

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/mpwatch/mpwatch/internal/scenario"
	"github.com/mpwatch/mpwatch/model"
	"github.com/mpwatch/mpwatch/rules"
)

// sweepRule is a repeated_narrative rule over the whole life of a comment
// section: the UCI collection spans two years, so the copy-paste spam in it
// is spread over months, and only a window that long can see it whole (an
// administrator sweeping an old comment section would write the same rule).
const sweepRule = `rules:
  - name: youtube-copy-paste-sweep
    type: repeated_narrative
    description: the same comment from many accounts anywhere in a video's comment history
    severity: warning
    window: 1200d
    min_accounts: 4
`

// SweepCluster is one cluster the sweep reported.
type SweepCluster struct {
	Accounts int
	Spam     int // replies in the cluster labelled spam (CLASS 1)
	Ham      int
	Text     string
}

// SweepResult is the outcome of the YouTube sweep.
type SweepResult struct {
	Comments, SpamComments int
	Clusters               []SweepCluster
}

// SpamFound is the number of spam comments inside reported clusters.
func (s SweepResult) SpamFound() int {
	n := 0
	for _, c := range s.Clusters {
		n += c.Spam
	}
	return n
}

// HamFlagged is the number of ordinary comments inside reported clusters.
func (s SweepResult) HamFlagged() int {
	n := 0
	for _, c := range s.Clusters {
		n += c.Ham
	}
	return n
}

// YouTubeSweep replays the real YouTube comments (spam and ham, with their
// real authors and dates) through a long-window repeated_narrative rule and
// says which clusters it found and how pure they are.
func YouTubeSweep(ctx context.Context) (SweepResult, error) {
	rs, err := rules.Parse("youtube-sweep.yaml", []byte(sweepRule))
	if err != nil {
		return SweepResult{}, err
	}
	label := map[string]bool{} // reply key -> spam
	var replies []model.Reply
	add := func(cs []scenario.SpamComment, spam bool) {
		for _, c := range cs {
			t, err := time.Parse("2006-01-02T15:04:05", strings.SplitN(c.Date, ".", 2)[0])
			if err != nil {
				continue // a few comments in the collection have no date
			}
			r := model.Reply{Platform: model.YouTube, ID: c.ID, Kind: model.KindReply, Target: c.Video, PostID: c.Video,
				CreatedAt: t.UTC(), Text: c.Text, Author: model.Author{ID: c.Author, Handle: c.Author, Name: c.Author}}
			label[r.Key()] = spam
			replies = append(replies, r)
		}
	}
	spam, ham := scenario.YouTubeSpam(), scenario.YouTubeHam()
	add(spam, true)
	add(ham, false)
	res := SweepResult{Comments: len(replies)}
	for _, s := range label {
		if s {
			res.SpamComments++
		}
	}
	latest := map[string]model.Alert{}
	_, err = rules.ReplayReplies(ctx, rs, replies, rules.ReplayOptions{Step: 24 * time.Hour}, func(a model.Alert) error {
		if a.Status != model.StatusResolved {
			latest[a.Key] = a
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("youtube sweep: %w", err)
	}
	for _, a := range latest {
		c := SweepCluster{Accounts: len(a.Accounts), Text: a.Evidence.Representative}
		for _, id := range a.ReplyIDs {
			if label[id] {
				c.Spam++
			} else {
				c.Ham++
			}
		}
		res.Clusters = append(res.Clusters, c)
	}
	// latest is a map: ties in size are ordered by text, so that the
	// report reads the same at every run
	sort.Slice(res.Clusters, func(i, j int) bool {
		a, b := res.Clusters[i], res.Clusters[j]
		if a.Accounts != b.Accounts {
			return a.Accounts > b.Accounts
		}
		return a.Text < b.Text
	})
	return res, nil
}

// Report formats the sweep.
func (s SweepResult) Report() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d comments (%d spam); %d copy-paste clusters reported, holding %d spam and %d ordinary comments\n",
		s.Comments, s.SpamComments, len(s.Clusters), s.SpamFound(), s.HamFlagged())
	for _, c := range s.Clusters {
		t := []rune(c.Text)
		if len(t) > 70 {
			t = append(t[:70], '…')
		}
		fmt.Fprintf(&b, "  %3d accounts  %3d spam %3d ham  %q\n", c.Accounts, c.Spam, c.Ham, string(t))
	}
	return b.String()
}
