package coordinator

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol"
	"github.com/synthfed/synthfed/protocol/fedpb"
)

// toyDriver is a WeightedSum with a "hello" phase before train and a "bye"
// phase after it, the shape secure aggregation takes.
type toyDriver struct {
	Aggregator
	got      map[string]map[string]bool
	cohort   []string
	minHello int
	log      []string
}

func (d *toyDriver) Phases() []string { return []string{"hello", string(PhaseTrain), "bye"} }

func (d *toyDriver) Open(phase string, cohort []string) (map[string]*anypb.Any, error) {
	d.cohort = cohort
	d.log = append(d.log, "open "+phase)
	out := map[string]*anypb.Any{}
	for _, s := range cohort {
		a, _ := anypb.New(wrapperspb.String(phase + " " + s))
		out[s] = a
	}
	return out, nil
}

func (d *toyDriver) HandlePhase(site string, m *fedpb.PhaseMessage) (*fedpb.PhaseMessage, error) {
	if d.got[m.GetPhase()] == nil {
		d.got[m.GetPhase()] = map[string]bool{}
	}
	d.got[m.GetPhase()][site] = true
	return &fedpb.PhaseMessage{Phase: m.GetPhase()}, nil
}

func (d *toyDriver) Pending(phase string) []string {
	var p []string
	for _, s := range d.cohort {
		if !d.got[phase][s] {
			p = append(p, s)
		}
	}
	return p
}

func (d *toyDriver) Close(phase string) error {
	d.log = append(d.log, "close "+phase)
	if phase == "hello" && len(d.got[phase]) < d.minHello {
		return fmt.Errorf("only %d said hello", len(d.got[phase]))
	}
	return nil
}

func exchange(h *harness, site, phase string) error {
	t := h.tasks[site]
	_, err := h.e.Exchange(site, &fedpb.PhaseMessage{JobId: t.Job, Round: int64(t.Round), Attempt: int32(t.Attempt), Nonce: t.Nonce, Phase: phase}, h.now)
	h.drain()
	return err
}

func TestDriverPhasesRunInOrder(t *testing.T) {
	var drv *toyDriver
	h := newHarness(t, EngineConfig{Aggregator: func(specs []model.TensorSpec) (Aggregator, error) {
		ws, err := NewWeightedSum(specs)
		drv = &toyDriver{Aggregator: ws, got: map[string]map[string]bool{}, minHello: 2}
		return drv, err
	}})
	spec := testSpec()
	spec.Rounds = 1
	h.join("a", "b", "c")
	h.startJob(spec, initW())
	for _, s := range []string{"a", "b", "c"} {
		tk := h.tasks[s]
		if tk.Kind != protocol.KindPhase || tk.Phase != "hello" || tk.Extension == nil {
			t.Fatalf("site %s first task %+v", s, tk)
		}
	}
	if err := exchange(h, "a", "bye"); !errors.Is(err, protocol.ErrLate) {
		t.Fatalf("message for a phase not open: %v", err)
	}
	must(t, exchange(h, "a", "hello"))
	must(t, exchange(h, "b", "hello"))
	h.advance(20 * time.Second) // c never says hello: the deadline closes the phase
	if h.tasks["a"].Kind != protocol.KindTrain || h.tasks["c"].Kind != protocol.KindTrain {
		t.Fatalf("train tasks not sent after hello: %+v", h.tasks["a"])
	}
	must(t, h.deliver("a", model.MustWeights(vec("w", 2, 2)), 1))
	must(t, h.deliver("b", model.MustWeights(vec("w", 4, 4)), 1))
	must(t, h.deliver("c", model.MustWeights(vec("w", 6, 6)), 1))
	if h.tasks["a"].Phase != "bye" || len(h.commits) != 1 {
		t.Fatalf("bye not opened: %+v", h.tasks["a"])
	}
	for _, s := range []string{"a", "b", "c"} {
		must(t, exchange(h, s, "bye"))
	}
	c := h.commitLast()
	wantData(t, c.Global, "w", 4, 4)
	want := "[open hello close hello open bye close bye]"
	if fmt.Sprint(drv.log) != want {
		t.Fatalf("driver calls %v, want %s", drv.log, want)
	}
}

func TestDriverPhaseFailureFailsAttempt(t *testing.T) {
	h := newHarness(t, EngineConfig{Aggregator: func(specs []model.TensorSpec) (Aggregator, error) {
		ws, err := NewWeightedSum(specs)
		return &toyDriver{Aggregator: ws, got: map[string]map[string]bool{}, minHello: 3}, err
	}})
	h.join("a", "b", "c")
	h.startJob(testSpec(), initW())
	must(t, exchange(h, "a", "hello"))
	h.advance(20 * time.Second)
	if h.e.Counters().AttemptsFailed != 1 || h.tasks["a"].Attempt != 1 || h.tasks["a"].Phase != "hello" {
		t.Fatalf("attempt not retried: %+v", h.tasks["a"])
	}
}
