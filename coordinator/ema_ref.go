package coordinator

import (
	"fmt"
	"strings"
)

// Outputs of a train job, selected in a reference by "job:<id>#<output>".
const (
	// OutputFinal is the final global model (JobStatus.Output).
	OutputFinal = "final"
	// OutputEMA is the server EMA of the committed global models
	// (JobStatus.EMAOutput; strategy.ema_decay > 0).
	OutputEMA = "ema"
)

// WeightsAuto is sample.weights' default: the DDPM job's server EMA when
// it keeps one, else its final global model.
const WeightsAuto = "auto"

// refOutputSep separates a job reference from the output it selects.
const refOutputSep = "#"

// jobRef splits a "job:<id>[#<output>]" reference; ok is false for a
// content hash (or anything else that is not a job reference).
func jobRef(ref string) (id, output string, ok bool) {
	rest, ok := strings.CutPrefix(ref, RefJobPrefix)
	if !ok {
		return "", "", false
	}
	id, output, _ = strings.Cut(rest, refOutputSep)
	return id, output, true
}

// validOutput reports whether output may follow '#' in a job reference
// ("" is none: the final model).
func validOutput(output string) bool {
	return output == "" || output == OutputFinal || output == OutputEMA
}

// validateWeights checks sample.weights against sample.checkpoint.
func validateWeights(prefix, checkpoint, weights string) error {
	switch weights {
	case "", WeightsAuto:
		return nil
	case OutputEMA, OutputFinal:
	default:
		return fmt.Errorf("%s.weights = %q: want %q, %q or %q", prefix, weights, WeightsAuto, OutputEMA, OutputFinal)
	}
	_, output, isJob := jobRef(checkpoint)
	switch {
	case !isJob:
		return fmt.Errorf("%s.weights = %q applies to a %q reference; a content hash names its weights itself", prefix, weights, RefJobPrefix+"<id>")
	case output != "" && output != weights:
		return fmt.Errorf("%s.weights = %q contradicts checkpoint %q", prefix, weights, checkpoint)
	}
	return nil
}

// samplingRef makes explicit which output of a train job a reference to a
// DDPM to sample from names: "job:<id>" becomes "job:<id>#ema" or
// "job:<id>#final" by weights (auto: #ema when the job keeps a server
// EMA). Content hashes, references that already name their output, and
// references to jobs that are not finished train jobs (resolveModel
// reports those) are returned unchanged.
func (c *Coordinator) samplingRef(ref, weights string) (string, error) {
	id, output, isJob := jobRef(ref)
	if !isJob || output != "" {
		return ref, nil
	}
	switch weights {
	case OutputEMA, OutputFinal:
		return ref + refOutputSep + weights, nil
	}
	rec, found, err := c.store.Job(id)
	if err != nil || !found || rec.Spec.Kind != JobTrain || rec.State != JobDone {
		return ref, err
	}
	if rec.EMAHash != "" {
		return ref + refOutputSep + OutputEMA, nil
	}
	return ref + refOutputSep + OutputFinal, nil
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
