package siteagent

import (
	"errors"
	"log/slog"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/synthfed/synthfed/crypto/secagg"
	"github.com/synthfed/synthfed/internal/clock"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol"
	"github.com/synthfed/synthfed/protocol/fedpb"
)

// TestTaskFromWire: the site converts a wire task once, with its training
// as a model.TrainSpec and its local-only patterns compiled once per job;
// a bad pattern or a malformed input request is refused.
func TestTaskFromWire(t *testing.T) {
	x := newExecutor(DefaultConfig(), slog.New(slog.DiscardHandler), clock.New(), nil, nil)
	w := &fedpb.Task{TaskId: "t1", JobId: "j", Round: 3, Attempt: 1, Nonce: make([]byte, protocol.NonceLen), Kind: protocol.KindTrain,
		Model: "m", ModelHash: "h", DeadlineUnixMs: 5000,
		Spec: &fedpb.Task_Train{Train: &fedpb.TrainSpec{LocalSteps: 7, LearningRate: 0.5, Seed: 9, LocalOnly: []string{`^bn\.`}}}}
	tk, err := taskFromWire(w, x.localOnly)
	if err != nil {
		t.Fatal(err)
	}
	want := model.TrainSpec{JobID: "j", Round: 3, LocalSteps: 7, LearningRate: 0.5, Seed: 9}
	if tk.Train == nil || tk.Train.Spec.JobID != want.JobID || tk.Train.Spec.Round != want.Round || tk.Train.Spec.LocalSteps != 7 ||
		tk.Train.Spec.Seed != 9 || !tk.Train.LocalOnly.Match("bn.scale") || tk.Deadline.UnixMilli() != 5000 || tk.Attempt != 1 {
		t.Fatalf("task %+v train %+v", tk, tk.Train)
	}
	again, _ := taskFromWire(w, x.localOnly)
	if len(x.patterns) != 1 || !again.Train.LocalOnly.Match("bn.x") {
		t.Fatalf("patterns compiled per task: %d", len(x.patterns))
	}
	w.GetTrain().LocalOnly = []string{"("}
	w.JobId = "j2"
	if _, err := taskFromWire(w, x.localOnly); !errors.Is(err, protocol.ErrMalformed) {
		t.Fatalf("bad pattern: %v", err)
	}
	in := &fedpb.Task{TaskId: "p", JobId: "j", Round: 1, Nonce: make([]byte, protocol.NonceLen), Kind: protocol.KindPhase, ModelHash: "h",
		Spec: &fedpb.Task_Extension{Extension: &anypb.Any{TypeUrl: secagg.TypeURL(secagg.KindInputRequest), Value: []byte("junk")}}}
	if _, err := taskFromWire(in, x.localOnly); !errors.Is(err, protocol.ErrMalformed) {
		t.Fatalf("malformed input request: %v", err)
	}
}

// FuzzTaskFromWire feeds arbitrary wire tasks to the site's conversion:
// it never panics, and a task it accepts has what its kind needs.
func FuzzTaskFromWire(f *testing.F) {
	seed := &fedpb.Task{TaskId: "t", JobId: "j", Nonce: make([]byte, protocol.NonceLen), Kind: protocol.KindTrain, ModelHash: "h",
		Spec: &fedpb.Task_Train{Train: &fedpb.TrainSpec{LocalOnly: []string{"^bn"}}}}
	b, _ := proto.Marshal(seed)
	f.Add(b)
	relay, _ := (&secagg.InputRequest{Relay: &secagg.ShareKeysRelay{}, Train: b}).MarshalBinary()
	ph := &fedpb.Task{TaskId: "p", JobId: "j", Nonce: make([]byte, protocol.NonceLen), Kind: protocol.KindPhase,
		Spec: &fedpb.Task_Extension{Extension: &anypb.Any{TypeUrl: secagg.TypeURL(secagg.KindInputRequest), Value: relay}}}
	b, _ = proto.Marshal(ph)
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		w := &fedpb.Task{}
		if proto.Unmarshal(data, w) != nil || protocol.ValidateTask(w) != nil {
			return
		}
		x := newExecutor(DefaultConfig(), slog.New(slog.DiscardHandler), clock.New(), nil, nil)
		tk, err := taskFromWire(w, x.localOnly)
		if err != nil {
			return
		}
		if !tk.Cancel && tk.Kind == protocol.KindTrain && tk.Train == nil {
			t.Fatalf("train task without training: %+v", tk)
		}
		if tk.Relay != nil && tk.Train == nil {
			t.Fatalf("masked-input task without training: %+v", tk)
		}
	})
}
