package siteagent

import (
	"fmt"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/synthfed/synthfed/crypto/secagg"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol"
	"github.com/synthfed/synthfed/protocol/fedpb"
)

// Task is a task as the site runs it: the coordinator's wire Task turned
// into the site's terms once, as it arrives (taskFromWire). Nothing past
// the agent's task stream sees the wire form.
type Task struct {
	ID      string
	Job     string
	Round   int
	Attempt int
	// Nonce binds the upload, report or phase messages to the task.
	Nonce []byte
	// Kind is protocol.KindInit, KindTrain, KindPhase, KindSample or
	// KindEvaluate.
	Kind string
	// Phase is the round phase the task belongs to.
	Phase string
	// Model names the trainer; ModelHash is the global model to start
	// from (none for init).
	Model     string
	ModelHash string
	// Deadline is when the coordinator closes the task's phase (zero:
	// none given).
	Deadline time.Time
	// Cancel asks the site to stop the task with this ID.
	Cancel bool
	// InitSeed seeds Trainer.Init (init tasks).
	InitSeed int64
	// Train is the local training of a train task, and of the
	// masked-input phase of a secure round (the site trains inside it).
	Train *LocalTraining
	// Payload is the secure-aggregation message that opens a phase task;
	// Relay replaces it in the masked-input phase.
	Payload Payload
	Relay   *secagg.ShareKeysRelay
}

// LocalTraining is one round of local training as the site runs it.
type LocalTraining struct {
	// Spec is the trainer's part.
	Spec model.TrainSpec
	// LocalOnly are the job's FedBN patterns, compiled once per job.
	LocalOnly model.LocalOnly
	// SecureMetrics and SecureMetricBound name the metrics a secure round
	// carries in the masked vector, and their bound.
	SecureMetrics     []string
	SecureMetricBound float64
}

// Payload is an opaque phase payload: crypto/secagg's type URL and bytes.
type Payload struct {
	Type  string
	Value []byte
}

// taskFromWire is the site's one conversion of a wire task. The task must
// have passed protocol.ValidateTask; a train spec's local-only patterns
// are compiled through localOnly, once per job.
func taskFromWire(p *fedpb.Task, localOnly func(job string, pats []string) (model.LocalOnly, error)) (Task, error) {
	t := Task{ID: p.GetTaskId(), Job: p.GetJobId(), Round: int(p.GetRound()), Attempt: int(p.GetAttempt()), Nonce: p.GetNonce(),
		Kind: p.GetKind(), Phase: p.GetPhase(), Model: p.GetModel(), ModelHash: p.GetModelHash(), Cancel: p.GetCancel()}
	if dl := p.GetDeadlineUnixMs(); dl > 0 {
		t.Deadline = time.UnixMilli(dl)
	}
	if t.Cancel {
		return t, nil
	}
	var err error
	switch t.Kind {
	case protocol.KindInit:
		t.InitSeed = p.GetInit().GetSeed()
	case protocol.KindTrain:
		t.Train, err = trainFromWire(t, p.GetTrain(), localOnly)
	case protocol.KindPhase:
		ext := p.GetExtension()
		t.Payload = Payload{Type: ext.GetTypeUrl(), Value: ext.GetValue()}
		if ext.GetTypeUrl() == secagg.TypeURL(secagg.KindInputRequest) {
			err = inputFromWire(&t, localOnly)
		}
	}
	if err != nil {
		return Task{}, fmt.Errorf("task %s: %w", t.ID, err)
	}
	return t, nil
}

// trainFromWire is the site's one conversion of a wire TrainSpec.
func trainFromWire(t Task, s *fedpb.TrainSpec, localOnly func(string, []string) (model.LocalOnly, error)) (*LocalTraining, error) {
	lo, err := localOnly(t.Job, s.GetLocalOnly())
	if err != nil {
		return nil, err
	}
	return &LocalTraining{Spec: protocol.TrainSpecToModel(t.Job, t.Round, s), LocalOnly: lo, SecureMetrics: s.GetSecureMetrics(), SecureMetricBound: s.GetSecureMetricBound()}, nil
}

// inputFromWire opens a secure round's InputRequest: its relay, and its
// training instructions (a fedpb.TrainSpec, checked as a train task's).
func inputFromWire(t *Task, localOnly func(string, []string) (model.LocalOnly, error)) error {
	q, err := secagg.DecodeInputRequest(t.Payload.Value)
	if err != nil {
		return fmt.Errorf("%w: %w", protocol.ErrMalformed, err)
	}
	spec := &fedpb.TrainSpec{}
	if err := proto.Unmarshal(q.Train, spec); err != nil {
		return fmt.Errorf("train spec: %v: %w", err, protocol.ErrMalformed)
	}
	if err := protocol.ValidateTrainSpec(t.ID, spec); err != nil {
		return err
	}
	if t.Train, err = trainFromWire(*t, spec, localOnly); err != nil {
		return err
	}
	t.Relay, t.Payload = q.Relay, Payload{}
	return nil
}

// localOnly returns job's compiled local-only patterns, compiling them on
// the job's first task.
func (x *executor) localOnly(job string, pats []string) (model.LocalOnly, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if lo, ok := x.patterns[job]; ok && slices.Equal(lo.Patterns(), pats) {
		return lo, nil
	}
	lo, err := model.CompileLocalOnly(pats)
	if err != nil {
		return model.LocalOnly{}, fmt.Errorf("%v: %w", err, protocol.ErrMalformed)
	}
	x.patterns[job] = lo
	return lo, nil
}

// taskIDs is the part of a wire task that names it, for reporting a task
// that could not be converted.
func taskIDs(p *fedpb.Task) Task {
	return Task{ID: p.GetTaskId(), Job: p.GetJobId(), Round: int(p.GetRound()), Attempt: int(p.GetAttempt()), Nonce: p.GetNonce(), Kind: p.GetKind()}
}

// metaOf is the upload metadata that binds an update to t.
func metaOf(t Task) *fedpb.UpdateMeta {
	return &fedpb.UpdateMeta{TaskId: t.ID, JobId: t.Job, Round: int64(t.Round), Attempt: int32(t.Attempt), Nonce: t.Nonce}
}

// reportOf is the report of how t ended.
func reportOf(t Task) *fedpb.TaskReport {
	return &fedpb.TaskReport{TaskId: t.ID, JobId: t.Job, Round: int64(t.Round), Attempt: int32(t.Attempt), Nonce: t.Nonce}
}
