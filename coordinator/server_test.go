package coordinator

import (
	"context"
	"github.com/synthfed/synthfed/coordinator/engine"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol"
	"github.com/synthfed/synthfed/protocol/fedpb"
)

// startPlainCoord runs an insecure coordinator over bufconn with jobs,
// without gossip or a heartbeat timeout: only the sessions tell it that a
// site left.
func startPlainCoord(t *testing.T, jobs ...JobSpec) (*Coordinator, *bufconn.Listener) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Insecure, cfg.DataDir, cfg.Gossip.Enabled, cfg.Jobs = true, t.TempDir(), false, jobs
	cfg.HeartbeatTimeout, cfg.StopGrace = 0, Duration(time.Second)
	lis := bufconn.Listen(1 << 20)
	c, err := New(cfg, Options{Listener: lis})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("coordinator: %v", err)
		}
	})
	return c, lis
}

func plainDial(t *testing.T, lis *bufconn.Listener) fedpb.FederationClient {
	t.Helper()
	conn, err := grpc.NewClient("passthrough:///bufconn", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return fedpb.NewFederationClient(conn)
}

// openTasks joins as site and opens its task stream under ctx.
func openTasks(ctx context.Context, t *testing.T, cl fedpb.FederationClient, site string) fedpb.Federation_TasksClient {
	t.Helper()
	reply, err := cl.Join(ctx, &fedpb.JoinRequest{ProtocolVersion: protocol.Version, SiteId: site})
	if err != nil {
		t.Fatal(err)
	}
	stream, err := cl.Tasks(ctx, &fedpb.TasksRequest{SessionId: reply.GetSessionId()})
	if err != nil {
		t.Fatal(err)
	}
	return stream
}

// nextTask receives the stream's next task.
func nextTask(t *testing.T, site string, s fedpb.Federation_TasksClient) *fedpb.Task {
	t.Helper()
	task, err := s.Recv()
	if err != nil {
		t.Fatalf("site %s: %v", site, err)
	}
	return task
}

// TestTaskStreamCloseDropsSite: when a site's task stream closes (its
// agent stopped or died), the round stops waiting for it at once, long
// before the train deadline, and the dropout names the cause; a site whose
// newer session replaced the closed one is left alone.
func TestTaskStreamCloseDropsSite(t *testing.T) {
	spec := testSpec()
	spec.ID, spec.Sites, spec.Rounds, spec.MaxAttempts = "sc", []string{"a", "b"}, 1, 1
	spec.Deadlines.Train = Duration(10 * time.Minute)
	spec.Init.Checkpoint = writeInit(t, model.MustWeights(vec("w", 1, 2)))
	c, lis := startPlainCoord(t, spec)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	old, oldCancel := context.WithCancel(ctx)
	defer oldCancel()
	a1 := openTasks(old, t, plainDial(t, lis), "a")
	bctx, bCancel := context.WithCancel(ctx)
	b := openTasks(bctx, t, plainDial(t, lis), "b")
	if task := nextTask(t, "a", a1); task.GetKind() != protocol.KindTrain {
		t.Fatalf("site a task %v", task)
	}
	nextTask(t, "b", b)
	// Site a rejoins: its old session's stream closing does not count.
	a2 := openTasks(ctx, t, plainDial(t, lis), "a")
	if task := nextTask(t, "a", a2); task.GetRound() != 1 {
		t.Fatalf("site a after rejoining: task %v", task)
	}
	oldCancel()
	bCancel() // site b's agent goes away mid-round

	st, err := c.Wait(ctx, "sc")
	if err != nil || st.State != JobFailed {
		t.Fatalf("job %+v, %v: want failed at once for its lost quorum", st, err)
	}
	settle(t, c)
	log, err := c.AuditLog()
	if err != nil {
		t.Fatal(err)
	}
	var drops []AuditEntry
	for _, e := range log {
		if e.Event == EventDropout {
			drops = append(drops, e)
		}
	}
	if len(drops) != 1 || drops[0].Site != "b" || drops[0].Reason != string(engine.ReasonStreamClosed) || drops[0].Phase != string(engine.PhaseTrain) {
		t.Fatalf("dropouts %+v, want b's task_stream_closed alone", drops)
	}
}
