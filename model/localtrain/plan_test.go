package localtrain

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/synthfed/synthfed/model"
)

func TestPlanRound(t *testing.T) {
	cases := []struct {
		spec  model.TrainSpec
		n     int
		steps int
		batch int
		lr    float64
	}{
		{model.TrainSpec{Round: 2, LocalSteps: 7}, 100, 7, 32, 1e-3},
		{model.TrainSpec{Round: 1}, 100, 4, 32, 1e-3},                                // one pass: ceil(100/32)
		{model.TrainSpec{Round: 1, LocalEpochs: 3, BatchSize: 10}, 95, 30, 10, 1e-3}, // 3 x ceil(95/10)
		{model.TrainSpec{Round: 3, LocalSteps: 5, LearningRate: 0.5}, 10, 5, 32, 0.5},
	}
	for _, c := range cases {
		r := PlanRound(c.spec, 32, 1e-3, c.n)
		if r.Steps != c.steps || r.Batch != c.batch || r.LR != c.lr || r.Round != c.spec.Round {
			t.Errorf("PlanRound(%+v, n=%d) = %+v, want steps %d batch %d lr %v", c.spec, c.n, r, c.steps, c.batch, c.lr)
		}
	}
}

func TestLocalRoundRun(t *testing.T) {
	r := LocalRound{Round: 4, Steps: 4, Batch: 1, LR: 1}
	var seen []int
	mean, last, err := r.Run(context.Background(), "m", func(i int) (float64, error) {
		seen = append(seen, i)
		return float64(i + 1), nil
	})
	if err != nil || mean != 2.5 || last != 4 || len(seen) != 4 {
		t.Fatalf("Run: mean %v last %v err %v steps %v", mean, last, err, seen)
	}
	res := r.Result(model.Weights{}, 9, mean, last)
	if res.NumSamples != 9 || res.Metrics["loss"] != 2.5 || res.Metrics["last_loss"] != 4 || res.Metrics["steps"] != 4 {
		t.Errorf("Result %+v", res)
	}
	boom := errors.New("boom")
	_, _, err = r.Run(context.Background(), "m", func(i int) (float64, error) {
		if i == 2 {
			return 0, boom
		}
		return 1, nil
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "m: round 4 step 2") {
		t.Errorf("step error: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err = r.Run(ctx, "m", func(int) (float64, error) { return 1, nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
