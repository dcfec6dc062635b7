package protocol

import (
	"errors"
	"math"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/synthfed/synthfed/protocol/fedpb"
)

func nonce() []byte { return make([]byte, NonceLen) }

func TestValidateTask(t *testing.T) {
	train := func(mod func(*fedpb.Task)) *fedpb.Task {
		tk := &fedpb.Task{TaskId: "t", JobId: "j", Round: 1, Nonce: nonce(), Kind: KindTrain, ModelHash: "h",
			Spec: &fedpb.Task_Train{Train: &fedpb.TrainSpec{LearningRate: 0.1, LocalOnly: []string{"^bn"}}}}
		if mod != nil {
			mod(tk)
		}
		return tk
	}
	cases := []struct {
		name string
		task *fedpb.Task
		ok   bool
	}{
		{"train", train(nil), true},
		{"cancel needs only id", &fedpb.Task{TaskId: "t", Cancel: true}, true},
		{"no id", train(func(t *fedpb.Task) { t.TaskId = "" }), false},
		{"short nonce", train(func(t *fedpb.Task) { t.Nonce = []byte{1} }), false},
		{"negative round", train(func(t *fedpb.Task) { t.Round = -1 }), false},
		{"no model hash", train(func(t *fedpb.Task) { t.ModelHash = "" }), false},
		{"too many patterns", train(func(t *fedpb.Task) { t.GetTrain().LocalOnly = make([]string, MaxLocalOnly+1) }), false},
		{"negative mu", train(func(t *fedpb.Task) { t.GetTrain().ProxMu = -1 }), false},
		{"init without spec", train(func(t *fedpb.Task) { t.Kind = KindInit; t.Spec = nil }), false},
		{"init", train(func(t *fedpb.Task) { t.Kind = KindInit; t.Spec = &fedpb.Task_Init{Init: &fedpb.InitSpec{Seed: 1}} }), true},
		{"unknown kind without extension", train(func(t *fedpb.Task) { t.Kind = "sample" }), false},
	}
	for _, tc := range cases {
		err := ValidateTask(tc.task)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrMalformed)) {
			t.Errorf("%s: err %v", tc.name, err)
		}
	}
}

func TestValidateSmallMessages(t *testing.T) {
	inf := math.Inf(1)
	cases := []struct {
		name string
		err  error
		ok   bool
	}{
		{"join ok", ValidateJoin(&fedpb.JoinRequest{SiteId: "site-1"}), true},
		{"join bad id", ValidateJoin(&fedpb.JoinRequest{SiteId: "../x"}), false},
		{"meta ok", ValidateUpdateMeta(&fedpb.UpdateMeta{SessionId: "s", TaskId: "t", JobId: "j", Nonce: nonce(), NumSamples: 3, Metrics: map[string]float64{"loss": 1}}), true},
		{"meta inf metric", ValidateUpdateMeta(&fedpb.UpdateMeta{SessionId: "s", TaskId: "t", JobId: "j", Nonce: nonce(), Metrics: map[string]float64{"loss": inf}}), false},
		{"meta negative samples", ValidateUpdateMeta(&fedpb.UpdateMeta{SessionId: "s", TaskId: "t", JobId: "j", Nonce: nonce(), NumSamples: -1}), false},
		{"heartbeat ok", ValidateHeartbeat(&fedpb.HeartbeatRequest{SessionId: "s"}), true},
		{"heartbeat no session", ValidateHeartbeat(&fedpb.HeartbeatRequest{}), false},
		{"download big chunk", ValidateDownload(&fedpb.DownloadRequest{SessionId: "s", ModelHash: "h", ChunkSize: MaxChunkSize + 1}), false},
		{"phase no payload", ValidatePhase(&fedpb.PhaseMessage{SessionId: "s", JobId: "j", Phase: "p"}), false},
	}
	for _, tc := range cases {
		if (tc.err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, tc.err)
		}
	}
}

// fuzzDecode unmarshals data into m and runs check: neither may panic.
func fuzzDecode[M proto.Message](f *testing.F, newMsg func() M, check func(M) error, seeds ...M) {
	for _, s := range seeds {
		b, _ := proto.Marshal(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m := newMsg()
		if proto.Unmarshal(data, m) != nil {
			return
		}
		_ = check(m)
	})
}

func FuzzDecodeTask(f *testing.F) {
	fuzzDecode(f, func() *fedpb.Task { return new(fedpb.Task) }, ValidateTask,
		&fedpb.Task{TaskId: "t", JobId: "j", Nonce: nonce(), Kind: KindTrain, ModelHash: "h", Spec: &fedpb.Task_Train{Train: &fedpb.TrainSpec{LocalOnly: []string{"a"}}}})
}

func FuzzDecodeJoin(f *testing.F) {
	fuzzDecode(f, func() *fedpb.JoinRequest { return new(fedpb.JoinRequest) }, func(m *fedpb.JoinRequest) error {
		return errors.Join(CheckVersion(m.GetProtocolVersion()), ValidateJoin(m))
	}, &fedpb.JoinRequest{ProtocolVersion: Version, SiteId: "s"})
}

func FuzzDecodeUpdateMeta(f *testing.F) {
	fuzzDecode(f, func() *fedpb.UpdateMeta { return new(fedpb.UpdateMeta) }, ValidateUpdateMeta,
		&fedpb.UpdateMeta{SessionId: "s", TaskId: "t", JobId: "j", Nonce: nonce(), Metrics: map[string]float64{"a": 1}})
}

func FuzzDecodeUploadMessage(f *testing.F) {
	fuzzDecode(f, func() *fedpb.UploadMessage { return new(fedpb.UploadMessage) }, func(m *fedpb.UploadMessage) error {
		if meta := m.GetMeta(); meta != nil {
			return ValidateUpdateMeta(meta)
		}
		return NewReassembler(DefaultLimits()).Add(m.GetChunk())
	}, &fedpb.UploadMessage{Body: &fedpb.UploadMessage_Chunk{Chunk: &fedpb.Chunk{Body: &fedpb.Chunk_Data{Data: []byte{1, 2, 3, 4}}}}})
}

func FuzzDecodeSmallMessages(f *testing.F) {
	f.Add(byte(0), []byte{})
	f.Fuzz(func(t *testing.T, which byte, data []byte) {
		switch which % 4 {
		case 0:
			m := new(fedpb.HeartbeatRequest)
			if proto.Unmarshal(data, m) == nil {
				_ = ValidateHeartbeat(m)
			}
		case 1:
			m := new(fedpb.DownloadRequest)
			if proto.Unmarshal(data, m) == nil {
				_ = ValidateDownload(m)
			}
		case 2:
			m := new(fedpb.PhaseMessage)
			if proto.Unmarshal(data, m) == nil {
				_ = ValidatePhase(m)
			}
		case 3:
			m := new(fedpb.StreamHeader)
			if proto.Unmarshal(data, m) == nil {
				_, _, _ = DecodeSpecs(m.GetTensors(), Limits{MaxValues: 1 << 20, MaxTensors: 64, MaxNameLen: 64, MaxDims: 8, MaxChunk: 1 << 12})
			}
		}
	})
}
