package siteagent

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/synthfed/synthfed/protocol"
	"github.com/synthfed/synthfed/protocol/fedpb"
)

// runJobTask runs a sample or evaluate task and reports its aggregate
// result to the coordinator.
func (x *executor) runJobTask(ctx context.Context, t Task) error {
	if x.data == nil || !x.data.available() {
		return stageErr("data", fmt.Errorf("task %s (%s): this agent has no [data] section: %w", t.ID, t.Kind, ErrNoData))
	}
	jc, err := x.context(ctx, t.Job)
	if err != nil {
		return stageErr("context", err)
	}
	if jc.Kind != t.Kind {
		return stageErr("context", fmt.Errorf("task %s is a %s task, its job is %s: %w", t.ID, t.Kind, jc.Kind, protocol.ErrMalformed))
	}
	var result any
	metrics := map[string]float64{}
	switch jc.Kind {
	case protocol.KindSample:
		r, err := x.runSample(ctx, jc)
		if err != nil {
			return err
		}
		metrics["images"], metrics["images_per_second"] = float64(r.Images), float64(r.ImagesPerSecond)
		result = r
	case protocol.KindEvaluate:
		r, err := x.runEvaluate(ctx, jc)
		if err != nil {
			return err
		}
		metrics["test_images"] = float64(r.Images)
		for _, m := range r.Models {
			if m.MacroAUROC == m.MacroAUROC { // not NaN
				metrics["auroc_"+m.Hash[:12]] = float64(m.MacroAUROC)
			}
		}
		result = r
	}
	b, err := json.Marshal(result)
	if err != nil {
		return stageErr("report", err)
	}
	rep := reportOf(t)
	rep.ResultJson, rep.Metrics = b, metrics
	return stageErr("report", x.reportWithRetry(ctx, rep))
}

// reportWithRetry delivers a result report, retrying transient failures
// with backoff until the task's context ends. Refusals are final.
func (x *executor) reportWithRetry(ctx context.Context, rep *fedpb.TaskReport) error {
	jt, ok := x.tr.(jobTransport)
	if !ok {
		return fmt.Errorf("this transport takes no reports: %w", protocol.ErrNotFound)
	}
	bo := newBackoff(x.cfg.Backoff, uint64(rep.GetRound()))
	for {
		err := jt.reportTask(ctx, rep)
		if err == nil || !protocol.Retryable(err) || ctx.Err() != nil {
			return err
		}
		x.log.Warn("report failed; retrying", "task", rep.GetTaskId(), "err", err)
		if err := sleep(ctx, x.clk, bo.Next()); err != nil {
			return err
		}
	}
}

// recordTrain records a train task's loss and images/s in the metrics and
// in the update's metrics ("train_images_per_second").
func (x *executor) recordTrain(t Task, meta *fedpb.UpdateMeta, batch int, took time.Duration) {
	m := meta.GetMetrics()
	loss, ok := m["train_loss"]
	if !ok {
		return
	}
	if b := t.Train.Spec.BatchSize; b > 0 {
		batch = b
	}
	images := int(m["train_steps"]) * batch
	rate := 0.0
	if images > 0 && took > 0 {
		rate = float64(images) / took.Seconds()
		meta.Metrics["train_images_per_second"] = rate
	}
	x.metrics.trained(t.Job, loss, images, rate)
}
