package coordinator

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol"
	"github.com/synthfed/synthfed/protocol/fedpb"
)

// openSpools counts this process's open upload spools (unlinked files
// under a spool/ folder).
func openSpools(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	n := 0
	for _, e := range ents {
		if l, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && strings.Contains(l, "/spool/upload-") {
			n++
		}
	}
	return n
}

// halfUpload is one site's upload stream, stopped half-way.
type halfUpload struct {
	stream fedpb.Federation_UploadUpdateClient
	sw     *protocol.StreamWriter
	cancel context.CancelFunc
}

// TestUploadsHoldBoundedSpools: four sites stall half-way through their
// uploads; the coordinator holds at most max_concurrent_uploads (2) of
// them, each in a spool file with one chunk in memory, the others wait.
// One stalled upload is cancelled (its spool goes, nothing is folded),
// its site uploads again, and the round commits the exact mean of the
// four; no spool is left open.
func TestUploadsHoldBoundedSpools(t *testing.T) {
	const n = 1000
	if openSpools(t) != 0 {
		t.Skip("spools of another test are open")
	}
	spec := testSpec()
	spec.ID, spec.Sites, spec.Quorum, spec.Rounds, spec.MaxAttempts = "sp", []string{"a", "b", "c", "d"}, 4, 1, 1
	spec.Deadlines.Train = Duration(time.Minute)
	init := make([]float32, n)
	spec.Init.Checkpoint = writeInit(t, model.MustWeights(model.Tensor{Name: "w", Shape: []int{n}, Data: init}))
	c, lis := startPlainCoord(t, spec)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := plainDial(t, lis)
	value := func(site string) float32 { return float32(site[0]-'a') + 1 } // a=1 ... d=4
	start := func(site, session string, task *fedpb.Task) halfUpload {
		uctx, ucancel := context.WithCancel(ctx)
		stream, err := cl.UploadUpdate(uctx)
		must(t, err)
		must(t, stream.Send(&fedpb.UploadMessage{Body: &fedpb.UploadMessage_Meta{Meta: &fedpb.UpdateMeta{SessionId: session,
			TaskId: task.GetTaskId(), JobId: task.GetJobId(), Round: task.GetRound(), Attempt: task.GetAttempt(), Nonce: task.GetNonce(), NumSamples: 10}}}))
		sw, err := protocol.NewStreamWriter([]model.TensorSpec{{Name: "w", Shape: []int{n}}}, 400, func(ch *fedpb.Chunk) error {
			return stream.Send(&fedpb.UploadMessage{Body: &fedpb.UploadMessage_Chunk{Chunk: ch}})
		})
		must(t, err)
		vals := make([]float32, n)
		for i := range vals {
			vals[i] = value(site)
		}
		must(t, sw.Write(vals[:n/2]))
		return halfUpload{stream: stream, sw: sw, cancel: ucancel}
	}
	finish := func(site string, u halfUpload) error {
		vals := make([]float32, n/2)
		for i := range vals {
			vals[i] = value(site)
		}
		if err := u.sw.Write(vals); err != nil {
			return err
		}
		if _, err := u.sw.Close(); err != nil {
			return err
		}
		_, err := u.stream.CloseAndRecv()
		return err
	}
	sessions, tasks, ups := map[string]string{}, map[string]*fedpb.Task{}, map[string]halfUpload{}
	streams := map[string]fedpb.Federation_TasksClient{}
	for _, site := range spec.Sites {
		reply, err := cl.Join(ctx, &fedpb.JoinRequest{ProtocolVersion: protocol.Version, SiteId: site})
		must(t, err)
		streams[site], err = cl.Tasks(ctx, &fedpb.TasksRequest{SessionId: reply.GetSessionId()})
		must(t, err)
		sessions[site] = reply.GetSessionId()
	}
	for _, site := range spec.Sites {
		tasks[site] = nextTask(t, site, streams[site])
	}
	for _, site := range spec.Sites {
		ups[site] = start(site, sessions[site], tasks[site])
	}
	deadline := time.Now().Add(10 * time.Second)
	for openSpools(t) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // let any excess receiver show itself
	if got := openSpools(t); got != 2 {
		t.Fatalf("%d spools open with 4 stalled uploads, want max_concurrent_uploads = 2", got)
	}
	// Cancel whichever uploads hold spools: a (or its peers) go back to
	// the start, the waiting ones get the slots.
	ups["a"].cancel()
	ups["a"] = start("a", sessions["a"], tasks["a"])
	// The rest of every upload goes at once: a waiting upload gets its
	// slot when a holder finishes.
	errs := make(chan error, 4)
	for _, site := range spec.Sites {
		go func() { errs <- finish(site, ups[site]) }()
	}
	for range spec.Sites {
		must(t, <-errs)
	}
	st, err := c.Wait(ctx, "sp")
	if err != nil || st.State != JobDone {
		t.Fatalf("job %+v, %v", st, err)
	}
	g, err := c.Global("sp")
	must(t, err)
	for i, v := range g.Tensors()[0].Data {
		if v != 2.5 {
			t.Fatalf("global[%d] = %v, want 2.5: a cancelled upload was counted or one was lost", i, v)
		}
	}
	deadline = time.Now().Add(5 * time.Second)
	for openSpools(t) != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := openSpools(t); got != 0 {
		t.Fatalf("%d spools left open", got)
	}
}
