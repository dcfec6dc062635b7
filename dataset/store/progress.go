package store

import (
	"fmt"
	"time"
)

// Progress is a snapshot of a running Prepare.
type Progress struct {
	// Done of Total records are settled (reused, decoded or refused).
	Done, Total int
	// Decoded images so far, and Rate in records per second settled since
	// the start (reused ones, settled at once, not counted).
	Decoded int
	Rate    float64
	// ETA estimates the time left at the current rate (0 when unknown).
	ETA time.Duration
	// Final is true for the last report.
	Final bool
}

// String formats a one-line progress bar with images/s and the ETA.
func (p Progress) String() string {
	const width = 30
	frac := 1.0
	if p.Total > 0 {
		frac = float64(p.Done) / float64(p.Total)
	}
	bar := make([]byte, width)
	for i := range bar {
		bar[i] = ' '
		if float64(i) < frac*width {
			bar[i] = '#'
		}
	}
	eta := "--"
	if p.ETA > 0 || p.Final {
		eta = p.ETA.Round(time.Second).String()
	}
	return fmt.Sprintf("[%s] %d/%d %5.1f%%  %.0f images/s  ETA %s", bar, p.Done, p.Total, 100*frac, p.Rate, eta)
}

// meter turns counts and clock readings into Progress reports at most
// every interval (and always for the final one).
type meter struct {
	now      func() time.Time
	every    time.Duration
	start    time.Time
	last     time.Time
	total    int
	base     int
	reported bool
	fn       func(Progress)
}

func newMeter(now func() time.Time, total int, fn func(Progress)) *meter {
	t := now()
	return &meter{now: now, every: 500 * time.Millisecond, start: t, total: total, fn: fn}
}

// begin sets the records already settled before any work (reused ones):
// the rate counts only the records settled after it.
func (m *meter) begin(done int) { m.base = done }

// update reports done records and decoded images when the interval passed
// or final is set.
func (m *meter) update(done, decoded int, final bool) {
	if m.fn == nil {
		return
	}
	t := m.now()
	if !final && m.reported && t.Sub(m.last) < m.every {
		return
	}
	m.last, m.reported = t, true
	p := Progress{Done: done, Total: m.total, Decoded: decoded, Final: final}
	if el := t.Sub(m.start).Seconds(); el > 0 && done > m.base {
		p.Rate = float64(done-m.base) / el
		if p.Rate > 0 && !final {
			p.ETA = time.Duration(float64(m.total-done) / p.Rate * float64(time.Second))
		}
	}
	m.fn(p)
}
