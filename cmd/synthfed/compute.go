package main

import (
	"log/slog"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/device"
	"github.com/synthfed/synthfed/model/logreg"
)

// computeTrainer selects the site's compute backend ([compute]) and returns
// it with the built-in logreg trainer that runs on it: the device trainer
// (weights and gradients in device memory) on an OpenCL device, the CPU
// trainer otherwise.
func computeTrainer(cfg device.Config, tr *logreg.Trainer, log *slog.Logger) (*device.Backend, model.Trainer, error) {
	b, err := device.Select(cfg, log)
	if err != nil {
		return nil, nil, err
	}
	if !b.OnDevice() {
		return b, tr, nil
	}
	dt, err := device.NewLogregTrainer(tr, b)
	if err != nil {
		b.Close()
		return nil, nil, err
	}
	log.Info("logreg trains on the device", "device", b.String())
	return b, dt, nil
}
