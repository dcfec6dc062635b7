package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrSlots reports a slot count that is not positive.
var ErrSlots = errors.New("device job slots must be at least 1")

// Slots bounds the device jobs that simulated sites sharing one device run
// at once: K slots, handed out in the order they were asked for (FIFO, so a
// site waiting for the device is never overtaken by one that asked later).
// A waiter whose context ends leaves the queue with the context's error.
// Slots is safe for concurrent use; it fits siteagent.DeviceSlots.
type Slots struct {
	mu      sync.Mutex
	k       int
	held    int
	maxHeld int
	waited  int
	granted int
	queue   []*slotWaiter
}

// slotWaiter is one Acquire waiting for a slot; ready is closed when the
// slot is handed over (granted is set under the lock first).
type slotWaiter struct {
	ready   chan struct{}
	granted bool
}

// NewSlots returns k slots (k >= 1).
func NewSlots(k int) (*Slots, error) {
	if k < 1 {
		return nil, fmt.Errorf("%d: %w", k, ErrSlots)
	}
	return &Slots{k: k}, nil
}

// Acquire takes a slot, waiting in line while all K are held, and returns
// the function that gives it back (calling it more than once is harmless).
// It returns ctx's error, holding nothing, when ctx ends first.
func (s *Slots) Acquire(ctx context.Context) (release func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.held < s.k && len(s.queue) == 0 {
		s.take()
		s.mu.Unlock()
		return s.releaser(), nil
	}
	w := &slotWaiter{ready: make(chan struct{})}
	s.queue = append(s.queue, w)
	s.waited++
	s.mu.Unlock()
	select {
	case <-w.ready:
		return s.releaser(), nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if w.granted {
		// The slot came as ctx ended: pass it on.
		s.give()
		return nil, ctx.Err()
	}
	for i, q := range s.queue {
		if q == w {
			s.queue = append(s.queue[:i], s.queue[i+1:]...)
			break
		}
	}
	return nil, ctx.Err()
}

// take records one more holder; s.mu is held.
func (s *Slots) take() {
	s.held++
	s.granted++
	s.maxHeld = max(s.maxHeld, s.held)
}

// give hands a held slot to the first waiter, or frees it; s.mu is held.
func (s *Slots) give() {
	s.held--
	if len(s.queue) == 0 {
		return
	}
	w := s.queue[0]
	s.queue = s.queue[1:]
	s.take()
	w.granted = true
	close(w.ready)
}

// releaser returns a once-only release of one slot.
func (s *Slots) releaser() func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.give()
			s.mu.Unlock()
		})
	}
}

// SlotStats are counts for logs and tests.
type SlotStats struct {
	// Slots is K.
	Slots int
	// Held is the slots held now; MaxHeld the most ever held at once.
	Held, MaxHeld int
	// Granted counts the slots handed out; Waited the Acquires that had
	// to queue.
	Granted, Waited int
}

// Stats returns the current counts.
func (s *Slots) Stats() SlotStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return SlotStats{Slots: s.k, Held: s.held, MaxHeld: s.maxHeld, Granted: s.granted, Waited: s.waited}
}
