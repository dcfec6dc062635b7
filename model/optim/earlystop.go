package optim

import "math"

// EarlyStop watches a validation loss and says when it has not improved by
// more than MinDelta for Patience consecutive checks.
type EarlyStop struct {
	// Patience is the number of checks without improvement tolerated.
	Patience int
	// MinDelta is the smallest decrease that counts as an improvement.
	MinDelta float64
	best     float64
	bestAt   int
	bad      int
	seen     bool
}

// Observe records the loss measured at step and reports whether it is the
// best so far and whether training should stop. NaN never improves.
func (e *EarlyStop) Observe(step int, loss float64) (improved, stop bool) {
	if !e.seen || (!math.IsNaN(loss) && loss < e.best-e.MinDelta) {
		if !math.IsNaN(loss) {
			e.best, e.bestAt, e.bad, e.seen = loss, step, 0, true
			return true, false
		}
	}
	e.bad++
	return false, e.Patience > 0 && e.bad >= e.Patience
}

// Best returns the best loss seen and the step it was seen at; the loss is
// +Inf before any finite observation.
func (e *EarlyStop) Best() (loss float64, step int) {
	if !e.seen {
		return math.Inf(1), 0
	}
	return e.best, e.bestAt
}
