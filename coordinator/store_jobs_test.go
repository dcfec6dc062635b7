package coordinator

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"
)

func TestStoreModelIndex(t *testing.T) {
	st, err := OpenStore(filepath.Join(t.TempDir(), "state.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	job := JobRecord{Spec: JobSpec{ID: "j"}, State: JobRunning, Committed: 2, GlobalHash: "h2", Checkpoint: "f2"}
	// A round committed before the index existed is found by its summary.
	if err := st.CommitRound(job, RoundRecord{Summary: RoundSummary{Job: "j", Round: 2, GlobalHash: "h2"}, Checkpoint: "f2"}); err != nil {
		t.Fatal(err)
	}
	if m, ok, err := st.Model("h2"); err != nil || !ok || m.File != "f2" || m.Job != "j" || m.Round != 2 {
		t.Fatalf("fallback lookup: %+v %v %v", m, ok, err)
	}
	if _, ok, err := st.Model("nope"); err != nil || ok {
		t.Fatalf("unknown hash found: %v %v", ok, err)
	}
	// The first producer stays the producer.
	if err := st.PutModel(ModelRecord{Hash: "h3", File: "f3", Job: "j", Round: 3}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutModel(ModelRecord{Hash: "h3", File: "g3", Job: "k", Round: 0}); err != nil {
		t.Fatal(err)
	}
	if m, _, _ := st.Model("h3"); m.File != "f3" || m.Job != "j" {
		t.Fatalf("index overwritten: %+v", m)
	}
}

func TestStoreResults(t *testing.T) {
	st, err := OpenStore(filepath.Join(t.TempDir(), "state.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, ok, err := st.Results("e"); ok || err != nil {
		t.Fatalf("results of an unknown job: %v %v", ok, err)
	}
	job := JobRecord{Spec: JobSpec{ID: "e", Kind: JobEvaluate}, State: JobRunning, Committed: 1, GlobalHash: "out"}
	res := ResultRecord{Job: "e", Round: 1, Output: "out", Results: map[string]json.RawMessage{"a": json.RawMessage(`{"x":1}`)}}
	if err := st.CommitResults(job, res); err != nil {
		t.Fatal(err)
	}
	got, ok, err := st.Results("e")
	if err != nil || !ok || got.Output != "out" || string(got.Results["a"]) != `{"x":1}` {
		t.Fatalf("results %+v %v %v", got, ok, err)
	}
	if rec, ok, _ := st.Job("e"); !ok || rec.Committed != 1 || rec.GlobalHash != "out" {
		t.Fatalf("job record not written with the results: %+v", rec)
	}
}
