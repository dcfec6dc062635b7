package siteagent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/anypb"

	"github.com/synthfed/synthfed/internal/clock"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol"
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

// PhaseRunner runs aggregator-defined round phases at the site (secure
// aggregation's key exchange, unmasking...). It gets each task of kind
// protocol.KindPhase, with its payload in the task's extension, and an
// exchange function that sends a payload to the coordinator's phase handler
// for the same round and returns the answer.
type PhaseRunner interface {
	RunPhase(ctx context.Context, t *fedpb.Task, exchange func(context.Context, *anypb.Any) (*anypb.Any, error)) error
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
	local   map[string]model.Weights // job -> local-only tensors (FedBN)
	phases  PhaseRunner
	results chan TaskResult
	data    *dataStore    // the site's data (nil: none)
	built   *jobTrainer   // the trainer built for the latest job
	metrics *agentMetrics // nil: none
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
	return &executor{cfg: cfg, log: log, clk: clk, trainers: trainers, tr: tr, seen: map[string]bool{}, local: map[string]model.Weights{}}
}

// submit starts task t unless it is known; a cancel stops the named task.
func (x *executor) submit(ctx context.Context, t *fedpb.Task) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if t.GetCancel() {
		if x.current == t.GetTaskId() && x.cancel != nil {
			x.log.Info("task cancelled by coordinator", "task", t.GetTaskId())
			x.cancel()
		}
		x.seen[t.GetTaskId()] = true
		return
	}
	if x.seen[t.GetTaskId()] {
		return
	}
	x.seen[t.GetTaskId()] = true
	if x.cancel != nil {
		x.cancel() // the coordinator moved on
	}
	tctx, cancel := context.WithCancel(ctx)
	done, prev := make(chan struct{}), x.done
	x.current, x.cancel, x.done = t.GetTaskId(), cancel, done
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

func (x *executor) report(t *fedpb.Task, err error, took time.Duration) {
	log := x.log.With("task", t.GetTaskId(), "job", t.GetJobId(), "round", t.GetRound())
	switch {
	case err == nil:
		log.Info("task done", "took", took)
		x.metrics.taskEnded(t.GetKind(), "done", took.Seconds())
	case errors.Is(err, context.Canceled):
		log.Info("task stopped", "err", err)
		x.metrics.taskEnded(t.GetKind(), "cancelled", took.Seconds())
	default:
		log.Warn("task failed", "stage", stageOf(err), "err", err)
		x.metrics.taskEnded(t.GetKind(), "failed", took.Seconds())
		x.reportFailure(t, err)
	}
	if x.results != nil {
		x.results <- TaskResult{TaskID: t.GetTaskId(), Job: t.GetJobId(), Round: int(t.GetRound()), Kind: t.GetKind(), Err: err}
	}
}

// run executes one task: init or train, then the upload.
func (x *executor) run(ctx context.Context, t *fedpb.Task) error {
	if err := protocol.ValidateTask(t); err != nil {
		return err
	}
	if t.GetKind() == protocol.KindPhase {
		return x.runPhase(ctx, t)
	}
	if dl := t.GetDeadlineUnixMs(); dl > 0 {
		var cancel context.CancelFunc
		ctx, cancel = x.withDeadline(ctx, time.UnixMilli(dl))
		defer cancel()
	}
	if k := t.GetKind(); k == protocol.KindSample || k == protocol.KindEvaluate {
		return x.runJobTask(ctx, t)
	}
	trainer, batch, err := x.trainerFor(ctx, refOf(t))
	if err != nil {
		return err
	}
	meta := &fedpb.UpdateMeta{TaskId: t.GetTaskId(), JobId: t.GetJobId(), Round: t.GetRound(), Attempt: t.GetAttempt(), Nonce: t.GetNonce()}
	var w model.Weights
	switch t.GetKind() {
	case protocol.KindInit:
		w, err = trainer.Init(ctx, t.GetInit().GetSeed())
		err = stageErr("init", err)
	case protocol.KindTrain:
		start := x.clk.Now()
		w, err = x.train(ctx, trainer, t, meta)
		err = stageErr("train", err)
		x.recordTrain(t, meta, batch, x.clk.Since(start))
	default:
		err = fmt.Errorf("task %s: kind %q not supported by this agent: %w", t.GetTaskId(), t.GetKind(), protocol.ErrMalformed)
	}
	if err != nil {
		return err
	}
	return stageErr("upload", x.uploadWithRetry(ctx, meta, w))
}

// runPhase hands a phase task to the PhaseRunner.
func (x *executor) runPhase(ctx context.Context, t *fedpb.Task) error {
	if x.phases == nil {
		return fmt.Errorf("task %s: phase %q but this agent has no phase runner: %w", t.GetTaskId(), t.GetPhase(), protocol.ErrNotFound)
	}
	send := func(ctx context.Context, payload *anypb.Any) (*anypb.Any, error) {
		reply, err := x.tr.exchange(ctx, &fedpb.PhaseMessage{SessionId: x.tr.sessionID(), JobId: t.GetJobId(), Round: t.GetRound(),
			Attempt: t.GetAttempt(), Nonce: t.GetNonce(), Phase: t.GetPhase(), Payload: payload})
		return reply.GetPayload(), err
	}
	return x.phases.RunPhase(ctx, t, send)
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

// train downloads the global model, restores the local-only tensors, trains
// and returns the tensors to upload.
func (x *executor) train(ctx context.Context, trainer model.Trainer, t *fedpb.Task, meta *fedpb.UpdateMeta) (model.Weights, error) {
	global, err := x.fetch(ctx, t)
	if err != nil {
		return model.Weights{}, err
	}
	pats := make([]*regexp.Regexp, 0, len(t.GetTrain().GetLocalOnly()))
	for _, p := range t.GetTrain().GetLocalOnly() {
		pats = append(pats, regexp.MustCompile(p)) // ValidateTask compiled them
	}
	start := x.withLocal(t.GetJobId(), global, pats)
	meta.BaseHash = t.GetModelHash()
	meta.Metrics = map[string]float64{}
	if x.cfg.EvaluateGlobal {
		ev, err := trainer.Evaluate(ctx, start)
		if err != nil {
			return model.Weights{}, fmt.Errorf("evaluate global %.12s: %w", t.GetModelHash(), err)
		}
		for k, v := range ev {
			meta.Metrics["eval_"+k] = v
		}
	}
	res, err := trainer.Train(ctx, start, protocol.TrainSpecToModel(t))
	if err != nil {
		return model.Weights{}, err
	}
	for k, v := range res.Metrics {
		meta.Metrics["train_"+k] = v
	}
	meta.NumSamples = int64(res.NumSamples)
	if len(pats) == 0 {
		return res.Weights, nil
	}
	x.mu.Lock()
	x.local[t.GetJobId()] = res.Weights.Filter(func(n string) bool { return matchAny(pats, n) })
	x.mu.Unlock()
	return res.Weights.Filter(func(n string) bool { return !matchAny(pats, n) }), nil
}

// fetch downloads the task's global model, reusing the last one.
func (x *executor) fetch(ctx context.Context, t *fedpb.Task) (model.Weights, error) {
	x.mu.Lock()
	if x.cache.hash == t.GetModelHash() {
		w := x.cache.w
		x.mu.Unlock()
		return w, nil
	}
	x.mu.Unlock()
	w, err := x.tr.download(ctx, x.tr.sessionID(), t.GetJobId(), t.GetModelHash())
	if err != nil {
		return model.Weights{}, stageErr("download", fmt.Errorf("download model %.12s: %w", t.GetModelHash(), err))
	}
	x.mu.Lock()
	x.cache.hash, x.cache.w = t.GetModelHash(), w
	x.mu.Unlock()
	return w, nil
}

// withLocal replaces global's local-only tensors by the site's own copies,
// when it has them from an earlier round of the job.
func (x *executor) withLocal(job string, global model.Weights, pats []*regexp.Regexp) model.Weights {
	x.mu.Lock()
	local, ok := x.local[job]
	x.mu.Unlock()
	if len(pats) == 0 || !ok {
		return global
	}
	ts := make([]model.Tensor, 0, global.Len())
	for _, t := range global.Tensors() {
		if lt, ok := local.Get(t.Name); ok && matchAny(pats, t.Name) && fmt.Sprint(lt.Shape) == fmt.Sprint(t.Shape) {
			t = lt
		}
		ts = append(ts, t)
	}
	return model.MustWeights(ts...)
}

func matchAny(pats []*regexp.Regexp, name string) bool {
	for _, p := range pats {
		if p.MatchString(name) {
			return true
		}
	}
	return false
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
