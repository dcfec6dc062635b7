package engine

import (
	"errors"
	"fmt"

	"github.com/synthfed/synthfed/crypto/secagg"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol/fed"
)

// Sentinel errors of the engine. Refusals sent to sites wrap the fed
// sentinels, which decide their gRPC status codes at the driver's edge.
var (
	// ErrUnknownStrategy reports a strategy name that is not implemented.
	ErrUnknownStrategy = errors.New("unknown strategy")
	// ErrStrategyState reports checkpointed optimiser state that does not fit.
	ErrStrategyState = errors.New("strategy state does not fit")
	// ErrJobExists reports a submitted job whose ID is taken.
	ErrJobExists = errors.New("job already exists")
	// ErrJobEnded reports a cancellation of a job that has already ended.
	ErrJobEnded = errors.New("job already ended")
	// ErrNormBound reports an update farther from the global model than allowed.
	ErrNormBound = fmt.Errorf("update norm over bound: %w", fed.ErrInvalidUpdate)
	// ErrSamples reports an update with an unusable sample count.
	ErrSamples = fmt.Errorf("bad sample count: %w", fed.ErrInvalidUpdate)
	// ErrNotInCohort reports an update from a site that was not asked.
	ErrNotInCohort = fmt.Errorf("site not in cohort: %w", fed.ErrPermission)
)

// Reason is the stable code of a refusal, a dropout or a refused call: the
// key of the counters and the Reason of an audit entry. Codes never derive
// from an error's text, so rewording a message changes no key.
type Reason string

// Reasons of refused uploads, reports and phase messages
// (Counters.Rejected, EventRejected).
const (
	ReasonStale       Reason = "stale"
	ReasonLate        Reason = "late"
	ReasonDuplicate   Reason = "duplicate"
	ReasonBadNonce    Reason = "bad_nonce"
	ReasonNotInCohort Reason = "not_in_cohort"
	ReasonShape       Reason = "shape"
	ReasonNonFinite   Reason = "non_finite"
	ReasonNormBound   Reason = "norm_bound"
	ReasonSamples     Reason = "samples"
	ReasonMalformed   Reason = "malformed"
	ReasonUnknownJob  Reason = "unknown_job"
	ReasonOther       Reason = "other"
)

// Dropout reasons: the Reason of an EventDropout audit entry and the key
// of Counters.DropoutReasons and of the dropouts metric. The entry's Detail
// says more in words.
const (
	// ReasonDeadlineMissed marks a site that had not answered when its
	// round phase (init, train, run, or a secure-aggregation phase) closed
	// at its deadline; the entry's Phase names the phase.
	ReasonDeadlineMissed Reason = "deadline_missed"
	// ReasonHeartbeatTimeout marks a site silent for heartbeat_timeout.
	ReasonHeartbeatTimeout Reason = "heartbeat_timeout"
	// ReasonGossipFailed marks a site memberlist declared dead or left.
	ReasonGossipFailed Reason = "gossip_failed"
	// ReasonStreamClosed marks a site whose task stream closed (its agent
	// stopped, died or lost its connection) while its session was current.
	ReasonStreamClosed Reason = "task_stream_closed"
	// ReasonCertRevoked marks a site whose certificate was found revoked
	// when it called (see EventCallRefused).
	ReasonCertRevoked Reason = "certificate_revoked"
	// ReasonSiteTaskFailed marks a site that reported a task of a secure
	// phase failed (the task_failed entry beside it says where and why).
	ReasonSiteTaskFailed Reason = "task_failed"
	// ReasonTaskRefused marks a site that refused its part in a secure
	// round (for example over its privacy budget); the detail says why.
	ReasonTaskRefused Reason = "task_refused"
)

// Reasons of calls the transport's access check refused
// (Counters.CallsRefused, EventCallRefused).
const (
	ReasonCallRevoked           = ReasonCertRevoked
	ReasonCallRole       Reason = "role_not_allowed"
	ReasonCallNoIdentity Reason = "no_identity"
	ReasonCallDenied     Reason = "permission_denied"
)

// Refusal is an input the engine refused, with its stable reason code. Its
// message is Err's; Err wraps the fed sentinel that decides the caller's
// status.
type Refusal struct {
	Reason Reason
	Err    error
}

func (r *Refusal) Error() string { return r.Err.Error() }

// Unwrap returns the cause.
func (r *Refusal) Unwrap() error { return r.Err }

// refusal returns err as a *Refusal with its reason (err itself when it is
// one already).
func refusal(err error) *Refusal {
	var r *Refusal
	if errors.As(err, &r) {
		return r
	}
	return &Refusal{Reason: ReasonOf(err), Err: err}
}

// reasonOf maps sentinels to rejection reasons, most specific first.
var reasonOf = []struct {
	err    error
	reason Reason
}{
	{ErrNotInCohort, ReasonNotInCohort},
	{ErrNormBound, ReasonNormBound},
	{ErrSamples, ReasonSamples},
	{model.ErrShape, ReasonShape},
	{model.ErrMissing, ReasonShape},
	{model.ErrDuplicate, ReasonShape},
	{model.ErrNonFinite, ReasonNonFinite},
	{fed.ErrStale, ReasonStale},
	{fed.ErrLate, ReasonLate},
	{fed.ErrDuplicate, ReasonDuplicate},
	{fed.ErrBadNonce, ReasonBadNonce},
	{fed.ErrNotFound, ReasonUnknownJob},
	{fed.ErrMalformed, ReasonMalformed},
	{fed.ErrTooLarge, ReasonMalformed},
}

// ReasonOf classifies a refusal error: the reason of a *Refusal, else the
// reason of the first sentinel it wraps, else ReasonOther.
func ReasonOf(err error) Reason {
	var r *Refusal
	if errors.As(err, &r) {
		return r.Reason
	}
	for _, c := range reasonOf {
		if errors.Is(err, c.err) {
			return c.reason
		}
	}
	return ReasonOther
}

// secaggReasons names the refusals of crypto/secagg's sentinels.
var secaggReasons = []struct {
	err    error
	reason Reason
}{
	{secagg.ErrBadSignature, "secagg_bad_signature"},
	{secagg.ErrReplay, "secagg_replayed_message"},
	{secagg.ErrWrongContext, "secagg_message_bound_to_another_context"},
	{secagg.ErrUnknownSite, "secagg_unknown_site"},
	{secagg.ErrIDMismatch, "secagg_site_ID_mismatch"},
	{secagg.ErrIdentity, "secagg_identity_key_not_accepted"},
	{secagg.ErrLowOrderKey, "secagg_low-order_X25519_key"},
	{secagg.ErrBadKey, "secagg_invalid_public_key"},
	{secagg.ErrDuplicateShare, "secagg_duplicate_share"},
	{secagg.ErrBadShare, "secagg_share_does_not_match_its_commitment"},
	{secagg.ErrBothShares, "secagg_asked_for_both_shares_of_one_peer"},
	{secagg.ErrInconsistentView, "secagg_inconsistent_survivor_lists"},
	{secagg.ErrPhase, "secagg_message_out_of_phase"},
	{secagg.ErrAborted, "secagg_round_aborted"},
	{secagg.ErrMalformed, "secagg_malformed_message"},
}

// secaggReason names a refusal of a secure round's message.
func secaggReason(err error) Reason {
	for _, s := range secaggReasons {
		if errors.Is(err, s.err) {
			return s.reason
		}
	}
	return "secagg_" + ReasonOther
}
