package coordinator

import (
	"errors"
	"fmt"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol"
)

// Sentinel errors of the coordinator. Refusals sent to sites wrap the
// protocol sentinels, which decide their gRPC status codes.
var (
	// ErrUnknownStrategy reports a strategy name that is not implemented.
	ErrUnknownStrategy = errors.New("unknown strategy")
	// ErrStrategyState reports checkpointed optimiser state that does not fit.
	ErrStrategyState = errors.New("strategy state does not fit")
	// ErrJobExists reports a submitted job whose ID is taken.
	ErrJobExists = errors.New("job already exists")
	// ErrNormBound reports an update farther from the global model than allowed.
	ErrNormBound = fmt.Errorf("update norm over bound: %w", protocol.ErrInvalidUpdate)
	// ErrSamples reports an update with an unusable sample count.
	ErrSamples = fmt.Errorf("bad sample count: %w", protocol.ErrInvalidUpdate)
	// ErrNotInCohort reports an update from a site that was not asked.
	ErrNotInCohort = fmt.Errorf("site not in cohort: %w", protocol.ErrPermission)
	// ErrCheckpoint reports a checkpoint file that is missing or corrupt.
	ErrCheckpoint = errors.New("bad checkpoint")
)

// Rejection reasons, the keys of Counters.Rejected and audit entries.
const (
	ReasonStale       = "stale"
	ReasonLate        = "late"
	ReasonDuplicate   = "duplicate"
	ReasonBadNonce    = "bad_nonce"
	ReasonNotInCohort = "not_in_cohort"
	ReasonShape       = "shape"
	ReasonNonFinite   = "non_finite"
	ReasonNormBound   = "norm_bound"
	ReasonSamples     = "samples"
	ReasonMalformed   = "malformed"
	ReasonUnknownJob  = "unknown_job"
	ReasonOther       = "other"
)

// ReasonOf classifies a refusal error into one of the Reason constants.
func ReasonOf(err error) string {
	switch {
	case errors.Is(err, ErrNotInCohort):
		return ReasonNotInCohort
	case errors.Is(err, ErrNormBound):
		return ReasonNormBound
	case errors.Is(err, ErrSamples):
		return ReasonSamples
	case errors.Is(err, model.ErrShape), errors.Is(err, model.ErrMissing), errors.Is(err, model.ErrDuplicate):
		return ReasonShape
	case errors.Is(err, model.ErrNonFinite):
		return ReasonNonFinite
	case errors.Is(err, protocol.ErrStale):
		return ReasonStale
	case errors.Is(err, protocol.ErrLate):
		return ReasonLate
	case errors.Is(err, protocol.ErrDuplicate):
		return ReasonDuplicate
	case errors.Is(err, protocol.ErrBadNonce):
		return ReasonBadNonce
	case errors.Is(err, protocol.ErrNotFound):
		return ReasonUnknownJob
	case errors.Is(err, protocol.ErrMalformed), errors.Is(err, protocol.ErrTooLarge):
		return ReasonMalformed
	}
	return ReasonOther
}
