package notify

import "time"

// InQuiet reports whether t falls in the quiet span (which may cross midnight).
func (q *QuietHours) InQuiet(t time.Time) bool {
	if q == nil || q.loc == nil || q.from == q.to {
		return false
	}
	l := t.In(q.loc)
	m := l.Hour()*60 + l.Minute()
	if q.from < q.to {
		return m >= q.from && m < q.to
	}
	return m >= q.from || m < q.to
}

// End is the first end of quiet hours after t.
func (q *QuietHours) End(t time.Time) time.Time { return nextClock(t, q.loc, q.to) }

// Next is the first digest time after t.
func (d *DigestConfig) Next(t time.Time) time.Time { return nextClock(t, d.loc, d.at) }

// nextClock is the first instant after t when the wall clock in loc reads
// minute-of-day m (time.Date settles days that DST shortens or lengthens).
func nextClock(t time.Time, loc *time.Location, m int) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	l := t.In(loc)
	c := time.Date(l.Year(), l.Month(), l.Day(), m/60, m%60, 0, 0, loc)
	if !c.After(t) {
		c = time.Date(l.Year(), l.Month(), l.Day()+1, m/60, m%60, 0, 0, loc)
	}
	return c
}
