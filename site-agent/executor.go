package siteagent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/anypb"

	"github.com/synthfed/synthfed/internal/clock"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/device"
	"github.com/synthfed/synthfed/protocol"
	"github.com/synthfed/synthfed/protocol/fed"
	"github.com/synthfed/synthfed/protocol/fedpb"
)

// ErrNoTrainer reports a task for a model this agent has no Trainer for.
var ErrNoTrainer = errors.New("no trainer for model")

// transport is what the executor needs from the connection: the current
// session and the transfers. The Agent implements it.
type transport interface {
	sessionID() string
	download(ctx context.Context, session, jobID, hash string) (model.Weights, error)
	upload(ctx context.Context, meta *fedpb.UpdateMeta, w model.Weights) error
	exchange(ctx context.Context, m *fedpb.PhaseMessage) (*fedpb.PhaseMessage, error)
}

// PhaseRunner runs the phases of a secure round at the site (key exchange,
// masked input, unmasking). It gets each task of kind protocol.KindPhase
// and what it may do for that task: exchange payloads with the
// coordinator, and, in the masked-input phase, train.
type PhaseRunner interface {
	RunPhase(ctx context.Context, t Task, env PhaseEnv) error
}

// PhaseEnv is what the executor lends a PhaseRunner for one phase task.
type PhaseEnv struct {
	// Exchange sends one payload in the task's phase and returns the
	// coordinator's answer.
	Exchange func(ctx context.Context, p Payload) (Payload, error)
	// TrainDelta downloads the task's global model, trains on it (t.Train)
	// and returns the delta of the shared tensors (the masked-input phase
	// only).
	TrainDelta func(ctx context.Context) (Delta, error)
}

// Delta is a site's contribution to a secure round before masking: the
// shared tensors' local weights minus the global ones, flattened in name
// order (FedBN's local tensors never enter it), with its sample count and
// the task's metrics. The plain path uploads the local model itself.
type Delta struct {
	Values  []float32
	Samples int64
	Metrics map[string]float64
}

// executor runs one task at a time; a newer task supersedes the running one.
type executor struct {
	log      *slog.Logger
	clk      clock.Clock
	trainers map[string]model.Trainer
	tr       transport
	cfg      Config

	mu      sync.Mutex
	current string
	cancel  context.CancelFunc
	done    chan struct{}
	seen    map[string]bool
	cache   struct {
		hash string
		w    model.Weights
	}
	local    map[string]model.Weights   // job -> local-only tensors (FedBN)
	patterns map[string]model.LocalOnly // job -> its compiled local-only patterns
	phases   PhaseRunner
	results  chan TaskResult
	data     *dataStore      // the site's data (nil: none)
	built    *jobTrainer     // the trainer built for the latest job
	metrics  *agentMetrics   // nil: none
	compute  *device.Backend // nil: no memory cap
	slots    DeviceSlots     // nil: the device is not shared
}

// TaskResult reports how a task ended, for tests and simulations.
type TaskResult struct {
	TaskID string
	Job    string
	Round  int
	Kind   string
	Err    error
}

func newExecutor(cfg Config, log *slog.Logger, clk clock.Clock, trainers map[string]model.Trainer, tr transport) *executor {
	return &executor{cfg: cfg, log: log, clk: clk, trainers: trainers, tr: tr, seen: map[string]bool{}, local: map[string]model.Weights{},
		patterns: map[string]model.LocalOnly{}}
}

// submit starts task t unless it is known; a cancel stops the named task.
func (x *executor) submit(ctx context.Context, t Task) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if t.Cancel {
		if x.current == t.ID && x.cancel != nil {
			x.log.Info("task cancelled by coordinator", "task", t.ID)
			x.cancel()
		}
		x.seen[t.ID] = true
		return
	}
	if x.seen[t.ID] {
		return
	}
	x.seen[t.ID] = true
	if x.cancel != nil {
		x.cancel() // the coordinator moved on
	}
	tctx, cancel := context.WithCancel(ctx)
	done, prev := make(chan struct{}), x.done
	x.current, x.cancel, x.done = t.ID, cancel, done
	go func() {
		defer close(done)
		defer cancel()
		if prev != nil {
			<-prev // a Trainer serves one caller at a time
		}
		start := x.clk.Now()
		err := x.run(tctx, t)
		x.report(t, err, x.clk.Since(start))
	}()
}

// wait blocks until the current task has ended or timeout passes.
func (x *executor) wait(timeout time.Duration) {
	x.mu.Lock()
	done := x.done
	x.mu.Unlock()
	if done == nil {
		return
	}
	t := x.clk.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C():
	}
}

func (x *executor) report(t Task, err error, took time.Duration) {
	log := x.log.With("task", t.ID, "job", t.Job, "round", t.Round)
	switch {
	case err == nil:
		log.Info("task done", "took", took)
		x.metrics.taskEnded(t.Kind, "done", took.Seconds())
	case errors.Is(err, context.Canceled):
		log.Info("task stopped", "err", err)
		x.metrics.taskEnded(t.Kind, "cancelled", took.Seconds())
	default:
		log.Warn("task failed", "stage", stageOf(err), "err", err)
		x.metrics.taskEnded(t.Kind, "failed", took.Seconds())
		x.reportFailure(t, err)
	}
	if x.results != nil {
		x.results <- TaskResult{TaskID: t.ID, Job: t.Job, Round: t.Round, Kind: t.Kind, Err: err}
	}
}

// run executes one task: init or train and the upload, a sample or
// evaluate task, or a secure round's phase. A task that trains runs under
// its deadline.
func (x *executor) run(ctx context.Context, t Task) error {
	if !t.Deadline.IsZero() && (t.Kind != protocol.KindPhase || t.Train != nil) {
		var cancel context.CancelFunc
		ctx, cancel = x.withDeadline(ctx, t.Deadline)
		defer cancel()
	}
	switch t.Kind {
	case protocol.KindPhase:
		return x.runPhase(ctx, t)
	case protocol.KindSample, protocol.KindEvaluate:
		return x.runJobTask(ctx, t)
	}
	trainer, batch, err := x.trainerFor(ctx, t)
	if err != nil {
		return err
	}
	meta := metaOf(t)
	var w model.Weights
	switch t.Kind {
	case protocol.KindInit:
		w, err = trainer.Init(ctx, t.InitSeed)
		err = stageErr("init", err)
	case protocol.KindTrain:
		start := x.clk.Now()
		w, err = x.trainLocal(ctx, trainer, t, meta)
		err = stageErr("train", err)
		x.recordTrain(t, meta, batch, x.clk.Since(start))
	default:
		err = fmt.Errorf("task %s: kind %q not supported by this agent: %w", t.ID, t.Kind, protocol.ErrMalformed)
	}
	if err != nil {
		return err
	}
	return stageErr("upload", x.uploadWithRetry(ctx, meta, w))
}

// runPhase hands a phase task to the PhaseRunner, with the exchange of
// its phase and, for the masked-input phase, the training.
func (x *executor) runPhase(ctx context.Context, t Task) error {
	if x.phases == nil {
		return fmt.Errorf("task %s: phase %q but this agent has no phase runner: %w", t.ID, t.Phase, protocol.ErrNotFound)
	}
	env := PhaseEnv{Exchange: func(ctx context.Context, p Payload) (Payload, error) {
		reply, err := x.tr.exchange(ctx, &fedpb.PhaseMessage{SessionId: x.tr.sessionID(), JobId: t.Job, Round: int64(t.Round),
			Attempt: int32(t.Attempt), Nonce: t.Nonce, Phase: t.Phase, Payload: &anypb.Any{TypeUrl: p.Type, Value: p.Value}})
		return Payload{Type: reply.GetPayload().GetTypeUrl(), Value: reply.GetPayload().GetValue()}, err
	}}
	if t.Train != nil {
		env.TrainDelta = func(ctx context.Context) (Delta, error) { return x.trainDelta(ctx, t) }
	}
	return x.phases.RunPhase(ctx, t, env)
}

// withDeadline cancels ctx at the coordinator's deadline, read on x.clk.
func (x *executor) withDeadline(ctx context.Context, at time.Time) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	t := x.clk.NewTimer(max(at.Sub(x.clk.Now()), 0))
	go func() {
		select {
		case <-t.C():
			cancel(fmt.Errorf("task deadline %v passed: %w", at, context.DeadlineExceeded))
		case <-ctx.Done():
		}
		t.Stop()
	}()
	return ctx, func() { cancel(context.Canceled) }
}

// trainLocal downloads the global model, restores the local-only tensors,
// trains, and returns the local model to upload: the shared tensors of the
// trained weights (the local-only ones stay at the site).
func (x *executor) trainLocal(ctx context.Context, trainer model.Trainer, t Task, meta *fedpb.UpdateMeta) (model.Weights, error) {
	global, err := x.fetch(ctx, t)
	if err != nil {
		return model.Weights{}, err
	}
	lo := t.Train.LocalOnly
	start := x.withLocal(t.Job, global, lo)
	meta.BaseHash = t.ModelHash
	meta.Metrics = map[string]float64{}
	release, err := x.deviceSlot(ctx)
	if err != nil {
		return model.Weights{}, err
	}
	defer release()
	if x.cfg.EvaluateGlobal {
		ev, err := trainer.Evaluate(ctx, start)
		if err != nil {
			return model.Weights{}, fmt.Errorf("evaluate global %.12s: %w", t.ModelHash, err)
		}
		for k, v := range ev {
			meta.Metrics["eval_"+k] = v
		}
	}
	res, err := trainer.Train(ctx, start, t.Train.Spec)
	if err != nil {
		return model.Weights{}, err
	}
	for k, v := range res.Metrics {
		meta.Metrics["train_"+k] = v
	}
	meta.NumSamples = int64(res.NumSamples)
	if lo.Empty() {
		return res.Weights, nil
	}
	x.mu.Lock()
	x.local[t.Job] = lo.Local(res.Weights)
	x.mu.Unlock()
	return lo.Shared(res.Weights), nil
}

// trainDelta trains as trainLocal does and returns the secure round's
// delta: the local model minus the shared tensors of the global one.
func (x *executor) trainDelta(ctx context.Context, t Task) (Delta, error) {
	trainer, _, err := x.trainerFor(ctx, t)
	if err != nil {
		return Delta{}, err
	}
	meta := &fedpb.UpdateMeta{}
	local, err := x.trainLocal(ctx, trainer, t, meta)
	if err != nil {
		return Delta{}, stageErr("train", err)
	}
	global, err := x.fetch(ctx, t)
	if err != nil {
		return Delta{}, err
	}
	shared := t.Train.LocalOnly.Shared(global)
	if err := shared.CheckSameSpec(local); err != nil {
		return Delta{}, fmt.Errorf("%w: %w", errBadUpdate, err)
	}
	// The delta is computed in the local model's memory (Train returned
	// it to the site), and the cached global model is dropped before the
	// delta is laid out flat: a study-size site holds two models here,
	// not four. The capacity leaves room for the round's metrics.
	for _, lt := range local.Tensors() {
		gt, _ := shared.Get(lt.Name)
		for i, g := range gt.Data {
			lt.Data[i] -= g
		}
	}
	x.forget(t.ModelHash)
	n := local.NumParams() + fed.SecureMetricElems*len(t.Train.SecureMetrics)
	collectBefore(n)
	d := make([]float32, 0, n)
	for _, lt := range local.Tensors() {
		d = append(d, lt.Data...)
	}
	return Delta{Values: d, Samples: meta.NumSamples, Metrics: meta.Metrics}, nil
}

// forget drops the cached global model called hash (the secure path has
// overwritten or no longer needs it).
func (x *executor) forget(hash string) {
	x.mu.Lock()
	if x.cache.hash == hash {
		x.cache.hash, x.cache.w = "", model.Weights{}
	}
	x.mu.Unlock()
}

// fetch downloads the task's global model, reusing the last one.
func (x *executor) fetch(ctx context.Context, t Task) (model.Weights, error) {
	x.mu.Lock()
	if x.cache.hash == t.ModelHash {
		w := x.cache.w
		x.mu.Unlock()
		return w, nil
	}
	x.mu.Unlock()
	w, err := x.tr.download(ctx, x.tr.sessionID(), t.Job, t.ModelHash)
	if err != nil {
		return model.Weights{}, stageErr("download", fmt.Errorf("download model %.12s: %w", t.ModelHash, err))
	}
	x.mu.Lock()
	x.cache.hash, x.cache.w = t.ModelHash, w
	x.mu.Unlock()
	return w, nil
}

// withLocal replaces global's local-only tensors by the site's own copies,
// when it has them from an earlier round of the job.
func (x *executor) withLocal(job string, global model.Weights, lo model.LocalOnly) model.Weights {
	x.mu.Lock()
	local, ok := x.local[job]
	x.mu.Unlock()
	if lo.Empty() || !ok {
		return global
	}
	ts := make([]model.Tensor, 0, global.Len())
	for _, t := range global.Tensors() {
		if lt, ok := local.Get(t.Name); ok && lo.Match(t.Name) && slices.Equal(lt.Shape, t.Shape) {
			t = lt
		}
		ts = append(ts, t)
	}
	return model.MustWeights(ts...)
}

// uploadWithRetry uploads, retrying transient failures with backoff until
// the task's context ends. Refusals are final.
func (x *executor) uploadWithRetry(ctx context.Context, meta *fedpb.UpdateMeta, w model.Weights) error {
	bo := newBackoff(x.cfg.Backoff, uint64(meta.GetRound()))
	for {
		meta.SessionId = x.tr.sessionID()
		err := x.tr.upload(ctx, meta, w)
		if err == nil || !protocol.Retryable(err) || ctx.Err() != nil {
			if err != nil {
				return fmt.Errorf("upload: %w", err)
			}
			return nil
		}
		x.log.Warn("upload failed; retrying", "task", meta.GetTaskId(), "err", err)
		if err := sleep(ctx, x.clk, bo.Next()); err != nil {
			return err
		}
	}
}
