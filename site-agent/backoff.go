package siteagent

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/synthfed/synthfed/internal/clock"
)

// backoff yields exponentially growing waits with jitter.
type backoff struct {
	cfg  BackoffConfig
	next time.Duration
	rng  *rand.Rand
}

func newBackoff(cfg BackoffConfig, seed uint64) *backoff {
	return &backoff{cfg: cfg, next: cfg.Initial.D(), rng: rand.New(rand.NewPCG(seed, 0x6261636b))}
}

// Next returns the next wait and grows the following one.
func (b *backoff) Next() time.Duration {
	d := b.next
	b.next = min(time.Duration(float64(b.next)*b.cfg.Multiplier), b.cfg.Max.D())
	if b.cfg.Jitter > 0 {
		d -= time.Duration(b.rng.Float64() * b.cfg.Jitter * float64(d))
	}
	return d
}

// Reset starts again from the initial wait.
func (b *backoff) Reset() { b.next = b.cfg.Initial.D() }

// sleep waits d on clk or until ctx ends.
func sleep(ctx context.Context, clk clock.Clock, d time.Duration) error {
	t := clk.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
		return nil
	}
}
