package localtrain

import (
	"strings"
	"testing"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/graph"
	"github.com/synthfed/synthfed/model/optim"
)

// fakeStepper trains nothing: it records what Rounds asks of it.
type fakeStepper struct {
	batch  int
	w      model.Weights
	upd    graph.Updater
	loads  int
	reseed []int
}

func (f *fakeStepper) Load(src model.Weights) error {
	f.loads++
	return optim.CopyValues(f.w, src)
}
func (f *fakeStepper) Weights() model.Weights  { return f.w }
func (f *fakeStepper) Updater() *graph.Updater { return &f.upd }
func (f *fakeStepper) Reseed(_ int64, round int) {
	f.reseed = append(f.reseed, round)
}

func weights(t *testing.T, v float32) model.Weights {
	t.Helper()
	w, err := model.NewWeights(model.Tensor{Name: "a", Shape: []int{2}, Data: []float32{v, v}})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestRoundsKeepsEMAAcrossRebuildsAndCountsSteps(t *testing.T) {
	var built []*fakeStepper
	r := NewRounds("m", true, func(batch int, w model.Weights, _ int64) (*fakeStepper, error) {
		adam, err := optim.NewAdam(optim.DefaultAdamConfig())
		if err != nil {
			return nil, err
		}
		ema, err := optim.NewEMA(w, 0.9, false)
		if err != nil {
			return nil, err
		}
		f := &fakeStepper{batch: batch, w: w, upd: graph.Updater{Adam: adam, EMA: ema}}
		built = append(built, f)
		return f, nil
	})
	if r.EMA().Len() != 0 {
		t.Error("EMA before training is not empty")
	}
	if _, err := r.Checkpoint("x", nil); err == nil || !strings.Contains(err.Error(), "m: checkpoint before any training") {
		t.Errorf("checkpoint before training: %v", err)
	}
	global := weights(t, 1)
	plan := PlanRound(model.TrainSpec{Round: 1, LocalSteps: 3, BatchSize: 2}, 8, 1e-3, 10)
	st, err := r.Begin(global, plan, 7, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.batch != 2 || st.loads != 1 || len(st.reseed) != 1 || st.reseed[0] != 1 {
		t.Fatalf("round 1 stepper: %+v", st)
	}
	if got := st.upd.Adam.ScheduleStep(); got != 0 {
		t.Errorf("round 1 schedule step %d", got)
	}
	res := r.End(plan, 10, 0.5, 0.4)
	if res.NumSamples != 10 || res.Metrics["steps"] != 3 || r.Steps() != 3 {
		t.Errorf("round 1 result %+v, steps %d", res, r.Steps())
	}
	ema := st.upd.EMA
	// Same batch size: the stepper is reused and reloaded.
	plan2 := PlanRound(model.TrainSpec{Round: 2, LocalSteps: 3, BatchSize: 2}, 8, 1e-3, 10)
	st2, err := r.Begin(weights(t, 2), plan2, 7, 0, nil)
	if err != nil || st2 != st || st.loads != 2 || st.w.Tensors()[0].Data[0] != 2 {
		t.Fatalf("round 2: reused %v, loads %d, err %v", st2 == st, st.loads, err)
	}
	if got := st.upd.Adam.ScheduleStep(); got != 3 {
		t.Errorf("round 2 schedule step %d, want 3", got)
	}
	r.End(plan2, 10, 0, 0)
	// A new batch size: a new stepper that keeps the EMA.
	plan3 := PlanRound(model.TrainSpec{Round: 3, LocalSteps: 2, BatchSize: 4}, 8, 1e-3, 10)
	st3, err := r.Begin(global, plan3, 7, 0, nil)
	if err != nil || st3 == st || len(built) != 2 || st3.upd.EMA != ema {
		t.Fatalf("round 3: new stepper %v, built %d, same EMA %v, err %v", st3 != st, len(built), st3.upd.EMA == ema, err)
	}
	r.End(plan3, 10, 0, 0)
	ck, err := r.Checkpoint("arch", []byte(`{}`))
	if err != nil || ck.Step != 8 || ck.Arch != "arch" || ck.Weights.Len() != 1 {
		t.Errorf("checkpoint %+v, %v", ck, err)
	}
}
