package coordinator

import (
	"fmt"

	"github.com/synthfed/synthfed/coordinator/engine"
)

// References to earlier jobs' outputs are parsed by the engine
// (engine/refs.go); resolving them needs the store, so it happens here, at
// submission (see also resolve in workflow.go).

// samplingRef makes explicit which output of a train job a reference to a
// DDPM to sample from names: "job:<id>" becomes "job:<id>#ema" or
// "job:<id>#final" by weights (auto: #ema when the job keeps a server
// EMA). Content hashes, references that already name their output, and
// references to jobs that are not finished train jobs (resolveModel
// reports those) are returned unchanged.
func (c *Coordinator) samplingRef(ref, weights string) (string, error) {
	id, output, isJob := engine.JobRef(ref)
	if !isJob || output != "" {
		return ref, nil
	}
	switch weights {
	case OutputEMA, OutputFinal:
		return ref + engine.RefOutputSep + weights, nil
	}
	rec, found, err := c.store.Job(id)
	if err != nil || !found || rec.Spec.Kind != JobTrain || rec.State != JobDone {
		return ref, err
	}
	if rec.EMAHash != "" {
		return ref + engine.RefOutputSep + OutputEMA, nil
	}
	return ref + engine.RefOutputSep + OutputFinal, nil
}

// outputHash returns the hash of the output of a finished train job's
// record that a reference selects.
func outputHash(ref string, rec JobRecord, output string) (string, error) {
	if output != OutputEMA {
		return rec.GlobalHash, nil
	}
	if rec.EMAHash == "" {
		return "", fmt.Errorf("%s: job %s keeps no server EMA (its strategy.ema_decay is %v): %w", ref, rec.Spec.ID, rec.Spec.Strategy.EMADecay, ErrReference)
	}
	return rec.EMAHash, nil
}
