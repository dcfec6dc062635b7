package cluster

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
)

// TestSlotsBoundConcurrency runs many jobs through K slots and counts the
// holders at every moment: never more than K, and K reached.
func TestSlotsBoundConcurrency(t *testing.T) {
	for _, k := range []int{1, 2, 3} {
		synctest.Test(t, func(t *testing.T) {
			s, err := NewSlots(k)
			if err != nil {
				t.Fatal(err)
			}
			var now, most atomic.Int32
			gate := make(chan struct{})
			var wg sync.WaitGroup
			const jobs = 12
			for range jobs {
				wg.Go(func() {
					release, err := s.Acquire(t.Context())
					if err != nil {
						t.Error(err)
						return
					}
					n := now.Add(1)
					for {
						m := most.Load()
						if n <= m || most.CompareAndSwap(m, n) {
							break
						}
					}
					<-gate // hold the slot until every job has asked
					now.Add(-1)
					release()
					release() // a second release is harmless
				})
			}
			synctest.Wait() // every job holds a slot or waits in line
			if got := now.Load(); got != int32(k) {
				t.Errorf("K=%d: %d holders while %d jobs wait, want %d", k, got, jobs-k, k)
			}
			close(gate)
			wg.Wait()
			st := s.Stats()
			if most.Load() != int32(k) || st.MaxHeld != k || st.Held != 0 || st.Granted != jobs || st.Waited != jobs-k {
				t.Errorf("K=%d: most %d, stats %+v; want at most %d holders, all %d granted, %d waited", k, most.Load(), st, k, jobs, jobs-k)
			}
		})
	}
}

// TestSlotsFIFO checks that waiters get the slot in the order they asked.
func TestSlotsFIFO(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := NewSlots(1)
		first, err := s.Acquire(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var order []int
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range 5 {
			wg.Go(func() {
				release, err := s.Acquire(t.Context())
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				order = append(order, i)
				mu.Unlock()
				release()
			})
			synctest.Wait() // waiter i is in line before i+1 asks
		}
		first()
		wg.Wait()
		for i, v := range order {
			if v != i {
				t.Fatalf("order %v, want 0..4", order)
			}
		}
	})
}

// TestSlotsContext checks that a waiter whose context ends leaves the line
// with its error and holds nothing, and that the next waiter still gets
// the slot.
func TestSlotsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := NewSlots(1)
		hold, _ := s.Acquire(t.Context())
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error, 1)
		go func() {
			_, err := s.Acquire(ctx)
			errc <- err
		}()
		got := make(chan struct{})
		go func() {
			release, err := s.Acquire(t.Context())
			if err != nil {
				t.Error(err)
			}
			close(got)
			release()
		}()
		synctest.Wait()
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled waiter: %v, want context.Canceled", err)
		}
		hold()
		<-got
		synctest.Wait()
		if st := s.Stats(); st.Held != 0 || st.Granted != 2 {
			t.Errorf("stats %+v: want nothing held, 2 granted", st)
		}
		done, cancelDone := context.WithCancel(t.Context())
		cancelDone()
		if _, err := s.Acquire(done); !errors.Is(err, context.Canceled) {
			t.Errorf("Acquire on an ended context: %v", err)
		}
		if _, err := NewSlots(0); !errors.Is(err, ErrSlots) {
			t.Errorf("NewSlots(0): %v", err)
		}
	})
}
