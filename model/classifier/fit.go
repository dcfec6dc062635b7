package classifier

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/graph"
	"github.com/synthfed/synthfed/model/optim"
)

// Check is one validation check of Fit.
type Check struct {
	Step      int
	TrainLoss float64
	ValLoss   float64
}

// FitResult is the outcome of Fit.
type FitResult struct {
	// Weights are the EMA weights with the best validation loss (the last
	// EMA weights when there is no validation set).
	Weights model.Weights
	// Raw are the raw weights at the last step.
	Raw model.Weights
	// Steps is the number of steps taken; BestStep the step of Weights.
	Steps, BestStep int
	// BestValLoss is the validation loss of Weights.
	BestValLoss float64
	// Stopped reports an early stop.
	Stopped bool
	// History lists every validation check.
	History []Check
}

// Fit trains a classifier from seed on train for up to cfg.Train.MaxSteps
// steps, checks the EMA weights' validation loss on val every EvalEvery
// steps, keeps the best, and stops after Patience checks without
// improvement. This is the study's (non-federated) classifier training; val
// may be nil, which disables early stopping.
func Fit(ctx context.Context, cfg Config, train, val *model.ImageSet, seed int64, log *slog.Logger) (FitResult, error) {
	return FitOn(ctx, cfg, train, val, seed, log, nil)
}

// FitOn is Fit with the steps resident on dev and the validation forward
// passes on it (nil: the CPU).
func FitOn(ctx context.Context, cfg Config, train, val *model.ImageSet, seed int64, log *slog.Logger, dev graph.Device) (FitResult, error) {
	if err := cfg.Validate(); err != nil {
		return FitResult{}, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := checkSets(cfg, train, val); err != nil {
		return FitResult{}, err
	}
	w, err := cfg.Arch.InitWeights(seed)
	if err != nil {
		return FitResult{}, err
	}
	st, err := NewStepperOn(cfg, w, seed, dev)
	if err != nil {
		return FitResult{}, err
	}
	defer st.Close()
	evalW := w.Clone()
	pred, err := NewPredictor(cfg.Arch, evalW, PredictBatch)
	if err != nil {
		return FitResult{}, err
	}
	pred.UseDevice(dev)
	t := cfg.Train
	mix := newMixer(train, t.BatchSize, t.RealFraction, rand.New(rand.NewPCG(uint64(seed), 1)))
	stop := optim.EarlyStop{Patience: t.Patience, MinDelta: t.MinDelta}
	res := FitResult{Weights: st.Updater().EMA.Weights()}
	var sum float64
	var since int
	for step := 1; step <= t.MaxSteps; step++ {
		if err := ctx.Err(); err != nil {
			return FitResult{}, fmt.Errorf("classifier: fit step %d: %w", step, err)
		}
		loss, err := st.Step(train, mix.next())
		if err != nil {
			return FitResult{}, fmt.Errorf("classifier: fit step %d: %w", step, err)
		}
		sum, since, res.Steps = sum+loss, since+1, step
		if val == nil || (step%t.EvalEvery != 0 && step != t.MaxSteps) {
			continue
		}
		vl, err := emaLoss(ctx, pred, evalW, st, val, t.Labels)
		if err != nil {
			return FitResult{}, fmt.Errorf("classifier: fit step %d: validation: %w", step, err)
		}
		res.History = append(res.History, Check{Step: step, TrainLoss: sum / float64(since), ValLoss: vl})
		log.Debug("classifier validation", "step", step, "train_loss", sum/float64(since), "val_loss", vl)
		sum, since = 0, 0
		improved, halt := stop.Observe(step, vl)
		if improved {
			res.Weights = evalW.Clone()
		}
		if halt {
			res.Stopped = true
			break
		}
	}
	if err := st.Sync(); err != nil { // the device's weights and EMA
		return FitResult{}, fmt.Errorf("classifier: fit: %w", err)
	}
	res.BestValLoss, res.BestStep = stop.Best()
	if val == nil {
		res.Weights, res.BestStep = st.Updater().EMA.Weights(), res.Steps
	}
	res.Raw = st.Weights().Clone()
	return res, nil
}

// emaLoss loads the stepper's EMA weights into evalW, the weights pred is
// bound to, and returns their validation loss.
func emaLoss(ctx context.Context, pred *Predictor, evalW model.Weights, st *Stepper, val *model.ImageSet, pol LabelPolicy) (float64, error) {
	if err := st.Sync(); err != nil {
		return 0, err
	}
	if err := optim.CopyValues(evalW, st.Updater().EMA.Weights()); err != nil {
		return 0, err
	}
	return pred.Loss(ctx, val, pol, 1)
}
