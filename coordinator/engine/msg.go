package engine

import (
	"github.com/synthfed/synthfed/crypto/secagg"
	"github.com/synthfed/synthfed/model"
)

// Msg is an input to Engine.Step. The driver turns each wire message into
// one of these at its edge; none carries a wire type.
type Msg interface{ isMsg() }

// SiteUp records that a site joined (or rejoined).
type SiteUp struct{ Site string }

// SiteSeen records a heartbeat.
type SiteSeen struct{ Site string }

// SiteDown marks a site failed (gossip, a closed task stream...): its
// pending tasks are dropped and rounds stop waiting for it.
type SiteDown struct {
	Site   string
	Reason Reason
	Detail string
}

// CallRefused records a call the transport's access check refused: Who
// names the caller from its verified certificate (a site ID, or role/ID
// for other roles).
type CallRefused struct {
	Who    string
	Reason Reason
	Detail string
}

// SiteRevoked marks a site an earlier coordinator incarnation refused as
// revoked (the driver reads it back from the audit log at start-up):
// rounds do not wait for it, until it joins again with a new certificate.
type SiteRevoked struct{ Site string }

// Submit queues a job. Initial, when not nil, is the initial model (from a
// checkpoint file or an earlier job); otherwise a site's Trainer.Init
// makes it in round 0.
type Submit struct {
	Spec    JobSpec
	Initial *model.Weights
}

// Resume restores a job whose round Point.Committed is durable; it
// continues at the next round.
type Resume struct {
	Spec  JobSpec
	Point ResumePoint
}

// Committed tells the engine that the driver made a round durable (after
// a CommitRound or CommitResults effect).
type Committed struct {
	Job   string
	Round int
}

// Cancel stops a pending or running job; it ends as failed with the
// reason "cancelled by <By>".
type Cancel struct{ Job, By string }

// UploadOpened vets an upload's metadata before its body is received. On
// success Engine.ExpectedSpecs says what the body must hold.
type UploadOpened struct {
	Site string
	Meta UploadMeta
}

// UploadReceived delivers an upload: a site's locally trained model (the
// shared tensors of it) or an initial model, to be validated and folded
// into the round. Body, when not nil, holds the values instead of Weights
// (the driver's spooled upload); the engine reads it during Step only.
type UploadReceived struct {
	Site    string
	Meta    UploadMeta
	Weights model.Weights
	Body    UpdateBody
}

// UploadFailed records an upload whose body could not be received.
type UploadFailed struct {
	Site string
	Meta UploadMeta
	Err  error
}

// TaskReported is a site's report of how a task ended (a sample or
// evaluate result, or a failure).
type TaskReported struct {
	Site   string
	Meta   UploadMeta
	Report TaskReport
}

// PhaseMessage is a site's message in a secure round's phase.
type PhaseMessage struct {
	Site           string
	Job            string
	Round, Attempt int
	Nonce          []byte
	Phase          string
	Payload        Payload
}

// Payload is an opaque phase payload: crypto/secagg's type URL and bytes.
type Payload struct {
	Type  string
	Value []byte
}

// Unmasked tells the engine that the driver ran a secure round's
// unmasking (the Unmask effect's Work).
type Unmasked struct {
	Job            string
	Round, Attempt int
	Work           *secagg.Unmasking
}

// BytesMoved adds transfer volumes to the counters.
type BytesMoved struct{ In, Out int64 }

func (SiteUp) isMsg()         {}
func (SiteSeen) isMsg()       {}
func (SiteDown) isMsg()       {}
func (CallRefused) isMsg()    {}
func (SiteRevoked) isMsg()    {}
func (Submit) isMsg()         {}
func (Resume) isMsg()         {}
func (Committed) isMsg()      {}
func (Cancel) isMsg()         {}
func (UploadOpened) isMsg()   {}
func (UploadReceived) isMsg() {}
func (UploadFailed) isMsg()   {}
func (TaskReported) isMsg()   {}
func (PhaseMessage) isMsg()   {}
func (Unmasked) isMsg()       {}
func (BytesMoved) isMsg()     {}
