package coordinator

import (
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/synthfed/synthfed/coordinator/engine"
	"github.com/synthfed/synthfed/crypto/secagg"
	"github.com/synthfed/synthfed/protocol"
	"github.com/synthfed/synthfed/protocol/fedpb"
)

// The coordinator's wire edge: every protocol message becomes an engine
// input here, and every task the engine hands out becomes a protocol Task
// here, once. Nothing past this file sees a fedpb or anypb type.

// taskToWire converts a task to its wire form. The masked-input phase of a
// secure round travels as one secagg.InputRequest: the site's share-keys
// relay and its training, encoded as a fedpb.TrainSpec.
func taskToWire(t engine.Task) (*fedpb.Task, error) {
	p := &fedpb.Task{TaskId: t.ID, JobId: t.Job, Round: int64(t.Round), Attempt: int32(t.Attempt), Nonce: t.Nonce,
		Kind: t.Kind, Phase: t.Phase, Model: t.Model, ModelHash: t.ModelHash, DeadlineUnixMs: t.Deadline.UnixMilli(), Cancel: t.Cancel}
	if t.Cancel {
		return p, nil
	}
	switch t.Kind {
	case protocol.KindInit:
		p.Spec = &fedpb.Task_Init{Init: &fedpb.InitSpec{Seed: t.InitSeed}}
	case protocol.KindTrain:
		p.Spec = &fedpb.Task_Train{Train: trainToWire(t)}
	case protocol.KindSample, protocol.KindEvaluate:
		ext, err := anypb.New(&fedpb.JobTask{Kind: t.Kind})
		if err != nil {
			return nil, fmt.Errorf("task %s: %w", t.ID, err)
		}
		p.Spec = &fedpb.Task_Extension{Extension: ext}
	case protocol.KindPhase:
		ext := &anypb.Any{TypeUrl: t.Payload.Type, Value: t.Payload.Value}
		if t.Phase == engine.PhaseSecInput {
			train, err := proto.Marshal(trainToWire(t))
			if err != nil {
				return nil, fmt.Errorf("task %s: %w", t.ID, err)
			}
			ext = &anypb.Any{TypeUrl: secagg.TypeURL(secagg.KindInputRequest), Value: secagg.EncodeInputRequest(t.Payload.Value, train)}
		}
		p.Spec = &fedpb.Task_Extension{Extension: ext}
	}
	return p, nil
}

// trainToWire is the wire form of a task's local training.
func trainToWire(t engine.Task) *fedpb.TrainSpec {
	ts := protocol.TrainSpecFromModel(t.Train, t.LocalOnly)
	ts.SecureMetrics, ts.SecureMetricBound = t.SecureMetrics, t.SecureMetricBound
	return ts
}

// metaFromWire is what an upload claims, from its opening message.
func metaFromWire(m *fedpb.UpdateMeta) engine.UploadMeta {
	return engine.UploadMeta{TaskID: m.GetTaskId(), Job: m.GetJobId(), Round: int(m.GetRound()), Attempt: int(m.GetAttempt()),
		Nonce: m.GetNonce(), NumSamples: m.GetNumSamples(), Metrics: m.GetMetrics(), BaseHash: m.GetBaseHash()}
}

// reportFromWire is a site's task report.
func reportFromWire(site string, r *fedpb.TaskReport) engine.TaskReported {
	return engine.TaskReported{Site: site,
		Meta:   engine.UploadMeta{TaskID: r.GetTaskId(), Job: r.GetJobId(), Round: int(r.GetRound()), Attempt: int(r.GetAttempt()), Nonce: r.GetNonce()},
		Report: engine.TaskReport{Failed: r.GetFailed(), Stage: r.GetStage(), Error: r.GetError(), Result: r.GetResultJson(), Metrics: r.GetMetrics()}}
}

// phaseFromWire is a site's secure-round message.
func phaseFromWire(site string, m *fedpb.PhaseMessage) engine.PhaseMessage {
	return engine.PhaseMessage{Site: site, Job: m.GetJobId(), Round: int(m.GetRound()), Attempt: int(m.GetAttempt()),
		Nonce: m.GetNonce(), Phase: m.GetPhase(), Payload: engine.Payload{Type: m.GetPayload().GetTypeUrl(), Value: m.GetPayload().GetValue()}}
}
