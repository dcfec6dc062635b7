package coordinator

import (
	"errors"
	"testing"
	"time"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol"
)

func evalSpec() JobSpec {
	s := testSpec()
	s.ID, s.Kind, s.Model, s.Quorum = "ev", JobEvaluate, "classifier", 2
	s.Evaluate.Checkpoints = []string{hashA}
	return s
}

// report sends site's report for its current task and returns the effects.
func (h *harness) report(site string, rep TaskReport) ([]Effect, error) {
	h.t.Helper()
	t, ok := h.tasks[site]
	if !ok {
		h.t.Fatalf("site %s has no task", site)
	}
	err := h.e.Report(site, metaOf(t, 0), rep, h.now)
	effs := h.e.Ready()
	return effs, err
}

func TestEvaluateJobRound(t *testing.T) {
	h := newHarness(t, EngineConfig{})
	h.join("a", "b", "c")
	if err := h.e.Submit(evalSpec(), nil, h.now); err != nil {
		t.Fatal(err)
	}
	h.drain()
	for _, site := range []string{"a", "b", "c"} {
		tk := h.tasks[site]
		if tk.Kind != protocol.KindEvaluate || tk.Extension == nil || tk.Round != 1 {
			t.Fatalf("site %s task %+v", site, tk)
		}
	}
	if st := h.e.Jobs()[0]; st.Phase != PhaseRun || st.Kind != JobEvaluate {
		t.Fatalf("status %+v", st)
	}
	if _, err := h.report("a", TaskReport{Result: []byte(`{"site":"a"}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.report("b", TaskReport{Failed: true, Stage: "data", Error: "no test rows"}); err != nil {
		t.Fatal(err)
	}
	if sites := h.e.RoundSites("ev"); sites[1].State != "dropped" || sites[0].State != "accepted" || sites[2].State != "pending" {
		t.Fatalf("round sites %+v", sites)
	}
	effs, err := h.report("c", TaskReport{Result: []byte(`{"site":"c"}`), Metrics: map[string]float64{"test_images": 4}})
	if err != nil {
		t.Fatal(err)
	}
	var cr *CommitResults
	for _, ef := range effs {
		if c, ok := ef.(CommitResults); ok {
			cr = &c
		}
	}
	if cr == nil {
		t.Fatal("no CommitResults after every site answered")
	}
	want := resultsHash(map[string][]byte{"a": []byte(`{"site":"a"}`), "c": []byte(`{"site":"c"}`)})
	if cr.Output != want || len(cr.Results) != 2 || len(cr.Summary.Dropped) != 1 || cr.Summary.Dropped[0] != "b" {
		t.Fatalf("commit %+v", cr)
	}
	h.e.Committed("ev", 1, h.now)
	h.drain()
	st := h.e.Jobs()[0]
	if st.State != JobDone || st.Output != want || st.GlobalHash != "" {
		t.Fatalf("final status %+v", st)
	}
	c := h.e.Counters()
	if c.TasksFailed != 1 || c.Accepted != 2 {
		t.Errorf("counters %+v", c)
	}
}

func TestReportRefusals(t *testing.T) {
	h := newHarness(t, EngineConfig{})
	h.join("a", "b", "c")
	h.startJob(testSpec(), model.MustWeights(vec("w", 1, 2)))
	tk := h.tasks["a"]
	// A train task completes only by upload.
	err := h.e.Report("a", metaOf(tk, 0), TaskReport{Result: []byte(`{}`)}, h.now)
	if !errors.Is(err, protocol.ErrMalformed) {
		t.Errorf("result for a train task: %v", err)
	}
	// A wrong nonce is refused.
	bad := metaOf(h.tasks["b"], 0)
	bad.Nonce = make([]byte, protocol.NonceLen)
	if err := h.e.Report("b", bad, TaskReport{Failed: true, Stage: "train", Error: "x"}, h.now); !errors.Is(err, protocol.ErrBadNonce) {
		t.Errorf("bad nonce: %v", err)
	}
	// A failure after the round closed is refused, not recorded.
	old := h.tasks["c"]
	h.advance(time.Minute)
	if err := h.e.Report("c", metaOf(old, 0), TaskReport{Failed: true, Stage: "train", Error: "x"}, h.now); err == nil {
		t.Error("late failure report accepted")
	}
	if h.e.Counters().TasksFailed != 0 {
		t.Error("a refused report counted as a task failure")
	}
}

func TestCancel(t *testing.T) {
	h := newHarness(t, EngineConfig{})
	h.join("a", "b", "c")
	h.startJob(testSpec(), model.MustWeights(vec("w", 1, 2)))
	second := testSpec()
	second.ID = "job2"
	if err := h.e.Submit(second, nil, h.now); err != nil {
		t.Fatal(err)
	}
	h.drain()
	if err := h.e.Cancel("job2", "admin ops", h.now); err != nil {
		t.Fatal(err)
	}
	h.drain()
	if st := h.e.Jobs(); st[0].State != JobRunning || st[1].State != JobFailed || st[1].Err != "cancelled by admin ops" {
		t.Fatalf("after cancelling the pending job: %+v", st)
	}
	if err := h.e.Cancel("job1", "admin ops", h.now); err != nil {
		t.Fatal(err)
	}
	h.drain()
	if !h.cancels["a"] || !h.cancels["b"] || !h.cancels["c"] {
		t.Errorf("pending tasks not cancelled: %v", h.cancels)
	}
	if st := h.e.Jobs()[0]; st.State != JobFailed {
		t.Fatalf("running job after cancel: %+v", st)
	}
	if err := h.e.Cancel("job1", "x", h.now); !errors.Is(err, ErrJobEnded) {
		t.Errorf("second cancel: %v", err)
	}
	if err := h.e.Cancel("nope", "x", h.now); !errors.Is(err, protocol.ErrNotFound) {
		t.Errorf("unknown job: %v", err)
	}
	if len(h.ended) != 2 {
		t.Errorf("%d JobEnded effects, want 2", len(h.ended))
	}
}

// dropDriver is a toyDriver that hears of sites going down.
type dropDriver struct {
	*toyDriver
	down map[string]string
}

func (d *dropDriver) SiteDown(site, reason string) {
	d.down[site] = reason
	if d.got["hello"] == nil {
		d.got["hello"] = map[string]bool{}
	}
	d.got["hello"][site] = true // stop waiting for it
}

func (d *dropDriver) TakeEvents() []DriverEvent { return nil }

// TestPhaseTaskFailure checks that a site failing a task of a driver phase
// (secure aggregation trains inside one) is recorded and that the driver
// stops waiting for it.
func TestPhaseTaskFailure(t *testing.T) {
	var drv *dropDriver
	h := newHarness(t, EngineConfig{Aggregator: func(specs []model.TensorSpec) (Aggregator, error) {
		ws, err := NewWeightedSum(specs)
		drv = &dropDriver{toyDriver: &toyDriver{Aggregator: ws, got: map[string]map[string]bool{}, minHello: 2}, down: map[string]string{}}
		return drv, err
	}})
	h.join("a", "b", "c")
	h.startJob(testSpec(), model.MustWeights(vec("w", 1, 2)))
	if h.tasks["c"].Kind != protocol.KindPhase {
		t.Fatalf("task %+v is not a phase task", h.tasks["c"])
	}
	if _, err := h.report("c", TaskReport{Failed: true, Stage: "train", Error: "out of memory"}); err != nil {
		t.Fatal(err)
	}
	h.drain()
	if r := drv.down["c"]; r != ReasonSiteTaskFailed {
		t.Errorf("driver heard %q", r)
	}
	if h.e.Counters().TasksFailed != 1 {
		t.Error("phase task failure not counted")
	}
	bad := metaOf(h.tasks["a"], 0)
	bad.TaskID = "other"
	if err := h.e.Report("a", bad, TaskReport{Failed: true, Stage: "train", Error: "x"}, h.now); !errors.Is(err, protocol.ErrBadNonce) {
		t.Errorf("report naming another task: %v", err)
	}
}
