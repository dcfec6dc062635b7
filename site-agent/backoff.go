package siteagent

import (
	"context"
	"math/rand/v2"
	"time"

	"google.golang.org/grpc"
	grpcbackoff "google.golang.org/grpc/backoff"

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

// connectParams makes grpc's own reconnection follow the agent's backoff.
// grpc-go's default (1 s growing to 120 s) sits under the agent's rejoin
// loop: while its connection is in backoff every rejoin fails at once with
// the cached error, so after a coordinator restart a site came back up to
// the transport's wait later, not the agent's (found by the soak, issue 17).
func connectParams(cfg BackoffConfig) grpc.ConnectParams {
	return grpc.ConnectParams{
		Backoff: grpcbackoff.Config{BaseDelay: cfg.Initial.D(), Multiplier: cfg.Multiplier,
			Jitter: cfg.Jitter, MaxDelay: cfg.Max.D()},
		MinConnectTimeout: 5 * time.Second,
	}
}
