package coordinator

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc/test/bufconn"

	"github.com/synthfed/synthfed/internal/clock"
	"github.com/synthfed/synthfed/protocol"
	"github.com/synthfed/synthfed/protocol/fedpb"
)

// TestHeartbeatTimeoutEndsSession: a site silent past the heartbeat
// timeout (a partition that resets nothing, a stalled agent) loses its
// session, so that when it is heard again its heartbeat and task stream
// fail with an unknown session and the agent rejoins. Before, the session
// lived on, its heartbeats were taken and ignored, and the engine never
// used the site again (the soak in network namespaces, issue 17).
func TestHeartbeatTimeoutEndsSession(t *testing.T) {
	fake := clock.NewFake(time.Unix(1_000_000, 0))
	cfg := DefaultConfig()
	cfg.Insecure, cfg.DataDir, cfg.Gossip.Enabled = true, t.TempDir(), false
	cfg.HeartbeatInterval, cfg.HeartbeatTimeout, cfg.StopGrace = Duration(time.Second), Duration(3*time.Second), Duration(time.Second)
	lis := bufconn.Listen(1 << 20)
	c, err := New(cfg, Options{Listener: lis, Clock: fake})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("coordinator: %v", err)
		}
	}()
	cl := plainDial(t, lis)
	join := func() string {
		reply, err := cl.Join(ctx, &fedpb.JoinRequest{ProtocolVersion: protocol.Version, SiteId: "a"})
		if err != nil {
			t.Fatal(err)
		}
		return reply.GetSessionId()
	}
	beat := func(session string) error {
		_, err := cl.Heartbeat(ctx, &fedpb.HeartbeatRequest{SessionId: session, State: "ok"})
		return protocol.FromStatus(err)
	}
	first := join()
	stream, err := cl.Tasks(ctx, &fedpb.TasksRequest{SessionId: first})
	if err != nil {
		t.Fatal(err)
	}
	if err := beat(first); err != nil {
		t.Fatalf("heartbeat before the timeout: %v", err)
	}
	settle(t, c)
	fake.Advance(4 * time.Second) // silent past the timeout
	if _, err := stream.Recv(); !errors.Is(protocol.FromStatus(err), protocol.ErrUnknownSession) {
		t.Fatalf("the silent site's task stream: %v, want it ended with an unknown session", err)
	}
	if err := beat(first); !errors.Is(err, protocol.ErrUnknownSession) {
		t.Fatalf("the silent site's heartbeat after the timeout: %v, want an unknown session", err)
	}
	second := join()
	if err := beat(second); err != nil {
		t.Fatalf("heartbeat after rejoining: %v", err)
	}
	var up bool
	if err := c.do(ctx, func() {
		for _, s := range c.engine.Sites() {
			up = up || s.ID == "a" && s.Up
		}
	}); err != nil || !up {
		t.Fatalf("site a up after rejoining: %v (%v)", up, err)
	}
}
