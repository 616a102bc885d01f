package rules

import (
	"math"
	"time"

	"github.com/mpwatch/mpwatch/model"
)

// accountSignals summarises the authors behind a coordination finding for
// its evidence. The profile thresholds are detection.md's account_signals:
// accounts younger than 90 days, handles ending in 6+ digits, 10 followers or
// fewer, default avatars. The score is the mean of the shares; it informs a
// reader and never fires an alert.
func accountSignals(authors []model.Author, now time.Time) *model.AccountSignals {
	s := &model.AccountSignals{Accounts: len(authors)}
	if len(authors) == 0 {
		return s
	}
	var newAcc, digits, low, avatar float64
	for _, a := range authors {
		if a.CreatedAt != nil && now.Sub(*a.CreatedAt) <= 90*24*time.Hour {
			newAcc++
		}
		if trailingDigits(a.Handle) >= 6 {
			digits++
		}
		if a.Followers <= 10 {
			low++
		}
		if a.DefaultAvatar {
			avatar++
		}
	}
	n := float64(len(authors))
	s.NewAccountShare = round3(newAcc / n)
	s.DigitHandleShare = round3(digits / n)
	s.LowFollowerShare = round3(low / n)
	s.DefaultAvatarShare = round3(avatar / n)
	s.Score = round3(math.Min(1, (s.NewAccountShare+s.DigitHandleShare+s.LowFollowerShare+s.DefaultAvatarShare)/4))
	return s
}

func trailingDigits(handle string) int {
	// the handle's local part: "@user123@host" → "user123"
	h := handle
	for len(h) > 0 && h[0] == '@' {
		h = h[1:]
	}
	for i := 0; i < len(h); i++ {
		if h[i] == '@' || h[i] == '.' {
			h = h[:i]
			break
		}
	}
	n := 0
	for i := len(h) - 1; i >= 0 && h[i] >= '0' && h[i] <= '9'; i-- {
		n++
	}
	return n
}
