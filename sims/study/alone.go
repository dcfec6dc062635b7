package study

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/ddpm"
)

// TrainAlone trains a site's DDPM on its data alone with the federated
// schedule (the same initial model, Rounds calls of LocalSteps steps, the
// optimiser restarting each round as it does at a federated site) and the
// same EMA over the round models; it is E4's site-only generator. onRound
// sees each round's training loss.
func TrainAlone(ctx context.Context, cfg Config, site *Site, log *slog.Logger, onRound func(round int, loss float64)) (*Generator, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tr, err := ddpm.NewTrainer(cfg.DDPM.Config, site.Train, site.Val, log)
	if err != nil {
		return nil, fmt.Errorf("study: %s alone: %w", site.Name, err)
	}
	w, err := tr.Init(ctx, cfg.Seeds.Job)
	if err != nil {
		return nil, err
	}
	g := &Generator{Name: site.Name + " only", Site: site.Name}
	var ema roundEMA
	for r := 1; r <= cfg.DDPM.Rounds; r++ {
		ev, err := tr.Evaluate(ctx, w)
		if err != nil {
			return nil, fmt.Errorf("study: %s alone round %d: %w", site.Name, r, err)
		}
		res, err := tr.Train(ctx, w, model.TrainSpec{JobID: "ddpm-" + site.Name + "-only", Round: r, LocalSteps: cfg.DDPM.LocalSteps,
			BatchSize: cfg.DDPM.Train.BatchSize, Seed: cfg.Seeds.Job})
		if err != nil {
			return nil, fmt.Errorf("study: %s alone: %w", site.Name, err)
		}
		w = res.Weights
		ema.add(w, cfg.DDPM.RoundEMA)
		g.Loss = append(g.Loss, res.Metrics["loss"])
		g.ValLoss = append(g.ValLoss, ev["val_loss"])
		if onRound != nil {
			onRound(r, res.Metrics["loss"])
		}
	}
	g.Weights = ema.w
	return g, nil
}
