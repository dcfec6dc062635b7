package secagg

import (
	"errors"
	"fmt"

	"github.com/synthfed/synthfed/crypto/internal/wire"
)

// Sentinel errors. Every refusal wraps exactly one of them (inside a
// *RefusalError that names the site, round and phase), so callers count and
// map them with errors.Is.
var (
	// ErrMalformed reports bytes that do not decode as a message.
	ErrMalformed = wire.ErrMalformed
	// ErrBadSignature reports a signature that does not verify: a forged or
	// altered message.
	ErrBadSignature = errors.New("bad signature")
	// ErrReplay reports a message already accepted in this phase, or one
	// from an earlier round of the same session.
	ErrReplay = errors.New("replayed message")
	// ErrWrongContext reports a message bound to another session, round,
	// roster or parameter set.
	ErrWrongContext = errors.New("message bound to another context")
	// ErrUnknownSite reports a site that is not in the roster, not a
	// neighbour, or not among the survivors the message needs.
	ErrUnknownSite = errors.New("unknown site")
	// ErrIDMismatch reports a swapped identity: a sender field that differs
	// from the authenticated sender, an entry addressed to someone else, or
	// a share whose ID is not its holder's.
	ErrIDMismatch = errors.New("site ID mismatch")
	// ErrIdentity reports an identity key the verifier hook refused.
	ErrIdentity = errors.New("identity key not accepted")
	// ErrLowOrderKey reports an X25519 public key of low order.
	ErrLowOrderKey = errors.New("low-order X25519 key")
	// ErrBadKey reports a public key that does not parse.
	ErrBadKey = errors.New("invalid public key")
	// ErrDuplicateShare reports two shares (or entries) for the same owner
	// and holder.
	ErrDuplicateShare = errors.New("duplicate share")
	// ErrBadShare reports a share that fails its commitment or decryption.
	ErrBadShare = errors.New("share does not match its commitment")
	// ErrBothShares reports a request that would make a site reveal both
	// the mask-key share and the self-mask share of one peer.
	ErrBothShares = errors.New("asked for both shares of one peer")
	// ErrInconsistentView reports survivor lists that differ between sites
	// (the consistency check caught the aggregator).
	ErrInconsistentView = errors.New("inconsistent survivor lists")
	// ErrInconsistentSharing reports a secret recovered from valid shares
	// that does not match what its owner committed to.
	ErrInconsistentSharing = errors.New("recovered secret does not match its commitment")
	// ErrTooFewSurvivors reports fewer than t sites (or t_k neighbours)
	// left: the round aborts with no output.
	ErrTooFewSurvivors = errors.New("too few survivors")
	// ErrPhase reports a message that does not belong to the current phase.
	ErrPhase = errors.New("message out of phase")
	// ErrBadInput reports a site's own input that cannot be encoded.
	ErrBadInput = errors.New("bad input")
	// ErrAborted reports a call on a round that has already failed.
	ErrAborted = errors.New("round aborted")
)

// RefusalError is the typed error of every refusal: it names the round, the
// phase, the site concerned and the sentinel reason.
type RefusalError struct {
	// Session and Round identify the round.
	Session string
	Round   uint64
	// Phase is the phase in which the refusal happened.
	Phase Phase
	// Site is the site the refusal concerns (the sender, or the peer named).
	Site string
	// Reason is one of the package's sentinel errors.
	Reason error
	// Detail explains the refusal in words.
	Detail string
}

// Error formats the refusal.
func (e *RefusalError) Error() string {
	s := fmt.Sprintf("secagg: session %q round %d %s", e.Session, e.Round, e.Phase)
	if e.Site != "" {
		s += fmt.Sprintf(" site %q", e.Site)
	}
	s += ": " + e.Reason.Error()
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap returns the sentinel reason.
func (e *RefusalError) Unwrap() error { return e.Reason }

// refuse ties a fault to a round, phase and site.
func refuse(ctx *Context, ph Phase, site string, f *fault) error {
	return &RefusalError{Session: ctx.Session, Round: ctx.Round, Phase: ph, Site: site,
		Reason: f.reason, Detail: f.detail}
}

// Phase is a step of the protocol.
type Phase uint8

// The phases in order; Done and Failed are terminal.
const (
	PhaseAdvertise Phase = iota + 1
	PhaseShareKeys
	PhaseMaskedInput
	PhaseConsistency
	PhaseUnmask
	PhaseDone
	PhaseFailed
)

// String names the phase.
func (p Phase) String() string {
	switch p {
	case PhaseAdvertise:
		return "advertise-keys"
	case PhaseShareKeys:
		return "share-keys"
	case PhaseMaskedInput:
		return "masked-input"
	case PhaseConsistency:
		return "consistency-check"
	case PhaseUnmask:
		return "unmask"
	case PhaseDone:
		return "done"
	case PhaseFailed:
		return "failed"
	}
	return fmt.Sprintf("phase(%d)", uint8(p))
}
