package scenario

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/synthfed/synthfed/internal/clock"
	"github.com/synthfed/synthfed/model"
)

// Poison kinds.
const (
	PoisonNaN  = "nan"
	PoisonHuge = "huge"
)

// update is one result a site's trainer produced for a round.
type update struct {
	w        model.Weights
	samples  int
	poisoned string
}

// recorder is the scenario's view of every site's training: who is
// training which round, what each produced, and the faults to apply.
type recorder struct {
	clk clock.Clock

	mu      sync.Mutex
	cond    *sync.Cond
	started map[string]map[int]bool // site -> rounds started
	busy    int                     // trainers computing (not waiting on the clock)
	updates map[string]map[int][]update
	slow    map[string]time.Duration
	poison  map[string]map[int]string
	extra   map[string]map[string]float64 // site -> metrics added to each result
}

func newRecorder(clk clock.Clock) *recorder {
	r := &recorder{clk: clk, started: map[string]map[int]bool{}, updates: map[string]map[int][]update{},
		slow: map[string]time.Duration{}, poison: map[string]map[int]string{}, extra: map[string]map[string]float64{}}
	r.cond = sync.NewCond(&r.mu)
	return r
}

// wrap returns site's trainer under the recorder.
func (r *recorder) wrap(site string, inner model.Trainer) model.Trainer {
	return &faultyTrainer{inner: inner, site: site, r: r}
}

func (r *recorder) setBusy(d int) {
	r.mu.Lock()
	r.busy += d
	r.mu.Unlock()
}

// idle reports whether no trainer is computing.
func (r *recorder) idle() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.busy == 0
}

// hasStarted reports whether site started training round.
func (r *recorder) hasStarted(site string, round int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.started[site][round]
}

// candidates returns what site produced for round.
func (r *recorder) candidates(site string, round int) []update {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]update(nil), r.updates[site][round]...)
}

// faultyTrainer applies the scenario's faults around a real trainer and
// records its results.
type faultyTrainer struct {
	inner model.Trainer
	site  string
	r     *recorder
}

// Init delegates.
func (t *faultyTrainer) Init(ctx context.Context, seed int64) (model.Weights, error) {
	t.r.setBusy(1)
	defer t.r.setBusy(-1)
	return t.inner.Init(ctx, seed)
}

// Evaluate delegates.
func (t *faultyTrainer) Evaluate(ctx context.Context, w model.Weights) (map[string]float64, error) {
	t.r.setBusy(1)
	defer t.r.setBusy(-1)
	return t.inner.Evaluate(ctx, w)
}

// Train marks the round started, waits the site's slowness on the fake
// clock, trains, poisons the result when asked, and records it.
func (t *faultyTrainer) Train(ctx context.Context, global model.Weights, spec model.TrainSpec) (model.TrainResult, error) {
	r := t.r
	r.mu.Lock()
	if r.started[t.site] == nil {
		r.started[t.site] = map[int]bool{}
	}
	r.started[t.site][spec.Round] = true
	delay, kind := r.slow[t.site], r.poison[t.site][spec.Round]
	extra := r.extra[t.site]
	r.mu.Unlock()
	if delay > 0 {
		select {
		case <-r.clk.After(delay):
		case <-ctx.Done():
			return model.TrainResult{}, fmt.Errorf("site %s round %d: %w", t.site, spec.Round, ctx.Err())
		}
	}
	r.setBusy(1)
	res, err := t.inner.Train(ctx, global, spec)
	r.setBusy(-1)
	if err != nil {
		return res, err
	}
	if kind != "" {
		res.Weights = poisoned(res.Weights, kind)
	}
	for k, v := range extra {
		if res.Metrics == nil {
			res.Metrics = map[string]float64{}
		}
		res.Metrics[k] = v
	}
	r.mu.Lock()
	if r.updates[t.site] == nil {
		r.updates[t.site] = map[int][]update{}
	}
	r.updates[t.site][spec.Round] = append(r.updates[t.site][spec.Round], update{w: res.Weights.Clone(), samples: res.NumSamples, poisoned: kind})
	r.mu.Unlock()
	return res, nil
}

// poisoned returns a copy of w with a NaN in its first tensor, or every
// value multiplied by 1e6.
func poisoned(w model.Weights, kind string) model.Weights {
	out := w.Clone()
	ts := out.Tensors()
	switch kind {
	case PoisonNaN:
		ts[0].Data[0] = float32(math.NaN())
	case PoisonHuge:
		for _, t := range ts {
			for i := range t.Data {
				t.Data[i] = t.Data[i]*1e6 + 1e3
			}
		}
	}
	return out
}
