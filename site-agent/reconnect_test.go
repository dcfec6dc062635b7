package siteagent

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/synthfed/synthfed/model"
)

// acceptTimes records when connections arrive.
type acceptTimes struct {
	net.Listener
	ch chan time.Time
}

func (l acceptTimes) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		select {
		case l.ch <- time.Now():
		default:
		}
	}
	return c, err
}

// TestRejoinFollowsAgentBackoff: the coordinator is down for 3 s, then
// comes back. The agent must dial it again within its own backoff (max
// 100 ms here), not grpc-go's default reconnect backoff (1 s growing
// by 1.6x), under which every rejoin failed at once with the cached
// transport error and a site came back seconds late (found by the soak,
// issue 17). Real time: the wait is the grpc transport's.
func TestRejoinFollowsAgentBackoff(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // the coordinator is down
	cfg := DefaultConfig()
	cfg.SiteID, cfg.Coordinator, cfg.Insecure = "s1", addr, true
	cfg.Backoff = BackoffConfig{Initial: Duration(20 * time.Millisecond), Max: Duration(100 * time.Millisecond), Multiplier: 2}
	a, err := New(cfg, Options{Trainers: map[string]model.Trainer{"logreg": stepTrainer{}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = a.Run(ctx) }()
	defer func() { cancel(); <-done }()

	time.Sleep(3 * time.Second)
	l2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s taken meanwhile: %v", addr, err)
	}
	up := time.Now()
	lis := acceptTimes{Listener: l2, ch: make(chan time.Time, 1)}
	srv := grpc.NewServer()
	go srv.Serve(lis)
	defer srv.Stop()
	select {
	case at := <-lis.ch:
		if d := at.Sub(up); d > time.Second {
			t.Fatalf("agent dialled %v after the coordinator came back; its backoff max is 100ms", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("agent did not dial within 5s after the coordinator came back")
	}
}
