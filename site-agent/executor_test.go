package siteagent

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/anypb"

	"github.com/synthfed/synthfed/internal/clock"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol"
	"github.com/synthfed/synthfed/protocol/fedpb"
)

// fakeTransport serves one global model and records uploads.
type fakeTransport struct {
	mu        sync.Mutex
	global    model.Weights
	uploads   []model.Weights
	metas     []*fedpb.UpdateMeta
	failFirst int
}

func (f *fakeTransport) sessionID() string { return "sess" }

func (f *fakeTransport) exchange(_ context.Context, m *fedpb.PhaseMessage) (*fedpb.PhaseMessage, error) {
	return &fedpb.PhaseMessage{Phase: m.GetPhase(), Payload: m.GetPayload()}, nil
}

func (f *fakeTransport) download(context.Context, string, string, string) (model.Weights, error) {
	return f.global, nil
}

func (f *fakeTransport) upload(_ context.Context, m *fedpb.UpdateMeta, w model.Weights) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failFirst > 0 {
		f.failFirst--
		return protocol.ErrUnavailable
	}
	f.uploads = append(f.uploads, w)
	f.metas = append(f.metas, m)
	return nil
}

// stepTrainer adds 1 to every value, or blocks until cancelled when slow.
type stepTrainer struct{ slow bool }

func (stepTrainer) Init(context.Context, int64) (model.Weights, error) {
	return model.MustWeights(model.Tensor{Name: "w", Shape: []int{1}, Data: []float32{0}}), nil
}

func (s stepTrainer) Train(ctx context.Context, g model.Weights, _ model.TrainSpec) (model.TrainResult, error) {
	if s.slow {
		<-ctx.Done()
		return model.TrainResult{}, ctx.Err()
	}
	w := g.Clone()
	for _, t := range w.Tensors() {
		for i := range t.Data {
			t.Data[i]++
		}
	}
	return model.TrainResult{Weights: w, NumSamples: 10, Metrics: map[string]float64{"loss": 0.5}}, nil
}

func (stepTrainer) Evaluate(context.Context, model.Weights) (map[string]float64, error) {
	return map[string]float64{"accuracy": 0.75}, nil
}

func trainTask(id string, round int64, localOnly ...string) *fedpb.Task {
	return &fedpb.Task{TaskId: id, JobId: "j", Round: round, Nonce: make([]byte, protocol.NonceLen), Kind: protocol.KindTrain,
		Model: "m", ModelHash: "h", Spec: &fedpb.Task_Train{Train: &fedpb.TrainSpec{LocalOnly: localOnly}}}
}

// task converts a wire task as the agent does when it arrives.
func (x *executor) task(t *testing.T, w *fedpb.Task) Task {
	t.Helper()
	if err := protocol.ValidateTask(w); err != nil {
		t.Fatal(err)
	}
	tk, err := taskFromWire(w, x.localOnly)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func newTestExecutor(tr model.Trainer, ft *fakeTransport) *executor {
	cfg := DefaultConfig()
	cfg.Backoff = BackoffConfig{Initial: Duration(time.Millisecond), Max: Duration(time.Millisecond), Multiplier: 1}
	x := newExecutor(cfg, slog.New(slog.DiscardHandler), clock.New(), map[string]model.Trainer{"m": tr}, ft)
	x.results = make(chan TaskResult, 8)
	return x
}

// TestExecutorFedBNKeepsLocalLayers: local-only tensors are never uploaded,
// and the next round trains from the site's own copy, not the global's.
func TestExecutorFedBNKeepsLocalLayers(t *testing.T) {
	ft := &fakeTransport{global: model.MustWeights(
		model.Tensor{Name: "bn.scale", Shape: []int{1}, Data: []float32{10}},
		model.Tensor{Name: "w", Shape: []int{1}, Data: []float32{0}})}
	x := newTestExecutor(stepTrainer{}, ft)
	ctx := context.Background()
	for r := int64(1); r <= 2; r++ {
		x.submit(ctx, x.task(t, trainTask("t"+string(rune('0'+r)), r, `^bn\.`)))
		if res := <-x.results; res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	for i, u := range ft.uploads {
		if _, ok := u.Get("bn.scale"); ok || u.Len() != 1 {
			t.Fatalf("upload %d carries local tensors: %v", i, u.Specs())
		}
	}
	local, _ := x.local["j"].Get("bn.scale")
	if local.Data[0] != 12 { // 10 +1 in round 1, +1 again from the kept copy in round 2
		t.Fatalf("local bn.scale = %v, want 12", local.Data[0])
	}
	m := ft.metas[0].GetMetrics()
	if m["eval_accuracy"] != 0.75 || m["train_loss"] != 0.5 || ft.metas[0].GetNumSamples() != 10 {
		t.Fatalf("metrics %v", m)
	}
}

func TestExecutorRetriesTransientUpload(t *testing.T) {
	ft := &fakeTransport{global: model.MustWeights(model.Tensor{Name: "w", Shape: []int{1}, Data: []float32{0}}), failFirst: 2}
	x := newTestExecutor(stepTrainer{}, ft)
	x.submit(context.Background(), x.task(t, trainTask("t1", 1)))
	if res := <-x.results; res.Err != nil || len(ft.uploads) != 1 {
		t.Fatalf("err %v, uploads %d", res.Err, len(ft.uploads))
	}
}

// TestExecutorCancel: a cancel task stops local work, and a duplicate
// delivery of a known task is ignored.
func TestExecutorCancel(t *testing.T) {
	ft := &fakeTransport{global: model.MustWeights(model.Tensor{Name: "w", Shape: []int{1}, Data: []float32{0}})}
	x := newTestExecutor(stepTrainer{slow: true}, ft)
	ctx := context.Background()
	x.submit(ctx, x.task(t, trainTask("t1", 1)))
	x.submit(ctx, x.task(t, trainTask("t1", 1))) // redelivered on reconnect: ignored
	x.submit(ctx, x.task(t, &fedpb.Task{TaskId: "t1", Cancel: true}))
	res := <-x.results
	if !errors.Is(res.Err, context.Canceled) || len(ft.uploads) != 0 {
		t.Fatalf("err %v uploads %d", res.Err, len(ft.uploads))
	}
	select {
	case r := <-x.results:
		t.Fatalf("duplicate task ran: %+v", r)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestExecutorUnknownModel(t *testing.T) {
	x := newTestExecutor(stepTrainer{}, &fakeTransport{})
	tk := trainTask("t1", 1)
	tk.Model = "ddpm"
	x.submit(context.Background(), x.task(t, tk))
	if res := <-x.results; !errors.Is(res.Err, ErrNoTrainer) {
		t.Fatalf("err %v", res.Err)
	}
}

func TestBackoffGrowsAndCaps(t *testing.T) {
	b := newBackoff(BackoffConfig{Initial: Duration(100 * time.Millisecond), Max: Duration(time.Second), Multiplier: 2, Jitter: 0.5}, 1)
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		d := b.Next()
		if d > w*time.Millisecond || d < w*time.Millisecond/2 {
			t.Fatalf("wait %d = %v, want in [%v, %v]", i, d, w*time.Millisecond/2, w*time.Millisecond)
		}
	}
	b.Reset()
	if d := b.Next(); d > 100*time.Millisecond {
		t.Fatalf("after reset %v", d)
	}
}

func TestConfigValidateListsAll(t *testing.T) {
	c := DefaultConfig()
	c.SiteID, c.Coordinator, c.ChunkSize = "", "x", 0
	c.Backoff.Multiplier = 0.5
	err := c.Validate()
	for _, w := range []string{"site_id", "coordinator", "chunk_size", "backoff"} {
		if err == nil || !contains(err.Error(), w) {
			t.Errorf("missing %s: %v", w, err)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

type echoRunner struct{ got chan string }

func (e echoRunner) RunPhase(ctx context.Context, t Task, env PhaseEnv) error {
	reply, err := env.Exchange(ctx, t.Payload)
	if err != nil {
		return err
	}
	e.got <- t.Phase + ":" + string(reply.Value)
	return nil
}

func TestExecutorRunsPhaseTasks(t *testing.T) {
	x := newTestExecutor(stepTrainer{}, &fakeTransport{})
	r := echoRunner{got: make(chan string, 1)}
	payload := &anypb.Any{TypeUrl: "test/keys", Value: []byte("keys")}
	tk := &fedpb.Task{TaskId: "p1", JobId: "j", Round: 1, Nonce: make([]byte, protocol.NonceLen), Kind: protocol.KindPhase, Phase: "advertise",
		Spec: &fedpb.Task_Extension{Extension: payload}}
	x.submit(context.Background(), x.task(t, tk))
	if res := <-x.results; !errors.Is(res.Err, protocol.ErrNotFound) {
		t.Fatalf("phase task without runner: %v", res.Err)
	}
	x.phases = r
	tk.TaskId = "p2"
	x.submit(context.Background(), x.task(t, tk))
	if res := <-x.results; res.Err != nil {
		t.Fatal(res.Err)
	}
	if got := <-r.got; got != "advertise:keys" {
		t.Fatalf("runner saw %q", got)
	}
}
