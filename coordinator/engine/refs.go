package engine

import (
	"fmt"
	"strings"
)

// References to an earlier job's output in a job spec: a content hash, or
// "job:<id>" optionally followed by "#<output>". Resolving them needs the
// store; the coordinator's driver does that at submission.

// RefJobPrefix starts a reference to an earlier job's output by job ID
// ("job:ddpm-fed") instead of by content hash. A train job's reference may
// select its output: "job:ddpm-fed#final" (the final global model, as
// without a selector) or "job:ddpm-fed#ema" (its server EMA).
const RefJobPrefix = "job:"

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

// RefOutputSep separates a job reference from the output it selects.
const RefOutputSep = "#"

// JobRef splits a "job:<id>[#<output>]" reference; ok is false for a
// content hash (or anything else that is not a job reference).
func JobRef(ref string) (id, output string, ok bool) {
	rest, ok := strings.CutPrefix(ref, RefJobPrefix)
	if !ok {
		return "", "", false
	}
	id, output, _ = strings.Cut(rest, RefOutputSep)
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
	_, output, isJob := JobRef(checkpoint)
	switch {
	case !isJob:
		return fmt.Errorf("%s.weights = %q applies to a %q reference; a content hash names its weights itself", prefix, weights, RefJobPrefix+"<id>")
	case output != "" && output != weights:
		return fmt.Errorf("%s.weights = %q contradicts checkpoint %q", prefix, weights, checkpoint)
	}
	return nil
}
