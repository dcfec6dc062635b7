package clock

import (
	"sort"
	"sync"
	"time"
)

// Fake is a manually advanced clock for tests. Timers and tickers fire only
// when Advance or Set moves the time past their deadline.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	waiters []*fakeWaiter
}

type fakeWaiter struct {
	when   time.Time
	period time.Duration // 0 for one-shot
	ch     chan time.Time
	active bool
}

// NewFake returns a Fake clock set to start.
func NewFake(start time.Time) *Fake { return &Fake{now: start} }

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Since returns the fake time elapsed since t.
func (f *Fake) Since(t time.Time) time.Duration { return f.Now().Sub(t) }

// After returns a channel that receives once the fake time passes now+d.
func (f *Fake) After(d time.Duration) <-chan time.Time { return f.NewTimer(d).C() }

// NewTimer returns a one-shot timer driven by the fake time.
func (f *Fake) NewTimer(d time.Duration) Timer {
	w := f.add(d, 0)
	return &fakeTimer{f: f, w: w}
}

// NewTicker returns a ticker driven by the fake time. It panics if d <= 0,
// as time.NewTicker does.
func (f *Fake) NewTicker(d time.Duration) Ticker {
	if d <= 0 {
		panic("clock: non-positive ticker interval")
	}
	return &fakeTicker{f: f, w: f.add(d, d)}
}

func (f *Fake) add(d, period time.Duration) *fakeWaiter {
	f.mu.Lock()
	defer f.mu.Unlock()
	w := &fakeWaiter{when: f.now.Add(d), period: period, ch: make(chan time.Time, 1), active: true}
	f.waiters = append(f.waiters, w)
	f.fireLocked()
	return w
}

// Advance moves the fake time forward by d and fires every due timer in
// deadline order.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	f.fireLocked()
}

// Set moves the fake time to t (never backwards) and fires due timers.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t.After(f.now) {
		f.now = t
	}
	f.fireLocked()
}

// Pending returns how many timers and tickers are active.
func (f *Fake) Pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, w := range f.waiters {
		if w.active {
			n++
		}
	}
	return n
}

func (f *Fake) fireLocked() {
	sort.SliceStable(f.waiters, func(i, j int) bool { return f.waiters[i].when.Before(f.waiters[j].when) })
	kept := f.waiters[:0]
	for _, w := range f.waiters {
		for w.active && !w.when.After(f.now) {
			select {
			case w.ch <- w.when:
			default: // a slow reader misses ticks, as with time.Ticker
			}
			if w.period == 0 {
				w.active = false
			} else {
				w.when = w.when.Add(w.period)
			}
		}
		if w.active {
			kept = append(kept, w)
		}
	}
	f.waiters = kept
}

type fakeTimer struct {
	f *Fake
	w *fakeWaiter
}

func (t *fakeTimer) C() <-chan time.Time { return t.w.ch }

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	was := t.w.active
	t.w.active = false
	return was
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	was := t.w.active
	t.w.when = t.f.now.Add(d)
	if !was {
		t.w.active = true
		t.f.waiters = append(t.f.waiters, t.w)
	}
	t.f.fireLocked()
	return was
}

type fakeTicker struct {
	f *Fake
	w *fakeWaiter
}

func (t *fakeTicker) C() <-chan time.Time { return t.w.ch }

func (t *fakeTicker) Stop() {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	t.w.active = false
}
