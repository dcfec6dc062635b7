package protocol

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/synthfed/synthfed/protocol/fedpb"
)

var testHash = strings.Repeat("ab", 32)

func sampleContext() *JobContext {
	return &JobContext{Job: "s", Kind: KindSample, Model: "ddpm", Seed: 3, Sample: &SampleSettings{
		DDPM:  ModelRef{Hash: testHash, Job: "d", Model: "ddpm", ModelConfig: json.RawMessage(`{"arch":{"image_size":8}}`)},
		SetID: testHash, Levels: 2, Steps: 4}}
}

func TestDecodeJobContext(t *testing.T) {
	ok, err := EncodeJobContext(sampleContext())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		doc  string
		ok   bool
	}{
		{"sample", string(ok), true},
		{"train plain", `{"job":"t","kind":"train","model":"logreg","seed":1}`, true},
		{"unknown field", `{"job":"t","kind":"train","model":"logreg","extra":1}`, false},
		{"unknown kind", `{"job":"t","kind":"mine","model":"x"}`, false},
		{"no model", `{"job":"t","kind":"train"}`, false},
		{"config not object", `{"job":"t","kind":"train","model":"m","model_config":[1]}`, false},
		{"sample without settings", `{"job":"s","kind":"sample","model":"ddpm"}`, false},
		{"bad set id", strings.Replace(string(ok), `"set_id":"`+testHash, `"set_id":"xyz`, 1), false},
		{"zero levels", strings.Replace(string(ok), `"levels":2`, `"levels":0`, 1), false},
		{"evaluate no models", `{"job":"e","kind":"evaluate","model":"classifier","evaluate":{"models":[]}}`, false},
		{"evaluate", `{"job":"e","kind":"evaluate","model":"classifier","evaluate":{"models":[{"hash":"` + testHash + `","job":"c","model":"classifier"}],"bootstrap_reps":10,"bootstrap_level":0.95}}`, true},
		{"bad level", `{"job":"e","kind":"evaluate","model":"c","evaluate":{"models":[{"hash":"` + testHash + `"}],"bootstrap_reps":10,"bootstrap_level":1.5}}`, false},
		{"recipe synthetic without set", `{"job":"t","kind":"train","model":"classifier","data":{"real":true,"synthetic_level":2}}`, false},
		{"recipe nothing", `{"job":"t","kind":"train","model":"classifier","data":{"real":false}}`, false},
		{"recipe ok", `{"job":"t","kind":"train","model":"classifier","data":{"real":true,"synthetic_level":2,"synthetic_set":"` + testHash + `","synthetic_weight":1}}`, true},
		{"recipe fidelity threshold", `{"job":"t","kind":"train","model":"classifier","data":{"real":true,"synthetic_weight":1,"fidelity":{"model":{"hash":"` + testHash + `"},"threshold":0.7}}}`, false},
		{"not json", `{`, false},
	}
	for _, tc := range cases {
		_, err := DecodeJobContext([]byte(tc.doc))
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrMalformed)) {
			t.Errorf("%s: err %v", tc.name, err)
		}
	}
	if _, err := DecodeJobContext(make([]byte, MaxContextBytes+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized context: %v", err)
	}
}

func TestFloatJSON(t *testing.T) {
	for _, v := range []float64{0, 0.5, -1e-300, math.NaN(), math.Inf(1)} {
		b, err := json.Marshal(Float(v))
		if err != nil {
			t.Fatal(err)
		}
		var back Float
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		finite := !math.IsNaN(v) && !math.IsInf(v, 0)
		if finite && float64(back) != v || !finite && (string(b) != "null" || !math.IsNaN(float64(back))) {
			t.Errorf("%v -> %s -> %v", v, b, back)
		}
	}
}

func validReport() *fedpb.TaskReport {
	return &fedpb.TaskReport{SessionId: "s", TaskId: "t", JobId: "j", Round: 1, Nonce: nonce(), ResultJson: []byte(`{"a":1}`),
		Metrics: map[string]float64{"x": 1}}
}

func TestValidateTaskReport(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*fedpb.TaskReport)
		ok   bool
	}{
		{"result", nil, true},
		{"failure", func(r *fedpb.TaskReport) { r.Failed, r.Stage, r.Error, r.ResultJson = true, "data", "no rows", nil }, true},
		{"failure without reason", func(r *fedpb.TaskReport) { r.Failed = true }, false},
		{"no session", func(r *fedpb.TaskReport) { r.SessionId = "" }, false},
		{"short nonce", func(r *fedpb.TaskReport) { r.Nonce = []byte{1} }, false},
		{"not json", func(r *fedpb.TaskReport) { r.ResultJson = []byte("{") }, false},
		{"nan metric", func(r *fedpb.TaskReport) { r.Metrics["x"] = math.NaN() }, false},
		{"huge result", func(r *fedpb.TaskReport) { r.ResultJson = make([]byte, MaxResultBytes+1) }, false},
		{"negative round", func(r *fedpb.TaskReport) { r.Round = -1 }, false},
	}
	for _, tc := range cases {
		r := validReport()
		if tc.mod != nil {
			tc.mod(r)
		}
		if err := ValidateTaskReport(r); (err == nil) != tc.ok {
			t.Errorf("%s: err %v", tc.name, err)
		}
	}
}

func TestValidateJobRequests(t *testing.T) {
	if err := ValidateCheckpointRequest(&fedpb.CheckpointRequest{SessionId: "s", Hash: testHash}); err != nil {
		t.Error(err)
	}
	for _, r := range []*fedpb.CheckpointRequest{{Hash: testHash}, {SessionId: "s", Hash: "ABC"}, {SessionId: "s", Hash: testHash, ChunkSize: MaxChunkSize + 1}} {
		if err := ValidateCheckpointRequest(r); !errors.Is(err, ErrMalformed) {
			t.Errorf("%v: err %v", r, err)
		}
	}
	if err := ValidateJobContextRequest(&fedpb.JobContextRequest{SessionId: "s"}); !errors.Is(err, ErrMalformed) {
		t.Errorf("no job: %v", err)
	}
}

func FuzzDecodeJobContext(f *testing.F) {
	b, _ := EncodeJobContext(sampleContext())
	f.Add(b)
	f.Add([]byte(`{"job":"e","kind":"evaluate","model":"c","evaluate":{"models":[{"hash":"` + testHash + `"}]}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := DecodeJobContext(data)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("decoded context does not validate: %v", err)
		}
		if _, err := EncodeJobContext(c); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzTaskReport(f *testing.F) {
	b, _ := proto.Marshal(validReport())
	f.Add(b)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var r fedpb.TaskReport
		if proto.Unmarshal(data, &r) != nil {
			return
		}
		if ValidateTaskReport(&r) != nil {
			return
		}
		if len(r.GetResultJson()) > 0 && !json.Valid(r.GetResultJson()) {
			t.Fatal("accepted a result that is not JSON")
		}
	})
}

func FuzzDecodeEvaluateResult(f *testing.F) {
	f.Add([]byte(`{"site":"a","split":"test","images":3,"patients":2,"models":[{"hash":"h","job":"j","macro_auroc":null,"included":0,"labels":[]}],"bootstrap_reps":0}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeEvaluateResult(data)
		if err != nil {
			return
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatalf("decoded result does not encode: %v", err)
		}
	})
}
