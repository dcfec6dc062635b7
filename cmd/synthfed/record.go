package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/synthfed/synthfed/model"
)

// recordingTrainer writes every local result of its trainer to
// dir/<job>/<round>-<unix ns>.safetensors (meta "samples"), so that a soak
// can check each committed global against exactly the updates the sites
// produced. Only `site-agent --record-updates` uses it.
type recordingTrainer struct {
	model.Trainer
	dir string
}

// Train trains with the inner trainer and records the result.
func (r recordingTrainer) Train(ctx context.Context, global model.Weights, spec model.TrainSpec) (model.TrainResult, error) {
	res, err := r.Trainer.Train(ctx, global, spec)
	if err != nil {
		return res, err
	}
	dir := filepath.Join(r.dir, spec.JobID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, fmt.Errorf("record update: %w", err)
	}
	data, err := model.EncodeSafetensors(res.Weights, map[string]string{"samples": strconv.Itoa(res.NumSamples), "round": strconv.Itoa(spec.Round)})
	if err != nil {
		return res, fmt.Errorf("record update: %w", err)
	}
	name := fmt.Sprintf("%d-%d.safetensors", spec.Round, time.Now().UnixNano())
	tmp := filepath.Join(dir, "."+name)
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return res, fmt.Errorf("record update: %w", err)
	}
	return res, os.Rename(tmp, filepath.Join(dir, name))
}
